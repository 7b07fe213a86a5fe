"""The Modelfile editor as a person uses it (issue #9, group 9): where the cursor starts, fields
that look like fields, a FROM that is not installed, completion, and the F1 reference."""

from __future__ import annotations

import pytest
from conftest import wait_for
from test_ui_ops import SIZE, OpsHarness, open_editor, screen_ready
from textual.widgets import Input, Static

from ollama_tui.screens.create import CreateScreen
from ollama_tui.screens.modelfile_help import ModelfileHelpScreen
from ollama_tui.simulator import Simulator
from ollama_tui.widgets.modelfile_editor import completion

pytestmark = pytest.mark.simulator_only


def status(screen: CreateScreen) -> str:
    return str(screen.query_one("#create-status", Static).render())


async def test_prefilled_text_leaves_the_cursor_at_the_end(sim: Simulator) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        app.operations.create(app.model("someuser/llama3-pirate:latest"))
        screen = await screen_ready(pilot, app, CreateScreen)
        editor = screen.editor
        assert editor.text.count("\n") > 1
        assert editor.cursor_location == editor.document.end
        # Opening a file, or loading text, puts it at the end too.
        editor.load_text("FROM llama3.2\nPARAMETER temperature 0.1\n")
        assert editor.cursor_location == editor.document.end


async def test_empty_editor_puts_the_cursor_after_from(sim: Simulator) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        app.operations.create()
        screen = await screen_ready(pilot, app, CreateScreen)
        assert screen.editor.text == "FROM \n"
        assert screen.editor.cursor_location == (0, 5)


async def test_folder_and_name_fields_look_like_fields_without_colour(sim: Simulator) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot, app, "FROM llama3.2\n", "")
        for field_id in ("#create-folder", "#create-name"):
            field = screen.query_one(field_id, Input)
            # A frame drawn in characters, not only a background colour.
            assert field.styles.border_left[0] not in ("", "none", "hidden")
            assert field.styles.border_right[0] not in ("", "none", "hidden")
            assert field.region.height == 1
        # The empty (invalid) name keeps its placeholder on screen: no top border over it.
        name = screen.query_one("#create-name", Input)
        assert name.styles.border_top[0] in ("", "none", "hidden")


async def test_from_a_model_that_is_not_installed_is_flagged(sim: Simulator) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot, app, "FROM no-such-model:7b\n", "mine")
        await wait_for(pilot, lambda: "not installed" in status(screen))
        assert "the server will try to pull it" in status(screen)
        screen.editor.load_text("FROM llama3.2\n")  # installed as llama3.2:latest
        await wait_for(pilot, lambda: "not installed" not in status(screen))
        assert "Modelfile OK" in status(screen)


def test_completion_of_instructions_parameters_and_roles() -> None:
    assert completion("PARA") == ("PARA", ["PARAMETER"])
    assert completion("PAR") == ("PAR", ["PARSER", "PARAMETER"])
    assert completion("  sy") == ("sy", ["SYSTEM"])
    assert completion("PARAMETER temp") == ("temp", ["temperature"])
    assert completion("parameter  num_c") == ("num_c", ["num_ctx"])
    assert completion("MESSAGE us") == ("us", ["user"])
    assert set(completion("PARAMETER top_")[1]) == {"top_k", "top_p"}
    assert completion("FROM lla") == ("", [])  # a value: nothing to complete
    assert completion("PARAMETER temperature 0") == ("", [])
    assert completion("# PAR") == ("", [])


async def test_tab_completes_at_a_line_start_and_ctrl_space_too(sim: Simulator) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot, app, "FROM llama3.2\n", "mine")
        editor = screen.editor
        editor.focus()
        editor.move_cursor(editor.document.end)
        await pilot.press("P", "A", "R", "A", "tab")
        assert editor.text.endswith("PARAMETER ")
        assert app.focused is editor  # tab completed instead of moving on
        await pilot.press("t", "e", "m", "ctrl+space")
        assert editor.text.endswith("PARAMETER temperature ")
        await pilot.press("0", ".", "5", "enter", "tab")  # nothing to complete: tab moves on
        assert app.focused is not editor


async def test_f1_shows_a_modelfile_reference_and_esc_closes_it(sim: Simulator) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot, app, "FROM llama3.2\n", "mine")
        screen.editor.focus()
        await pilot.press("f1")
        reference = await screen_ready(pilot, app, ModelfileHelpScreen)
        text = reference.reference_text()
        for word in ("FROM", "PARAMETER", "SYSTEM", "TEMPLATE", "ADAPTER", "MESSAGE"):
            assert word in text
        for parameter in ("temperature", "num_ctx", "stop"):
            assert parameter in text
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        assert screen.editor.text == "FROM llama3.2\n"
