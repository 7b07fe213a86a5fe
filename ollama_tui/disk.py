"""What the installed models really take on disk: each weights blob counted once.

Summing ``size`` over ``/api/tags`` over-counts (``shared/OLLAMA_API.md`` §18): a copy has the
very same manifest digest as its source, and a model created ``FROM`` another reuses the base's
weights blob, which ``/api/show`` names in its ``FROM …/blobs/sha256-…`` line. So models are
grouped by their weights blob, and each group counts once, as its largest member (the others
add only their few small layers, which the API does not size). Until every model's weights are
known (the ``/api/show`` answers come lazily), a model whose ``details.parent_model`` is
installed is assumed to share its parent's weights, and the figure is marked incomplete.

Blobs the API cannot see (uploads left by a create, §18) exist too: every figure here is a
lower bound, to be worded "at least". No Textual or Rich here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ollama_tui.api.models import LocalModel
from ollama_tui.api.names import normalize_model_name

__all__ = ["DiskUsage", "Freed", "disk_usage", "freed_by_deleting", "weights_digest"]

_FROM_BLOB = re.compile(r"^\s*FROM\s+\S*blobs[/\\]sha256[-:]([0-9a-fA-F]{64})\s*$", re.MULTILINE)


def weights_digest(modelfile: str) -> str | None:
    """The weights blob (64 hex) that a ``/api/show`` Modelfile's ``FROM`` line names."""
    match = _FROM_BLOB.search(modelfile)
    return match.group(1).lower() if match else None


@dataclass(frozen=True)
class DiskUsage:
    total: int
    """Bytes, each weights blob once (a lower bound)."""
    complete: bool
    """Every model's weights blob is known (else the total is shown with "≥")."""
    sharing: Mapping[str, tuple[str, ...]]
    """Model name -> the other installed models that share its weights."""


@dataclass(frozen=True)
class Freed:
    """What deleting some models frees."""

    size: int
    kept_by: tuple[str, ...]
    """Models that stay and keep (some of) the deleted models' weights on disk."""


def _name_key(name: str) -> str:
    try:
        return normalize_model_name(name).casefold()
    except ValueError:
        return name.casefold()


def _groups(
    installed: Iterable[LocalModel], weights: Mapping[str, str]
) -> tuple[dict[str, list[LocalModel]], bool]:
    """Local models by weights blob; and whether every blob is known (not assumed)."""
    local = [m for m in installed if not m.is_remote]
    by_name = {_name_key(m.name): m for m in local}
    complete = True

    def key(model: LocalModel, depth: int = 0) -> str:
        nonlocal complete
        known = weights.get(model.digest)
        if known:
            return "w:" + known
        complete = False
        parent = by_name.get(_name_key(model.details.parent_model or ""))
        if parent is not None and parent is not model and depth < 8:
            return key(parent, depth + 1)
        return "m:" + model.digest  # copies share the manifest digest, so this groups them

    groups: dict[str, list[LocalModel]] = {}
    for model in local:
        groups.setdefault(key(model), []).append(model)
    return groups, complete


def disk_usage(installed: Iterable[LocalModel], weights: Mapping[str, str]) -> DiskUsage:
    """``weights`` maps a manifest digest to its weights blob (from ``/api/show``)."""
    groups, complete = _groups(installed, weights)
    total = 0
    sharing: dict[str, tuple[str, ...]] = {}
    for members in groups.values():
        total += max((m.size or 0) for m in members)
        if len(members) > 1:
            for model in members:
                sharing[model.name] = tuple(m.name for m in members if m is not model)
    return DiskUsage(total, complete, sharing)


def freed_by_deleting(
    doomed: Iterable[LocalModel], installed: Iterable[LocalModel], weights: Mapping[str, str]
) -> Freed:
    """The drop in :func:`disk_usage` if ``doomed`` were deleted, and who keeps the weights."""
    models = list(installed)
    gone = {id(m) for m in doomed}
    before = disk_usage(models, weights).total
    staying = [m for m in models if id(m) not in gone]
    after = disk_usage(staying, weights).total
    groups, _ = _groups(models, weights)
    kept_by: list[str] = []
    for members in groups.values():
        if any(id(m) in gone for m in members):
            kept_by += [m.name for m in members if id(m) not in gone]
    return Freed(max(0, before - after), tuple(kept_by))
