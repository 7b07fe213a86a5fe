"""Simulator fleet mode: several servers in one process, each with its own state."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import httpx
import ollama
import pytest

from ollama_tui.simulator import FLEET_PRESET, Fleet, serve_fleet_in_thread
from ollama_tui.simulator.fleet import fleet_addresses, plan_for

pytestmark = pytest.mark.simulator_only


async def _get(url: str, path: str) -> object:
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        response = await client.get(path)
        response.raise_for_status()
        return response.json()


async def _digests(url: str) -> dict[str, str]:
    body = await _get(url, "/api/tags")
    assert isinstance(body, dict)
    return {m["name"]: m["digest"] for m in body["models"]}


async def test_each_server_answers_with_its_own_version_and_models(fleet: Fleet) -> None:
    assert len(set(fleet.urls)) == 3
    versions = [await _get(url, "/api/version") for url in fleet.urls]
    assert versions == [{"version": plan.version} for plan in FLEET_PRESET]
    assert len({v["version"] for v in versions if isinstance(v, dict)}) == 3
    tags = [await _digests(url) for url in fleet.urls]
    for plan, models in zip(FLEET_PRESET, tags, strict=True):
        assert set(models) == {seed.name for seed in plan.models}
    assert len({frozenset(models) for models in tags}) == 3  # different models on each


async def test_one_model_diverged_between_two_servers(fleet: Fleet) -> None:
    first, second, third = [await _digests(url) for url in fleet.urls]
    assert first["llama3.2:latest"] != second["llama3.2:latest"]
    assert "llama3.2:latest" not in third
    # Same model, same digest, on two servers (the matrix's ✓ next to the ≠).
    assert first["nomic-embed-text:latest"] == second["nomic-embed-text:latest"]
    assert first["qwen2.5:0.5b"] == third["qwen2.5:0.5b"]


async def test_exactly_one_server_has_a_model_loaded(fleet: Fleet) -> None:
    loaded = []
    for url in fleet.urls:
        body = await _get(url, "/api/ps")
        assert isinstance(body, dict)
        loaded.append([m["name"] for m in body["models"]])
    assert loaded == [["llama3.2:latest"], [], []]


async def test_servers_keep_their_own_state(fleet: Fleet) -> None:
    first, second, _ = fleet.simulators
    async with httpx.AsyncClient(timeout=10) as client:
        r = await client.request(
            "DELETE", f"{first.url}/api/delete", json={"model": "llama3.2:latest"}
        )
        assert r.status_code == 200
    assert "llama3.2:latest" not in await _digests(first.url)
    assert "llama3.2:latest" in await _digests(second.url)
    first.reset()  # back to its own preset, not the single server's initial set
    assert set(await _digests(first.url)) == {seed.name for seed in FLEET_PRESET[0].models}


async def test_servers_past_the_preset_get_models_of_their_own() -> None:
    async with Fleet(5) as big:
        tags = [await _digests(url) for url in big.urls]
    assert len({frozenset(models) for models in tags}) == 5
    assert all(models for models in tags)
    assert plan_for(3).label == "server-4"


def test_fleet_addresses_consecutive_listed_and_bad() -> None:
    assert fleet_addresses(3, "127.0.0.1", 11500) == [
        ("127.0.0.1", 11500),
        ("127.0.0.1", 11501),
        ("127.0.0.1", 11502),
    ]
    assert fleet_addresses(2, "::1", 0) == [("::1", 0), ("::1", 0)]
    assert fleet_addresses(2, "h", [7, 9]) == [("h", 7), ("h", 9)]
    for count, ports in [(0, 0), (3, 65534), (2, [1])]:
        with pytest.raises(ValueError):
            fleet_addresses(count, "127.0.0.1", ports)


async def test_a_port_in_use_stops_the_servers_already_started() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        fleet = Fleet(2)
        with pytest.raises(OSError):
            await fleet.start(addresses=[("127.0.0.1", 0), ("127.0.0.1", busy)])
        first = fleet.simulators[0]
        assert first.url
        with pytest.raises(httpx.ConnectError):
            await _get(first.url, "/api/version")


def test_official_client_lists_models_on_each_server() -> None:
    with serve_fleet_in_thread(3) as fleet:
        for plan, url in zip(fleet.plans, fleet.urls, strict=True):
            listed = ollama.Client(host=url).list()
            assert {m.model for m in listed.models} == {seed.name for seed in plan.models}
            assert ollama.Client(host=url).ps().models == [] or plan is FLEET_PRESET[0]


def test_demo_fleet_is_startable_from_the_demo_code_path() -> None:
    from ollama_tui.__main__ import _demo_fleet
    from ollama_tui.config import Settings

    with _demo_fleet() as servers:
        assert [s.name for s in servers] == ["workstation", "gpu-box", "laptop"]
        settings = Settings(servers=servers)  # what the fleet view will start with
        assert settings.host == servers[0].url
        with httpx.Client(timeout=10) as client:
            versions = [client.get(f"{s.url}/api/version").json()["version"] for s in servers]
        assert versions == [plan.version for plan in FLEET_PRESET]
    with pytest.raises(httpx.ConnectError), httpx.Client() as client:
        client.get(servers[0].url)


# --- the process ------------------------------------------------------------------------------


def _free_run(count: int) -> int:
    """A base port with ``count`` free consecutive ports after it (checked, then released)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + count > 65535:
            continue
        sockets = []
        try:
            for k in range(count):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", base + k))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise AssertionError("no run of free ports")


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ollama_tui.simulator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_fleet_on_consecutive_ports_starts_and_stops_cleanly(sig: signal.Signals) -> None:
    base = _free_run(3)
    proc = _start("--fleet", "3", "--listen", f"127.0.0.1:{base}")
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
        urls = [line.split()[-1] for line in lines]
        assert all(line.startswith("Simulated Ollama server listening on ") for line in lines)
        assert urls == [f"http://127.0.0.1:{base + k}" for k in range(3)]
        with httpx.Client(timeout=10) as client:
            versions = [client.get(f"{url}/api/version").json()["version"] for url in urls]
            names = [
                {m["name"] for m in client.get(f"{url}/api/tags").json()["models"]} for url in urls
            ]
        assert versions == [plan.version for plan in FLEET_PRESET]
        assert names == [{seed.name for seed in plan.models} for plan in FLEET_PRESET]
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == 0
        assert "Traceback" not in err
        for url in urls:
            with pytest.raises(httpx.ConnectError), httpx.Client() as client:
                client.get(url)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_fleet_on_listed_ports() -> None:
    proc = _start("--listen", "127.0.0.1:0,127.0.0.1:0")
    try:
        assert proc.stdout is not None
        urls = [proc.stdout.readline().split()[-1] for _ in range(2)]
        with httpx.Client(timeout=10) as client:
            versions = [client.get(f"{url}/api/version").json()["version"] for url in urls]
        assert versions == [FLEET_PRESET[0].version, FLEET_PRESET[1].version]
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == 0 and "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fleet", "0"], "at least 1"),
        (["--fleet", "3", "--listen", "127.0.0.1:1,127.0.0.1:2"], "--fleet 3 with 2"),
        (["--fleet", "3", "--listen", "127.0.0.1:65534"], "not all valid ports"),
        (["--listen", "127.0.0.1:0,127.0.0.1:x"], "bad port"),
    ],
)
def test_cli_fleet_usage_errors(args: list[str], message: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ollama_tui.simulator", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2 and message in proc.stderr


def test_cli_fleet_port_in_use_fails_without_traceback() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "ollama_tui.simulator",
                "--listen",
                f"127.0.0.1:0,127.0.0.1:{busy}",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
