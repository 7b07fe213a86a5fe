"""The jobs view (`J`): every pull / push / create with live progress, cancel and retry.

Rows are added when a job first appears and then updated in place from
the app's `jobs_changed_signal`; the list is never rebuilt per update.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Protocol

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ollama_tui.jobs import Job, JobKind
from ollama_tui.screens.help import help_binding
from ollama_tui.stylesheets import OPERATIONS_CSS
from ollama_tui.widgets.job_progress import JobRow, job_server

if TYPE_CHECKING:
    from textual.signal import Signal

    from ollama_tui.jobs import JobQueue


class JobOperations(Protocol):
    """What the jobs view needs of the operations (``ollama_tui.operations.Operations``),
    named here so this screen does not import them (they import it)."""

    jobs: JobQueue
    jobs_changed: Signal[Job]
    read_only: bool

    def cancel_job(self, job: Job) -> None: ...

    def retry_job(self, job: Job) -> None: ...

    def edit_create_job(self, job: Job) -> None: ...


KEYS_HELP = "↑↓ select  enter layers  x cancel  r retry  e edit  C clear ended  esc close"


class JobsScreen(ModalScreen[None]):
    """A modal over the dashboard; jobs keep running when it closes."""

    CSS_PATH = OPERATIONS_CSS

    # Not the first row: _focus_initial starts on the newest active job, so `x` hits it.
    AUTO_FOCUS = None

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,J", "close", "Close", id="ops.jobs.close"),
        Binding("down,j", "move(1)", "Next", show=False),
        Binding("up,k", "move(-1)", "Previous", show=False),
        Binding("enter", "toggle_layers", "Layers", id="ops.jobs.layers"),
        Binding("x", "cancel_job", "Cancel job", id="ops.jobs.cancel"),
        Binding("r", "retry_job", "Retry", id="ops.jobs.retry"),
        Binding("e", "edit_job", "Edit", id="ops.jobs.edit"),
        Binding("C", "clear_finished", "Clear ended", id="ops.jobs.clear"),
        help_binding("ops.jobs"),
    ]

    def __init__(self, operations: JobOperations) -> None:
        super().__init__(classes="ops-dialog jobs-screen")
        self.operations = operations
        self._rows: dict[int, JobRow] = {}

    def compose(self) -> ComposeResult:
        jobs = list(self.operations.jobs.jobs)
        with Vertical(classes="dialog", id="jobs-dialog"):
            yield Static("Jobs", classes="dialog-title")
            empty = Static(
                "No jobs yet."
                if self.operations.read_only
                else "No jobs yet — p pulls a model, n creates one.",
                id="jobs-empty",
                markup=False,
            )
            empty.display = not jobs
            yield empty
            # Rows for the jobs that exist now are composed (not mounted in on_mount, where
            # nested containers may not be ready yet); later jobs are mounted as they appear.
            with VerticalScroll(id="jobs-list") as scroll:
                scroll.can_focus = False
                for job in jobs:
                    row = JobRow(job, job_server(job, self.operations.jobs))
                    self._rows[job.id] = row
                    yield row
            yield Static(KEYS_HELP, classes="dialog-note", markup=False)

    def on_mount(self) -> None:
        self.operations.jobs_changed.subscribe(self, self.on_job_changed)
        self.call_after_refresh(self._focus_initial)

    def _focus_initial(self) -> None:
        rows = list(self._rows.values())
        if rows:
            # Start on the newest active job, else the newest job.
            active = [row for row in rows if row.job.is_active]
            (active or rows)[-1].focus()

    def _add_row(self, job: Job) -> JobRow:
        row = JobRow(job, job_server(job, self.operations.jobs))
        self._rows[job.id] = row
        self.query_one("#jobs-list", VerticalScroll).mount(row)
        return row

    def _update_empty(self) -> None:
        self.query_one("#jobs-empty", Static).display = not self._rows

    def on_job_changed(self, job: Job) -> None:
        row = self._rows.get(job.id)
        if row is None:
            row = self._add_row(job)
            self._update_empty()
            if self.focused is None:
                row.focus()
        elif row.is_mounted:
            row.update_job(job)

    def _current(self) -> JobRow | None:
        focused = self.focused
        return focused if isinstance(focused, JobRow) else None

    def action_move(self, step: int) -> None:
        rows = list(self._rows.values())
        if not rows:
            return
        current = self._current()
        index = rows.index(current) if current in rows else -1
        target = rows[max(0, min(len(rows) - 1, index + step))]
        target.focus()
        target.scroll_visible()

    def action_toggle_layers(self) -> None:
        row = self._current()
        if row is not None:
            row.toggle_expanded()

    def action_cancel_job(self) -> None:
        row = self._current()
        if row is None:
            return
        if not row.job.can_cancel:
            self.app.notify("That job has already ended.", severity="warning")
            return
        self.operations.cancel_job(row.job)

    def action_retry_job(self) -> None:
        row = self._current()
        if row is not None:
            self.operations.retry_job(row.job)

    def action_edit_job(self) -> None:
        row = self._current()
        if row is None or row.job.kind is not JobKind.CREATE:
            self.app.notify("Only create jobs have a Modelfile to edit.", severity="warning")
            return
        self.operations.edit_create_job(row.job)

    def action_clear_finished(self) -> None:
        """Forget ended jobs (done, failed, cancelled) and drop their rows."""
        ended = self.operations.jobs.clear_finished()
        gone = [row for job in ended if (row := self._rows.pop(job.id, None)) is not None]
        if not gone:
            return
        # The focus moves first, to a row that stays, and the rows go in one removal: removed
        # one by one, Textual hands the focus of each to the next row, which may be on its way
        # out too, and a focused widget outside the DOM takes every key with it.
        current = self._current()
        if current in gone:
            self.set_focus(self._neighbour(current, gone), scroll_visible=False)
        self.query_one("#jobs-list", VerticalScroll).remove_children(gone)
        self._update_empty()

    def _neighbour(self, row: JobRow, leaving: list[JobRow]) -> JobRow | None:
        """The nearest row below this one (else above it) that is not leaving."""
        order = [r for r in self.query_one("#jobs-list").children if isinstance(r, JobRow)]
        index = order.index(row) if row in order else len(order)
        below = [r for r in order[index + 1 :] if r not in leaving]
        above = [r for r in order[:index] if r not in leaving]
        nearest = below[:1] or above[-1:]
        return nearest[0] if nearest else None

    def action_close(self) -> None:
        self.dismiss(None)
