"""The App: stylesheets, client and jobs lifetime, polling, and routing to screens.

Polling runs in one worker at a time and re-arms a timer only after a poll has finished, so a
slow server never stacks requests; an unreachable server backs off 1, 2, 4 ... 30 s. A poll
still unanswered after an interval shows the server as "not answering" while it waits. Whether
the server answers is recorded in one place, ``self.reachability``: polls and the app's client
report to it, and any success ends the back-off at once (and wakes jobs waiting for the server).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import gc
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.app import App, ScreenStackError
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.theme import Theme
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Static

from ollama_tui.api import LocalModel, OllamaClient, OllamaError, RunningModel, ServerUnreachable
from ollama_tui.config import Settings, save_theme
from ollama_tui.formatting import counted
from ollama_tui.jobs import Job, JobQueue, JobState
from ollama_tui.notifications import SafeNotifyApp
from ollama_tui.operations import Operations, explain_job_error
from ollama_tui.poller import Poller, Snapshot
from ollama_tui.reachability import Reachability
from ollama_tui.screens.dashboard import DashboardScreen
from ollama_tui.screens.help import BindingCommands, HelpScreen, collect_help
from ollama_tui.stylesheets import stylesheet_path
from ollama_tui.widgets.status_bar import ConnectionStatus

__all__ = ["MAX_BACKOFF", "OllamaTuiApp", "release_dead_styles_caches"]

log = logging.getLogger(__name__)

MAX_BACKOFF = 30.0
# A poll unanswered for an interval (at least this long, and twice the usual round trip) shows
# the server as "not answering": a slow but working server must not flicker to it every poll.
MIN_NOT_ANSWERING = 1.0
# How often the render caches of removed widgets are let go (see release_dead_styles_caches).
STYLES_CACHE_RELEASE_INTERVAL = 30.0
# Longest the collector stays paused at start-up when the first poll takes long.
STARTUP_GC_PAUSE = 3.0
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
        self.client = client or OllamaClient(self.settings.host, headers=self.settings.headers)
        # The entry point may hand over a poller whose first fetch is already under way.
        self.poller = poller or Poller(
            self.client.base_url, headers=self.settings.headers, monotonic=self.monotonic
        )
        # Whether the server answers; would belong to a per-server session object.
        self.reachability = Reachability()
        self.client.observer = self.reachability
        self.reachability.subscribe(self._reachability_changed)
        self.jobs = JobQueue(
            lambda: self.client,
            max_transfers=self.settings.max_transfers,
            on_finished=self._job_finished,
            reachability=self.reachability,
            reconnect_timeout=self.settings.reconnect_timeout,
            probe=lambda: self.client.version(),
        )
        self.installed: list[LocalModel] = []
        self.running_models: list[RunningModel] = []
        self.show_cache: dict[tuple[str, str], Any] = {}
        self.operations = Operations(self)
        self.operations.hook_jobs()
        self.status = ConnectionStatus(
            host=self.client.base_url, read_only=self.read_only, demo=self.settings.demo
        )
        self.poll_count = 0
        self._failures = 0
        self._polling = False
        self._refresh_pending = False
        self._paused = False
        self._poll_timer: Timer | None = None
        self._not_answering_timer: Timer | None = None
        self._saved_theme: str | None = None
        self._focus_before_small: dict[Screen[Any], Widget | None] = {}
        # Sent by the poller before the UI existed; shown at mount or awaited by the first poll.
        self._first_fetch: concurrent.futures.Future[Snapshot] | None = None
        self._poll_notes: tuple[str, ...] = ()  # the last poll's notes (models left out)
        self._resume_gc = resume_gc
        self._closing = False
        self.dashboard: DashboardScreen | None = None
        if self.settings.keymap:
            self.set_keymap(dict(self.settings.keymap))

    # --- lifetime -------------------------------------------------------------------------------

    def get_default_screen(self) -> Screen[Any]:
        self.dashboard = DashboardScreen()
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
        self.poller.prefetch()
        self._first_fetch = self.poller.take_prefetch()

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
        self._publish_status()
        self.set_interval(
            STYLES_CACHE_RELEASE_INTERVAL, release_dead_styles_caches, name="release caches"
        )
        if self._resume_gc:
            # A server that never answers must not keep the collector off for long.
            self.set_timer(STARTUP_GC_PAUSE, self.end_startup, name="end start-up")

    def begin_polling(self) -> None:
        """Called once the dashboard is mounted: show the first fetch, or poll now."""
        first = self._first_fetch
        if (
            first is not None
            and first.done()
            and not first.cancelled()
            and first.exception() is None
        ):
            # Usually the case (it was sent before Textual was imported): shown in the very
            # first frame instead of one poll worker later.
            self._first_fetch = None
            self._polled(first.result())
            self.poll_count += 1
            self._schedule_poll(self.settings.interval)
            if self._resume_gc:
                self.call_after_refresh(self.end_startup)
        else:
            self._schedule_poll(0)

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
        if self._poll_timer is not None:
            self._poll_timer.stop()
        self._stop_not_answering_timer()
        if self._first_fetch is not None:
            self._first_fetch.cancel()
        try:
            await self.jobs.aclose()
        finally:
            try:
                await self.poller.aclose()
            finally:
                await self.client.aclose()

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

    def request_refresh(self) -> None:
        """Poll now (non-blocking); during a poll, poll again as soon as it finishes."""
        if self._polling:
            self._refresh_pending = True
        else:
            self._schedule_poll(0)

    def toggle_pause(self) -> None:
        self._paused = not self._paused
        if self._paused:
            if self._poll_timer is not None:
                self._poll_timer.stop()
            self._set_status(paused=True)
        else:
            self._set_status(paused=False)
            self.request_refresh()

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def polling(self) -> bool:
        """A poll is in flight."""
        return self._polling

    def _schedule_poll(self, delay: float) -> None:
        if self._poll_timer is not None:
            self._poll_timer.stop()
            self._poll_timer = None
        if delay <= 0:
            self.call_later(self._start_poll)  # a zero-length Timer divides by zero
        else:
            self._poll_timer = self.set_timer(delay, self._start_poll, name="poll")

    def _start_poll(self) -> None:
        if self._closing:
            return
        if self._polling:
            self._refresh_pending = True
            return
        self._polling = True
        if self.status.retry_at is not None:
            self._set_status(retry_at=None)  # the retry is under way: not "retrying in 0 s"
        self.run_worker(
            self._poll(), name="poll", group="poll", exclusive=True, exit_on_error=False
        )
        # The request's own timeout (10 s) is far too long to leave the status line saying
        # "connected": after an interval without an answer it says "not answering".
        patience = max(self.settings.interval, MIN_NOT_ANSWERING, 2 * (self.status.rtt or 0.0))
        self._stop_not_answering_timer()
        self._not_answering_timer = self.set_timer(
            patience,
            functools.partial(self._not_answering, self.monotonic()),
            name="not answering",
        )

    def _not_answering(self, asked_at: float) -> None:
        self._not_answering_timer = None
        if self._polling and not self._closing:
            self._set_status(state="not_answering", asked_at=asked_at, retry_at=None)

    def _stop_not_answering_timer(self) -> None:
        if self._not_answering_timer is not None:
            self._not_answering_timer.stop()
            self._not_answering_timer = None

    async def _poll(self) -> None:
        delay = self.settings.interval
        try:
            first, self._first_fetch = self._first_fetch, None
            if first is not None:
                snapshot = await asyncio.wrap_future(first)
            else:
                snapshot = await self.poller.poll(with_version=self.status.version is None)
            self._polled(snapshot)
        except Exception as error:  # network or server trouble must never end the app
            delay = self._poll_failed(error)
        finally:
            self._polling = False
            self._stop_not_answering_timer()
            self.poll_count += 1
            if self._resume_gc:
                self.call_after_refresh(self.end_startup)  # once this poll is on screen
        if self._paused:
            return
        if self._refresh_pending:
            self._refresh_pending = False
            delay = 0
        self._schedule_poll(delay)

    def _polled(self, snapshot: Snapshot) -> None:
        self._failures = 0
        if snapshot.notes != self._poll_notes:
            self._poll_notes = snapshot.notes  # said once, not at every poll
            for note in snapshot.notes:
                self.notify(note, title="Too many models", severity="warning", markup=False)
        self._apply(snapshot.installed, snapshot.running)
        self._set_status(
            version=snapshot.version or self.status.version,
            state="connected",
            reason="",
            retry_at=None,
            asked_at=None,
            last_ok=self.monotonic(),
            rtt=snapshot.rtt,
        )
        self.reachability.answered()

    def _poll_failed(self, error: Exception) -> float:
        self._failures += 1
        delay = min(MAX_BACKOFF, 2.0 ** (self._failures - 1))
        if isinstance(error, OllamaError):
            reason = str(error)
        else:
            log.exception("poll failed")
            reason = f"{type(error).__name__}: {error}"
        self._set_status(
            version=None,  # ask again after reconnecting: the server may have been upgraded
            state="unreachable" if isinstance(error, ServerUnreachable) else "error",
            reason=reason,
            retry_at=None if self._paused else self.monotonic() + delay,
            asked_at=None,
        )
        if isinstance(error, ServerUnreachable):
            self.reachability.lost(reason)
        return delay

    def _reachability_changed(self, reachable: bool) -> None:
        """Any request that got an answer ends a back-off at once (a poll reports its own)."""
        if not reachable or self._polling or self._closing:
            return
        if self.status.state not in ("unreachable", "not_answering"):
            return  # connected already, or a poll that failed with an answer: its own error
        self._failures = 0
        self._set_status(state="connected", reason="", retry_at=None, asked_at=None)
        if not self._paused:
            self._schedule_poll(0)  # fresh tables now, then the normal interval

    def _apply(self, installed: list[LocalModel], running: list[RunningModel]) -> None:
        if installed is self.installed and running is self.running_models:
            return  # the poller hands back the same lists when nothing changed
        first = not self.installed and not self.running_models
        self.installed = installed
        self.running_models = running
        if self.dashboard is not None:
            self.dashboard.show_models(installed, running)
        if first and installed and not self._resume_gc:  # else end_startup() freezes
            # Everything alive now (the app, thousands of rows) lives as long as the app: keep
            # it out of the garbage collector's full passes, which otherwise take tens of
            # milliseconds at 5,000 models and show up as stutters in key presses.
            gc.freeze()

    def _set_status(self, **changes: Any) -> None:
        self.status = replace(self.status, **changes)
        self._publish_status()

    def _publish_status(self) -> None:
        if self.dashboard is not None:
            self.dashboard.set_status(self.status)

    # --- routing --------------------------------------------------------------------------------

    def show_details(self, model: LocalModel | RunningModel) -> None:
        # Imported on first use: the details screen (tabs, Modelfile view) is not needed to
        # show the dashboard, and start-up time is what a user waits for.
        from ollama_tui.screens.details import DetailsScreen

        self.push_screen(DetailsScreen(model))

    def show_help(self) -> None:
        screen = self.screen
        if isinstance(screen, HelpScreen):
            return
        palette = None
        if self.use_command_palette:
            palette = self.get_key_display(Binding(self.COMMAND_PALETTE_BINDING, ""))
        entries = collect_help(self.get_key_display, screen.active_bindings, palette)
        self.push_screen(HelpScreen(entries, title=f"Keys — {_screen_name(screen)}"))

    def action_help(self) -> None:
        self.show_help()

    def operations_or_notify(self) -> Operations | None:
        """The model operations, or None after saying why not (read-only mode)."""
        if self.read_only:
            self.notify("Read-only mode: the server cannot be changed.", severity="warning")
            return None
        return self.operations

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
        self.request_refresh()
        what = f"{job.kind} {job.model}"  # notify() escapes it
        if job.state is JobState.DONE:
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
