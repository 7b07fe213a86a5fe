"""A fleet served by several simulator PROCESSES (not threads), polled by the app.

Issue #10's acceptance, fast (``App.run_test``): three servers from two processes (one runs a
fleet of two, the other a single server on a fixed port, so it can be killed and started again).
All three show within 3 s; a model loaded from outside shows within two intervals; the killed
server shows unreachable within two intervals while the others keep refreshing (a model added
on another is seen); restarted, it comes back with no key pressed.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest
from conftest import SimulatorProcess, wait_for

from ollama_tui.app import OllamaTuiApp
from ollama_tui.config import ServerSettings, Settings

pytestmark = pytest.mark.simulator_only

INTERVAL = 0.5
# Two intervals, plus one poll's round trip and a frame on a busy machine.
TWO_INTERVALS = 2 * INTERVAL + 0.5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def processes() -> Iterator[tuple[SimulatorProcess, SimulatorProcess]]:
    pair = SimulatorProcess("--fleet", "2", "--listen", "127.0.0.1:0", servers=2)
    single = SimulatorProcess("--listen", f"127.0.0.1:{free_port()}")
    try:
        pair.start()
        single.start()
        yield pair, single
    finally:
        pair.kill()
        single.kill()


def row(app: OllamaTuiApp, index: int) -> tuple[str, ...]:
    assert app.dashboard is not None and app.dashboard.servers_table is not None
    return app.dashboard.servers_table.rows()[index]


def post(url: str, path: str, body: dict[str, object]) -> None:
    """A request from outside the app (another client of the same server)."""
    httpx.post(f"{url}{path}", json=body, timeout=10).raise_for_status()


async def test_a_fleet_of_simulator_processes(
    processes: tuple[SimulatorProcess, SimulatorProcess],
) -> None:
    pair, single = processes
    urls = [*pair.urls, *single.urls]
    names = ("one", "two", "three")
    servers = tuple(ServerSettings(n, u) for n, u in zip(names, urls, strict=True))
    app = OllamaTuiApp(Settings(interval=INTERVAL, servers=servers))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(
            pilot,
            lambda: all(row(app, k)[2] == "connected" for k in range(3)),
            timeout=3.0,
            what="all three servers connected within 3 s",
        )
        assert [row(app, k)[1] for k in range(3)] == list(names)
        assert [row(app, k)[3] for k in range(3)] == ["0.31.0", "0.30.2", "0.12.6"]

        # Loaded from outside (an empty prompt loads the model) on the second server.
        loaded = int(row(app, 1)[5])
        post(urls[1], "/api/generate", {"model": "mistral:7b", "prompt": ""})
        await wait_for(
            pilot,
            lambda: row(app, 1)[5] == str(loaded + 1),
            timeout=TWO_INTERVALS,
            what="the model loaded from outside",
        )

        # The single server's process killed: unreachable within two intervals.
        single.kill()
        await wait_for(
            pilot,
            lambda: row(app, 2)[2].startswith("unreachable"),
            timeout=TWO_INTERVALS,
            what="the killed server unreachable",
        )
        # The others keep refreshing: a model added on the first (shown) server appears.
        post(urls[0], "/_sim/models", {"name": "fleet-probe:latest"})
        assert app.dashboard is not None
        installed = app.dashboard.installed_table
        await wait_for(
            pilot,
            lambda: any(key[0] == "fleet-probe:latest" for key in installed.items),
            timeout=TWO_INTERVALS,
            what="the model added on a server that is up",
        )
        assert row(app, 0)[8] == "5" and row(app, 0)[2] == "connected"
        assert row(app, 2)[2].startswith("unreachable")

        # Started again on its port: back with no key pressed (a short outage's back-off).
        single.start()
        await wait_for(
            pilot,
            lambda: row(app, 2)[2] == "connected",
            timeout=10.0,
            what="the restarted server connected again",
        )
        assert row(app, 2)[8] != "–"
