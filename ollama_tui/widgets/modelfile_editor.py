"""A TextArea that highlights Modelfile syntax and marks the line of a parse error.

tree-sitter is not a dependency and has no Modelfile grammar, so the highlight map is
built by a small line lexer instead (TextArea keeps highlights as byte ranges per line).
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.actions import SkipAction
from textual.binding import Binding, BindingType
from textual.strip import Strip
from textual.widgets import TextArea
from textual.widgets.text_area import TextAreaTheme

from ollama_tui.modelfile import COMMANDS, MESSAGE_ROLES, PARAMETER_TYPES

INSTRUCTIONS = frozenset(
    {
        "from",
        "parameter",
        "template",
        "system",
        "adapter",
        "license",
        "message",
        "renderer",
        "parser",
        "requires",
        "draft",
    }
)

Highlight = tuple[int, int | None, str]

# What completion offers: instruction names at a line start, then a PARAMETER's name or a
# MESSAGE's role (the words the parser checks; values are free text).
_INSTRUCTION_WORD = re.compile(r"\s*([A-Za-z]+)")
_SECOND_WORD = re.compile(r"\s*([A-Za-z]+)[ \t]+([A-Za-z0-9_]*)")
_SECOND_WORDS: dict[str, tuple[str, ...]] = {
    "parameter": tuple(sorted(PARAMETER_TYPES)),
    "message": MESSAGE_ROLES,
}


def completion(before: str) -> tuple[str, list[str]]:
    """The word being typed at the end of ``before`` (a line up to the cursor) and the words it
    may complete to; ``("", [])`` where nothing is completed (values, comments)."""
    if match := _INSTRUCTION_WORD.fullmatch(before):
        word = match.group(1)
        return word, [c.upper() for c in COMMANDS if c.startswith(word.lower())]
    if match := _SECOND_WORD.fullmatch(before):
        names = _SECOND_WORDS.get(match.group(1).lower())
        if names is not None:
            word = match.group(2)
            return word, [n for n in names if n.startswith(word.lower())]
    return "", []


def _common_prefix(words: list[str]) -> str:
    prefix = words[0]
    for word in words[1:]:
        while not word.startswith(prefix):
            prefix = prefix[:-1]
    return prefix


_WORD = re.compile(r"[A-Za-z]+")
_ARGUMENT = re.compile(r"[ \t]+(\S+)")
_NUMBER = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")
_BOOLEAN = frozenset({"true", "false", "t", "f"})
# C0 and C1 control characters (and DEL) except tab and newline: drawn raw they would reach
# the terminal as escape sequences, and Ollama's Modelfile parser drops them anyway.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_controls(text: str) -> tuple[str, int]:
    """`text` without control characters (line breaks normalised to \\n) and how many went."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    cleaned, count = _CONTROL.subn("", text)
    return cleaned, count


ERROR_HIGHLIGHT = "modelfile.error"
THEME = TextAreaTheme(
    name="modelfile",
    syntax_styles={
        "keyword": Style(color="#569cd6", bold=True),
        "modelfile.unknown": Style(color="#f44747", underline=True),
        "comment": Style(color="#6A9955", italic=True),
        "string": Style(color="#ce9178"),
        "number": Style(color="#b5cea8"),
        "boolean": Style(color="#4ec9b0"),
        "variable": Style(color="#9cdcfe"),
        "type": Style(color="#c586c0"),
        ERROR_HIGHLIGHT: Style(bgcolor="#5f1f1f"),
    },
)
LIGHT_THEME = TextAreaTheme(
    name="modelfile-light",
    syntax_styles={
        "keyword": Style(color="#0000ff", bold=True),
        "modelfile.unknown": Style(color="#cd3131", underline=True),
        "comment": Style(color="#008000", italic=True),
        "string": Style(color="#a31515"),
        "number": Style(color="#098658"),
        "boolean": Style(color="#0070c1"),
        "variable": Style(color="#001080"),
        "type": Style(color="#af00db"),
        ERROR_HIGHLIGHT: Style(bgcolor="#ffd7d7"),
    },
)


def _byte_offset(line: str, index: int) -> int:
    return len(line[:index].encode("utf-8"))


def highlight_lines(lines: list[str]) -> dict[int, list[Highlight]]:
    """Highlights (start byte, end byte or None = to line end, name) per line index."""
    result: dict[int, list[Highlight]] = defaultdict(list)
    open_quote: str | None = None  # delimiter of a value that continues on the next line
    for index, line in enumerate(lines):
        spans: list[tuple[int, int | None, str]] = []
        if open_quote is not None:
            close = line.find(open_quote)
            if close < 0:
                spans.append((0, None, "string"))
            else:
                spans.append((0, close + len(open_quote), "string"))
                open_quote = None
        else:
            open_quote = _highlight_instruction(line, spans)
        for start, end, name in spans:
            result[index].append(
                (
                    _byte_offset(line, start),
                    None if end is None else _byte_offset(line, end),
                    name,
                )
            )
    return result


def _highlight_instruction(line: str, spans: list[tuple[int, int | None, str]]) -> str | None:
    """Add the spans of one instruction line; return an unclosed quote delimiter, if any."""
    stripped = line.lstrip()
    lead = len(line) - len(stripped)
    if not stripped:
        return None
    if stripped.startswith("#"):
        spans.append((lead, None, "comment"))
        return None
    word = _WORD.match(stripped)
    if word is None:
        spans.append((lead, None, "modelfile.unknown"))
        return None
    command = word.group().lower()
    pos = lead + word.end()
    spans.append((lead, pos, "keyword" if command in INSTRUCTIONS else "modelfile.unknown"))
    if command in ("parameter", "message"):
        argument = _ARGUMENT.match(line, pos)
        if argument is None:
            return None
        spans.append(
            (argument.start(1), argument.end(1), "variable" if command == "parameter" else "type")
        )
        pos = argument.end(1)
    value_start = pos + (len(line[pos:]) - len(line[pos:].lstrip()))
    value = line[value_start:].rstrip()
    if not value:
        return None
    for quote in ('"""', '"'):
        if value.startswith(quote):
            close = value.find(quote, len(quote))
            if close < 0:
                spans.append((value_start, None, "string"))
                return quote
            spans.append((value_start, value_start + close + len(quote), "string"))
            return None
    if command == "parameter":
        if _NUMBER.match(value):
            spans.append((value_start, value_start + len(value), "number"))
        elif value.lower() in _BOOLEAN:
            spans.append((value_start, value_start + len(value), "boolean"))
        else:
            spans.append((value_start, value_start + len(value), "string"))
    elif command != "message":
        spans.append((value_start, value_start + len(value), "string"))
    return None


class ModelfileEditor(TextArea):
    """Modelfile text with line numbers, syntax colours, an error marker and completion.

    Typing the start of an instruction, a PARAMETER name or a MESSAGE role shows the rest
    (dim, as TextArea's suggestion: `right` takes it); `tab` or `ctrl+space` completes, and
    lists the choices when there are several. Elsewhere `tab` moves on as usual.
    """

    DEFAULT_CSS = """
    ModelfileEditor { height: 1fr; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "complete(False)", "Complete", show=False, id="ops.create.complete"),
        Binding(
            "ctrl+space,ctrl+@",
            "complete(True)",
            "Complete",
            show=False,
            id="ops.create.complete-always",
        ),
    ]

    def __init__(self, text: str = "", *, id: str | None = None) -> None:
        # Set before TextArea.__init__: it builds the highlight map (our override) at once.
        self._error_line: int | None = None
        text, self.controls_removed = strip_controls(text)
        super().__init__(text, show_line_numbers=True, soft_wrap=False, id=id)
        self.register_theme(THEME)
        self.register_theme(LIGHT_THEME)

    def on_mount(self) -> None:
        self._follow_app_theme()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._follow_app_theme())
        self.move_cursor(self.end_of_text())  # a prefilled Modelfile is continued, not prefixed

    def end_of_text(self) -> tuple[int, int]:
        """Where typing continues: the end, or the end of an unfinished last instruction
        ("FROM " followed by a newline: after the space, not on the empty line below)."""
        row, column = self.document.end
        if row > 0 and column == 0:
            previous = self.document.get_line(row - 1)
            if previous.strip() and previous.endswith(" ") and " " not in previous.strip():
                return row - 1, len(previous)
        return row, column

    # -- completion ---------------------------------------------------------------------------

    def _completion_here(self) -> tuple[str, list[str]]:
        """What the word before the cursor completes to (only with nothing after it)."""
        if not self.selection.is_empty:
            return "", []
        row, column = self.cursor_location
        line = self.document.get_line(row)
        if line[column:].strip():
            return "", []
        return completion(line[:column])

    def update_suggestion(self) -> None:
        word, words = self._completion_here()
        if word and words:
            rest = _common_prefix(words)[len(word) :]
            self.suggestion = rest + (" " if len(words) == 1 else "")
        else:
            self.suggestion = ""

    def action_complete(self, always: bool) -> None:
        """Complete the word before the cursor; `tab` with nothing to complete moves on."""
        word, words = self._completion_here()
        if not words or (not word and not always):
            if always:
                self.app.notify("Nothing to complete here.", severity="warning")
                return
            raise SkipAction()  # tab: the screen's focus change
        if len(words) == 1:
            self.insert(words[0][len(word) :] + " ")
            return
        prefix = _common_prefix(words)
        if len(prefix) > len(word):
            self.insert(prefix[len(word) :])
        self.app.notify(", ".join(words), title="Completions", markup=False)

    def _follow_app_theme(self) -> None:
        """Syntax colours readable on the app's current (dark or light) theme."""
        self.theme = "modelfile" if self.app.current_theme.dark else "modelfile-light"

    def load_text(self, text: str) -> None:
        """Replace the text, without control characters (`controls_removed` counts them)."""
        text, self.controls_removed = strip_controls(text)
        super().load_text(text)
        self.move_cursor(self.end_of_text())

    async def _on_paste(self, event: events.Paste) -> None:
        """TextArea's paste, without control characters (its own handler must not run)."""
        event.prevent_default()
        if self.read_only:
            return
        text, self.controls_removed = strip_controls(event.text)
        if result := self._replace_via_keyboard(text, *self.selection):
            self.move_cursor(result.end_location)
            self.focus()

    @property
    def error_line(self) -> int | None:
        """The 1-based line marked as wrong, or None."""
        return self._error_line

    def mark_error(self, line: int | None) -> None:
        """Mark a 1-based line (None clears the mark) and redraw."""
        if line is not None and not 1 <= line <= self.document.line_count:
            line = max(1, min(line, self.document.line_count))
        if line == self._error_line:
            return
        self._error_line = line
        self._build_highlight_map()
        self.refresh()

    def _build_highlight_map(self) -> None:
        self._line_cache.clear()
        highlights = self._highlights
        highlights.clear()
        highlights.update(highlight_lines(list(self.document.lines)))
        error_line = getattr(self, "_error_line", None)
        if error_line is not None:
            # First, so that syntax colours keep their foreground over the error background.
            highlights[error_line - 1].insert(0, (0, None, ERROR_HIGHLIGHT))

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        if self._error_line is None or not self.show_line_numbers:
            return strip
        try:
            line_index, section = self.wrapped_document._offset_to_line_info[
                y + self.scroll_offset.y
            ]
        except IndexError:
            return strip
        if line_index != self._error_line - 1 or section != 0:
            return strip
        # Replace the gutter with the line number and a marker; cached lines stay unmarked.
        width = self.gutter_width
        number = str(line_index + self.line_number_start)
        theme = self._theme
        base = (theme.gutter_style if theme else None) or self.rich_style
        style = base + Style(color="red", bold=True)
        gutter_strip = Strip([Segment(f"{number:>{width - 2}}▶ ", style)], width)
        return Strip.join([gutter_strip, strip.crop(width)])
