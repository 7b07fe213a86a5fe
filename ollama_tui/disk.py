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

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass

from ollama_tui.api.errors import InvalidInput, OllamaError
from ollama_tui.api.models import LocalModel, ModelShow
from ollama_tui.api.names import name_identity

__all__ = [
    "SHOW_CONCURRENCY",
    "DiskUsage",
    "Freed",
    "WeightsIndex",
    "deleting_frees",
    "disk_usage",
    "freed_by_deleting",
    "sharing_weights",
    "weights_digest",
]

SHOW_CONCURRENCY = 4
"""Background ``/api/show`` requests in flight to one server at most."""

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


@dataclass(frozen=True)
class Freed:
    """What deleting some models frees."""

    size: int
    kept_by: tuple[str, ...]
    """Models that stay and keep (some of) the deleted models' weights on disk."""
    exact: bool = True
    """Every model's weights were known; else ``size`` is an upper bound ("up to")."""


def _grouping(
    installed: Iterable[LocalModel], weights: Mapping[str, str]
) -> tuple[list[LocalModel], Callable[[LocalModel], str], Callable[[], bool]]:
    """The local models, the key of each one's weights blob, and (once every key was asked)
    whether every blob is known rather than assumed."""
    local = [m for m in installed if not m.is_remote]
    by_name: dict[str, LocalModel] = {}
    complete = True

    def key(model: LocalModel, depth: int = 0) -> str:
        nonlocal complete
        known = weights.get(model.digest)
        if known:
            return "w:" + known
        complete = False
        parent_name = model.details.parent_model
        if not parent_name:
            return "m:" + model.digest
        if not by_name:  # only for a derivative whose weights are not known yet
            by_name.update((name_identity(m.name)[0], m) for m in local)
        parent = by_name.get(name_identity(parent_name)[0])
        if parent is not None and parent is not model and depth < 8:
            return key(parent, depth + 1)
        return "m:" + model.digest  # copies share the manifest digest, so this groups them

    return local, key, lambda: complete


def _groups(
    installed: Iterable[LocalModel], weights: Mapping[str, str]
) -> tuple[dict[str, list[LocalModel]], bool]:
    """Local models by weights blob; and whether every blob is known (not assumed)."""
    local, key, complete = _grouping(installed, weights)
    groups: dict[str, list[LocalModel]] = {}
    for model in local:
        groups.setdefault(key(model), []).append(model)
    return groups, complete()


def disk_usage(installed: Iterable[LocalModel], weights: Mapping[str, str]) -> DiskUsage:
    """``weights`` maps a manifest digest to its weights blob (from ``/api/show``)."""
    local, key, complete = _grouping(installed, weights)
    # The largest member of each group, in one pass and without the groups: a fleet's start
    # sums 20 lists of hundreds of models before its first full frame.
    largest: dict[str, int] = {}
    get = largest.get
    for model in local:
        blob, size = key(model), model.size or 0
        if size >= get(blob, 0):
            largest[blob] = size
    return DiskUsage(sum(largest.values()), complete())


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


def _alone(digest: str) -> str:
    """A weights blob name no real blob can have: a manifest whose weights stand alone (its
    copies, with the same manifest digest, still share them)."""
    return "?" + digest


def _local_unknown(installed: Iterable[LocalModel], weights: Mapping[str, str]) -> list[str]:
    return [m.digest for m in installed if not m.is_remote and m.digest not in weights]


def deleting_frees(
    doomed: Iterable[LocalModel], installed: Iterable[LocalModel], weights: Mapping[str, str]
) -> Freed:
    """What deleting ``doomed`` frees, for the delete dialog: exact once every model's weights
    are known; before that an upper bound (``exact`` False), reckoned as if each model whose
    weights are unknown had weights of its own (copies still share: same manifest digest).
    Assuming sharing there (as :func:`disk_usage` does for the total) would promise too little
    and could talk a user out of a deletion that frees gigabytes; "up to" never lies."""
    doomed, models = list(doomed), list(installed)
    unknown = _local_unknown(models, weights)
    if unknown:
        weights = dict(weights) | {digest: _alone(digest) for digest in unknown}
    freed = freed_by_deleting(doomed, models, weights)
    # Copies of a deleted model (same manifest) first: "the weights stay, shared with" its
    # source reads better than with some distant derivative.
    copies = {m.digest for m in doomed}
    digest = {m.name: m.digest for m in models}
    kept_by = sorted(freed.kept_by, key=lambda name: digest.get(name) not in copies)
    return Freed(freed.size, tuple(kept_by), exact=not unknown)


def sharing_weights(
    model: LocalModel,
    installed: Iterable[LocalModel],
    weights: Mapping[str, str],
    blob: str | None = None,
) -> tuple[tuple[str, ...], bool]:
    """The other installed models known to share ``model``'s weights (same manifest digest or
    same weights blob), and whether that list is complete (every model's weights known).
    ``blob``: the model's weights if known from elsewhere (its own ``/api/show``)."""
    models = list(installed)
    blob = blob or weights.get(model.digest)
    others = tuple(
        m.name
        for m in models
        if m is not model
        and m.name != model.name
        and not m.is_remote
        and (m.digest == model.digest or (blob is not None and weights.get(m.digest) == blob))
    )
    unknown = set(_local_unknown(models, weights)) - {model.digest}
    return others, blob is not None and not unknown


class WeightsIndex:
    """Which weights blob each manifest digest uses, learnt from ``/api/show`` in the
    background: at most ``concurrency`` requests in flight, each digest asked once (a copy
    shares its source's digest, so it costs nothing more), failures asked again later.

    ``show`` is the session client's ``show`` (any coroutine function from a model name to a
    ``ModelShow``); ``changed`` is called after each answer that taught something.
    """

    def __init__(
        self,
        show: Callable[[str], Awaitable[ModelShow]],
        *,
        concurrency: int = SHOW_CONCURRENCY,
        changed: Callable[[], None] | None = None,
    ) -> None:
        self.weights: dict[str, str] = {}
        """Manifest digest -> weights blob (64 hex), or ``?<digest>`` for weights that cannot
        be known (no blob named, a name the client refuses): they stand alone."""
        self._show = show
        self._concurrency = concurrency
        self._changed = changed
        self.in_flight = 0
        self.peak_in_flight = 0

    def missing(self, installed: Iterable[LocalModel]) -> list[LocalModel]:
        """One model per digest whose weights are not known yet (cloud stubs skipped)."""
        seen: set[str] = set()
        out: list[LocalModel] = []
        for model in installed:
            digest = model.digest
            if model.is_remote or digest in self.weights or digest in seen:
                continue
            seen.add(digest)
            out.append(model)
        return out

    async def learn(self, installed: Iterable[LocalModel]) -> None:
        """Ask for every missing digest (bounded concurrency); returns when all answered or
        failed. Cancelling it stops at once; what was learnt stays."""
        queue = self.missing(installed)
        if not queue:
            return
        pending = iter(queue)

        async def worker() -> None:
            for model in pending:
                self.in_flight += 1
                self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
                try:
                    show = await self._show(model.name)
                except InvalidInput:
                    found = None  # a name the client never sends: asking again cannot help
                except OllamaError:
                    continue  # gone, renamed or unreachable: asked again at the next poll
                else:
                    found = weights_digest(show.modelfile)
                finally:
                    self.in_flight -= 1
                # Weights that cannot be known (no blob named, a name never sent) are its own:
                # counted once per manifest, and the figure is no longer "at least" for good.
                self.weights[model.digest] = found or _alone(model.digest)
                if self._changed is not None:
                    self._changed()

        await asyncio.gather(*(worker() for _ in range(min(self._concurrency, len(queue)))))

    def forget_gone(self, installed: Iterable[LocalModel]) -> None:
        """Drop digests no longer installed (bounded by what the server lists)."""
        present = {model.digest for model in installed}
        for digest in [d for d in self.weights if d not in present]:
            del self.weights[digest]
