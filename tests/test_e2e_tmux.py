"""End to end: the console script in a real terminal (tmux) against a simulator process."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.simulator_only, pytest.mark.slow]

SCRIPT = Path(sys.executable).parent / "ollama-tui"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], bool], timeout: float = 15, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def simulator_url() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        # Fast enough that a pull of a catalogue model ends within a few seconds.
        [
            sys.executable,
            "-m",
            "ollama_tui.simulator",
            "--listen",
            f"127.0.0.1:{port}",
            "--bandwidth",
            "400e6",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:

        def listening() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return True
            except OSError:
                return False

        wait_until(listening, what="the simulator to listen")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


class Tmux:
    def __init__(self, session: str) -> None:
        self.session = session

    def run(self, *args: str) -> str:
        if args[:1] == ("new-session",):
            # A COLUMNS/LINES the tmux server inherited (e.g. 80x24 from the test runner)
            # would win over the pane's real size in the app (shutil.get_terminal_size).
            args = (args[0], "-e", "COLUMNS=", "-e", "LINES=", *args[1:])
        return subprocess.run(
            ["tmux", *args], check=True, capture_output=True, text=True, timeout=10
        ).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.session)

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.session, *keys)

    def wait_for(self, text: str, timeout: float = 15) -> str:
        try:
            wait_until(lambda: text in self.screen(), timeout, repr(text))
        except AssertionError as error:
            # The screen as it was: what the test waited for is usually plain from it.
            size = self.run("display", "-p", "-t", self.session, "#{window_width}x#{window_height}")
            raise AssertionError(
                f"{error}; the screen ({size.strip()}):\n{self.screen()}"
            ) from None
        return self.screen()


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
@pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is not installed")
def test_console_script_in_tmux(simulator_url: str, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("interval = 1\n")
    session = f"ollama-tui-e2e-{uuid.uuid4().hex[:8]}"
    command = f"{SCRIPT} --host {simulator_url} --config {config}; echo EXITED-$?; sleep 30"
    tmux = Tmux(session)
    tmux.run("new-session", "-d", "-s", session, "-x", "100", "-y", "30", command)
    try:
        screen = tmux.wait_for("mistral:7b")
        tmux.wait_for("connected")
        assert "Running (1)" in screen or tmux.wait_for("Running (1)")
        assert "llama3.2:latest" in screen
        tmux.keys("/")
        tmux.wait_for("filter: name")  # the filter input's placeholder
        tmux.keys("mistral")
        screen = tmux.wait_for("Installed (1/")
        assert "qwen2.5:0.5b" not in screen
        tmux.keys("Enter")
        tmux.keys("Enter")  # details of the only row
        screen = tmux.wait_for("Architecture")
        assert "mistral:7b" in screen
        tmux.keys("q")  # back (a lone ESC would merge with the next key as alt+key)
        tmux.wait_for("Installed (1/")
        tmux.keys("q")
        screen = tmux.wait_for("EXITED-0")
        assert "Traceback" not in screen
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, timeout=10)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
@pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is not installed")
def test_pull_in_tmux_ends_with_the_model_installed(simulator_url: str, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("interval = 1\n")
    session = f"ollama-tui-e2e-{uuid.uuid4().hex[:8]}"
    command = f"{SCRIPT} --host {simulator_url} --config {config}; echo EXITED-$?; sleep 30"
    tmux = Tmux(session)
    tmux.run("new-session", "-d", "-s", session, "-x", "100", "-y", "30", command)
    try:
        tmux.wait_for("Installed (8)")
        assert "gemma3:1b" not in tmux.screen()
        tmux.keys("p")
        tmux.wait_for("Pull a model")
        tmux.keys("-l", "gemma3:1b")
        tmux.wait_for("gemma3:1b")
        tmux.keys("Enter")
        tmux.wait_for("Pulling gemma3:1b")  # the dialog closed; the job runs in the background
        screen = tmux.wait_for("Installed (9)", timeout=30)
        assert "gemma3:1b" in screen
        tmux.wait_for("pull gemma3:1b: done")
        tmux.keys("q")
        screen = tmux.wait_for("EXITED-0")
        assert "Traceback" not in screen
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, timeout=10)


class SimulatorProcess:
    """A simulator process on a fixed port that a test can kill and start again."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[str] | None = None

    def listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def start(self, bandwidth: str | None = None) -> None:
        """Start (again) on the same port; ``bandwidth`` in bytes/s slows its pulls."""
        command = [
            sys.executable,
            "-m",
            "ollama_tui.simulator",
            "--listen",
            f"127.0.0.1:{self.port}",
        ]
        if bandwidth is not None:
            command += ["--bandwidth", bandwidth]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_until(self.listening, what="the simulator to listen")

    def kill(self) -> None:
        """As a crash would (SIGKILL): no goodbye on any connection."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
@pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is not installed")
def test_clearing_ended_jobs_in_tmux_leaves_a_way_back_and_out(tmp_path: Path) -> None:
    """Issue #9 group 1: J, ↑, C on two failed pulls once left no key working (not even quit).

    The simulator is killed in the middle and started again: the keys work throughout.
    """
    config = tmp_path / "config.toml"
    config.write_text("interval = 1\n")
    simulator = SimulatorProcess(free_port())
    simulator.start()
    session = f"ollama-tui-e2e-jobsview-{uuid.uuid4().hex[:8]}"
    command = f"{SCRIPT} --host {simulator.url} --config {config}; echo EXITED-$?; sleep 30"
    tmux = Tmux(session)
    tmux.run("new-session", "-d", "-s", session, "-x", "100", "-y", "30", command)
    try:
        tmux.wait_for("Installed (8)")
        for name in ("nosuch-a:1b", "nosuch-b:1b"):  # pulls of names that do not exist
            tmux.keys("p")
            tmux.wait_for("Pull a model")
            tmux.keys("-l", name)
            tmux.wait_for(name)
            tmux.keys("Enter")
            tmux.wait_for(f"pull {name} failed")
        tmux.keys("J")
        tmux.wait_for("C clear ended")
        tmux.wait_for("nosuch-a:1b  failed")
        tmux.wait_for("nosuch-b:1b  failed")
        simulator.kill()  # the server goes away while the jobs view is open
        tmux.keys("Up")
        tmux.wait_for("▶ #1 pull nosuch-a:1b")
        tmux.keys("C")
        tmux.wait_for("No jobs yet")
        tmux.keys("Escape")
        screen = tmux.wait_for("Installed (")
        assert "No jobs yet" not in screen
        tmux.wait_for("unreachable")
        simulator.start()
        tmux.wait_for("connected", timeout=40)  # after the back-off (at most 30 s)
        tmux.keys("J")  # the jobs view opens again, empty, and closes
        tmux.wait_for("No jobs yet")
        tmux.keys("q")
        tmux.wait_for("Installed (")
        tmux.keys("q")
        screen = tmux.wait_for("EXITED-0")
        assert "Traceback" not in screen
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, timeout=10)
        simulator.kill()


def _post(url: str, path: str, body: dict[str, object]) -> None:
    """A request from outside the app (another client of the same server)."""
    import httpx

    httpx.post(f"{url}{path}", json=body, timeout=10).raise_for_status()


def _server_row(screen: str, name: str) -> str:
    """The servers table's line of ``name`` (the names are unique words on screen)."""
    for line in screen.splitlines():
        if f" {name} " in line:
            return line
    raise AssertionError(f"no line for {name!r} in:\n{screen}")


def _loaded(screen: str, name: str) -> str:
    """The LOADED cell of a connected server's row (the word after its RTT, "N ms")."""
    words = _server_row(screen, name).split()
    return words[words.index("ms") + 1]


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
@pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is not installed")
def test_three_servers_in_tmux_one_killed_and_restarted(tmp_path: Path) -> None:
    """Issue #10's acceptance, in a terminal: ``ollama-tui --host URL1 --host URL2 --host URL3``.

    All three within 3 s; a model loaded from outside shows within two intervals; one server
    killed shows unreachable within two intervals while the others keep refreshing (a model
    added on another is seen); restarted, it comes back with no key pressed; ``q`` exits 0.
    """
    interval = 1.0
    # Two intervals, plus what a capture of the pane takes on a busy 2-core machine.
    two_intervals = 2 * interval + 1.0
    servers = [SimulatorProcess(free_port()) for _ in range(3)]
    names = ("fleet-alpha", "fleet-bravo", "fleet-charlie")
    config = tmp_path / "config.toml"
    # The names are matched to the --host URLs: the servers are the --host flags.
    entries = "".join(
        f'\n[[servers]]\nname = "{name}"\nurl = "{server.url}"\n'
        for name, server in zip(names, servers, strict=True)
    )
    config.write_text(f"interval = {interval}\n{entries}")
    hosts = " ".join(f"--host {server.url}" for server in servers)
    session = f"bench-e2e-fleet-{uuid.uuid4().hex[:8]}"
    command = f"{SCRIPT} {hosts} --config {config}; echo EXITED-$?; sleep 30"
    tmux = Tmux(session)
    try:
        for server in servers:
            server.start()
        started = time.monotonic()
        tmux.run("new-session", "-d", "-s", session, "-x", "100", "-y", "30", command)
        screen = tmux.wait_for("Servers (3)", timeout=3.0)
        wait_until(
            lambda: all("connected" in _server_row(tmux.screen(), name) for name in names),
            timeout=max(0.1, 3.0 - (time.monotonic() - started)),
            what="all three servers connected within 3 s",
        )
        assert _loaded(tmux.screen(), "fleet-charlie") == "1"

        # A model loaded from outside (an empty prompt loads it) on the third server.
        _post(servers[2].url, "/api/generate", {"model": "mistral:7b", "prompt": ""})
        wait_until(
            lambda: _loaded(tmux.screen(), "fleet-charlie") == "2",
            timeout=two_intervals,
            what="the loaded model on fleet-charlie",
        )

        # One server killed: unreachable within two intervals.
        servers[1].kill()
        wait_until(
            lambda: "unreachable" in _server_row(tmux.screen(), "fleet-bravo"),
            timeout=two_intervals,
            what="fleet-bravo unreachable",
        )
        # The others keep refreshing: a model added on the first (shown) server appears.
        _post(servers[0].url, "/_sim/models", {"name": "fleet-probe:latest"})
        screen = tmux.wait_for("fleet-probe:latest", timeout=two_intervals)
        assert "unreachable" in _server_row(screen, "fleet-bravo")
        assert "connected" in _server_row(screen, "fleet-alpha")
        assert "connected" in _server_row(screen, "fleet-charlie")

        # Restarted: back with no key pressed (after the back-off of a short outage).
        servers[1].start()
        wait_until(
            lambda: "connected" in _server_row(tmux.screen(), "fleet-bravo"),
            timeout=10,
            what="fleet-bravo connected again",
        )
        tmux.keys("q")
        screen = tmux.wait_for("EXITED-0")
        assert "Traceback" not in screen
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, timeout=10)
        for server in servers:
            server.kill()
