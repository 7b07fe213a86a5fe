"""Dialog building blocks: a confirmation that names its targets, and a validated name field.

Every dialog here focuses Cancel first, so a stray Enter never confirms anything; `y` confirms.
Texts that come from the server or the user are passed as `Text` (never parsed as markup).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.validation import ValidationResult, Validator
from textual.widgets import Button, Checkbox, Input, Static

from ollama_tui.api.names import validate_model_name
from ollama_tui.formatting import safe_line, safe_text
from ollama_tui.stylesheets import OPERATIONS_CSS


def dialog_text(title: str, items: Sequence[Text], note: Text) -> ComposeResult:
    """A dialog's title (escaped here, once), its targets one per line, and its note."""
    yield Static(Text(safe_line(title)), classes="dialog-title", markup=False)
    if items:
        with VerticalScroll(classes="dialog-items"):
            for item in items:
                yield Static(item, classes="dialog-item", markup=False)
    if note.plain:
        yield Static(note, classes="dialog-note", markup=False)


class ConfirmScreen(ModalScreen[bool]):
    """Yes/no with a title, the targets (one per line) and a note; Cancel is focused."""

    CSS_PATH = OPERATIONS_CSS

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "confirm", "Confirm", id="ops.confirm.yes"),
        Binding("n,escape", "cancel", "Cancel", id="ops.confirm.no"),
        Binding("left,right", "switch_button", "Switch button", show=False),
    ]
    AUTO_FOCUS = "#cancel"

    def __init__(
        self,
        title: str,
        items: Sequence[Text | str] = (),
        *,
        note: Text | str = "",
        confirm_label: str = "Yes",
        danger: bool = False,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id, classes="ops-dialog confirm-dialog")
        self.title_text = title
        self.items = [item if isinstance(item, Text) else Text(safe_line(item)) for item in items]
        self.note = note if isinstance(note, Text) else Text(safe_text(note))
        self.confirm_label = confirm_label
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield from dialog_text(self.title_text, self.items, self.note)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel (n)", id="cancel")
                yield Button(
                    f"{self.confirm_label} (y)",
                    id="confirm",
                    variant="error" if self.danger else "primary",
                )

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm")

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)

    def action_switch_button(self) -> None:
        focused = self.focused
        target = "#confirm" if focused is not None and focused.id == "cancel" else "#cancel"
        self.query_one(target, Button).focus()


class ModelNameValidator(Validator):
    """The server's name rules (Ollama's types/model/name.go), with its specific message."""

    def validate(self, value: str) -> ValidationResult:
        if not value.strip():
            return self.failure("enter a model name")
        message = validate_model_name(value.strip())
        return self.success() if message is None else self.failure(message)


def name_input(
    value: str = "",
    *,
    id: str,
    placeholder: str = "model:tag",
    suggestions: Iterable[str] = (),
) -> Input:
    """An Input validated as you type, suggesting the given names.

    Names come from the server: an Input keeps ESC and other control bytes, so they are made
    visible here (such a name is invalid anyway) and never suggested.
    """
    names = sorted({name for name in suggestions if safe_line(name) == name})
    return Input(
        value=safe_line(value),
        placeholder=placeholder,
        id=id,
        validators=[ModelNameValidator()],
        validate_on=["changed", "submitted"],
        suggester=SuggestFromList(names, case_sensitive=False) if names else None,
        classes="name-input",
    )


def show_validation(field: Input, message_widget: Static, *, quiet_empty: bool = True) -> bool:
    """Run the field's validators; show the first failure under it. True when valid."""
    result = field.validate(field.value)
    valid = result is None or result.is_valid
    if valid or (quiet_empty and not field.value.strip()):
        message_widget.update("")
    else:
        assert result is not None
        message_widget.update(Text(safe_line(result.failure_descriptions[0]), style="red"))
    return valid


class TextPrompt(ModalScreen[str | None]):
    """Ask for one line of text (e.g. a file path); `check` returns an error message or None."""

    CSS_PATH = OPERATIONS_CSS

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="ops.prompt.cancel")
    ]
    AUTO_FOCUS = "#prompt-value"

    def __init__(
        self, title: str, value: str = "", *, check: Callable[[str], str | None] | None = None
    ) -> None:
        super().__init__(classes="ops-dialog prompt-dialog")
        self.title_text = title
        self.initial = value
        self.check = check

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(safe_line(self.title_text)), classes="dialog-title", markup=False)
            yield Input(value=self.initial, id="prompt-value")
            yield Static("", id="prompt-message", classes="field-message", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel (esc)", id="cancel")
                yield Button("OK (enter)", id="ok", variant="primary")

    def _problem(self) -> str | None:
        value = self.query_one("#prompt-value", Input).value
        if not value.strip():
            return "enter a value"
        return self.check(value) if self.check is not None else None

    def on_input_changed(self, event: Input.Changed) -> None:
        problem = self._problem()
        shown = "" if problem is None or not event.value.strip() else problem
        self.query_one("#prompt-message", Static).update(Text(safe_line(shown), style="red"))
        self.query_one("#ok", Button).disabled = problem is not None

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "ok":
            self._submit()
        else:
            self.dismiss(None)

    def _submit(self) -> None:
        problem = self._problem()
        if problem is not None:
            self.query_one("#prompt-message", Static).update(Text(safe_line(problem), style="red"))
            return
        self.dismiss(self.query_one("#prompt-value", Input).value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChoiceScreen(ModalScreen[str | None]):
    """One of a few named choices, each with its own key; Cancel (esc) is focused first.

    ``choices`` are ``(key, label, value)``: pressing the key or the button dismisses with the
    value, escape or Cancel with None.
    """

    CSS_PATH = OPERATIONS_CSS

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="ops.choice.cancel"),
        Binding("left", "focus_previous", "Previous button", show=False),
        Binding("right", "focus_next", "Next button", show=False),
    ]
    AUTO_FOCUS = "#cancel"

    def __init__(
        self,
        title: str,
        choices: Sequence[tuple[str, str, str]],
        items: Sequence[Text | str] = (),
        *,
        note: Text | str = "",
    ) -> None:
        super().__init__(classes="ops-dialog confirm-dialog")
        self.title_text = title
        self.choices = list(choices)
        self.items = [item if isinstance(item, Text) else Text(safe_line(item)) for item in items]
        self.note = note if isinstance(note, Text) else Text(safe_text(note))

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield from dialog_text(self.title_text, self.items, self.note)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel (esc)", id="cancel")
                for index, (key, label, _value) in enumerate(self.choices):
                    yield Button(f"{label} ({key})", id=f"choice-{index}", variant="primary")

    def on_key(self, event: events.Key) -> None:
        for key, _label, value in self.choices:
            if event.key == key:
                event.stop()
                self.dismiss(value)
                return

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        button_id = event.button.id or ""
        if button_id.startswith("choice-"):
            self.dismiss(self.choices[int(button_id.removeprefix("choice-"))][2])
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class StateCheckbox(Checkbox):
    """A checkbox whose state shows in its characters (``▐X▌`` / ``▐ ▌``), not only its colour:
    Textual's always draws the X and tells on from off by colour, unreadable with NO_COLOR."""

    @property  # type: ignore[override,unused-ignore]
    def BUTTON_INNER(self) -> str:  # type: ignore[override,unused-ignore]
        return "X" if self.value else " "
