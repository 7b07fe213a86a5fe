"""A read-only, syntax-highlighted Modelfile viewer (TextArea without tree-sitter).

The lexer is the Modelfile editor's line lexer (instructions bold, comments dim, strings and
numbers coloured); without it the viewer shows plain text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.widgets import TextArea
from textual.widgets.text_area import TextAreaTheme

from ollama_tui.formatting import safe_text

THEME: TextAreaTheme | None
highlight_lines: Callable[[list[str]], Any] | None
try:
    from ollama_tui.widgets.modelfile_editor import THEME, highlight_lines
except ImportError:  # the editor is optional for viewing
    THEME = None
    highlight_lines = None

__all__ = ["ModelfileView"]


class ModelfileView(TextArea):
    """Modelfile text, read only, with line numbers and highlighting."""

    DEFAULT_CSS = """
    ModelfileView { height: 1fr; border: none; padding: 0; }
    """

    def __init__(self, text: str = "", *, highlight: bool = True, id: str | None = None) -> None:
        self._highlight = highlight and highlight_lines is not None
        super().__init__(
            safe_text(text),
            read_only=True,
            show_line_numbers=highlight,
            soft_wrap=not highlight,
            show_cursor=False,
            id=id,
        )
        if self._highlight and THEME is not None:
            self.register_theme(THEME)
            self.theme = THEME.name

    def _build_highlight_map(self) -> None:
        if not getattr(self, "_highlight", False) or highlight_lines is None:
            super()._build_highlight_map()
            return
        self._line_cache.clear()
        self._highlights.clear()
        self._highlights.update(highlight_lines(list(self.document.lines)))
