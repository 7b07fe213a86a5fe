"""The main screen: status line, running models, installed models, filter, jobs strip, footer."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Input

from ollama_tui.api import LocalModel, RunningModel
from ollama_tui.formatting import disk_figure, human_bytes, relative_time, safe_line
from ollama_tui.messages import (
    CopyToServersRequested,
    DashboardReady,
    DetailsRequested,
    FreshnessCheckRequested,
    PauseRequested,
    QuitRequested,
    RefreshRequested,
    ServerPicked,
    UpdateOutdatedRequested,
    WhereRequested,
)
from ollama_tui.session import ConnectionStatus, ServerSession, memory_in_use
from ollama_tui.widgets.filter_bar import FilterBar
from ollama_tui.widgets.fleet_rows import FleetRow, fleet_rows
from ollama_tui.widgets.footer import Footer
from ollama_tui.widgets.installed_table import NEVER_USED, InstalledTable, loaded_key
from ollama_tui.widgets.installed_table import fingerprint as installed_fingerprint
from ollama_tui.widgets.job_progress import JobsStrip
from ollama_tui.widgets.model_table import VirtualTable
from ollama_tui.widgets.running_table import RunningTable
from ollama_tui.widgets.servers_table import ServersTable
from ollama_tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from textual.signal import Signal

    from ollama_tui.jobs import Job, JobQueue
    from ollama_tui.operations import Operations
    from ollama_tui.screens.help import HelpEntry

__all__ = ["DashboardScreen"]

RUNNING_MAX_ROWS = 6
OPERATION_ACTIONS = frozenset(
    {
        "pull",
        "push",
        "new",
        "copy",
        "copy_to_servers",
        "rename",
        "delete",
        "load",
        "unload",
        "unload_all",
        "update_outdated",
        "probe",
        "probe_all",
    }
)
# The actions whose availability the footer shows; it is rebuilt when one of them flips.
STATEFUL_ACTIONS = tuple(sorted(OPERATION_ACTIONS | {"clear_filter"}))
# What each operation is called in "why not" messages.
_VERBS = {
    "pull": "Pull",
    "push": "Push",
    "new": "Creating a model",
    "copy": "Copy",
    "copy_to_servers": "Copy to other servers",
    "rename": "Rename",
    "delete": "Delete",
    "load": "Load",
    "unload": "Unload",
    "unload_all": "Unload all",
    "update_outdated": "Update outdated",
    "probe": "Speed probe",
    "probe_all": "Probe on all servers",
}
UNKNOWN = "–"  # a total that is not known (no server answering)
NEVER_ANSWERED = (
    "Not connected: no server has answered at {host} yet.\n"
    "To get one: start `ollama serve`, point --host or OLLAMA_HOST at a server,\n"
    "or try --demo for a simulated one."
)


class DashboardScreen(Screen[None]):
    """Both tables; every action here is a Binding with an id (remappable)."""

    HELP_SECTION = "Dashboard"
    AUTO_FOCUS = "#installed"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "switch_table", "Switch table", id="switch-table", show=False),
        Binding("slash", "filter", "Filter", id="filter"),
        Binding("escape", "clear_filter", "Clear filter/marks", id="clear-filter"),
        Binding("r", "refresh", "Refresh now", id="refresh", show=False),
        Binding("z", "pause", "Pause/resume polling", id="pause", show=False),
        Binding("p", "pull", "Pull", id="pull"),
        Binding("P", "push", "Push", id="push", show=False),
        Binding("n", "new", "New model", id="new", show=False),
        Binding("c", "copy", "Copy", id="copy", show=False),
        Binding("R", "rename", "Rename", id="rename", show=False),
        # Only with several servers (see __init__).
        Binding("C", "copy_to_servers", "Copy to server(s)…", id="copy-to-servers", show=False),
        Binding("d", "delete", "Delete", id="delete"),
        Binding("l", "load", "Load", id="load"),
        Binding("u", "unload", "Unload", id="unload"),
        Binding("U", "unload_all", "Unload all", id="unload-all", show=False),
        Binding("J", "jobs", "Jobs", id="jobs", show=False),
        # The registries are asked from this machine, not from the Ollama server.
        Binding(
            "o",
            "check_updates",
            "Check for updates (from this machine)",
            id="check-updates",
            show=False,
        ),
        Binding("O", "update_outdated", "Update outdated", id="update-outdated", show=False),
        # Loads the model: confirmed first, refused in read-only mode (an operation).
        Binding("b", "probe", "Speed probe (loads the model)", id="probe", show=False),
        # Only with several servers (see __init__).
        Binding("B", "probe_all", "Probe on all servers that have it", id="probe-all", show=False),
        Binding("v", "toggle_speed", "SPEED column on/off", id="toggle-speed", show=False),
        # Only with several servers (see __init__).
        Binding("w", "where", "Where is each model", id="where", show=False),
        Binding("q", "quit", "Quit", id="quit"),
        # Only with several servers (see __init__): one server's dashboard has none of them.
        *(
            Binding(str(n), f"server({n})", "Show server 1-9", id=f"server-{n}", show=False)
            for n in range(1, 10)
        ),
        Binding("0", "all_servers", "Show all servers", id="all-servers", show=False),
        Binding(
            "right_square_bracket", "cycle_server(1)", "Next server", id="next-server", show=False
        ),
        Binding(
            "left_square_bracket",
            "cycle_server(-1)",
            "Previous server",
            id="previous-server",
            show=False,
        ),
    ]
    SERVER_KEYS = (
        *map(str, range(10)),
        "right_square_bracket",
        "left_square_bracket",
        "C",
        "w",
        "B",
    )

    def __init__(
        self,
        session: ServerSession,
        operations: Operations,
        jobs: JobQueue,
        jobs_changed: Signal[Job],
        *,
        clock: Callable[[], datetime],
        monotonic: Callable[[], float],
        read_only: bool = False,
        sessions: Sequence[ServerSession] = (),
        operations_for: Callable[[ServerSession], Operations] | None = None,
    ) -> None:
        super().__init__(id="dashboard")
        self.session = session
        self.sessions: tuple[ServerSession, ...] = tuple(sessions) or (session,)
        """Every server; with more than one, the servers table shows them."""
        self.servers_table: ServersTable | None = (
            ServersTable(id="servers") if len(self.sessions) > 1 else None
        )
        if len(self.sessions) == 1:
            for key in self.SERVER_KEYS:
                self._bindings.key_to_bindings.pop(key, None)
        else:
            for n in range(len(self.sessions) + 1, 10):  # no key for a server that is not there
                self._bindings.key_to_bindings.pop(str(n), None)
        """The server the tables show."""
        self.operations = operations
        self._operations_for = operations_for or (lambda _session: self.operations)
        """The operations of any server (the all-servers view acts on each row's server)."""
        self.read_only = read_only
        self._jobs = jobs
        self._jobs_changed = jobs_changed
        self._clock = clock
        self.status_bar = StatusBar(monotonic, id="status")
        self.server_running = RunningTable(clock, id="running")
        self.server_installed = InstalledTable(clock, id="installed")
        self.server_installed.session = session
        # All servers merged (only with several): shown instead of the pair above by `0`.
        self.fleet_running: RunningTable | None = None
        self.fleet_installed: InstalledTable | None = None
        if self.servers_table is not None:
            self.fleet_running = RunningTable(clock, fleet=True, id="fleet-running")
            self.fleet_installed = InstalledTable(clock, fleet=True, id="fleet-installed")
            self.fleet_running.display = self.fleet_installed.display = False
        self.all_servers = False
        """The merged tables of every server are shown."""
        self.speed_shown = False
        """The SPEED column (speed probe results) is on (`v`)."""
        self._fleet_rows: dict[int, tuple[object, object, list[Any], list[Any]]] = {}
        self._fleet_dirty = True
        self.filter_bar = FilterBar(id="filter")
        self._active: VirtualTable[Any, Any] = self.server_installed
        self._ticks = 0
        self._totals: tuple[str, str, str, str] = ("", "", "", "")
        self._state_key: tuple[object, ...] | None = None
        self._status = ConnectionStatus()

    def compose(self) -> ComposeResult:
        yield self.status_bar
        if self.servers_table is not None:
            yield self.servers_table
        with Vertical(id="running-box", classes="table-box"):
            yield self.server_running
            if self.fleet_running is not None:
                yield self.fleet_running
        with Vertical(id="installed-box", classes="table-box"):
            yield self.server_installed
            if self.fleet_installed is not None:
                yield self.fleet_installed
        yield self.filter_bar
        yield JobsStrip(self._jobs, self._jobs_changed)
        yield Footer(compact=True, show_command_palette=False)

    @property
    def running_table(self) -> RunningTable:
        """The running table shown: this server's, or every server's."""
        if self.all_servers and self.fleet_running is not None:
            return self.fleet_running
        return self.server_running

    @property
    def installed_table(self) -> InstalledTable:
        """The installed table shown: this server's, or every server's."""
        if self.all_servers and self.fleet_installed is not None:
            return self.fleet_installed
        return self.server_installed

    def on_mount(self) -> None:
        self.server_running.styles.height = 2
        if self.fleet_running is not None:
            self.fleet_running.styles.height = 2
        if self.servers_table is not None:
            self.servers_table.set_sessions(self.sessions, self.session)
        self._update_titles()
        self.set_interval(1.0, self._tick, name="dashboard-tick")
        self.post_message(DashboardReady())

    def on_resize(self, event: events.Resize) -> None:
        # Below ~18 lines the table borders would eat the rows: drop them.
        self.set_class(event.size.height < 18, "-short")

    # --- data from the app ----------------------------------------------------------------------

    def show_models(self, installed: Sequence[LocalModel], running: Sequence[RunningModel]) -> None:
        """A new poll result; tables diff it by key, so an unchanged poll re-renders nothing."""
        running_changed = self.server_running.set_items(running)
        installed_changed = self.server_installed.set_items(installed)
        if running_changed:
            self.server_installed.set_loaded(running)
            rows = max(1, min(len(running), RUNNING_MAX_ROWS))
            self.server_running.styles.height = rows + 1
        if (running_changed or installed_changed) and not self.all_servers:
            self._update_titles()
            self._refresh_bindings_if_needed()

    def switch_session(self, session: ServerSession, operations: Operations) -> None:
        """Show another server: its lists and status; operations act on it from now on. The
        tables keep their filter, sort and (where the model is there too) cursor; marks are
        dropped (a mark made on one server must never delete or pull on another)."""
        self.session = session
        self.operations = operations
        self.server_installed.session = session
        self.server_installed.clear_marks()
        self.show_all_servers(False)
        if self.servers_table is not None:
            self.servers_table.set_sessions(self.sessions, session)
        self.show_models(session.installed, session.running_models)
        self.server_installed.usage_changed()  # rows kept as they were: another server's times
        self.set_status(session.status)

    def server_changed(self, session: ServerSession) -> None:
        """Some server's lists or status changed: its row in the servers table follows."""
        if self.servers_table is not None:
            self.servers_table.server_changed(session)
        if self.all_servers:
            self._show_fleet_status()

    def models_changed(self, session: ServerSession) -> None:
        """A poll changed ``session``'s lists: the merged tables follow (now if shown, else
        when they are shown next)."""
        self._fleet_dirty = True
        if self.all_servers:
            self._update_fleet()

    # --- last used --------------------------------------------------------------------------------

    def usage_changed(self, session: ServerSession) -> None:
        """A poll changed what LAST USED shows for ``session``: the tables showing it follow."""
        if session is self.session:
            self.server_installed.usage_changed()
        if self.fleet_installed is not None:
            self.fleet_installed.usage_changed()

    def last_used_help(self) -> list[HelpEntry]:
        """For the help screen: since when "—" (never seen loaded) counts, for what is shown."""
        sessions = self.sessions if self.all_servers else (self.session,)
        since = [s.usage.watching_since for s in sessions if s.usage is not None]
        known = [when for when in since if when is not None]
        section = InstalledTable.HELP_SECTION
        if not known:
            return [(section, "LAST USED", "when last seen loaded (/api/ps)", True)]
        when = max(known)  # every server shown has been watched at least this long
        moment = datetime.fromtimestamp(when, UTC)
        local = moment.astimezone().strftime("%Y-%m-%d %H:%M")
        ago = relative_time(moment, self._clock())
        whom = "all servers" if len(sessions) > 1 else "this server"
        return [
            (section, "LAST USED", f"{whom} watched since {local} ({ago})", True),
            (section, NEVER_USED, "not seen loaded since then", True),
        ]

    def _update_fleet(self) -> None:
        """Merge every server's lists; a server whose lists are the same objects as last time
        keeps its rows (so the tables' diff sees nothing changed for it)."""
        running_table, installed_table = self.fleet_running, self.fleet_installed
        if running_table is None or installed_table is None:
            return
        self._fleet_dirty = False
        running: list[Any] = []
        installed: list[Any] = []
        for index, session in enumerate(self.sessions):
            cached = self._fleet_rows.get(index)
            if (
                cached is None
                or cached[0] is not session.running_models
                or cached[1] is not session.installed
            ):
                cached = (
                    session.running_models,
                    session.installed,
                    fleet_rows(session, index, session.running_models, None),
                    fleet_rows(session, index, session.installed, installed_fingerprint),
                )
                self._fleet_rows[index] = cached
            running += cached[2]
            installed += cached[3]
        running_changed = running_table.set_items(running)
        installed_changed = installed_table.set_items(installed)
        if running_changed:
            installed_table.set_loaded(running)
            running_table.styles.height = max(1, min(len(running), RUNNING_MAX_ROWS)) + 1
        if running_changed or installed_changed:
            self._update_titles()
            self._refresh_bindings_if_needed()

    def show_all_servers(self, on: bool) -> None:
        """Show every server's models merged (``on``), or the current server's."""
        if self.fleet_running is None or self.fleet_installed is None or on == self.all_servers:
            return
        was_running = self._active is self.running_table
        self.all_servers = on
        if not on:
            self.fleet_installed.clear_marks()  # marks never linger out of sight
        self.fleet_running.display = self.fleet_installed.display = on
        self.server_running.display = self.server_installed.display = not on
        if on and self._fleet_dirty:
            self._update_fleet()
        target = self.running_table if was_running else self.installed_table
        self._active = target
        target.focus()
        if self.servers_table is not None:
            self.servers_table.set_sessions(self.sessions, self.session, all_shown=on)
        if on:
            self._show_fleet_status()
        else:
            self.status_bar.set_fleet(None)
            self.set_status(self.session.status)
        self._totals = ("", "", "", "")
        self._update_titles()
        self._refresh_bindings_if_needed()

    def _show_fleet_status(self) -> None:
        answering = sum(1 for s in self.sessions if s.status.answers)
        self.status_bar.set_fleet((len(self.sessions), answering))

    def set_status(self, status: ConnectionStatus) -> None:
        self._status = status
        self.status_bar.set_status(status)
        running_empty, installed_empty = _empty_texts(status)
        self.running_table.set_empty_text(running_empty)
        self.installed_table.set_empty_text(installed_empty)
        if self.is_mounted:
            self._update_titles()
            self._refresh_bindings_if_needed()

    @property
    def connected(self) -> bool:
        """The server answers, so operations can run: the last poll succeeded, or it failed with
        an answer (an error reply, a list over a limit) that must not lock out the operations
        that would fix it (deleting the model that breaks the list, say)."""
        if self.all_servers:
            return any(s.status.answers for s in self.sessions)
        return self._status.answers

    def _update_titles(self) -> None:
        if self.all_servers:
            ram = vram = 0
            for session in self.sessions:
                r, v = memory_in_use(session.running_models)
                ram, vram = ram + r, vram + v
        else:
            ram, vram = memory_in_use(self.running_table.items.values())
        shown_r, total_r = self.running_table.row_count, len(self.running_table.items)
        shown_i, total_i = self.installed_table.row_count, len(self.installed_table.items)
        filtered = bool(self.installed_table.filter_text)
        items = self.installed_table.items
        marked = sum(1 for key in self.installed_table.marked if key in items)  # O(marks)
        running_title = f"Running ({_count(shown_r, total_r, filtered)})"
        if self.all_servers:
            running_title = f"Running on all servers ({_count(shown_r, total_r, filtered)})"
        everywhere = " on all servers" if self.all_servers else ""
        installed_title = f"Installed{everywhere} ({_count(shown_i, total_i, filtered)}"
        installed_title += f" · {marked} marked)" if marked else ")"
        # Without a server the sums are not known: "–", never a made-up "0 B".
        known = self.connected
        running_sub = (
            f"RAM {human_bytes(ram) if known else UNKNOWN} · "
            f"VRAM {human_bytes(vram) if known else UNKNOWN}"
        )
        installed_sub = f"{self._on_disk() if known else UNKNOWN} on disk"
        if filtered:
            installed_sub = f"filter: {self.installed_table.filter_text} · " + installed_sub
        totals = (running_title, running_sub, installed_title, installed_sub)
        if totals == self._totals:
            return
        self._totals = totals
        # Text, not str: a str title is parsed as markup and the filter is user input.
        running_box = self.query_one("#running-box")
        running_box.border_title = Text(running_title)
        running_box.border_subtitle = Text(running_sub)
        installed_box = self.query_one("#installed-box")
        installed_box.border_title = Text(installed_title)
        installed_box.border_subtitle = Text(installed_sub)

    # --- disk: each weights blob counted once -------------------------------------------------

    def _on_disk(self) -> str:
        """The "on disk" figure of the servers shown, "≥" until every weights blob is known."""
        sessions = self.sessions if self.all_servers else [self.session]
        usages = [session.disk_in_use() for session in sessions]
        return disk_figure(sum(u.total for u in usages), all(u.complete for u in usages))

    def disk_changed(self, session: ServerSession) -> None:
        """More of ``session``'s weights are known: its disk figures follow."""
        if self.servers_table is not None:
            self.servers_table.server_changed(session)
        if self.is_mounted and (self.all_servers or session is self.session):
            self._update_titles()

    def _refresh_bindings_if_needed(self) -> None:
        """Refresh the footer when what it shows would change, and only then.

        The key is what ``check_action`` answers for every action that depends on the state
        (cursor row, filter, marks, connection), so the footer can never lag behind one of them.
        """
        key = (
            self._active is self.running_table,
            self._active.cursor_key is not None,
            *(self.check_action(action, ()) for action in STATEFUL_ACTIONS),
        )
        if key != self._state_key:
            self._state_key = key
            self.refresh_bindings()

    def _tick(self) -> None:
        self._ticks += 1
        self.status_bar.tick()
        self.running_table.refresh_dynamic()
        if self._ticks % 30 == 0:
            self.installed_table.refresh_dynamic()

    # --- focus and table events -----------------------------------------------------------------

    @property
    def active_table(self) -> VirtualTable[Any, Any]:
        return self._active

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        widget = event.widget
        if isinstance(widget, VirtualTable) and widget is not self._active:
            self._active = widget
            self._refresh_bindings_if_needed()

    def on_virtual_table_cursor_moved(self, event: VirtualTable.CursorMoved) -> None:
        self._refresh_bindings_if_needed()

    def on_virtual_table_marks_changed(self, event: VirtualTable.MarksChanged) -> None:
        self._update_titles()
        self._refresh_bindings_if_needed()

    def on_virtual_table_selected(self, event: VirtualTable.Selected) -> None:
        item = event.table.items.get(event.key)
        if item is not None:
            session, model = self._where(item)
            self.post_message(DetailsRequested(model, session))

    # --- filter ---------------------------------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input is self.filter_bar:
            self._apply_filter(event.value)

    def _apply_filter(self, text: str) -> None:
        for table in self._tables():
            table.set_filter(text)
        self._update_titles()
        self._refresh_bindings_if_needed()

    def on_filter_bar_done(self, event: FilterBar.Done) -> None:
        if event.cleared:
            self._apply_filter("")
        self._active.focus()

    def action_filter(self) -> None:
        self.filter_bar.open()

    def action_clear_filter(self) -> None:
        """The filter first; with no filter, the marks (so a re-pull or delete can't linger)."""
        if self.installed_table.filter_text or self.filter_bar.value:
            self.filter_bar.value = ""
            self.filter_bar.close()
            self._apply_filter("")
        else:
            self.installed_table.clear_marks()
            self._update_titles()
            self._refresh_bindings_if_needed()

    # --- actions --------------------------------------------------------------------------------

    def action_switch_table(self) -> None:
        target = self.installed_table if self._active is self.running_table else self.running_table
        target.focus()
        self._active = target
        self._refresh_bindings_if_needed()

    def action_refresh(self) -> None:
        self.post_message(RefreshRequested(self.session))

    def action_pause(self) -> None:
        self.post_message(PauseRequested(self.session))

    def action_quit(self) -> None:
        self.post_message(QuitRequested())

    def action_server(self, number: int) -> None:
        self.post_message(ServerPicked(number - 1))

    def action_all_servers(self) -> None:
        self.post_message(ServerPicked(None, all_servers=True))

    def action_cycle_server(self, step: int) -> None:
        self.post_message(ServerPicked(None, step))

    def _tables(self) -> list[VirtualTable[Any, Any]]:
        tables: list[VirtualTable[Any, Any]] = [self.server_running, self.server_installed]
        if self.fleet_running is not None and self.fleet_installed is not None:
            tables += [self.fleet_running, self.fleet_installed]
        return tables

    def _where(self, item: Any) -> tuple[ServerSession, Any]:
        """The server of a row and its model (a merged row carries its server)."""
        if isinstance(item, FleetRow):
            return item.session, item.model
        return self.session, item

    def _installed_target(self) -> LocalModel | None:
        if self._active is self.installed_table:
            item = self.installed_table.cursor_item
            return None if item is None else self._where(item)[1]
        return None

    def _running_target(self) -> RunningModel | None:
        if self._active is self.running_table:
            item = self.running_table.cursor_item
            return None if item is None else self._where(item)[1]
        return None

    def _cursor_session(self) -> ServerSession:
        """The server an operation on the cursor row acts on."""
        item = self._active.cursor_item
        return self.session if item is None else self._where(item)[0]

    def _ops(self, session: ServerSession | None = None) -> Any:
        """The operations of ``session`` (the cursor row's server by default), or None after
        saying why not (read-only mode)."""
        if self.read_only:
            self.app.notify("Read-only mode: the server cannot be changed.", severity="warning")
            return None
        session = session or self._cursor_session()
        return self.operations if session is self.session else self._operations_for(session)

    def _marked_by_server(self) -> list[tuple[ServerSession, list[LocalModel]]]:
        """The marked models grouped by server, in the servers' order."""
        return self._by_server(self.installed_table.marked_items())

    def _by_server(self, items: Iterable[Any]) -> list[tuple[ServerSession, list[LocalModel]]]:
        """Installed rows' models grouped by server, in the servers' order."""
        groups: dict[int, tuple[ServerSession, list[LocalModel]]] = {}
        for item in items:
            session, model = self._where(item)
            groups.setdefault(id(session), (session, []))[1].append(model)
        order = {id(s): i for i, s in enumerate(self.sessions)}
        return sorted(groups.values(), key=lambda g: order.get(id(g[0]), 0))

    def action_pull(self) -> None:
        groups = self._marked_by_server()
        if len(groups) > 1:
            if ops := self._ops(self.session):
                ops.pull_on_servers([(self._ops(s), models) for s, models in groups])
            return
        session, marked = groups[0] if groups else (self.session, [])
        if ops := self._ops(session):
            ops.pull(marked)

    def action_push(self) -> None:
        model = self._installed_target()
        if model is not None and (ops := self._ops()):
            ops.push(model)

    def action_new(self) -> None:
        if ops := self._ops():
            ops.create(self._installed_target())

    def action_copy(self) -> None:
        model = self._installed_target()
        if model is not None and (ops := self._ops()):
            ops.copy(model)

    def action_copy_to_servers(self) -> None:
        model = self._installed_target()
        if model is not None and self._ops():
            self.post_message(CopyToServersRequested(model, self._cursor_session()))

    def action_rename(self) -> None:
        model = self._installed_target()
        if model is not None and (ops := self._ops()):
            ops.rename(model)

    def action_delete(self) -> None:
        groups = self._marked_by_server()
        if len(groups) > 1:
            if ops := self._ops(self.session):
                ops.delete_on_servers([(self._ops(s), models) for s, models in groups])
            return
        if groups:
            session, targets = groups[0]
        else:
            model = self._installed_target()
            session, targets = self._cursor_session(), ([model] if model is not None else [])
        if targets and (ops := self._ops(session)):
            ops.delete(targets)

    def action_load(self) -> None:
        item = self._active.cursor_item
        if item is not None and (ops := self._ops()):
            ops.load(self._where(item)[1].name)

    def action_unload(self) -> None:
        model = self._running_target() or self._loaded_target()
        if model is not None and (ops := self._ops()):
            ops.unload(model)

    def _loaded_target(self) -> RunningModel | None:
        """The running model of the installed row under the cursor (None if not loaded)."""
        model = self._installed_target()
        if model is None:
            return None
        session = self._cursor_session()
        key = loaded_key(model.name)
        return next((m for m in session.running_models if loaded_key(m.name) == key), None)

    def action_unload_all(self) -> None:
        if self.all_servers:
            # Every server with a loaded model, after one confirmation naming each server.
            loaded = [s for s in self.sessions if s.running_models]
            if len(loaded) > 1:
                if ops := self._ops(self.session):
                    ops.unload_all_on_servers([self._ops(s) for s in loaded])
                return
            if loaded and (ops := self._ops(loaded[0])):
                ops.unload_all()
            return
        if ops := self._ops(self.session):
            ops.unload_all()

    # --- outdated check -------------------------------------------------------------------------

    def _shown_by_server(self) -> list[tuple[ServerSession, list[LocalModel]]]:
        """The marked models by server; none marked: every row shown (filter applied)."""
        table = self.installed_table
        if table.marked:
            return self._marked_by_server()
        return self._by_server(table.items[key] for key in table.visible_keys)

    def action_check_updates(self) -> None:
        """`o`: ask the registries whether the marked models (else all shown) are outdated.
        Allowed in read-only mode: it changes nothing on the server."""
        groups = self._shown_by_server()
        if not groups:
            self.app.notify("No models to check.", severity="warning")
            return
        self.post_message(FreshnessCheckRequested(groups))

    def action_update_outdated(self) -> None:
        """`O`: re-pull the outdated ones among the marked models (else among all shown)."""
        groups = []
        for session, models in self._shown_by_server():
            outdated = [m for m in models if _is_outdated(session, m)]
            if outdated:
                groups.append((session, outdated))
        if not groups:
            self.app.notify(
                "No model shown is known to be outdated: o checks for updates.",
                severity="warning",
            )
            return
        self.post_message(UpdateOutdatedRequested(groups))

    def freshness_changed(self) -> None:
        """Check results changed (a check ended, or cached ones were read): the tables follow."""
        checked = any(s.freshness for s in self.sessions)
        self.server_installed.freshness_changed(bool(self.session.freshness))
        if self.fleet_installed is not None:
            self.fleet_installed.freshness_changed(checked)

    # --- speed probe ----------------------------------------------------------------------------

    def action_probe(self) -> None:
        """`b`: probe the model under the cursor on its server (after a confirmation)."""
        model = self._installed_target()
        if model is not None and (ops := self._ops()):
            ops.probe_on_servers([(ops, model)])

    def action_probe_all(self) -> None:
        """`B`: probe the model under the cursor on every server that has it (by name), one
        server at a time, then compare."""
        from ollama_tui.operations import probe_targets

        model = self._installed_target()
        if model is None or not (ops := self._ops(self.session)):
            return
        targets = [(self._ops(s), m) for s, m in probe_targets(self.sessions, model.name)]
        ops.probe_on_servers(targets)

    def action_toggle_speed(self) -> None:
        """`v`: the SPEED column on or off (allowed in read-only mode: it only shows)."""
        self.speed_shown = not self.speed_shown
        for table in (self.server_installed, self.fleet_installed):
            if table is not None:
                table.show_speed(self.speed_shown)
        if self.speed_shown and not any(
            s.probes is not None and len(s.probes) for s in self.sessions
        ):
            hint = "" if self.read_only else " — b probes a model"
            self.app.notify(f"SPEED column on: nothing probed yet{hint}.")

    def probes_changed(self) -> None:
        """A probe ended with a result: SPEED cells follow (re-sorted if sorted by them)."""
        for table in (self.server_installed, self.fleet_installed):
            if table is not None:
                table.probes_changed()

    def action_where(self) -> None:
        self.post_message(WhereRequested())

    def action_jobs(self) -> None:
        # Watching jobs changes nothing on the server: allowed in read-only mode too.
        self.operations.show_jobs()

    def on_key(self, event: events.Key) -> None:
        """An operation key that does not apply here is hidden, but pressing it says why."""
        bindings = self._bindings.key_to_bindings.get(event.key, [])
        for binding in bindings:
            if binding.action not in OPERATION_ACTIONS:
                continue
            reason = self.why_not(binding.action)
            if reason is None:
                return
            event.stop()
            if self.read_only:
                self._ops()
            else:
                self.app.notify(reason, severity="warning", markup=False)
            return

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in OPERATION_ACTIONS:
            return self.why_not(action) is None
        if action == "where":
            return len(self.sessions) > 1
        if action == "clear_filter":
            return bool(self.installed_table.filter_text or self.installed_table.marked)
        if action == "all_servers":
            return self.servers_table is not None
        return True

    def why_not(self, action: str) -> str | None:
        """Why an operation does nothing at the cursor now (None: it applies)."""
        if self.read_only:
            return "Read-only mode: the server cannot be changed."
        verb = _VERBS.get(action, action)
        if not self.connected:
            return f"Not connected to the server: {verb} needs it."
        on_running = self._active is self.running_table
        item = self._active.cursor_item
        if item is not None:
            item = self._where(item)[1]
        name = str(getattr(item, "name", ""))  # app.notify escapes it, once
        if (
            action in ("push", "copy", "copy_to_servers", "rename", "delete", "probe", "probe_all")
            and on_running
        ):
            return f"{verb} works on the installed models: tab switches to that table."
        if action == "delete":
            if item is None and not self.installed_table.marked:
                return "Nothing to delete: no model under the cursor or marked."
            return None
        if (
            action
            in ("push", "copy", "copy_to_servers", "rename", "load", "unload", "probe", "probe_all")
            and item is None
        ):
            return f"{verb}: no model under the cursor."
        if action in ("probe", "probe_all") and getattr(item, "is_remote", False):
            return f"{name} is a cloud model: its speed is its remote host's, not this server's."
        if action == "load" and getattr(item, "is_remote", False):
            return f"{name} is a cloud model: it runs on its remote host, not loaded here."
        if action == "unload" and not on_running and self._loaded_target() is None:
            return f"Nothing to unload: {name} is not loaded."
        if action == "unload_all" and not self.running_table.items:
            return "Nothing to unload: no model is loaded."
        return None


def _is_outdated(session: ServerSession, model: LocalModel) -> bool:
    result = session.freshness_of(model)
    return result is not None and result.state == "outdated"


def _count(shown: int, total: int, filtered: bool) -> str:
    return f"{shown}/{total}" if filtered else str(total)


def _empty_texts(status: ConnectionStatus) -> tuple[str | None, str | None]:
    """What the empty running and installed tables say (None: their usual text)."""
    if status.state == "connected":
        return None, None
    if status.last_ok is None:
        if status.state == "connecting":
            return "Waiting for the server…", "Waiting for the server…"
        # Never answered since start: say how to get a server, not just that there is none.
        return (
            "Not connected: no server has answered yet",
            NEVER_ANSWERED.format(host=safe_line(status.host)),
        )
    text = "Not connected: the server is not answering"
    return text, text
