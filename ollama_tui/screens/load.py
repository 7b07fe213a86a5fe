"""Keep-alive dialog for loading a model (or extending a loaded model's keep-alive)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.validation import ValidationResult, Validator
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ollama_tui.api.keep_alive import KeepAlive, parse_keep_alive
from ollama_tui.formatting import safe_line
from ollama_tui.stylesheets import OPERATIONS_CSS

PRESETS: tuple[tuple[str, KeepAlive], ...] = (
    ("5 minutes", "5m"),
    ("1 hour", "1h"),
    ("forever", -1),
)


class KeepAliveValidator(Validator):
    def validate(self, value: str) -> ValidationResult:
        try:
            parse_keep_alive(value)
        except ValueError as error:
            return self.failure(str(error))
        return self.success()


class LoadScreen(ModalScreen[KeepAlive | None]):
    """Up/down + Enter (or 1-3) pick a preset; 4 or typing edits a custom value; Escape cancels."""

    CSS_PATH = OPERATIONS_CSS

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="ops.load.cancel"),
        Binding("1", "preset(0)", "5m", show=False),
        Binding("2", "preset(1)", "1h", show=False),
        Binding("3", "preset(2)", "forever", show=False),
        Binding("4", "custom", "custom", show=False),
    ]
    AUTO_FOCUS = "#keep-alive"

    def __init__(self, name: str, *, loaded: bool = False) -> None:
        super().__init__(classes="ops-dialog load-dialog")
        self.model_name = name
        self.loaded = loaded

    def compose(self) -> ComposeResult:
        title = Text("Keep " if self.loaded else "Load ")
        title.append(safe_line(self.model_name), style="bold")
        title.append(" loaded for…" if self.loaded else " — keep loaded for…")
        options = [Option(f"{i + 1}  {label}", id=str(i)) for i, (label, _v) in enumerate(PRESETS)]
        options.append(Option("4  custom…", id="custom"))
        with Vertical(classes="dialog"):
            yield Static(title, classes="dialog-title", markup=False)
            yield OptionList(*options, id="keep-alive")
            yield Input(
                placeholder="e.g. 10m, 1h30m, 3600 (seconds), -1 (forever)",
                id="keep-alive-custom",
                validators=[KeepAliveValidator()],
                validate_on=["changed", "submitted"],
            )
            yield Static("", id="keep-alive-message", classes="field-message", markup=False)
            yield Static("enter: load   esc: cancel", classes="dialog-note", markup=False)

    def _custom_problem(self) -> str | None:
        try:
            parse_keep_alive(self.query_one("#keep-alive-custom", Input).value)
        except ValueError as error:
            return str(error)
        return None

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option_id == "custom":
            self.action_custom()
        else:
            self.action_preset(int(event.option_id or 0))

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        problem = self._custom_problem() if event.value.strip() else None
        self.query_one("#keep-alive-message", Static).update(Text(problem or "", style="red"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        problem = self._custom_problem()
        if problem is not None:
            self.query_one("#keep-alive-message", Static).update(Text(problem, style="red"))
            return
        self.dismiss(parse_keep_alive(event.value))

    def action_preset(self, index: int) -> None:
        self.dismiss(PRESETS[index][1])

    def action_custom(self) -> None:
        self.query_one("#keep-alive", OptionList).highlighted = len(PRESETS)
        self.query_one("#keep-alive-custom", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
