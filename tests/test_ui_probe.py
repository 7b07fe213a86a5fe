"""The speed probe in the dashboard, against simulated servers with known speeds: the
confirmation says what loads where and for how long, the probe runs as a job (one at a time,
cancellable, refused in read-only mode), and its result shows in details, in the SPEED column
and in the comparison of servers."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import itertools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import make_app, make_fleet_app, wait_for
from textual.widgets import Input, Static

from ollama_tui.__main__ import main
from ollama_tui.app import OllamaTuiApp
from ollama_tui.jobs import Job, JobKind, JobState
from ollama_tui.probe import DEFAULT_KEEP_ALIVE_TEXT, ProbeKind, ProbeResult, ProbeStore
from ollama_tui.screens.details import DetailsScreen
from ollama_tui.screens.jobs import JobsScreen
from ollama_tui.screens.probe import ProbeComparisonScreen, ProbeScreen
from ollama_tui.screens.where import WhereScreen
from ollama_tui.simulator import Fleet, Simulator
from ollama_tui.simulator.fleet import FLEET_PRESET
from ollama_tui.simulator.state import SeedModel
from ollama_tui.speed import speed_cell, speed_words
from ollama_tui.widgets.installed_table import InstalledTable

pytestmark = pytest.mark.simulator_only

# Fast enough that 64 paced tokens take a fraction of a second; all different.
SPEEDS = {"workstation": 400.0, "gpu-box": 1000.0, "laptop": 250.0}
LLAMA = "llama3.2:latest"


def probes(app: OllamaTuiApp) -> list[Job]:
    return [job for job in app.jobs.jobs if job.kind is JobKind.PROBE]


def messages(app: OllamaTuiApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


def speed_of(table: InstalledTable, name: str) -> str:
    column = next(c for c in table.columns if c.key == "speed")
    return column.cell(next(m for m in table.items.values() if m.name == name))


async def put_cursor_on(pilot: Any, table: InstalledTable, name: str) -> None:
    await wait_for(pilot, lambda: any(m.name == name for m in table.items.values()))
    table.move_cursor_to(next(i for i, k in enumerate(table.visible_keys) if k[0] == name))
    table.focus()


def close_to(value: float | None, expected: float) -> bool:
    return value is not None and abs(value - expected) <= 0.05 * expected


@pytest.fixture
async def fast_fleet() -> Any:
    """The fleet preset with fast, different speeds, and llama3.2 on the laptop too."""
    plans = []
    for plan in FLEET_PRESET:
        models = plan.models
        if plan.label == "laptop":
            models = (*models, SeedModel("llama3.2:3b", LLAMA))
        plans.append(dataclasses.replace(plan, models=models, speed=SPEEDS[plan.label]))
    servers = Fleet(plans=plans)
    await servers.start("127.0.0.1", 0)
    try:
        yield servers
    finally:
        await servers.stop()


async def test_probe_one_then_all_servers_shows_speeds_in_details_column_and_comparison(
    fast_fleet: Fleet, tmp_path: Path
) -> None:
    workstation = fast_fleet.simulators[0]
    saved = tmp_path / "probes.json"  # beside the last-used file
    app = make_fleet_app(fast_fleet, state_path=tmp_path / "last-used.json")
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.dashboard is not None
        table = app.dashboard.installed_table
        await put_cursor_on(pilot, table, LLAMA)

        # b: the confirmation names the server, says it loads the model and for how long.
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, ProbeScreen))
        dialog = app.screen
        assert isinstance(dialog, ProbeScreen)
        assert dialog.title_text == f"Probe the speed of {LLAMA} on workstation?"
        note = dialog.query_one("#probe-note", Static)
        assert f"Probing loads {LLAMA} on workstation and leaves it" in str(note.render())
        assert DEFAULT_KEEP_ALIVE_TEXT in str(note.render())
        assert "loaded already" in " ".join(t.plain for t in dialog.items())  # preset: loaded
        # A keep-alive typed: the note says it, and it is what the server is sent.
        dialog.query_one("#probe-keep-alive", Input).focus()
        await pilot.press(*"10m")
        assert "leaves it loaded for 10m." in str(note.render())
        await pilot.press("enter")
        await wait_for(pilot, lambda: probes(app) and probes(app)[0].state.is_final)
        job = probes(app)[0]
        assert job.state is JobState.DONE, job.error
        sent = [r.json for r in workstation.requests if r.path == "/api/generate"]
        assert sent[-1]["keep_alive"] == "10m"
        assert sent[-1]["options"]["num_predict"] == 64
        result = app.probes.get(app.sessions[0].url, job.params.digest)
        assert isinstance(result, ProbeResult) and result.kind is ProbeKind.GENERATE
        assert close_to(result.tokens_per_second, SPEEDS["workstation"])
        assert any("probe llama3.2:latest on workstation: 400 tok/s" in m for m in messages(app))
        await wait_for(pilot, saved.exists)  # saved at once, not only at exit
        assert saved.stat().st_mode & 0o777 == 0o600

        # Details: a Speed row.
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailsScreen))
        details = app.screen
        assert isinstance(details, DetailsScreen)
        await wait_for(pilot, lambda: details.show is not None)
        await pilot.pause()
        info = details.query_one("#details-info", Static)
        shown = "\n".join(s.text for s in info.render_lines(info.region.reset_offset))
        assert "Speed" in shown and "400 tok/s generated" in shown, shown
        # Open details follow a probe that ends meanwhile (as the app publishes it).
        newer = dataclasses.replace(result, at=result.at + 0.001, tokens_per_second=123.0)
        app.probes.put(newer)
        app.probes_changed_signal.publish(newer)
        await wait_for(
            pilot,
            lambda: (
                "123 tok/s generated"
                in "".join(s.text for s in info.render_lines(info.region.reset_offset))
            ),
        )
        app.probes.put(dataclasses.replace(result, at=result.at + 0.002))
        await pilot.press("escape")

        # v: the SPEED column (off by default), sortable, fastest first.
        assert not table.speed_shown
        assert speed_of(table, LLAMA) == "400 tok/s"
        await pilot.press("v")
        assert table.speed_shown
        assert "speed" in [table.columns[i].key for i, _x, _w in table._current_layout()]
        assert speed_of(table, "gemma3:1b") == ""  # not probed

        # B: every server that has it, one at a time; Cancel focused, y confirms.
        await pilot.press("B")
        await wait_for(pilot, lambda: isinstance(app.screen, ProbeScreen))
        dialog = app.screen
        assert isinstance(dialog, ProbeScreen)
        assert "on 3 servers, one at a time" in dialog.title_text
        listed = " ".join(t.plain for t in dialog.items())
        assert all(f"• {name}" in listed for name in SPEEDS), listed
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ProbeComparisonScreen), timeout=20)
        comparison = app.screen
        assert isinstance(comparison, ProbeComparisonScreen)
        batch = probes(app)[1:]
        assert len(batch) == 3 and all(j.state is JobState.DONE for j in batch)
        spans = sorted((j.started_at or 0, j.finished_at or 0) for j in batch)
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans)), spans
        gpu_box = [r.json for r in fast_fleet.simulators[1].requests if r.path == "/api/generate"]
        assert gpu_box and "keep_alive" not in gpu_box[-1]  # none typed: the server's default
        rows = comparison.rows
        assert [r.label for r in rows] == ["gpu-box", "workstation", "laptop"]  # fastest first
        for row in rows:
            assert row.result is not None and close_to(row.result.speed, SPEEDS[row.label])
        drawn = comparison.query_one("#probe-table", Static)
        text = "\n".join(s.text for s in drawn.render_lines(drawn.region.reset_offset))
        assert "1000 tok/s" in text and "250 tok/s" in text, text
        # `ollama-tui probe --json` on the same servers reports the same, in the same order.
        hosts = [arg for url in fast_fleet.urls for arg in ("--host", url)]
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            code = await asyncio.to_thread(main, ["probe", *hosts, LLAMA, "--json"])
        assert code == 0
        cli = json.loads(out.getvalue())
        urls = {session.label: session.url for session in app.sessions}
        assert [item["server"] for item in cli] == [urls[row.label] for row in rows]
        for item, row in zip(cli, rows, strict=True):
            assert row.result is not None
            assert item["tokens_per_second"] == pytest.approx(row.result.speed, rel=0.01)
        await pilot.press("escape")

        # The where view: b there probes on every server that has the row's model.
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, WhereScreen))
        where = app.screen
        assert isinstance(where, WhereScreen)
        assert where.table.select_key(next(k for k in where.table.visible_keys if LLAMA in k))
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, ProbeScreen))
        assert "on 3 servers" in app.screen.title_text  # type: ignore[attr-defined]
        await pilot.press("escape", "escape")
        await wait_for(pilot, lambda: app.screen is app.dashboard)

        # The all-servers view: each row its own server's figure; sorted by SPEED.
        await pilot.press("0")
        fleet_table = app.dashboard.installed_table
        assert fleet_table.fleet and fleet_table.speed_shown
        fleet_table.sort_by("speed")
        first = fleet_table.items[fleet_table.visible_keys[0]]
        assert (first.model.name, first.session.label) == (LLAMA, "gpu-box")

        # An embedding-only model: through /api/embed, in embeddings per second.
        await pilot.press("1")
        await put_cursor_on(pilot, app.dashboard.installed_table, "nomic-embed-text:latest")
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, ProbeScreen))
        assert "embeds a fixed text" in str(app.screen.query_one("#probe-note", Static).render())
        await pilot.press("y")
        await wait_for(pilot, lambda: len(probes(app)) == 5 and probes(app)[-1].state.is_final)
        assert probes(app)[-1].params.embedding
        assert workstation.request_count("/api/embed") == 1
        assert speed_of(app.dashboard.installed_table, "nomic-embed-text:latest").endswith("emb/s")
    kept = ProbeStore(saved)
    assert kept.load() is None
    assert len(kept) == 4  # llama3.2 on each server, nomic-embed-text on the workstation


async def test_probe_is_refused_read_only_and_a_running_probe_cancels(sim: Simulator) -> None:
    sim.speed = 10.0  # 64 tokens: over 6 s, so the probe is surely running when cancelled
    app = make_app(sim.url, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.dashboard is not None
        table = app.dashboard.installed_table
        await put_cursor_on(pilot, table, "qwen2.5:0.5b")
        await pilot.press("b")
        await wait_for(pilot, lambda: any("Read-only" in m for m in messages(app)))
        assert not isinstance(app.screen, ProbeScreen) and not probes(app)
        await pilot.press("v")  # only shows: allowed
        assert table.speed_shown

    app = make_app(sim.url)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.dashboard is not None
        table = app.dashboard.installed_table
        await put_cursor_on(pilot, table, "qwen2.5:0.5b")
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, ProbeScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: probes(app) and probes(app)[0].state is JobState.RUNNING)
        await pilot.press("b")  # never a second probe of it stacked
        await wait_for(pilot, lambda: any("already" in m for m in messages(app)))
        assert len(probes(app)) == 1 and not isinstance(app.screen, ProbeScreen)
        await pilot.press("J")
        await wait_for(pilot, lambda: isinstance(app.screen, JobsScreen))
        await pilot.press("x")
        await wait_for(pilot, lambda: probes(app)[0].state is JobState.CANCELLED, timeout=3)
        assert probes(app)[0].result is None and len(app.probes) == 0
        assert speed_of(table, "qwen2.5:0.5b") == ""


def result(speed: float | None, kind: ProbeKind = ProbeKind.GENERATE) -> ProbeResult:
    embed = kind is ProbeKind.EMBED
    return ProbeResult(
        "http://s", "m", "sha256:1", kind, 0.0, 0.0, 99.5,
        None if embed else speed, speed if embed else None,
    )  # fmt: skip


def test_speed_wording() -> None:
    assert speed_cell(None) == ""
    assert speed_cell(result(45.04)) == "45.0 tok/s"
    assert speed_cell(result(1234.4, ProbeKind.EMBED)) == "1234 emb/s"
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert speed_words(None, now).startswith("not probed")
    words = speed_words(result(45.0), now)
    assert "45.0 tok/s generated" in words and "prompt 99.5 tok/s" in words
    assert "load 0 s" in words
