"""One Ollama server and everything the app knows about it: a :class:`ServerSession`.

A session holds a server's settings (name, URL, headers, ``insecure``), its client, whether it
answers (:class:`Reachability`), the polling state and back-off, the :class:`ConnectionStatus`
the status line shows, the installed and running models, the ``/api/show`` cache and the models
being loaded. The app keeps an ordered list of sessions; screens and operations are handed the
session they act on.

No Textual or Rich here: the UI reads a session and tells it what happened (a poll's snapshot or
error, a pause); the timers that drive polling live in the app, as opaque handles.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ollama_tui.api import (
    LocalModel,
    ModelShow,
    OllamaClient,
    OllamaError,
    RunningModel,
    ServerUnreachable,
)
from ollama_tui.config import server_label
from ollama_tui.disk import DiskUsage, WeightsIndex, disk_usage
from ollama_tui.poller import PollTarget, Snapshot
from ollama_tui.reachability import Reachability

if TYPE_CHECKING:
    from ollama_tui.last_used import ServerUsage
    from ollama_tui.probe import ProbeResult, ProbeStore
    from ollama_tui.registry import CheckResult

__all__ = [
    "MAX_BACKOFF",
    "MIN_NOT_ANSWERING",
    "ConnectionStatus",
    "LoopTimer",
    "PollResult",
    "ServerSession",
    "State",
    "Stoppable",
    "memory_in_use",
    "next_round",
]

log = logging.getLogger(__name__)


def memory_in_use(running: Iterable[RunningModel]) -> tuple[int, int]:
    """(RAM, VRAM) the loaded models take; unknown sizes count as nothing (each size is at
    most MAX_INT, so the sums cannot overflow anything)."""
    ram = vram = 0
    for model in running:
        ram += (model.size or 0) - (model.size_vram or 0)
        vram += model.size_vram or 0
    return ram, vram


MAX_BACKOFF = 30.0
"""Longest wait between polls of a server that cannot be reached (1, 2, 4 ... 30 s)."""
MIN_NOT_ANSWERING = 1.0
"""A poll unanswered for an interval (at least this long, and twice the usual round trip) shows
the server as "not answering": a slow but working server must not flicker to it every poll."""

State = Literal["connecting", "connected", "not_answering", "unreachable", "error"]
"""``not_answering``: a poll has waited longer than its interval for an answer (and still
waits); the other states say how the last poll ended."""


@dataclass(frozen=True)
class ConnectionStatus:
    """What polling knows about one server; times are monotonic seconds."""

    host: str = ""
    name: str | None = None
    """The server's configured name (shown before its URL)."""
    version: str | None = None
    state: State = "connecting"
    reason: str = ""
    retry_at: float | None = None
    asked_at: float | None = None
    """When the poll that is not answered was sent (state ``not_answering``)."""
    last_ok: float | None = None
    rtt: float | None = None
    paused: bool = False
    read_only: bool = False
    demo: bool = False

    @property
    def answers(self) -> bool:
        """The last poll got an answer: the lists, or an error reply (the server is there)."""
        return self.state in ("connected", "error")


class Stoppable(Protocol):
    """A timer handle the app keeps on the session."""

    def stop(self) -> None: ...


class LoopTimer:
    """A timer on the running event loop itself (``stop()`` cancels it): a Textual ``Timer``
    is a task of its own, too much to make twice per poll of every server."""

    __slots__ = ("_handle",)

    def __init__(self, delay: float, callback: Callable[[], object]) -> None:
        self._handle = asyncio.get_running_loop().call_later(delay, callback)

    def stop(self) -> None:
        self._handle.cancel()


def next_round(interval: float, now: float) -> float:
    """The delay from ``now`` (the loop's clock) to the next poll round: every server that
    answers is polled on the same beat, so 20 servers cost one update per interval instead of
    20 scattered ones. Rounds are ``interval`` apart; the next one is more than half an
    interval away (after a refresh out of turn, the next poll comes 0.5 to 1.5 intervals
    later, then every interval again)."""
    return (math.floor((now + interval / 2) / interval) + 1) * interval - now


@dataclass(frozen=True)
class PollResult:
    """What a snapshot changed: whether the model lists are new, and the notes not yet said."""

    changed: bool
    notes: tuple[str, ...] = ()


class ServerSession:
    """Everything about one server. Call it from the UI's event loop."""

    def __init__(
        self,
        name: str | None,
        url: str | None,
        headers: Mapping[str, str] | None = None,
        insecure: bool = False,
        *,
        client: OllamaClient | None = None,
        read_only: bool = False,
        demo: bool = False,
    ) -> None:
        self.name = name
        self.headers: dict[str, str] = dict(headers or {})
        self.insecure = insecure
        self.client = client or OllamaClient(url, headers=self.headers, insecure=insecure)
        self.url = self.client.base_url
        """The server's base URL, as resolved by the client (the configured one may be None:
        ``OLLAMA_HOST`` or the default)."""
        # Whether the server answers: the client reports every request to it.
        self.reachability = Reachability()
        self.client.observer = self.reachability
        self.status = ConnectionStatus(host=self.url, name=name, read_only=read_only, demo=demo)
        self.installed: list[LocalModel] = []
        self.running_models: list[RunningModel] = []
        self.show_cache: dict[tuple[str, str], ModelShow] = {}
        """``/api/show`` answers by (model name, digest)."""
        self.loading: set[str] = set()
        """Models being loaded now (a second `l` on one says so instead of loading again)."""
        self.freshness: dict[tuple[str, str], CheckResult] = {}
        """What the outdated check found, by (model name, digest as /api/tags gives it): a
        re-pulled model has a new digest, so an answer about the old one never applies."""
        self.freshness_seen: set[tuple[str, str]] = set()
        """The (name, digest) pairs already looked up in the check's cache."""
        # -- polling -----------------------------------------------------------------------
        self.poll_target: PollTarget | None = None
        """This server on the shared poller (set by the app)."""
        self.poll_count = 0
        self.failures = 0
        """Polls failed in a row: the back-off grows with it."""
        self.polling = False
        """A poll is in flight."""
        self.refresh_pending = False
        """Poll again as soon as the poll in flight ends."""
        self.paused = False
        self.poll_timer: Stoppable | None = None
        self.not_answering_timer: Stoppable | None = None
        self.first_fetch: concurrent.futures.Future[Snapshot] | None = None
        """Sent before the UI existed; shown at mount or awaited by the first poll."""
        self.poll_notes: tuple[str, ...] = ()
        """The last poll's notes (models left out), said once, not at every poll."""
        self.usage: ServerUsage | None = None
        """When each model was last seen loaded (set by the app; the LAST USED column)."""
        self.probes: ProbeStore | None = None
        """The speed probes' results of every server, by (server URL, digest) (the app's
        store, set by the app; the SPEED column and details read this server's)."""
        # -- disk: which weights blob each model uses, learnt in the background ---------------
        self.weights = WeightsIndex(
            lambda name: self.client.show(name), changed=self._weights_learnt
        )
        self.weights_learnt: Callable[[], None] | None = None
        """Called after each ``/api/show`` answer that taught the index something (the app
        sets it, to show the new figures)."""
        self.weights_task: asyncio.Task[None] | None = None
        """The background learning in flight (one at a time per server)."""
        self.weights_timer: Stoppable | None = None
        """The learning about to start (a moment after the list changed)."""
        self.disk_timer: Stoppable | None = None
        """The disk figures' next repaint while answers arrive (at most one pending)."""
        self.weights_again = False
        """The installed list changed while learning: learn once more when it ends."""
        self._weights_version = 0
        self._disk: tuple[object, int, DiskUsage] | None = None

    @property
    def label(self) -> str:
        """What the user sees for this server (``config.server_label``)."""
        return server_label(self.name, self.url)

    def freshness_of(self, model: LocalModel) -> CheckResult | None:
        """What the outdated check found for this very model (its name and digest)."""
        return self.freshness.get((model.name, model.digest)) if self.freshness else None

    def probe_of(self, model: LocalModel) -> ProbeResult | None:
        """The last speed probe of this very model (its digest) on this server."""
        if self.probes is None or not model.digest:
            return None
        return self.probes.get(self.url, model.digest)

    # -- disk ---------------------------------------------------------------------------------

    def disk_in_use(self) -> DiskUsage:
        """What the installed models take on disk, each weights blob once (cloud models take
        nothing); ``complete`` is False until every model's weights are known. Computed again
        only when the list or the index changed (the tables ask at every repaint)."""
        installed, version = self.installed, self._weights_version
        cached = self._disk
        if cached is not None and cached[0] is installed and cached[1] == version:
            return cached[2]
        usage = disk_usage(installed, self.weights.weights)
        self._disk = (installed, version, usage)
        return usage

    def _weights_learnt(self) -> None:
        self._weights_version += 1
        if self.weights_learnt is not None:
            self.weights_learnt()

    def learning_weights(self) -> bool:
        """Learning, or about to (the list changed a moment ago)."""
        if self.weights_timer is not None:
            return True
        return self.weights_task is not None and not self.weights_task.done()

    async def learn_weights(self) -> None:
        """Learn the weights of every installed model (at most ``SHOW_CONCURRENCY`` requests
        in flight); again while the list changed meanwhile. Failed answers stay unknown."""
        while True:
            self.weights_again = False
            installed = self.installed
            # Gone digests count in no figure of this list: no new version needed.
            self.weights.forget_gone(installed)
            try:
                await self.weights.learn(installed)
            except Exception:  # a bug must not end the app; the figure keeps its "≥"
                log.exception("learning the weights of %s failed", self.url)
                return
            if not self.weights_again:
                return

    # -- status ------------------------------------------------------------------------------

    def set_status(self, **changes: Any) -> ConnectionStatus:
        self.status = replace(self.status, **changes)
        return self.status

    def patience(self, interval: float) -> float:
        """How long a poll may go unanswered before the server shows as not answering."""
        return max(interval, MIN_NOT_ANSWERING, 2 * (self.status.rtt or 0.0))

    # -- polling outcomes --------------------------------------------------------------------

    def polled(self, snapshot: Snapshot, now: float) -> PollResult:
        """A poll answered: take its lists and version; the back-off ends."""
        self.failures = 0
        notes: tuple[str, ...] = ()
        if snapshot.notes != self.poll_notes:
            self.poll_notes = notes = snapshot.notes
        changed = not (
            snapshot.installed is self.installed and snapshot.running is self.running_models
        )  # the poller hands back the same lists when nothing changed
        self.installed = snapshot.installed
        self.running_models = snapshot.running
        self.set_status(
            version=snapshot.version or self.status.version,
            state="connected",
            reason="",
            retry_at=None,
            asked_at=None,
            last_ok=now,
            rtt=snapshot.rtt,
        )
        self.reachability.answered()
        return PollResult(changed, notes)

    def poll_failed(self, error: Exception, now: float) -> float:
        """A poll failed: the status says why; returns the delay before the next poll."""
        self.failures += 1
        delay = min(MAX_BACKOFF, 2.0 ** (self.failures - 1))
        if isinstance(error, OllamaError):
            reason = str(error)
        else:
            log.error("poll of %s failed", self.url, exc_info=error)
            reason = f"{type(error).__name__}: {error}"
        self.set_status(
            version=None,  # ask again after reconnecting: the server may have been upgraded
            state="unreachable" if isinstance(error, ServerUnreachable) else "error",
            reason=reason,
            retry_at=None if self.paused else now + delay,
            asked_at=None,
        )
        if isinstance(error, ServerUnreachable):
            self.reachability.lost(reason)
        return delay

    def answered_elsewhere(self) -> bool:
        """Another request got an answer (not a poll): the back-off ends at once.

        True when the status changed, so a fresh poll is due now."""
        if self.status.state not in ("unreachable", "not_answering"):
            return False  # connected already, or a poll that failed with an answer: its error
        self.failures = 0
        self.set_status(state="connected", reason="", retry_at=None, asked_at=None)
        return True

    def toggle_pause(self) -> bool:
        """Pause or resume polling; returns whether it is paused now."""
        self.paused = not self.paused
        self.set_status(paused=self.paused)
        return self.paused

    def stop_timers(self) -> None:
        timers = (self.poll_timer, self.not_answering_timer, self.weights_timer, self.disk_timer)
        for timer in timers:
            if timer is not None:
                timer.stop()
        self.poll_timer = self.not_answering_timer = self.weights_timer = self.disk_timer = None

    async def aclose(self) -> None:
        await self.client.aclose()
