"""LAST USED in the app: recorded from the polls, kept across a restart (the simulator over
real HTTP), sorted stalest first by one key, and a corrupt or unwritable file never a crash."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import make_fleet_app, poll_until, wait_for

from ollama_tui.app import OllamaTuiApp
from ollama_tui.config import Settings
from ollama_tui.last_used import LastUsedStore, ServerUsage
from ollama_tui.screens.delete import DeleteScreen
from ollama_tui.widgets.installed_table import InstalledTable

pytestmark = pytest.mark.simulator_only

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def app_at(url: str, path: Path, when: datetime) -> OllamaTuiApp:
    return OllamaTuiApp(Settings(host=url, interval=60.0, state_path=path), clock=lambda: when)


def cell(table: InstalledTable, name: str) -> str:
    column = next(c for c in table.columns if c.key == "last_used")
    return column.cell(next(m for m in table.items.values() if m.name == name))


def messages(app: OllamaTuiApp) -> list[str]:
    return [n.message for n in app._notifications]


async def test_last_used_survives_a_restart_and_sorts_the_stale_ones_first_for_delete(
    sim: Any, tmp_path: Path
) -> None:
    path = tmp_path / "state" / "last-used.json"
    async with httpx.AsyncClient() as client:  # loaded by someone else, as in real life
        answer = await client.post(f"{sim.url}/api/generate", json={"model": "qwen2.5:0.5b"})
        assert answer.status_code == 200
    app = app_at(sim.url, path, T0)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.dashboard.installed_table if app.dashboard else None
        assert table is not None
        await wait_for(pilot, lambda: len(table.items) > 2)
        seen = sorted(m.name for m in app.session.running_models)
        assert "qwen2.5:0.5b" in seen
        never = sorted(m.name for m in table.items.values() if m.name not in seen)
        assert never
        assert {cell(table, name) for name in seen} == {"now"}
        assert {cell(table, name) for name in never} == {"—"}
        await pilot.press("q")
    assert path.stat().st_mode & 0o777 == 0o600  # saved at exit
    for name in seen:
        sim.unload_model(name)

    async def none_loaded() -> bool:
        async with httpx.AsyncClient() as client:
            return not (await client.get(f"{sim.url}/api/ps")).json()["models"]

    await poll_until(none_loaded, what="the simulator unloads the models")

    app = app_at(sim.url, path, T0 + timedelta(days=3))
    async with app.run_test(size=(80, 24)) as pilot:
        dashboard = app.dashboard
        assert dashboard is not None
        table = dashboard.installed_table
        await wait_for(pilot, lambda: len(table.items) > 2)
        assert {cell(table, name) for name in seen} == {"3 days ago"}
        assert {cell(table, name) for name in never} == {"—"}
        help_text = " ".join(entry[2] for entry in dashboard.last_used_help())
        assert T0.astimezone().strftime("%Y-%m-%d %H:%M") in help_text, help_text
        # The journey: L sorts stalest first (never seen on top) with the cursor there, at
        # 80 columns too (the column sorted by is shown); space marks; d names them.
        await pilot.press("L")
        assert table.sort_column == "last_used"
        assert any(table.columns[i].key == "last_used" for i, _x, _w in table._current_layout())
        shown = [table.items[key].name for key in table.visible_keys]
        assert shown == [*never, *seen]
        assert table.cursor_row == 0
        await pilot.press(*["space"] * len(never), "d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeleteScreen))
        confirm = app.screen
        assert isinstance(confirm, DeleteScreen)
        listed = " ".join(item.plain for item in confirm.items)
        assert all(f"• {name}" in listed for name in never), listed
        assert not any(name in listed for name in seen)
        await pilot.press("escape")
        await pilot.press("L")  # again: most recent first
        assert table.items[table.visible_keys[0]].name in seen


async def test_a_corrupt_file_is_said_and_a_save_failure_is_a_notice(
    sim: Any, tmp_path: Path
) -> None:
    path = tmp_path / "last-used.json"
    path.write_text("{not json")
    app = app_at(sim.url, path, T0)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: any("set aside" in m for m in messages(app)))
        assert app.dashboard is not None
        await wait_for(pilot, lambda: len(app.dashboard.installed_table.items) > 0)  # type: ignore[union-attr]
        assert (tmp_path / "last-used.json.corrupt").read_text() == "{not json"
        path.mkdir()  # the file's place taken by a folder: it cannot be written
        app.last_used._dirty = True
        app._save_last_used()
        await wait_for(pilot, lambda: any("Could not save" in m for m in messages(app)))
    assert path.is_dir()  # nothing crashed at exit either


class CountingList(list[Any]):
    """A list that counts how often it is walked."""

    walks = 0

    def __iter__(self) -> Iterator[Any]:
        CountingList.walks += 1
        return super().__iter__()


class Model:
    def __init__(self, name: str) -> None:
        self.name = name


def test_a_poll_costs_o_running_unless_the_installed_list_changed() -> None:
    """20 servers x 500 models polled again and again: the installed lists (the same objects
    when nothing changed, as the poller hands them) are walked once per change only."""
    store = LastUsedStore(None)
    servers = [ServerUsage(store, f"http://s{i}:11434") for i in range(20)]
    installed = [CountingList(Model(f"m{n}:latest") for n in range(500)) for _ in servers]
    running = [[Model("m1:latest")] for _ in servers]
    CountingList.walks = 0
    for round_ in range(50):
        for usage, models, loaded in zip(servers, installed, running, strict=True):
            usage.polled(loaded, models, now=1000.0 + 2 * round_)
    assert CountingList.walks == len(servers)  # the first poll of each server only
    assert servers[0].is_running("M1:latest") and servers[0].sort_key("m1:latest") > 1e300
    assert servers[0].sort_key("m2:latest") < -1e300  # never seen: the oldest
    changed = CountingList(installed[0][:-1])
    assert servers[0].polled([], changed, now=2000.0)  # unloaded: the column changes
    assert CountingList.walks == len(servers) + 1
    assert servers[0].last_used("m1:latest") == 1000.0 + 2 * 30  # minute resolution


async def test_switching_server_sorts_by_that_servers_times(fleet: Any, tmp_path: Path) -> None:
    """A model with the same digest on two servers is the same row of the per-server table:
    after a switch, its place follows the new server's time, not the old one's."""
    path = tmp_path / "last-used.json"
    store = LastUsedStore(path)
    recent = datetime.now(UTC).timestamp() - 3600
    store.observe(fleet.urls[1], ["nomic-embed-text:latest"], None, recent)  # gpu-box only
    store.save()
    # Pulled at the same moment on both: the very same row (the table keeps it as it is).
    ours, theirs = (sim._models for sim in (fleet.simulators[0], fleet.simulators[1]))
    key = next(k for k, record in theirs.items() if record.name == "nomic-embed-text:latest")
    theirs[key] = dataclasses.replace(theirs[key], modified_at=ours[key].modified_at)
    fleet.simulators[1]._changed()
    app = make_fleet_app(fleet, ("workstation", "gpu-box", "laptop"), state_path=path)
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.dashboard is not None
        table = app.dashboard.server_installed
        await wait_for(pilot, lambda: all(s.installed for s in app.sessions))

        def order() -> list[str]:
            return [table.items[key].name for key in table.visible_keys]

        await pilot.press("L")
        assert order()[-1] == "llama3.2:latest"  # loaded on the workstation
        assert "nomic-embed-text:latest" in order()[:3]  # among the never used there
        name = "nomic-embed-text:latest"
        row = next(k for k in table.visible_keys if table.items[k].name == name)
        formatted = table._fingerprints[row]
        await pilot.press("2")
        await wait_for(pilot, lambda: app.session is app.sessions[1])
        await pilot.pause()
        assert table._fingerprints[row] == formatted  # the very same row, not formatted again
        assert order()[-1] == name, order()  # gpu-box used it an hour ago
