"""Polls run as plain tasks on loop timers: a failure anywhere in one never stops polling."""

from __future__ import annotations

import pytest
from conftest import make_app, wait_for

pytestmark = pytest.mark.simulator_only


async def test_a_bug_while_handling_a_failed_poll_does_not_stop_polling(sim: object) -> None:
    app = make_app(str(sim.url), interval=0.3)  # type: ignore[attr-defined]
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.session.status.state == "connected")
        real = app._poll_failed
        broken = []

        def fail_once(session, error):  # type: ignore[no-untyped-def]
            if not broken:
                broken.append(error)
                raise RuntimeError("a bug")
            return real(session, error)

        app._poll_failed = fail_once  # type: ignore[method-assign]
        sim.faults.add("/api/tags", "status", status=500, message="boom", count=1)  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: bool(broken), what="the poll that hits the bug")
        polls = app.poll_count
        await wait_for(pilot, lambda: app.poll_count >= polls + 2, what="polling goes on")
        assert app.is_running


async def test_no_poll_task_is_left_after_quitting(sim: object) -> None:
    app = make_app(str(sim.url), interval=0.2)  # type: ignore[attr-defined]
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.poll_count >= 3)
    assert all(task.done() for task in app._poll_tasks)
