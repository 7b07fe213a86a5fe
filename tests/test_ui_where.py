"""Where is each model (`w`): the matrix over three simulated servers, and jobs naming servers."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import make_app, make_fleet_app, wait_for
from rich.cells import cell_len, set_cell_size
from test_ui_ops import SMALL, notifications, screen_ready
from textual import on
from textual.pilot import Pilot

from ollama_tui.app import OllamaTuiApp
from ollama_tui.jobs import JobState
from ollama_tui.messages import CopyToServersRequested
from ollama_tui.screens.jobs import JobsScreen
from ollama_tui.screens.where import WhereScreen, server_column_cells, server_headers
from ollama_tui.simulator import Fleet, Simulator
from ollama_tui.widgets.job_progress import JobRow, JobsStrip

pytestmark = pytest.mark.simulator_only

NAMES = ("workstation", "gpu-box", "laptop")


class RecordingApp(OllamaTuiApp):
    """The app, keeping the copy requests it gets (the copy dialog is another piece)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.copy_requests: list[CopyToServersRequested] = []

    @on(CopyToServersRequested)
    def _record_copy(self, message: CopyToServersRequested) -> None:
        self.copy_requests.append(message)


def fleet_app(fleet: Fleet, names: tuple[str, ...] = NAMES, **settings: Any) -> RecordingApp:
    app = make_fleet_app(fleet, names, app_class=RecordingApp, **settings)
    assert isinstance(app, RecordingApp)
    return app


async def all_connected(pilot: Pilot[Any], app: OllamaTuiApp) -> None:
    await wait_for(
        pilot,
        lambda: all(s.status.state == "connected" and s.installed for s in app.sessions),
        timeout=5.0,
        what="every server connected with its models",
    )
    await pilot.pause()


async def open_where(pilot: Pilot[Any], app: OllamaTuiApp) -> WhereScreen:
    await all_connected(pilot, app)
    await pilot.press("w")
    screen: WhereScreen = await screen_ready(pilot, app, WhereScreen)
    await wait_for(pilot, lambda: screen.table.row_count > 0, what="matrix rows")
    return screen


def cells(screen: WhereScreen, name: str) -> tuple[str, ...]:
    row = next(r for r in screen.table.items.values() if r.name == name)
    return tuple(cell.value for cell in row.cells)


def shown_columns(screen: WhereScreen) -> list[str]:
    table = screen.table
    return [table.columns[index].label for index, _x, _w in table._current_layout()]


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
async def test_the_matrix_shows_same_diverged_and_absent(
    fleet: Fleet, size: tuple[int, int]
) -> None:
    app = fleet_app(fleet)
    async with app.run_test(size=size) as pilot:
        screen = await open_where(pilot, app)
        # llama3.2:latest: one digest on workstation, another on gpu-box; a tie goes left.
        assert cells(screen, "llama3.2:latest") == ("✓", "≠", "")
        assert cells(screen, "qwen2.5:0.5b") == ("✓", "", "✓")
        assert cells(screen, "nomic-embed-text:latest") == ("✓", "✓", "")
        assert cells(screen, "phi3:mini") == ("", "", "✓")
        names = {r.name for r in screen.table.items.values()}
        assert len(names) == 4 + 5 + 3 - 3  # three names are on two servers
        title = str(screen.query_one("#where-title").render())
        assert "9 models on 3 servers, 1 diverged" in title
        # Every server's column is on screen, named whole, with room for the names.
        assert shown_columns(screen) == ["MODEL", *NAMES]
        assert screen.table._total_width <= screen.table.scrollable_content_region.width
        legend = screen.query_one("#where-legend")
        assert legend.region.height >= 1 and legend.region.bottom <= size[1]
        assert "most servers" in str(legend.render())
        assert screen.table.region.height >= 8
        # The rendered row: the marks are on screen, under their servers.
        key = next(k for k, r in screen.table.items.items() if r.name == "llama3.2:latest")
        row = screen.table.visible_keys.index(key)
        line = screen.table.render_line(row + 1).text
        assert "llama3.2:latest" in line and "✓" in line and "≠" in line
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, WhereScreen))


async def test_filter_narrows_the_rows_and_esc_clears_then_closes(fleet: Fleet) -> None:
    app = fleet_app(fleet)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_where(pilot, app)
        await pilot.press("slash")
        await pilot.press(*"qwen")
        await wait_for(pilot, lambda: screen.table.row_count == 2)
        shown = {screen.table.items[k].name for k in screen.table.visible_keys}
        assert shown == {"qwen2.5:0.5b", "qwen2.5:7b"}
        assert "2/9 models" in str(screen.query_one("#where-title").render())
        await pilot.press("enter")  # keep the filter, back to the table
        await wait_for(pilot, lambda: screen.table.has_focus)
        await pilot.press("escape")  # first the filter
        await wait_for(pilot, lambda: screen.table.row_count == 9)
        assert isinstance(app.screen, WhereScreen)
        await pilot.press("escape")  # then the screen
        await wait_for(pilot, lambda: not isinstance(app.screen, WhereScreen))


async def test_the_matrix_follows_the_polls(fleet: Fleet) -> None:
    app = fleet_app(fleet)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_where(pilot, app)
        assert cells(screen, "mistral:7b") == ("", "✓", "")
        mistral = next(m for m in app.sessions[1].installed if m.name == "mistral:7b")
        # The laptop gets the same mistral (as a copy would), the workstation another one.
        fleet.simulators[2].add_model("mistral:7b", like="mistral:7b", digest=mistral.digest)
        fleet.simulators[0].add_model("mistral:7b", like="mistral:7b", digest="c" * 64)
        fleet.simulators[0].add_model("brand-new:latest", like="mistral:7b")
        for session in app.sessions:
            app.request_refresh(session)
        await wait_for(
            pilot,
            lambda: cells(screen, "mistral:7b") == ("≠", "✓", "✓"),
            what=lambda: f"mistral on all three, {cells(screen, 'mistral:7b')}",
        )
        assert cells(screen, "brand-new:latest") == ("✓", "", "")
        # A real pull on the laptop: its job ends, the app polls the laptop, the row appears.
        assert all(r.name != SMALL for r in screen.table.items.values())
        job = app.jobs.submit_pull(SMALL, server=app.sessions[2])
        await wait_for(pilot, lambda: job.state is JobState.DONE, timeout=20)
        await wait_for(
            pilot,
            lambda: any(r.name == SMALL for r in screen.table.items.values()),
            what="the pulled model in the matrix",
        )
        assert cells(screen, SMALL) == ("", "", "✓")
        # A removal too: the row goes when no server has the name any more.
        fleet.simulators[2].remove_model("phi3:mini")
        app.request_refresh(app.sessions[2])
        await wait_for(
            pilot, lambda: all(r.name != "phi3:mini" for r in screen.table.items.values())
        )


async def test_copy_asks_for_the_servers_that_lack_the_reference(fleet: Fleet) -> None:
    app = fleet_app(fleet)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_where(pilot, app)
        workstation, gpu_box, laptop = app.sessions
        key = next(k for k, r in screen.table.items.items() if r.name == "llama3.2:latest")
        screen.table.move_cursor_to(screen.table.visible_keys.index(key))
        await pilot.press("C")
        await wait_for(pilot, lambda: bool(app.copy_requests))
        request = app.copy_requests[-1]
        # The source holds the reference digest; gpu-box's copy differs, laptop has none.
        assert request.session is workstation
        assert request.model.name == "llama3.2:latest"
        assert request.model.digest == next(
            m.digest for m in workstation.installed if m.name == "llama3.2:latest"
        )
        assert request.targets == (gpu_box, laptop)
        # The app opens the copy dialog for it: closed, the matrix takes keys again.
        await wait_for(pilot, lambda: app.screen is not screen, what="the copy dialog")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, what="back to the matrix")
        # A model only on the laptop: from the laptop to the other two (enter does it too).
        key = next(k for k, r in screen.table.items.items() if r.name == "phi3:mini")
        screen.table.move_cursor_to(screen.table.visible_keys.index(key))
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(app.copy_requests) == 2)
        assert app.copy_requests[-1].session is laptop
        assert app.copy_requests[-1].targets == (workstation, gpu_box)


async def test_copy_of_a_model_everywhere_asks_nothing(fleet: Fleet) -> None:
    app = fleet_app(fleet)
    async with app.run_test(size=(80, 24)) as pilot:
        await all_connected(pilot, app)
        digest = next(m.digest for m in app.sessions[0].installed if m.name == "gemma3:1b")
        for sim in fleet.simulators[1:]:
            sim.add_model("gemma3:1b", like="gemma3:1b", digest=digest)
        for session in app.sessions[1:]:
            app.request_refresh(session)
        screen = await open_where(pilot, app)
        await wait_for(pilot, lambda: cells(screen, "gemma3:1b") == ("✓", "✓", "✓"))
        key = next(k for k, r in screen.table.items.items() if r.name == "gemma3:1b")
        screen.table.move_cursor_to(screen.table.visible_keys.index(key))
        await pilot.press("C")
        await wait_for(pilot, lambda: any("same on every server" in n for n in notifications(app)))
        assert app.copy_requests == []


async def test_read_only_copies_nothing(fleet: Fleet) -> None:
    app = fleet_app(fleet, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_where(pilot, app)
        await pilot.press("C")
        await wait_for(pilot, lambda: any("Read-only" in n for n in notifications(app)))
        assert app.copy_requests == []
        assert screen.table.row_count == 9


async def test_ten_servers_keep_every_column_usable() -> None:
    fleet = Fleet(10)
    await fleet.start("127.0.0.1", 0)
    try:
        names = tuple(f"a-rather-long-server-name-{n}" for n in range(10))
        app = fleet_app(fleet, names)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_where(pilot, app)
            columns = shown_columns(screen)
            assert len(columns) == 11  # no server's column dropped
            # The names share their start: cut short they would all read "a-…"; numbered.
            assert columns[1:] == [str(n) for n in range(1, 11)]
            # Fits, or scrolls sideways: never wider than one screen and a half.
            assert screen.table._total_width <= 80 * 1.5
            assert cell_len(next(iter(screen.table.items.values())).name) > 0
            note = str(screen.query_one("#where-servers").render())
            assert f"1:{names[0]}" in note and f"10:{names[-1]}" in note
            assert screen.table.region.height >= 5
    finally:
        await fleet.stop()


async def test_hostile_server_names_stay_literal() -> None:
    fleet = Fleet(2)
    await fleet.start("127.0.0.1", 0)
    try:
        names = ("[bold red]x[/]", "esc\x1b[2Jape")
        app = fleet_app(fleet, names)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_where(pilot, app)
            # Shown as written (no markup read), the escape character as visible text.
            assert shown_columns(screen)[1:] == ["[bold red]x[/]", "esc\\x1b[2Jape"]
            header = screen.table.render_line(0).text
            assert "[bold red]x[/]" in header and "\x1b" not in header
    finally:
        await fleet.stop()


async def test_w_needs_several_servers(sim: Simulator) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.poll_count > 0 and bool(app.installed))
        await pilot.press("w")
        await pilot.pause()
        assert not isinstance(app.screen, WhereScreen)
        assert app.dashboard is not None
        assert "where" not in {b.binding.id for b in app.dashboard.active_bindings.values()}


# --- jobs name their server -------------------------------------------------------------------


async def test_jobs_view_strip_and_toast_name_the_server(fleet: Fleet) -> None:
    app = fleet_app(fleet)
    async with app.run_test(size=(80, 24)) as pilot:
        await all_connected(pilot, app)
        fleet.simulators[1].bandwidth = 5e6  # slow enough to watch
        job = app.jobs.submit_pull(SMALL, server=app.sessions[1])
        strip = app.screen.query_one(JobsStrip)

        def line() -> str:
            return "".join(str(line.render()) for line in strip.query(".jobs-strip-line"))

        # A line with every part: the server, the bar, percent, sizes, rate and ETA.
        await wait_for(pilot, lambda: "@gpu-box" in line() and "ETA" in line(), what=line)
        # At 80 columns (78 inside the strip) the server, percent, sizes and rate are on the
        # line; it is no longer than the same line with one server (the bar gives way).
        shown = set_cell_size(line(), 78)
        assert all(part in shown for part in ("@gpu-box", "%", " / ", "MB/s")), shown
        assert JobsStrip._compact(job, "gpu-box").cell_len <= JobsStrip._compact(job).cell_len
        await pilot.press("J")
        screen = await screen_ready(pilot, app, JobsScreen)
        row = screen.query_one(JobRow)
        assert "@gpu-box" in str(row.query_one("#job-title").render())
        fleet.simulators[1].bandwidth = 2e9
        await wait_for(pilot, lambda: job.state is JobState.DONE, timeout=20)
        await wait_for(
            pilot, lambda: any(f"pull {SMALL} on gpu-box: done" in n for n in notifications(app))
        )


async def test_one_server_jobs_name_no_server(sim: Simulator) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.poll_count > 0 and bool(app.installed))
        assert not app.jobs.show_servers
        job = app.jobs.submit_pull(SMALL, server=app.session)
        await wait_for(pilot, lambda: job.state is JobState.DONE, timeout=20)
        await wait_for(pilot, lambda: any(f"pull {SMALL}: done" in n for n in notifications(app)))
        await pilot.press("J")
        screen = await screen_ready(pilot, app, JobsScreen)
        assert "@" not in str(screen.query_one(JobRow).query_one("#job-title").render())


def test_server_headers_whole_cut_or_numbered() -> None:
    assert server_headers(["workstation", "gpu-box", "laptop"]) == (
        ["workstation", "gpu-box", "laptop"],
        False,
    )
    # Five long names: cut, still readable and apart.
    headers, note = server_headers(
        [f"{word}-machine" for word in ["alpha", "beta", "gamma", "delta", "eps"]]
    )
    assert note and all(h.endswith("…") for h in headers) and len(set(headers)) == 5
    assert all(cell_len(h) <= server_column_cells(5) for h in headers)
    # Cut names that would look alike are numbered instead.
    headers, note = server_headers([f"build-host-{n}" for n in range(4)])
    assert (headers, note) == (["1", "2", "3", "4"], True)
    # Hostile names are escaped before they are measured or cut.
    headers, _ = server_headers(["a\x1b", "b\x1b"])
    assert all("\x1b" not in h for h in headers)


async def test_thousands_of_names_scroll_and_unchanged_polls_rebuild_nothing() -> None:
    fleet = Fleet(3, models=1500)
    await fleet.start("127.0.0.1", 0)
    try:
        app = fleet_app(fleet)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_where(pilot, app)
            await wait_for(pilot, lambda: screen.table.row_count > 1500, timeout=10)
            total = screen.table.row_count
            await pilot.press("end")
            await wait_for(pilot, lambda: screen.table.cursor_row == total - 1)
            assert screen.table.scroll_y > 0
            # A poll that changes nothing: no rebuild, nothing re-rendered.
            rebuilds, rendered = screen.rebuild_count, screen.table.render_count
            polls = app.poll_count
            for session in app.sessions:
                app.request_refresh(session)
            await wait_for(pilot, lambda: app.poll_count >= polls + 3)
            await pilot.pause()
            assert screen.rebuild_count == rebuilds
            assert screen.table.render_count == rendered
            # Filtering thousands of rows as you type.
            await pilot.press("slash", *"llama")
            await wait_for(pilot, lambda: 0 < screen.table.row_count < total)
    finally:
        await fleet.stop()


async def test_help_lists_the_where_keys(fleet: Fleet) -> None:
    from ollama_tui.screens.help import HelpScreen

    app = fleet_app(fleet)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_where(pilot, app)
        await pilot.press("question_mark")
        help_screen = await screen_ready(pilot, app, HelpScreen)
        text = " ".join(entry[2] for entry in help_screen.entries)
        assert "Copy to the servers without it" in text and "Filter" in text
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, WhereScreen))


async def test_small_and_resized_terminals(fleet: Fleet) -> None:
    app = fleet_app(fleet)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_where(pilot, app)
        for size in ((50, 12), (30, 8), (120, 40), (80, 24)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
        assert app.screen is screen and screen.table.row_count == 9
        assert screen.table.region.height >= 8


async def test_copy_from_the_matrix_opens_the_copy_dialog(fleet: Fleet) -> None:
    from ollama_tui.screens.copy_servers import CopyToServersScreen

    # The workstation's simulator stands in for the registry (nothing leaves the machine).
    registry = {"registry.ollama.ai": fleet.simulators[0].url}
    app = fleet_app(fleet, registry_urls=registry)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_where(pilot, app)
        key = next(k for k, r in screen.table.items.items() if r.name == "llama3.2:latest")
        screen.table.move_cursor_to(screen.table.visible_keys.index(key))
        await pilot.press("C")
        dialog = await screen_ready(pilot, app, CopyToServersScreen)
        assert dialog.source == "workstation"
        assert [label for label, _plan in dialog.rows] == ["gpu-box", "laptop"]
        # The servers without the reference copy are the ones checked.
        actionable = {i for i, (_label, plan) in enumerate(dialog.rows) if plan.actionable}
        assert dialog.checked == actionable and 1 in actionable
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
