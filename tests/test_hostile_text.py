"""Hostile server text: markup-like strings and terminal escapes in every field, everywhere.

The simulator serves a model whose name, family, quantization, parameter size, template, system
prompt, license, parameters and capabilities are markup (`[/foo]`, `[bold red]x`,
`[link=http://x]y[/link]`, `[@click=app.quit]z[/]`) and terminal control sequences (`ESC[31m`,
`ESC]0;title BEL`, CR, BS); error messages are the same. Every view must show the text literally
(control characters made visible), never crash on it, never style or link it, and never let a
raw control byte reach the terminal. Checks read the rendered screen (the compositor's strips),
so they see what a user sees.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import make_app, wait_for
from rich.segment import Segment
from textual.pilot import Pilot
from textual.strip import Strip
from textual.widgets import Input

from ollama_tui.api import LocalModel
from ollama_tui.app import OllamaTuiApp
from ollama_tui.jobs import JobState
from ollama_tui.screens.create import CreateScreen
from ollama_tui.screens.delete import DeleteScreen
from ollama_tui.screens.details import DetailsScreen
from ollama_tui.screens.jobs import JobsScreen
from ollama_tui.simulator import Simulator

pytestmark = pytest.mark.simulator_only

ESC, BEL, CR, BS = "\x1b", "\x07", "\r", "\x08"
CLICK = "[@click=app.quit]z[/]"
LINK = "[link=http://x]y[/link]"
CLOSE = "[/foo]"
STYLE = "[bold red]x"
SGR = ESC + "[31m"  # red foreground
OSC = ESC + "]0;title" + BEL  # set the terminal's title

NAME = f"{CLICK}{OSC}{CR}{BS}:latest"  # only in lists: no valid name holds markup
VALID = "hostile:latest"  # a valid name with every other field hostile (details, editor)
FAMILY = STYLE
QUANT = CLOSE
PARAMS = "[/]"
TEMPLATE = f"T {LINK} {SGR}red"
SYSTEM = f"S {CLICK} {CR}{BS}back"
LICENSE = f"L {CLOSE} {OSC}"
STOP = f"{CLOSE}{SGR}"
CAPABILITY = "[b]cap"
ERROR = f"E {STYLE} {CLOSE} {CLICK} {LINK} {SGR}{OSC}{CR}{BS}"

# What each must look like on screen: the markup verbatim; escapes visible, never raw.
MARKUP = (CLICK, LINK, CLOSE, STYLE)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Invisible or line-breaking, never to be drawn: zero-width, bidi, separators, BOM, soft hyphen.
ZERO_WIDTH = "\u200b\u200d\u2028\u202e\u2066\ufeff\u00ad\u180e\u2060"
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u180e\u200b-\u200f\u2028-\u202e"
    "\u2060-\u2064\u2066-\u2069\ufeff\ud800-\udfff]"
)

SIZE = (200, 50)
FROZEN = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def add_hostile_models(sim: Simulator) -> None:
    for name in (NAME, VALID):
        sim.add_model(
            name,
            family=FAMILY,
            parameter_size=PARAMS,
            quantization_level=QUANT,
            template=TEMPLATE,
            system=SYSTEM,
            license=LICENSE,
            parameters={"stop": STOP},
            capabilities=["completion", CAPABILITY],
            modified_at=FROZEN,
        )


@pytest.fixture
async def hostile_sim() -> AsyncIterator[Simulator]:
    simulator = Simulator(initial=False, bandwidth=2e9, progress_interval=0.005)
    await simulator.start("127.0.0.1", 0)
    add_hostile_models(simulator)
    simulator.add_model("plain:latest", like="qwen2.5:0.5b", modified_at=FROZEN)
    try:
        yield simulator
    finally:
        await simulator.stop()


async def started(pilot: Pilot[Any], app: OllamaTuiApp) -> None:
    await wait_for(pilot, lambda: app.status.state == "connected" and len(app.installed) == 3)
    await pilot.pause()


def hostile(app: OllamaTuiApp, name: str = NAME) -> LocalModel:
    return next(m for m in app.installed if m.name == name)


# --- reading the screen ----------------------------------------------------------------------


def rendered(app: OllamaTuiApp) -> list[Strip]:
    """What the terminal gets for the screen on top (toasts included)."""
    return app.screen._compositor.render_strips()


def screen_text(app: OllamaTuiApp) -> str:
    return "\n".join("".join(s.text for s in strip) for strip in rendered(app))


def assert_safe_output(app: OllamaTuiApp) -> str:
    """No control byte, no link and no click action from server text; returns the text."""
    for strip in rendered(app):
        segment: Segment
        for segment in strip:
            assert not _INVISIBLE.search(segment.text), f"raw control or invisible {segment.text!r}"
            style = segment.style
            if style is None:
                continue
            assert style.link != "http://x", f"server text became a link: {segment.text!r}"
            meta = style.meta or {}
            assert "app.quit" not in str(meta.get("@click", "")), "server text is clickable"
    for notification in app._notifications:
        for shown in (notification.title, notification.message):
            assert not _INVISIBLE.search(shown), f"raw control or invisible in a toast {shown!r}"
    for owner in (app, app.screen):
        for shown in (owner.title, owner.sub_title):
            assert not _INVISIBLE.search(shown or ""), f"raw control in a title {shown!r}"
    app.export_screenshot()  # the whole export path copes with it too
    return screen_text(app)


def assert_literal(text: str, *pieces: str) -> None:
    for piece in pieces:
        assert piece in text, f"{piece!r} is not shown literally"


# --- views ------------------------------------------------------------------------------------


async def test_dashboard_tables(hostile_sim: Simulator) -> None:
    hostile_sim.load_model(NAME, keep_alive=-1)
    app = make_app(hostile_sim.url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await started(pilot, app)
        await wait_for(pilot, lambda: bool(app.running_models))
        await pilot.pause()
        text = assert_safe_output(app)
        assert_literal(text, CLICK, FAMILY, QUANT, PARAMS, "]0;title", ":latest")
        # Both tables: the running one and the installed one.
        assert text.count(CLICK) >= 2
        # Filtering by hostile text (it is also what a user may type) is literal too.
        await pilot.press("slash", *"[/foo]", "enter")
        assert app.dashboard is not None
        assert app.dashboard.installed_table.filter_text == "[/foo]"
        text = assert_safe_output(app)
        assert_literal(text, CLICK)  # QUANT "[/foo]" matches: the hostile row is kept
        assert "plain:latest" not in text
        assert app.is_running


async def test_details_every_tab(hostile_sim: Simulator) -> None:
    app = make_app(hostile_sim.url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await started(pilot, app)
        app.show_details(hostile(app, VALID))
        await wait_for(pilot, lambda: isinstance(app.screen, DetailsScreen))
        screen = app.screen
        assert isinstance(screen, DetailsScreen)
        await wait_for(pilot, lambda: screen.show is not None, what="details loaded")
        await pilot.pause()
        overview = assert_safe_output(app)
        assert_literal(overview, FAMILY, QUANT, CAPABILITY, "[/foo]", "[31m")
        assert_literal(overview, "S " + CLICK)  # the system prompt
        assert_literal(overview, "L " + CLOSE)  # the license's first line
        tabs = {"2": (LINK, CLICK, CLOSE), "3": (LINK, "[31mred"), "4": (CLICK, "back")}
        tabs["5"] = (CLOSE, "]0;title")
        for key, pieces in tabs.items():
            await pilot.press(key)
            await pilot.pause()
            assert_literal(assert_safe_output(app), *pieces)
        assert app.is_running and isinstance(app.screen, DetailsScreen)


async def test_click_on_hostile_text_runs_no_action(hostile_sim: Simulator) -> None:
    """`[@click=app.quit]` in a name: clicking where it shows must not quit."""
    app = make_app(hostile_sim.url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await started(pilot, app)
        lines = screen_text(app).splitlines()
        row = next(y for y, line in enumerate(lines) if CLICK in line)
        column = lines[row].index(CLICK) + CLICK.index("z")
        await pilot.click(offset=(column, row))
        await pilot.pause()
        assert app.is_running and app.return_code is None
        app.show_details(hostile(app))
        await wait_for(pilot, lambda: isinstance(app.screen, DetailsScreen))
        await pilot.pause()
        title = screen_text(app).splitlines()[0]
        await pilot.click(offset=(title.index(CLICK) + CLICK.index("z"), 0))
        await pilot.pause()
        assert app.is_running and app.return_code is None


async def test_error_messages_everywhere(hostile_sim: Simulator) -> None:
    """The server's hostile error in the status line, the details screen and a toast."""
    app = make_app(hostile_sim.url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await started(pilot, app)
        hostile_sim.faults.add("/api/show", "status", status=500, message=ERROR)
        app.show_details(hostile(app, VALID))
        await wait_for(pilot, lambda: isinstance(app.screen, DetailsScreen))
        screen = app.screen
        assert isinstance(screen, DetailsScreen)
        await wait_for(pilot, lambda: screen.error is not None)
        await pilot.pause()
        assert_literal(assert_safe_output(app), *MARKUP, "[31m", "]0;title")
        await pilot.press("escape")

        hostile_sim.faults.add("/api/tags", "status", status=500, message=ERROR)
        app.request_refresh()
        await wait_for(pilot, lambda: app.status.state == "error")
        await pilot.pause()
        text = assert_safe_output(app)
        assert_literal(text, *MARKUP)  # the status line
        hostile_sim.faults.clear()

        app.notify(ERROR, severity="error", markup=False)  # as operations report failures
        await pilot.pause()
        assert_literal(assert_safe_output(app), *MARKUP)
        assert app.is_running


async def test_operation_failure_toast(hostile_sim: Simulator) -> None:
    """A failed unload reports the server's hostile words in a toast, literally."""
    hostile_sim.load_model(NAME, keep_alive=-1)
    app = make_app(hostile_sim.url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await started(pilot, app)
        await wait_for(pilot, lambda: bool(app.running_models))
        hostile_sim.faults.add("/api/generate", "status", status=500, message=ERROR)
        app.operations.unload(app.running_models[0])
        await wait_for(pilot, lambda: any(n.severity == "error" for n in app._notifications))
        await pilot.pause()
        text = assert_safe_output(app)
        assert_literal(text, STYLE, CLOSE)  # toasts wrap: check pieces that fit one line
        assert app.is_running


async def test_copy_dialog_source_name(hostile_sim: Simulator) -> None:
    app = make_app(hostile_sim.url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await started(pilot, app)
        app.operations.copy(hostile(app))
        await wait_for(pilot, lambda: app.screen is not app.dashboard)
        await pilot.pause()
        assert_literal(assert_safe_output(app), CLICK)


async def test_pull_dialog_suggestion(hostile_sim: Simulator) -> None:
    app = make_app(hostile_sim.url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await started(pilot, app)
        app.operations.pull()
        await wait_for(pilot, lambda: app.screen is not app.dashboard)
        await pilot.pause()
        await pilot.press("left_square_bracket")  # would complete to the hostile name
        await pilot.pause()
        # Names with control characters are never suggested (they are invalid anyway), and
        # nothing raw reaches the terminal.
        assert_safe_output(app)
        assert app.screen.query_one("#pull-name", Input).value == "["


async def test_delete_confirmation(hostile_sim: Simulator) -> None:
    app = make_app(hostile_sim.url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await started(pilot, app)
        app.operations.delete([hostile(app)])
        await wait_for(pilot, lambda: isinstance(app.screen, DeleteScreen))
        await pilot.pause()
        assert_literal(assert_safe_output(app), CLICK, "]0;title")
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is app.dashboard)
        assert hostile_sim.request_count("/api/delete") == 0


async def test_jobs_view_and_strip(hostile_sim: Simulator) -> None:
    """A pull failing with a hostile error line: the jobs view and the toast show it literally."""
    app = make_app(hostile_sim.url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await started(pilot, app)
        hostile_sim.faults.add("/api/pull", "error_line", after_lines=2, message=ERROR)
        job = app.jobs.submit_pull("all-minilm:latest")
        await wait_for(pilot, lambda: job.state is JobState.FAILED)
        app.operations.show_jobs()
        await wait_for(pilot, lambda: isinstance(app.screen, JobsScreen))
        await pilot.pause()
        assert_literal(assert_safe_output(app), *MARKUP, "[31m")
        await pilot.press("escape")
        assert app.is_running


async def test_new_model_from_hostile_model(hostile_sim: Simulator) -> None:
    """`n` on a hostile model pre-fills the editor from /api/show: markup stays literal text;
    values with control characters are left out with a comment saying why; nothing crashes."""
    hostile_sim.add_model(
        "markup:latest", template=f"T {LINK}", system=f"S {CLICK}", parameters={"stop": CLOSE}
    )
    app = make_app(hostile_sim.url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for(pilot, lambda: len(app.installed) == 4)
        for name, pieces in (
            ("markup:latest", (LINK, "S " + CLICK, CLOSE)),
            (VALID, ("left out", "U+001B")),
        ):
            app.operations.create(hostile(app, name))
            await wait_for(pilot, lambda: isinstance(app.screen, CreateScreen))
            screen = app.screen
            assert isinstance(screen, CreateScreen)
            await wait_for(pilot, lambda s=screen: "FROM" in s.editor.text)  # type: ignore[misc]
            await pilot.pause()
            assert_literal(assert_safe_output(app), *pieces)
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is app.dashboard)
        assert app.is_running


# --- notifications, titles, every dialog ------------------------------------------------------

ZW_NAME = f"z{ZERO_WIDTH}w:latest"  # every invisible character in one name


async def toasts(pilot: Pilot[Any], app: OllamaTuiApp, count: int) -> None:
    await wait_for(pilot, lambda: len(app._notifications) >= count, what=f"{count} toasts")
    await pilot.pause()


async def test_notification_titles_and_messages(hostile_sim: Simulator) -> None:
    """`f"Unload {name}"` as a toast title once set the terminal's title (issue #9, 6)."""
    hostile_sim.add_model(ZW_NAME, like="qwen2.5:0.5b", modified_at=FROZEN)
    hostile_sim.load_model(NAME, keep_alive=-1)
    hostile_sim.load_model(ZW_NAME, keep_alive=-1)
    app = make_app(hostile_sim.url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for(pilot, lambda: len(app.installed) == 4 and len(app.running_models) == 2)
        hostile_sim.faults.add("/api/generate", "status", status=500, message=ERROR, count=2)
        for model in list(app.running_models):
            app.operations.unload(model)  # fails: the title names the model
        await toasts(pilot, app, 2)
        titles = [n.title for n in app._notifications]
        assert any("]0;title" in t and "\\x1b" in t for t in titles), titles
        assert any("\\u200b" in t and "\\u2028" in t for t in titles), titles
        text = assert_safe_output(app)
        assert "\\x1b]0;title\\x07" in text
        hostile_sim.faults.clear()
        app.clear_notifications()
        # A job ending names its model in the toast's message.
        app.jobs.submit_pull(ZW_NAME)
        await toasts(pilot, app, 1)
        assert any("pull z\\u200b\\u200d" in n.message for n in app._notifications)
        assert_safe_output(app)
        assert app.is_running


async def test_every_dialog_with_hostile_names(hostile_sim: Simulator) -> None:
    """Each dialog a model's name reaches, for a control-laden and a zero-width name."""
    hostile_sim.add_model(ZW_NAME, like="qwen2.5:0.5b", modified_at=FROZEN)
    hostile_sim.load_model(NAME, keep_alive=-1)
    hostile_sim.load_model(ZW_NAME, keep_alive=-1)
    app = make_app(hostile_sim.url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for(pilot, lambda: len(app.installed) == 4 and len(app.running_models) == 2)
        ops = app.operations
        for name in (NAME, ZW_NAME):
            model = hostile(app, name)
            running = next(m for m in app.running_models if m.name == name)
            for open_dialog, argument in (
                (ops.copy, model),
                (ops.rename, model),
                (ops.push, model),
                (ops.load, name),
                (ops.delete, [model]),
                (lambda _: ops.unload_all(), None),
                (app.show_details, model),
            ):
                open_dialog(argument)  # type: ignore[operator]
                await wait_for(pilot, lambda: app.screen is not app.dashboard, what="dialog")
                await pilot.pause()
                text = assert_safe_output(app)
                assert running.name not in text  # shown, but only escaped
                await pilot.press("escape")
                await wait_for(pilot, lambda: app.screen is app.dashboard, what="back")
        # The jobs view and strip with a job named after a hostile model.
        hostile_sim.faults.add("/api/pull", "error_line", after_lines=1, message=ERROR)
        job = app.jobs.submit_pull(ZW_NAME)
        await wait_for(pilot, lambda: job.state is JobState.FAILED)
        assert_safe_output(app)
        app.operations.show_jobs()
        await wait_for(pilot, lambda: isinstance(app.screen, JobsScreen))
        await pilot.pause()
        assert "z\\u200b" in assert_safe_output(app)
        await pilot.press("escape")
        assert app.is_running


async def test_zero_width_names_look_different_in_the_delete_dialog(
    hostile_sim: Simulator,
) -> None:
    """Two names that differ only by invisible characters never look the same."""
    twins = ["twin:latest", "twin\u200b:latest", "twin\ufeff:latest", "twin\u2060:latest"]
    for twin in twins:
        hostile_sim.add_model(twin, like="qwen2.5:0.5b", modified_at=FROZEN)
    app = make_app(hostile_sim.url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for(pilot, lambda: len(app.installed) == 3 + len(twins))
        app.operations.delete([hostile(app, twin) for twin in twins])
        await wait_for(pilot, lambda: isinstance(app.screen, DeleteScreen))
        await pilot.pause()
        text = assert_safe_output(app)
        lines = [line for line in text.splitlines() if "twin" in line and "•" in line]
        shown = {line.split("•")[1].split()[0] for line in lines}
        assert shown == {
            "twin:latest",
            "twin\\u200b:latest",
            "twin\\ufeff:latest",
            "twin\\u2060:latest",
        }, lines
        await pilot.press("n")


async def test_plain_toasts_by_default(hostile_sim: Simulator) -> None:
    """notify() parses no markup unless asked; Textual's own ctrl+c hint still reads well."""
    app = make_app(hostile_sim.url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await started(pilot, app)
        app.notify(f"{CLICK} {STYLE}", title=OSC)
        await toasts(pilot, app, 1)
        assert_literal(assert_safe_output(app), CLICK, STYLE, "\\x1b]0;title\\x07")
        app.clear_notifications()
        await pilot.press("ctrl+c")
        await pilot.pause()
        if app._notifications:  # unless ctrl+c quits (then there is no hint)
            await pilot.pause()
            assert "[b]" not in " ".join(n.message for n in app._notifications)
