"""One line at the top: server, version, connection state, last refresh age, round-trip time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from rich.text import Text
from textual.widget import Widget

from ollama_tui.formatting import age_text, safe_line
from ollama_tui.session import ConnectionStatus

__all__ = ["ConnectionStatus", "StatusBar"]


class StatusBar(Widget):
    """Rendered from a :class:`ConnectionStatus`; re-rendered each second for the ages."""

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $panel;
        color: $foreground;
    }
    """

    def __init__(self, monotonic: Callable[[], float], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._monotonic = monotonic
        self.status = ConnectionStatus()
        self.fleet: tuple[int, int] | None = None
        """All servers shown: (how many, how many answer); None: one server's status."""

    def set_fleet(self, fleet: tuple[int, int] | None) -> None:
        if fleet != self.fleet:
            self.fleet = fleet
            self.refresh()

    def set_status(self, status: ConnectionStatus) -> None:
        if status != self.status:
            self.status = status
            self.refresh()

    def update_status(self, **changes: object) -> None:
        self.set_status(replace(self.status, **changes))  # type: ignore[arg-type]

    def tick(self) -> None:
        """Called every second: ages and the retry countdown move."""
        status = self.status
        if status.last_ok is not None or status.retry_at is not None or status.asked_at is not None:
            self.refresh()

    def render(self) -> Text:
        status = self.status
        now = self._monotonic()
        text = Text(no_wrap=True, overflow="ellipsis")
        if self.fleet is not None:
            total, answering = self.fleet
            mark, style = (
                (" ● ", "bold green")
                if answering == total
                else (" ◌ ", "bold yellow")
                if answering
                else (" ✖ ", "bold red")
            )
            text.append(mark, style=style)
            text.append(f"All servers ({total})", style="bold")
            text.append(f"  {answering} of {total} answering", style=style.split()[-1])
            text.append("  1-9: one server", style="dim")
            if status.read_only:
                text.append("  READ-ONLY", style="bold magenta")
            return text
        if status.state == "connected":
            text.append(" ● ", style="bold green")
        elif status.state in ("connecting", "not_answering"):
            text.append(" ◌ ", style="bold yellow")
        else:
            text.append(" ✖ ", style="bold red")
        if status.name:
            text.append(safe_line(status.name), style="bold")
            text.append(f" {safe_line(status.host)}", style="dim")
        else:
            text.append(safe_line(status.host), style="bold")
        if status.demo:
            text.append(" (demo)", style="dim")
        if status.version:
            text.append(f"  v{safe_line(status.version)}", style="dim")
        text.append("  ")
        if status.state == "connected":
            text.append("connected", style="green")
        elif status.state == "connecting":
            text.append("connecting…", style="yellow")
        elif status.state == "not_answering":
            text.append("not answering", style="bold yellow")
            if status.asked_at is not None:
                seconds = max(0, int(now - status.asked_at))
                text.append(f" — no answer for {seconds} s", style="yellow")
        else:
            label = "unreachable" if status.state == "unreachable" else "error"
            text.append(label, style="bold red")
            # The reason first: on a narrow terminal the end of the line is what gets cut.
            text.append(f": {safe_line(_short_reason(status.reason, status.host))}", style="red")
            if status.paused:
                pass
            elif status.retry_at is not None:
                seconds = max(0, round(status.retry_at - now))
                text.append(f" — retrying in {seconds} s (r: now)", style="yellow")
            else:
                text.append(" — retrying now…", style="yellow")
        if status.last_ok is not None:
            text.append(f"  refreshed {age_text(now - status.last_ok)}", style="dim")
        if status.rtt is not None and status.state == "connected":
            text.append(f"  rtt {status.rtt * 1000:.0f} ms", style="dim")
        if status.paused:
            text.append("  ⏸ PAUSED (z: resume)", style="bold yellow")
        if status.read_only:
            text.append("  READ-ONLY", style="bold magenta")
        return text


def _short_reason(reason: str, host: str) -> str:
    """The client's message without the host, which the status line already shows."""
    prefix = f"cannot reach the Ollama server at {host}: "
    if reason.startswith(prefix):
        return reason[len(prefix) :]
    return reason.replace(f"the Ollama server at {host}", "the server")
