"""Copy to server(s)…: the other servers with a checkbox each and what copying there does."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ollama_tui.fleet_copy import CopyPlan
from ollama_tui.formatting import safe_line
from ollama_tui.stylesheets import OPERATIONS_CSS

__all__ = ["CopyToServersScreen"]


class CopyToServersScreen(ModalScreen[tuple[int, ...] | None]):
    """One row per target server: space toggles it, enter copies to the checked ones, escape
    cancels. Rows with nothing to do (already there, cannot copy) cannot be checked. The result
    is the indices of the checked rows."""

    CSS_PATH = OPERATIONS_CSS
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle", "Toggle server", id="ops.copy-servers.toggle"),
        # Priority: the list's own enter would "select" the row; here enter confirms.
        Binding("enter", "confirm", "Copy", id="ops.copy-servers.confirm", priority=True),
        Binding("escape", "cancel", "Cancel", id="ops.copy-servers.cancel"),
    ]
    AUTO_FOCUS = "#copy-servers-list"

    def __init__(
        self,
        model: str,
        source: str,
        rows: Sequence[tuple[str, CopyPlan]],
        checked: Sequence[int] = (),
    ) -> None:
        super().__init__(id="copy-servers-dialog", classes="ops-dialog")
        self.model = model
        self.source = source
        self.rows = list(rows)
        self.checked = {
            i for i in checked if 0 <= i < len(self.rows) and self.rows[i][1].actionable
        }

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            title = Text("Copy ", style="bold")
            title.append(safe_line(self.model))
            title.append(" from ")
            title.append(safe_line(self.source))
            title.append(" to:")
            yield Static(title, classes="dialog-title", markup=False)
            yield OptionList(*self._options(), id="copy-servers-list")
            yield Static(
                "space toggles · enter copies to the checked servers · esc cancels. "
                "Each pull or re-create runs as a job on its server (J shows them).",
                id="copy-servers-message",
                classes="dialog-note",
                markup=False,
            )

    def _prompt(self, index: int) -> Text:
        label, plan = self.rows[index]
        box = "[x] " if index in self.checked else "[ ] "
        if not plan.actionable:
            box = "[-] "  # nothing to do there: cannot be checked
        text = Text(box)
        text.append(safe_line(label), style="bold")
        text.append(" — ")
        text.append(safe_line(plan.text), style="" if plan.actionable else "dim")
        return text

    def _options(self) -> list[Option]:
        return [Option(self._prompt(i), id=f"target-{i}") for i in range(len(self.rows))]

    def _list(self) -> OptionList:
        return self.query_one("#copy-servers-list", OptionList)

    def action_toggle(self) -> None:
        index = self._list().highlighted
        if index is not None:
            self._toggle(index)

    def _toggle(self, index: int) -> None:
        option_list = self._list()
        if not self.rows[index][1].actionable:
            self.app.notify("Nothing to copy to that server.", severity="warning", markup=False)
            return
        self.checked ^= {index}
        option_list.replace_option_prompt_at_index(index, self._prompt(index))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        # Only a click gets here (enter is the screen's): it toggles that row, like space.
        event.stop()
        self._toggle(event.option_index)

    def action_confirm(self) -> None:
        if not self.checked:
            self.app.notify(
                "No server is checked: space checks the highlighted one.",
                severity="warning",
                markup=False,
            )
            return
        self.dismiss(tuple(sorted(self.checked)))

    def action_cancel(self) -> None:
        self.dismiss(None)
