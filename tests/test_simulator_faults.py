"""Simulator: fault injection, control endpoints, connections, thread runner and CLI."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from conftest import poll_until

from ollama_tui.simulator import FaultSet, Simulator, serve_in_thread

pytestmark = pytest.mark.simulator_only


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.url, timeout=10) as c:
        yield c


# --- fault kinds ----------------------------------------------------------------------------


async def test_status_fault_with_count(client: httpx.AsyncClient, sim: Simulator) -> None:
    sim.faults.add("/api/tags", "status", count=2, status=503, message="busy")
    for _ in range(2):
        r = await client.get("/api/tags")
        assert (r.status_code, r.json()) == (503, {"error": "busy"})
    assert (await client.get("/api/tags")).status_code == 200
    assert len(sim.faults) == 0


async def test_fault_until_cleared_and_star(client: httpx.AsyncClient, sim: Simulator) -> None:
    sim.faults.add("*", "status", status=500)
    for path in ("/api/tags", "/api/ps", "/api/version"):
        assert (await client.get(path)).status_code == 500
    assert (await client.get("/_sim/requests")).status_code == 200  # control: never faulted
    sim.faults.clear()
    assert (await client.get("/api/tags")).status_code == 200
    sim.faults.add("/api/ps", "status", status=500)
    assert (await client.get("/api/tags")).status_code == 200  # exact path only


async def test_delay_fault(client: httpx.AsyncClient, sim: Simulator) -> None:
    sim.faults.add("/api/ps", "delay", count=1, seconds=0.2)
    t0 = time.perf_counter()
    r = await client.get("/api/ps")
    assert r.status_code == 200 and r.json()["models"]
    assert time.perf_counter() - t0 >= 0.19


async def test_malformed_and_not_json(client: httpx.AsyncClient, sim: Simulator) -> None:
    sim.faults.add("/api/tags", "malformed_json", count=1)
    r = await client.get("/api/tags")
    assert r.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.text)
    sim.faults.add("/api/tags", "not_json", count=1)
    r = await client.get("/api/tags")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    sim.faults.add("/api/pull", "malformed_json", count=1)
    r = await client.post("/api/pull", json={"model": "gemma3:1b"})
    assert r.headers["content-type"] == "application/x-ndjson"
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.text.splitlines()[0])


async def test_cut_fault(client: httpx.AsyncClient, sim: Simulator) -> None:
    sim.faults.add("/api/pull", "cut", count=1, after_lines=2)
    received: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError):
        async with client.stream("POST", "/api/pull", json={"model": "llama3.2"}) as r:
            async for line in r.aiter_lines():
                received.append(line)
    assert len(received) == 2
    assert json.loads(received[0]) == {"status": "pulling manifest"}
    sim.faults.add("/api/tags", "cut", count=1)
    with pytest.raises(httpx.RemoteProtocolError):
        await client.get("/api/tags")
    # after_lines beyond the stream's length: the stream is cut instead of ending cleanly
    sim.faults.add("/api/pull", "cut", count=1, after_lines=10_000)
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post("/api/pull", json={"model": "llama3.2"})
    assert (await client.get("/api/tags")).status_code == 200


async def test_error_line_fault(client: httpx.AsyncClient, sim: Simulator) -> None:
    sim.faults.add("/api/pull", "error_line", count=1, after_lines=1, message="disk full")
    r = await client.post("/api/pull", json={"model": "llama3.2"})
    assert r.status_code == 200
    lines = [json.loads(x) for x in r.text.splitlines()]
    assert lines == [{"status": "pulling manifest"}, {"error": "disk full"}]
    sim.faults.add("/api/create", "error_line", count=1)
    r = await client.post("/api/create", json={"model": "x", "from": "llama3.2"})
    assert [json.loads(x) for x in r.text.splitlines()] == [{"error": "simulated error"}]


async def test_hang_fault_and_stop() -> None:
    sim = Simulator()
    await sim.start()
    sim.faults.add("/api/ps", "hang")
    async with httpx.AsyncClient(base_url=sim.url) as c:
        with pytest.raises(httpx.ReadTimeout):
            await c.get("/api/ps", timeout=0.2)
        task = asyncio.create_task(c.get("/api/ps", timeout=30))
        await poll_until(lambda: sim.active_requests >= 1)
        t0 = time.perf_counter()
        await sim.stop()  # must not wait for the hanging request
        assert time.perf_counter() - t0 < 2
        with pytest.raises(httpx.HTTPError):
            await task


async def test_refuse_fault(client: httpx.AsyncClient, sim: Simulator) -> None:
    sim.faults.add("/api/version", "refuse", count=1)
    with pytest.raises(httpx.RemoteProtocolError):
        await client.get("/api/version")
    assert (await client.get("/api/version")).status_code == 200


def test_faultset_validation() -> None:
    faults = FaultSet()
    with pytest.raises(ValueError):
        faults.add("/api/tags", "explode")
    with pytest.raises(ValueError):
        faults.add("/api/tags", "status", count=0)
    fault = faults.add("/api/tags", "status", status=418, message="teapot")
    assert (fault.status, fault.message) == (418, "teapot")
    assert faults.take("/api/ps") is None
    assert faults.take("/api/tags") == fault
    faults.clear()
    assert faults.take("/api/tags") is None


# --- control endpoints ----------------------------------------------------------------------


async def test_control_faults_endpoint(client: httpx.AsyncClient, sim: Simulator) -> None:
    r = await client.post(
        "/_sim/faults", json={"path": "/api/ps", "kind": "status", "status": 502, "count": 1}
    )
    assert r.status_code == 200
    assert (await client.get("/_sim/faults")).json()["faults"][0]["kind"] == "status"
    assert (await client.get("/api/ps")).status_code == 502
    await client.post("/_sim/faults", json={"path": "/api/ps", "kind": "status"})
    assert (await client.request("DELETE", "/_sim/faults")).status_code == 200
    assert (await client.get("/api/ps")).status_code == 200
    r = await client.post("/_sim/faults", json={"path": "/api/ps", "kind": "bogus"})
    assert r.status_code == 400 and "unknown fault kind" in r.json()["error"]


async def test_control_models_load_reset_requests(
    client: httpx.AsyncClient, sim: Simulator
) -> None:
    r = await client.post(
        "/_sim/models",
        json={"name": "ns/weird:tag", "family": "[b]bold[/b]", "capabilities": ["vision"]},
    )
    assert r.status_code == 200
    tags = (await client.get("/api/tags")).json()["models"]
    assert tags[0]["name"] == "ns/weird:tag" and tags[0]["details"]["family"] == "[b]bold[/b]"
    r = await client.post("/_sim/load", json={"model": "ns/weird:tag", "keep_alive": "1h"})
    assert r.status_code == 200
    assert (await client.get("/api/ps")).json()["models"][0]["name"] == "ns/weird:tag"
    r = await client.post("/_sim/load", json={"model": "missing"})
    assert r.status_code == 404
    requests = (await client.get("/_sim/requests")).json()["requests"]
    assert [x["path"] for x in requests] == ["/api/tags", "/api/ps"]  # control calls not logged
    assert (await client.post("/_sim/reset")).status_code == 200
    assert all(m.name != "ns/weird:tag" for m in sim.models)
    assert (await client.get("/_sim/requests")).json() == {"requests": []}
    assert (await client.get("/_sim/nope")).status_code == 404
    r = await client.post("/_sim/models", json={})
    assert r.status_code == 400


# --- connections ----------------------------------------------------------------------------


async def test_connections_tracked(sim: Simulator) -> None:
    assert sim.open_connections == sim.tcp_connections == 0
    client = httpx.AsyncClient(base_url=sim.url)
    await client.get("/api/tags")
    await poll_until(lambda: sim.tcp_connections == 1)  # idle keep-alive connection
    assert sim.open_connections == 0  # ... which is not busy
    sim.faults.add("/api/ps", "hang", count=1)
    task = asyncio.create_task(client.get("/api/ps"))
    await poll_until(lambda: sim.open_connections == 1)
    task.cancel()
    await poll_until(lambda: sim.open_connections == 0)
    await client.aclose()
    await poll_until(lambda: sim.tcp_connections == 0)


async def test_closing_stream_frees_connection() -> None:
    async with Simulator(bandwidth=1e8) as sim, httpx.AsyncClient(base_url=sim.url) as c:
        async with c.stream("POST", "/api/pull", json={"model": "mistral:latest"}) as r:
            async for _ in r.aiter_lines():
                break
        await poll_until(lambda: sim.active_requests == 0)
        await poll_until(lambda: sim.open_connections == 0)
        await poll_until(lambda: sim.tcp_connections == 0)


# --- thread runner --------------------------------------------------------------------------


def test_serve_in_thread_sync_use() -> None:
    with serve_in_thread(bandwidth=1e13, models=3) as sim:
        assert sim.url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=sim.url) as c:
            assert c.get("/api/version").json() == {"version": "0.12.6"}
            sim.add_model("from/thread:latest")
            sim.load_model("from/thread")
            sim.faults.add("/api/tags", "status", count=1, status=500)
            assert c.get("/api/tags").status_code == 500
            names = [m["name"] for m in c.get("/api/tags").json()["models"]]
            assert "from/thread:latest" in names
            assert c.get("/api/ps").json()["models"][0]["name"] == "from/thread:latest"
            r = c.post("/api/pull", json={"model": "qwen2.5:0.5b", "stream": False})
            assert r.json() == {"status": "success"}
            sim.reset()
            assert c.get("/api/ps").json()["models"][0]["name"] == "llama3.2:latest"
        url = sim.url
    with pytest.raises(httpx.ConnectError), httpx.Client() as c:
        c.get(url)


# --- CLI ------------------------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_starts_and_stops_cleanly(sig: signal.Signals) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ollama_tui.simulator",
            "--listen",
            "127.0.0.1:0",
            "--models",
            "5",
            "--bandwidth",
            "1e9",
            "--prepare",
            "bench/x=50",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("Simulated Ollama server listening on http://127.0.0.1:")
        url = line.split()[-1]
        with httpx.Client(base_url=url) as c:
            assert c.get("/").text == "Ollama is running"
            assert len(c.get("/api/tags").json()["models"]) >= 5
            lines = c.post("/api/pull", json={"model": "bench/x"}).text.splitlines()
            assert len(lines) == 50
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == 0
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_bad_listen() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ollama_tui.simulator", "--listen", "127.0.0.1:notaport"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2 and "bad port" in proc.stderr
