"""Shared fixtures: a simulated Ollama server on loopback, or a real one via OLLAMA_TEST_HOST."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

REAL_SERVER = os.environ.get("OLLAMA_TEST_HOST", "").strip()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip simulator-only tests against a real server, and real-server-only tests otherwise."""
    for item in items:
        if REAL_SERVER and item.get_closest_marker("simulator_only"):
            item.add_marker(pytest.mark.skip(reason="needs the simulator's control API"))
        if not REAL_SERVER and item.get_closest_marker("real_server_only"):
            item.add_marker(pytest.mark.skip(reason="needs OLLAMA_TEST_HOST (a real Ollama)"))


@pytest.fixture
def real_server() -> bool:
    return bool(REAL_SERVER)


@pytest.fixture
async def sim() -> AsyncIterator[object]:
    """A simulator started on a free loopback port, stopped after the test."""
    from ollama_tui.simulator import Simulator

    simulator = Simulator()
    await simulator.start("127.0.0.1", 0)
    try:
        yield simulator
    finally:
        await simulator.stop()


@pytest.fixture
def server_url(request: pytest.FixtureRequest) -> str:
    """The server the client tests talk to: a real Ollama if OLLAMA_TEST_HOST is set."""
    if REAL_SERVER:
        from ollama_tui.api.hosts import resolve_host

        return resolve_host(REAL_SERVER)
    simulator = request.getfixturevalue("sim")
    return str(simulator.url)
