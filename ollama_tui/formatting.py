"""Text for the screen: CLI-style sizes and numbers, relative times, and safe server strings.

Everything here is pure (no Textual): the tables call these for visible rows only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import TextIO

import humanize

from ollama_tui.api.limits import MAX_TEXT_CHARS
from ollama_tui.api.models import UNKNOWN

__all__ = [
    "UNKNOWN",
    "age_text",
    "countdown",
    "counted",
    "disk_figure",
    "format_eta",
    "format_rate",
    "human_bytes",
    "human_number",
    "listed",
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
    """Bytes the way the ollama CLI prints them: decimal units, "5.1 GB", "19 GB", "512 B".

    Unknown (None) and impossible (negative) sizes read ``–``; this never raises.
    """
    if size is None or size < 0:
        return UNKNOWN
    units = (("TB", _TB), ("GB", _GB), ("MB", _MB), ("KB", _KB))
    found = next(((name, factor) for name, factor in units if size >= factor), None)
    if found is None:
        return f"{size} B"
    unit, factor = found
    try:
        value = size / factor
    except OverflowError:  # beyond any float: not a size a disk holds
        return UNKNOWN
    if value >= 10:
        return f"{int(value)} {unit}"
    if value != math.trunc(value):
        return f"{value:.1f} {unit}"
    return f"{int(value)} {unit}"


def disk_figure(total: int, complete: bool) -> str:
    """An "on disk" figure: "≥4.1 GB" until every model's weights are known (each blob is
    counted once only when known; until then it is a lower bound)."""
    return ("" if complete else "≥") + human_bytes(total)


def listed(names: Sequence[str], shown: int = 3) -> str:
    """ "a", "a and b", "a, b and c", "a, b, c and 2 more" (names escaped, one line each)."""
    safe = [safe_line(name) for name in names[:shown]]
    rest = len(names) - len(safe)
    if rest > 0:
        return ", ".join(safe) + f" and {rest} more"
    if len(safe) < 2:
        return "".join(safe)
    return ", ".join(safe[:-1]) + " and " + safe[-1]


def format_rate(rate: float | None) -> str:
    """Bytes per second like the CLI ("12 MB/s"), or empty when unknown."""
    if not rate or rate <= 0:
        return ""
    return f"{human_bytes(int(rate))}/s"


def format_eta(seconds: float | None) -> str:
    """A time left or taken: "45s", "3m05s", "2h07m"; empty when unknown."""
    if seconds is None or seconds < 0:
        return ""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


_COUNT_UNITS = (("", 1), ("K", 1_000), ("M", 1_000_000), ("B", 1_000_000_000))
_COUNT_UNITS += (("T", 1_000_000_000_000),)


def human_number(count: int | None) -> str:
    """Parameter counts, all alike: "494M", "137M", "20.9B", "1.2B", "8B" (``–`` when unknown).

    At most one decimal, none from 100 of a unit up, and no ".0": so the server's "494.03M"
    and "1.2B" read the same way side by side.
    """
    if count is None or count < 0:
        return UNKNOWN
    index = max(i for i, (_suffix, factor) in enumerate(_COUNT_UNITS) if count >= factor or i == 0)
    if index == 0:
        return str(count)
    try:
        rounded = _round_count(count / _COUNT_UNITS[index][1])
        if rounded >= 1000 and index + 1 < len(_COUNT_UNITS):  # 999.9M reads 1B, not 1000M
            index += 1
            rounded = _round_count(count / _COUNT_UNITS[index][1])
    except OverflowError:
        return UNKNOWN
    text = f"{rounded:.0f}" if rounded == int(rounded) else f"{rounded:.1f}"
    return text + _COUNT_UNITS[index][0]


def _round_count(value: float) -> float:
    return round(value, 1) if value < 100 else float(round(value))


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


def counted(count: int, noun: str) -> str:
    """ "1 job", "2 jobs", "0 models": a count with its noun in the right number (regular
    English plurals only, which is every noun the app counts)."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


EXACT_COUNTDOWN = timedelta(minutes=10)


def countdown(when: datetime, now: datetime) -> str | None:
    """An exact "2m50s from now" while ``when`` is under ten minutes ahead (a rounded
    "3 minutes" there misleads by most of a minute); None otherwise (past, far, or unknown)."""
    ahead = _delta(when, now)
    if ahead is None or ahead < timedelta(0) or ahead >= EXACT_COUNTDOWN:
        return None
    minutes, seconds = divmod(int(ahead.total_seconds()), 60)
    return f"{minutes}m{seconds:02d}s from now" if minutes else f"{seconds}s from now"


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


def print_columns(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    out: TextIO,
    *,
    right: Collection[int] = (),
) -> None:
    """A plain text table for the commands (``outdated``, ``probe``): a header, a rule, the
    rows, each column as wide as its widest cell; columns in ``right`` right-aligned. The
    cells are already safe (``safe_line``)."""
    widths = [max(len(cells[i]) for cells in [header, *rows]) for i in range(len(header))]
    for cells in [header, ["-" * w for w in widths], *rows]:
        line = "  ".join(
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )
        print(line.rstrip(), file=out)
