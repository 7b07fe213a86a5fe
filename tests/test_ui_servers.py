"""Several servers: the servers table, each server polled on its own, picking a server."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import make_fleet_app, wait_for
from textual.pilot import Pilot

from ollama_tui.app import OllamaTuiApp
from ollama_tui.config import ServerSettings, Settings
from ollama_tui.screens.delete import DeleteScreen
from ollama_tui.simulator import Fleet
from ollama_tui.widgets.servers_table import ServersTable

pytestmark = pytest.mark.simulator_only

NAMES = ("workstation", "gpu-box", "laptop")


def fleet_app(fleet: Fleet, interval: float = 60.0) -> OllamaTuiApp:
    return make_fleet_app(fleet, NAMES, interval=interval)


def table(app: OllamaTuiApp) -> ServersTable:
    assert app.dashboard is not None and app.dashboard.servers_table is not None
    return app.dashboard.servers_table


def row(app: OllamaTuiApp, index: int) -> tuple[str, ...]:
    return table(app).rows()[index]


def installed_names(app: OllamaTuiApp) -> set[str]:
    assert app.dashboard is not None
    return {key[0] for key in app.dashboard.installed_table.visible_keys}


async def all_connected(pilot: Pilot[Any], app: OllamaTuiApp) -> None:
    await wait_for(
        pilot,
        lambda: all(s.status.state == "connected" and s.installed for s in app.sessions),
        timeout=3.0,
        what="every server connected with its models",
    )
    await pilot.pause()


async def test_three_servers_show_in_the_servers_table_within_3_s(fleet: Fleet) -> None:
    app = fleet_app(fleet)
    async with app.run_test(size=(80, 24)) as pilot:
        await all_connected(pilot, app)
        rows = table(app).rows()
        assert [r[1] for r in rows] == list(NAMES)
        assert all(r[2] == "connected" for r in rows)
        assert [r[3] for r in rows] == ["0.31.0", "0.30.2", "0.12.6"]
        assert [r[8] for r in rows] == ["4", "5", "3"]  # installed counts
        assert rows[0][5] == "1"  # workstation has a model loaded
        assert rows[0][0].startswith("▶")  # the current server
        # It fits at 80x24 with both tables: every server row is on screen.
        assert table(app).region.height == 3 + 3
        assert app.dashboard is not None
        assert app.dashboard.installed_table.region.height >= 4
        assert app.dashboard.running_table.region.height >= 2
        # The status line names the current server.
        assert "workstation" in app.dashboard.status_bar.render().plain


async def test_one_server_has_no_servers_table(fleet: Fleet) -> None:
    app = OllamaTuiApp(Settings(host=fleet.urls[0], interval=60.0))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: bool(app.installed))
        assert app.dashboard is not None
        assert app.dashboard.servers_table is None
        assert not app.dashboard.query(ServersTable)


async def test_a_model_loaded_from_outside_shows_within_two_intervals(fleet: Fleet) -> None:
    app = fleet_app(fleet, interval=0.5)
    async with app.run_test(size=(80, 24)) as pilot:
        await all_connected(pilot, app)
        assert row(app, 2)[5] == "0"
        fleet.simulators[2].load_model("phi3:mini")
        await wait_for(pilot, lambda: row(app, 2)[5] == "1", timeout=1.0 + 0.5)


async def test_a_stopped_server_is_unreachable_others_refresh_and_it_comes_back(
    fleet: Fleet,
) -> None:
    interval = 0.5
    app = fleet_app(fleet, interval=interval)
    sim = fleet.simulators[1]
    port = int(sim.url.rsplit(":", 1)[1])
    async with app.run_test(size=(80, 24)) as pilot:
        await all_connected(pilot, app)
        await sim.stop()
        await wait_for(
            pilot, lambda: row(app, 1)[2].startswith("unreachable"), timeout=2 * interval + 0.5
        )
        # The others keep refreshing while it is down.
        others = [app.sessions[0], app.sessions[2]]
        seen = [s.status.last_ok for s in others]
        await wait_for(
            pilot,
            lambda: all(s.status.last_ok != t for s, t in zip(others, seen, strict=True)),
            timeout=2 * interval + 0.5,
        )
        assert all(s.status.state == "connected" for s in others)
        await sim.start("127.0.0.1", port)
        # Back with no key pressed (the back-off is short after a short outage).
        await wait_for(pilot, lambda: row(app, 1)[2] == "connected", timeout=5.0)


async def test_a_hanging_server_does_not_delay_the_others(fleet: Fleet) -> None:
    interval = 0.5
    app = fleet_app(fleet, interval=interval)
    async with app.run_test(size=(80, 24)) as pilot:
        await all_connected(pilot, app)
        fleet.simulators[0].faults.add("/api/tags", "hang")
        await wait_for(pilot, lambda: row(app, 0)[2] == "not answering", timeout=3.0)
        others = [app.sessions[1], app.sessions[2]]
        seen = [s.status.last_ok for s in others]
        await wait_for(
            pilot,
            lambda: all(s.status.last_ok != t for s, t in zip(others, seen, strict=True)),
            timeout=2 * interval + 0.5,
        )


async def test_key_2_shows_server_2_and_operations_act_on_it(fleet: Fleet) -> None:
    app = fleet_app(fleet)
    async with app.run_test(size=(80, 24)) as pilot:
        await all_connected(pilot, app)
        assert "mistral:7b" not in installed_names(app)
        await pilot.press("2")
        await wait_for(pilot, lambda: "mistral:7b" in installed_names(app))
        assert installed_names(app) == {m.name for m in app.sessions[1].installed}
        assert app.session is app.sessions[1]
        assert app.dashboard is not None
        assert "gpu-box" in app.dashboard.status_bar.render().plain
        assert row(app, 1)[0].startswith("▶")
        table_ = app.dashboard.installed_table
        assert table_.select_key(next(k for k in table_.visible_keys if k[0] == "mistral:7b"))
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeleteScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: "mistral:7b" not in installed_names(app))
        assert fleet.simulators[1].request_count("/api/delete") == 1
        assert fleet.simulators[0].request_count("/api/delete") == 0
        assert fleet.simulators[2].request_count("/api/delete") == 0
        # ] and [ cycle through the servers, then "all servers" (None); 1 goes back.
        dashboard = app.dashboard
        for key, current in (
            ("right_square_bracket", 2),
            ("right_square_bracket", None),
            ("right_square_bracket", 0),
            ("left_square_bracket", None),
            ("left_square_bracket", 2),
            ("1", 0),
        ):
            await pilot.press(key)
            if current is None:
                await wait_for(pilot, lambda: dashboard.all_servers)
            else:
                await wait_for(
                    pilot,
                    lambda c=current: app.session is app.sessions[c] and not dashboard.all_servers,
                )
        assert "gemma3:1b" in installed_names(app)


async def test_filter_is_kept_across_a_switch(fleet: Fleet) -> None:
    app = fleet_app(fleet)
    async with app.run_test(size=(80, 24)) as pilot:
        await all_connected(pilot, app)
        await pilot.press("slash", *"qwen", "enter")
        await wait_for(
            pilot,
            lambda: installed_names(app) == {"qwen2.5:0.5b"},
            what=lambda: f"filtered on server 1: {installed_names(app)}",
        )
        await pilot.press("2")
        await wait_for(
            pilot,
            lambda: (
                "qwen2.5:7b" in installed_names(app) and "mistral:7b" not in installed_names(app)
            ),
            what=lambda: f"filtered on server 2: {installed_names(app)}",
        )
        assert app.dashboard is not None
        assert app.dashboard.installed_table.filter_text == "qwen"


async def test_marks_do_not_follow_to_another_server(fleet: Fleet) -> None:
    app = fleet_app(fleet)
    async with app.run_test(size=(80, 24)) as pilot:
        await all_connected(pilot, app)
        assert app.dashboard is not None
        installed = app.dashboard.installed_table
        key = next(k for k in installed.visible_keys if k[0] == "nomic-embed-text:latest")
        assert installed.select_key(key)
        await pilot.press("space")
        await wait_for(pilot, lambda: bool(installed.marked))
        await pilot.press("2")
        await wait_for(pilot, lambda: app.session is app.sessions[1])
        assert not installed.marked


async def test_help_lists_the_server_keys_only_with_several_servers(fleet: Fleet) -> None:
    from ollama_tui.screens.help import collect_help

    app = fleet_app(fleet)
    async with app.run_test(size=(80, 24)) as pilot:
        await all_connected(pilot, app)
        entries = collect_help(app.get_key_display, app.screen.active_bindings)
        keys = {description: shown for _section, shown, description, _on in entries}
        assert keys["Show server 1-9"] == "1, 2, 3"
        assert "Next server" in keys and "Previous server" in keys
    single = OllamaTuiApp(Settings(host=fleet.urls[0], interval=60.0))
    async with single.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        entries = collect_help(single.get_key_display, single.screen.active_bindings)
        fleet_only = ("Show server", "Next server", "Previous server", "Show all servers")
        fleet_only += ("Where is each model", "Copy to server")
        descriptions = [description for _s, _k, description, _on in entries]
        assert not [d for d in descriptions if d.startswith(fleet_only)], descriptions


async def test_pausing_shows_in_the_servers_table_for_that_server_only(fleet: Fleet) -> None:
    app = fleet_app(fleet)
    async with app.run_test(size=(80, 24)) as pilot:
        await all_connected(pilot, app)
        await pilot.press("2", "z")
        await wait_for(pilot, lambda: row(app, 1)[2] == "paused")
        assert row(app, 0)[2] == "connected" and row(app, 2)[2] == "connected"
        assert not app.sessions[0].paused and app.sessions[1].paused


async def test_server_text_is_escaped_in_the_servers_table(fleet: Fleet) -> None:
    servers = (
        ServerSettings("[bold]x\x1b[31m", fleet.urls[0]),
        ServerSettings(None, fleet.urls[1]),
    )
    app = OllamaTuiApp(Settings(interval=60.0, servers=servers))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: all(s.installed for s in app.sessions))
        rows = table(app).rows()
        assert "\x1b" not in rows[0][1] and rows[0][1].startswith("[bold]x")
        assert rows[1][1] == fleet.urls[1].removeprefix("http://")  # no name: host and port


def test_a_server_that_stopped_answering_shows_no_round_trip() -> None:
    from ollama_tui.session import ServerSession
    from ollama_tui.widgets.servers_table import _cells

    session = ServerSession("gpu", "http://127.0.0.1:9")
    session.set_status(state="connected", rtt=0.008, last_ok=1.0, version="0.33.0")
    assert _cells(0, session, True)[0][4] == "8 ms"
    session.set_status(state="unreachable", reason="refused")
    cells = _cells(0, session, True)[0]
    assert cells[4] == "–"  # no round trip to a server that does not answer
    assert cells[5] == "0"  # its last known lists stay, under its state
