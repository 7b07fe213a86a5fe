"""Job progress: text helpers, one job's row for the jobs view, and the dashboard's strip.

Widgets here are updated in place from the app's `jobs_changed_signal` (the JobQueue's coalesced
on_change, ~10 updates a second per job); nothing is rebuilt per update.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from ollama_tui.formatting import format_eta, format_rate, human_bytes, safe_line
from ollama_tui.jobs import Job, JobKind, JobState, LayerProgress, explain_job_error

if TYPE_CHECKING:
    from collections.abc import Callable

    from textual.signal import Signal

    from ollama_tui.jobs import JobQueue

BAR_WIDTH = 24


def progress_bar(fraction: float | None, width: int = BAR_WIDTH) -> Text:
    """A plain text bar (deterministic: no pulse animation, so snapshots are stable)."""
    bar = Text()
    if fraction is None:
        bar.append("·" * width, style="dim")
        return bar
    fraction = min(max(fraction, 0.0), 1.0)
    filled = round(fraction * width)
    bar.append("━" * filled, style="bold green")
    bar.append("━" * (width - filled), style="grey37")
    return bar


STATE_STYLES = {
    JobState.QUEUED: "yellow",
    JobState.RUNNING: "bold cyan",
    JobState.WAITING: "bold yellow",
    JobState.DONE: "green",
    JobState.FAILED: "bold red",
    JobState.CANCELLED: "magenta",
}


def job_fraction(job: Job) -> float | None:
    """Overall progress, or None while nothing measurable was seen (and for ended jobs
    that never had sizes)."""
    return job.fraction if job.total > 0 else None


# The strip's room for a server's name (the jobs view shows it whole).
STRIP_SERVER_CELLS = 12
STRIP_MIN_NAME_CELLS = 12  # a model's name in the jobs strip is cut, but never below this
STRIP_BAR_WIDTH = 16
# With a server named, the strip's bar gives way so a line still fits 80 columns.
STRIP_BAR_WIDTH_WITH_SERVER = 6


def job_server(job: Job, jobs: JobQueue) -> str:
    """The label of the job's server, made safe; "" with one server (nothing to tell apart)."""
    if job.server is None or not jobs.show_servers:
        return ""
    return safe_line(job.server.label)


def job_title(job: Job, server: str = "", name_cells: int | None = None) -> Text:
    """`#3 pull llama3.2:3b`, with several servers `#3 pull llama3.2:3b @gpu-box` — the model
    and server names are user/server text, kept literal (``server`` is already safe).
    ``name_cells``: room for the model's name (cut with "…" past it)."""
    text = Text()
    text.append(f"#{job.id} ", style="dim")
    text.append(str(job.kind), style="bold")
    text.append(" ")
    name = safe_line(job.model)
    if name_cells is not None and cell_len(name) > name_cells:
        name = set_cell_size(name, max(1, name_cells - 1)) + "…"
    text.append(name, style="bold")
    if server:
        text.append(" @", style="dim")
        text.append(server, style="cyan")
    return text


def job_status(job: Job) -> Text:
    """State and the server's phase text, e.g. `running · pulling dde5aa3fc5ff`."""
    text = Text()
    text.append(job.state_text, style=STATE_STYLES.get(job.state, ""))
    if job.phase and job.is_active:
        text.append(" · ")
        text.append(safe_line(job.phase), style="italic")
    if job.kind is JobKind.PROBE and job.state is JobState.DONE and job.result is not None:
        from ollama_tui.speed import probe_summary

        text.append(" · ")
        text.append(probe_summary(job.result), style="bold")  # type: ignore[arg-type]
    if job.layers_note:
        text.append(" · ")
        text.append(job.layers_note, style="dim")
    return text


def job_numbers(job: Job) -> Text:
    """`45%  1.2 GB / 2.0 GB  12 MB/s  ETA 1m05s` (parts left out when unknown); a finished
    job its total alone (the last progress line may stop short of it)."""
    fraction = job_fraction(job)
    parts: list[str] = []
    if job.state is JobState.DONE:
        return Text(f"100%  {human_bytes(job.total)}" if job.total > 0 else "")
    if fraction is not None:
        parts.append(f"{fraction * 100:3.0f}%")
        parts.append(f"{human_bytes(job.completed)} / {human_bytes(job.total)}")
    if job.state is JobState.RUNNING:
        rate = format_rate(job.rate)
        if rate:
            parts.append(rate)
        eta = format_eta(job.eta)
        if eta and fraction is not None and fraction < 1:
            parts.append(f"ETA {eta}")
    return Text("  ".join(parts))


def layer_status(job: Job, layer: LayerProgress) -> str:
    """What a layer's row says: the server's words while the job runs; otherwise the job's
    state (a cancelled, failed or waiting job's unfinished layer is not still "pulling")."""
    if job.state in (JobState.QUEUED, JobState.RUNNING):
        return safe_line(layer.status)
    if job.state is JobState.DONE or layer.is_complete:
        return "done"
    return str(job.state)


def job_hint(job: Job) -> str:
    """What to do about a failed or cancelled job (keys of the jobs view)."""
    if job.state is JobState.FAILED:
        extra = explain_job_error(job)
        return (extra + " " if extra else "") + "r: retry"
    if job.state is JobState.CANCELLED:
        return "r: resume" if job.kind is JobKind.PULL else "r: run again"
    return ""


_LAYER_COLUMNS = ("layer", "status", "pct", "size")
# The selected row's title starts with this (the highlight alone is lost without colour).
SELECTED_MARK = "▶ "
UNSELECTED_MARK = "  "


class JobRow(Vertical, can_focus=True):
    """One job in the jobs view; `expanded` shows a row per layer like `ollama pull`."""

    def __init__(self, job: Job, server: str = "") -> None:
        super().__init__(id=f"job-{job.id}", classes="job-row")
        self.job = job
        self.server = server
        """The job's server as shown (safe text; "" with one server)."""
        self.expanded = False
        self._layer_keys: set[str] = set()
        # What each layer row shows now: cells that did not change are not touched (a job can
        # list up to MAX_LAYERS bars, and each cell update costs a refresh).
        self._layer_shown: dict[str, tuple[tuple[object, ...], tuple[Text, ...]]] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="job-title", classes="job-line", markup=False)
        yield Static(id="job-progress", classes="job-line", markup=False)
        yield Static(id="job-error", classes="job-line job-error", markup=False)
        table: DataTable[Text] = DataTable(
            id="job-layers", cursor_type="none", show_cursor=False, zebra_stripes=False
        )
        table.can_focus = False
        yield table

    def on_mount(self) -> None:
        table: DataTable[Text] = self.query_one("#job-layers", DataTable)
        table.add_column("layer", key="layer", width=14)
        table.add_column("status", key="status", width=22)
        table.add_column("%", key="pct", width=4)
        table.add_column("size", key="size", width=21)
        table.display = False
        self.update_job(self.job)

    def toggle_expanded(self) -> None:
        self.expanded = not self.expanded
        table = self.query_one("#job-layers", DataTable)
        table.display = self.expanded
        if self.expanded:
            self._update_layers()

    def update_job(self, job: Job) -> None:
        """Refresh the lines of this row from the job (cheap: a few Static updates)."""
        self.job = job
        self._update_title()
        fraction = job_fraction(job)
        progress = self.query_one("#job-progress", Static)
        if fraction is None and not job.is_active:
            progress.display = False
        else:
            line = progress_bar(fraction, BAR_WIDTH)
            line.append("  ")
            line.append_text(job_numbers(job))
            progress.update(line)
            progress.display = True
        error_line = self.query_one("#job-error", Static)
        hint = job_hint(job)
        if job.error or hint:
            text = Text()
            if job.error:
                text.append(safe_line(job.error), style="red")
                text.append("  ")
            text.append(hint, style="dim")
            error_line.update(text)
            error_line.display = True
        else:
            error_line.display = False
        self.set_class(job.state in (JobState.FAILED, JobState.CANCELLED), "-ended-badly")
        self.set_class(job.state is JobState.DONE, "-done")
        if self.expanded:
            self._update_layers()

    def _update_title(self) -> None:
        # The screen's focus, not has_focus: that is set after this class's on_focus/on_blur.
        selected = self.is_attached and self.screen.focused is self
        title = Text(SELECTED_MARK if selected else UNSELECTED_MARK, style="bold")
        title.append_text(job_title(self.job, self.server))
        title.append("  ")
        title.append_text(job_status(self.job))
        self.query_one("#job-title", Static).update(title)

    def on_focus(self) -> None:
        self._update_title()

    def on_blur(self) -> None:
        self._update_title()

    def _update_layers(self) -> None:
        table: DataTable[Text] = self.query_one("#job-layers", DataTable)
        job = self.job
        shown = self._layer_shown
        for key, layer in job.layers.items():
            total = layer.total
            # A finished job's layers are whole, whatever the last progress line said.
            completed = total if job.state is JobState.DONE else layer.completed
            values = (layer.status, total, completed, job.state)
            before = shown.get(key)
            if before is not None and before[0] == values:
                continue
            if not total:
                size = ""
            elif completed >= total:
                size = human_bytes(total)
            else:
                size = f"{human_bytes(completed)}/{human_bytes(total)}"
            cells = (
                # Placeholder digests (quantize, GGUF checks) have no short form: show status.
                Text(safe_line(layer.short_digest)),
                Text(layer_status(job, layer)),
                Text(f"{completed * 100 // total:3d}" if total else "", justify="right"),
                Text(size),
            )
            shown[key] = (values, cells)
            if before is not None:  # the row exists: only the cells that changed
                for column, cell, old in zip(_LAYER_COLUMNS, cells, before[1], strict=True):
                    if cell != old:
                        table.update_cell(key, column, cell)
            else:
                table.add_row(*cells, key=key)
                self._layer_keys.add(key)
        if len(self._layer_keys) > len(self.job.layers):
            # A retry starts with no layers: drop the rows of the previous attempt.
            table.clear()
            self._layer_keys.clear()
            self._layer_shown.clear()
            self._update_layers()
            return
        table.styles.height = len(self._layer_keys) + 1


class JobsStrip(Vertical):
    """Compact progress of the running jobs at the bottom of the dashboard (hidden when idle).

    A job that ends keeps its line for ``LINGER`` seconds ("done", "failed", "cancelled"); a
    new job takes over such a line in place. Lines are not removed and mounted as jobs come
    and go, so a batch of pulls finishing and starting does not re-lay out the screen.
    """

    MAX_LINES = 3
    LINGER = 3.0

    def __init__(
        self, jobs: JobQueue, jobs_changed: Signal[Job], *, id: str | None = "jobs-strip"
    ) -> None:
        super().__init__(id=id)
        self.jobs = jobs
        self.jobs_changed = jobs_changed
        self._lines: dict[int, Static] = {}
        self._ended: dict[int, int] = {}  # job id -> which linger its line is in
        self._linger_count = 0
        self._more = Static("", id="jobs-strip-more", markup=False)
        self._hidden = 0

    def compose(self) -> ComposeResult:
        yield self._more

    def _jobs(self) -> list[Job]:
        return self.jobs.jobs

    def on_mount(self) -> None:
        self.display = False
        self.jobs_changed.subscribe(self, self.on_job_changed)
        for job in self._jobs():
            if job.is_active:
                self.on_job_changed(job)

    def on_job_changed(self, job: Job) -> None:
        """Update, add or end the line of one job."""
        line = self._lines.get(job.id)
        if job.is_active:
            self._ended.pop(job.id, None)  # a retry of a job whose line still lingers
            if line is None:
                line = self._take_line(job.id)
            if line is not None:
                # A line is one row of fixed size: a progress tick never re-lays out the screen.
                line.update(self._fit(self._compact, job), layout=False)
        elif line is not None and job.id not in self._ended:
            line.update(self._fit(self._ended_text, job), layout=False)
            self._linger_count += 1
            self._ended[job.id] = self._linger_count
            self.set_timer(
                self.LINGER, functools.partial(self._drop_ended, job.id, self._linger_count)
            )
        self._update_more()

    def _take_line(self, job_id: int) -> Static | None:
        """A line for a newly active job: the oldest ended job's, else a new one if room."""
        if self._ended:
            oldest = min(self._ended, key=self._ended.__getitem__)
            del self._ended[oldest]
            line = self._lines.pop(oldest)
            self._lines[job_id] = line
            return line
        if len(self._lines) < self.MAX_LINES:
            line = Static("", classes="jobs-strip-line", markup=False)
            self._lines[job_id] = line
            self.mount(line, before=self._more)
            return line
        return None

    def _drop_ended(self, job_id: int, linger: int) -> None:
        # The job's line only if it still shows that same ending (not taken over by another
        # job, not the job running again and ending anew).
        if self._ended.get(job_id) != linger:
            return
        del self._ended[job_id]
        line = self._lines.pop(job_id)
        # An active job that found no free line gets this one; else it goes.
        waiting = next((j for j in self._jobs() if j.is_active and j.id not in self._lines), None)
        if waiting is None:
            line.remove()
        else:
            self._lines[waiting.id] = line
            self.on_job_changed(waiting)
        self._update_more()

    def _update_more(self) -> None:
        hidden = sum(1 for j in self._jobs() if j.is_active and j.id not in self._lines)
        if hidden != self._hidden:
            self._hidden = hidden
            self._more.update(Text(f"+{hidden} more — J: jobs view", style="dim") if hidden else "")
        # Like the lines, the "more" line stays (blank) while ended lines linger: jobs coming
        # and going in batches would otherwise change the strip's height each time.
        if hidden:
            self._more.display = True
        elif not self._ended:
            self._more.display = False
        self.display = bool(self._lines)

    def _fit(self, build: Callable[[Job, str, int | None], Text], job: Job) -> Text:
        """A job's line, its model's name cut so that the line fits the strip: a long name
        (``hf.co/…/…-GGUF:Q4_K_M``) must not push its progress, rate and state out of sight."""
        server = self._server(job)
        text = build(job, server, None)
        # Before the strip's first layout (it shows with its first job): the screen's width.
        room = self.content_size.width or self.app.size.width - self.styles.gutter.width
        if room and text.cell_len > room:
            name = cell_len(safe_line(job.model))
            text = build(job, server, max(STRIP_MIN_NAME_CELLS, name - (text.cell_len - room)))
        return text

    def _server(self, job: Job) -> str:
        """The job's server, cut to the strip's room ("" with one server)."""
        label = job_server(job, self.jobs)
        if cell_len(label) > STRIP_SERVER_CELLS:
            label = set_cell_size(label, STRIP_SERVER_CELLS - 1) + "…"
        return label

    @staticmethod
    def _ended_text(job: Job, server: str = "", name_cells: int | None = None) -> Text:
        text = job_title(job, server, name_cells)
        text.append(" ")
        if job.state is JobState.DONE:
            text.append("✓ done", style=STATE_STYLES[JobState.DONE])
        elif job.state is JobState.FAILED:
            text.append("✗ failed", style=STATE_STYLES[JobState.FAILED])
            text.append(" — J: jobs view", style="dim")
        else:
            text.append(job.state_text, style=STATE_STYLES.get(job.state, ""))
        return text

    @staticmethod
    def _compact(job: Job, server: str = "", name_cells: int | None = None) -> Text:
        text = job_title(job, server, name_cells)
        text.append(" ")
        if job.state is JobState.QUEUED:
            # Said in words: an empty bar alone reads as "stuck" (and without colour as nothing).
            text.append("queued", style=STATE_STYLES[JobState.QUEUED])
            return text
        bar = STRIP_BAR_WIDTH_WITH_SERVER if server else STRIP_BAR_WIDTH
        text.append_text(progress_bar(job_fraction(job), bar))
        text.append(" ")
        text.append_text(job_numbers(job))
        if job.state is JobState.WAITING:
            text.append(" ")
            text.append(job.state_text, style=STATE_STYLES[JobState.WAITING])
        elif job_fraction(job) is None and job.phase:
            text.append(" ")
            text.append(safe_line(job.phase), style="italic")
        return text
