"""The `/` filter input: filters both tables as you type; `enter` keeps it, `esc` clears it."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input

__all__ = ["FilterBar"]


class FilterBar(Input):
    """Hidden until `/`; posts :class:`FilterBar.Done` when the user leaves it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "clear_filter", "Clear filter", id="filter-clear"),
        Binding("down,up,tab", "done", "Back to table", show=False, id="filter-done"),
    ]

    DEFAULT_CSS = """
    FilterBar {
        display: none;
        height: 1;
        border: none;
        padding: 0 1;
        &.-active { display: block; }
    }
    """

    class Done(Message):
        """Leave the input; ``cleared`` if the filter was dropped."""

        def __init__(self, cleared: bool) -> None:
            super().__init__()
            self.cleared = cleared

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            placeholder="filter: name, family or quantization (enter: keep, esc: clear)",
            id=id,
            compact=True,
        )

    def open(self) -> None:
        self.add_class("-active")
        self.focus()

    def close(self) -> None:
        self.remove_class("-active")

    @property
    def is_open(self) -> bool:
        return self.has_class("-active")

    def action_clear_filter(self) -> None:
        self.value = ""
        self.close()
        self.post_message(self.Done(cleared=True))

    def action_done(self) -> None:
        # The filter stays in force (the table's title says so); the input goes away.
        self.close()
        self.post_message(self.Done(cleared=not self.value.strip()))

    async def action_submit(self) -> None:
        self.action_done()
