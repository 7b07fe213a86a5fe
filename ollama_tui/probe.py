"""The model speed probe: a short, fixed generation (or embedding) on one server, its speeds
from the reply's own timing fields, and the file that keeps the latest result per (server,
model digest).

A probe loads the model (``load_seconds`` is ≈0 when it was loaded already) and leaves it
loaded for the server's default keep-alive unless one is given. The speeds are the server's
own figures: prompt tokens per second = ``prompt_eval_count / prompt_eval_duration``,
generated tokens per second = ``eval_count / eval_duration``. Embedding-only models are
probed through ``/api/embed`` with ``PROBE_INPUTS``: embeddings per second = the number of
embeddings returned / (``total_duration`` - ``load_duration``), i.e. the time spent embedding,
without the load (their prompt tokens per second use the same time, as the reply has no
``prompt_eval_duration``). A zero or missing duration gives None, never inf.

The store (``probes.json`` beside the last-used file) is JSON, written atomically with mode
0600, at most ``limits.MAX_PROBE_RESULTS`` results (the oldest go first). No Textual or Rich.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

from ollama_tui.api import limits
from ollama_tui.api.errors import ProtocolError
from ollama_tui.api.keep_alive import KeepAlive, describe_keep_alive
from ollama_tui.files import StateFile

if TYPE_CHECKING:
    from ollama_tui.api.models import EmbedStats, GenerateStats

__all__ = [
    "DEFAULT_KEEP_ALIVE_TEXT",
    "FILE_NAME",
    "PROBE_INPUTS",
    "PROBE_OPTIONS",
    "PROBE_PROMPT",
    "ProbeClient",
    "ProbeError",
    "ProbeKind",
    "ProbeResult",
    "ProbeStore",
    "load_notice",
    "per_second",
    "probe_store_path",
    "run_probe",
]

PROBE_PROMPT: Final[str] = (
    "Explain in a few plain sentences why the sky is blue during the day and red at sunset."
)
"""The fixed prompt: the same work on every server, so the speeds compare."""
PROBE_OPTIONS: Final[dict[str, int]] = {"num_predict": 64, "temperature": 0, "seed": 42}
"""64 tokens, greedy, a fixed seed: the same generation every time."""
PROBE_INPUTS: Final[tuple[str, ...]] = (
    "The quick brown fox jumps over the lazy dog.",
    "A journey of a thousand miles begins with a single step.",
    "Rain is expected in the north by the evening.",
    "The library opens at nine and closes at five.",
    "Photosynthesis turns light into chemical energy.",
    "She tuned the old piano before the concert.",
    "Prime numbers have exactly two divisors.",
    "The train to the coast leaves every hour.",
)
"""The fixed inputs of an embedding probe (one embedding each)."""

DEFAULT_KEEP_ALIVE_TEXT = (
    "the server's default keep-alive (OLLAMA_KEEP_ALIVE, 5 minutes unless set)"
)
FILE_NAME = "probes.json"
MAX_STORE_BYTES = 16 * 1024 * 1024
VERSION = 1
_NS = 1e9


@runtime_checkable
class ProbeClient(Protocol):
    """What a probe uses of ``OllamaClient``."""

    @property
    def base_url(self) -> str: ...
    async def generate(
        self,
        name: str,
        prompt: str,
        *,
        options: Mapping[str, Any] | None = None,
        keep_alive: str | float | None = None,
    ) -> GenerateStats: ...
    async def embed(
        self,
        name: str,
        inputs: Sequence[str],
        *,
        options: Mapping[str, Any] | None = None,
        keep_alive: str | float | None = None,
    ) -> EmbedStats: ...


class ProbeKind(StrEnum):
    GENERATE = "generate"
    EMBED = "embed"


class ProbeError(ProtocolError):
    """The reply lacks a figure the probe needs (the message names the field)."""


@dataclass(frozen=True)
class ProbeResult:
    """One probe of one model on one server."""

    server: str
    """The server's base URL (``session.url``)."""
    model: str
    digest: str
    """The model's digest as ``/api/tags`` gives it."""
    kind: ProbeKind
    at: float
    """Epoch seconds when the probe ran (when it started)."""
    load_seconds: float
    """The reply's ``load_duration`` (≈0 when the model was loaded already)."""
    prompt_tokens_per_second: float | None
    tokens_per_second: float | None
    """Generated tokens per second (generate probes)."""
    embeddings_per_second: float | None
    """Embeddings per second (embed probes)."""

    @property
    def speed(self) -> float | None:
        """The headline figure: generated tokens/s, or embeddings/s."""
        if self.kind is ProbeKind.EMBED:
            return self.embeddings_per_second
        return self.tokens_per_second

    @property
    def unit(self) -> str:
        """The headline figure's unit: ``tok/s`` or ``emb/s``."""
        return "emb/s" if self.kind is ProbeKind.EMBED else "tok/s"

    def to_json(self) -> dict[str, Any]:
        """The fields as JSON values (the store's and ``probe --json``'s shape)."""
        return {
            "server": self.server,
            "model": self.model,
            "digest": self.digest,
            "kind": str(self.kind),
            "at": self.at,
            "load_seconds": self.load_seconds,
            "prompt_tokens_per_second": self.prompt_tokens_per_second,
            "tokens_per_second": self.tokens_per_second,
            "embeddings_per_second": self.embeddings_per_second,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ProbeResult:
        """Read what :meth:`to_json` wrote; ValueError/TypeError/KeyError for anything else."""
        return cls(
            server=_text(d["server"]),
            model=_text(d["model"]),
            digest=_text(d["digest"]),
            kind=ProbeKind(d["kind"]),
            at=_number(d["at"]),
            load_seconds=_number(d["load_seconds"]),
            prompt_tokens_per_second=_optional(d.get("prompt_tokens_per_second")),
            tokens_per_second=_optional(d.get("tokens_per_second")),
            embeddings_per_second=_optional(d.get("embeddings_per_second")),
        )


def per_second(count: int | None, nanoseconds: int | None) -> float | None:
    """``count`` per second of ``nanoseconds``; None when either is unknown or the time is
    not positive (never inf, never a division by zero)."""
    if count is None or nanoseconds is None or nanoseconds <= 0 or count < 0:
        return None
    return count / (nanoseconds / _NS)


def load_notice(model: str, keep_alive: KeepAlive | None = None, *, several: bool = False) -> str:
    """What to say before a probe: that it loads ``model`` and for how long it stays loaded
    (``keep_alive`` as given to :func:`run_probe`; None: the server's default). ``model`` is
    used as given: escape it for the screen first."""
    where = " on each server that has it, one server at a time," if several else ""
    if keep_alive is None:
        after = f"leaves it loaded for {DEFAULT_KEEP_ALIVE_TEXT}"
    elif isinstance(keep_alive, int | float) and keep_alive < 0:
        after = "leaves it loaded for good (keep-alive -1)"
    elif keep_alive in (0, "0", "0s"):
        after = "unloads it right after"
    else:
        after = f"leaves it loaded for {describe_keep_alive(keep_alive)}"
    return f"Probing loads {model}{where} and {after}."


def _missing(field: str, endpoint: str, hint: str = "") -> ProbeError:
    return ProbeError(
        f"the server's reply to {endpoint} has no usable {field}, which the speed probe needs{hint}"
    )


async def run_probe(
    client: ProbeClient,
    model: str,
    digest: str,
    *,
    embedding: bool,
    keep_alive: str | float | None = None,
    clock: Callable[[], float] = time.time,
) -> ProbeResult:
    """Probe ``model`` on ``client``'s server: ``PROBE_PROMPT`` with ``PROBE_OPTIONS`` through
    ``/api/generate``, or ``PROBE_INPUTS`` through ``/api/embed`` when ``embedding`` (an
    embedding-only model, see ``api.models.is_embedding_only``). ``keep_alive`` is sent only
    when given. Raises the client's errors (``OllamaError``), and ``ProbeError`` when the reply
    lacks the figure the headline speed needs. Cancelling the task closes the request."""
    at = clock()
    if embedding:
        stats = await client.embed(model, PROBE_INPUTS, keep_alive=keep_alive)
        endpoint = "POST /api/embed"
        if not stats.embeddings:
            raise _missing("embeddings", endpoint)
        if stats.total_duration is None:
            raise _missing("total_duration", endpoint)
        load = stats.load_duration or 0
        working = stats.total_duration - load if load <= stats.total_duration else 0
        return ProbeResult(
            server=client.base_url,
            model=model,
            digest=digest,
            kind=ProbeKind.EMBED,
            at=at,
            load_seconds=load / _NS,
            prompt_tokens_per_second=per_second(stats.prompt_eval_count, working),
            tokens_per_second=None,
            embeddings_per_second=per_second(stats.embeddings, working),
        )
    generated = await client.generate(
        model, PROBE_PROMPT, options=PROBE_OPTIONS, keep_alive=keep_alive
    )
    endpoint = "POST /api/generate"
    if generated.eval_count is None:
        raise _missing("eval_count", endpoint, " (did the model generate nothing?)")
    if generated.eval_duration is None:
        raise _missing("eval_duration", endpoint)
    return ProbeResult(
        server=client.base_url,
        model=model,
        digest=digest,
        kind=ProbeKind.GENERATE,
        at=at,
        # Go omits a zero duration: missing is "no load".
        load_seconds=(generated.load_duration or 0) / _NS,
        prompt_tokens_per_second=per_second(
            generated.prompt_eval_count, generated.prompt_eval_duration
        ),
        tokens_per_second=per_second(generated.eval_count, generated.eval_duration),
        embeddings_per_second=None,
    )


def probe_store_path(settings_state_path: Path | None) -> Path | None:
    """The probe file beside the last-used file (``<state dir>/probes.json``); None stays
    None (memory only)."""
    return None if settings_state_path is None else settings_state_path.with_name(FILE_NAME)


class ProbeStore(StateFile):
    """The latest probe result per (server URL, model digest), kept in a JSON file.

    Like ``last_used.LastUsedStore``: ``path`` None keeps results in memory only; a file that
    cannot be read is never overwritten (the store stays in memory); a corrupt or foreign
    file is set aside as ``<name>.corrupt`` and the store starts afresh. :meth:`load` reads
    the file (call it once, first) and returns what went wrong, if anything.
    """

    WHAT = "probe results"
    MAX_BYTES = MAX_STORE_BYTES

    def __init__(self, path: Path | None) -> None:
        super().__init__(path)
        self._results: dict[tuple[str, str], ProbeResult] = {}

    # -- reading ---------------------------------------------------------------------------

    def get(self, server: str, digest: str) -> ProbeResult | None:
        return self._results.get((server, digest))

    def results(self) -> list[ProbeResult]:
        """Every result kept, newest first."""
        return sorted(self._results.values(), key=lambda r: r.at, reverse=True)

    def __len__(self) -> int:
        return len(self._results)

    # -- recording -------------------------------------------------------------------------

    def put(self, result: ProbeResult) -> None:
        """Keep ``result`` unless a newer one of the same server and digest is kept."""
        key = (result.server, result.digest)
        kept = self._results.get(key)
        if kept is not None and kept.at > result.at:
            return
        self._results[key] = result
        self._dirty = True
        self._trim()

    def _trim(self) -> None:
        cap = limits.MAX_PROBE_RESULTS
        if len(self._results) <= cap:
            return
        order = sorted(self._results, key=lambda k: self._results[k].at)
        for key in order[: len(self._results) - cap]:
            del self._results[key]

    # -- the file --------------------------------------------------------------------------

    def load(self) -> str | None:
        """Read the file (a missing one is no problem); returns the problem, if any (also
        kept as ``warning``). Results already put and newer than the file's are kept."""
        return self._read()

    def _take(self, data: Any) -> None:
        mine = self._results
        self._results = {(r.server, r.digest): r for r in _parse(data)}
        for result in mine.values():
            self.put(result)
        self._trim()

    def _to_json(self) -> Any:
        return {"version": VERSION, "probes": [r.to_json() for r in self.results()]}

    def _merge(self, data: Any) -> None:
        results = self._results
        for result in _parse(data):
            kept = results.get((result.server, result.digest))
            if kept is None or kept.at < result.at:
                results[(result.server, result.digest)] = result
        self._trim()


def _parse(data: Any) -> list[ProbeResult]:
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise ValueError("not a probe file of this version")
    items = data["probes"]
    if not isinstance(items, list):
        raise TypeError("'probes' is not a list")
    return [ProbeResult.from_json(item) for item in items[: limits.MAX_PROBE_RESULTS * 2]]


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {type(value).__name__}")
    return limits.cut(value)


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"not a usable number: {value!r}")
    return number


def _optional(value: Any) -> float | None:
    return None if value is None else _number(value)
