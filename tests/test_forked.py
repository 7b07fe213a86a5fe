"""The first fetch of a fleet in a forked child (``ollama_tui.forked``, ``Poller.prefetch_many``).

A fork is only safe from a process with one thread, which pytest's is not always: every case
that forks runs in a fresh ``python`` of its own, against simulators in other processes.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from conftest import SimulatorProcess

from ollama_tui import forked

pytestmark = pytest.mark.simulator_only


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_script(script: str, timeout: float = 60) -> dict[str, object]:
    """Run ``script`` in a new interpreter; its last line of output is a JSON object."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_results_come_back_and_what_fails_or_is_late_comes_back_as_none() -> None:
    result = run_script(
        """
        import json, os, signal, threading, time
        from ollama_tui import forked

        def work(index):
            if index == 1:
                raise ValueError("broken")
            if index == 2:
                time.sleep(30)  # outlives the timeout: the child is killed
            if index == 3:
                # Ctrl+C in the terminal reaches the child too: it is the app's, not the child's.
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.2)
            return {"index": index, "pid": os.getpid()}

        got = {}
        done = threading.Event()

        def deliver(index, value):
            got[index] = value
            if len(got) == 5:
                done.set()

        started = time.monotonic()
        assert forked.run_forked(5, work, deliver, timeout=2.0)
        assert done.wait(20)
        took = time.monotonic() - started
        time.sleep(0.2)
        try:
            os.waitpid(-1, os.WNOHANG)
            children = "left"
        except ChildProcessError:
            children = "none"
        print(json.dumps({"got": {str(k): v for k, v in got.items()}, "took": took,
                          "me": os.getpid(), "children": children}))
        """
    )
    got = result["got"]
    assert isinstance(got, dict)
    assert got["0"]["index"] == 0 and got["4"]["index"] == 4
    assert got["0"]["pid"] != result["me"]  # done in another process
    assert got["1"] is None  # failed
    assert got["2"] is None  # too late
    assert got["3"]["index"] == 3  # SIGINT did not end the child
    assert 1.5 <= float(result["took"]) < 10  # waited for the timeout, not for the sleeper
    assert result["children"] == "none"  # the child was reaped (killed, as it outlived it)


def test_an_app_that_has_gone_leaves_no_child_and_nothing_on_the_terminal() -> None:
    """The app quits (or fails) while the child still reads a slow server: the child says
    nothing on the terminal, ends at its next write, and holds none of the app's streams."""
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                import time
                from ollama_tui import forked

                def work(index):
                    time.sleep(3)
                    return index

                assert forked.run_forked(3, work, lambda i, v: None, timeout=10.0)
                print("gone")
                """
            ),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "gone"
    assert done.stderr == ""  # no BrokenPipeError traceback from the child's threads
    assert took < 2.5  # the captured streams closed with the app, not 3 s later


def test_no_fork_while_another_thread_runs() -> None:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    try:
        assert not forked.can_fork()
        assert not forked.run_forked(2, lambda i: i, lambda i, v: None, timeout=1.0)
    finally:
        stop.set()
        thread.join()


@pytest.fixture
def five_servers() -> Iterator[list[str]]:
    fleet = SimulatorProcess("--fleet", "5", "--listen", "127.0.0.1:0", servers=5)
    try:
        yield fleet.start()
    finally:
        fleet.kill()


START_UP = """
    import json, time
    from ollama_tui.__main__ import build_app
    from ollama_tui.config import ServerSettings, Settings

    urls = {urls!r}
    app = build_app(Settings(servers=tuple(ServerSettings(None, u) for u in urls), interval=60.0))
    lists, errors = {{}}, {{}}
    for target in app.poller.targets:
        try:
            snapshot = target.prefetched.result(timeout=30)
        except Exception as error:
            errors[target.base_url] = type(error).__name__ + ": " + str(error)
            continue
        lists[target.base_url] = {{
            "installed": [[m.name, m.digest, m.size] for m in snapshot.installed],
            "running": [m.name for m in snapshot.running],
            "version": snapshot.version,
            "kept": [[m.name for m in target.installed], [m.name for m in target.running]],
        }}
    print(json.dumps({{"forked": app.poller.forked, "lists": lists, "errors": errors}}))
"""


def served(url: str) -> dict[str, object]:
    tags = httpx.get(url + "/api/tags").json()["models"]
    return {
        "installed": [[m["name"], m["digest"], m["size"]] for m in tags],
        "running": [m["name"] for m in httpx.get(url + "/api/ps").json()["models"]],
        "version": httpx.get(url + "/api/version").json()["version"],
    }


def test_a_fleets_first_fetch_is_read_in_a_forked_child_as_the_servers_serve_it(
    five_servers: list[str],
) -> None:
    """The console script's start-up (build_app) with five servers: the first server's lists
    are read at home, the four others' in a forked child, and each is what its server serves."""
    result = run_script(START_UP.format(urls=five_servers))
    assert result["forked"] == 4
    assert result["errors"] == {}
    lists = result["lists"]
    assert isinstance(lists, dict)
    assert sorted(lists) == sorted(five_servers)
    for url in five_servers:
        expected = served(url)
        got = lists[url]
        assert got["installed"] == expected["installed"]
        assert got["running"] == expected["running"]
        assert got["version"] == expected["version"]
        # The poller keeps what the first poll compares the next one with.
        assert got["kept"] == [[m[0] for m in got["installed"]], got["running"]]


def test_a_server_the_child_cannot_read_is_asked_again_by_the_async_client(
    five_servers: list[str],
) -> None:
    """A server that refuses connections (the second) fails in the child; the app's own async
    client asks again, so its error is the one the UI knows how to explain."""
    dead = f"http://127.0.0.1:{free_port()}"
    urls = [five_servers[0], dead, *five_servers[1:]]
    result = run_script(START_UP.format(urls=urls))
    assert result["forked"] == 5
    errors = result["errors"]
    assert isinstance(errors, dict)
    assert list(errors) == [dead]
    assert errors[dead].startswith("ServerUnreachable")
    assert sorted(result["lists"]) == sorted(five_servers)  # type: ignore[arg-type]


def test_a_server_named_twice_counts_once(five_servers: list[str]) -> None:
    """Three servers, one of them given twice: three targets, so no fork (and no server is
    fetched twice)."""
    urls = [*five_servers[:3], five_servers[1]]
    result = run_script(START_UP.format(urls=urls))
    assert result["forked"] == 0
    assert result["errors"] == {}
    assert sorted(result["lists"]) == sorted(five_servers[:3])  # type: ignore[arg-type]


def test_three_servers_are_read_on_threads(five_servers: list[str]) -> None:
    result = run_script(START_UP.format(urls=five_servers[:3]))
    assert result["forked"] == 0
    assert result["errors"] == {}
    assert sorted(result["lists"]) == sorted(five_servers[:3])  # type: ignore[arg-type]
