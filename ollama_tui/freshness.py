"""What the installed table shows of the outdated check, and the check's summary (no Textual).

A server's results live on its session (``ServerSession.freshness``), keyed by the model's
(name, digest) as ``/api/tags`` gives them: a re-pulled model has a new digest, so an answer
about its old manifest never applies to it. At start-up the results cached for the same local
digests are shown (``from_cache``); the check itself is ``registry.RegistryChecker``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from operator import attrgetter
from typing import TYPE_CHECKING

from ollama_tui.api import LocalModel
from ollama_tui.api.errors import InvalidInput
from ollama_tui.formatting import counted
from ollama_tui.registry import (
    CheckCache,
    CheckResult,
    Freshness,
    manifest_ref,
    normalize_digest,
)

if TYPE_CHECKING:
    from ollama_tui.session import ServerSession

__all__ = [
    "FRESH_WIDTH",
    "FreshnessKey",
    "checkable",
    "freshness_cell",
    "freshness_key",
    "freshness_sort_key",
    "freshness_words",
    "from_cache",
    "is_insecure",
    "session_from_cache",
    "summary",
]

FreshnessKey = tuple[str, str]
"""(model name, digest as /api/tags gives it)."""
freshness_key: Callable[[LocalModel], FreshnessKey] = attrgetter("name", "digest")

FRESH_WIDTH = 8
_CELLS = {
    Freshness.OUTDATED: "↑ update",
    Freshness.UP_TO_DATE: "✓",
    Freshness.LOCAL: "local",
    Freshness.UNKNOWN: "?",
}
# Outdated first (the sort is for finding them), unknown next: worth another look.
_ORDER = {Freshness.OUTDATED: 0, Freshness.UNKNOWN: 1, Freshness.LOCAL: 2, Freshness.UP_TO_DATE: 3}


def freshness_cell(result: CheckResult | None) -> str:
    """The UPDATE cell: blank when not checked; unknown is "?", never "update"."""
    return "" if result is None else _CELLS[result.state]


def freshness_words(result: CheckResult) -> str:
    """The check's answer in words (the details screen), unknown with its reason."""
    if result.state is Freshness.UNKNOWN:
        return f"unknown: {result.reason or 'no reason given'}"
    return {
        Freshness.OUTDATED: "update available (O updates it)",
        Freshness.UP_TO_DATE: "up to date",
        Freshness.LOCAL: "local only: its registry has no such name",
    }[result.state]


def freshness_sort_key(result: CheckResult | None) -> int | None:
    return None if result is None else _ORDER[result.state]


def checkable(model: LocalModel) -> bool:
    """A model with a registry origin to ask about (a cloud model has no local manifest)."""
    return not model.is_remote


def is_insecure(name: str, insecure_registries: Collection[str]) -> bool:
    """Whether ``name``'s registry is one reached over http (config ``insecure_registries``):
    its pulls go with Ollama's insecure flag."""
    if not insecure_registries:
        return False
    try:
        return manifest_ref(name, insecure_registries).insecure
    except InvalidInput:
        return False


def from_cache(
    cache: CheckCache,
    models: Iterable[LocalModel],
    known: Mapping[FreshnessKey, CheckResult],
    insecure_registries: Collection[str],
    now: float,
    max_age: float,
) -> dict[FreshnessKey, CheckResult]:
    """The cached answers for ``models`` not in ``known``, for the same local digests."""
    found: dict[FreshnessKey, CheckResult] = {}
    names = cache.names()  # parsing 5,000 names costs ~50 ms: only those with an answer
    for model in models:
        key = (model.name, model.digest)
        if model.name not in names or key in known or not checkable(model):
            continue
        try:
            ref = manifest_ref(model.name, insecure_registries)
        except InvalidInput:
            continue
        local = normalize_digest(model.digest) or model.digest
        result = cache.get(CheckCache.key(ref, model.name, local), max_age, now)
        if result is not None:
            found[key] = result
    return found


def session_from_cache(
    session: ServerSession,
    cache: CheckCache,
    insecure_registries: Collection[str],
    now: float,
) -> bool:
    """A server's list changed: drop its results of models gone, take the cached answers for
    new (name, digest) pairs (a re-pulled model has a new digest: its old answer is gone).
    Returns whether ``session.freshness`` changed. The dashboard and the exporter both call
    it after each poll that changed the list."""
    known = session.freshness
    if not known and not cache.count():
        return False  # nothing to show or drop: no walk of the list
    changed = False
    installed = session.installed
    current = set(map(freshness_key, installed))
    if any(key not in current for key in known):
        session.freshness = known = {k: v for k, v in known.items() if k in current}
        changed = True
    seen = session.freshness_seen
    fresh = [m for m in installed if (m.name, m.digest) not in seen]
    seen.intersection_update(current)
    seen.update(map(freshness_key, fresh))
    if fresh and cache.count():
        found = from_cache(cache, fresh, known, insecure_registries, now, math.inf)
        if found:
            known.update(found)
            changed = True
    return changed


def summary(results: Iterable[tuple[str, CheckResult]], *, several: bool) -> tuple[str, bool]:
    """The notification after a check: counts, the outdated names, the unknown reasons.

    ``results`` are (server label, result). Returns (text, whether anything is outdated)."""
    items = list(results)
    counts = Counter(result.state for _, result in items)
    outdated = [
        f"{result.model} on {server}" if several else result.model
        for server, result in items
        if result.state is Freshness.OUTDATED
    ]
    parts = [
        f"{counts[Freshness.OUTDATED]} outdated",
        f"{counts[Freshness.UP_TO_DATE]} up to date",
    ]
    if counts[Freshness.LOCAL]:
        parts.append(f"{counts[Freshness.LOCAL]} local only")
    if counts[Freshness.UNKNOWN]:
        parts.append(f"{counts[Freshness.UNKNOWN]} unknown")
    lines = [f"Checked {counted(len(items), 'model')}: " + ", ".join(parts) + "."]
    if outdated:
        shown = ", ".join(outdated[:5]) + (
            f" and {len(outdated) - 5} more" if len(outdated) > 5 else ""
        )
        them = "it" if len(outdated) == 1 else "them"
        lines.append(f"Outdated: {shown}. O updates {them}.")
    reasons = Counter(
        r.reason or "no reason given" for _, r in items if r.state is Freshness.UNKNOWN
    )
    for reason, count in reasons.most_common(3):
        lines.append(f"Unknown ({count}): {reason}")
    return "\n".join(lines), bool(outdated)
