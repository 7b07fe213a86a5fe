"""End to end (issue #9 group 2): a pull survives the server process being killed and restarted.

The console script runs in tmux against a simulator process; the simulator is killed mid-pull
and started again on the same port, and the pull finishes with no key pressed.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_e2e_tmux import SCRIPT, SimulatorProcess, Tmux, free_port

pytestmark = [pytest.mark.simulator_only, pytest.mark.slow]


@pytest.fixture
def simulator() -> Iterator[SimulatorProcess]:
    sim = SimulatorProcess(free_port())
    sim.start("10e6")  # slow: the pull of a 46 MB model is under way for seconds
    try:
        yield sim
    finally:
        sim.kill()


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
@pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is not installed")
def test_pull_resumes_by_itself_after_the_server_restarts(
    simulator: SimulatorProcess, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("interval = 1\n")
    session = f"resume-e2e-{uuid.uuid4().hex[:8]}"
    command = f"{SCRIPT} --host {simulator.url} --config {config}; echo EXITED-$?; sleep 30"
    tmux = Tmux(session)
    tmux.run("new-session", "-d", "-s", session, "-x", "120", "-y", "30", command)
    try:
        tmux.wait_for("Installed (8)")
        tmux.keys("p")
        tmux.wait_for("Pull a model")
        tmux.keys("-l", "all-minilm:latest")
        tmux.wait_for("all-minilm:latest")
        tmux.keys("Enter")
        tmux.wait_for(" MB / ")  # the strip shows bytes arriving
        simulator.kill()
        screen = tmux.wait_for("waiting for the server", timeout=20)
        assert "pull all-minilm:latest" in screen
        assert "failed" not in screen
        simulator.start("400e6")
        # From here on no key is pressed: the job notices the server and finishes alone.
        screen = tmux.wait_for("Installed (9)", timeout=40)
        assert "all-minilm:latest" in screen
        tmux.wait_for("pull all-minilm:latest: done", timeout=10)
        assert "connected" in tmux.screen()
        tmux.keys("q")
        screen = tmux.wait_for("EXITED-0")
        assert "Traceback" not in screen
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, timeout=10)
