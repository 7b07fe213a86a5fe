"""The model tables stay instant at 5,000 models (UI-thread CPU time, not wall time)."""

from __future__ import annotations

import statistics
import time

import pytest
from conftest import wait_for

from ollama_tui.app import OllamaTuiApp
from ollama_tui.config import Settings
from ollama_tui.simulator import Simulator

pytestmark = [pytest.mark.simulator_only, pytest.mark.slow]


async def test_poll_and_filter_at_5000_models() -> None:
    async with Simulator(models=5000) as sim:
        app = OllamaTuiApp(Settings(host=sim.url, interval=60))
        async with app.run_test(size=(160, 45)) as pilot:
            await wait_for(pilot, lambda: len(app.installed) > 5000, timeout=30)
            # A settled app: the weights of 5,000 models are learnt in the background first
            # (the UI while they are learnt is bench row 14's).
            await wait_for(pilot, lambda: not app.session.learning_weights(), timeout=60)
            await pilot.pause()
            table = app.dashboard.installed_table  # type: ignore[union-attr]
            rendered = table.render_count

            poll_costs = []
            for _ in range(3):
                await wait_for(pilot, lambda: not app.polling, timeout=30)
                count = app.poll_count
                start = time.thread_time()  # CPU of the UI thread only
                app.request_refresh()
                await wait_for(pilot, lambda count=count: app.poll_count > count, timeout=30)
                poll_costs.append(time.thread_time() - start)
            assert statistics.median(poll_costs) <= 0.020, poll_costs
            assert table.render_count == rendered  # nothing changed: nothing re-rendered

            await pilot.press("slash")
            key_costs = []
            for key in ["l", "l", "a", "m", "a", "backspace", "backspace", "q", "w"]:
                start = time.thread_time()
                await pilot.press(key)
                key_costs.append(time.thread_time() - start)
            assert statistics.median(key_costs) <= 0.050, key_costs
            assert table.filter_text == "llaqw"
