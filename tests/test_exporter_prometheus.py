"""``ollama-tui export`` scraped by a real Prometheus (the Debian package ``prometheus``).

Three simulated servers, the exporter as the console command in a subprocess, and Prometheus
on loopback scraping it every second; the test asks Prometheus's HTTP API. Outside CI, without
the ``prometheus`` binary, it skips (``apt-get install prometheus`` enables it); in CI
(``$CI`` set) a missing binary fails, since ``.ci/run`` installs it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import poll_until

pytestmark = pytest.mark.simulator_only

SCRAPE = 1.0
"""Prometheus's scrape interval (seconds)."""
INTERVAL = 0.5
"""The exporter's poll interval."""
NAMES = ("workstation", "gpu-box", "laptop")


def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("prometheus is missing in CI: .ci/run installs the Debian package")
        pytest.skip("needs the real Prometheus: `apt-get install prometheus` enables this test")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def read_url(process: asyncio.subprocess.Process) -> str:
    """The exporter's address, from the line it prints once it listens."""
    assert process.stderr is not None
    while True:
        line = (await asyncio.wait_for(process.stderr.readline(), 30)).decode()
        if not line:
            raise AssertionError("the exporter ended before serving")
        if "serving http://" in line:
            return line.split("serving ", 1)[1].split("/metrics", 1)[0]


async def test_prometheus_scrapes_the_fleet_and_sees_a_server_go_down(
    fleet: Any, tmp_path: Path
) -> None:
    binary = prometheus_binary()
    config = tmp_path / "ollama-tui.toml"
    config.write_text(
        "".join(
            f'[[servers]]\nname = "{name}"\nurl = "{url}"\n\n'
            for name, url in zip(NAMES, fleet.urls, strict=True)
        )
    )
    # Prometheus starts scraping about 5 s after it starts (its discovery's fixed update
    # interval): it starts at once, the exporter meanwhile, on a port chosen for it.
    target = f"127.0.0.1:{free_port()}"
    (tmp_path / "prometheus.yml").write_text(
        f"global:\n  scrape_interval: {SCRAPE:g}s\n  scrape_timeout: {SCRAPE:g}s\n"
        "scrape_configs:\n  - job_name: ollama\n"
        f"    static_configs:\n      - targets: ['{target}']\n"
    )
    port = free_port()
    prometheus = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=error",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    exporter = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ollama_tui",
        "export",
        "--listen",
        target,
        "--config",
        str(config),
        "--interval",
        str(INTERVAL),
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert await read_url(exporter) == f"http://{target}"
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as api:

            async def query(expr: str) -> dict[str, Any]:
                """server label -> the query's value (a number, or the range's samples)."""
                try:
                    response = await api.get("/api/v1/query", params={"query": expr})
                except httpx.TransportError:  # not listening yet
                    response = None
                if response is None or response.status_code != 200:
                    await asyncio.sleep(0.05)  # while waiting: not hundreds of queries a second
                    return {}
                out: dict[str, Any] = {}
                for item in response.json()["data"]["result"]:
                    server = item["metric"].get("server", "")
                    if "values" in item:
                        out[server] = [(float(t), float(v)) for t, v in item["values"]]
                    else:
                        out[server] = float(item["value"][1])
                return out

            async def all_up() -> bool:
                if await query("ollama_up") == dict.fromkeys(NAMES, 1.0):
                    return True
                await asyncio.sleep(0.05)
                return False

            await poll_until(all_up, timeout=15, what="Prometheus sees every server up")
            installed = await query("ollama_models_installed")
            assert installed == {
                name: len(plan.models) for name, plan in zip(NAMES, fleet.plans, strict=True)
            }
            loaded = await query('ollama_running_model_size_bytes{model="llama3.2:latest"}')
            assert set(loaded) == {"workstation"} and loaded["workstation"] > 0
            assert set(await query("ollama_version_info")) == set(NAMES)

            before = await query("ollama_last_poll_success_timestamp_seconds")
            killed = time.time()
            await fleet.simulators[1].stop()

            async def gpu_down() -> bool:
                return (await query('ollama_up{server="gpu-box"}')).get("gpu-box") == 0.0

            await poll_until(gpu_down, timeout=4 * SCRAPE, what="gpu-box's up becomes 0")
            samples = (await query('ollama_up{server="gpu-box"}[30s]'))["gpu-box"]
            first_zero = min(t for t, v in samples if v == 0.0 and t >= killed)
            # Scrapes are SCRAPE apart: the down server is seen within two of them.
            assert first_zero - killed <= 2 * SCRAPE, samples

            async def others_updating() -> bool:
                now = await query("ollama_last_poll_success_timestamp_seconds")
                return all(now.get(n, 0) > before[n] for n in ("workstation", "laptop"))

            await poll_until(others_updating, timeout=3 * SCRAPE, what="others keep updating")
            up = await query("ollama_up")
            assert up == {"workstation": 1.0, "gpu-box": 0.0, "laptop": 1.0}
            # The down server's other series are gone (not served as if current).
            assert set(await query("ollama_models_installed")) == {"workstation", "laptop"}
    finally:
        prometheus.terminate()
        try:
            prometheus.wait(10)
        except subprocess.TimeoutExpired:
            prometheus.kill()
            prometheus.wait()
        if exporter.returncode is None:
            exporter.terminate()
        assert exporter.stderr is not None
        _, err = await asyncio.wait_for(exporter.communicate(), 10)
        # SIGTERM ends it cleanly: exit code 0, nothing but its own lines said.
        assert exporter.returncode == 0, err.decode()
        assert b"Traceback" not in err, err.decode()
