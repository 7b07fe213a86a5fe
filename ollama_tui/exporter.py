"""``ollama-tui export``: the fleet's state as Prometheus metrics, without the UI.

Every configured server is polled by the same :class:`ServerSession` the dashboard uses, through
the one shared :class:`Poller` thread, driven here by plain asyncio tasks instead of the app's
timers (back-off, "not answering", the weights learnt for the disk figure, last-used times, the
outdated check's cached answers). A server that is down or hanging has its own task and never
delays the others.

``/metrics`` is built at scrape time by :class:`FleetCollector` from the sessions as they are,
on a private registry, by ``prometheus_client`` (which writes and escapes the text format).
The web server is aiohttp on the same event loop as the sessions: a scrape reads the sessions
between two of their updates, never in the middle of one (no locks, no thread crossing).

Staleness: a server whose last poll failed, or whose last answer is older than about two
intervals, exports only ``ollama_up 0`` and the time of its last successful poll. Per-model
series of installed models are capped per server (``max_model_series``, largest first); the
server totals always count every model. No Textual or Rich here.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import heapq
import logging
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, Protocol, TextIO

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from ollama_tui.api import LocalModel, limits
from ollama_tui.config import Settings
from ollama_tui.formatting import counted
from ollama_tui.freshness import checkable, freshness_key, session_from_cache
from ollama_tui.last_used import LastUsedStore, ServerUsage
from ollama_tui.poller import Poller, Snapshot
from ollama_tui.probe import ProbeStore, probe_store_path
from ollama_tui.registry import CheckCache, Freshness, RegistryChecker, default_cache_path
from ollama_tui.session import LoopTimer, ServerSession, next_round

__all__ = [
    "DEFAULT_LISTEN",
    "DEFAULT_MAX_MODEL_SERIES",
    "Exporter",
    "FileProbes",
    "FleetCollector",
    "ProbeLike",
    "ProbeSource",
    "label_value",
    "parse_listen",
    "run",
]

log = logging.getLogger(__name__)

DEFAULT_LISTEN = "127.0.0.1:9464"
"""Loopback by default: the metrics name models and servers; listening wider is a choice."""
DEFAULT_MAX_MODEL_SERIES = 10
"""Installed models with series of their own, per server (largest first); 0: totals only.
Ten keeps a scrape of 20 servers x 500 models well under a tenth of a poll round's CPU (bench
row 15: the library writes a series in a few microseconds); 20 sat at the limit, 50 took a
sixth."""
STALE_INTERVALS = 2.0
"""A server's data older than this many poll intervals is not served (only ``up`` 0)."""
LAST_USED_SAVE_INTERVAL = 60.0
"""How often changed last-used times are written (as the dashboard does), and at exit."""


class ProbeLike(Protocol):
    """What the exporter reads of a speed probe's result (``probe.ProbeResult``)."""

    @property
    def server(self) -> str: ...  # the server's base URL
    @property
    def model(self) -> str: ...
    @property
    def digest(self) -> str: ...
    @property
    def kind(self) -> str: ...  # "generate" or "embed"
    @property
    def at(self) -> float: ...
    @property
    def load_seconds(self) -> float: ...
    @property
    def prompt_tokens_per_second(self) -> float | None: ...
    @property
    def tokens_per_second(self) -> float | None: ...
    @property
    def embeddings_per_second(self) -> float | None: ...


class ProbeSource(Protocol):
    """Where probe results are kept (``probe.ProbeStore``)."""

    def results(self) -> Iterable[ProbeLike]: ...


class FileProbes:
    """The probe results the dashboard and ``ollama-tui probe`` keep (``probes.json`` beside
    the last-used file), read again at a scrape when the file has changed since (one ``stat``
    per scrape otherwise). The exporter never writes the file."""

    def __init__(self, store: ProbeStore) -> None:
        self.store = store
        self._stamp: tuple[int, int] | None = self._file_stamp()

    def _file_stamp(self) -> tuple[int, int] | None:
        path = self.store.path
        if path is None:
            return None
        try:
            info = path.stat()
        except OSError:
            return None
        return info.st_mtime_ns, info.st_size

    def results(self) -> list[ProbeLike]:
        stamp = self._file_stamp()
        if stamp != self._stamp:
            self._stamp = stamp
            self.store.merge_saved(self.store.read_saved())
        return list(self.store.results())

    @classmethod
    def for_settings(cls, settings: Settings) -> FileProbes:
        """The store of the settings' state folder, read now (a problem is logged)."""
        store = ProbeStore(probe_store_path(settings.state_path))
        problem = store.load()
        if problem:
            log.warning("%s", problem)
        return cls(store)


def label_value(text: str) -> str:
    """A label value from server text: bounded (``limits.MAX_LABEL_CHARS``), and writable as
    UTF-8 (a JSON ``"\\ud800"`` decodes to a lone surrogate, which no encoder accepts: one such
    name would fail every scrape). Quotes, backslashes and newlines are the library's to
    escape."""
    text = limits.cut(text, limits.MAX_LABEL_CHARS)
    if not text.isascii():
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:9464`` for IPv6; port 0: any free port) -> (host, port)."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep or not host:
        raise ValueError(f"expected HOST:PORT, not {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"not a port number: {port_text!r}") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"not a port number: {port}")
    return host, port


def _largest_first(model: LocalModel) -> tuple[int, str]:
    return (model.size or 0, model.name)


class FleetCollector(Collector):
    """The metrics of every session, read at scrape time (call ``collect`` on their loop)."""

    def __init__(
        self,
        sessions: Sequence[ServerSession],
        *,
        interval: float,
        max_model_series: int = DEFAULT_MAX_MODEL_SERIES,
        probes: ProbeSource | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sessions = sessions
        self.interval = interval
        self.max_model_series = max(0, max_model_series)
        self.probes = probes
        self._clock = clock
        self._monotonic = monotonic
        # Per session: the installed list the chosen models were picked from, and the choice
        # (the poller hands back the same list while nothing changes: picked once).
        self._chosen: dict[int, tuple[object, list[tuple[LocalModel, str]]]] = {}

    def fresh(self, session: ServerSession, now: float) -> bool:
        """The session's last poll answered, recently enough to be served (``now``: the
        monotonic clock, as the session's times)."""
        status = session.status
        if status.state != "connected" or status.last_ok is None:
            return False
        stale_after = max(
            STALE_INTERVALS * self.interval, self.interval + session.patience(self.interval)
        )
        return now - status.last_ok <= stale_after

    def _labels(self) -> list[str]:
        """Each session's ``server`` label: its label (name, else URL), with the URL added when
        two would be the same (two identical label sets would fail the whole scrape)."""
        labels = [label_value(session.label) for session in self.sessions]
        counts = Counter(labels)
        return [
            label if counts[label] == 1 else label_value(f"{session.label} {session.url}")
            for label, session in zip(labels, self.sessions, strict=True)
        ]

    def _chosen_models(self, session: ServerSession) -> list[tuple[LocalModel, str]]:
        """The installed models with series of their own, each with its ``model`` label (two
        names cut alike keep the first: two identical label sets would fail the scrape)."""
        installed = session.installed
        cached = self._chosen.get(id(session))
        if cached is not None and cached[0] is installed:
            return cached[1]
        # Largest first (name next): a stable order, so the series do not churn between polls.
        chosen: list[tuple[LocalModel, str]] = []
        seen: set[str] = set()
        for model in heapq.nlargest(self.max_model_series, installed, key=_largest_first):
            name = label_value(model.name)
            if name not in seen:
                seen.add(name)
                chosen.append((model, name))
        self._chosen[id(session)] = (installed, chosen)
        return chosen

    def collect(self) -> Iterator[Metric]:
        now, mono = self._clock(), self._monotonic()

        def gauge(name: str, doc: str, *labels: str) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, doc, labels=["server", *labels])

        up = gauge("ollama_up", "1 if the server's last poll answered within two intervals")
        last_ok = gauge(
            "ollama_last_poll_success_timestamp_seconds",
            "Unix time of the server's last successful poll",
        )
        version = InfoMetricFamily("ollama_version", "The server's version", labels=["server"])
        rtt = gauge("ollama_poll_rtt_seconds", "Round trip of the last poll (tags and ps)")
        installed = gauge("ollama_models_installed", "Models installed (all of them)")
        running = gauge("ollama_models_running", "Models loaded in memory")
        outdated = gauge(
            "ollama_models_outdated",
            "Installed models whose registry has another version (once checked)",
        )
        disk = gauge("ollama_disk_bytes", "Disk the models take, each weights blob counted once")
        disk_complete = gauge(
            "ollama_disk_bytes_complete", "1 once every model's weights blob is known, else 0"
        )
        omitted = gauge(
            "ollama_model_series_omitted", "Installed models left out of the per-model series"
        )
        run_size = gauge("ollama_running_model_size_bytes", "Memory a loaded model takes", "model")
        run_vram = gauge("ollama_running_model_vram_bytes", "VRAM a loaded model takes", "model")
        run_expires = gauge(
            "ollama_running_model_expires_in_seconds",
            "Seconds until the server unloads the model (its keep_alive runs out)",
            "model",
        )
        run_context = gauge(
            "ollama_running_model_context_length",
            "Context length the model is loaded with",
            "model",
        )
        size = gauge("ollama_model_size_bytes", "An installed model's size", "model")
        model_outdated = gauge(
            "ollama_model_outdated",
            "1 if the model's registry has another version, 0 if not (only once checked)",
            "model",
        )
        model_checked = gauge(
            "ollama_model_update_checked_timestamp_seconds",
            "Unix time of the answer ollama_model_outdated gives",
            "model",
        )
        last_used = gauge(
            "ollama_model_last_used_timestamp_seconds",
            "Unix time the model was last seen loaded (only once seen)",
            "model",
        )
        fresh_sessions: dict[str, ServerSession] = {}
        servers = self._labels()
        for server, session in zip(servers, self.sessions, strict=True):
            status = session.status
            is_fresh = self.fresh(session, mono)
            up.add_metric([server], 1.0 if is_fresh else 0.0)
            if status.last_ok is not None:
                last_ok.add_metric([server], now - (mono - status.last_ok))
            if not is_fresh:
                continue  # its other figures are old: not served as if they were current
            fresh_sessions[session.url] = session
            if status.version:
                version.add_metric([server], {"version": label_value(status.version)})
            if status.rtt is not None:
                rtt.add_metric([server], status.rtt)
            models = session.installed
            installed.add_metric([server], len(models))
            running.add_metric([server], len(session.running_models))
            results = session.freshness.values()
            if results:  # only once a check has answered: "0 outdated" is a claim
                outdated.add_metric(
                    [server], sum(1 for r in results if r.state is Freshness.OUTDATED)
                )
            usage = session.disk_in_use()
            disk.add_metric([server], usage.total)
            disk_complete.add_metric([server], 1.0 if usage.complete else 0.0)
            self._running(server, session, now, run_size, run_vram, run_expires, run_context)
            chosen = self._chosen_models(session)
            omitted.add_metric([server], len(models) - len(chosen))
            self._installed(server, session, chosen, size, model_outdated, model_checked, last_used)
        yield from (up, last_ok, version, rtt, installed, running, outdated)
        yield from (disk, disk_complete, omitted, run_size, run_vram, run_expires, run_context)
        yield from (size, model_outdated, model_checked, last_used)
        if self.probes is not None:
            by_url = {s.url: label for s, label in zip(self.sessions, servers, strict=True)}
            yield from self._probe_metrics(fresh_sessions, by_url)

    @staticmethod
    def _running(
        server: str,
        session: ServerSession,
        now: float,
        size: GaugeMetricFamily,
        vram: GaugeMetricFamily,
        expires: GaugeMetricFamily,
        context: GaugeMetricFamily,
    ) -> None:
        seen: set[str] = set()
        for model in session.running_models:
            name = label_value(model.name)
            if name in seen:  # a server listing a model twice (or two names cut alike)
                continue
            seen.add(name)
            labels = [server, name]
            if model.size is not None:
                size.add_metric(labels, model.size)
            if model.size_vram is not None:
                vram.add_metric(labels, model.size_vram)
            if model.expires_at is not None:
                expires.add_metric(labels, max(0.0, _timestamp(model.expires_at) - now))
            if model.context_length is not None:
                context.add_metric(labels, model.context_length)

    @staticmethod
    def _installed(
        server: str,
        session: ServerSession,
        chosen: Sequence[tuple[LocalModel, str]],
        size: GaugeMetricFamily,
        outdated: GaugeMetricFamily,
        checked: GaugeMetricFamily,
        last_used: GaugeMetricFamily,
    ) -> None:
        usage = session.usage
        for model, name in chosen:
            labels = [server, name]
            if model.size is not None:
                size.add_metric(labels, model.size)
            result = session.freshness_of(model)
            if result is not None and result.state is not Freshness.UNKNOWN:
                # Unknown is never reported as "not outdated": no series at all.
                outdated.add_metric(labels, 1.0 if result.state is Freshness.OUTDATED else 0.0)
                checked.add_metric(labels, result.checked_at)
            when = usage.last_used(model.name) if usage is not None else None
            if when is not None:
                last_used.add_metric(labels, when)

    def _probe_metrics(
        self, fresh: dict[str, ServerSession], labels: dict[str, str]
    ) -> Iterator[Metric]:
        """Probe results of models installed now on a fresh server, with the same digest (a
        re-pulled model's old speed is not its speed); the newest per (server, model, kind)."""
        assert self.probes is not None
        newest: dict[tuple[str, str, str], ProbeLike] = {}
        installed: dict[str, set[tuple[str, str]]] = {}
        for result in self.probes.results():
            session = fresh.get(result.server)
            if session is None:
                continue
            names = installed.get(session.url)
            if names is None:
                names = installed[session.url] = {(m.name, m.digest) for m in session.installed}
            if (result.model, result.digest) not in names:
                continue
            key = (labels[session.url], label_value(result.model), label_value(str(result.kind)))
            known = newest.get(key)
            if known is None or result.at > known.at:
                newest[key] = result

        def gauge(name: str, doc: str) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, doc, labels=["server", "model", "kind"])

        tokens = gauge("ollama_probe_tokens_per_second", "Generated tokens per second (probe)")
        prompt = gauge("ollama_probe_prompt_tokens_per_second", "Prompt tokens per second (probe)")
        embeds = gauge("ollama_probe_embeddings_per_second", "Embeddings per second (probe)")
        load = gauge("ollama_probe_load_seconds", "Time the probe waited for the model to load")
        at = gauge("ollama_probe_timestamp_seconds", "Unix time the probe ran")
        for key, result in newest.items():
            labels_ = list(key)
            for family, value in (
                (tokens, result.tokens_per_second),
                (prompt, result.prompt_tokens_per_second),
                (embeds, result.embeddings_per_second),
            ):
                if value is not None:
                    family.add_metric(labels_, value)
            load.add_metric(labels_, result.load_seconds)
            at.add_metric(labels_, result.at)
        yield from (tokens, prompt, embeds, load, at)


def _timestamp(when: datetime) -> float:
    try:
        return when.timestamp()
    except (OverflowError, OSError, ValueError):  # a year past what the platform can tell
        return float("inf")


class Exporter:
    """Polls every server of ``settings`` and serves their metrics (``start``, ``serve``,
    ``aclose``; all on one event loop)."""

    def __init__(
        self,
        settings: Settings,
        *,
        max_model_series: int = DEFAULT_MAX_MODEL_SERIES,
        probes: ProbeSource | None = None,
        check_cache: CheckCache | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.interval = settings.interval
        self._clock = clock
        self._monotonic = monotonic
        self.sessions = [
            ServerSession(server.name, server.url, server.headers, server.insecure)
            for server in settings.servers
        ]
        first = self.sessions[0]
        # One poller (one thread) for every server, as in the dashboard.
        self.poller = Poller(
            first.url, headers=first.headers, insecure=first.insecure, monotonic=monotonic
        )
        self.last_used = LastUsedStore(settings.state_path)
        for session in self.sessions:
            session.poll_target = self.poller.add(session.url, session.headers, session.insecure)
            session.usage = ServerUsage(self.last_used, session.url)
            session.reachability.subscribe(functools.partial(self._reachability_changed, session))
        self.check_cache = check_cache or CheckCache(default_cache_path())
        self.collector = FleetCollector(
            self.sessions,
            interval=self.interval,
            max_model_series=max_model_series,
            probes=probes,
            clock=clock,
            monotonic=monotonic,
        )
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self.collector)
        self.polls = 0
        """Polls ended (answered or failed), for tests and the bench."""
        self._polled_once: set[int] = set()
        self._first_round = asyncio.Event()
        self._wake: dict[int, asyncio.Event] = {id(s): asyncio.Event() for s in self.sessions}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        self._runner: web.AppRunner | None = None

    # -- serving -------------------------------------------------------------------------------

    def render(self) -> bytes:
        """One scrape's body (what ``/metrics`` answers)."""
        return generate_latest(self.registry)

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=self.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _health(self, request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def _index(self, request: web.Request) -> web.Response:
        return web.Response(text="ollama-tui exporter: /metrics, /health\n")

    async def serve(self, host: str, port: int) -> str:
        """Listen on ``host:port`` (0: any free port); returns the base URL."""
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/health", self._health)
        app.router.add_get("/", self._index)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        self._runner = runner
        site = web.TCPSite(runner, host, port)
        await site.start()
        address = runner.addresses[0]
        shown = f"[{address[0]}]" if ":" in str(address[0]) else str(address[0])
        return f"http://{shown}:{address[1]}"

    # -- polling -------------------------------------------------------------------------------

    def start(self) -> None:
        """Start polling every server (each in its own task), saving last-used times, and the
        background checks for updates when ``check_interval`` is set."""
        self.poller.start()
        for session in self.sessions:
            self._spawn(self._poll_loop(session), "poll")
        self._spawn(self._save_loop(), "save last used")
        if self.settings.check_interval > 0:
            self._spawn(self._check_loop(self.settings.check_interval * 3600), "check")

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _poll_loop(self, session: ServerSession) -> None:
        wake = self._wake[id(session)]
        while not self._closing:
            try:
                delay = await self._poll_once(session)
            except Exception:  # a bug in applying a poll must not end the exporter
                log.exception("poll of %s failed", session.url)
                delay = self.interval
            wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), max(0.0, delay))

    async def _poll_once(self, session: ServerSession) -> float:
        """One poll of ``session``; the delay before the next (the round's beat, or the
        back-off after a failure)."""
        loop = asyncio.get_running_loop()
        delay = next_round(self.interval, loop.time())
        session.polling = True
        # As the dashboard: an unanswered poll shows as "not answering" after its patience
        # (the request's own timeout is far longer); ``up`` is 0 from then on.
        session.not_answering_timer = LoopTimer(
            session.patience(self.interval),
            functools.partial(self._not_answering, session, self._monotonic()),
        )
        was = session.status.state
        try:
            snapshot = await self.poller.poll(
                session.poll_target, with_version=session.status.version is None
            )
        except Exception as error:  # network or server trouble never ends the exporter
            delay = session.poll_failed(error, self._monotonic())
            if was != session.status.state:
                log.warning("%s: %s", session.label, session.status.reason)
        else:
            self._polled(session, snapshot)
            if was not in ("connecting", "connected"):
                log.warning("%s: answers again", session.label)
        finally:
            session.polling = False
            if session.not_answering_timer is not None:
                session.not_answering_timer.stop()
                session.not_answering_timer = None
            self.polls += 1
            self._polled_once.add(id(session))
            if len(self._polled_once) == len(self.sessions) and not self._first_round.is_set():
                self._first_round.set()
                # As the dashboard does after its first polls: what is alive now (the lists of
                # thousands of models) lives on; kept out of the collector's full passes, which
                # the objects each scrape makes would otherwise set off.
                gc.collect()
                gc.freeze()
        return delay

    def _not_answering(self, session: ServerSession, asked_at: float) -> None:
        session.not_answering_timer = None
        if session.polling and not self._closing:
            session.set_status(state="not_answering", asked_at=asked_at, retry_at=None)

    def _polled(self, session: ServerSession, snapshot: Snapshot) -> None:
        """A poll answered: what the dashboard's ``_polled`` does, without the screens."""
        before = session.installed
        result = session.polled(snapshot, self._monotonic())
        for note in result.notes:
            log.warning("%s: %s", session.label, note)
        if session.installed is not before:
            self._learn_weights(session)
        if result.changed:
            session_from_cache(
                session, self.check_cache, self.settings.insecure_registries, self._clock()
            )
        if session.usage is not None:
            session.usage.polled(session.running_models, session.installed, self._clock())

    def _reachability_changed(self, session: ServerSession, reachable: bool) -> None:
        """Another request (a show) got an answer: a back-off ends at once, a poll is due."""
        if reachable and not session.polling and not self._closing and session.answered_elsewhere():
            self._wake[id(session)].set()

    def _learn_weights(self, session: ServerSession) -> None:
        """The installed list changed: learn the new models' weights in the background (one
        round at a time per server; a change meanwhile makes it go round again)."""
        if self._closing:
            return
        if session.learning_weights():
            session.weights_again = True
            return
        session.weights_task = self._spawn(session.learn_weights(), "weights")

    # -- last used and the check for updates -------------------------------------------------

    async def _save_loop(self) -> None:
        while True:
            await asyncio.sleep(LAST_USED_SAVE_INTERVAL)
            await self.last_used.save_in_background()
            self._say_last_used_warning()

    def _say_last_used_warning(self) -> None:
        if self.last_used.warning:
            log.warning("%s", self.last_used.warning)
            self.last_used.warning = None

    async def _check_loop(self, every: float) -> None:
        """Once every server has been polled, then every ``every`` seconds: check the models
        (answers cached within that time are used instead of asking again)."""
        await self._first_round.wait()
        while True:
            try:
                await self.check_now(max_age=every)
            except Exception:  # a bug must not end the exporter
                log.exception("check for updates failed")
            await asyncio.sleep(every)

    async def check_now(self, *, max_age: float = 0.0) -> None:
        """Check every server's installed models against their registries."""
        pairs = [(s, m) for s in self.sessions for m in s.installed if checkable(m)]
        if not pairs:
            return
        async with RegistryChecker(
            insecure_registries=self.settings.insecure_registries,
            registry_urls=self.settings.registry_urls,
            cache=self.check_cache,
            max_age=max_age,
        ) as checker:
            results = await checker.check_many(freshness_key(m) for _, m in pairs)
        for (session, model), result in zip(pairs, results, strict=True):
            session.freshness[freshness_key(model)] = result

    # -- the end -----------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Stop polling and serving; last-used times written; every client closed."""
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for session in self.sessions:
            session.stop_timers()
        try:
            if self._runner is not None:
                await self._runner.cleanup()
        finally:
            try:
                self.last_used.save()
                self._say_last_used_warning()
                await self.poller.aclose()
            finally:
                for session in self.sessions:
                    await session.aclose()


def run(
    settings: Settings,
    *,
    listen: tuple[str, int],
    max_model_series: int = DEFAULT_MAX_MODEL_SERIES,
    probes: ProbeSource | None = None,
    err: TextIO | None = None,
) -> int:
    """The ``export`` command: serve until SIGTERM (exit 0) or Ctrl-C. ``probes``: where the
    speed probes' results are read at each scrape (default: the state folder's probes.json,
    as the dashboard and ``ollama-tui probe`` write it)."""
    err = err or sys.stderr
    logging.basicConfig(level=logging.WARNING, format="ollama-tui export: %(message)s")

    async def main() -> int:
        source = probes if probes is not None else FileProbes.for_settings(settings)
        exporter = Exporter(settings, max_model_series=max_model_series, probes=source)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on Windows
            loop.add_signal_handler(signal.SIGTERM, stop.set)
        try:
            exporter.start()
            try:
                url = await exporter.serve(*listen)
            except OSError as error:  # e.g. the port is taken
                print(
                    f"ollama-tui export: cannot listen on {listen[0]}:{listen[1]}: {error}",
                    file=err,
                )
                return 1
            servers = counted(len(exporter.sessions), "server")
            print(
                f"ollama-tui export: serving {url}/metrics for {servers}, "
                f"polled every {settings.interval:g} s",
                file=err,
                flush=True,
            )
            await stop.wait()
            return 0
        finally:
            await exporter.aclose()

    return asyncio.run(main())
