"""Failure paths and cancellation, driven through the simulator's fault injection."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from tiny_gguf import write_tiny_gguf

from ollama_tui.api import (
    ApiError,
    InvalidInput,
    OllamaClient,
    ProgressEvent,
    ProtocolError,
    ServerUnreachable,
    StreamError,
)

pytestmark = pytest.mark.simulator_only

LLAMA_1B = "llama3.2:1b"


async def collect(iterator: AsyncIterator[ProgressEvent]) -> list[ProgressEvent]:
    return [event async for event in iterator]


async def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@pytest.fixture
async def client(sim: Any) -> AsyncIterator[OllamaClient]:
    async with OllamaClient(sim.url, environ={}, timeout=2.0) as c:
        yield c


# -- polling calls ----------------------------------------------------------------------------


async def test_status_fault_keeps_server_message(sim: Any, client: OllamaClient) -> None:
    sim.faults.add("/api/tags", "status", count=1, status=500, message="disk on fire")
    with pytest.raises(ApiError) as info:
        await client.list_models()
    assert info.value.status_code == 500
    assert str(info.value) == "disk on fire"
    assert await client.list_models()  # the fault was used up


@pytest.mark.parametrize("path", ["/api/tags", "/api/ps", "/api/version"])
@pytest.mark.parametrize("kind", ["not_json", "malformed_json"])
async def test_bad_bodies_are_protocol_errors(
    sim: Any, client: OllamaClient, path: str, kind: str
) -> None:
    sim.faults.add(path, kind, count=1)
    call = {
        "/api/tags": client.list_models,
        "/api/ps": client.running,
        "/api/version": client.version,
    }[path]
    with pytest.raises(ProtocolError, match=path):
        await call()


async def test_show_not_json(sim: Any, client: OllamaClient) -> None:
    sim.faults.add("/api/show", "not_json", count=1)
    with pytest.raises(ProtocolError, match="POST /api/show"):
        await client.show("llama3.2")


async def test_hang_times_out_quickly(sim: Any) -> None:
    sim.faults.add("/api/tags", "hang")
    async with OllamaClient(sim.url, environ={}, timeout=0.3) as client:
        started = time.monotonic()
        with pytest.raises(ServerUnreachable) as info:
            await client.list_models()
        assert time.monotonic() - started < 3
    assert "did not answer within 0.3 s" in str(info.value)


async def test_delay_within_timeout_is_fine(sim: Any, client: OllamaClient) -> None:
    sim.faults.add("/api/ps", "delay", count=1, seconds=0.2)
    assert isinstance(await client.running(), list)


async def test_refuse_is_unreachable(sim: Any, client: OllamaClient) -> None:
    sim.faults.add("/api/version", "refuse", count=1)
    with pytest.raises(ServerUnreachable) as info:
        await client.version()
    assert str(info.value).startswith(f"cannot reach the Ollama server at {sim.url}")
    assert await client.version()


async def test_cut_plain_answer_is_unreachable(sim: Any, client: OllamaClient) -> None:
    sim.faults.add("/api/tags", "cut", count=1, after_lines=0)
    with pytest.raises(ServerUnreachable, match="closed without a response"):
        await client.list_models()


async def test_server_gone(sim: Any, client: OllamaClient) -> None:
    await sim.stop()
    with pytest.raises(ServerUnreachable, match="connection refused"):
        await client.running()


# -- streams ----------------------------------------------------------------------------------


async def test_pull_success_sequence(sim: Any, client: OllamaClient) -> None:
    sim.bandwidth = 1e11
    events = await collect(client.pull(LLAMA_1B))
    assert events[0] == ProgressEvent("pulling manifest")
    assert events[-1] == ProgressEvent("success")
    layers = [e for e in events if e.is_layer]
    assert layers
    assert all(e.digest and e.digest.startswith("sha256:") for e in layers)
    assert all(e.status == f"pulling {e.digest[7:19]}" for e in layers if e.digest)
    assert any(e.status == "verifying sha256 digest" for e in events)
    body = next(r.json for r in sim.requests if r.path == "/api/pull")
    assert body == {"model": LLAMA_1B, "name": LLAMA_1B, "insecure": False, "stream": True}


async def test_pull_error_line(sim: Any, client: OllamaClient) -> None:
    sim.faults.add("/api/pull", "error_line", count=1, after_lines=2, message="registry exploded")
    seen: list[ProgressEvent] = []
    with pytest.raises(StreamError) as info:
        async for event in client.pull(LLAMA_1B):
            seen.append(event)
    assert str(info.value) == "registry exploded"
    assert len(seen) == 2


async def test_pull_cut_stream(sim: Any, client: OllamaClient) -> None:
    sim.faults.add("/api/pull", "cut", count=1, after_lines=3)
    with pytest.raises(StreamError, match="pull"):
        await collect(client.pull(LLAMA_1B))


async def test_pull_malformed_stream(sim: Any, client: OllamaClient) -> None:
    sim.faults.add("/api/pull", "malformed_json", count=1)
    with pytest.raises(ProtocolError, match="POST /api/pull"):
        await collect(client.pull(LLAMA_1B))


async def test_pull_status_before_stream(sim: Any, client: OllamaClient) -> None:
    sim.faults.add("/api/pull", "status", count=1, status=503, message="server busy")
    with pytest.raises(ApiError) as info:
        await collect(client.pull(LLAMA_1B))
    assert (info.value.status_code, str(info.value)) == (503, "server busy")


async def test_pull_refused(sim: Any, client: OllamaClient) -> None:
    sim.faults.add("/api/pull", "refuse", count=1)
    with pytest.raises(ServerUnreachable):
        await collect(client.pull(LLAMA_1B))


async def test_pull_hang_has_no_read_timeout(sim: Any) -> None:
    # Streams must not time out between lines: a 0.2 s client timeout, a 0.6 s pause.
    sim.faults.add("/api/pull", "delay", count=1, seconds=0.6)
    async with OllamaClient(sim.url, environ={}, timeout=0.2) as client:
        events = await collect(client.pull("qwen2.5:0.5b"))
    assert events[-1].status == "success"


async def test_push(sim: Any, client: OllamaClient) -> None:
    sim.bandwidth = 1e11
    await client.copy("llama3.2", "someone/llama-copy")
    events = await collect(client.push("someone/llama-copy"))
    assert events[0].status == "retrieving manifest"
    assert events[-1].status == "success"
    with pytest.raises(StreamError):
        await collect(client.push("someone/never-created"))


async def test_cancel_mid_pull_closes_connection_then_resume(sim: Any) -> None:
    sim.bandwidth = 50e6  # a few seconds for the 1B model's weights
    async with OllamaClient(sim.url, environ={}) as client:
        pull = client.pull(LLAMA_1B)
        weights: ProgressEvent | None = None
        async for event in pull:
            if event.is_layer and event.completed > 0:
                weights = event
                break
        assert weights is not None and weights.digest
        await pull.aclose()
        await wait_until(lambda: sim.open_connections == 0)
        await wait_until(lambda: sim.active_requests == 0)
        partial = sim.partial_bytes(weights.digest)
        assert 0 < partial < weights.total
        sim.bandwidth = 4e9
        events = await collect(client.pull(LLAMA_1B))
    resumed = [e for e in events if e.digest == weights.digest]
    assert resumed[0].completed >= partial
    assert events[-1].status == "success"


async def test_task_cancel_closes_connection(sim: Any) -> None:
    sim.bandwidth = 20e6
    started = asyncio.Event()

    async with OllamaClient(sim.url, environ={}) as client:

        async def consume() -> None:
            async with contextlib.aclosing(client.pull(LLAMA_1B)) as events:
                async for event in events:
                    if event.is_layer:
                        started.set()

        task = asyncio.create_task(consume())
        await asyncio.wait_for(started.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await wait_until(lambda: sim.open_connections == 0)
        await wait_until(lambda: sim.active_requests == 0)
        assert not any(m.name == LLAMA_1B for m in await client.list_models())


async def test_task_cancel_without_aclosing(sim: Any) -> None:
    # Cancelled while the generator awaits the network: its finally closes the response.
    sim.bandwidth = 20e6
    started = asyncio.Event()

    async with OllamaClient(sim.url, environ={}) as client:

        async def consume() -> None:
            async for event in client.pull(LLAMA_1B):
                if event.is_layer:
                    started.set()

        task = asyncio.create_task(consume())
        await asyncio.wait_for(started.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await wait_until(lambda: sim.open_connections == 0)
        await wait_until(lambda: sim.active_requests == 0)


# -- create -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gguf_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gguf(tmp_path_factory.mktemp("faults") / "tiny.gguf", seed=1)


async def test_create_gguf_uploads_once(sim: Any, client: OllamaClient, gguf_file: Path) -> None:
    modelfile = f"FROM ./{gguf_file.name}\nSYSTEM tiny\n"
    first = await collect(client.create("tiny-a", modelfile, base_dir=gguf_file.parent))
    assert first[-1].status == "success"
    assert sim.request_count(method="POST", path=None) >= 2
    blob_posts = [r for r in sim.requests if r.method == "POST" and r.path.startswith("/api/blobs")]
    assert len(blob_posts) == 1
    digest = blob_posts[0].path.rsplit("/", 1)[1]
    create_body = next(r.json for r in sim.requests if r.path == "/api/create")
    assert create_body["files"] == {gguf_file.name: digest}
    assert create_body["system"] == "tiny"

    second = await collect(client.create("tiny-b", modelfile, base_dir=gguf_file.parent))
    assert second[-1].status == "success"
    heads = [r for r in sim.requests if r.method == "HEAD" and r.path == f"/api/blobs/{digest}"]
    posts = [r for r in sim.requests if r.method == "POST" and r.path == f"/api/blobs/{digest}"]
    assert len(heads) == 2
    assert len(posts) == 1  # HEAD found it: no second upload
    assert sim.request_count("/api/version") == 1  # version asked once per client
    show = await client.show("tiny-b")
    assert show.system == "tiny"
    assert show.architecture == "llama"


async def test_closing_create_mid_stream_closes_connection(sim: Any) -> None:
    # FROM a model that is not local: the create pulls it inside its own stream.
    sim.bandwidth = 20e6
    async with OllamaClient(sim.url, environ={}) as client:
        assert not any(m.name == "gemma3:1b" for m in await client.list_models())
        create = client.create("my-gemma", "FROM gemma3:1b\nSYSTEM hi\n")
        async for event in create:
            if event.is_layer and event.completed:
                break
        await create.aclose()
        await wait_until(lambda: sim.active_requests == 0)
        await wait_until(lambda: sim.open_connections <= 1)  # at most the idle pooled one
        assert not any(m.name == "my-gemma:latest" for m in await client.list_models())


async def test_create_error_line(sim: Any, client: OllamaClient) -> None:
    sim.faults.add("/api/create", "error_line", count=1, after_lines=1, message="out of disk")
    with pytest.raises(StreamError, match="out of disk"):
        await collect(client.create("x", "FROM llama3.2\nSYSTEM s\n"))


async def test_create_from_unknown_model(client: OllamaClient) -> None:
    with pytest.raises(StreamError):
        await collect(client.create("x", "FROM no-such-model:nope\n"))


async def test_legacy_create_on_old_server(gguf_file: Path) -> None:
    from ollama_tui.simulator import Simulator

    async with Simulator(version="0.5.4") as old, OllamaClient(old.url, environ={}) as client:
        events = await collect(
            client.create("legacy", f"FROM {gguf_file}\nPARAMETER temperature 0.5\n", quantize=None)
        )
        assert events[-1].status == "success"
        body = next(r.json for r in old.requests if r.path == "/api/create")
        assert "files" not in body and "from" not in body
        assert body["modelfile"].startswith("FROM @sha256:")
        assert "PARAMETER temperature 0.5" in body["modelfile"]
        show = await client.show("legacy")
        assert show.parameters_dict.get("temperature") == 0.5
        with pytest.raises(InvalidInput, match=r"older than 0\.5\.5"):
            await collect(client.create("folder", f"FROM {gguf_file.parent}\n"))


async def test_invalid_input_sends_nothing(sim: Any, client: OllamaClient) -> None:
    sim.requests.clear()
    for bad in ("", "foo:", "/foo", "a b", "m@sha256:" + "0" * 64, "a/b/c/d", "x" * 81):
        with pytest.raises(InvalidInput):
            client.pull(bad)
        with pytest.raises(InvalidInput):
            await client.show(bad)
        with pytest.raises(InvalidInput):
            await client.delete(bad)
        with pytest.raises(InvalidInput):
            await client.load(bad)
    with pytest.raises(InvalidInput):
        client.create("ok", "FROM llama3.2\nPARAMETER num_ctx lots\n")
    assert sim.request_count() == 0


# -- load / unload ----------------------------------------------------------------------------


async def test_load_unload_embedding_model(sim: Any, client: OllamaClient) -> None:
    name = "nomic-embed-text:latest"
    show = await client.show(name)
    assert "embedding" in show.capabilities
    with pytest.raises(ApiError, match="does not support generate"):
        await client.load(name)
    await client.load(name, "10m", embedding=True)
    assert any(r.name == name for r in await client.running())
    await client.unload(name, capabilities=show.capabilities)
    assert sim.requests[-1].path == "/api/embed"
    assert sim.requests[-1].json == {"model": name, "keep_alive": 0}

    async def gone() -> bool:
        return all(r.name != name or r.is_stopping() for r in await client.running())

    deadline = time.monotonic() + 5
    while not await gone():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)


async def test_load_has_no_read_timeout(sim: Any) -> None:
    sim.load_time = 0.6
    async with OllamaClient(sim.url, environ={}, timeout=0.2) as client:
        await client.load("qwen2.5:0.5b")
        assert any(r.name == "qwen2.5:0.5b" for r in await client.running())


async def test_old_ps_shape_via_real_client(sim: Any, client: OllamaClient) -> None:
    # The loaded model's /api/ps entry parses with aware times and a processor string.
    running = await client.running()
    assert running
    for model in running:
        assert model.expires_at is not None and model.expires_at.tzinfo is not None
        assert model.processor.endswith(("CPU", "GPU", "CPU/GPU", "Unknown"))
