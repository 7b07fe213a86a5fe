"""Model operations behind the dashboard's keys: pull, push, create, copy, rename, delete,
load / unload, and the jobs view.

Every method returns at once: it pushes a dialog and continues in a worker
(`push_screen_wait`), so the event loop never blocks. Failures are shown with the server's own
words and never end the app. Transfers (pull, push, create) run as jobs in `app.jobs`, which
outlive the dialogs that started them; job progress reaches widgets through the app's
`jobs_changed_signal` (handed over as `jobs_changed`).

Operations act on the :class:`ServerSession` they are given, never on state fished out of the
app; they ask the app for a fresh poll with a :class:`RefreshRequested` message.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.screen import ModalScreen
from textual.signal import Signal

from ollama_tui.api.errors import ApiError, OllamaError
from ollama_tui.api.models import LocalModel, RunningModel, is_embedding_only
from ollama_tui.api.names import name_identity, names_equal
from ollama_tui.config import DEFAULT_LOAD_TIMEOUT
from ollama_tui.disk import Freed, deleting_frees
from ollama_tui.formatting import counted, safe_line
from ollama_tui.jobs import Job, JobKind, JobQueue, JobState
from ollama_tui.messages import RefreshRequested
from ollama_tui.session import ServerSession

if TYPE_CHECKING:
    from textual.app import App

    from ollama_tui.fleet_copy import CopyPlan, SourceModel
    from ollama_tui.registry import RegistryChecker

__all__ = ["Operations", "deleted_message", "probe_targets"]

log = logging.getLogger(__name__)


def deleted_message(names: Sequence[str], shown: int = 3) -> str:
    """ "Deleted mistral:7b", "Deleted 3 models: a, b, c", "Deleted 5 models: a, b, c and 2
    more": the count first, and no ellipsis next to a full stop."""
    if len(names) == 1:
        return f"Deleted {names[0]}"
    listed = ", ".join(names[:shown])
    rest = len(names) - shown
    return f"Deleted {len(names)} models: {listed}" + (f" and {rest} more" if rest > 0 else "")


def probe_targets(
    sessions: Sequence[ServerSession], name: str
) -> list[tuple[ServerSession, LocalModel]]:
    """Each server that has a model of this name (as the server compares names), with its
    own entry (its digest and capabilities), in the servers' order; cloud models left out."""
    found = []
    for session in sessions:
        model = next((m for m in session.installed if names_equal(m.name, name)), None)
        if model is not None and not model.is_remote:
            found.append((session, model))
    return found


def _is_view(screen: ModalScreen[Any]) -> bool:
    """A view (help, where, jobs) rather than a dialog waiting for an answer."""
    from ollama_tui.screens.help import HelpScreen
    from ollama_tui.screens.jobs import JobsScreen
    from ollama_tui.screens.where import WhereScreen

    return isinstance(screen, HelpScreen | JobsScreen | WhereScreen)


def _line_on_server(name: str, ops: Operations) -> Text:
    """A dialog's list line for a model on one of several servers."""
    return Text(f"• {safe_line(name)} on {safe_line(ops.session.label)}")


class Operations:
    """The model operations of one server; the dashboard calls one method per key."""

    def __init__(
        self,
        app: App[Any],
        session: ServerSession,
        jobs: JobQueue,
        jobs_changed: Signal[Job],
        *,
        read_only: bool = False,
        load_timeout: float = DEFAULT_LOAD_TIMEOUT,
        registry: Callable[[], RegistryChecker] | None = None,
        server_label: str | None = None,
        insecure_registries: Collection[str] = (),
    ) -> None:
        self.app = app
        self.server_label = server_label
        """The server's name for dialogs, given only when there is more than one server (with
        one, the dialogs do not name it)."""
        self.session = session
        self.jobs = jobs
        self.jobs_changed = jobs_changed
        """The app's signal of job changes: views subscribe to it."""
        self.read_only = read_only
        self.load_timeout = load_timeout
        self.registry = registry
        """Makes a registry checker (closed after use); None: registries are not asked."""
        self.insecure_registries = tuple(insecure_registries)
        """Registries reached over http (config): pulls of their names send ``insecure``."""

    def insecure(self, name: str) -> bool:
        """Whether a pull of ``name`` goes with Ollama's insecure flag (its registry is one of
        ``insecure_registries``)."""
        from ollama_tui.freshness import is_insecure

        return is_insecure(name, self.insecure_registries)

    def on_server(self, word: str = "on") -> str:
        """ " on gpu-box" for a dialog title when there are several servers, else "" (the
        label is untrusted: the dialogs escape their titles)."""
        return f" {word} {self.server_label}" if self.server_label else ""

    def refused(self, what: str) -> bool:
        """In read-only mode: say so and return True (the caller then does nothing)."""
        if self.read_only:
            self.app.notify(
                f"Read-only mode: {what} is disabled.", severity="warning", markup=False
            )
            return True
        return False

    def _dialog_open(self) -> bool:
        # App-level keys still reach us while one of our dialogs is up; never stack them.
        return isinstance(self.app.screen, ModalScreen)

    def _error(self, error: BaseException, doing: str) -> None:
        message = str(error) or type(error).__name__
        if not isinstance(error, OllamaError):
            message = f"unexpected error ({type(error).__name__}): {message}"
        # Raw: the app's notify() escapes title and message (escaping twice would show `\\`).
        self.app.notify(message, title=doing, severity="error", markup=False)

    def _run(
        self,
        work: Callable[[], Awaitable[None]],
        doing: str,
        *,
        group: str,
        exclusive: bool = False,
    ) -> None:
        """Run a flow in a worker; any failure becomes a notification, never an exit."""

        async def guarded() -> None:
            try:
                await work()
            except Exception as error:  # OllamaError or a bug: shown, never fatal
                if not isinstance(error, OllamaError):
                    log.exception("%s failed", doing)
                self._error(error, doing)

        self.app.run_worker(
            guarded(), name=doing, group=group, exclusive=exclusive, exit_on_error=False
        )

    def installed_names(self) -> list[str]:
        """The names of the session's installed models (for name checks in dialogs)."""
        return [m.name for m in self.session.installed]

    def _installed(self, name: str) -> LocalModel | None:
        models = self.session.installed
        return next((m for m in models if names_equal(m.name, name)), None)

    def _running(self, name: str) -> RunningModel | None:
        models = self.session.running_models
        return next((m for m in models if names_equal(m.name, name)), None)

    def _refresh(self) -> None:
        self.app.post_message(RefreshRequested(self.session))

    def _notify(self, message: str) -> None:
        self.app.notify(message, markup=False)

    # -- pull / push / create (jobs) --------------------------------------------------------

    def pull(self, marked: Sequence[LocalModel] = ()) -> None:
        """`p`: ask for a name; with marked rows, first ask: re-pull them, or a new name?"""
        from ollama_tui.screens.confirm import ChoiceScreen

        if self.refused("pull") or self._dialog_open():
            return
        from ollama_tui.screens.pull import PullScreen, repull_items

        names = [m.name for m in marked]

        async def ask() -> None:
            if names:
                count = "1 marked model" if len(names) == 1 else f"{len(names)} marked models"
                choice = await self.app.push_screen_wait(
                    ChoiceScreen(
                        f"Re-pull (update) the {count}{self.on_server()}, or pull a new name?",
                        [("r", "Re-pull marked", "repull"), ("n", "New name", "new")],
                        repull_items(names),
                        note="Each pull runs as a job; unchanged layers are not downloaded.",
                    )
                )
                if choice is None:
                    return
                if choice == "repull":
                    for name in names:
                        self.jobs.submit_pull(
                            name, insecure=self.insecure(name), server=self.session
                        )
                    what = names[0] if len(names) == 1 else f"{len(names)} models"
                    self._notify(f"Pulling {what} — J shows the jobs.")
                    return
            request = await self.app.push_screen_wait(
                PullScreen(
                    self.installed_names(),
                    server=self.server_label,
                    insecure_registries=self.insecure_registries,
                )
            )
            if request is None:
                return
            self.jobs.submit_pull(request.name, insecure=request.insecure, server=self.session)
            self._notify(f"Pulling {request.name} — J shows the jobs.")

        self._run(ask, "Pull", group="ops-dialog")

    def push(self, model: LocalModel) -> None:
        """`P`: push the highlighted model as a job (after a confirmation with advice)."""
        if self.refused("push") or self._dialog_open():
            return
        from ollama_tui.screens.push import PushScreen

        async def ask() -> None:
            request = await self.app.push_screen_wait(
                PushScreen(model.name, server=self.server_label)
            )
            if request is None:
                return
            name = model.name
            if request.copy_to is not None:
                # ollama.com refuses a name without the user's namespace: push a copy that has it.
                if not await self.confirm_replace(
                    request.copy_to, f"It will be replaced by {name}."
                ):
                    return
                await self.session.client.copy(name, request.copy_to)
                self._refresh()
                name = request.copy_to
            self.jobs.submit_push(name, insecure=request.insecure, server=self.session)
            copied = f"Copied {model.name} to {name}; p" if name != model.name else "P"
            self._notify(f"{copied}ushing {name} — J shows the jobs.")

        self._run(ask, "Push", group="ops-dialog")

    def create(self, base: LocalModel | None = None) -> None:
        """`n`: the Modelfile editor; with `base`, pre-filled from that model's /api/show."""
        if self.refused("create") or self._dialog_open():
            return
        from ollama_tui.modelfile_checks import from_line, modelfile_from_show
        from ollama_tui.screens.create import CreateScreen

        origin = self.app.screen

        async def open_editor() -> None:
            text = ""
            if base is not None:
                # Feedback when the server is slow (a quick answer shows no toast).
                timer = self.app.set_timer(0.3, lambda: self._notify(f"Reading {base.name}…"))
                try:
                    show = await self.session.client.show(base.name)
                except OllamaError as error:
                    # Still useful: start from the model, without its settings.
                    self._error(error, f"Details of {base.name}")
                    text = from_line(base.name) + "\n"
                else:
                    text = modelfile_from_show(base.name, show)
                finally:
                    timer.stop()

            def push() -> None:
                # A dialog opened (or the screen changed) while /api/show was pending: the
                # editor must not land on top of it.
                if self.app.screen is not origin:
                    self._notify("The Modelfile editor was not opened: another screen is open.")
                    return
                from_model = base.name if base is not None else None
                self.app.push_screen(CreateScreen(self, text=text, from_model=from_model))

            # Pushed from the app's own message loop, not from this worker's task.
            self.app.call_later(push)

        # Exclusive: a second `n` while /api/show is pending replaces the first, not stacks.
        self._run(open_editor, "Create", group="ops-create", exclusive=True)

    def edit_create_job(self, job: Job) -> None:
        """Reopen the editor with a create job's Modelfile (e.g. after it failed)."""
        from ollama_tui.screens.create import CreateScreen

        self.app.push_screen(
            CreateScreen(
                self,
                text=job.params.modelfile,
                name=job.model,
                base_dir=job.params.base_dir,
                quantize=job.params.quantize,
                failed_job=job,
                from_model=job.params.from_model,
            )
        )

    def show_jobs(self) -> None:
        """`J`: the jobs view (also in read-only mode: it only shows)."""
        if isinstance(self.app.screen, ModalScreen):
            return
        from ollama_tui.screens.jobs import JobsScreen

        self.app.push_screen(JobsScreen(self))

    def cancel_job(self, job: Job) -> None:
        if self.jobs.cancel(job.id):
            self._notify(f"Cancelling {job.kind} {job.model}…")

    def retry_job(self, job: Job) -> None:
        if self.refused("retry"):
            return
        if job.state is JobState.WAITING:
            self.app.notify(
                "This job resumes by itself once the server answers again (x cancels it).",
                severity="warning",
            )
            return
        if not job.can_retry:
            self.app.notify("Only failed or cancelled jobs can be retried.", severity="warning")
            return
        self.jobs.retry(job.id)

    # -- copy / rename / delete -------------------------------------------------------------

    async def confirm_replace(self, destination: str, note: str) -> bool:
        """Ask before replacing `destination`, checked against the server now: the last poll
        may be old (or paused), and a model made since then must not be replaced unasked.

        True: send (it does not exist, or the user said replace). Raises OllamaError, saying
        nothing was changed, when the server cannot be asked. Call from a worker."""
        from ollama_tui.screens.confirm import ConfirmScreen

        try:
            models: list[LocalModel] = await self.session.client.list_models()
        except OllamaError as error:
            raise OllamaError(
                f"could not check whether {destination} exists: {error} — nothing was changed"
            ) from error
        if not any(names_equal(m.name, destination) for m in models):
            return True
        items = [Text(f"• {safe_line(destination)}")]
        ok: bool = await self.app.push_screen_wait(
            ConfirmScreen(
                f"Replace an existing model{self.on_server()}?",
                items,
                note=note,
                confirm_label="Replace",
                danger=True,
            )
        )
        return ok

    def copy(self, model: LocalModel) -> None:
        """`c`: copy a model to a new name (asks before replacing an existing one)."""
        if self.refused("copy") or self._dialog_open():
            return
        from ollama_tui.screens.copy import CopyScreen

        async def flow() -> None:
            request = await self.app.push_screen_wait(
                CopyScreen(model.name, self.installed_names())
            )
            if request is None:
                return
            note = f"It will be replaced by {request.source}."
            if not await self.confirm_replace(request.destination, note):
                return
            await self.session.client.copy(request.source, request.destination)
            self._notify(f"Copied {request.source} to {request.destination}.")
            self._refresh()

        self._run(flow, "Copy", group="ops-dialog")

    def copy_to_servers(
        self,
        model: LocalModel,
        targets: Sequence[ServerSession],
        checked: Sequence[ServerSession] = (),
    ) -> None:
        """`C`: copy a model to other servers (pull there, or re-create from its base), as jobs
        on each target; the dialog says per server what it does or why it cannot."""
        from ollama_tui.fleet_copy import plan_for_server, read_source, submit_plan
        from ollama_tui.screens.copy_servers import CopyToServersScreen

        # Not _dialog_open(): another view (a modal one too) may ask for this dialog on purpose;
        # only a second copy dialog must not stack.
        if self.refused("copy to other servers") or isinstance(
            self.app.screen, CopyToServersScreen
        ):
            return

        async def flow() -> None:
            # Feedback when the server or the registry is slow (a quick answer shows no toast).
            timer = self.app.set_timer(0.3, lambda: self._notify(f"Reading {model.name}…"))
            try:
                if self.registry is None:
                    source = await read_source(self.session.client, model, self.session.installed)
                else:
                    async with self.registry() as checker:
                        source = await read_source(
                            self.session.client, model, self.session.installed, checker
                        )
            finally:
                timer.stop()
            label = self.session.label
            rows = [(t.label, plan_for_server(source, t, label)) for t in targets]
            chosen = await self.app.push_screen_wait(
                CopyToServersScreen(
                    model.name,
                    label,
                    rows,
                    [i for i, t in enumerate(targets) if any(t is c for c in checked)],
                )
            )
            if not chosen:
                return
            names = []
            for index in chosen:
                target, plan = targets[index], rows[index][1]
                submitted = submit_plan(
                    self.jobs, plan, target, label, insecure_registries=self.insecure_registries
                )
                names.append(target.label)
                if submitted:
                    self._run(
                        functools.partial(self._check_copy, target, plan, submitted[-1], source),
                        f"Copy {model.name} to {target.label}",
                        group="ops-copy-check",
                    )
            self._notify(f"Copying {model.name} to {', '.join(names)} — J shows the jobs.")

        self._run(flow, "Copy to servers", group="ops-dialog")

    async def _check_copy(
        self, target: ServerSession, plan: CopyPlan, last: Job, source: SourceModel
    ) -> None:
        """Once the copy's last job is done: warn when the target's model is not the source's."""
        from ollama_tui.fleet_copy import check_copy

        if await self.jobs.wait_ended(last) is not JobState.DONE:
            return  # the job's own notification says what went wrong
        problem = await check_copy(plan, source, target.client, self.session.label, target.label)
        if problem:
            self.app.notify(problem, title="Copy to servers", severity="warning", markup=False)

    def rename(self, model: LocalModel) -> None:
        """`R`: copy, verify the copy, then delete the source (never loses the source)."""
        if self.refused("rename") or self._dialog_open():
            return
        from ollama_tui.rename import RenameFailed, rename_model
        from ollama_tui.screens.rename import RenameScreen

        async def flow() -> None:
            request = await self.app.push_screen_wait(
                RenameScreen(
                    model.name,
                    self.installed_names(),
                    loaded=self._running(model.name) is not None,
                )
            )
            if request is None:
                return
            note = f"It will be replaced by {request.source}."
            if not await self.confirm_replace(request.destination, note):
                return
            # A loaded source would stay in memory under a name that no longer exists (and
            # could not be unloaded): unload it before it is deleted, as `d` does.
            running = self._running(request.source)
            try:
                await rename_model(
                    self.session.client,
                    request.source,
                    request.destination,
                    unload=running.name if running is not None else None,
                    capabilities=model.capabilities,
                )
            except RenameFailed as error:
                self.app.notify(str(error), title="Rename", severity="error", markup=False)
            else:
                self._notify(f"Renamed {request.source} to {request.destination}.")
            finally:
                self._refresh()

        self._run(flow, "Rename", group="ops-dialog")

    def delete(self, models: Sequence[LocalModel]) -> None:
        """`d`: confirm (naming every target and its size), unload loaded ones, delete."""
        if self.refused("delete") or self._dialog_open() or not models:
            return
        from ollama_tui.screens.delete import DeleteScreen

        targets = list(models)

        async def flow() -> None:
            loaded = {m.name for m in targets if self._running(m.name) is not None}
            fetching = self._jobs_writing(targets)
            freed = self.deleting_frees(targets)
            if not await self.app.push_screen_wait(
                DeleteScreen(targets, loaded, fetching, server=self.server_label, freed=freed)
            ):
                return
            await self._delete(targets)

        self._run(flow, "Delete", group="ops-dialog")

    def deleting_frees(self, targets: Sequence[LocalModel]) -> Freed:
        """What deleting ``targets`` together frees on this server (weights shared with models
        that stay are not freed), as far as the session's weights index knows."""
        session = self.session
        # By name: the rows handed in need not be the very objects of the session's list.
        keys = {name_identity(model.name)[0] for model in targets}
        doomed = [m for m in session.installed if name_identity(m.name)[0] in keys]
        return deleting_frees(doomed, session.installed, session.weights.weights)

    async def _delete(self, targets: Sequence[LocalModel]) -> None:
        """Delete confirmed models on this server (unloading loaded ones first)."""
        # A pull (or create) of a deleted model would bring it back: it ends first, also
        # one started while the dialog was open.
        for job in self._jobs_writing(targets).values():
            await self.jobs.cancel_and_wait(job.id)
        client = self.session.client
        deleted: list[str] = []
        for model in targets:
            try:
                running = self._running(model.name)
                if running is not None:
                    # As `ollama rm` does: the server does not unload on delete.
                    await client.unload(running.name, capabilities=model.capabilities)
                await client.delete(model.name)
            except OllamaError as error:
                self._error(error, f"Delete {model.name}")
            else:
                deleted.append(model.name)
        if deleted:
            self._notify(deleted_message(deleted) + self.on_server())
        self._refresh()

    def delete_on_servers(self, groups: Sequence[tuple[Operations, Sequence[LocalModel]]]) -> None:
        """`d` on rows marked on several servers: ONE confirmation naming each model with its
        server, then each is deleted on its own server."""
        if self.refused("delete") or self._dialog_open() or not groups:
            return
        from ollama_tui.screens.delete import DeleteScreen

        models = [m for _ops, ms in groups for m in ms]
        servers = [ops.session.label for ops, ms in groups for _m in ms]
        loaded: set[str] = set()  # by name: enough for the "(loaded)" note of each line
        fetching: dict[str, Job] = {}
        for ops, ms in groups:
            loaded |= {m.name for m in ms if ops._running(m.name) is not None}
            fetching.update(ops._jobs_writing(ms))

        parts = [ops.deleting_frees(ms) for ops, ms in groups]
        freed = Freed(
            sum(part.size for part in parts),
            tuple(name for part in parts for name in part.kept_by),
            exact=all(part.exact for part in parts),
        )

        async def flow() -> None:
            screen = DeleteScreen(models, loaded, fetching, servers=servers, freed=freed)
            if not await self.app.push_screen_wait(screen):
                return
            for ops, ms in groups:
                await ops._delete(ms)

        self._run(flow, "Delete", group="ops-dialog")

    def pull_on_servers(self, groups: Sequence[tuple[Operations, Sequence[LocalModel]]]) -> None:
        """`p` with rows marked on several servers: re-pull each on its own server, or pull a
        new name on this (the current) server."""
        from ollama_tui.screens.confirm import ChoiceScreen

        if self.refused("pull") or self._dialog_open():
            return
        items = [_line_on_server(m.name, ops) for ops, ms in groups for m in ms]
        count = len(items)

        async def ask() -> None:
            choice = await self.app.push_screen_wait(
                ChoiceScreen(
                    f"Re-pull (update) the {count} marked models on {len(groups)} servers, or "
                    f"pull a new name{self.on_server()}?",
                    [("r", "Re-pull marked", "repull"), ("n", "New name", "new")],
                    items,
                    note="Each pull runs as a job on the model's own server.",
                )
            )
            if choice == "repull":
                for ops, ms in groups:
                    for m in ms:
                        self.jobs.submit_pull(
                            m.name, insecure=ops.insecure(m.name), server=ops.session
                        )
                self._notify(f"Pulling {count} models — J shows the jobs.")
            elif choice == "new":
                self.app.call_later(self.pull)

        self._run(ask, "Pull", group="ops-dialog")

    def update_outdated(self, groups: Sequence[tuple[Operations, Sequence[LocalModel]]]) -> None:
        """`O`: re-pull outdated models (each on its own server) as jobs, after ONE
        confirmation naming them (and their servers when there are several); once the pulls
        end, the models are checked again (the app's check, by their new digests)."""
        from ollama_tui.messages import FreshnessCheckRequested
        from ollama_tui.screens.confirm import ConfirmScreen

        if self.refused("update") or self._dialog_open() or not groups:
            return
        several = any(ops.server_label for ops, _ms in groups)
        items = [
            _line_on_server(m.name, ops) if several else Text(f"• {safe_line(m.name)}")
            for ops, ms in groups
            for m in ms
        ]
        count = len(items)

        async def flow() -> None:
            where = f" on {len(groups)} servers" if len(groups) > 1 else groups[0][0].on_server()
            again = "pull it again" if count == 1 else "pull them again"
            question = f"Update {counted(count, 'outdated model')}{where} ({again})?"
            note = "Each pull runs as a job; unchanged layers are not downloaded."
            if not await self.app.push_screen_wait(
                ConfirmScreen(question, items, note=note, confirm_label="Update")
            ):
                return
            submitted = [
                (
                    ops,
                    m.name,
                    self.jobs.submit_pull(
                        m.name, insecure=ops.insecure(m.name), server=ops.session
                    ),
                )
                for ops, ms in groups
                for m in ms
            ]
            what = items[0].plain.removeprefix("• ") if count == 1 else f"{count} models"
            self._notify(f"Updating {what} — J shows the jobs.")
            for _ops, _name, job in submitted:
                await self.jobs.wait_ended(job)
            # Checked again by what each server lists now (a pulled model has a new digest).
            recheck = []
            for ops, ms in groups:
                names = {m.name for m in ms}
                try:
                    listed = await ops.session.client.list_models()
                except OllamaError:
                    continue  # the poll will say the server is gone
                models = [m for m in listed if m.name in names]
                if models:
                    recheck.append((ops.session, models))
            if recheck:
                self.app.post_message(FreshnessCheckRequested(recheck))

        self._run(flow, "Update outdated", group="ops-update")

    def unload_all_on_servers(self, servers: Sequence[Operations]) -> None:
        """`U` in the all-servers view: every loaded model on every server, after ONE
        confirmation naming each model's server."""
        from ollama_tui.screens.confirm import ConfirmScreen

        if self.refused("unload") or self._dialog_open():
            return
        work = [(ops, list(ops.session.running_models)) for ops in servers]
        items = [_line_on_server(m.name, ops) for ops, ms in work for m in ms]

        async def flow() -> None:
            question = f"Unload {counted(len(items), 'model')} on {len(work)} servers?"
            if not await self.app.push_screen_wait(
                ConfirmScreen(question, items, confirm_label="Unload")
            ):
                return
            for ops, ms in work:
                for model in ms:
                    try:
                        await ops._unload(model.name)
                    except OllamaError as error:
                        self._error(error, f"Unload {model.name}{ops.on_server()}")
                ops._refresh()

        self._run(flow, "Unload all", group="ops-dialog")

    # -- speed probe ------------------------------------------------------------------------

    def _probe_active(self, model: LocalModel) -> Job | None:
        """A probe of this model on this server that is queued or running."""
        return next(
            (
                job
                for job in self.jobs.active
                if job.kind is JobKind.PROBE
                and job.server is self.session
                and names_equal(job.model, model.name)
            ),
            None,
        )

    def probe_on_servers(self, targets: Sequence[tuple[Operations, LocalModel]]) -> None:
        """`b` (one server) / `B` (every server that has the model): say what is loaded where
        and for how long, then probe as jobs (one at a time: the queue runs one probe at a
        time); with several servers, compare the results once every probe has ended."""
        from ollama_tui.probe import PROBE_OPTIONS
        from ollama_tui.screens.probe import ProbeScreen, ProbeTarget

        # Not _dialog_open(): the where matrix (a modal view) asks for this on purpose; only a
        # second probe dialog must not stack.
        if self.refused("the speed probe") or isinstance(self.app.screen, ProbeScreen):
            return
        targets = [(ops, model) for ops, model in targets if not model.is_remote]
        if not targets:
            self.app.notify("No server has this model to probe.", severity="warning")
            return
        name = targets[0][1].name
        busy = [ops for ops, model in targets if ops._probe_active(model) is not None]
        if busy:
            where = ", ".join(ops.session.label for ops in busy)
            self.app.notify(
                f"A probe of {name} on {where} is queued or running already — J shows it.",
                severity="warning",
                markup=False,
            )
            return

        async def flow() -> None:
            embedding = [await ops._embedding_only(model.name) for ops, model in targets]
            screen = ProbeScreen(
                name,
                [
                    ProbeTarget(ops.session.label, ops._running(model.name) is not None)
                    for ops, model in targets
                ],
                embedding=all(embedding),
                tokens=int(PROBE_OPTIONS["num_predict"]),
            )
            choice = await self.app.push_screen_wait(screen)
            if choice is None:
                return
            submitted = [
                (
                    ops,
                    self.jobs.submit_probe(
                        model.name,
                        digest=model.digest,
                        embedding=embeds,
                        keep_alive=choice.keep_alive,
                        server=ops.session,
                        compared=len(targets) > 1,
                    ),
                )
                for (ops, model), embeds in zip(targets, embedding, strict=True)
            ]
            where = (
                targets[0][0].session.label
                if len(targets) == 1
                else f"{len(targets)} servers, one at a time"
            )
            self._notify(f"Probing {name} on {where} — J shows the jobs, x there cancels.")
            if len(submitted) > 1:
                self._run(
                    lambda: self._compare(name, submitted),
                    "Speed comparison",
                    group="ops-probe",
                )

        self._run(flow, "Speed probe", group="ops-dialog")

    async def _compare(self, name: str, submitted: Sequence[tuple[Operations, Job]]) -> None:
        """Once every probe has ended: the comparison (or, over another dialog, a notice)."""
        from datetime import UTC, datetime

        from ollama_tui.probe import ProbeResult
        from ollama_tui.probe_cli import Probed, fastest_first
        from ollama_tui.screens.probe import ProbeComparisonScreen
        from ollama_tui.speed import rate_text

        for _ops, job in submitted:
            await self.jobs.wait_ended(job)
        rows = []
        for ops, job in submitted:
            label = ops.session.label
            if job.state is JobState.DONE and isinstance(job.result, ProbeResult):
                rows.append(Probed(label, job.result))
            elif job.state is JobState.FAILED:
                rows.append(Probed(label, why=f"failed: {job.error}", failed=True))
            else:
                rows.append(Probed(label, why=str(job.state)))
        if isinstance(self.app.screen, ModalScreen) and not _is_view(self.app.screen):
            # Never over a dialog the user is typing in: say the gist instead.
            best = fastest_first(rows)[0]
            fastest = (
                f"fastest: {best.label} {rate_text(best.result.speed, best.result.unit)}"
                if best.result is not None
                else "no result"
            )
            self._notify(f"Speed of {name} on {len(rows)} servers: {fastest}.")
            return
        self.app.push_screen(ProbeComparisonScreen(name, rows, now=datetime.now(UTC)))

    def _jobs_writing(self, models: Sequence[LocalModel]) -> dict[str, Job]:
        """The active pull or create of each model that has one (model name -> job)."""
        active = [job for job in self.jobs.active if job.server in (None, self.session)]
        found: dict[str, Job] = {}
        writers = [job for job in active if job.kind in (JobKind.PULL, JobKind.CREATE)]
        for model in models:
            for job in writers:
                if names_equal(job.model, model.name):
                    found.setdefault(model.name, job)
        return found

    # -- load / unload ----------------------------------------------------------------------

    def load(self, name: str) -> None:
        """`l`: load with a chosen keep-alive (or extend a loaded model's keep-alive)."""
        from ollama_tui.api.keep_alive import describe_keep_alive
        from ollama_tui.screens.load import LoadScreen

        if self.refused("load") or self._dialog_open():
            return
        if name in self.session.loading:
            self._notify(f"{name} is already loading.")
            return
        running = self._running(name)

        async def flow() -> None:
            keep_alive = await self.app.push_screen_wait(
                LoadScreen(name, loaded=running is not None)
            )
            if keep_alive is None:
                return
            # The load itself gets its own worker: it can take minutes and has no timeout.
            self._run(
                lambda: self._load(name, keep_alive, extend=running is not None),
                f"Load {name}",
                group="ops-load",
            )
            if running is None:
                self._notify(f"Loading {name} (keep alive {describe_keep_alive(keep_alive)})…")

        self._run(flow, "Load", group="ops-dialog")

    async def _embedding_only(self, name: str) -> bool:
        model = self._installed(name)
        capabilities: Sequence[str] = model.capabilities if model is not None else ()
        if not capabilities:
            try:
                capabilities = (await self.session.client.show(name)).capabilities
            except OllamaError:
                capabilities = ()
        return is_embedding_only(capabilities)

    async def _load(self, name: str, keep_alive: str | float, *, extend: bool = False) -> None:
        from ollama_tui.api.keep_alive import describe_keep_alive

        self.session.loading.add(name)
        try:
            client = self.session.client
            timeout = self.load_timeout
            embedding = await self._embedding_only(name)
            try:
                await client.load(name, keep_alive, embedding=embedding, timeout=timeout)
            except ApiError as error:
                # Old servers report no capabilities: fall back like the CLI would.
                if embedding or "does not support generate" not in error.server_message:
                    raise
                await client.load(name, keep_alive, embedding=True, timeout=timeout)
            if extend:
                self._notify(f"{name} stays loaded ({describe_keep_alive(keep_alive)}).")
            else:
                self._notify(f"Loaded {name}.")
        finally:
            self.session.loading.discard(name)
            self._refresh()

    def unload(self, model: RunningModel) -> None:
        """`u`: unload the highlighted running model."""
        if self.refused("unload"):
            return

        async def work() -> None:
            await self._unload(model.name)
            self._notify(f"Unloaded {model.name}.")
            self._refresh()

        self._run(work, f"Unload {model.name}", group="ops-unload")

    async def _unload(self, name: str) -> None:
        installed = self._installed(name)
        capabilities = installed.capabilities if installed is not None else None
        await self.session.client.unload(name, capabilities=capabilities)

    def unload_all(self) -> None:
        """`U`: unload every running model after a confirmation."""
        from ollama_tui.screens.confirm import ConfirmScreen

        if self.refused("unload") or self._dialog_open():
            return
        running = list(self.session.running_models)
        if not running:
            self._notify("No model is loaded.")
            return

        async def flow() -> None:
            items = [Text(f"• {safe_line(m.name)}") for m in running]
            question = f"Unload {counted(len(running), 'model')}{self.on_server()}?"
            ok = await self.app.push_screen_wait(
                ConfirmScreen(question, items, confirm_label="Unload")
            )
            if not ok:
                return
            failed = 0
            for model in running:
                try:
                    await self._unload(model.name)
                except OllamaError as error:
                    failed += 1
                    self._error(error, f"Unload {model.name}")
            if not failed:
                self._notify("Unloaded all models.")
            self._refresh()

        self._run(flow, "Unload all", group="ops-dialog")
