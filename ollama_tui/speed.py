"""How speed probe results read: the SPEED column, the details row, notices and the comparison.

The probe itself (requests, timing, the results store) is :mod:`ollama_tui.probe`, the order
of a comparison ``probe_cli.fastest_first``; this is only the dashboard's wording, UI-free.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ollama_tui.formatting import relative_time

if TYPE_CHECKING:
    from ollama_tui.probe import ProbeResult

__all__ = [
    "SPEED_WIDTH",
    "load_text",
    "probe_summary",
    "rate_text",
    "speed_cell",
    "speed_sort_key",
    "speed_words",
    "when_text",
]

SPEED_WIDTH = 10
"""The SPEED column's width: "85.3 tok/s", "1234 emb/s"."""


def rate_text(value: float | None, unit: str = "tok/s") -> str:
    """ "85.3 tok/s", "1234 tok/s" (no decimal past 100: it would be noise); "" unknown."""
    if value is None or value != value or value < 0:  # None, NaN or nonsense
        return ""
    if value >= 100:
        return f"{value:.0f} {unit}"
    return f"{value:.1f} {unit}"


def load_text(seconds: float) -> str:
    """ "0 s" for a model that was loaded already, else "1.23 s"."""
    if seconds < 0.005:
        return "0 s"
    return f"{seconds:.2f} s"


def speed_cell(result: ProbeResult | None) -> str:
    """The SPEED cell: the headline figure with its unit ("" when not probed)."""
    if result is None:
        return ""
    return rate_text(result.speed, result.unit)


def speed_sort_key(result: ProbeResult | None) -> float | None:
    """Sort by the headline figure (unknown: None, last either way)."""
    return None if result is None else result.speed


def when_text(result: ProbeResult, now: datetime) -> str:
    """ "2026-12-04 17:40 (5 minutes ago)", in local time."""
    moment = datetime.fromtimestamp(result.at, UTC)
    local = moment.astimezone().strftime("%Y-%m-%d %H:%M")
    ago = relative_time(moment, now)
    return f"{local} ({ago})" if ago else local


def speed_words(result: ProbeResult | None, now: datetime, *, hint: bool = True) -> str:
    """The details' Speed row (``hint``: say which key probes)."""
    if result is None:
        return "not probed (b probes it)" if hint else "not probed"
    parts = []
    if result.tokens_per_second is not None:
        parts.append(f"{rate_text(result.tokens_per_second)} generated")
    if result.embeddings_per_second is not None:
        parts.append(rate_text(result.embeddings_per_second, "emb/s"))
    if result.prompt_tokens_per_second is not None:
        parts.append(f"prompt {rate_text(result.prompt_tokens_per_second)}")
    parts.append(f"load {load_text(result.load_seconds)}")
    parts.append(when_text(result, now))
    return " · ".join(parts)


def probe_summary(result: ProbeResult) -> str:
    """A finished probe's notice: "85.3 tok/s (prompt 412 tok/s, load 1.20 s)"."""
    head = rate_text(result.speed, result.unit) or "no figure"
    extra = []
    if result.prompt_tokens_per_second is not None:
        extra.append(f"prompt {rate_text(result.prompt_tokens_per_second)}")
    extra.append(f"load {load_text(result.load_seconds)}")
    return f"{head} ({', '.join(extra)})"
