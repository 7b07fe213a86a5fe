"""The servers table: one row per configured server (shown only with more than one)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual.widget import Widget

from ollama_tui.formatting import human_bytes, safe_line
from ollama_tui.session import ServerSession, disk_in_use, memory_in_use

__all__ = ["ServersTable", "server_state"]

UNKNOWN = "–"


def server_state(session: ServerSession) -> tuple[str, str]:
    """What a server's state cell says, and its style."""
    status = session.status
    if status.paused:
        return "paused", "bold yellow"
    if status.state == "connected":
        return "connected", "green"
    if status.state == "connecting":
        return "connecting…", "yellow"
    if status.state == "not_answering":
        return "not answering", "bold yellow"
    label = "unreachable" if status.state == "unreachable" else "error"
    reason = safe_line(status.reason)
    return (f"{label}: {reason}" if reason else label), "red"


class ServersTable(Widget):
    """Name, state, version, RTT, loaded models (RAM, VRAM), installed count and disk of each
    server; the current one is marked. Height: one line per server, a header and the border."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._sessions: tuple[ServerSession, ...] = ()
        self._current: ServerSession | None = None

    def set_sessions(
        self, sessions: Sequence[ServerSession], current: ServerSession, *, all_shown: bool = False
    ) -> None:
        self._sessions = tuple(sessions)
        self._current = current
        shown = "ALL shown · " if all_shown else ""
        self.border_title = Text(f"Servers ({len(self._sessions)}) · {shown}1-9 0 [ ]: switch")
        self.refresh()

    def server_changed(self) -> None:
        """A server's lists or status changed."""
        self.refresh()

    def rows(self) -> list[tuple[str, ...]]:
        """The cells of each row, as text (for tests)."""
        return [_cells(i, s, s is self._current)[0] for i, s in enumerate(self._sessions)]

    def render(self) -> Table:
        table = Table(
            box=None,
            padding=(0, 1, 0, 0),
            pad_edge=False,
            expand=True,
            show_edge=False,
            header_style="bold",
        )
        for name, justify, ratio in (
            ("#", "left", None),
            ("SERVER", "left", 3),
            ("STATE", "left", 4),
            ("VERSION", "left", None),
            ("RTT", "right", None),
            ("LOADED", "right", None),
            ("RAM", "right", None),
            ("VRAM", "right", None),
            ("MODELS", "right", None),
            ("DISK", "right", None),
        ):
            table.add_column(
                name,
                justify=justify,  # type: ignore[arg-type]
                no_wrap=True,
                overflow="ellipsis",
                ratio=ratio,
            )
        for index, session in enumerate(self._sessions):
            cells, state_style = _cells(index, session, session is self._current)
            row = [Text(cell) for cell in cells]
            row[2].stylize(state_style)
            if session is self._current:
                for cell in row:
                    cell.stylize("bold")
            table.add_row(*row)
        return table


def _cells(index: int, session: ServerSession, current: bool) -> tuple[tuple[str, ...], str]:
    status = session.status
    known = status.state in ("connected", "error") or status.last_ok is not None
    state, style = server_state(session)
    running = session.running_models
    installed = session.installed
    ram, vram = memory_in_use(running)
    disk = disk_in_use(installed)
    rtt = f"{status.rtt * 1000:.0f} ms" if status.rtt is not None else UNKNOWN
    cells = (
        f"{'▶' if current else ' '}{index + 1}",
        safe_line(session.label),
        state,
        safe_line(status.version) if status.version else UNKNOWN,
        rtt if known else UNKNOWN,
        str(len(running)) if known else UNKNOWN,
        human_bytes(ram) if known else UNKNOWN,
        human_bytes(vram) if known else UNKNOWN,
        str(len(installed)) if known else UNKNOWN,
        human_bytes(disk) if known else UNKNOWN,
    )
    return cells, style
