"""The footer does not keep the key widgets of its old rebuilds alive (a Textual 8.2 leak)."""

from __future__ import annotations

import gc

from conftest import make_app
from test_ui_dashboard import started
from textual.widgets._footer import FooterKey

from ollama_tui.simulator import Simulator


def live_footer_keys() -> int:
    gc.collect()
    return sum(isinstance(obj, FooterKey) for obj in gc.get_objects())


async def test_switching_tables_many_times_keeps_no_dead_footer_keys(sim: Simulator) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        for _ in range(30):  # each switch changes the keys that apply, so the footer rebuilds
            await pilot.press("tab")
            await pilot.pause()
        mounted = len(app.screen.query(FooterKey))
        # A few may still be on their way out; thirty rebuilds' worth must not be.
        assert live_footer_keys() <= 2 * mounted + 10
