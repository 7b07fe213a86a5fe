"""The live dashboard against the simulator: tables, polling, filter/sort, keys, failures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import make_app, wait_for
from textual.pilot import Pilot
from textual.strip import Strip

from ollama_tui.api import ServerUnreachable
from ollama_tui.app import MAX_BACKOFF, OllamaTuiApp
from ollama_tui.screens.dashboard import DashboardScreen
from ollama_tui.screens.help import HelpScreen
from ollama_tui.simulator import Simulator
from ollama_tui.widgets.model_table import VirtualTable

pytestmark = pytest.mark.simulator_only


async def poll(pilot: Pilot[Any], app: OllamaTuiApp) -> None:
    """One complete poll that started after this call."""
    await wait_for(pilot, lambda: not app.polling)
    count = app.poll_count
    app.request_refresh()
    await wait_for(pilot, lambda: app.poll_count > count)
    await pilot.pause()


def dashboard(app: OllamaTuiApp) -> DashboardScreen:
    assert app.dashboard is not None
    return app.dashboard


def names(table: VirtualTable[Any, Any]) -> list[str]:
    return [key[0] for key in table.visible_keys]


def screen_text(table: VirtualTable[Any, Any]) -> str:
    return "\n".join(table.render_line(y).text for y in range(table.size.height))


async def started(pilot: Pilot[Any], app: OllamaTuiApp) -> None:
    await wait_for(pilot, lambda: app.poll_count > 0 and app.installed)
    await pilot.pause()


async def test_tables_show_running_and_installed_models(sim: Simulator) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=(160, 45)) as pilot:
        await started(pilot, app)
        board = dashboard(app)
        assert "llama3.2:latest" in names(board.running_table)
        assert "mistral:7b" in names(board.installed_table)
        running = screen_text(board.running_table)
        assert "100% GPU" in running and "from now" in running and "4096" in running
        installed = screen_text(board.installed_table)
        loaded_line = next(line for line in installed.splitlines() if "llama3.2:latest" in line)
        assert "●" in loaded_line  # joined on digest with /api/ps
        cloud_line = next(line for line in installed.splitlines() if "cloud" in line)
        assert " – " in cloud_line  # remote stub: no size (unknown reads "–", issue #9)
        assert "4.1 GB" in installed and "ago" in installed
        box = board.query_one("#installed-box")
        assert str(box.border_title) == f"Installed ({len(app.installed)})"
        assert "on disk" in str(box.border_subtitle)
        assert "VRAM" in str(board.query_one("#running-box").border_subtitle)
        assert app.status.state == "connected" and app.status.version


async def test_cursor_stays_on_model_across_poll_that_adds_and_removes(sim: Simulator) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        table = dashboard(app).installed_table
        assert table.select_key(next(k for k in table.visible_keys if k[0] == "mistral:7b"))
        sim.add_model("aaa-first:latest")
        sim.add_model("aab-second:latest")
        sim.remove_model("deepseek-r1:1.5b")
        await poll(pilot, app)
        assert "aaa-first:latest" in names(table)
        assert "deepseek-r1:1.5b" not in names(table)
        assert table.cursor_key is not None and table.cursor_key[0] == "mistral:7b"


async def test_cursor_moves_to_neighbour_when_its_model_disappears(sim: Simulator) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        table = dashboard(app).installed_table
        order = names(table)
        index = order.index("mistral:7b")
        table.select_key(table.visible_keys[index])
        sim.remove_model("mistral:7b")
        await poll(pilot, app)
        assert table.cursor_key is not None
        assert table.cursor_key[0] == order[index + 1]


async def test_unchanged_poll_does_not_rerender(sim: Simulator) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        table = dashboard(app).installed_table
        await pilot.pause()
        before = table.render_count
        widths = table._current_layout()
        await poll(pilot, app)
        await poll(pilot, app)
        assert table.render_count == before
        assert table._current_layout() == widths


async def test_poll_that_changes_one_row_repaints_only_that_row(sim: Simulator) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        table = dashboard(app).installed_table
        await pilot.pause()
        order = names(table)
        name = order[len(order) // 2]
        before = table.render_count
        painted: list[int] = []
        render_line = table.render_line

        def counting_render_line(y: int) -> Strip:
            painted.append(y)
            return render_line(y)

        table.render_line = counting_render_line  # type: ignore[method-assign]
        sim.add_model(name, like=name, modified_at=datetime.now(UTC))  # pulled again just now
        await poll(pilot, app)
        assert names(table) == order
        assert table.render_count == before + 1
        assert len(set(painted)) == 1, painted  # not the whole table
        row = order.index(name) + 1 - round(table.scroll_y)
        assert "now" in table.render_line(row).text


async def test_filter_and_sort_survive_polls(sim: Simulator) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        board = dashboard(app)
        table = board.installed_table
        await pilot.press("slash", "l", "l", "a", "m", "a")
        await pilot.press("enter")
        assert app.focused is table
        shown = [table.items[k] for k in table.visible_keys]
        assert shown and all("llama" in (m.name + m.details.family).lower() for m in shown)
        assert len(shown) < len(table.items)
        await pilot.press("s")  # next column: ID
        assert table.sort_column == "id"
        await pilot.press("s")  # SIZE: largest first
        await pilot.press("S")
        assert (table.sort_column, table.sort_reverse) == ("size", False)
        sizes = [table.items[k].size for k in table.visible_keys]
        assert sizes == sorted(sizes)
        sim.add_model("zz-llama-new:latest", size=1)
        sim.add_model("other:latest", family="phi3")
        await poll(pilot, app)
        assert names(table)[0] == "zz-llama-new:latest"
        assert "other:latest" not in names(table)
        assert "SIZE ▲" in table.render_line(0).text
        assert "filter: llama" in str(board.query_one("#installed-box").border_subtitle)
        await pilot.press("escape")
        assert "other:latest" in names(table)


async def test_filter_matches_family_and_quantization(sim: Simulator) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        table = dashboard(app).installed_table
        table.set_filter("nomic-bert")
        assert names(table) == ["nomic-embed-text:latest"]
        table.set_filter("F16")
        assert names(table) == ["nomic-embed-text:latest"]
        table.set_filter("no such thing")
        assert names(table) == []
        assert "No match" in table.render_line(1).text


async def test_keys_move_mark_and_switch_tables(sim: Simulator) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        board = dashboard(app)
        table = board.installed_table
        assert app.focused is table
        await pilot.press("j", "down")
        assert table.cursor_row == 2
        await pilot.press("k")
        assert table.cursor_row == 1
        await pilot.press("G")
        assert table.cursor_row == table.row_count - 1
        await pilot.press("g")
        assert table.cursor_row == 0
        await pilot.press("space", "space")
        assert len(table.marked) == 2 and table.cursor_row == 2
        await pilot.press("tab")
        assert app.focused is board.running_table
        await pilot.press("tab")
        assert app.focused is table


async def test_mouse_click_selects_row_and_sorts_by_header(sim: Simulator) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        table = dashboard(app).installed_table
        await pilot.click(table, offset=(5, 3))
        assert table.cursor_row == 2
        size_x = next(x for i, x, _w in table._current_layout() if table.columns[i].key == "size")
        await pilot.click(table, offset=(size_x + 1, 0))
        assert table.sort_column == "size" and table.sort_reverse  # biggest first
        await pilot.click(table, offset=(size_x + 1, 0))
        assert not table.sort_reverse


async def test_unreachable_at_start_then_server_appears(unused_port: int) -> None:
    url = f"http://127.0.0.1:{unused_port}"
    app = make_app(url)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.status.state == "unreachable")
        status = dashboard(app).status_bar.render().plain
        assert "unreachable" in status and "retrying in" in status
        async with Simulator() as simulator:
            await simulator.stop()
            await simulator.start("127.0.0.1", unused_port)
            await pilot.press("r")
            await wait_for(pilot, lambda: app.status.state == "connected")
            assert app.installed
        assert app.is_running


async def test_server_goes_away_and_comes_back(sim: Simulator) -> None:
    port = int(sim.url.rsplit(":", 1)[1])
    app = make_app(sim.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        count = len(app.installed)
        await sim.stop()
        await poll(pilot, app)
        assert app.status.state == "unreachable"
        assert app.status.retry_at is not None
        assert len(dashboard(app).installed_table.items) == count  # last data stays
        await sim.start("127.0.0.1", port)
        await poll(pilot, app)
        assert app.status.state == "connected"
        assert "connected" in dashboard(app).status_bar.render().plain


async def test_backoff_doubles_up_to_thirty_seconds(sim: Simulator) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        delays = [
            app._poll_failed(app.session, ServerUnreachable("connection refused")) for _ in range(8)
        ]
        assert delays == [1, 2, 4, 8, 16, MAX_BACKOFF, MAX_BACKOFF, MAX_BACKOFF]


async def test_slow_server_never_stacks_polls(sim: Simulator) -> None:
    app = make_app(sim.url, interval=0.2)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        sim.faults.add("/api/tags", "delay", seconds=0.6)
        before = sim.request_count("/api/tags")
        for _ in range(5):
            app.request_refresh()  # impatient user: still one request at a time
        await pilot.pause(1.5)
        assert sim.request_count("/api/tags") - before <= 3
        assert app.is_running


async def test_server_errors_are_shown_not_raised(sim: Simulator) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        for kind in ("malformed_json", "not_json", "status", "refuse"):
            sim.faults.add("/api/tags", kind, count=1)
            await poll(pilot, app)
            assert app.status.state in ("error", "unreachable"), kind
            assert app.status.reason
        await poll(pilot, app)
        assert app.status.state == "connected"
        assert app.is_running


async def test_pause_stops_polling_and_resume_polls(sim: Simulator) -> None:
    app = make_app(sim.url, interval=0.2)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        await pilot.press("z")
        await wait_for(pilot, lambda: not app.polling)
        count = app.poll_count
        await pilot.pause(0.6)
        assert app.poll_count == count
        assert "PAUSED" in dashboard(app).status_bar.render().plain
        await pilot.press("z")
        await wait_for(pilot, lambda: app.poll_count > count)


async def test_hostile_server_strings_are_shown_literally(sim: Simulator) -> None:
    sim.add_model(
        "evil:latest",
        family="[bold red]x",
        quantization_level="[/foo]",
        parameter_size="\x1b[31m7B",
        license="[link=http://x]click[/link] \x1b]0;title\x07",
    )
    app = make_app(sim.url)
    async with app.run_test(size=(160, 45)) as pilot:
        await started(pilot, app)
        table = dashboard(app).installed_table
        line = next(
            table.render_line(y).text
            for y in range(1, table.row_count + 1)
            if "evil:latest" in table.render_line(y).text
        )
        assert "[bold red]x" in line
        assert "[/foo]" in line
        assert "\x1b" not in line and "\\x1b[31m" in line
        table.set_filter("[/foo]")
        assert names(table) == ["evil:latest"]


async def test_read_only_hides_and_refuses_operations(sim: Simulator) -> None:
    app = make_app(sim.url, read_only=True)
    calls: list[str] = []
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        dashboard(app).operations = _Recorder(calls)  # type: ignore[assignment]
        keys = {b.binding.action for b in app.screen.active_bindings.values()}
        assert not keys & {"pull", "delete", "load", "unload", "copy"}
        await pilot.press("p", "d", "l", "c", "R", "n")
        assert calls == []
        assert "READ-ONLY" in dashboard(app).status_bar.render().plain
        assert app.operations_or_notify() is None


class _Recorder:
    """Stands in for the app's Operations and records what the keys asked for."""

    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def __getattr__(self, name: str) -> Callable[..., None]:
        def record(*args: Any) -> None:
            self.calls.append(f"{name}{[_shown(a) for a in args]}")

        return record


def _shown(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if hasattr(value, "name"):
        return value.name
    return [_shown(v) for v in value]


async def test_operation_keys_call_operations_with_the_right_models(sim: Simulator) -> None:
    app = make_app(sim.url)
    calls: list[str] = []
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        dashboard(app).operations = _Recorder(calls)  # type: ignore[assignment]
        board = dashboard(app)
        table = board.installed_table
        table.select_key(next(k for k in table.visible_keys if k[0] == "mistral:7b"))
        await pilot.pause()
        await pilot.press("c", "R", "P", "l", "d", "n", "J")
        assert calls == [
            "copy['mistral:7b']",
            "rename['mistral:7b']",
            "push['mistral:7b']",
            "load['mistral:7b']",
            "delete[['mistral:7b']]",
            "create['mistral:7b']",
            "show_jobs[]",
        ]
        calls.clear()
        await pilot.press("u")  # not on the running table: nothing
        assert calls == []
        await pilot.press("space")  # mark mistral, cursor moves on
        await pilot.press("space")
        await pilot.press("d")
        assert calls == ["delete[['mistral:7b', 'nomic-embed-text:latest']]"]
        calls.clear()
        await pilot.press("tab", "u", "U")
        assert calls == ["unload['llama3.2:latest']", "unload_all[]"]


async def test_footer_shows_only_keys_that_apply(sim: Simulator) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)

        def actions() -> set[str]:
            return {b.binding.action for b in app.screen.active_bindings.values()}

        assert {"pull", "delete", "copy"} <= actions()
        assert "unload" not in actions()
        await pilot.press("tab")
        assert "unload" in actions()
        assert "copy" not in actions()
        assert "clear_filter" not in actions()


async def test_help_overlay_is_generated_from_live_bindings(sim: Simulator) -> None:
    app = make_app(sim.url, keymap={"filter": "f"})
    async with app.run_test(size=(100, 40)) as pilot:
        await started(pilot, app)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        entries = {(e[0], e[2]): e[1] for e in help_screen.entries}
        assert entries[("Dashboard", "Filter")] == "f"  # the user's keymap, not the default
        assert entries[("Installed models", "Sort")] == "s"
        assert ("Dashboard", "Unload") not in entries  # does not apply on this table
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await pilot.press("f")
        assert dashboard(app).filter_bar.is_open


async def test_command_palette_runs_dashboard_actions(sim: Simulator) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Filter")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: dashboard(app).filter_bar.is_open)


async def test_quit_with_running_jobs_asks_first(sim: Simulator) -> None:
    sim.faults.add("/api/pull", "hang")
    app = make_app(sim.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        app.jobs.submit_pull("gemma3:1b")
        await wait_for(pilot, lambda: app.jobs.active)
        await pilot.press("q")
        await wait_for(pilot, lambda: not isinstance(app.screen, DashboardScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        assert app.is_running
        await pilot.press("q")
        await wait_for(pilot, lambda: not isinstance(app.screen, DashboardScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.is_running)


async def test_quit_without_jobs_exits_at_once(sim: Simulator) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running)


async def test_theme_choice_is_written_to_the_config(sim: Simulator, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('# mine\ninterval = 5\n\n[keymap]\nfilter = "f"\n')
    app = make_app(sim.url, config_path=config, theme="nord")
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        assert app.theme == "nord"
        assert "theme" not in config.read_text()  # the start-up theme is not a choice
        app.theme = "gruvbox"
        await wait_for(pilot, lambda: "gruvbox" in config.read_text())
    assert config.read_text() == (
        '# mine\ntheme = "gruvbox"\ninterval = 5\n\n[keymap]\nfilter = "f"\n'
    )


async def test_narrow_terminal_keeps_names_and_drops_minor_columns(sim: Simulator) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        table = dashboard(app).installed_table
        shown = [table.columns[i].key for i, _x, _w in table._current_layout()]
        assert shown[0] == "name" and "size" in shown and "modified" in shown
        assert "caps" not in shown
        header = table.render_line(0).text
        assert len(header.rstrip()) <= table.size.width
        assert "mistral:7b" in screen_text(table)
    app = make_app(sim.url)
    async with app.run_test(size=(200, 50)) as pilot:
        await started(pilot, app)
        table = dashboard(app).installed_table
        shown = [table.columns[i].key for i, _x, _w in table._current_layout()]
        assert {"id", "family", "params", "quant"} <= set(shown)


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_short_terminal_drops_the_table_borders(sim: Simulator) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=(80, 14)) as pilot:
        await started(pilot, app)
        board = dashboard(app)
        assert board.has_class("-short")
        table = board.installed_table
        assert table.size.height >= 8  # rows, not borders
        assert "mistral:7b" in screen_text(table)


async def test_filter_text_with_markup_is_shown_literally(sim: Simulator) -> None:
    app = make_app(sim.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        await pilot.press("slash", *"[b]x", "enter")
        box = dashboard(app).query_one("#installed-box")
        assert box._border_subtitle is not None
        assert "filter: [b]x" in box._border_subtitle.plain
        assert app.is_running


async def test_rows_added_above_do_not_move_the_cursor_on_screen(sim: Simulator) -> None:
    for index in range(40):
        sim.add_model(f"m-{index:02d}:latest")
    app = make_app(sim.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        table = dashboard(app).installed_table
        table.select_key(next(k for k in table.visible_keys if k[0] == "m-30:latest"))
        await pilot.pause()
        screen_row = table.cursor_row - round(table.scroll_y)  # type: ignore[operator]
        assert round(table.scroll_y) > 0
        for index in range(3):
            sim.add_model(f"a-{index}:latest")  # sort above everything
        await poll(pilot, app)
        assert table.cursor_key is not None and table.cursor_key[0] == "m-30:latest"
        assert table.cursor_row - round(table.scroll_y) == screen_row  # type: ignore[operator]


async def test_help_never_cuts_a_key_when_two_columns_do_not_fit(sim: Simulator) -> None:
    """Two columns of help wider than the terminal had Rich cut the keys ("pg…", "sp…"): one
    column (which scrolls) instead, every key whole."""
    app = make_app(sim.url)
    async with app.run_test(size=(112, 36)) as pilot:
        await started(pilot, app)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause()
        strips = app.screen._compositor.render_strips()
        text = "\n".join("".join(segment.text for segment in strip) for strip in strips)
        for key in ("pgup", "space", "home, g", "LAST USED"):
            assert key in text, text


def test_cell_width_is_richs_count_for_every_kind_of_text() -> None:
    """The fast count (printable ASCII) agrees with Rich's everywhere."""
    from rich.cells import cell_len

    from ollama_tui.widgets.model_table import cell_width

    texts = ["llama3.2:latest", "", " 4.7 GB", "a\tb", "\x1b[31m", "\x7f", "é", "漢字", "🦙 x"]
    assert [cell_width(t) for t in texts] == [cell_len(t) for t in texts]
