"""Create a model: a full-screen Modelfile editor with live validation.

Flow (documented in the README): Ctrl+R starts the create as a job. The editor
stays open and follows the job: on success it closes; if the server rejects the Modelfile the
editor keeps the text and shows the server's message at the line it names. Escape closes the
editor at any time; a running create keeps going in the jobs view (`J`), and `e` there reopens
a failed create's Modelfile. Nothing is sent while the name or the Modelfile is invalid.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol, TypeVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Input, Select, Static, TextArea
from textual.worker import Worker

from ollama_tui.api.errors import OllamaError
from ollama_tui.api.limits import MAX_MODELFILE_BYTES
from ollama_tui.files import FileRefused, atomic_write, read_text_bounded, write_target
from ollama_tui.formatting import human_bytes, safe_line
from ollama_tui.jobs import Job, JobState
from ollama_tui.modelfile import Modelfile, ModelfileError, parse
from ollama_tui.modelfile_checks import (
    PathState,
    Problem,
    check_parsed,
    not_installed,
    path_instructions,
    probe_path,
    resolve_path,
)
from ollama_tui.screens.confirm import ConfirmScreen, TextPrompt, name_input, show_validation
from ollama_tui.stylesheets import OPERATIONS_CSS
from ollama_tui.widgets.job_progress import job_numbers
from ollama_tui.widgets.modelfile_editor import ModelfileEditor, strip_controls

if TYPE_CHECKING:
    from textual.signal import Signal

    from ollama_tui.jobs import JobQueue
    from ollama_tui.session import ServerSession


class CreateOperations(Protocol):
    """What the editor needs of the operations (``ollama_tui.operations.Operations``), named
    here so this screen does not import them (they import it)."""

    session: ServerSession
    jobs: JobQueue
    jobs_changed: Signal[Job]
    server_label: str | None
    """The server's name when there are several (the editor's title names it), else None."""

    def refused(self, what: str) -> bool: ...

    def installed_names(self) -> list[str]: ...

    async def confirm_replace(self, destination: str, note: str) -> bool: ...


QUANTIZE_CHOICES = ("none", "q4_K_M", "q4_K_S", "q8_0", "f16", "bf16", "f32")
T = TypeVar("T")
_LINE_REF = re.compile(r"\bline (\d+)")
PATH_CHECK_DELAY = 0.2  # debounce of the FROM/ADAPTER file checks while typing
PATH_SLOW_AFTER = 0.5  # a look-up taking longer than this is said in the status line
PATH_RECHECK_AFTER = 2.0  # seconds a file check stays fresh (a missing file may appear)


class CreateScreen(ModalScreen[None]):
    """Full-screen editor; see the module docstring for the flow."""

    CSS_PATH = OPERATIONS_CSS

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "create", "Create", id="ops.create.submit", priority=True),
        Binding("ctrl+s", "save", "Save", id="ops.create.save", priority=True),
        Binding("ctrl+o", "open", "Open", id="ops.create.open", priority=True),
        Binding("escape", "close", "Close", id="ops.create.close"),
        Binding("f1", "reference", "Modelfile reference", id="ops.create.reference"),
    ]
    AUTO_FOCUS = "#create-name"

    def __init__(
        self,
        operations: CreateOperations,
        *,
        text: str = "",
        name: str = "",
        base_dir: str | None = None,
        quantize: str | None = None,
        failed_job: Job | None = None,
        from_model: str | None = None,
    ) -> None:
        super().__init__(classes="create-screen")
        self.operations = operations
        # The server model the text was prefilled from: its FROM is that model, never a file.
        self.from_model = from_model
        # Control characters would reach the terminal raw; the parser drops them anyway.
        self.initial_text, self._initial_controls = strip_controls(text or "FROM \n")
        self.initial_name = name
        self.base_dir = base_dir or os.getcwd()
        self.quantize = quantize if quantize in QUANTIZE_CHOICES else "none"
        self.job: Job | None = None
        self.failed_job = failed_job
        self.problem: Problem | None = None
        self.saved_text = self.initial_text
        self._controls_note = 0  # control characters dropped from the last load or paste
        # (folder, value) -> (state, when checked); filled by the _check_paths thread worker.
        self._path_cache: dict[tuple[str, str], tuple[PathState, float]] = {}
        self._paths_pending = False
        self._lookups: dict[tuple[str, tuple[str, ...]], asyncio.Future[dict[str, PathState]]] = {}
        # What ctrl+r saw while the files were being checked: it starts once they pass,
        # unless the name, text or folder changed meanwhile.
        self._create_when_checked: tuple[str, str, str] | None = None
        self._dismiss_pending = False
        self._file_dialogs = 0  # save/open/replace dialogs not answered yet
        self._rejected: tuple[str, str, str] | None = None  # what the server last refused

    def compose(self) -> ComposeResult:
        installed = self.operations.installed_names()
        with Vertical(id="create-dialog"):
            # Named when there are several servers (untrusted text: a Text, never markup).
            label = self.operations.server_label
            title = f"Create a model on {safe_line(label)}" if label else "Create a model"
            yield Static(Text(title), classes="dialog-title", markup=False)
            with Horizontal(classes="create-row"):
                yield Static("Name", classes="field-label")
                name = name_input(
                    self.initial_name,
                    id="create-name",
                    placeholder="new-model:tag",
                    suggestions=installed,
                )
                name.compact = True
                yield name
                yield Static("Quantize", classes="field-label -quantize")
                yield Select(
                    [(choice, choice) for choice in QUANTIZE_CHOICES],
                    value=self.quantize,
                    allow_blank=False,
                    id="create-quantize",
                    compact=True,
                )
            yield Static("", id="create-name-message", classes="field-message", markup=False)
            with Horizontal(classes="create-row"):
                yield Static("Folder", classes="field-label")
                yield Input(self.base_dir, id="create-folder", compact=True)
            editor = ModelfileEditor(self.initial_text, id="create-editor")
            editor.controls_removed = self._initial_controls
            yield editor
            yield Static("", id="create-status", markup=False)
            with Horizontal(id="create-buttons"):
                yield Button("Create ctrl+r", id="create", variant="primary", compact=True)
                yield Button("Save ctrl+s", id="save", compact=True)
                yield Button("Open ctrl+o", id="open", compact=True)
                yield Button("Close esc", id="close", compact=True)

    def on_mount(self) -> None:
        self.operations.jobs_changed.subscribe(self, self.on_job_changed)
        # After a refresh: widgets nested in containers may not be mounted yet here.
        self.call_after_refresh(self._initial_check)

    def _initial_check(self) -> None:
        self._take_controls_note()
        if self.failed_job is not None and self.failed_job.error:
            self._show_server_error(self.failed_job.error)
        else:
            self.validate()
        if self.initial_name:
            self.query_one(ModelfileEditor).focus()

    # -- validation -------------------------------------------------------------------------

    @property
    def editor(self) -> ModelfileEditor:
        return self.query_one(ModelfileEditor)

    def _folder(self) -> str:
        return self.query_one("#create-folder", Input).value.strip() or "."

    def _take_controls_note(self) -> None:
        """Remember how many control characters the editor's last load or paste dropped."""
        self._controls_note = self.editor.controls_removed
        self.editor.controls_removed = 0

    def _with_controls_note(self, text: Text) -> Text:
        if self._controls_note:
            count = self._controls_note
            plural = "s" if count != 1 else ""
            text.append(f"  ·  {count} control character{plural} removed", style="yellow")
        return text

    def _cached_states(self, mf: Modelfile, folder: str) -> dict[str, PathState] | None:
        """The checked states of the Modelfile's paths, or None while one was never checked.

        A missing or stale check starts the (debounced) thread worker, which validates again.
        """
        values = list(dict.fromkeys(i.value for i in path_instructions(mf, self.from_model)))
        now = time.monotonic()
        states: dict[str, PathState] = {}
        stale = False
        for value in values:
            entry = self._path_cache.get((folder, value))
            if entry is None:
                stale = True
                continue
            states[value] = entry[0]
            stale = stale or now - entry[1] > PATH_RECHECK_AFTER
        if stale:
            self._check_paths(folder, values)
        self._paths_pending = len(states) < len(values)
        return None if self._paths_pending else states

    @work(group="create-paths", exclusive=True, exit_on_error=False)
    async def _check_paths(self, folder: str, values: list[str]) -> None:
        """File-system checks off the event loop (a hung mount must not freeze typing)."""
        await asyncio.sleep(PATH_CHECK_DELAY)  # exclusive: a newer keystroke cancels this one
        key = (folder, tuple(values))
        lookup = self._lookups.get(key)
        if lookup is None:
            # One thread per distinct look-up: on a hung mount, a repeated check waits for
            # the one already running instead of taking another thread from the pool.
            lookup = asyncio.ensure_future(
                asyncio.to_thread(lambda: {v: probe_path(v, folder) for v in values})
            )
            self._lookups[key] = lookup
            lookup.add_done_callback(lambda done: self._store_states(key, done))
        done, _ = await asyncio.wait({lookup}, timeout=PATH_SLOW_AFTER)
        if not done and self._paths_pending:
            status = self.query_one("#create-status", Static)
            status.update(Text("Checking the FROM/ADAPTER files… (slow file system)", style="dim"))
            status.remove_class("-error")
        await asyncio.shield(lookup)  # a cancelled worker leaves the look-up running
        if self.validate() and self._create_when_checked == self._snapshot():
            self._create_when_checked = None
            self.action_create()
        elif not self._paths_pending:
            self._create_when_checked = None

    def _store_states(
        self, key: tuple[str, tuple[str, ...]], lookup: asyncio.Future[dict[str, PathState]]
    ) -> None:
        """Cache a finished look-up (also one whose worker was cancelled meanwhile)."""
        self._lookups.pop(key, None)
        if lookup.cancelled() or lookup.exception() is not None:
            return
        now = time.monotonic()
        for value, state in lookup.result().items():
            self._path_cache[(key[0], value)] = (state, now)

    def _snapshot(self) -> tuple[str, str, str]:
        name = self.query_one("#create-name", Input).value
        return name, self.editor.text, self._folder()

    def validate(self, *, quiet_empty: bool = True) -> bool:
        """Check name and Modelfile; mark the error line; return whether creating may start.

        Parsing happens here; file checks come from a thread worker. Until a path was
        checked, the status and mark stay as they were and Create stays disabled.
        """
        name_field = self.query_one("#create-name", Input)
        name_message = self.query_one("#create-name-message", Static)
        name_ok = show_validation(name_field, name_message, quiet_empty=quiet_empty)
        # Only take a line from the editor while there is something to say.
        name_message.display = not name_ok and (bool(name_field.value.strip()) or not quiet_empty)
        status = self.query_one("#create-status", Static)
        if self.editor.text.strip().upper() in ("", "FROM"):
            # A fresh editor: a hint, not an error.
            self.problem = Problem("no FROM line")
            self.editor.mark_error(None)
            hint = Text("Start with FROM <model> or FROM ./file.gguf", style="dim")
            status.update(self._with_controls_note(hint))
            status.remove_class("-error")
            self._paths_pending = False
            self._update_create_button(False)
            return False
        notes: list[str] = []
        warning = ""
        try:
            mf = parse(self.editor.text)
        except ModelfileError as error:
            self._paths_pending = False
            problem: Problem | None = Problem(error.message, error.line, error.column)
        else:
            folder = self._folder()
            states = self._cached_states(mf, folder)
            if states is None:
                self._update_create_button(False)
                return False
            problem, notes = check_parsed(mf, folder, states, self.from_model)
            installed = self.operations.installed_names()
            warning = not_installed(mf, states, installed)
        valid = name_ok and problem is None
        if self._rejected is not None:
            if self._snapshot() == self._rejected:
                # What the server refused, unchanged: its words stay (a local check that
                # finds nothing wrong, e.g. once the FROM file was looked up, must not
                # replace them with "OK").
                self._update_create_button(valid)
                return valid
            self._rejected = None
        self.problem = problem
        self.editor.mark_error(problem.line if problem else None)
        if problem is not None:
            status.update(
                self._with_controls_note(Text(safe_line(problem.text()), style="bold red"))
            )
        elif self.job is None:
            ok = Text()
            ok.append("✓ Modelfile OK", style="green")
            if warning:
                ok.append(f"  ·  ⚠ {warning}", style="yellow")
            for note in notes[:2]:
                ok.append(f"  ·  {note}", style="dim")
            status.update(self._with_controls_note(ok))
        status.set_class(problem is not None, "-error")
        self._update_create_button(valid)
        return valid

    def _update_create_button(self, valid: bool) -> None:
        running = self.job is not None and self.job.is_active
        self.query_one("#create", Button).disabled = not valid or running

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        actions = {
            "create": self.action_create,
            "save": self.action_save,
            "open": self.action_open,
            "close": self.action_close,
        }
        actions[event.button.id or "close"]()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        self._take_controls_note()
        self.validate()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.validate()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.editor.focus()  # Enter in a field moves on to the Modelfile

    # -- create -----------------------------------------------------------------------------

    def action_create(self) -> None:
        if self.operations.refused("create"):
            return
        if self.job is not None and self.job.is_active:
            self.app.notify("This create is already running.", severity="warning")
            return
        if not self.validate(quiet_empty=False):
            if self._paths_pending:
                self._create_when_checked = self._snapshot()  # starts once they pass
            else:
                self.app.notify("Fix the marked problem first; nothing was sent.", severity="error")
            return
        name = self.query_one("#create-name", Input).value.strip()
        self._start_unless_refused(name)

    def action_reference(self) -> None:
        from ollama_tui.screens.modelfile_help import ModelfileHelpScreen

        self.app.push_screen(ModelfileHelpScreen())

    @work(group="create-destination", exclusive=True, exit_on_error=False)
    async def _start_unless_refused(self, name: str) -> None:
        """Start, after asking if `name` exists on the server now (not at the last poll)."""
        try:
            note = "Creating under this name replaces the installed model."
            if not await self.operations.confirm_replace(name, note):
                return
        except OllamaError as error:
            self.app.notify(str(error), title="Create", severity="error")
            return
        if self.job is None or not self.job.is_active:
            self._start(name)

    def _start(self, name: str) -> None:
        quantize = self.query_one("#create-quantize", Select).value
        self.job = self.operations.jobs.submit_create(
            name,
            self.editor.text,
            base_dir=self._folder(),
            quantize=None if quantize in (None, "none", Select.NULL) else str(quantize),
            from_model=self.from_model,
            server=self.operations.session,
        )
        self.editor.mark_error(None)
        self.on_job_changed(self.job)

    def on_job_changed(self, job: Job) -> None:
        if self.job is None or job.id != self.job.id:
            return
        status = self.query_one("#create-status", Static)
        self.query_one("#create", Button).disabled = job.is_active
        if job.state is JobState.DONE:
            self._close_when_on_top()  # the app announces finished jobs
        elif job.state is JobState.FAILED:
            self._show_server_error(job.error or "create failed")
        elif job.state is JobState.CANCELLED:
            status.update(Text("Create cancelled — ctrl+r starts it again", style="yellow"))
        else:
            text = Text()
            text.append(f"Creating (job #{job.id}) · ", style="cyan")
            text.append(safe_line(job.phase or str(job.state)))
            numbers = job_numbers(job)
            if numbers.plain:
                text.append("  ")
                text.append_text(numbers)
            text.append("   esc: continue in background", style="dim")
            status.update(text)

    def _show_server_error(self, message: str) -> None:
        """The server's words, at the line they name; the text stays as it is."""
        match = _LINE_REF.search(message)
        line = int(match.group(1)) if match else None
        self.problem = Problem(message, None)
        self._rejected = self._snapshot()
        self.editor.mark_error(line)
        status = self.query_one("#create-status", Static)
        status.update(Text(f"Rejected: {safe_line(message)}", style="bold red"))
        status.add_class("-error")

    # -- files ------------------------------------------------------------------------------

    def _unsaved(self) -> bool:
        """Whether the text differs from the last one saved or loaded (edits would be lost)."""
        text = self.editor.text
        return text != self.saved_text and text.strip().upper() not in ("", "FROM")

    def action_save(self) -> None:
        default = str(Path(self._folder()) / "Modelfile")
        self._push_file_dialog(TextPrompt("Save the Modelfile as", default), self._save_to)

    def _save_to(self, path: str | None) -> None:
        if path:
            self._check_target(path.strip(), self._folder())

    @work(group="create-file", exit_on_error=False)
    async def _check_target(self, path: str, folder: str) -> None:
        """Ask before replacing an existing file (looked up in a thread)."""

        def look_up() -> tuple[Path, Path, bool]:
            target = resolve_path(path, folder)
            # A FIFO or device is refused here: writing to one would wait for a reader forever.
            return (target, *write_target(target))

        try:
            target, real, exists = await asyncio.to_thread(look_up)
        except (OSError, ValueError) as error:
            self.app.notify(str(error), title="Save", severity="error", markup=False)
            return
        if exists:
            # Saving through a symlink replaces the file it points to: say which.
            items = [str(target)] if real == target else [str(target), f"→ {real}"]
            self._push_file_dialog(
                ConfirmScreen("Replace the file?", items, confirm_label="Replace", danger=True),
                lambda ok: self._write_if(ok, target),
            )
        else:
            self._write(target)

    def _write_if(self, ok: bool | None, target: Path) -> None:
        if ok:
            self._write(target)

    @work(group="create-file", exit_on_error=False)
    async def _write(self, target: Path) -> None:
        text = self.editor.text
        try:
            # In one step, through symlinks, keeping the file's mode; never onto a FIFO.
            await asyncio.to_thread(atomic_write, target, text.encode("utf-8"))
        except (OSError, ValueError) as error:
            self.app.notify(str(error), title="Save", severity="error", markup=False)
            return
        self.saved_text = text
        self.app.notify(f"Saved {target}.", markup=False)

    def action_open(self) -> None:
        if self._unsaved():
            self.app.push_screen(
                ConfirmScreen(
                    "Open another Modelfile?",
                    note="Your edits are not saved (ctrl+s saves them); Open replaces them.",
                    confirm_label="Open",
                    danger=True,
                ),
                self._ask_open_if,
            )
            return
        self._ask_open()

    def _ask_open_if(self, ok: bool | None) -> None:
        if ok:
            self._ask_open()

    def _ask_open(self) -> None:
        default = str(Path(self._folder()) / "Modelfile")
        self._push_file_dialog(TextPrompt("Open a Modelfile", default), self._open_from)

    def _open_from(self, path: str | None) -> None:
        if path:
            self._read(path.strip(), self._folder())

    @work(group="create-file", exit_on_error=False)
    async def _read(self, path: str, folder: str) -> None:
        def read() -> tuple[Path, str]:
            source = resolve_path(path, folder)
            try:  # only a regular file (a FIFO would hang), of bounded size
                return source, read_text_bounded(source, MAX_MODELFILE_BYTES)
            except FileRefused as error:
                if error.size is None:
                    raise
                raise ValueError(f"{source}: not a Modelfile ({human_bytes(error.size)})") from None

        try:
            source, text = await asyncio.to_thread(read)
        except (OSError, ValueError) as error:  # UnicodeDecodeError is a ValueError
            self.app.notify(str(error), title="Open", severity="error", markup=False)
            return
        self.editor.load_text(text)  # drops control characters; the status says how many
        self.saved_text = self.editor.text
        # FROM ./file paths are relative to the Modelfile's folder, as in `ollama create -f`.
        self.query_one("#create-folder", Input).value = str(source.parent)
        self.validate()

    # -- closing ----------------------------------------------------------------------------

    def _close_when_on_top(self) -> None:
        """Dismiss now if the editor is the current screen, else once it is again.

        Screen.dismiss pops whatever screen is on top: with a prompt or the command palette
        above the editor it would close that one instead.
        """
        if self not in self.app.screen_stack:
            return
        if self.app.screen is self and not self._file_work_running():
            self._dismiss_pending = False
            self.dismiss(None)
        else:
            # Closing the screen cancels its workers: a save asked for under the prompt
            # would be lost, so the editor waits for it.
            self._dismiss_pending = True

    def _push_file_dialog(self, screen: Screen[T], callback: Callable[[T | None], None]) -> None:
        """Push a dialog whose answer may start file work the editor must not close under.

        Its answer reaches ``callback`` a little after the dialog is gone (maybe after the
        editor resumed): until then the editor counts the dialog as file work too.
        """
        self._file_dialogs += 1

        def answered(result: T | None) -> None:
            self._file_dialogs -= 1
            try:
                callback(result)
            finally:
                if self._dismiss_pending:
                    self.call_later(self._close_when_on_top)

        self.app.push_screen(screen, answered)

    def _file_work_running(self) -> bool:
        if self._file_dialogs:
            return True
        return any(
            worker.node is self and worker.group == "create-file" and not worker.is_finished
            for worker in self.workers
        )

    def on_screen_resume(self) -> None:
        if self._dismiss_pending:
            self.call_later(self._close_when_on_top)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if self._dismiss_pending and event.worker.node is self:
            self.call_later(self._close_when_on_top)

    def _discard_if(self, ok: bool | None) -> None:
        if ok:
            self._close_when_on_top()

    def action_close(self) -> None:
        if self.job is not None and self.job.is_active:
            self.app.notify("The create continues in the background — J shows it.")
            self._close_when_on_top()
            return
        if self._unsaved():
            self.app.push_screen(
                ConfirmScreen(
                    "Discard this Modelfile?",
                    note="Your edits are not saved (ctrl+s saves them).",
                    confirm_label="Discard",
                    danger=True,
                ),
                self._discard_if,
            )
            return
        self._close_when_on_top()
