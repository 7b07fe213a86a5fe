"""SVG snapshots of hostile server text (markup, terminal escapes) on the screens that show it.

The data is test_hostile_text's: a model named `[@click=app.quit]z[/]<ESC>]0;title<BEL><CR><BS>`
and one whose family, quantization, parameters, template, system and license are hostile. The
snapshots pin down how they look: markup verbatim, control characters as visible `\\x1b`
escapes, nothing styled, linked or clickable by the server. Frozen clock and host, fixed dates.

Update with `pytest tests/test_snapshots_hostile.py --snapshot-update` after checking the SVGs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from conftest import wait_for
from test_hostile_text import ERROR, FROZEN, NAME, VALID, add_hostile_models
from test_snapshots_dashboard import loaded
from test_snapshots_dashboard import make_app as make_frozen_app
from textual.pilot import Pilot

from ollama_tui.app import OllamaTuiApp
from ollama_tui.screens.delete import DeleteScreen
from ollama_tui.screens.details import DetailsScreen
from ollama_tui.simulator import Simulator, serve_in_thread

pytestmark = pytest.mark.simulator_only

NOW = FROZEN + timedelta(days=3)

SnapCompare = Callable[..., bool]


@contextmanager
def hostile_server() -> Iterator[Simulator]:
    with serve_in_thread(initial=False, seed=0) as sim:
        add_hostile_models(sim)
        sim.add_model("qwen2.5:0.5b", like="qwen2.5:0.5b", modified_at=FROZEN)
        sim.load_model(NAME, keep_alive=-1)  # "Forever": a frozen UNTIL column
        yield sim


def make_app(url: str) -> OllamaTuiApp:
    return make_frozen_app(url, NOW)


def model(app: OllamaTuiApp, name: str) -> Any:
    return next(m for m in app.installed if m.name == name)


def test_hostile_dashboard(snap_compare: SnapCompare) -> None:
    with hostile_server() as sim:
        assert snap_compare(make_app(sim.url), terminal_size=(140, 20), run_before=loaded())


def test_hostile_details(snap_compare: SnapCompare) -> None:
    async def open_details(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, OllamaTuiApp)
        app.show_details(model(app, VALID))
        await wait_for(pilot, lambda: isinstance(app.screen, DetailsScreen))
        screen = app.screen
        assert isinstance(screen, DetailsScreen)
        await wait_for(pilot, lambda: screen.show is not None)

    with hostile_server() as sim:
        assert snap_compare(
            make_app(sim.url), terminal_size=(100, 30), run_before=loaded(open_details)
        )


def test_hostile_delete_confirmation(snap_compare: SnapCompare) -> None:
    async def ask(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, OllamaTuiApp)
        app.operations.delete([model(app, NAME), model(app, VALID)])
        await wait_for(pilot, lambda: isinstance(app.screen, DeleteScreen))

    with hostile_server() as sim:
        assert snap_compare(make_app(sim.url), terminal_size=(100, 24), run_before=loaded(ask))


def test_hostile_error_in_status_line(snap_compare: SnapCompare) -> None:
    async def fail(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, OllamaTuiApp)
        sim.faults.add("/api/tags", "status", status=500, message=ERROR)
        app.request_refresh()
        await wait_for(pilot, lambda: app.status.state == "error")
        app.toggle_pause()  # no countdown: a stable picture

    with hostile_server() as sim:
        assert snap_compare(make_app(sim.url), terminal_size=(140, 12), run_before=loaded(fail))
