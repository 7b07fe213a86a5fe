"""The keymap (issue 9, group 9): one key for two actions on one screen is a config error naming
the line and both ids, and the README's example does what it says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import make_app, wait_for
from test_ui_dashboard import started

from ollama_tui.__main__ import check_keymap, main
from ollama_tui.config import ConfigError, load_config
from ollama_tui.screens.confirm import ConfirmScreen
from ollama_tui.screens.jobs import JobsScreen
from ollama_tui.simulator import Simulator

README = Path(__file__).resolve().parent.parent / "README.md"


def checked(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return check_keymap(load_config(path))


@pytest.mark.parametrize(
    ("text", "line", "culprit", "ids"),
    [
        # A screen's binding against a focused widget's (the installed table sorts with s).
        ('[keymap]\npull = "s"\n', 2, "pull", ("pull", "sort")),
        # Against the app's own (help is on every screen); "?" is Textual's question_mark.
        ('[keymap]\n\n\ndelete = "d,?"\n', 4, "delete", ("delete", "help")),
        # Two keymap entries on one modal screen: the later line is named.
        (
            '[keymap]\n"ops.jobs.cancel" = "c"\n"ops.jobs.clear" = "c"\n',
            3,
            "ops.jobs.clear",
            ("ops.jobs.cancel", "ops.jobs.clear"),
        ),
        # Moving one binding onto another's default key.
        (
            '[keymap]\nquit = "x"\n"ops.jobs.cancel" = "q"\n',
            3,
            "ops.jobs.cancel",
            ("ops.jobs.cancel", "ops.jobs.close"),
        ),
        (
            # A [keymap] table before the nested one: the nested key's own line is named.
            '[keymap]\npull = "p"\n\n[keymap.ops.confirm]\nyes = "n"\n',
            5,
            "ops.confirm.yes",
            ("ops.confirm.no", "ops.confirm.yes"),
        ),
        ('[keymap]\nmark = "tab"\n', 2, "mark", ("mark", "switch-table")),
    ],
)
def test_one_key_for_two_actions_on_a_screen_is_an_error(
    tmp_path: Path, text: str, line: int, culprit: str, ids: tuple[str, str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        checked(tmp_path, text)
    error = caught.value
    assert (error.line, error.key) == (line, f"keymap.{culprit}")
    assert f"{ids[0]} and {ids[1]}" in error.message


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        # The README's old example: a confirm dialog focuses Cancel, whose enter wins.
        (
            '[keymap]\npull = "p,ctrl+l"\n"ops.confirm.yes" = "y,enter"\n',
            3,
            "'enter' would do two things on the Confirm screen: Button's press and ops.confirm.yes",
        ),
        # While typing in the filter, ctrl+a moves to the start of the line.
        ('[keymap]\npull = "ctrl+a"\n', 2, "Input's home and pull"),
        ('[keymap]\nquit = "ctrl+c"\n', 2, "App's help_quit, Screen's screen.copy_text and quit"),
    ],
)
def test_a_key_a_focused_textual_widget_takes_is_a_clash_too(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        checked(tmp_path, text)
    assert caught.value.line == line and message in caught.value.message


@pytest.mark.parametrize(
    "text",
    [
        '[keymap]\nload = "u"\nunload = "l"\n',  # a swap is fine
        '[keymap]\n"ops.jobs.close" = "escape"\n"ops.jobs.clear" = "q"\n',  # q was freed
        '[keymap]\nfilter = "f"\n"details-reload" = "f"\n',  # different screens
        # Two widgets never focused together.
        '[keymap]\n"cursor-down" = "down,ctrl+n"\n"filter-done" = "down,ctrl+n"\n',
    ],
)
def test_keys_on_different_screens_or_swapped_are_fine(tmp_path: Path, text: str) -> None:
    checked(tmp_path, text)


def test_keys_are_given_to_textual_in_its_names(tmp_path: Path) -> None:
    assert checked(tmp_path, '[keymap]\nfilter = "f, /,f"\n') == {"filter": "f,slash"}


def test_a_clash_exits_2_naming_the_line_and_both_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('# mine\n[keymap]\npull = "s"\n')
    assert main(["--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}, line 3: keymap.pull:" in err and "pull and sort" in err


def readme_config() -> str:
    blocks = re.findall(r"```toml\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    return next(block for block in blocks if "[keymap]" in block)


async def test_the_readme_keymap_does_what_it_says(sim: Simulator, tmp_path: Path) -> None:
    """Every key the README's example binds reaches its action where that action lives."""
    keymap = checked(tmp_path, readme_config())
    assert keymap
    app = make_app(sim.url, keymap=keymap)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        dashboard = app.screen
        for binding_id, keys in keymap.items():
            screen = dashboard
            if binding_id.startswith("ops.confirm."):
                screen = ConfirmScreen("Sure?")
            elif binding_id.startswith("ops.jobs."):
                screen = JobsScreen(app.operations)
            else:
                assert not binding_id.startswith("ops."), f"teach this test {binding_id}"
            if screen is not dashboard:
                app.push_screen(screen)
            await wait_for(pilot, lambda: app.screen is screen and screen.is_mounted)  # noqa: B023
            await pilot.pause()
            active = app.screen.active_bindings
            for key in keys.split(","):
                assert key in active and active[key].binding.id == binding_id, (binding_id, key)
            if app.screen is not dashboard:
                app.pop_screen()
                await wait_for(pilot, lambda: app.screen is dashboard)
