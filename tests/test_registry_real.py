"""The outdated check against a real OCI registry: Debian's ``docker-registry`` (distribution).

The test starts it on loopback with its storage in a temporary folder, pushes a model's blobs
and manifest with plain HTTP (as ``ollama push`` would), checks, re-pushes the tag with another
manifest, and checks again. ``.ci/run`` installs the package when it is missing; elsewhere the
test is skipped (``sudo apt-get install docker-registry`` enables it).
"""

from __future__ import annotations

import hashlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ollama_tui.registry import Freshness, RegistryChecker
from ollama_tui.simulator.registry import manifest_bytes

REGISTRY = shutil.which("docker-registry")
pytestmark = pytest.mark.skipif(
    REGISTRY is None,
    reason="needs a real OCI registry: `sudo apt-get install docker-registry` enables this test",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``host:port`` of a running registry."""
    folder: Path = tmp_path_factory.mktemp("registry")
    port = _free_port()
    config = folder / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: error\n"
        f"storage:\n  filesystem:\n    rootdirectory: {folder / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    assert REGISTRY is not None
    process = subprocess.Popen(
        [REGISTRY, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v2/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"docker-registry did not start: {process.stderr!r}")
            time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def _push(host: str, repository: str, tag: str, weights: bytes) -> str:
    """Upload the blobs and put the manifest, as a push does; returns the manifest digest."""
    config = b'{"model_format":"gguf","model_family":"llama"}'
    layers = [("application/vnd.ollama.image.model", weights)]
    base = f"http://{host}/v2/{repository}"
    with httpx.Client(timeout=10) as http:
        for blob in (config, weights):
            digest = "sha256:" + hashlib.sha256(blob).hexdigest()
            started = http.post(f"{base}/blobs/uploads/")
            assert started.status_code == 202, started.text
            # The upload URL carries its own query (the upload's state): add to it.
            location = httpx.URL(started.headers["Location"]).copy_merge_params({"digest": digest})
            put = http.put(location, content=blob)
            assert put.status_code == 201, put.text
        body = manifest_bytes(config, layers)
        put = http.put(
            f"{base}/manifests/{tag}",
            content=body,
            headers={"Content-Type": "application/vnd.docker.distribution.manifest.v2+json"},
        )
        assert put.status_code == 201, put.text
        assert put.headers["Docker-Content-Digest"] == "sha256:" + hashlib.sha256(body).hexdigest()
        return put.headers["Docker-Content-Digest"]


async def test_up_to_date_then_outdated_after_the_tag_is_pushed_again(registry: str) -> None:
    local = _push(registry, "library/tiny", "latest", b"weights one")
    name = f"{registry}/library/tiny:latest"
    async with RegistryChecker(insecure_registries=[registry]) as checker:
        assert (await checker.check(name, local)).state is Freshness.UP_TO_DATE
        # What the server that pushed it has: the same manifest plus a newline.
        body = httpx.get(
            f"http://{registry}/v2/library/tiny/manifests/latest",
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
        ).content
        pushed = "sha256:" + hashlib.sha256(body + b"\n").hexdigest()
        assert (await checker.check(name, pushed)).state is Freshness.UP_TO_DATE
    newer = _push(registry, "library/tiny", "latest", b"weights two")
    async with RegistryChecker(insecure_registries=[registry]) as checker:
        result = await checker.check(name, local)
        missing = await checker.check(f"{registry}/library/nothing:here", local)
    assert result.state is Freshness.OUTDATED
    assert result.remote_digest == newer
    assert missing.state is Freshness.LOCAL
