"""The all-servers view (`0`): every server's models merged with a SERVER column; sort,
filter and marks across servers; each operation acts on the row's own server."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import make_fleet_app, wait_for
from textual.pilot import Pilot
from textual.widgets import Static

from ollama_tui.app import OllamaTuiApp
from ollama_tui.screens.delete import DeleteScreen
from ollama_tui.screens.load import LoadScreen
from ollama_tui.simulator import Fleet
from ollama_tui.widgets.installed_table import InstalledTable

pytestmark = pytest.mark.simulator_only

NAMES = ("workstation", "gpu-box", "laptop")


def fleet_app(fleet: Fleet) -> OllamaTuiApp:
    return make_fleet_app(fleet, NAMES)


async def all_shown(pilot: Pilot[Any], app: OllamaTuiApp) -> InstalledTable:
    await wait_for(
        pilot,
        lambda: all(s.status.state == "connected" and s.installed for s in app.sessions),
        timeout=3.0,
    )
    await pilot.press("0")
    assert app.dashboard is not None
    dashboard = app.dashboard
    await wait_for(pilot, lambda: dashboard.all_servers)
    await pilot.pause()
    return dashboard.installed_table


def shown(table: InstalledTable) -> list[tuple[str, str]]:
    """(model, server) of each row shown, in order."""
    return [(table.items[k].model.name, table.items[k].session.label) for k in table.visible_keys]


async def test_all_servers_merge_every_server_with_a_server_column(fleet: Fleet) -> None:
    app = fleet_app(fleet)
    async with app.run_test(size=(100, 30)) as pilot:
        table = await all_shown(pilot, app)
        assert app.dashboard is not None
        rows = shown(table)
        expected = {(m.name, s.label) for s in app.sessions for m in s.installed}
        assert set(rows) == expected and len(rows) == 12
        # The same model on two servers is two rows.
        assert ("llama3.2:latest", "workstation") in rows and ("llama3.2:latest", "gpu-box") in rows
        assert "SERVER" in [c.label for c in table.columns]
        assert "All servers (3)" in app.dashboard.status_bar.render().plain
        assert "3 of 3 answering" in app.dashboard.status_bar.render().plain
        servers = app.dashboard.servers_table
        assert servers is not None and "ALL shown" in str(servers.border_title)
        # Sort by server, then filter by a server's name.
        table.sort_by("server", reverse=False)
        await pilot.pause()
        labels = [server for _m, server in shown(table)]
        assert labels == sorted(labels, key=str.lower)
        await pilot.press("slash", *"laptop", "enter")
        await wait_for(pilot, lambda: {s for _m, s in shown(table)} == {"laptop"})
        assert len(shown(table)) == 3
        # ] and [ cycle through the servers, then "all".
        await pilot.press("escape", "right_square_bracket")
        await wait_for(pilot, lambda: not app.dashboard.all_servers)  # type: ignore[union-attr]
        assert app.session is app.sessions[0]
        await pilot.press("left_square_bracket")
        await wait_for(pilot, lambda: app.dashboard.all_servers)  # type: ignore[union-attr]
        await pilot.press("2")
        await wait_for(pilot, lambda: not app.dashboard.all_servers)  # type: ignore[union-attr]
        assert app.session is app.sessions[1]


async def test_marks_across_servers_one_confirmation_each_deleted_on_its_own_server(
    fleet: Fleet,
) -> None:
    app = fleet_app(fleet)
    async with app.run_test(size=(100, 30)) as pilot:
        table = await all_shown(pilot, app)
        targets = [("nomic-embed-text:latest", "workstation"), ("mistral:7b", "gpu-box")]
        for target in targets:
            key = next(k for k in table.visible_keys if shown_one(table, k) == target)
            assert table.select_key(key)
            await pilot.press("space")
        await wait_for(pilot, lambda: len(table.marked) == 2)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeleteScreen))
        screen = app.screen
        title = str(screen.query_one(".dialog-title", Static).render())
        assert title == "Delete 2 models on 2 servers?"
        lines = [str(s.render()) for s in screen.query(".dialog-item").results(Static)]
        assert any("nomic-embed-text:latest on workstation" in line for line in lines)
        assert any("mistral:7b on gpu-box" in line for line in lines)
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: (
                fleet.simulators[0].request_count("/api/delete") == 1
                and fleet.simulators[1].request_count("/api/delete") == 1
            ),
        )
        # Checked over HTTP: each gone from its own server only.
        names = [{m.name for m in await s.client.list_models()} for s in app.sessions]
        assert "nomic-embed-text:latest" not in names[0]
        assert "nomic-embed-text:latest" in names[1]  # the gpu-box copy stays
        assert "mistral:7b" not in names[1]
        assert fleet.simulators[2].request_count("/api/delete") == 0
        await wait_for(pilot, lambda: targets[0] not in shown(table))


def shown_one(table: InstalledTable, key: Any) -> tuple[str, str]:
    row = table.items[key]
    return (row.model.name, row.session.label)


async def test_load_in_the_merged_view_loads_on_the_rows_server(fleet: Fleet) -> None:
    app = fleet_app(fleet)
    async with app.run_test(size=(100, 30)) as pilot:
        table = await all_shown(pilot, app)
        assert app.session is app.sessions[0]  # the current server is workstation
        key = next(k for k in table.visible_keys if shown_one(table, k) == ("phi3:mini", "laptop"))
        assert table.select_key(key)
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, LoadScreen))
        await pilot.press("2")
        await wait_for(pilot, lambda: fleet.simulators[2].request_count("/api/generate") == 1)
        assert fleet.simulators[0].request_count("/api/generate") == 0
        assert fleet.simulators[1].request_count("/api/generate") == 0


async def test_a_poll_of_any_server_updates_the_merged_view_and_keeps_the_cursor(
    fleet: Fleet,
) -> None:
    app = fleet_app(fleet)
    async with app.run_test(size=(100, 30)) as pilot:
        table = await all_shown(pilot, app)
        key = next(
            k for k in table.visible_keys if shown_one(table, k) == ("mistral:7b", "gpu-box")
        )
        assert table.select_key(key)
        # Only the new row is formatted, not every server's rows again.
        formatted: list[int] = []
        format_rows = table._format

        def spy(keys: Any) -> None:
            keys = list(keys)
            formatted.append(len(keys))
            format_rows(keys)

        table._format = spy  # type: ignore[method-assign]
        fleet.simulators[2].add_model("llama3.2:1b")
        app.request_refresh(app.sessions[2])
        await wait_for(pilot, lambda: ("llama3.2:1b", "laptop") in shown(table))
        assert table.cursor_key == key
        assert formatted == [1]
        # A poll that changes nothing re-formats nothing.
        before = table.render_count
        app.request_refresh(app.sessions[1])
        count = app.poll_count
        await wait_for(pilot, lambda: app.poll_count > count)
        await pilot.pause()
        assert table.cursor_key == key
        assert table.render_count == before


async def test_repull_of_marks_on_several_servers_pulls_each_on_its_own_server(
    fleet: Fleet,
) -> None:
    from ollama_tui.screens.confirm import ChoiceScreen
    from ollama_tui.screens.pull import PullScreen

    app = fleet_app(fleet)
    async with app.run_test(size=(100, 30)) as pilot:
        table = await all_shown(pilot, app)
        # Nothing marked: a new pull goes to the current (last picked) server, and says so.
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, PullScreen))
        title = str(app.screen.query_one(".dialog-title", Static).render())
        assert title == "Pull a model to workstation"
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, PullScreen))
        targets = [("gemma3:1b", "workstation"), ("phi3:mini", "laptop")]
        for target in targets:
            key = next(k for k in table.visible_keys if shown_one(table, k) == target)
            assert table.select_key(key)
            await pilot.press("space")
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        lines = [str(s.render()) for s in app.screen.query(".dialog-item").results(Static)]
        assert any("gemma3:1b on workstation" in line for line in lines)
        assert any("phi3:mini on laptop" in line for line in lines)
        await pilot.press("r")
        await wait_for(pilot, lambda: len(app.jobs.jobs) == 2)
        where = {(job.model, job.server.label) for job in app.jobs.jobs}  # type: ignore[union-attr]
        assert where == set(targets)


async def test_unload_all_in_the_merged_view_unloads_every_server_after_one_confirmation(
    fleet: Fleet,
) -> None:
    from ollama_tui.screens.confirm import ConfirmScreen

    fleet.simulators[2].load_model("phi3:mini")
    app = fleet_app(fleet)
    async with app.run_test(size=(100, 30)) as pilot:
        await all_shown(pilot, app)
        await pilot.press("U")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        title = str(app.screen.query_one(".dialog-title", Static).render())
        assert title == "Unload 2 models on 2 servers?"
        lines = [str(s.render()) for s in app.screen.query(".dialog-item").results(Static)]
        assert any("on laptop" in line for line in lines)
        assert any("on workstation" in line for line in lines)
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: (
                fleet.simulators[0].request_count("/api/generate") >= 1
                and fleet.simulators[2].request_count("/api/generate") >= 1
            ),
        )
        assert fleet.simulators[1].request_count("/api/generate") == 0


def test_a_merged_row_is_the_same_entity_only_on_the_same_server() -> None:
    """The cursor follows a re-pulled model (new digest) on its own server, never to the same
    name on another server."""
    from datetime import UTC, datetime

    from ollama_tui.widgets.running_table import RunningTable

    for fleet_table in (
        InstalledTable(lambda: datetime.now(UTC), fleet=True),
        RunningTable(lambda: datetime.now(UTC), fleet=True),
    ):
        assert fleet_table.entity(("m", "d1", 1)) == fleet_table.entity(("m", "d2", 1))
        assert fleet_table.entity(("m", "d1", 1)) != fleet_table.entity(("m", "d1", 2))
    single = InstalledTable(lambda: datetime.now(UTC))
    assert single.entity(("m", "d1")) == single.entity(("m", "d2"))
