"""Copy dialog (also the rename dialog): source and a validated destination."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from ollama_tui.api.names import names_equal, validate_model_name
from ollama_tui.formatting import safe_line
from ollama_tui.screens.confirm import name_input, show_validation
from ollama_tui.stylesheets import OPERATIONS_CSS


@dataclass(frozen=True)
class CopyRequest:
    source: str
    destination: str


class CopyScreen(ModalScreen[CopyRequest | None]):
    """Enter submits when both names are valid and differ; Escape cancels.

    For a rename the source is fixed (the highlighted model).
    """

    CSS_PATH = OPERATIONS_CSS

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="ops.copy.cancel")
    ]
    AUTO_FOCUS = "#copy-destination"

    def __init__(self, source: str, installed: Iterable[str] = (), *, rename: bool = False) -> None:
        super().__init__(classes="ops-dialog copy-dialog")
        self.source = source
        self.installed = list(installed)
        self.rename = rename

    def compose(self) -> ComposeResult:
        verb = "Rename" if self.rename else "Copy"
        with Vertical(classes="dialog"):
            yield Static(f"{verb} a model", classes="dialog-title")
            yield Static("From", classes="field-label")
            source = name_input(self.source, id="copy-source", suggestions=self.installed)
            source.disabled = self.rename
            yield source
            yield Static("", id="copy-source-message", classes="field-message", markup=False)
            yield Static("To", classes="field-label")
            yield name_input("", id="copy-destination", placeholder="new-name:tag")
            yield Static("", id="copy-message", classes="field-message", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel (esc)", id="cancel")
                yield Button(f"{verb} (enter)", id="submit", variant="primary", disabled=True)

    def on_mount(self) -> None:
        # After a refresh: widgets nested in containers may not be mounted yet here.
        self.call_after_refresh(self._validate)

    def _validate(self, *, quiet_empty: bool = True) -> bool:
        source = self.query_one("#copy-source", Input)
        destination = self.query_one("#copy-destination", Input)
        message = self.query_one("#copy-message", Static)
        source_ok = show_validation(
            source, self.query_one("#copy-source-message", Static), quiet_empty=quiet_empty
        )
        valid = show_validation(destination, message, quiet_empty=quiet_empty)
        dest = destination.value.strip()
        if valid and source_ok and names_equal(source.value.strip(), dest):
            # Names are case-insensitive: "copying" onto itself would make a rename delete it.
            message.update(Text("the destination is the source model itself", style="red"))
            valid = False
        elif valid and any(names_equal(dest, name) for name in self.installed):
            message.update(
                Text(
                    f"{safe_line(dest)} exists — you will be asked before it is replaced",
                    style="yellow",
                )
            )
        self.query_one("#submit", Button).disabled = not (valid and source_ok)
        return valid and source_ok

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._validate()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "submit":
            self._submit()
        else:
            self.dismiss(None)

    def _submit(self) -> None:
        if not self._validate(quiet_empty=False):
            return
        source = self.query_one("#copy-source", Input).value.strip()
        destination = self.query_one("#copy-destination", Input).value.strip()
        if validate_model_name(source) is None:
            self.dismiss(CopyRequest(source, destination))

    def action_cancel(self) -> None:
        self.dismiss(None)
