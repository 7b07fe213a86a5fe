"""The rename dialog: the copy dialog with a fixed source (the steps are in
``ollama_tui.rename``)."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.widgets import Static

from ollama_tui.screens.copy import CopyScreen


class RenameScreen(CopyScreen):
    """The copy dialog with the source fixed; says so when the source is loaded."""

    def __init__(self, source: str, installed: Iterable[str] = (), *, loaded: bool = False) -> None:
        super().__init__(source, installed, rename=True)
        self.loaded = loaded

    def on_mount(self) -> None:
        if self.loaded:
            note = Text("It is loaded: it will be unloaded before the old name is removed.")
            buttons = self.query_one(".dialog-buttons")
            self.query_one(".dialog").mount(
                Static(note, classes="dialog-note", id="rename-loaded", markup=False),
                before=buttons,
            )
