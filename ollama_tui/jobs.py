"""Background pull / push / create jobs, speed probes, and their progress state.

Jobs belong to the app, not to a screen: a :class:`JobQueue` runs them as asyncio tasks, at most
``max_transfers`` pulls and pushes at a time (the rest wait, FIFO, in the QUEUED state; creates
start at once; speed probes run one at a time, whatever their server, so a probe never
shares a server with another and "probe on all servers" goes one server at a time), and
reports every change
through two callbacks:

- ``on_change(job)``: immediately on every state change (queued, running, done, failed,
  cancelled) and, for progress, at most once per ``min_interval`` seconds per job. A trailing
  update is always flushed, so the last call a UI sees shows the job's latest data.
- ``on_finished(job)``: once when a job reaches DONE, FAILED or CANCELLED (after ``on_change``),
  so the app can refresh its tables and notify.

A pull or push whose connection to the server is lost (not one the server refused) WAITS for
the server instead of failing, when the queue has a :class:`Reachability` to wait on: once a
request to the server succeeds again, it sends the same request again (the server resumes a
partial pull) by itself. It gives up after ``reconnect_timeout`` seconds without the server.

Pure asyncio: no Textual or Rich here; the UI observes the queue through the callbacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol, runtime_checkable

from ollama_tui.api import ConnectionLost, OllamaError, ServerUnreachable, limits
from ollama_tui.config import DEFAULT_RECONNECT_TIMEOUT
from ollama_tui.formatting import format_eta, format_rate, human_bytes
from ollama_tui.reachability import Reachability

__all__ = [
    "RATE_MIN_SPAN",
    "RATE_WINDOW",
    "Job",
    "JobClient",
    "JobKind",
    "JobParams",
    "JobQueue",
    "JobServer",
    "JobState",
    "LayerProgress",
    "ProgressLike",
    "explain_job_error",
]

log = logging.getLogger(__name__)

RATE_WINDOW = 3.0
"""Seconds of history the transfer rate is averaged over."""
RATE_MIN_SPAN = 0.5
"""Below this much running time the rate is unknown (0.0): one early chunk is not a rate."""


class JobKind(StrEnum):
    PULL = "pull"
    PUSH = "push"
    CREATE = "create"
    PROBE = "probe"
    """A speed probe (``ollama_tui.probe.run_probe``): loads the model, times a short run."""


_YIELD_EVERY = 50
# Ended jobs kept for the jobs view (errors to read, retries); older ones are forgotten.
KEEP_ENDED = 50
# The kinds that count against ``max_transfers`` (see JobQueue._start_ready).
_TRANSFER_KINDS = frozenset({JobKind.PULL, JobKind.PUSH})


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    """A transfer cut by a lost connection, waiting for the server to come back."""
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


class ProgressLike(Protocol):
    """What jobs read from a progress line (``ollama_tui.api.ProgressEvent`` fits)."""

    @property
    def status(self) -> str: ...
    @property
    def digest(self) -> str | None: ...
    @property
    def total(self) -> int: ...
    @property
    def completed(self) -> int: ...


@runtime_checkable
class JobClient(Protocol):
    """The part of ``OllamaClient`` that jobs use."""

    def pull(self, name: str, *, insecure: bool = False) -> AsyncIterator[ProgressLike]: ...
    def push(self, name: str, *, insecure: bool = False) -> AsyncIterator[ProgressLike]: ...
    def create(
        self,
        name: str,
        modelfile: str,
        *,
        base_dir: str | Path = ".",
        quantize: str | None = None,
        from_model: str | None = None,
    ) -> AsyncIterator[ProgressLike]: ...


class _RateMeter:
    """Bytes per second over a sliding window, from byte deltas seen in this run only."""

    __slots__ = ("_samples", "_start", "_window", "total")

    def __init__(self, start: float, window: float = RATE_WINDOW) -> None:
        self._start = start
        self._window = window
        # (time, cumulative bytes) samples; the first one may predate the window (baseline).
        self._samples: deque[tuple[float, int]] = deque()
        self.total = 0

    def add(self, nbytes: int, now: float) -> None:
        if nbytes <= 0:
            return
        self.total += nbytes
        samples = self._samples
        # Merge samples closer than window/30 so a burst of lines cannot grow the deque.
        if samples and now - samples[-1][0] < self._window / 30:
            samples[-1] = (samples[-1][0], self.total)
        else:
            samples.append((now, self.total))
        cutoff = now - self._window
        while len(samples) >= 2 and samples[1][0] <= cutoff:
            samples.popleft()

    def rate(self, now: float) -> float:
        if now - self._start < RATE_MIN_SPAN:
            return 0.0
        span_start = max(self._start, now - self._window)
        base = 0
        for t, cumulative in self._samples:
            if t > span_start:
                break
            base = cumulative
        return max(0.0, (self.total - base) / (now - span_start))


def _is_placeholder(digest: str) -> bool:
    """Quantize / GGUF validation bars use all-zero digests ("0000000000000000000", "0")."""
    hex_part = digest.removeprefix("sha256:")
    return bool(hex_part) and set(hex_part) == {"0"}


@dataclass(eq=False)
class LayerProgress:
    """One progress bar: a layer, blob upload or quantize step.

    ``digest`` is the line's digest: a placeholder of zeros for quantizing, "" for a local step
    such as hashing a file before upload.
    """

    digest: str
    status: str
    total: int = 0
    completed: int = 0
    bytes_this_run: int = 0
    """Bytes this layer grew by while we watched (a resumed layer's head start is not counted)."""
    _meter: _RateMeter | None = field(default=None, repr=False)
    _clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    @property
    def short_digest(self) -> str:
        """First 12 hex digits, as the ``ollama`` CLI labels bars ("" for placeholders)."""
        if not self.digest or _is_placeholder(self.digest):
            return ""
        return self.digest.removeprefix("sha256:")[:12]

    @property
    def fraction(self) -> float:
        if self.total <= 0:
            return 0.0
        return min(1.0, max(0.0, self.completed / self.total))

    @property
    def is_complete(self) -> bool:
        return self.total > 0 and self.completed >= self.total

    @property
    def rate(self) -> float:
        """Bytes/s over the last few seconds; 0.0 when unknown or complete."""
        if self._meter is None or self.is_complete:
            return 0.0
        return self._meter.rate(self._clock())

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate; None when unknown."""
        rate = self.rate
        if rate <= 0 or self.total <= 0:
            return None
        return max(0, self.total - self.completed) / rate


class JobServer(Protocol):
    """The server a job runs on (a ``ServerSession``): its client, and where a transfer cut by
    a lost connection waits for it to answer again."""

    @property
    def client(self) -> JobClient: ...

    @property
    def reachability(self) -> Reachability: ...

    @property
    def label(self) -> str:
        """What the user calls the server (its name, else its URL)."""
        ...


@dataclass(frozen=True)
class JobParams:
    """What a job was asked to do; retry reuses it unchanged."""

    insecure: bool = False
    modelfile: str = ""
    base_dir: str = "."
    quantize: str | None = None
    # A FROM equal to this names that server model, never a local file (see client.create).
    from_model: str | None = None
    # A pull that copies a model from this server (its label) to the job's server.
    copied_from: str = ""
    # A probe: the model's digest (what its result is kept by), whether it is probed through
    # /api/embed, and the keep-alive sent (None: the server's default).
    digest: str = ""
    embedding: bool = False
    keep_alive: str | float | None = None
    # A probe of several compared: its result shows in the comparison, not in a notice.
    compared: bool = False


@dataclass(eq=False)
class Job:
    """One pull, push or create and everything the jobs view shows about it.

    Times are clock seconds (the queue's clock: the event loop's monotonic time by default).
    """

    id: int
    kind: JobKind
    model: str
    params: JobParams = field(default_factory=JobParams)
    state: JobState = JobState.QUEUED
    phase: str = ""
    """Latest status text from the server ("pulling manifest", "verifying sha256 digest", ...)."""
    layers: dict[str, LayerProgress] = field(default_factory=dict)
    """Bars in the order first seen. Key: the digest; for placeholder digests the digest and
    the status; for lines with a size but no digest (client-side hashing) the status."""
    error: str | None = None
    submitted_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    attempt: int = 1
    """1 for the first run; retry increments it."""
    server: JobServer | None = None
    """The server the job runs on (None: the queue's own client)."""
    after: Job | None = field(default=None, repr=False)
    """A job that must finish first (e.g. the pull of a base before a create from it): this
    one stays queued until it is DONE, and fails without running if it fails or is cancelled."""
    bytes_this_run: int = 0
    """Bytes transferred while we watched this run (resumed head starts excluded)."""
    result: object | None = None
    """What a DONE probe measured (a ``ProbeResult``); None otherwise."""
    _clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    _meter: _RateMeter | None = field(default=None, repr=False)
    # Past MAX_LAYERS bars, further layers only add to these totals (the newest one is
    # remembered, so its repeated lines add their growth, not their size, again).
    _extra_total: int = field(default=0, repr=False)
    _extra_completed: int = field(default=0, repr=False)
    _extra_last: tuple[str, int, int] | None = field(default=None, repr=False)

    # -- derived values -------------------------------------------------------------------

    @property
    def completed(self) -> int:
        return sum(layer.completed for layer in self._measured()) + self._extra_completed

    @property
    def total(self) -> int:
        return sum(layer.total for layer in self._measured()) + self._extra_total

    @property
    def layers_note(self) -> str:
        """Said when the server sent more layers than are listed ("" normally)."""
        if self._extra_last is None:
            return ""
        cap = limits.MAX_LAYERS
        return f"more than {cap:,} layers: listing the first {cap:,}"

    def _measured(self) -> list[LayerProgress]:
        """The bars overall progress adds up: the transfers, once there are any. A local step
        (the client hashing a file before uploading it) would count the same bytes twice."""
        layers = list(self.layers.values())
        return [layer for layer in layers if layer.digest] or layers

    @property
    def fraction(self) -> float | None:
        """Overall progress 0..1 over the layers seen; None when there is nothing to measure."""
        if self.state is JobState.DONE:
            return 1.0
        total = self.total
        if total <= 0:
            return None
        return min(1.0, max(0.0, self.completed / total))

    @property
    def rate(self) -> float:
        """Bytes/s averaged over the last few seconds; 0.0 when unknown or not running."""
        if self.state is not JobState.RUNNING or self._meter is None:
            return 0.0
        return self._meter.rate(self._clock())

    @property
    def eta(self) -> float | None:
        """Seconds left for the layers seen so far; None when unknown."""
        rate = self.rate
        total = self.total
        if rate <= 0 or total <= 0:
            return None
        return max(0, total - self.completed) / rate

    @property
    def elapsed(self) -> float | None:
        """Seconds this run has been (or was) running; None while queued."""
        if self.started_at is None:
            return None
        end = self.finished_at if self.finished_at is not None else self._clock()
        return max(0.0, end - self.started_at)

    @property
    def is_active(self) -> bool:
        return self.state in (JobState.QUEUED, JobState.RUNNING, JobState.WAITING)

    @property
    def can_cancel(self) -> bool:
        return self.is_active

    @property
    def can_retry(self) -> bool:
        return self.state in (JobState.FAILED, JobState.CANCELLED)

    @property
    def state_text(self) -> str:
        """The state as a user reads it, e.g. "cancelled — pull again to resume"."""
        if self.state is JobState.QUEUED and self.after is not None and self.after.is_active:
            # No model name here: callers show this text as it is (names are untrusted).
            return f"queued — after job #{self.after.id} ({self.after.kind})"
        if self.state is JobState.QUEUED and self.kind is JobKind.PROBE:
            return "queued — probes run one at a time"
        if self.state is JobState.CANCELLED and self.kind is JobKind.PULL:
            return "cancelled — pull again to resume"
        if self.state is JobState.WAITING:
            return "waiting for the server"
        return str(self.state)

    def summary(self) -> str:
        """A plain-text one-liner, e.g. for a notification or a log."""
        head = f"{self.kind} {self.model}: {self.state_text}"
        if self.state in (JobState.FAILED, JobState.WAITING) and self.error:
            return f"{head} — {self.error}"
        if self.state is not JobState.RUNNING:
            return head
        parts = [head]
        if self.phase:
            parts.append(self.phase)
        fraction = self.fraction
        if fraction is not None:
            parts.append(f"{fraction:.0%} {human_bytes(self.completed)}/{human_bytes(self.total)}")
        if rate := format_rate(self.rate):
            parts.append(rate)
        if eta := format_eta(self.eta):
            parts.append(f"ETA {eta}")
        return " — ".join(parts)

    # -- updates --------------------------------------------------------------------------

    def apply(self, event: ProgressLike, now: float | None = None) -> None:
        """Fold one progress line into the job (the queue calls this; tests may too)."""
        if now is None:
            now = self._clock()
        if self._meter is None:
            self._meter = _RateMeter(now)
        if event.status:
            self.phase = event.status
        if event.total <= 0:
            # Status-only, or a layer line without sizes yet (the CLI ignores those too).
            return
        digest = event.digest or ""
        # Fast path for the common line, a known layer: its key is its digest (placeholder
        # keys hold a space, so a bare digest never finds one of theirs).
        layer = self.layers.get(digest) if digest else None
        if layer is None:
            if not digest:
                key = event.status  # a local step with a size, e.g. the client hashing a file
            elif _is_placeholder(digest):
                key = f"{digest} {event.status}"  # quantize/validate steps share a placeholder
            else:
                key = digest
            layer = self.layers.get(key)
        if layer is None and len(self.layers) >= limits.MAX_LAYERS:
            self._apply_extra(key, event, now)
            return
        if layer is None:
            # First sight in this run: a resumed layer starts high; that is not this run's work.
            self.layers[key] = LayerProgress(
                digest=digest,
                status=event.status,
                total=event.total,
                completed=event.completed,
                _meter=_RateMeter(now),
                _clock=self._clock,
            )
            return
        delta = event.completed - layer.completed
        layer.status = event.status or layer.status
        layer.total = event.total
        layer.completed = event.completed
        if delta > 0:
            layer.bytes_this_run += delta
            if layer._meter is None:  # a layer kept from an earlier run
                layer._meter = _RateMeter(now)
            layer._meter.add(delta, now)
            if digest:  # hashing a local file is not a transfer: no part of the job's rate
                self.bytes_this_run += delta
                self._meter.add(delta, now)

    def _apply_extra(self, key: str, event: ProgressLike, now: float) -> None:
        """A layer past MAX_LAYERS: into the totals, without a bar (bounded work and memory)."""
        last = self._extra_last
        self._extra_last = (key, event.total, event.completed)
        if last is None or last[0] != key:
            # Taken as a new layer (its head start is not this run's work). Lines that switch
            # between such layers count again: close enough, as only a broken or hostile
            # server sends more than MAX_LAYERS layers.
            self._extra_total += event.total
            self._extra_completed += event.completed
            return
        self._extra_total += event.total - last[1]
        delta = event.completed - last[2]
        self._extra_completed += delta
        if delta > 0 and event.digest and self._meter is not None:
            self.bytes_this_run += delta
            self._meter.add(delta, now)

    def _begin_run(self, now: float) -> None:
        self.state = JobState.RUNNING
        self.started_at = now
        self._meter = _RateMeter(now)

    def _reset_for_run(self) -> None:
        self.state = JobState.QUEUED
        self.phase = ""
        # The layers stay: what the last run reached is still true (the server keeps partial
        # downloads), and a retry that cannot reach the server must not wipe it from view.
        for layer in self.layers.values():
            layer.bytes_this_run = 0
            layer._meter = None
        self.error = None
        self.started_at = None
        self.finished_at = None
        self.bytes_this_run = 0
        self.result = None
        self._meter = None


def _error_text(exc: BaseException) -> str:
    """A message fit for the user: OllamaErrors are already; anything else says what it was."""
    text = str(exc).strip()
    if isinstance(exc, OllamaError):
        return text or type(exc).__name__
    if text:
        return f"unexpected error ({type(exc).__name__}): {text}"
    return f"unexpected error ({type(exc).__name__})"


@dataclass(eq=False)
class _Runtime:
    """Queue-private bookkeeping for one job."""

    client: JobClient
    last_emit: float = -math.inf
    flush: asyncio.TimerHandle | None = None


JobCallback = Callable[[Job], None]


class JobQueue:
    """Runs jobs with a concurrency limit and reports their progress through callbacks.

    A job submitted with a ``server`` runs on that server's client and waits on its
    reachability; ``server`` given here (a server, or a zero-argument callable returning the
    current one) is the server of jobs submitted without one. A queue without servers uses
    ``client``: a client, or a zero-argument callable returning the current one, resolved when
    a job is submitted or retried. The queue never closes a client.

    ``reachability``: where pulls and pushes cut by a lost connection wait for the server
    (None: they fail at once). They try again no sooner than ``reconnect_delay`` seconds after
    the loss, once a request to the server has succeeded since; ``reconnect_timeout`` seconds
    without the server (or without a byte moving between losses) fail them. While they wait,
    ``probe(job)`` (a request to the job's server, e.g. its version) is sent every
    ``probe_interval`` seconds when nothing else has answered: with polling paused, no other
    request would tell them that the server is back.
    """

    def __init__(
        self,
        client: JobClient | Callable[[], JobClient] | None = None,
        *,
        server: JobServer | Callable[[], JobServer] | None = None,
        max_transfers: int = 2,
        on_change: JobCallback | None = None,
        on_finished: JobCallback | None = None,
        min_interval: float = 0.1,
        clock: Callable[[], float] | None = None,
        reachability: Reachability | None = None,
        reconnect_timeout: float = DEFAULT_RECONNECT_TIMEOUT,
        reconnect_delay: float = 1.0,
        probe: Callable[[Job], Awaitable[object]] | None = None,
        probe_interval: float = 5.0,
    ) -> None:
        self.show_servers = False
        """Jobs run on more than one server: the views name each job's server."""
        self._default_server: Callable[[], JobServer] | None
        if server is None or callable(server):
            self._default_server = server
        else:
            fixed_server = server
            self._default_server = lambda: fixed_server
        self._client_factory: Callable[[], JobClient] | None
        if isinstance(client, JobClient):
            fixed = client
            self._client_factory = lambda: fixed
        else:
            self._client_factory = client
        self._max_transfers = self._check_limit(max_transfers)
        self.on_change = on_change
        self.on_finished = on_finished
        self.min_interval = min_interval
        self.reachability = reachability
        self.reconnect_timeout = reconnect_timeout
        self.reconnect_delay = reconnect_delay
        self.probe = probe
        self.probe_interval = probe_interval
        self._clock = clock if clock is not None else _loop_time
        self._jobs: dict[int, Job] = {}
        self._runtime: dict[int, _Runtime] = {}  # queued and running jobs only
        self._tasks: dict[int, asyncio.Task[None]] = {}  # running jobs
        self._waiting: deque[Job] = deque()
        self._next_id = 1
        self._closing = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._ended: dict[int, asyncio.Event] = {}  # for wait_ended, per job waited on

    # -- inspection -----------------------------------------------------------------------

    @property
    def jobs(self) -> list[Job]:
        """All jobs, oldest first."""
        return list(self._jobs.values())

    @property
    def active(self) -> list[Job]:
        """Queued and running jobs, oldest first."""
        return [job for job in self._jobs.values() if job.is_active]

    @property
    def running_count(self) -> int:
        return len(self._tasks)

    @property
    def queued_count(self) -> int:
        return len(self._waiting)

    @property
    def has_active(self) -> bool:
        return bool(self._waiting) or bool(self._tasks)

    @property
    def max_transfers(self) -> int:
        return self._max_transfers

    @max_transfers.setter
    def max_transfers(self, value: int) -> None:
        """Raising the limit starts queued jobs at once; lowering it never stops running ones."""
        self._max_transfers = self._check_limit(value)
        self._start_ready()

    def get(self, job_id: int) -> Job:
        """The job with this id (KeyError if unknown)."""
        return self._jobs[job_id]

    # -- commands -------------------------------------------------------------------------

    def submit_pull(
        self,
        name: str,
        *,
        insecure: bool = False,
        server: JobServer | None = None,
        copied_from: str = "",
    ) -> Job:
        """Queue a pull; it starts at once if a slot is free. ``copied_from``: the server
        (label) this pull copies the model from, for the advice when it fails.

        Like every submit, this calls ``on_change`` before returning (QUEUED, then RUNNING when
        it starts). Name problems surface as a FAILED job, not as an exception here.
        """
        params = JobParams(insecure=insecure, copied_from=copied_from)
        return self._submit(JobKind.PULL, name, params, server)

    def submit_push(
        self, name: str, *, insecure: bool = False, server: JobServer | None = None
    ) -> Job:
        """Queue a push of a local model to its registry."""
        return self._submit(JobKind.PUSH, name, JobParams(insecure=insecure), server)

    def submit_create(
        self,
        name: str,
        modelfile: str,
        *,
        base_dir: str | Path = ".",
        quantize: str | None = None,
        from_model: str | None = None,
        server: JobServer | None = None,
        after: Job | None = None,
    ) -> Job:
        """Queue a create; the client uploads local FROM/ADAPTER files (relative to base_dir)
        except a FROM equal to ``from_model``, a model taken from the server. With ``after``,
        it starts once that job is DONE and fails unrun if that job fails or is cancelled."""
        params = JobParams(
            modelfile=modelfile,
            base_dir=str(base_dir),
            quantize=quantize or None,
            from_model=from_model,
        )
        return self._submit(JobKind.CREATE, name, params, server, after)

    def submit_probe(
        self,
        name: str,
        *,
        digest: str,
        embedding: bool,
        keep_alive: str | float | None = None,
        server: JobServer | None = None,
        compared: bool = False,
    ) -> Job:
        """Queue a speed probe of ``name`` (``embedding``: through /api/embed); it starts once
        no other probe runs. Its ``result`` is set when it is DONE."""
        params = JobParams(
            digest=digest, embedding=embedding, keep_alive=keep_alive, compared=compared
        )
        return self._submit(JobKind.PROBE, name, params, server)

    def cancel(self, job_id: int) -> bool:
        """Cancel a queued or running job; False if it had already ended.

        A running job's stream is closed (which closes its HTTP connection; the server keeps a
        partial download). The job turns CANCELLED once the stream is closed.
        """
        job = self._jobs[job_id]
        if job.state is JobState.QUEUED:
            with contextlib.suppress(ValueError):
                self._waiting.remove(job)
            self._finish(job, JobState.CANCELLED, None)
            return True
        task = self._tasks.get(job_id)
        if job.state in (JobState.RUNNING, JobState.WAITING) and task is not None:
            return task.cancel()
        return False

    async def cancel_and_wait(self, job_id: int, timeout: float = 10.0) -> None:
        """Cancel a job and wait (at most ``timeout`` s) until its stream is closed, so that
        nothing it fetches lands after this returns (e.g. before a delete of its model)."""
        self.cancel(job_id)
        task = self._tasks.get(job_id)
        if task is not None:
            await asyncio.wait({task}, timeout=timeout)

    def retry(self, job_id: int) -> Job:
        """Run a failed or cancelled job again, as the same job (same id, attempt + 1).

        A pull resumes where the server's partial download stopped. Raises ValueError for a
        job that is active or done.
        """
        job = self._jobs[job_id]
        if not job.can_retry:
            raise ValueError(f"job {job_id} is {job.state}; only failed or cancelled jobs retry")
        self._ensure_open()
        before = job.after
        if before is not None and before.can_retry:
            if self._jobs.get(before.id) is before:
                self.retry(before.id)  # the job it needs failed: that one runs again first
            else:
                job.after = None  # forgotten: the create pulls a missing base by itself
        job._reset_for_run()
        job.attempt += 1
        job.submitted_at = self._clock()
        self._runtime[job.id] = _Runtime(client=self._client_of(job))
        self._enqueue(job)
        return job

    def clear_finished(self) -> list[Job]:
        """Forget ended jobs (done, failed, cancelled); returns them."""
        gone = [job for job in self._jobs.values() if job.state.is_final]
        for job in gone:
            del self._jobs[job.id]
        return gone

    async def wait_ended(self, job: Job) -> JobState:
        """Return once ``job`` is done, failed or cancelled (at once if it is), with that
        state. A retry later is a new run: wait again for it."""
        if job.state.is_final:
            return job.state
        event = self._ended.setdefault(job.id, asyncio.Event())
        await event.wait()
        return job.state

    async def wait_idle(self) -> None:
        """Return once no job is queued or running."""
        await self._idle.wait()

    async def aclose(self) -> None:
        """Cancel every job and wait for all tasks to end. No callbacks fire from here on."""
        self._closing = True
        while self._waiting:
            self._finish(self._waiting.popleft(), JobState.CANCELLED, None)
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        for rt in self._runtime.values():
            if rt.flush is not None:
                rt.flush.cancel()
        self._runtime.clear()
        self._idle.set()

    # -- internals ------------------------------------------------------------------------

    @staticmethod
    def _check_limit(value: int) -> int:
        if value < 1:
            raise ValueError("max_transfers must be at least 1")
        return value

    def _ensure_open(self) -> None:
        if self._closing:
            raise RuntimeError("the job queue is closed")

    def _client_of(self, job: Job) -> JobClient:
        if job.server is not None:
            return job.server.client
        if self._client_factory is None:
            raise ValueError("a job needs a server: this queue has no client of its own")
        return self._client_factory()

    def _reachability_of(self, job: Job) -> Reachability | None:
        return job.server.reachability if job.server is not None else self.reachability

    def _submit(
        self,
        kind: JobKind,
        name: str,
        params: JobParams,
        server: JobServer | None = None,
        after: Job | None = None,
    ) -> Job:
        self._ensure_open()
        if server is None and self._default_server is not None:
            server = self._default_server()
        job = Job(
            id=self._next_id,
            kind=kind,
            model=name,
            params=params,
            submitted_at=self._clock(),
            server=server,
            after=after,
            _clock=self._clock,
        )
        client = self._client_of(job)
        self._next_id += 1
        self._jobs[job.id] = job
        self._runtime[job.id] = _Runtime(client=client)
        self._enqueue(job)
        return job

    def _enqueue(self, job: Job) -> None:
        self._idle.clear()
        self._waiting.append(job)
        self._emit(job)
        self._start_ready()

    def _transfers_running(self) -> int:
        return sum(1 for job_id in self._tasks if self._jobs[job_id].kind in _TRANSFER_KINDS)

    def _probe_running(self) -> bool:
        return any(self._jobs[job_id].kind is JobKind.PROBE for job_id in self._tasks)

    def _start_ready(self) -> None:
        # Pulls and pushes move gigabytes to or from a registry: at most max_transfers at once,
        # first come first served. A create works on the server's own disk and starts at once,
        # so a small derived model never waits minutes behind two big pulls.
        for job in list(self._waiting):
            if self._closing:
                break
            if job not in self._waiting:
                continue  # started or failed by a nested call (see _finish below)
            before = job.after
            if before is not None and not before.state.is_final:
                continue
            if before is not None and before.state is not JobState.DONE:
                self._waiting.remove(job)
                why = f": {before.error}" if before.error else ""
                self._finish(
                    job,
                    JobState.FAILED,
                    f"not run: the {before.kind} of {before.model} it needs "
                    f"{'was cancelled' if before.state is JobState.CANCELLED else 'failed'}{why}",
                )
                continue
            if job.kind in _TRANSFER_KINDS and self._transfers_running() >= self._max_transfers:
                continue
            # A probe measures a server: a second one beside it would measure the first too.
            if job.kind is JobKind.PROBE and self._probe_running():
                continue
            self._waiting.remove(job)
            rt = self._runtime[job.id]
            job._begin_run(self._clock())
            task = asyncio.get_running_loop().create_task(
                self._run(job, rt.client), name=f"ollama-tui job {job.id} {job.kind} {job.model}"
            )
            self._tasks[job.id] = task
            # A done callback, not code in _run: a task cancelled before its first step never
            # runs any of its own except/finally blocks.
            task.add_done_callback(functools.partial(self._task_done, job))
            self._emit(job)
        if not self.has_active:
            self._idle.set()

    def _open_stream(self, job: Job, client: JobClient) -> AsyncIterator[ProgressLike]:
        if job.kind is JobKind.PULL:
            return client.pull(job.model, insecure=job.params.insecure)
        if job.kind is JobKind.PUSH:
            return client.push(job.model, insecure=job.params.insecure)
        if job.params.from_model is not None:
            return client.create(
                job.model,
                job.params.modelfile,
                base_dir=job.params.base_dir,
                quantize=job.params.quantize,
                from_model=job.params.from_model,
            )
        return client.create(
            job.model,
            job.params.modelfile,
            base_dir=job.params.base_dir,
            quantize=job.params.quantize,
        )

    async def _run(self, job: Job, client: JobClient) -> None:
        """Run the job to its end, waiting for the server whenever a transfer's connection is
        lost; raises what ends it (handled in _task_done)."""
        if job.kind is JobKind.PROBE:
            await self._run_probe(job, client)
            return
        loop = asyncio.get_running_loop()
        waiting_since: float | None = None  # loop time of the first loss in a row
        while True:
            moved = job.bytes_this_run
            try:
                await self._stream_once(job, client)
                return
            except (ServerUnreachable, ConnectionLost) as error:
                reachability = self._reachability_of(job)
                if reachability is None or job.kind not in _TRANSFER_KINDS:
                    raise
                answers = reachability.answers
                now = loop.time()
                if waiting_since is None or job.bytes_this_run > moved:
                    waiting_since = now  # a first loss, or the last try moved bytes: anew
                deadline = waiting_since + self.reconnect_timeout
                job.state = JobState.WAITING
                job.error = _error_text(error)
                self._emit(job)
                try:
                    async with asyncio.timeout_at(deadline):
                        # Not sooner than reconnect_delay: a server that drops every pull at
                        # once while answering polls must not be asked in a tight loop.
                        await asyncio.sleep(self.reconnect_delay)
                        await self._wait_for_server(job, reachability, answers)
                except TimeoutError:
                    raise ServerUnreachable(
                        "gave up waiting for the server after "
                        f"{limits.seconds_text(self.reconnect_timeout)}: {job.error}"
                    ) from error
                job.state = JobState.RUNNING
                job.error = None
                job._meter = _RateMeter(self._clock())
                self._emit(job)

    async def _run_probe(self, job: Job, client: JobClient) -> None:
        """One probe; it is never sent again by itself (a lost connection fails it: a second
        try would load the model again, and the user may not want that)."""
        # Imported on first use: start-up needs none of it.
        from ollama_tui.probe import PROBE_OPTIONS, ProbeClient, run_probe

        if not isinstance(client, ProbeClient):
            raise TypeError("this server's client cannot run a speed probe")

        params = job.params
        if params.embedding:
            job.phase = "loading if needed, then embedding"
        else:
            job.phase = f"loading if needed, then {PROBE_OPTIONS['num_predict']} tokens"
        self._emit(job)
        job.result = await run_probe(
            client,
            job.model,
            params.digest,
            embedding=params.embedding,
            keep_alive=params.keep_alive,
        )

    async def _wait_for_server(self, job: Job, reachability: Reachability, answers: int) -> None:
        """Until something answers after ``answers``; probing now and then if nothing asks."""
        while True:
            try:
                async with asyncio.timeout(self.probe_interval):
                    await reachability.wait_answer(after=answers)
                return
            except TimeoutError:
                pass
            if self.probe is not None:
                # Its answer reaches `reachability` through the client; a failure just waits on.
                with contextlib.suppress(Exception):
                    await self.probe(job)

    async def _stream_once(self, job: Job, client: JobClient) -> None:
        """Consume one stream; raises what the stream raises."""
        stream = self._open_stream(job, client)
        clock = self._clock
        if clock is _loop_time:
            clock = asyncio.get_running_loop().time  # the same clock, without the look-up
        apply, progress = job.apply, self._progress
        try:
            count = 0
            async for event in stream:
                now = clock()
                apply(event, now)
                progress(job, now)
                count += 1
                if count % _YIELD_EVERY == 0:
                    # One network chunk holds hundreds of lines that parse without awaiting:
                    # let key presses and repaints in between.
                    await asyncio.sleep(0)
        finally:
            # Close the iterator now (not at garbage collection) so the connection goes away
            # before the job reports CANCELLED / FAILED.
            closer = getattr(stream, "aclose", None)
            if closer is not None:
                try:
                    await closer()
                except Exception:
                    log.debug("closing the stream of job %s failed", job.id, exc_info=True)

    def _task_done(self, job: Job, task: asyncio.Task[None]) -> None:
        if self._tasks.get(job.id) is not task:
            return  # not the job's current task (defensive: should not happen)
        del self._tasks[job.id]
        if task.cancelled():
            self._finish(job, JobState.CANCELLED, None)
            return
        exc = task.exception()
        if exc is None:
            self._finish(job, JobState.DONE, None)
        else:
            self._finish(job, JobState.FAILED, _error_text(exc))

    def _finish(self, job: Job, state: JobState, error: str | None) -> None:
        # Drop the bookkeeping first: a callback below may retry the job, which makes new.
        rt = self._runtime.pop(job.id, None)
        if rt is not None and rt.flush is not None:
            rt.flush.cancel()
        job.state = state
        job.error = error
        job.finished_at = self._clock()
        ended = self._ended.pop(job.id, None)
        if ended is not None:
            ended.set()
        self._emit(job)
        if not self._closing:
            self._call(self.on_finished, job)
        self._forget_oldest_ended()
        self._start_ready()

    def _forget_oldest_ended(self) -> None:
        """A dashboard left open for weeks must not keep every job it ever ran."""
        ended = [job for job in self._jobs.values() if job.state.is_final]
        for job in ended[: max(0, len(ended) - KEEP_ENDED)]:
            del self._jobs[job.id]

    def _progress(self, job: Job, now: float) -> None:
        """Coalesce progress: emit now if the last emit is old enough, else flush later."""
        rt = self._runtime.get(job.id)
        if rt is None or rt.flush is not None:
            return  # a trailing update is already scheduled; it will show this line too
        due = rt.last_emit + self.min_interval
        if now >= due:
            self._emit(job)
        else:
            rt.flush = asyncio.get_running_loop().call_later(due - now, self._flush, job)

    def _flush(self, job: Job) -> None:
        rt = self._runtime.get(job.id)
        if rt is not None:
            rt.flush = None
        self._emit(job)

    def _emit(self, job: Job) -> None:
        rt = self._runtime.get(job.id)
        if rt is not None:
            if rt.flush is not None:
                rt.flush.cancel()
                rt.flush = None
            rt.last_emit = self._clock()
        if not self._closing:
            self._call(self.on_change, job)

    @staticmethod
    def _call(callback: JobCallback | None, job: Job) -> None:
        # A UI bug must not kill a download or the queue's bookkeeping.
        if callback is None:
            return
        try:
            callback(job)
        except Exception:
            log.exception("job callback %r failed for job %s", callback, job.id)


def _loop_time() -> float:
    """The running loop's clock; the same monotonic clock when read outside the loop."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()


_UNAUTHORIZED = re.compile(r"unauthori[sz]ed|access denied|permission", re.IGNORECASE)


_NOT_IN_REGISTRY = re.compile(r"file does not exist|not found|manifest unknown", re.IGNORECASE)


def explain_job_error(job: Job) -> str:
    """Advice for a failed job beyond the server's words ("" if none)."""
    error = job.error or ""
    if job.kind is JobKind.PUSH and _UNAUTHORIZED.search(error):
        model = job.model.split("/")[-1]
        return (
            "The namespace must belong to the ollama.com account this server is signed in "
            f"with: copy the model to <user>/{model} first (c), then push that."
        )
    source = job.params.copied_from
    if job.kind is JobKind.PULL and source and _NOT_IN_REGISTRY.search(error):
        return (
            f"The registry has no {job.model}: it was probably made on {source} from a local "
            f"file, so its weights exist only on {source}'s disk. The API cannot copy them "
            "from one server to another; nothing was changed."
        )
    return ""
