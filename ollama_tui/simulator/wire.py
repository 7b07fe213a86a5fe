"""Go-flavoured wire helpers: JSON encoding, RFC3339 times, durations, model names.

The real server is written in Go; these helpers reproduce the small formatting habits
clients can trip over (HTML-escaped JSON, nanosecond timestamps, ``time.ParseDuration``).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

DEFAULT_HOST = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"

# Go's max time.Duration (int64 nanoseconds), what a negative keep_alive becomes.
MAX_DURATION_SECONDS = (2**63 - 1) / 1e9


def go_json(value: Any) -> bytes:
    """Encode like Go's encoding/json: compact, UTF-8, with <, > and & escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
    return text.encode()


def go_json_line(value: Any) -> bytes:
    """One NDJSON line (Go's json.Encoder adds the newline)."""
    return go_json(value) + b"\n"


def format_time(dt: datetime) -> str:
    """RFC3339 with up to 9 fraction digits, trailing zeros trimmed, `Z` for a zero offset."""
    offset = dt.utcoffset() or timedelta(0)
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    # Python has microseconds only; real mtimes carry nanoseconds, so add three stable digits.
    us = dt.microsecond
    frac = f"{us:06d}{(us * 37) % 1000:03d}".rstrip("0") if us else ""
    if frac:
        base += "." + frac
    if offset == timedelta(0):
        return base + "Z"
    total = int(offset.total_seconds())
    sign = "+" if total >= 0 else "-"
    total = abs(total)
    return f"{base}{sign}{total // 3600:02d}:{(total % 3600) // 60:02d}"


def format_utc(dt: datetime) -> str:
    """A `created_at` style UTC timestamp."""
    return format_time(dt.astimezone(UTC))


def local_tz(tz: tzinfo | None) -> tzinfo:
    """The server-local zone: the given one or the machine's."""
    if tz is not None:
        return tz
    local = datetime.now().astimezone().tzinfo
    return local if local is not None else UTC


_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_DURATION_PART = re.compile(r"(\d*\.?\d*)([a-zµμ]*)")


def parse_go_duration(text: str) -> float:
    """Parse a Go duration string (``"5m"``, ``"1h30m"``, ``"-1m"``, ``"0"``) into seconds.

    Raises ValueError with Go's own message (``time: invalid duration "forever"``).
    """
    orig = text
    quoted = json.dumps(orig, ensure_ascii=False)
    sign = 1.0
    if text[:1] in "+-" and text:
        sign = -1.0 if text[0] == "-" else 1.0
        text = text[1:]
    if text == "0":
        return 0.0
    if not text:
        raise ValueError(f"time: invalid duration {quoted}")
    total = 0.0
    pos = 0
    while pos < len(text):
        match = _DURATION_PART.match(text, pos)
        if match is None or not match.group(1) or match.group(1) == ".":
            raise ValueError(f"time: invalid duration {quoted}")
        number, unit = match.group(1), match.group(2)
        if not unit:
            raise ValueError(f"time: missing unit in duration {quoted}")
        if unit not in _DURATION_UNITS:
            unit_q = json.dumps(unit, ensure_ascii=False)
            raise ValueError(f"time: unknown unit {unit_q} in duration {quoted}")
        total += float(number) * _DURATION_UNITS[unit]
        pos = match.end()
    return sign * total


def go_quote(text: str) -> str:
    """Go's strconv.Quote (close enough: JSON escapes, non-ASCII printable kept)."""
    out = json.dumps(text, ensure_ascii=False)
    return out.replace("\\u007f", "\\x7f")


def go_value(value: Any) -> str:
    """Go's ``%#v`` for values decoded from JSON (float64, string, bool)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 1e21:
            return str(int(value))
        return repr(value).replace("e+0", "e+0").replace("e-0", "e-0")
    return str(value)


# --- model names (types/model/name.go) ---------------------------------------------------

_PART_RULES = {
    "host": (350, re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:\-]*")),
    "namespace": (80, re.compile(r"[A-Za-z0-9_][A-Za-z0-9_\-]*")),
    "model": (80, re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")),
    "tag": (80, re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")),
}


@dataclass(frozen=True)
class Name:
    """A parsed, fully qualified model name."""

    host: str
    namespace: str
    model: str
    tag: str
    insecure: bool = False

    @property
    def display(self) -> str:
        """The shortest form the server shows (``llama3.2:latest``, ``user/m:tag``)."""
        if self.host.lower() == DEFAULT_HOST:
            if self.namespace.lower() == DEFAULT_NAMESPACE:
                return f"{self.model}:{self.tag}"
            return f"{self.namespace}/{self.model}:{self.tag}"
        return f"{self.host}/{self.namespace}/{self.model}:{self.tag}"

    @property
    def key(self) -> str:
        """Case-insensitive lookup key."""
        return self.display.lower()


def _cut_last(text: str, sep: str) -> tuple[str, str, bool]:
    idx = text.rfind(sep)
    if idx < 0:
        return text, "", False
    return text[:idx], text[idx + len(sep) :], True


def parse_name(text: str) -> Name | None:
    """Parse and validate a model name like the server; None if invalid."""
    if not text or "@" in text:
        return None
    insecure = False
    rest = text
    tag = ""
    if rest.rfind(":") > rest.rfind("/"):
        rest, tag, _ = _cut_last(rest, ":")
        if not tag or not rest:
            return None
    rest, model, found = _cut_last(rest, "/")
    namespace = ""
    host = ""
    if not found:
        model = rest
    else:
        if not rest or not model:
            return None
        rest, namespace, found = _cut_last(rest, "/")
        if not found:
            namespace = rest
        else:
            if not rest or not namespace:
                return None
            scheme, sep, hostpart = rest.partition("://")
            if sep:
                if scheme.lower() not in ("http", "https"):
                    return None
                insecure = scheme.lower() == "http"
                host = hostpart
            else:
                host = rest
            if not host:
                return None
    parts = {
        "host": host or DEFAULT_HOST,
        "namespace": namespace or DEFAULT_NAMESPACE,
        "model": model,
        "tag": tag or DEFAULT_TAG,
    }
    for kind, value in parts.items():
        limit, pattern = _PART_RULES[kind]
        if not value or len(value) > limit or not pattern.fullmatch(value):
            return None
    return Name(parts["host"], parts["namespace"], parts["model"], parts["tag"], insecure)


def display_name(text: str) -> str:
    """Display form of a name, or the text itself if it is not a valid name."""
    name = parse_name(text)
    return name.display if name else text


def name_key(text: str) -> str:
    """Case-insensitive lookup key of any name text."""
    return display_name(text).lower()
