"""Speed probe dialogs: the confirmation (what it loads where, and for how long) and the
comparison of one model's speed on several servers.

Model and server names are untrusted: they are escaped here (``safe_line``) and shown as Text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from ollama_tui.api.keep_alive import KeepAlive, parse_keep_alive
from ollama_tui.formatting import safe_line
from ollama_tui.probe_cli import Probed, fastest_first
from ollama_tui.screens.confirm import dialog_text
from ollama_tui.screens.help import help_binding
from ollama_tui.screens.load import KeepAliveValidator
from ollama_tui.speed import load_text, rate_text, when_text
from ollama_tui.stylesheets import OPERATIONS_CSS

__all__ = ["ProbeChoice", "ProbeComparisonScreen", "ProbeScreen", "ProbeTarget"]


@dataclass(frozen=True)
class ProbeTarget:
    """One server a probe would run on, as the dialog shows it."""

    server: str
    """The server's label."""
    loaded: bool = False
    """The model is loaded there already (its load time will read 0)."""


@dataclass(frozen=True)
class ProbeChoice:
    """The user said probe; ``keep_alive`` None: the server's default."""

    keep_alive: KeepAlive | None = None


class ProbeScreen(ModalScreen[ProbeChoice | None]):
    """Confirm a speed probe: it says what is loaded on which server and for how long, and
    takes an optional keep-alive; Cancel is focused, `y` probes, `n`/esc cancels."""

    CSS_PATH = OPERATIONS_CSS

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "confirm", "Probe", id="ops.probe.yes"),
        Binding("n,escape", "cancel", "Cancel", id="ops.probe.no"),
    ]
    AUTO_FOCUS = "#cancel"

    def __init__(
        self,
        model: str,
        targets: Sequence[ProbeTarget],
        *,
        embedding: bool = False,
        tokens: int = 64,
    ) -> None:
        super().__init__(id="probe-dialog", classes="ops-dialog confirm-dialog")
        self.model_name = model
        self.targets = list(targets)
        self.embedding = embedding
        self.tokens = tokens

    @property
    def title_text(self) -> str:
        if len(self.targets) == 1:
            return f"Probe the speed of {self.model_name} on {self.targets[0].server}?"
        return (
            f"Probe the speed of {self.model_name} on {len(self.targets)} servers, one at a time?"
        )

    def items(self) -> list[Text]:
        if len(self.targets) == 1 and not self.targets[0].loaded:
            return []  # the title names the server
        lines = []
        for target in self.targets:
            line = Text(f"• {safe_line(target.server)}")
            if target.loaded:
                line.append(" (loaded already: its load time reads 0)", style="dim")
            lines.append(line)
        return lines

    def note_text(self, keep_alive: KeepAlive | None) -> str:
        """What the probe does, with how long the model then stays loaded (the CLI's words)."""
        from ollama_tui.probe import load_notice

        several = len(self.targets) > 1
        what = self.model_name if several else f"{self.model_name} on {self.targets[0].server}"
        work = (
            "embeds a fixed text"
            if self.embedding
            else f"generates {self.tokens} tokens from a fixed prompt"
        )
        return (
            f"{load_notice(what, keep_alive, several=several)} It then {work} and reads "
            "the speeds from the reply's own timings."
        )

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield from dialog_text(self.title_text, self.items(), Text(""))
            yield Static(
                Text(safe_line(self.note_text(None))),
                id="probe-note",
                classes="dialog-note",
                markup=False,
            )
            yield Input(
                placeholder="keep loaded for: empty = server default, or 10m, 1h, 0, -1 (forever)",
                id="probe-keep-alive",
                validators=[KeepAliveValidator()],
                validate_on=["changed", "submitted"],
            )
            yield Static("", id="probe-message", classes="field-message", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel (n)", id="cancel")
                yield Button("Probe (y)", id="confirm", variant="primary")

    def _keep_alive(self) -> tuple[KeepAlive | None, str | None]:
        """The keep-alive typed (None: none typed) and the problem with it, if any."""
        value = self.query_one("#probe-keep-alive", Input).value
        if not value.strip():
            return None, None
        try:
            return parse_keep_alive(value), None
        except ValueError as error:
            return None, str(error)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        keep_alive, problem = self._keep_alive()
        self.query_one("#probe-message", Static).update(Text(problem or "", style="red"))
        self.query_one("#confirm", Button).disabled = problem is not None
        if problem is None:
            note = self.query_one("#probe-note", Static)
            note.update(Text(safe_line(self.note_text(keep_alive))))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_confirm()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "confirm":
            self.action_confirm()
        else:
            self.dismiss(None)

    def action_confirm(self) -> None:
        keep_alive, problem = self._keep_alive()
        if problem is not None:
            self.query_one("#probe-message", Static).update(Text(problem, style="red"))
            return
        self.dismiss(ProbeChoice(keep_alive))

    def action_cancel(self) -> None:
        self.dismiss(None)


class ProbeComparisonScreen(ModalScreen[None]):
    """One model's speed on several servers, fastest first; esc closes."""

    CSS_PATH = OPERATIONS_CSS
    HELP_SECTION = "Speed comparison"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,enter", "close", "Close", id="ops.probe-compare.close"),
        help_binding("ops.probe-compare"),
    ]

    def __init__(self, model: str, rows: Sequence[Probed], *, now: datetime) -> None:
        super().__init__(id="probe-compare", classes="ops-dialog")
        self.model_name = model
        self.rows = fastest_first(rows)  # as `ollama-tui probe` prints them
        self.now = now

    def table(self) -> Table:
        table = Table(box=None, padding=(0, 1), header_style="bold")
        table.add_column("SERVER", no_wrap=True, overflow="ellipsis", max_width=24)
        table.add_column("LOAD", justify="right", no_wrap=True)
        table.add_column("PROMPT", justify="right", no_wrap=True)
        table.add_column("SPEED", justify="right", no_wrap=True)
        table.add_column("WHEN", no_wrap=True, overflow="ellipsis")
        for row in self.rows:
            server = Text(safe_line(row.label))
            result = row.result
            if result is None:
                table.add_row(server, "", "", "", Text(safe_line(row.why), style="red"))
                continue
            moment = datetime.fromtimestamp(result.at, UTC).astimezone()
            when = when_text(result, self.now).removeprefix(moment.strftime("%Y-%m-%d "))
            table.add_row(
                server,
                load_text(result.load_seconds),
                rate_text(result.prompt_tokens_per_second),
                Text(rate_text(result.speed, result.unit), style="bold"),
                when,
            )
        return table

    def compose(self) -> ComposeResult:
        servers = len(self.rows)
        title = f"Speed of {self.model_name} on {servers} server{'s' if servers != 1 else ''}"
        with Vertical(classes="dialog"):
            yield Static(Text(safe_line(title)), classes="dialog-title", markup=False)
            with VerticalScroll(classes="dialog-items"):
                yield Static(self.table(), id="probe-table", markup=False)
            yield Static(
                "Fastest first. SPEED: tokens generated per second (embeddings per second "
                "for an embedding model); LOAD 0 s: it was loaded already. esc: close",
                classes="dialog-note",
                markup=False,
            )

    def action_close(self) -> None:
        self.dismiss(None)
