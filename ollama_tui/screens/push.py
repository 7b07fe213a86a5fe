"""Push confirmation: where the model goes, and what ollama.com requires of its name."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Static

from ollama_tui.api.errors import InvalidInput
from ollama_tui.api.names import DEFAULT_HOST, DEFAULT_NAMESPACE, parse_model_name
from ollama_tui.formatting import safe_line
from ollama_tui.stylesheets import OPERATIONS_CSS


def push_advice(name: str) -> Text:
    """Where a push of `name` goes; a warning when ollama.com would refuse it."""
    try:
        parsed = parse_model_name(name)
    except InvalidInput as error:
        return Text(safe_line(str(error)), style="red")
    text = Text("Destination: ")
    text.append(safe_line(parsed.full), style="bold")
    if parsed.host.casefold() == DEFAULT_HOST and parsed.namespace.casefold() == DEFAULT_NAMESPACE:
        text.append(
            "\nollama.com only accepts pushes into your own namespace: copy the model to "
            f"<user>/{safe_line(parsed.model)}:{safe_line(parsed.tag)} first (c), then push that.",
            style="yellow",
        )
    else:
        text.append(
            f"\nThe namespace {safe_line(parsed.namespace)!r} must belong to the account this "
            "server is signed in with.",
            style="dim",
        )
    return text


class PushScreen(ModalScreen[bool | None]):
    """Returns the insecure flag to push, or None to cancel. Cancel is focused; `y` pushes."""

    CSS_PATH = OPERATIONS_CSS

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "cancel", "Cancel", id="ops.push.cancel"),
        Binding("y", "push", "Push", id="ops.push.confirm"),
        Binding("ctrl+t", "toggle_insecure", "Insecure", id="ops.push.insecure"),
    ]
    AUTO_FOCUS = "#cancel"

    def __init__(self, name: str) -> None:
        super().__init__(classes="ops-dialog push-dialog")
        self.model_name = name

    def compose(self) -> ComposeResult:
        title = Text("Push ")
        title.append(safe_line(self.model_name), style="bold")
        title.append("?")
        with Vertical(classes="dialog"):
            yield Static(title, classes="dialog-title", markup=False)
            yield Static(push_advice(self.model_name), classes="dialog-note", markup=False)
            yield Checkbox("Insecure registry (http, ctrl+t)", id="push-insecure")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel (n)", id="cancel")
                yield Button("Push (y)", id="push", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "push":
            self.action_push()
        else:
            self.dismiss(None)

    def action_push(self) -> None:
        self.dismiss(self.query_one("#push-insecure", Checkbox).value)

    def action_toggle_insecure(self) -> None:
        self.query_one("#push-insecure", Checkbox).toggle()

    def action_cancel(self) -> None:
        self.dismiss(None)
