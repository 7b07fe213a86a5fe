"""The one escaping function (`safe_line`, and `safe_text` = its multi-line variant).

Whatever a server sends, what reaches the screen holds no control, format, separator or other
invisible character, and two different strings never look the same: the escaping can be read
back to the original.
"""

from __future__ import annotations

import re
import sys
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from ollama_tui.api.limits import MAX_TEXT_CHARS
from ollama_tui.formatting import safe_line, safe_text

# Shown as nothing, or as a blank, by a terminal; listed in issue #9 and beyond.
INVISIBLE = [
    *range(0x00, 0x20),
    *range(0x7F, 0xA0),
    0x00A0,  # no-break space
    0x00AD,  # soft hyphen
    0x034F,  # combining grapheme joiner
    0x061C,  # Arabic letter mark
    0x115F,
    0x1160,
    0x3164,
    0xFFA0,  # Hangul fillers
    0x180E,  # Mongolian vowel separator
    *range(0x2000, 0x2010),  # odd spaces, zero-width space/joiners, LRM/RLM
    0x2028,
    0x2029,  # line and paragraph separators
    *range(0x202A, 0x202F),  # bidi embeddings and overrides
    0x202F,
    0x205F,
    *range(0x2060, 0x2065),  # word joiner, invisible operators
    *range(0x2066, 0x206A),  # bidi isolates
    0x2800,  # braille blank
    0x3000,  # ideographic space
    *range(0xFE00, 0xFE10),  # variation selectors
    0xFEFF,  # zero-width no-break space (BOM)
    0xD800,  # a lone surrogate (JSON allows "\ud800"; a terminal cannot encode it)
    0xE000,  # private use
    0xE0001,
    0xE0041,  # tag characters
    0xE0100,  # variation selector 17
]

_ESCAPE = re.compile(r"\\(\\|x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8})")


def read_back(shown: str) -> str:
    """The inverse of safe_line: escapes to characters, a doubled backslash to one."""

    def one(match: re.Match[str]) -> str:
        body = match.group(1)
        return "\\" if body == "\\" else chr(int(body[1:], 16))

    return _ESCAPE.sub(one, shown)


def hidden(char: str) -> bool:
    """What must never be on screen: anything not plainly visible (space aside)."""
    if char == " ":
        return False
    category = unicodedata.category(char)
    return category[0] in "CZ" or ord(char) in INVISIBLE


def test_every_invisible_character_is_shown_as_an_escape() -> None:
    for code in INVISIBLE:
        char = chr(code)
        shown = safe_line(f"a{char}b")
        assert char not in shown, f"U+{code:04X} reached the screen"
        if char not in "\t\n":
            assert shown == f"a{safe_line(char)}b" and shown.startswith("a\\"), hex(code)
            assert read_back(shown) == f"a{char}b"


def test_no_code_point_reaches_the_screen_hidden() -> None:
    """The whole of Unicode: only visible characters come out (escapes are plain ASCII)."""
    step = 1 << 16
    for start in range(0, sys.maxunicode + 1, step):
        chunk = "".join(chr(c) for c in range(start, start + step))
        for shown in (safe_text(chunk), safe_line(chunk[:MAX_TEXT_CHARS])):
            leaked = [c for c in set(shown) - {"\n", "\t"} if hidden(c)]
            assert not leaked, [f"U+{ord(c):04X}" for c in leaked[:10]]


def test_zero_width_names_look_different() -> None:
    names = ["llama3", "llama3\u200b", "llama\u200d3", "llama3\ufeff", "llama3\\u200b", "llama3\\"]
    shown = [safe_line(name) for name in names]
    assert len(set(shown)) == len(names), shown
    assert shown[1] == "llama3\\u200b"
    assert shown[4] == "llama3\\\\u200b"  # the typed-out escape is told apart by its backslash


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=60).filter(lambda t: "\t" not in t and "\n" not in t))
def test_escaping_can_be_read_back(text: str) -> None:
    """Injective: two different strings never show the same."""
    assert read_back(safe_line(text)) == text.replace("\r\n", " ")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(["\\", "x", "u", "U", "1", "b", "\x1b", "\u200b", "é"])))
def test_backslashes_next_to_escapes_read_back(text: str) -> None:
    assert read_back(safe_line(text)) == text


def test_windows_paths_keep_their_single_backslashes_where_unambiguous() -> None:
    assert safe_line(r"open C:\models\blobs: denied") == r"open C:\models\blobs: denied"
    assert safe_line(r"C:\Users\me") == r"C:\\Users\me"


def test_lines_and_blocks() -> None:
    assert safe_line("a\tb\r\nc\nd") == "a b c d"
    assert safe_text("a\tb\r\nc\nd\re") == "a\tb\nc\nd\\x0de"
    assert safe_line(None) == "" and safe_text(None) == ""


def test_plain_ascii_is_returned_untouched() -> None:
    """The fast path: every table cell of every frame goes through here."""
    name = "qwen2.5:0.5b-instruct-q4_K_M"
    assert safe_line(name) is name
    assert safe_text("FROM x\nPARAMETER stop <end>") == "FROM x\nPARAMETER stop <end>"


def test_a_line_is_cut_at_the_limit() -> None:
    shown = safe_line("x" * (MAX_TEXT_CHARS * 20))
    assert len(shown) == MAX_TEXT_CHARS and shown.endswith("…")
    long_text = "y" * (MAX_TEXT_CHARS * 3)
    assert safe_text(long_text) == long_text  # documents (licenses) are not lines


def test_every_toast_goes_through_the_apps_escaping_notify() -> None:
    """Widget.notify would parse markup by default: the package only calls the app's notify
    (SafeNotifyApp.notify escapes title and message and parses no markup)."""
    from pathlib import Path

    import ollama_tui

    root = Path(ollama_tui.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        if "simulator" in path.parts:
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if ".notify(" not in line or "app.notify(" in line:
                continue
            own = ("self.notify(", "super().notify(")
            if path.name in ("app.py", "notifications.py") and any(o in line for o in own):
                continue  # the app itself: its own notify
            offenders.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert not offenders, offenders
