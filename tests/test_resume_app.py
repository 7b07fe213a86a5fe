"""Issue #9 group 2 and the "not answering" point of group 9: the real app and client against
the simulator, which is stopped and restarted on its port.

Only names that existed before the fix are imported, so these fail (not error) on old code.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from ollama_tui.app import OllamaTuiApp
from ollama_tui.config import Settings
from ollama_tui.jobs import JobState
from ollama_tui.simulator import Simulator
from ollama_tui.widgets.job_progress import JobsStrip

pytestmark = pytest.mark.simulator_only

SMALL = "all-minilm:latest"  # about 46 MB in the simulator's catalogue


async def until(
    pilot: Pilot[Any], predicate: Callable[[], object], timeout: float = 10, what: str = ""
) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await pilot.pause(0.02)


@pytest.fixture
async def slow_sim() -> AsyncIterator[Simulator]:
    simulator = Simulator(bandwidth=20e6, progress_interval=0.02)
    await simulator.start("127.0.0.1", 0)
    try:
        yield simulator
    finally:
        await simulator.stop()


def port_of(sim: Simulator) -> int:
    return int(sim.url.rsplit(":", 1)[1])


def strip_text(app: OllamaTuiApp) -> str:
    strip = app.screen.query_one(JobsStrip)
    return "\n".join(str(line.render()) for line in strip.query("Static"))


def status_text(app: OllamaTuiApp) -> str:
    assert app.dashboard is not None
    return app.dashboard.status_bar.render().plain


async def test_pull_waits_for_the_server_and_finishes_after_its_restart(
    slow_sim: Simulator,
) -> None:
    app = OllamaTuiApp(Settings(host=slow_sim.url, interval=0.5))
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: app.status.state == "connected", what="connected")
        job = app.jobs.submit_pull(SMALL)
        await until(pilot, lambda: job.completed > 0, what="the pull under way")
        await slow_sim.stop()
        await until(pilot, lambda: str(job.state) == "waiting", what="waiting")
        shown = job.completed
        assert shown > 0
        await until(pilot, lambda: "waiting for the server" in strip_text(app), what="strip")
        await until(pilot, lambda: app.status.state == "unreachable", what="unreachable")
        await pilot.pause(1.5)  # several failed polls: still waiting, progress still shown
        assert str(job.state) == "waiting" and job.completed == shown
        await slow_sim.start("127.0.0.1", port_of(slow_sim))
        slow_sim.bandwidth = 2e9
        await until(pilot, lambda: job.state is JobState.DONE, timeout=20, what="done alone")
        assert job.attempt == 1  # nobody pressed r
        await until(pilot, lambda: any(m.name == SMALL for m in app.installed), what="listed")


@pytest.mark.parametrize("request_kind", ["operation", "stream"])
async def test_any_answer_ends_the_backoff_at_once(slow_sim: Simulator, request_kind: str) -> None:
    app = OllamaTuiApp(Settings(host=slow_sim.url, interval=0.5))
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: app.status.state == "connected", what="connected")
        await slow_sim.stop()
        app.session.failures = 6  # the next failed poll backs off the longest (30 s)
        await until(pilot, lambda: app.status.retry_at is not None, what="backing off")
        await until(pilot, lambda: "retrying in" in status_text(app), what="countdown")
        assert app.status.retry_at - time.monotonic() > 20
        polls = app.poll_count
        await slow_sim.start("127.0.0.1", port_of(slow_sim))
        if request_kind == "operation":
            await app.client.version()  # e.g. the details screen asking /api/show
        else:
            app.jobs.submit_pull(SMALL)
        await until(pilot, lambda: app.status.state == "connected", timeout=2, what="back")
        assert "retrying" not in status_text(app)
        assert app.status.retry_at is None
        # Polling is back at once, then at its normal interval (not 30 s later).
        await until(pilot, lambda: app.poll_count >= polls + 3, timeout=4, what="polls")


async def test_a_server_that_stops_answering_shows_within_two_intervals(sim: Simulator) -> None:
    interval = 1.0
    app = OllamaTuiApp(Settings(host=sim.url, interval=interval))
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: app.status.state == "connected", what="connected")
        await until(pilot, lambda: not app.polling, what="idle")
        last_answer = time.monotonic()
        sim.faults.add("/api/tags", "hang")
        await until(
            pilot, lambda: app.status.state == "not_answering", timeout=4, what="not answering"
        )
        assert time.monotonic() - last_answer <= 2 * interval + 0.5
        await until(pilot, lambda: "not answering" in status_text(app), what="said so")
        assert "connected" not in status_text(app)
        sim.faults.clear()


def jobs_view_text(app: OllamaTuiApp) -> str:
    return "\n".join(str(widget.render()) for widget in app.screen.query("JobRow Static"))


async def test_jobs_view_x_cancels_the_wait_and_r_while_down_keeps_the_progress(
    slow_sim: Simulator,
) -> None:
    app = OllamaTuiApp(Settings(host=slow_sim.url, interval=0.5))
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: app.status.state == "connected", what="connected")
        job = app.jobs.submit_pull(SMALL)
        await until(pilot, lambda: job.completed > 0, what="the pull under way")
        await slow_sim.stop()
        await until(pilot, lambda: str(job.state) == "waiting", what="waiting")
        shown, fraction = job.completed, job.fraction
        app.operations.show_jobs()
        await until(pilot, lambda: "waiting for the server" in jobs_view_text(app), what="view")
        assert f"{fraction * 100:3.0f}%" in jobs_view_text(app)  # type: ignore[operator]

        await pilot.press("x")
        await until(pilot, lambda: job.state is JobState.CANCELLED, what="cancelled")
        assert job.completed == shown

        await pilot.press("r")  # the server is still down
        await until(pilot, lambda: str(job.state) == "waiting", what="waiting again")
        await pilot.pause(0.3)
        assert job.completed == shown and job.fraction == fraction
        assert f"{fraction * 100:3.0f}%" in jobs_view_text(app)  # type: ignore[operator]

        await slow_sim.start("127.0.0.1", port_of(slow_sim))
        slow_sim.bandwidth = 2e9
        await until(pilot, lambda: job.state is JobState.DONE, timeout=20, what="done alone")
