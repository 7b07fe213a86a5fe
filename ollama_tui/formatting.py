"""Text for the screen: CLI-style sizes and numbers, relative times, and safe server strings.

Everything here is pure (no Textual): the tables call these for visible rows only.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

import humanize

from ollama_tui.api.limits import MAX_TEXT_CHARS

__all__ = [
    "age_text",
    "human_bytes",
    "human_number",
    "parse_param_size",
    "relative_time",
    "safe_line",
    "safe_text",
]

_KB, _MB, _GB, _TB = 1000, 1000**2, 1000**3, 1000**4

# Printable (to ``str.isprintable``) yet invisible, or drawn as nothing or as a blank: the
# combining grapheme joiner, Hangul fillers, Khmer inherent vowels, Mongolian variation
# selectors, variation selectors, the braille blank. Everything else that could hide or move
# text (C0/C1 controls, DEL, bidi and zero-width format characters, line and paragraph
# separators, odd spaces, surrogates, private and unassigned code points) is not printable.
_INVISIBLE = (
    "\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2800\u3164\ufe00-\ufe0f\uffa0"
    "\U000e0100-\U000e01ef"
)
_HAS_INVISIBLE = re.compile(f"[{_INVISIBLE}]")


def _plain(char: str) -> bool:
    return char.isprintable() and not _HAS_INVISIBLE.match(char)


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def safe_line(text: object, *, multiline: bool = False) -> str:
    """Server text made safe and unambiguous for the screen: the one escaping function.

    Every character that is not plainly visible becomes a visible escape (``\\x1b``,
    ``\\u200b``, ``\\U000e0041``), so no control sequence reaches the terminal and two
    different strings never look the same. A backslash that could be read as the start of
    an escape is doubled (the six characters ``\\u200b`` show as ``\\\\u200b``). Tabs and
    newlines become spaces (a cell or title stays one line) unless ``multiline``; a line
    longer than ``MAX_TEXT_CHARS`` is cut with "…". The result is plain text: callers put it
    in ``Text``/``Segment`` objects, never in markup.
    """
    value = "" if text is None else str(text)
    if not multiline and len(value) > MAX_TEXT_CHARS:
        value = value[: MAX_TEXT_CHARS - 1] + "…"
    # Fast path (every table cell, every frame): plain ASCII with no backslash.
    if value.isascii() and value.isprintable() and "\\" not in value:
        return value
    if multiline:
        value = value.replace("\r\n", "\n")
        keep = "\n\t"
    else:
        # str.replace, not str.translate: translate is per character in Python for non-ASCII.
        value = value.replace("\r\n", " ").replace("\n", " ").replace("\t", " ")
        keep = ""
    if value.isprintable() and not _HAS_INVISIBLE.search(value) and "\\" not in value:
        return value
    out: list[str] = []
    last = len(value) - 1
    for index, char in enumerate(value):
        if char in keep:
            out.append(char)
        elif char == "\\":
            after = value[index + 1] if index < last else ""
            ambiguous = after in ("\\", "x", "u", "U") or (after and not _plain(after))
            out.append("\\\\" if ambiguous and after not in keep else "\\")
        elif _plain(char):
            out.append(char)
        else:
            out.append(_escape(char))
    return "".join(out)


def safe_text(text: object) -> str:
    """Multi-line server text (license, template...): ``safe_line`` keeping newlines and tabs."""
    return safe_line(text, multiline=True)


def human_bytes(size: int | None) -> str:
    """Bytes the way the ollama CLI prints them: decimal units, "5.1 GB", "19 GB", "512 B"."""
    if size is None:
        return "-"
    units = (("TB", _TB), ("GB", _GB), ("MB", _MB), ("KB", _KB))
    found = next(((name, factor) for name, factor in units if size >= factor), None)
    if found is None:
        return f"{size} B"
    unit, factor = found
    value = size / factor
    if value >= 10:
        return f"{int(value)} {unit}"
    if value != math.trunc(value):
        return f"{value:.1f} {unit}"
    return f"{int(value)} {unit}"


def human_number(count: int | None) -> str:
    """Parameter counts like ``ollama show``: "3.2B", "137M", "8B"."""
    if count is None:
        return ""
    for suffix, factor in (("B", 1_000_000_000), ("M", 1_000_000), ("K", 1_000)):
        if count >= factor:
            value = count / factor
            if value == math.floor(value):
                return f"{int(value)}{suffix}"
            return f"{value:.1f}{suffix}"
    return str(count)


_PARAM_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([KMBT]?)\s*$", re.IGNORECASE)
_PARAM_SCALE = {"": 1.0, "K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}


def parse_param_size(text: str | None) -> float:
    """ "3.2B" -> 3.2e9 for sorting; unknown forms sort first (-1)."""
    if not text:
        return -1.0
    match = _PARAM_RE.match(text)
    if not match:
        return -1.0
    return float(match.group(1)) * _PARAM_SCALE[match.group(2).upper()]


def relative_time(when: datetime | None, now: datetime) -> str:
    """ "3 days ago" ("... from now" for a server clock ahead of ours); "" when unknown."""
    if when is None:
        return ""
    delta = _delta(now, when)
    if delta is None:
        return ""
    if delta < timedelta(0):
        return _natural(-delta, future=True)
    return _natural(delta, future=False)


def _natural(delta: timedelta, *, future: bool) -> str:
    """humanize's wording ("4 minutes", "a day") with a tense we choose, not one from the clock."""
    # "1 year, 3 months" -> "1 year": the column stays narrow and the gist survives.
    words = humanize.naturaldelta(delta).split(", ")[0]
    if words == "a moment":
        return "now"
    return f"{words} from now" if future else f"{words} ago"


def age_text(seconds: float) -> str:
    """A short age for the status line: "now", "3s", "2m 5s", "1h 4m"."""
    seconds = max(0, int(seconds))
    if seconds < 1:
        return "now"
    if seconds < 60:
        return f"{seconds}s ago"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds}s ago"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes}m ago"


def _delta(later: datetime, earlier: datetime) -> timedelta | None:
    """``later - earlier`` tolerating naive/aware mixes (naive means UTC) and overflow."""
    try:
        if (later.tzinfo is None) != (earlier.tzinfo is None):
            if later.tzinfo is None:
                later = later.replace(tzinfo=UTC)
            else:
                earlier = earlier.replace(tzinfo=UTC)
        return later - earlier
    except (OverflowError, ValueError):
        return None
