"""What the models really take on disk, in the app (issue #11, section 2), against the simulator
over real HTTP: each weights blob counted once, "≥" until every model's weights are known, the
delete dialog saying what deleting really frees, and details naming who shares the weights."""

from __future__ import annotations

from typing import Any

from conftest import make_app, wait_for
from textual.widgets import Static

from ollama_tui.api import LocalModel, OllamaClient
from ollama_tui.api.names import names_equal
from ollama_tui.app import OllamaTuiApp
from ollama_tui.screens.delete import DeleteScreen
from ollama_tui.screens.details import DetailsScreen
from ollama_tui.simulator import Simulator

BASE = "llama3.2:latest"
COPIES = ("backup-a:latest", "backup-b:latest")
DERIVED = "tutor:latest"


def on_disk(app: OllamaTuiApp) -> str:
    assert app.dashboard is not None
    return str(app.dashboard.query_one("#installed-box").border_subtitle)


def model(app: OllamaTuiApp, name: str) -> LocalModel:
    return next(m for m in app.installed if names_equal(m.name, name))


def shows(sim: Simulator) -> int:
    return sum(1 for r in sim.requests if r.path == "/api/show")


def info_text(app: OllamaTuiApp) -> str:
    static = app.screen.query_one("#details-info", Static)
    lines = static.render_lines(static.region.reset_offset)
    return " ".join(" ".join(strip.text.split()) for strip in lines)


async def delete_note(pilot: Any, app: OllamaTuiApp, names: tuple[str, ...]) -> str:
    """The delete dialog's sentence about the space freed (the dialog is then cancelled)."""
    app.operations.delete([model(app, name) for name in names])
    await wait_for(pilot, lambda: isinstance(app.screen, DeleteScreen) and app.screen.is_mounted)
    await pilot.pause()
    note = str(app.screen.query_one(".dialog-note", Static).render())
    await pilot.press("escape")
    await wait_for(pilot, lambda: not isinstance(app.screen, DeleteScreen))
    return note


async def test_copies_and_a_derivative_add_only_its_new_layers(sim: Simulator) -> None:
    app = make_app(str(sim.url))
    async with app.run_test(size=(120, 36)) as pilot:
        session = app.session
        await wait_for(pilot, lambda: app.installed and session.disk_in_use().complete)
        await wait_for(pilot, lambda: not session.learning_weights())
        assert "≥" not in on_disk(app)
        before = session.disk_in_use().total
        learnt = shows(sim)
        # A poll that changes nothing asks nothing.
        polls = app.poll_count
        app.request_refresh()
        await wait_for(pilot, lambda: app.poll_count > polls)
        assert shows(sim) == learnt and not session.learning_weights()

        # Slow answers: the figure must say "≥" while the derivative's weights are unknown.
        sim.faults.add("/api/show", "delay", seconds=0.4)
        async with OllamaClient(str(sim.url)) as client:
            for name in COPIES:
                await client.copy(BASE, name)
            modelfile = f"FROM {BASE}\nSYSTEM You teach.\n"
            async for _ in client.create(DERIVED, modelfile, from_model=BASE):
                pass
        app.request_refresh()
        await wait_for(pilot, lambda: any(names_equal(m.name, DERIVED) for m in app.installed))
        usage = session.disk_in_use()
        assert not usage.complete and session.learning_weights()
        await wait_for(pilot, lambda: "≥" in on_disk(app), what=lambda: on_disk(app))
        assert usage.total >= before  # a lower bound: never less than what was there
        # Copies share the manifest digest: only the derivative is asked about.
        await wait_for(pilot, lambda: session.disk_in_use().complete, timeout=5)
        await wait_for(pilot, lambda: "≥" not in on_disk(app), what=lambda: on_disk(app))
        sim.faults.clear()
        assert shows(sim) == learnt + 1
        assert session.weights.peak_in_flight <= 4
        base, derived = model(app, BASE), model(app, DERIVED)
        grown = session.disk_in_use().total - before
        assert 0 <= grown <= derived.size - base.size + 4096  # its new layers, not 3 x 2 GB

        # The delete dialog says what deleting really frees, and who keeps the weights.
        note = await delete_note(pilot, app, (COPIES[0],))
        assert "Frees almost nothing — the weights stay, shared with" in note
        copies_first = note.split("shared with ")[1].split(", ")[:2]
        assert sorted(copies_first) == sorted([BASE, COPIES[1]])  # same manifest: named first
        assert note.endswith(" and 1 more. This cannot be undone."), note  # 3 names at most
        # Together with everything sharing them but the simulator's own pirate derivative.
        note = await delete_note(pilot, app, (BASE, *COPIES, DERIVED))
        assert "— shared weights stay, shared with someuser/llama3-pirate:latest." in note
        assert "Frees almost nothing" not in note and "up to" not in note, note

        # Details: who shares the weights, and what the derivative derives from.
        app.show_details(model(app, COPIES[0]))
        await wait_for(pilot, lambda: isinstance(app.screen, DetailsScreen) and app.screen.show)
        await pilot.pause()
        info = info_text(app)
        assert "Shares weights with" in info and BASE in info
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, DetailsScreen))
        app.show_details(derived)
        await wait_for(pilot, lambda: isinstance(app.screen, DetailsScreen) and app.screen.show)
        await pilot.pause()
        info = info_text(app)
        assert f"Derived from {BASE}" in info
        assert "Shares weights with" in info and COPIES[0] in info


async def test_each_servers_disk_counts_its_shared_weights_once(fleet: Any) -> None:
    """The servers table's DISK and the all-servers total use the same counting."""
    from conftest import make_fleet_app

    from ollama_tui.formatting import disk_figure

    app = make_fleet_app(fleet)
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.dashboard is not None and app.dashboard.servers_table is not None
        servers = app.dashboard.servers_table
        gpu = app.sessions[1]

        def settled() -> bool:
            sessions = app.sessions
            return all(s.installed and s.disk_in_use().complete for s in sessions)

        await wait_for(pilot, settled)
        await pilot.pause()
        before = servers.rows()[1][9]
        assert before == disk_figure(gpu.disk_in_use().total, True)
        async with OllamaClient(gpu.url) as client:
            await client.copy(gpu.installed[0].name, "spare:latest")
        app.request_refresh(gpu)
        await wait_for(pilot, lambda: any(m.name == "spare:latest" for m in gpu.installed))
        await wait_for(pilot, settled)
        await pilot.pause()
        assert servers.rows()[1][8] == str(len(gpu.installed))  # one model more ...
        assert servers.rows()[1][9] == before  # ... and not one byte more on disk
        app.dashboard.show_all_servers(True)
        total = sum(s.disk_in_use().total for s in app.sessions)
        assert on_disk(app) == f"{disk_figure(total, True)} on disk"
