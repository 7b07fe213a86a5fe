"""The App: stylesheets, sessions and jobs lifetime, polling, and routing to screens.

Each server is a :class:`ServerSession` (``self.sessions``, in order; ``self.session`` is the
current one). Each session polls in one worker at a time and re-arms its timer only after a
poll has finished, so a slow server never stacks requests; an unreachable server backs off
1, 2, 4 ... 30 s. A poll still unanswered after an interval shows the server as "not answering"
while it waits. Whether a server answers is recorded in one place, its session's
``reachability``: polls and the session's client report to it, and any success ends the
back-off at once (and wakes jobs waiting for the server). The fetching itself runs on the
poller's one thread for every server; results come back as :class:`SessionPolled` messages.
Job changes are published on ``jobs_changed_signal``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import events, on
from textual.app import App, ScreenStackError
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.signal import Signal
from textual.theme import Theme
from textual.widget import Widget
from textual.widgets import Static

from ollama_tui.api import LocalModel, ModelShow, OllamaClient, RunningModel
from ollama_tui.config import Settings, save_theme
from ollama_tui.formatting import counted
from ollama_tui.jobs import Job, JobKind, JobQueue, JobState, explain_job_error
from ollama_tui.last_used import LastUsedStore, ServerUsage
from ollama_tui.messages import (
    CopyToServersRequested,
    DashboardReady,
    DetailsRequested,
    FreshnessCheckRequested,
    ModelGroups,
    PauseRequested,
    ProbeRequested,
    QuitRequested,
    RefreshRequested,
    ServerPicked,
    SessionPolled,
    UpdateOutdatedRequested,
    WhereRequested,
)
from ollama_tui.notifications import SafeNotifyApp
from ollama_tui.operations import Operations
from ollama_tui.poller import Poller, Snapshot
from ollama_tui.reachability import Reachability
from ollama_tui.screens.dashboard import DashboardScreen
from ollama_tui.screens.help import BindingCommands, HelpScreen, collect_help
from ollama_tui.screens.where import WhereScreen
from ollama_tui.session import (
    MAX_BACKOFF,
    ConnectionStatus,
    LoopTimer,
    ServerSession,
    next_round,
)
from ollama_tui.stylesheets import stylesheet_path

__all__ = ["MAX_BACKOFF", "OllamaTuiApp", "release_dead_styles_caches"]

if TYPE_CHECKING:
    from textual.worker import Worker

    from ollama_tui.registry import CheckCache, RegistryChecker

log = logging.getLogger(__name__)

# How often the render caches of removed widgets are let go (see release_dead_styles_caches).
STYLES_CACHE_RELEASE_INTERVAL = 30.0
# Longest the collector stays paused at start-up when the first poll takes long.
STARTUP_GC_PAUSE = 3.0
# How often changed last-used times are written (and at exit).
LAST_USED_SAVE_INTERVAL = 60.0
# While the weights are being learnt, the disk figures follow at most this often (5,000 answers
# must not mean 5,000 repaints of the totals).
DISK_REFRESH_INTERVAL = 0.5
# How long after a change to the installed list its new models' weights are asked for.
WEIGHTS_DELAY = 0.5
# Below this the tables and dialogs cannot show what matters: a notice instead.
MIN_WIDTH = 50
MIN_HEIGHT = 12


class OllamaTuiApp(SafeNotifyApp[None]):
    """A live dashboard for one Ollama server."""

    TITLE = "ollama-tui"
    CSS_PATH: ClassVar[list[str | PurePath]] = [stylesheet_path("app.tcss")]
    COMMANDS = App.COMMANDS | {BindingCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", id="help"),
    ]

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        monotonic: Callable[[], float] | None = None,
        client: OllamaClient | None = None,
        poller: Poller | None = None,
        resume_gc: bool = False,
    ) -> None:
        super().__init__()
        self.settings = settings or Settings()
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.monotonic: Callable[[], float] = monotonic or time.monotonic
        self.read_only = self.settings.read_only
        # One session per configured server, in order; the first may use a given client.
        self.sessions: list[ServerSession] = [
            ServerSession(
                server.name,
                server.url,
                server.headers,
                server.insecure,
                client=client if index == 0 else None,
                read_only=self.read_only,
                demo=self.settings.demo,
            )
            for index, server in enumerate(self.settings.servers)
        ]
        self._current = 0
        # The entry point may hand over a poller whose first fetch is already under way. One
        # poller (one thread) serves every session.
        first = self.sessions[0]
        self.poller = poller or Poller(
            first.url, headers=first.headers, insecure=first.insecure, monotonic=self.monotonic
        )
        for session in self.sessions:
            session.poll_target = self.poller.add(session.url, session.headers, session.insecure)
            session.reachability.subscribe(functools.partial(self._reachability_changed, session))
            session.weights_learnt = functools.partial(self._weights_learnt, session)
        # When each model was last seen loaded, per server (by URL), kept across restarts.
        self.last_used = LastUsedStore(self.settings.state_path)
        for session in self.sessions:
            session.usage = ServerUsage(self.last_used, session.url)
        self._last_used_write: asyncio.Task[None] | None = None
        self._last_used_said: str | None = None
        # Speed probe results per (server URL, digest), kept across restarts beside them.
        from ollama_tui.probe import ProbeStore, probe_store_path

        self.probes = ProbeStore(probe_store_path(self.settings.state_path))
        self._probes_problem = self.probes.load()  # said once mounted
        self._probes_write: asyncio.Task[None] | None = None
        for session in self.sessions:
            session.probes = self.probes
        self.sessions_changed_signal: Signal[ServerSession] = Signal(self, "sessions-changed")
        """A poll changed a server's lists (installed or running): views of the fleet listen."""
        self.jobs_changed_signal: Signal[Job] = Signal(self, "jobs-changed")
        self.probes_changed_signal: Signal[object] = Signal(self, "probes-changed")
        """A speed probe's result was kept (a ``ProbeResult``): open details follow."""
        """Every change of a job (state or progress): the jobs view, strip and editor listen."""
        self.jobs = JobQueue(
            server=lambda: self.session,
            max_transfers=self.settings.max_transfers,
            on_change=self.jobs_changed_signal.publish,
            on_finished=self._job_finished,
            reconnect_timeout=self.settings.reconnect_timeout,
            probe=self._probe_server,
        )
        self.jobs.show_servers = len(self.sessions) > 1
        # One Operations per server: switching servers just picks another.
        self._operations: dict[int, Operations] = {}
        self.poll_count = 0
        self._saved_theme: str | None = None
        self._focus_before_small: dict[Screen[Any], Widget | None] = {}
        self._resume_gc = resume_gc
        self._closing = False
        self._poll_tasks: set[asyncio.Task[None]] = set()
        """Polls and the background learning of weights: cancelled when the app ends."""
        self._weights_deferred: list[ServerSession] = []
        """Sessions whose learning waits for every server's first poll."""
        self.dashboard: DashboardScreen | None = None
        # The outdated check (see "outdated check" below).
        self._check_cache_: CheckCache | None = None
        self._freshness_worker: Worker[None] | None = None
        self._first_check_pending = self.settings.demo or self.settings.check_interval > 0
        if self.settings.keymap:
            self.set_keymap(dict(self.settings.keymap))

    # --- the current session --------------------------------------------------------------------

    @property
    def session(self) -> ServerSession:
        """The server the dashboard shows."""
        return self.sessions[self._current]

    # The current session's state, for the entry point and tests; screens and operations are
    # handed their session instead.
    @property
    def operations(self) -> Operations:
        """The model operations on the current server."""
        return self.operations_for(self.session)

    def operations_for(self, session: ServerSession) -> Operations:
        operations = self._operations.get(id(session))
        if operations is None:
            operations = self._operations[id(session)] = Operations(
                self,
                session,
                self.jobs,
                self.jobs_changed_signal,
                read_only=self.read_only,
                load_timeout=self.settings.load_timeout,
                registry=self._registry_checker,
                insecure_registries=self.settings.insecure_registries,
                # The dialogs name the server only when there is more than one.
                server_label=session.label if len(self.sessions) > 1 else None,
            )
        return operations

    def _registry_checker(self) -> RegistryChecker:
        """A checker of models against their registries, as the settings say to reach them."""
        # Imported on first use: start-up does not need it.
        from ollama_tui.registry import RegistryChecker

        return RegistryChecker(
            insecure_registries=self.settings.insecure_registries,
            registry_urls=self.settings.registry_urls,
            cache=self._check_cache(),
        )

    def switch_server(self, index: int) -> None:
        """Make server ``index`` (0-based) current: the tables, status line and operations
        follow it."""
        if not 0 <= index < len(self.sessions) or index == self._current:
            return
        self._current = index
        session = self.session
        if self.dashboard is not None:
            self.dashboard.switch_session(session, self.operations)

    @on(ServerPicked)
    def _server_picked(self, message: ServerPicked) -> None:
        count = len(self.sessions)
        if count < 2 or self.dashboard is None:
            return
        if message.all_servers:
            self.dashboard.show_all_servers(True)
            return
        if message.index is not None:
            index = message.index
        else:
            # The cycle: every server, then "all servers" (position ``count``).
            position = count if self.dashboard.all_servers else self._current
            index = (position + message.step) % (count + 1)
            if index == count:
                self.dashboard.show_all_servers(True)
                return
        if index == self._current and 0 <= index < count:
            self.dashboard.show_all_servers(False)
        self.switch_server(index)

    @property
    def client(self) -> OllamaClient:
        return self.session.client

    @property
    def reachability(self) -> Reachability:
        return self.session.reachability

    @property
    def status(self) -> ConnectionStatus:
        return self.session.status

    @property
    def installed(self) -> list[LocalModel]:
        return self.session.installed

    @property
    def running_models(self) -> list[RunningModel]:
        return self.session.running_models

    @property
    def show_cache(self) -> dict[tuple[str, str], ModelShow]:
        return self.session.show_cache

    # --- lifetime -------------------------------------------------------------------------------

    def get_default_screen(self) -> Screen[Any]:
        self.dashboard = DashboardScreen(
            self.session,
            self.operations,
            self.jobs,
            self.jobs_changed_signal,
            clock=self.clock,
            monotonic=self.monotonic,
            read_only=self.read_only,
            sessions=self.sessions,
            operations_for=self.operations_for,
        )
        return self.dashboard

    def push_screen(self, *args: Any, **kwargs: Any) -> Any:
        result = super().push_screen(*args, **kwargs)
        self.call_after_refresh(self._fit_screens)
        return result

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.InputEvent, events.Paste)):
            self._drop_dead_focus()
        await super().on_event(event)
        # App._on_resize stops the event, so an on_resize handler here would never run.
        if isinstance(event, events.Resize):
            self._fit_screens()

    def _drop_dead_focus(self) -> None:
        """Take the focus off a widget that has left the DOM, before it gets a key.

        Textual looks for bindings along the focused widget's ancestors and hands it the key:
        a removed widget has none, so no key (not even quit) and no click would do anything.
        """
        try:
            screen = self.screen
        except ScreenStackError:  # no screen yet, or no longer
            return
        focused = screen.focused
        if focused is not None and not focused.is_attached:
            screen.set_focus(None)

    def _fit_screens(self) -> None:
        """Below the smallest usable size every screen shows a notice instead of clipped parts."""
        width, height = self.size
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        if small and not self.has_class("-too-small"):
            # Hidden widgets lose the focus: remember it, to give it back afterwards.
            self._focus_before_small = {screen: screen.focused for screen in self.screen_stack}
        self.set_class(small, "-too-small")
        if not small:
            remembered, self._focus_before_small = self._focus_before_small, {}
            for screen, widget in remembered.items():
                if widget is not None and widget.is_attached:
                    # As when the terminal regains focus: an Input keeps its cursor and does
                    # not select all its text (which the next key would replace).
                    screen.set_focus(widget, from_app_focus=True)
            return
        message = Text(
            f"Terminal too small ({width}x{height}).\nollama-tui needs at least "
            f"{MIN_WIDTH}x{MIN_HEIGHT}.",
            justify="center",
        )
        for screen in self.screen_stack:
            notices = screen.query_children(TooSmallNotice)
            if notices:
                notices.first().update(message)
            else:
                screen.mount(TooSmallNotice(message))

    def on_load(self) -> None:
        # The first fetch goes out now (if the entry point has not sent it already), while
        # Textual is still building the first frame.
        self.poller.prefetch_many(
            [s.poll_target for s in self.sessions if s.poll_target is not None]
        )
        for session in self.sessions:
            session.first_fetch = self.poller.take_prefetch(session.poll_target)

    def on_mount(self) -> None:
        if self.settings.theme:
            if self.settings.theme in self.available_themes:
                self.theme = self.settings.theme
            else:
                self.notify(
                    f"Unknown theme {self.settings.theme!r}", severity="warning", markup=False
                )
        self._saved_theme = self.theme  # start-up theme (maybe from --theme): not a choice
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        for session in self.sessions:
            self._publish_status(session)
        self.set_interval(
            STYLES_CACHE_RELEASE_INTERVAL, release_dead_styles_caches, name="release caches"
        )
        if self._resume_gc:
            # A server that never answers must not keep the collector off for long.
            self.set_timer(STARTUP_GC_PAUSE, self.end_startup, name="end start-up")
        self._say_last_used_warning()  # e.g. a corrupt file set aside
        if self._probes_problem:
            self.notify(
                self._probes_problem, title="Speed probes", severity="warning", markup=False
            )
        self.set_interval(LAST_USED_SAVE_INTERVAL, self._save_last_used, name="save last used")

    @on(DashboardReady)
    def _dashboard_ready(self) -> None:
        self.begin_polling()
        self._start_background_checks()

    def begin_polling(self) -> None:
        """Called once the dashboard is mounted: show each first fetch, or poll now."""
        for session in self.sessions:
            first = session.first_fetch
            if (
                first is not None
                and first.done()
                and not first.cancelled()
                and first.exception() is None
            ):
                # Usually the case (it was sent before Textual was imported): shown in the very
                # first frame instead of one poll worker later.
                session.first_fetch = None
                self._polled(session, first.result())
                self._schedule_poll(session, self._next_round())
            else:
                self._schedule_poll(session, 0)

    def end_startup(self) -> None:
        """Turn the garbage collector back on if the entry point paused it (idempotent)."""
        if self._resume_gc:
            self._resume_gc = False
            # Start-up's cyclic garbage is collected once (after the first frame is drawn),
            # then what is left lives as long as the app: frozen, never scanned again.
            gc.collect()
            gc.freeze()
            gc.enable()

    async def on_unmount(self) -> None:
        self._closing = True  # no poll may start while the poller shuts down
        for task in list(self._poll_tasks):
            task.cancel()
        await self._save_last_used_now()
        if self._probes_write is not None:  # a probe's result is never lost to quitting
            with contextlib.suppress(Exception):
                await self._probes_write
        for session in self.sessions:
            session.stop_timers()
            if session.first_fetch is not None:
                session.first_fetch.cancel()
        try:
            await self.jobs.aclose()
        finally:
            try:
                await self.poller.aclose()
            finally:
                for session in self.sessions:
                    await session.aclose()

    def _theme_changed(self, theme: Theme) -> None:
        """Remember a theme chosen in the palette in the config file."""
        path = self.settings.config_path
        if path is None or theme.name == self._saved_theme:
            return
        self._saved_theme = theme.name
        try:
            save_theme(path, theme.name)
        except Exception as error:  # a read-only home must not break theme switching
            self.notify(
                f"Could not save the theme to {path}: {error}", severity="warning", markup=False
            )

    # --- polling --------------------------------------------------------------------------------

    def request_refresh(self, session: ServerSession | None = None) -> None:
        """Poll now (non-blocking); during a poll, poll again as soon as it finishes."""
        session = session or self.session
        if session.polling:
            session.refresh_pending = True
        else:
            self._schedule_poll(session, 0)

    @on(RefreshRequested)
    def _refresh_requested(self, message: RefreshRequested) -> None:
        self.request_refresh(message.session)

    @on(PauseRequested)
    def _pause_requested(self, message: PauseRequested) -> None:
        self.toggle_pause(message.session)

    def toggle_pause(self, session: ServerSession | None = None) -> None:
        session = session or self.session
        if session.toggle_pause():
            if session.poll_timer is not None:
                session.poll_timer.stop()
        else:
            self.request_refresh(session)
        self._publish_status(session)

    @property
    def paused(self) -> bool:
        """The current server's polling is paused."""
        return self.session.paused

    @property
    def polling(self) -> bool:
        """A poll of the current server is in flight."""
        return self.session.polling

    def _schedule_poll(self, session: ServerSession, delay: float) -> None:
        if session.poll_timer is not None:
            session.poll_timer.stop()
            session.poll_timer = None
        start = functools.partial(self._start_poll, session)
        session.poll_timer = LoopTimer(max(0.0, delay), start)

    def _start_poll(self, session: ServerSession) -> None:
        if self._closing:
            return
        if session.polling:
            session.refresh_pending = True
            return
        session.polling = True
        if session.status.retry_at is not None:
            # The retry is under way: not "retrying in 0 s".
            self._set_status(session, retry_at=None)
        # A plain task, not a worker: a worker's state changes are messages, and 20 servers
        # polled every interval made them most of the UI's time per poll round. One poll per
        # server at a time is ``session.polling``; ``_poll`` catches every failure.
        task = asyncio.get_running_loop().create_task(self._poll(session), name="poll")
        self._poll_tasks.add(task)
        task.add_done_callback(self._poll_tasks.discard)
        # The request's own timeout (10 s) is far too long to leave the status line saying
        # "connected": after an interval without an answer it says "not answering".
        self._stop_not_answering_timer(session)
        session.not_answering_timer = LoopTimer(
            session.patience(self.settings.interval),
            functools.partial(self._not_answering, session, self.monotonic()),
        )

    def _not_answering(self, session: ServerSession, asked_at: float) -> None:
        session.not_answering_timer = None
        if session.polling and not self._closing:
            self._set_status(session, state="not_answering", asked_at=asked_at, retry_at=None)

    def _stop_not_answering_timer(self, session: ServerSession) -> None:
        if session.not_answering_timer is not None:
            session.not_answering_timer.stop()
            session.not_answering_timer = None

    def _next_round(self) -> float:
        """The delay to the next poll round (``session.next_round``)."""
        return next_round(self.settings.interval, asyncio.get_running_loop().time())

    async def _poll(self, session: ServerSession) -> None:
        try:
            await self._poll_once(session)
        except Exception:  # a bug in showing a poll must not stop polling, nor end the app
            log.exception("poll of %s failed", session.url)
            session.polling = False
            if not self._closing and not session.paused:
                self._schedule_poll(session, self.settings.interval)

    async def _poll_once(self, session: ServerSession) -> None:
        delay = self._next_round()
        snapshot: Snapshot | None = None
        try:
            first, session.first_fetch = session.first_fetch, None
            if first is not None:
                snapshot = await asyncio.wrap_future(first)
            else:
                snapshot = await self.poller.poll(
                    session.poll_target, with_version=session.status.version is None
                )
        except Exception as error:  # network or server trouble must never end the app
            delay = self._poll_failed(session, error)
        finally:
            session.polling = False
            self._stop_not_answering_timer(session)
        if snapshot is not None:
            # Applied by the message's handler: the same one path for every server.
            self.post_message(SessionPolled(session, snapshot))
        else:
            self._count_poll()
        if session.paused:
            return
        if session.refresh_pending:
            session.refresh_pending = False
            delay = 0
        self._schedule_poll(session, delay)

    async def _probe_server(self, job: Job) -> None:
        """Asked by a transfer waiting for its server when nothing else asks (polling paused):
        the answer reaches the session's reachability through its client."""
        session = job.server if isinstance(job.server, ServerSession) else self.session
        await session.client.version()

    def _count_poll(self) -> None:
        self.poll_count += 1
        if self._weights_deferred and self.poll_count >= len(self.sessions):
            self._start_deferred_learning()
        # Once every server's first poll is in (a fleet's 20 first fetches must not wait for
        # a full collection of what the first ones made).
        if self._resume_gc and self.poll_count >= len(self.sessions):
            self.call_after_refresh(self.end_startup)  # once this poll is on screen

    @on(SessionPolled)
    def _session_polled(self, message: SessionPolled) -> None:
        if not self._closing:
            self._polled(message.session, message.snapshot)

    def _polled(self, session: ServerSession, snapshot: Snapshot) -> None:
        first = not session.installed and not session.running_models
        installed_before = session.installed
        result = session.polled(snapshot, self.monotonic())
        if session.installed is not installed_before:
            self._learn_weights(session)
        for note in result.notes:
            self.notify(note, title="Too many models", severity="warning", markup=False)
        if result.changed:
            self.sessions_changed_signal.publish(session)
            if session is self.session and self.dashboard is not None:
                self.dashboard.show_models(session.installed, session.running_models)
            if self.dashboard is not None:
                self.dashboard.models_changed(session)
            if first and session.installed and not self._resume_gc:  # else end_startup()
                # Everything alive now (the app, thousands of rows) lives as long as the app:
                # keep it out of the garbage collector's full passes, which otherwise take tens
                # of milliseconds at 5,000 models and show up as stutters in key presses.
                gc.freeze()
        self._publish_status(session)
        self._count_poll()
        if result.changed:
            self._freshness_polled(session)
        self._record_usage(session)

    # --- last used --------------------------------------------------------------------------------

    def _record_usage(self, session: ServerSession) -> None:
        """A poll answered: note which models are loaded (O(running) unless the installed
        list changed); the LAST USED column follows when what it shows changed."""
        usage = session.usage
        if usage is None:
            return
        now = self.clock().timestamp()
        if usage.polled(session.running_models, session.installed, now) and self.dashboard:
            self.dashboard.usage_changed(session)

    def _save_last_used(self) -> None:
        """Every minute: write what changed (the file's work on a thread)."""
        if self._last_used_write is not None and not self._last_used_write.done():
            return  # the last write is still going: the next minute takes the rest
        if self.last_used.changed:
            self._last_used_write = asyncio.get_running_loop().create_task(
                self._write_last_used(), name="save last used"
            )

    async def _write_last_used(self) -> None:
        await self.last_used.save_in_background()
        self._say_last_used_warning()

    async def _save_last_used_now(self) -> None:
        """At exit: after a write under way (an older one must not land last), the rest."""
        try:
            if self._last_used_write is not None:
                with contextlib.suppress(Exception):
                    await self._last_used_write
            self.last_used.save()
        except Exception:  # never in the way of quitting
            log.exception("saving last-used times failed")
        if self.last_used.warning:
            log.warning("%s", self.last_used.warning)

    def _say_last_used_warning(self) -> None:
        """A trouble with the last-used file, said once (never a crash: they are a convenience)."""
        warning = self.last_used.warning
        if warning and warning != self._last_used_said:
            self._last_used_said = warning
            self.notify(warning, title="Last used", severity="warning", markup=False)
        self.last_used.warning = None

    # --- disk: the weights each model uses, learnt in the background ----------------------------

    def _learn_weights(self, session: ServerSession) -> None:
        """After a poll that changed the installed list: learn the new models' weights in the
        background (a plain task: never in the poll's way, never two at once per server)."""
        if self._closing:
            return
        if self.poll_count < len(self.sessions):
            # Start-up first: a fleet's first polls are not kept waiting by show answers.
            if session not in self._weights_deferred:
                self._weights_deferred.append(session)
            return
        if session.weights_timer is not None:
            return  # the round about to start takes the list as it is then
        if session.learning_weights():
            session.weights_again = True
            return
        # A moment later: a burst of changes (a pull, a script copying models) is learnt in
        # one round, and the poll that saw the change is on screen first.
        session.weights_timer = LoopTimer(
            WEIGHTS_DELAY, functools.partial(self._start_learning, session)
        )

    def _start_learning(self, session: ServerSession) -> None:
        session.weights_timer = None
        if self._closing or session.learning_weights():
            return  # (a round still running takes the change: ``weights_again``)
        task = asyncio.get_running_loop().create_task(
            self._learn_weights_task(session), name="weights"
        )
        session.weights_task = task
        self._poll_tasks.add(task)
        task.add_done_callback(self._poll_tasks.discard)

    def _start_deferred_learning(self) -> None:
        deferred, self._weights_deferred = self._weights_deferred, []
        for session in deferred:
            self._learn_weights(session)

    async def _learn_weights_task(self, session: ServerSession) -> None:
        await session.learn_weights()
        if not self._closing:
            self._disk_changed(session)  # the last answers, and "≥" gone, shown at once

    def _weights_learnt(self, session: ServerSession) -> None:
        """An answer taught the index something: the figures follow, at most every
        DISK_REFRESH_INTERVAL."""
        if session.disk_timer is None and not self._closing:
            session.disk_timer = LoopTimer(
                DISK_REFRESH_INTERVAL, functools.partial(self._disk_changed, session)
            )

    def _disk_changed(self, session: ServerSession) -> None:
        timer, session.disk_timer = session.disk_timer, None
        if timer is not None:
            timer.stop()
        if self.dashboard is not None and not self._closing:
            self.dashboard.disk_changed(session)

    def _poll_failed(self, session: ServerSession, error: Exception) -> float:
        delay = session.poll_failed(error, self.monotonic())
        self._publish_status(session)
        return delay

    def _reachability_changed(self, session: ServerSession, reachable: bool) -> None:
        """Any request that got an answer ends a back-off at once (a poll reports its own)."""
        if not reachable or session.polling or self._closing:
            return
        if not session.answered_elsewhere():
            return
        self._publish_status(session)
        if not session.paused:
            self._schedule_poll(session, 0)  # fresh tables now, then the normal interval

    def _set_status(self, session: ServerSession | None = None, **changes: Any) -> None:
        session = session or self.session
        session.set_status(**changes)
        self._publish_status(session)

    def _publish_status(self, session: ServerSession) -> None:
        if self.dashboard is None:
            return
        if session is self.session:
            self.dashboard.set_status(session.status)
        self.dashboard.server_changed(session)

    # --- outdated check ----------------------------------------------------------------------
    # Each session keeps what the check found per (name, digest) in ``session.freshness``;
    # the installed tables show it (UPDATE). The registries are asked from this machine.

    def _check_cache(self) -> CheckCache:
        """The results cache (XDG cache dir), shared by every check; read on first use."""
        if self._check_cache_ is None:
            from ollama_tui.registry import CheckCache, default_cache_path

            self._check_cache_ = CheckCache(default_cache_path())
        return self._check_cache_

    def _freshness_polled(self, session: ServerSession) -> None:
        """A server's list changed: drop results of models gone; show the cached answers for
        new (name, digest) pairs (a re-pulled model has a new digest: its old answer is gone)."""
        from ollama_tui.freshness import session_from_cache

        changed = session_from_cache(
            session, self._check_cache(), self.settings.insecure_registries, time.time()
        )
        if changed and self.dashboard is not None:
            self.dashboard.freshness_changed()
        if self._first_check_pending and all(s.status.last_ok is not None for s in self.sessions):
            # The demo (and a configured check_interval) checks once every server is listed.
            self._first_check_pending = False
            self._background_check()

    def _start_background_checks(self) -> None:
        hours = self.settings.check_interval
        if hours > 0:
            self.set_interval(hours * 3600, self._background_check, name="check for updates")

    def _background_check(self) -> None:
        """Every server's models, quietly (it speaks when it finds an update); answers cached
        within the interval are used instead of asking again."""
        groups = [(s, list(s.installed)) for s in self.sessions if s.installed]
        if groups:
            self.check_freshness(groups, quiet=True, max_age=self.settings.check_interval * 3600)

    @on(FreshnessCheckRequested)
    def _freshness_check_requested(self, message: FreshnessCheckRequested) -> None:
        self.check_freshness(message.groups, quiet=message.quiet)

    def check_freshness(
        self, groups: ModelGroups, *, quiet: bool = False, max_age: float = 0.0
    ) -> None:
        """Check the models in the background (one check at a time, never stacked)."""
        worker = self._freshness_worker
        if worker is not None and worker.is_running:
            if not quiet:
                self.notify("A check for updates is running already.", severity="warning")
            return
        self._freshness_worker = self.run_worker(
            self._check_freshness(groups, quiet, max_age),
            name="check for updates",
            group="freshness",
            exclusive=True,
            exit_on_error=False,
        )

    async def _check_freshness(self, groups: ModelGroups, quiet: bool, max_age: float) -> None:
        from ollama_tui.freshness import checkable, freshness_key, summary

        pairs = [(s, m) for s, models in groups for m in models if checkable(m)]
        if not pairs:
            if not quiet:
                self.notify("Nothing to check: cloud models have no local manifest.")
            return
        if not quiet:
            self.notify(f"Checking {counted(len(pairs), 'model')} for updates…", timeout=2)
        checker = self._registry_checker()
        checker.max_age = max_age
        try:
            async with checker:
                results = await checker.check_many(freshness_key(m) for _, m in pairs)
        except Exception as error:  # a bug must not end the app: said, and logged
            log.exception("check for updates failed")
            self.notify(f"Check for updates failed: {error}", severity="error", markup=False)
            return
        for (session, model), result in zip(pairs, results, strict=True):
            session.freshness[freshness_key(model)] = result
        if self.dashboard is not None:
            self.dashboard.freshness_changed()
        labelled = [(s.label, r) for (s, _m), r in zip(pairs, results, strict=True)]
        text, outdated = summary(labelled, several=len(self.sessions) > 1)
        if outdated or not quiet:
            self.notify(
                text,
                title="Updates",
                severity="warning" if outdated else "information",
                markup=False,
                timeout=8,
            )

    @on(UpdateOutdatedRequested)
    def _update_outdated_requested(self, message: UpdateOutdatedRequested) -> None:
        groups = [(self.operations_for(s), models) for s, models in message.groups]
        self.operations_for(self.session).update_outdated(groups)

    # --- routing --------------------------------------------------------------------------------

    @on(WhereRequested)
    def _where_requested(self) -> None:
        if not isinstance(self.screen, WhereScreen):
            self.push_screen(
                WhereScreen(self.sessions, self.sessions_changed_signal, read_only=self.read_only)
            )

    @on(CopyToServersRequested)
    def _copy_to_servers_requested(self, message: CopyToServersRequested) -> None:
        """The copy dialog, from the dashboard's `C` or another view (targets chosen)."""
        targets = [s for s in self.sessions if s is not message.session]
        if not targets:
            self.notify("There is no other server to copy to.", severity="warning")
            return
        operations = self.operations_for(message.session)
        operations.copy_to_servers(message.model, targets, message.targets)

    @on(DetailsRequested)
    def _details_requested(self, message: DetailsRequested) -> None:
        self.show_details(message.model, message.session)

    def show_details(
        self, model: LocalModel | RunningModel, session: ServerSession | None = None
    ) -> None:
        # Imported on first use: the details screen (tabs, Modelfile view) is not needed to
        # show the dashboard, and start-up time is what a user waits for.
        from ollama_tui.screens.details import DetailsScreen

        self.push_screen(
            DetailsScreen(
                model,
                session or self.session,
                clock=self.clock,
                probes_changed=self.probes_changed_signal,
            )
        )

    def show_help(self) -> None:
        screen = self.screen
        if isinstance(screen, HelpScreen):
            return
        palette = None
        if self.use_command_palette:
            palette = self.get_key_display(Binding(self.COMMAND_PALETTE_BINDING, ""))
        entries = collect_help(self.get_key_display, screen.active_bindings, palette)
        if isinstance(screen, DashboardScreen):
            entries += screen.last_used_help()
        self.push_screen(HelpScreen(entries, title=f"Keys — {_screen_name(screen)}"))

    def action_help(self) -> None:
        self.show_help()

    def operations_or_notify(self) -> Operations | None:
        """The model operations, or None after saying why not (read-only mode)."""
        if self.read_only:
            self.notify("Read-only mode: the server cannot be changed.", severity="warning")
            return None
        return self.operations

    # --- speed probe ------------------------------------------------------------------------------

    def _probe_done(self, job: Job, what: str) -> None:
        """Keep a probe's result (saved at once: a probe is rare and costly to repeat), show
        it in the tables, and say it."""
        from ollama_tui.probe import ProbeResult
        from ollama_tui.speed import probe_summary

        result = job.result
        if not isinstance(result, ProbeResult):
            self.notify(f"{what}: done", markup=False)
            return
        self.probes.put(result)
        before = self._probes_write
        self._probes_write = asyncio.get_running_loop().create_task(
            self._write_probes(before), name="save speed probes"
        )
        if self.dashboard is not None:
            self.dashboard.probes_changed()
        self.probes_changed_signal.publish(result)
        if not job.params.compared:  # else the comparison shows it
            self.notify(f"{what}: {probe_summary(result)}", title="Speed probe", markup=False)

    async def _write_probes(self, before: asyncio.Task[None] | None) -> None:
        """Save (the file's work on a thread), after the save before; a failure is said,
        never raised."""
        if before is not None:
            with contextlib.suppress(Exception):
                await before
        await self.probes.save_in_background()
        if (warning := self.probes.warning) and not self._closing:
            self.probes.warning = None
            self.notify(warning, title="Speed probes", severity="warning", markup=False)

    @on(ProbeRequested)
    def _probe_requested(self, message: ProbeRequested) -> None:
        """Probe a model on every server that has it (e.g. from the where matrix)."""
        from ollama_tui.operations import probe_targets

        found = probe_targets(self.sessions, message.name)
        targets = [(self.operations_for(session), model) for session, model in found]
        self.operations_for(self.session).probe_on_servers(targets)

    @on(QuitRequested)
    def _quit_requested(self) -> None:
        self.request_quit()

    def request_quit(self) -> None:
        """Quit, asking first if jobs are still running."""
        active = self.jobs.active
        if not active:
            self.exit()
            return
        from ollama_tui.screens.confirm import ConfirmScreen

        names = [f"{job.kind} {job.model}" for job in active]
        one = len(active) == 1
        question = (
            f"{counted(len(active), 'job')} {'is' if one else 'are'} still running"
            f" — quit and cancel {'it' if one else 'them'}?"
        )
        self.push_screen(
            ConfirmScreen(
                question,
                names,
                confirm_label="Quit",
                danger=True,
            ),
            callback=lambda ok: self.exit() if ok else None,
        )

    async def action_quit(self) -> None:
        self.request_quit()

    def _job_finished(self, job: Job) -> None:
        server = job.server
        self.request_refresh(server if isinstance(server, ServerSession) else None)
        what = f"{job.kind} {job.model}"  # notify() escapes it
        if self.jobs.show_servers and isinstance(server, ServerSession):
            what += f" on {server.label}"
        if job.kind is JobKind.PROBE and job.state is JobState.DONE:
            self._probe_done(job, what)
        elif job.state is JobState.DONE:
            self.notify(f"{what}: done", markup=False)
        elif job.state is JobState.FAILED:
            advice = explain_job_error(job)
            message = f"{what} failed: {job.error}" + (f"\n{advice}" if advice else "")
            self.notify(message, severity="error", markup=False)
        else:
            self.notify(f"{what}: cancelled", severity="warning", markup=False)


def release_dead_styles_caches() -> None:
    """Let the render caches of removed widgets go (a workaround for Textual issue #6665).

    Textual 8 puts ``functools.lru_cache`` on the method ``StylesCache.get_inner_outer``, so the
    cache's keys keep up to 1,024 ``StylesCache`` objects alive, each with the rendered lines of
    a widget that may be long gone (dialogs, toasts, job rows): about 12 MB after a few hundred
    operations. Clearing that cache costs a few ``Style`` objects on the next frame.
    """
    try:
        from textual._styles_cache import StylesCache
    except ImportError:  # moved or fixed in a later Textual
        return
    clear = getattr(StylesCache.get_inner_outer, "cache_clear", None)
    if callable(clear):
        clear()


class TooSmallNotice(Static):
    """Shown (by the stylesheet) only while the terminal is below the smallest usable size."""


def _screen_name(screen: Screen[Any]) -> str:
    if isinstance(screen, DashboardScreen):
        return "dashboard"
    return type(screen).__name__.removesuffix("Screen").lower() or "screen"
