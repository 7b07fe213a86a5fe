"""The Modelfile editor's Save and Open (issue 9, group 7): through symlinks, in one step, keeping
the mode, and never stuck on a FIFO."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import wait_for
from test_ui_ops import (
    SIZE,
    OpsHarness,
    notifications,
    open_editor,
    screen_ready,
)
from textual.pilot import Pilot
from textual.widgets import Input, Static

from ollama_tui.modelfile_checks import check_modelfile
from ollama_tui.screens.confirm import ConfirmScreen, TextPrompt
from ollama_tui.screens.create import CreateScreen
from ollama_tui.simulator import Simulator


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "Modelfile"
    os.mkfifo(path)
    try:
        yield path
    finally:
        # Were a writer stuck in open() on it (the bug), a reader lets it finish.
        with contextlib.suppress(OSError):
            os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))


async def save_as(pilot: Pilot[Any], app: OpsHarness, screen: CreateScreen, folder: Path) -> None:
    screen.query_one("#create-folder", Input).value = str(folder)
    await pilot.press("ctrl+s")
    await screen_ready(pilot, app, TextPrompt)
    await pilot.press("enter")  # the default: folder/Modelfile


async def test_save_through_a_symlink_replaces_its_target_and_keeps_the_link(
    sim: Simulator, tmp_path: Path
) -> None:
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    real = dotfiles / "pirate.Modelfile"
    real.write_text("FROM old\n")
    real.chmod(0o640)
    link = tmp_path / "Modelfile"
    link.symlink_to(real)
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot, app, "FROM llama3.2\n", "x")
        await save_as(pilot, app, screen, tmp_path)
        confirm = await screen_ready(pilot, app, ConfirmScreen)
        shown = " ".join(str(s.render()) for s in confirm.query(".dialog-item").results(Static))
        assert str(link) in shown and f"→ {real}" in shown  # says which file is replaced
        await pilot.press("y")
        await wait_for(pilot, lambda: real.read_text() == "FROM llama3.2\n")
        assert link.is_symlink() and link.resolve() == real
        assert real.stat().st_mode & 0o777 == 0o640
        assert sorted(p.name for p in dotfiles.iterdir()) == ["pirate.Modelfile"]  # no temp
        await wait_for(pilot, lambda: screen.saved_text == "FROM llama3.2\n")


async def test_save_keeps_the_mode_of_the_file_it_replaces(sim: Simulator, tmp_path: Path) -> None:
    target = tmp_path / "Modelfile"
    target.write_text("FROM old\n")
    target.chmod(0o600)
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot, app, "FROM llama3.2\n", "x")
        await save_as(pilot, app, screen, tmp_path)
        await screen_ready(pilot, app, ConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: target.read_text() == "FROM llama3.2\n")
        assert target.stat().st_mode & 0o777 == 0o600


async def test_save_onto_a_fifo_is_refused_and_nothing_wedges(
    sim: Simulator, tmp_path: Path, fifo: Path
) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot, app, "FROM llama3.2\n", "x")
        before = len(notifications(app))
        await save_as(pilot, app, screen, tmp_path)
        await wait_for(pilot, lambda: len(notifications(app)) > before)
        assert "not a regular file (a named pipe (FIFO))" in notifications(app)[-1]
        assert not isinstance(app.screen, ConfirmScreen)
        assert stat.S_ISFIFO(fifo.stat().st_mode)
        # The editor still closes (asking about the unsaved text), and the app still quits.
        await pilot.press("escape")
        await screen_ready(pilot, app, ConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: screen not in app.screen_stack)
        app.exit()
    assert not app.is_running


async def test_open_from_a_fifo_is_refused_at_once(
    sim: Simulator, tmp_path: Path, fifo: Path
) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot, app, "", "x")
        before = len(notifications(app))
        await pilot.press("ctrl+o")
        prompt = await screen_ready(pilot, app, TextPrompt)
        prompt.query_one(Input).value = str(fifo)
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(notifications(app)) > before)
        assert "not a regular file" in notifications(app)[-1]
        assert screen.editor.text == ""


def test_from_a_fifo_is_a_problem_before_sending(tmp_path: Path, fifo: Path) -> None:
    problem, _ = check_modelfile("FROM ./Modelfile\n", str(tmp_path))
    assert problem is not None and problem.line == 1
    assert "cannot read: not a regular file" in problem.message
