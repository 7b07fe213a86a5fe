"""Keep-alive values: the one parser, for what a user types and for what the client sends."""

from __future__ import annotations

import math
import re

from ollama_tui.api.errors import InvalidInput

__all__ = ["KeepAlive", "describe_keep_alive", "parse_keep_alive"]

KeepAlive = str | float

_UNIT = r"(?:ns|us|µs|μs|ms|s|m|h)"
_NUM = r"(?:\d+(?:\.\d*)?|\.\d+)"
_GO_DURATION = re.compile(rf"[-+]?(?:0|(?:{_NUM}{_UNIT})+)")
_SECONDS = re.compile(rf"[-+]?{_NUM}")

# Go keeps durations in int64 nanoseconds: about 292 years.
_MAX_SECONDS = 9.2e9

_MALFORMED = "use a duration like 10m, 1h30m or 90s, or seconds (-1 = forever)"


def parse_keep_alive(value: str | float) -> KeepAlive:
    """A Go duration ("10m", "1h30m") stays a string; seconds (a number or its text) become a
    number.

    Negative seconds mean forever and become -1. Numbers are sent as numbers because the
    server rejects the string "-1". Raises ``InvalidInput`` (a ``ValueError``) with a message
    for anything else.
    """
    if isinstance(value, bool):
        raise InvalidInput(_MALFORMED)
    if isinstance(value, int | float):
        return _seconds(float(value))
    text = value.strip()
    if _SECONDS.fullmatch(text):
        return _seconds(float(text))
    if _GO_DURATION.fullmatch(text):
        return text
    raise InvalidInput(_MALFORMED)


def _seconds(number: float) -> KeepAlive:
    if number < 0:
        return -1  # forever, whatever the number
    if not math.isfinite(number) or number > _MAX_SECONDS:
        raise InvalidInput("too long: at most 292 years (use -1 for forever)")
    return int(number) if number == int(number) else number


def describe_keep_alive(value: KeepAlive) -> str:
    """How a notification says it: "forever", "90 s", "1h30m"."""
    if isinstance(value, int | float):
        return "forever" if value < 0 else f"{value:g} s"
    return value
