"""Fixes from the review of the hardening work: each failed before its fix."""

from __future__ import annotations

import sys

import pytest
from conftest import make_app, wait_for
from test_ui_dashboard import started
from test_ui_seen import cursor_to, notifications

from ollama_tui.api import limits
from ollama_tui.screens.confirm import ChoiceScreen
from ollama_tui.simulator import Simulator


@pytest.mark.parametrize(
    ("header", "length"),
    [("123", 123), ("", 0), ("²", 0), (" 7 ", 7), ("-5", 0), ("9" * 5000, limits.MAX_INT)],
    ids=["plain", "absent", "superscript", "spaces", "negative", "5000-digits"],
)
def test_a_declared_length_is_a_checked_number(header: str, length: int) -> None:
    from ollama_tui.api.client import _declared_length

    assert _declared_length(header) == length  # "²" and 5,000 digits raised in int()


def test_main_puts_back_the_import_time_ctrl_c_hook() -> None:
    import ollama_tui.__main__ as entry

    sys.excepthook = entry._interrupted_while_loading  # as after the first import
    try:
        with pytest.raises(SystemExit):
            entry.main(["--version"])
        # A later Ctrl-C in the same process (a test, an embedding program) gets clean-up.
        assert sys.excepthook is sys.__excepthook__
    finally:
        sys.excepthook = sys.__excepthook__


async def test_choice_dialog_escapes_its_title_and_note() -> None:
    from textual.app import App
    from textual.widgets import Static

    screen = ChoiceScreen(
        "Pull x\x1b]0;owned\x07?", [("r", "Re-pull", "repull")], note="note \x1b[2J"
    )
    app: App[None] = App()
    async with app.run_test() as pilot:
        await app.push_screen(screen)
        await pilot.pause()
        shown = [str(static.render()) for static in screen.query(Static)]
    assert any("owned" in text for text in shown) and any("note" in text for text in shown)
    assert not any("\x1b" in text or "\x07" in text for text in shown), shown


@pytest.mark.simulator_only
async def test_a_reason_is_escaped_once(sim: Simulator) -> None:
    name = "odd\u200bname:latest"
    sim.add_model(name, like="qwen2.5:0.5b")
    app = make_app(sim.url)
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await started(pilot, app)
        await cursor_to(pilot, app, name)
        await pilot.press("u")
        await wait_for(pilot, lambda: any("Nothing to unload" in n for n in notifications(app)))
        said = next(n for n in notifications(app) if "Nothing to unload" in n)
        assert "odd\\u200bname" in said and "\\\\u200b" not in said
