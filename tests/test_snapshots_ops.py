"""SVG snapshots of the operations' screens, from frozen data (no server, no clock, no blink).

Update with `pytest tests/test_snapshots_ops.py --snapshot-update` after a deliberate change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, ClassVar

from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen
from textual.signal import Signal
from textual.widgets import Input, Static, TextArea

from ollama_tui.api import LocalModel, ProgressEvent
from ollama_tui.jobs import Job, JobKind, JobParams, JobState
from ollama_tui.operations import Operations
from ollama_tui.screens.create import CreateScreen
from ollama_tui.screens.delete import DeleteScreen
from ollama_tui.screens.jobs import JobsScreen
from ollama_tui.session import ServerSession
from ollama_tui.stylesheets import stylesheet_paths

SnapCompare = Callable[..., bool]
GB = 1_000_000_000


@dataclass
class FrozenQueue:
    """Enough of JobQueue for the views: a fixed list of jobs."""

    jobs: list[Job] = field(default_factory=list)
    on_change: Callable[[Job], None] | None = None


class SnapHost(App[None]):
    """The app's stylesheets and the attributes the operations use, showing one screen."""

    CSS_PATH: ClassVar[list[str | PurePath]] = list(stylesheet_paths())

    def __init__(self, make_screen: Callable[[SnapHost], Screen[Any]]) -> None:
        super().__init__()
        self.jobs_changed_signal: Signal[Job] = Signal(self, "jobs-changed")
        self.session = ServerSession(None, "http://127.0.0.1:9")
        self.operations = Operations(
            self,
            self.session,
            FrozenQueue(),  # type: ignore[arg-type]
            self.jobs_changed_signal,
        )
        self.make_screen = make_screen

    def on_mount(self) -> None:
        self.push_screen(self.make_screen(self))


def frozen_jobs() -> list[Job]:
    """A pull a quarter done at a steady 250 MB/s, a failed pull, a failed push, a cancel."""
    now = [100.0]

    def clock() -> float:
        return now[0]

    pull = Job(id=1, kind=JobKind.PULL, model="llama3.2:3b", _clock=clock)
    pull._begin_run(clock())
    pull.apply(ProgressEvent(status="pulling manifest", digest=None, total=0, completed=0))
    weights = "sha256:dde5aa3fc5ff" + "0" * 52
    for t, done in ((100.0, 0), (101.0, 250_000_000), (102.0, 500_000_000)):
        now[0] = t
        pull.apply(
            ProgressEvent(
                status="pulling dde5aa3fc5ff", digest=weights, total=2 * GB, completed=done
            )
        )
    pull.apply(
        ProgressEvent(
            status="pulling 966de95ca8a6",
            digest="sha256:966de95ca8a6" + "1" * 52,
            total=1429,
            completed=1429,
        )
    )
    failed = Job(
        id=2,
        kind=JobKind.PULL,
        model="nosuch:latest",
        state=JobState.FAILED,
        error="pull model manifest: file does not exist",
        _clock=clock,
    )
    push = Job(
        id=3,
        kind=JobKind.PUSH,
        model="[bold]mine:latest",
        state=JobState.FAILED,
        error="unauthorized: [/foo] access denied",
        _clock=clock,
    )
    cancelled = Job(
        id=4,
        kind=JobKind.CREATE,
        model="pirate",
        params=JobParams(),
        _clock=clock,
        state=JobState.CANCELLED,
    )
    return [pull, failed, push, cancelled]


async def no_blink(pilot: Pilot[Any]) -> None:
    """Stop cursor blinking so the picture does not depend on timing."""
    for widget in pilot.app.screen.query("Input, TextArea"):
        if isinstance(widget, Input | TextArea):
            widget.cursor_blink = False
    await pilot.pause()


def test_jobs_view_during_pull(snap_compare: SnapCompare) -> None:
    def make(app: SnapHost) -> Screen[Any]:
        app.operations.jobs = FrozenQueue(frozen_jobs())  # type: ignore[assignment]
        return JobsScreen(app.operations)

    async def expand(pilot: Pilot[Any]) -> None:
        await pilot.pause()
        await pilot.press("enter")  # the focused (running) pull: its layers
        await pilot.pause()

    assert snap_compare(SnapHost(make), terminal_size=(80, 24), run_before=expand)


def test_editor_showing_error(snap_compare: SnapCompare) -> None:
    text = (
        "FROM llama3.2\n"
        "PARAMETER temperature 0.7\n"
        "PARAMTER top_k 20\n"
        'SYSTEM """You are a pirate.\n'
        'Answer like one."""\n'
    )

    def make(app: SnapHost) -> Screen[Any]:
        return CreateScreen(app.operations, text=text, name="pirate", base_dir="/home/me/models")

    async def settle(pilot: Pilot[Any]) -> None:
        await no_blink(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, CreateScreen)
        while screen.editor.error_line is None:
            await pilot.pause(0.01)
        assert "line 3" in str(screen.query_one("#create-status", Static).render())

    assert snap_compare(SnapHost(make), terminal_size=(80, 24), run_before=settle)


def test_delete_confirmation(snap_compare: SnapCompare) -> None:
    models = [
        LocalModel.from_json({"name": "llama3.2:latest", "size": 2019393189, "digest": "a" * 64}),
        LocalModel.from_json({"name": "mistral:7b", "size": 4113301824, "digest": "b" * 64}),
        LocalModel.from_json({"name": "[bold]x:latest", "size": 7365960935, "digest": "c" * 64}),
    ]

    def make(app: SnapHost) -> Screen[Any]:
        return DeleteScreen(models, loaded={"llama3.2:latest"})

    assert snap_compare(SnapHost(make), terminal_size=(80, 24), run_before=no_blink)
