"""Pull dialog: a validated name (installed names suggested for re-pulls) and an insecure toggle."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Static

from ollama_tui.formatting import safe_line
from ollama_tui.screens.confirm import StateCheckbox, name_input, show_validation
from ollama_tui.stylesheets import OPERATIONS_CSS


@dataclass(frozen=True)
class PullRequest:
    name: str
    insecure: bool = False


class PullScreen(ModalScreen[PullRequest | None]):
    """Enter starts the pull (only with a valid name); Escape cancels. Nothing is sent here."""

    CSS_PATH = OPERATIONS_CSS

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="ops.pull.cancel"),
        Binding("ctrl+t", "toggle_insecure", "Insecure", id="ops.pull.insecure"),
    ]
    AUTO_FOCUS = "#pull-name"

    def __init__(
        self,
        installed: Iterable[str] = (),
        value: str = "",
        *,
        server: str | None = None,
        insecure_registries: Collection[str] = (),
    ) -> None:
        super().__init__(classes="ops-dialog pull-dialog")
        self.insecure_registries = tuple(insecure_registries)
        """Registries reached over http (config): the toggle follows a name on one of them."""
        self._insecure_auto = False
        """What the toggle was last set to from the name (a different value: the user's)."""
        self.server = server
        """The target server's name, given when there are several (the title names it)."""
        self.installed = list(installed)
        self.initial = value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            title = f"Pull a model to {safe_line(self.server)}" if self.server else "Pull a model"
            yield Static(Text(title), classes="dialog-title", markup=False)
            yield Static(
                "Name as in the registry, e.g. llama3.2:1b or user/model:tag",
                classes="dialog-note",
            )
            yield name_input(self.initial, id="pull-name", suggestions=self.installed)
            yield Static("", id="pull-message", classes="field-message", markup=False)
            yield StateCheckbox("Insecure registry (http, ctrl+t)", id="pull-insecure")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel (esc)", id="cancel")
                yield Button("Pull (enter)", id="pull", variant="primary", disabled=True)

    def on_mount(self) -> None:
        # After a refresh: widgets nested in containers may not be mounted yet here.
        self.call_after_refresh(self._validate)
        self.call_after_refresh(self._follow_registry)

    def _validate(self) -> bool:
        field = self.query_one("#pull-name", Input)
        valid = show_validation(field, self.query_one("#pull-message", Static))
        self.query_one("#pull", Button).disabled = not valid
        return valid

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._validate()
        self._follow_registry()

    def _follow_registry(self) -> None:
        """The insecure toggle is on for a name whose registry is in ``insecure_registries``,
        unless the user has set it themselves."""
        from ollama_tui.freshness import is_insecure

        box = self.query_one("#pull-insecure", Checkbox)
        if box.value != self._insecure_auto:
            return  # the user's choice stands
        wanted = is_insecure(
            self.query_one("#pull-name", Input).value.strip(), self.insecure_registries
        )
        self._insecure_auto = box.value = wanted

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "pull":
            self._submit()
        else:
            self.dismiss(None)

    def _submit(self) -> None:
        field = self.query_one("#pull-name", Input)
        if not show_validation(field, self.query_one("#pull-message", Static), quiet_empty=False):
            # Keep the text and the message; send nothing.
            field.focus()
            return
        insecure = self.query_one("#pull-insecure", Checkbox).value
        self.dismiss(PullRequest(field.value.strip(), insecure))

    def action_toggle_insecure(self) -> None:
        self.query_one("#pull-insecure", Checkbox).toggle()

    def action_cancel(self) -> None:
        self.dismiss(None)


def repull_items(names: Iterable[str]) -> list[Text]:
    """Lines for the "re-pull marked models" confirmation."""
    return [Text(f"• {safe_line(name)}") for name in names]
