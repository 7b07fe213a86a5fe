"""Push confirmation: where the model goes, and what ollama.com requires of its name.

ollama.com only accepts pushes into the pushing account's namespace, so a push of a name
without one (``llama3.2`` is ``registry.ollama.ai/library/llama3.2``) is refused here, before
anything is sent, and copying it into a namespace first is offered instead. A private registry
(``127.0.0.1:5000/...``) has no such rule: its names are pushed as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Static

from ollama_tui.api.errors import InvalidInput
from ollama_tui.api.names import (
    DEFAULT_HOST,
    DEFAULT_NAMESPACE,
    ModelName,
    parse_model_name,
    validate_model_name,
)
from ollama_tui.formatting import safe_line
from ollama_tui.screens.confirm import StateCheckbox
from ollama_tui.stylesheets import OPERATIONS_CSS

# The hosts of the public registry (ollama.com serves the same registry under its own name).
PUBLIC_HOSTS = frozenset({DEFAULT_HOST, "ollama.com", "www.ollama.com"})


@dataclass(frozen=True)
class PushRequest:
    """What to push: ``copy_to`` set means copy the model to that name first, push the copy."""

    insecure: bool = False
    copy_to: str | None = None


def _parsed(name: str) -> ModelName | None:
    try:
        return parse_model_name(name)
    except InvalidInput:
        return None


def is_public_registry(name: str) -> bool:
    parsed = _parsed(name)
    return parsed is not None and parsed.host.casefold() in PUBLIC_HOSTS


def needs_namespace(name: str) -> bool:
    """A push ollama.com refuses: into the public registry without a namespace of one's own."""
    parsed = _parsed(name)
    return (
        parsed is not None
        and parsed.host.casefold() in PUBLIC_HOSTS
        and parsed.namespace.casefold() == DEFAULT_NAMESPACE
    )


def copy_destination(name: str, namespace: str) -> str:
    """``name`` moved into ``namespace`` on the public registry ("<namespace>/model:tag")."""
    parsed = parse_model_name(name)
    return f"{namespace}/{parsed.model}:{parsed.tag}"


def push_advice(name: str) -> Text:
    """Where a push of `name` goes; what ollama.com requires only where ollama.com is the target."""
    try:
        parsed = parse_model_name(name)
    except InvalidInput as error:
        return Text(safe_line(str(error)), style="red")
    text = Text("Destination: ")
    text.append(safe_line(parsed.full), style="bold")
    model = f"{safe_line(parsed.model)}:{safe_line(parsed.tag)}"
    if parsed.host.casefold() not in PUBLIC_HOSTS:
        text.append(
            "\nA private registry: the name is pushed as it is (ctrl+t for plain http).",
            style="dim",
        )
    elif parsed.namespace.casefold() == DEFAULT_NAMESPACE:
        text.append(
            "\nRefused before sending: ollama.com only accepts pushes into your own "
            f"namespace (<you>/{model}).",
            style="bold yellow",
        )
    else:
        text.append(
            f"\nThe namespace {safe_line(parsed.namespace)!r} must belong to the ollama.com "
            "account this server is signed in with.",
            style="dim",
        )
    return text


class PushScreen(ModalScreen[PushRequest | None]):
    """A :class:`PushRequest`, or None to cancel. Cancel is focused; `y` pushes.

    For a name ollama.com would refuse, `y` does not push: the dialog asks for the namespace
    and offers to copy the model there and push that.
    """

    CSS_PATH = OPERATIONS_CSS

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "cancel", "Cancel", id="ops.push.cancel"),
        Binding("y", "push", "Push", id="ops.push.confirm"),
        Binding("ctrl+t", "toggle_insecure", "Insecure", id="ops.push.insecure"),
    ]
    AUTO_FOCUS = "#cancel"

    def __init__(self, name: str, *, server: str | None = None) -> None:
        super().__init__(classes="ops-dialog push-dialog")
        self.model_name = name
        self.server = server
        """The source server's name, given when there are several (the title names it)."""
        self.refused = needs_namespace(name)

    def compose(self) -> ComposeResult:
        title = Text("Push ")
        title.append(safe_line(self.model_name), style="bold")
        if self.server:
            title.append(f" from {safe_line(self.server)}")
        title.append("?")
        with Vertical(classes="dialog"):
            yield Static(title, classes="dialog-title", markup=False)
            yield Static(push_advice(self.model_name), classes="dialog-note", markup=False)
            if self.refused:
                yield Static(self._copy_title(""), id="push-copy-title", markup=False)
                yield Input(
                    placeholder="your ollama.com user name (enter: copy and push)",
                    id="push-namespace",
                )
                yield Static("", id="push-message", classes="field-message", markup=False)
            yield StateCheckbox("Insecure registry (http, ctrl+t)", id="push-insecure")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel (n)", id="cancel")
                label = "Copy and push (y)" if self.refused else "Push (y)"
                yield Button(label, id="push", variant="primary")

    def _copy_title(self, namespace: str) -> Text:
        parsed = parse_model_name(self.model_name)
        who = safe_line(namespace.strip()) or "<you>"
        return Text(
            f"Copy to {who}/{safe_line(parsed.model)}:{safe_line(parsed.tag)} and push that?"
        )

    def _destination(self) -> tuple[str | None, str]:
        """The copy's name, or None and why not."""
        namespace = self.query_one("#push-namespace", Input).value.strip()
        if not namespace:
            return None, "Enter your ollama.com user name first; nothing was sent."
        if namespace.casefold() == DEFAULT_NAMESPACE or "/" in namespace:
            return None, f"{namespace!r} is not a user name."
        destination = copy_destination(self.model_name, namespace)
        problem = validate_model_name(destination)
        return (destination, "") if problem is None else (None, problem)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.query_one("#push-copy-title", Static).update(self._copy_title(event.value))
        self.query_one("#push-message", Static).update("")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_push()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "push":
            self.action_push()
        else:
            self.dismiss(None)

    def action_push(self) -> None:
        insecure = self.query_one("#push-insecure", Checkbox).value
        if not self.refused:
            self.dismiss(PushRequest(insecure))
            return
        destination, problem = self._destination()
        if destination is None:
            self.query_one("#push-message", Static).update(Text(safe_line(problem), style="red"))
            self.query_one("#push-namespace", Input).focus()
            return
        self.dismiss(PushRequest(insecure, copy_to=destination))

    def action_toggle_insecure(self) -> None:
        self.query_one("#push-insecure", Checkbox).toggle()

    def action_cancel(self) -> None:
        self.dismiss(None)
