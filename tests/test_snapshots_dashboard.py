"""SVG snapshots of the dashboard, details and help (frozen clock, fixed data, no blink).

Update with `pytest tests/test_snapshots_dashboard.py --snapshot-update` after a deliberate
visual change. `tests/make_screenshots.py` reuses `seed_models` and `make_app` from here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import wait_for
from textual.pilot import Pilot

from ollama_tui.app import OllamaTuiApp
from ollama_tui.config import Settings
from ollama_tui.screens.details import DetailsScreen
from ollama_tui.screens.help import HelpScreen
from ollama_tui.simulator import Simulator, serve_in_thread

pytestmark = pytest.mark.simulator_only

FROZEN_NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
SHOWN_HOST = "http://127.0.0.1:11434"  # the simulator's port is random; show a fixed one

SnapCompare = Callable[..., bool]


def seed_models(sim: Simulator) -> None:
    """Realistic models with fixed dates; one loaded "forever" (a frozen UNTIL column)."""
    plan: list[tuple[str, str | None, timedelta, dict[str, Any]]] = [
        ("llama3.2:latest", "llama3.2:3b", timedelta(days=2, hours=3), {}),
        ("qwen2.5:0.5b", "qwen2.5:0.5b", timedelta(days=9, minutes=17), {}),
        ("nomic-embed-text:latest", "nomic-embed-text:latest", timedelta(days=20), {}),
        ("mistral:7b", "mistral:7b", timedelta(days=41, hours=5), {}),
        ("deepseek-r1:1.5b", "deepseek-r1:1.5b", timedelta(days=5, hours=1), {}),
        (
            "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M",
            "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M",
            timedelta(days=63),
            {},
        ),
        (
            "someuser/llama3-pirate:latest",
            "llama3.2:3b",
            timedelta(days=1, hours=2),
            {"system": "You are a pirate.", "parameters": {"temperature": 0.8}},
        ),
        (
            "gpt-oss:20b-cloud",
            None,
            timedelta(days=3, hours=7),
            {
                "remote_model": "gpt-oss:20b",
                "remote_host": "https://ollama.com:443",
                "family": "gptoss",
                "parameter_size": "20.9B",
                "quantization_level": "MXFP4",
            },
        ),
    ]
    for name, like, age, fields in plan:
        if like is not None:
            fields = {"like": like, **fields}
        sim.add_model(name, modified_at=FROZEN_NOW - age, **fields)
    sim.load_model("llama3.2:latest", keep_alive=-1)


@contextmanager
def seeded_server() -> Iterator[Simulator]:
    # A current server version: /api/tags then reports capabilities, as the demo shows them.
    with serve_in_thread(initial=False, seed=0, version="0.31.0") as sim:
        seed_models(sim)
        yield sim


def make_app(url: str, now: datetime = FROZEN_NOW) -> OllamaTuiApp:
    """The app with a frozen clock and no polling of its own (snapshots must not move)."""
    return OllamaTuiApp(
        Settings(host=url, interval=3600), clock=lambda: now, monotonic=lambda: 1000.0
    )


def loaded(then: Callable[[Pilot[Any]], Awaitable[None]] | None = None) -> Any:
    """A run_before that waits for the first poll, fixes the shown host, then runs ``then``."""

    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, OllamaTuiApp)
        await wait_for(pilot, lambda: app.installed and app.running_models)
        # The disk figures' background show requests: their answers must be in (no "≥").
        await wait_for(pilot, lambda: not app.session.learning_weights())
        app.session.status = replace(app.status, host=SHOWN_HOST)
        app._publish_status(app.session)
        if then is not None:
            await then(pilot)
        await pilot.pause()

    return run_before


def test_dashboard_80x24(snap_compare: SnapCompare) -> None:
    with seeded_server() as sim:
        assert snap_compare(make_app(sim.url), terminal_size=(80, 24), run_before=loaded())


def test_dashboard_160x45(snap_compare: SnapCompare) -> None:
    with seeded_server() as sim:
        assert snap_compare(make_app(sim.url), terminal_size=(160, 45), run_before=loaded())


def test_dashboard_filtered_and_sorted(snap_compare: SnapCompare) -> None:
    async def filter_and_sort(pilot: Pilot[Any]) -> None:
        await pilot.press("slash", *"llama", "enter", "s", "s")

    with seeded_server() as sim:
        assert snap_compare(
            make_app(sim.url), terminal_size=(100, 30), run_before=loaded(filter_and_sort)
        )


def test_details(snap_compare: SnapCompare) -> None:
    async def open_details(pilot: Pilot[Any]) -> None:
        await pilot.press("j", "j", "j", "enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, DetailsScreen))
        screen = pilot.app.screen
        assert isinstance(screen, DetailsScreen)
        await wait_for(pilot, lambda: screen.show is not None)

    with seeded_server() as sim:
        assert snap_compare(
            make_app(sim.url), terminal_size=(100, 30), run_before=loaded(open_details)
        )


def test_details_modelfile(snap_compare: SnapCompare) -> None:
    async def open_modelfile(pilot: Pilot[Any]) -> None:
        await pilot.press("j", "j", "j", "enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, DetailsScreen))
        screen = pilot.app.screen
        assert isinstance(screen, DetailsScreen)
        await wait_for(pilot, lambda: screen.show is not None)
        await pilot.press("2")

    with seeded_server() as sim:
        assert snap_compare(
            make_app(sim.url), terminal_size=(100, 30), run_before=loaded(open_modelfile)
        )


def test_help(snap_compare: SnapCompare) -> None:
    async def open_help(pilot: Pilot[Any]) -> None:
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))

    with seeded_server() as sim:
        assert snap_compare(
            make_app(sim.url), terminal_size=(100, 40), run_before=loaded(open_help)
        )
