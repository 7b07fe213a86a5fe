"""Fidelity: the official ``ollama`` Python client (AsyncClient) against the simulator.

If the real client parses our answers and sees our errors with the right status codes, the
simulator speaks the same wire format as a real server.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import httpx
import ollama
import pytest

from ollama_tui.simulator import Simulator

pytestmark = pytest.mark.simulator_only


def write_tiny_gguf(path: Path) -> Path:
    """A tiny valid GGUF (llama architecture), written with the gguf package."""
    import gguf
    import numpy as np

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_context_length(4096)
    writer.add_embedding_length(64)
    writer.add_block_count(2)
    writer.add_head_count(4)
    writer.add_file_type(1)
    writer.add_tensor("token_embd.weight", np.zeros((16, 64), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture
async def fast_sim() -> AsyncIterator[Simulator]:
    async with Simulator(bandwidth=1e13) as sim:
        yield sim


@pytest.fixture
def client(fast_sim: Simulator) -> ollama.AsyncClient:
    return ollama.AsyncClient(host=fast_sim.url)


async def test_list_and_ps_parse(client: ollama.AsyncClient) -> None:
    listing = await client.list()
    names = [m.model for m in listing.models]
    assert "llama3.2:latest" in names
    llama = next(m for m in listing.models if m.model == "llama3.2:latest")
    assert isinstance(llama.modified_at, datetime) and llama.modified_at.tzinfo is not None
    assert llama.size is not None and llama.size > 2_000_000_000
    assert llama.details is not None and llama.details.parameter_size == "3.2B"
    ps = await client.ps()
    assert [m.model for m in ps.models] == ["llama3.2:latest"]
    running = ps.models[0]
    assert isinstance(running.expires_at, datetime)
    assert running.size_vram == running.size
    assert running.context_length == 4096


async def test_show_parses(client: ollama.AsyncClient) -> None:
    show = await client.show("llama3.2")
    assert show.modelinfo is not None
    assert show.modelinfo["general.architecture"] == "llama"
    assert show.capabilities == ["completion", "tools"]
    assert show.details is not None and show.details.family == "llama"
    assert show.parameters is not None and "stop" in show.parameters
    assert show.modelfile is not None and show.modelfile.startswith("# Modelfile generated")
    assert isinstance(show.modified_at, datetime)


async def test_errors_have_status_codes(client: ollama.AsyncClient) -> None:
    with pytest.raises(ollama.ResponseError) as err:
        await client.show("does-not-exist")
    assert err.value.status_code == 404
    assert err.value.error == "model 'does-not-exist:latest' not found"
    with pytest.raises(ollama.ResponseError) as err:
        await client.show("bad name!")
    assert (err.value.status_code, err.value.error) == (400, "invalid model name")
    with pytest.raises(ollama.ResponseError) as err:
        await client.delete("nope")
    assert (err.value.status_code, err.value.error) == (404, "model 'nope' not found")
    with pytest.raises(ollama.ResponseError) as err:
        await client.copy("nope", "other")
    assert err.value.status_code == 404
    with pytest.raises(ollama.ResponseError) as err:
        await client.generate(model="nomic-embed-text", prompt="hi")
    assert err.value.status_code == 400
    assert err.value.error == '"nomic-embed-text" does not support generate'
    with pytest.raises(ollama.ResponseError) as err:
        await client.pull("bad name!", stream=False)
    assert err.value.status_code == 400


async def test_pull_stream_and_mid_stream_error(client: ollama.AsyncClient) -> None:
    stream = await client.pull("qwen2.5:7b", stream=True)
    events = [event async for event in stream]
    assert events[0].status == "pulling manifest"
    assert events[-1].status == "success"
    layer = [e for e in events if e.digest]
    assert layer and all(e.total for e in layer)
    assert any(m.model == "qwen2.5:7b" for m in (await client.list()).models)

    with pytest.raises(ollama.ResponseError) as err:
        async for _ in await client.pull("no-such-model", stream=True):
            pass
    assert err.value.status_code == -1
    assert err.value.error == "pull model manifest: file does not exist"
    with pytest.raises(ollama.ResponseError) as err:
        await client.pull("no-such-model", stream=False)
    assert err.value.status_code == 500


async def test_push(client: ollama.AsyncClient) -> None:
    result = await client.push("someuser/llama3-pirate", stream=False)
    assert result.status == "success"
    events = [e async for e in await client.push("someuser/llama3-pirate", stream=True)]
    assert events[0].status == "retrieving manifest"
    assert events[-1].status == "success"
    with pytest.raises(ollama.ResponseError) as err:
        async for _ in await client.push("llama3.2", stream=True):
            pass
    assert err.value.status_code == -1 and "unauthorized" in err.value.error


async def test_create_from_model(client: ollama.AsyncClient) -> None:
    events = [
        e
        async for e in await client.create(
            "mario",
            from_="llama3.2",
            system="You are Mario from Super Mario Bros.",
            parameters={"temperature": 0.9, "num_ctx": 2048},
            stream=True,
        )
    ]
    assert events[-1].status == "success"
    assert any((e.status or "").startswith("using existing layer sha256:") for e in events)
    show = await client.show("mario")
    assert show.parameters is not None and "temperature" in show.parameters
    assert "SYSTEM" in (show.modelfile or "")


async def test_create_from_gguf_blob(client: ollama.AsyncClient, tmp_path: Path) -> None:
    path = write_tiny_gguf(tmp_path / "tiny.gguf")
    digest = await client.create_blob(path)
    assert digest == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    result = await client.create("tiny", files={"tiny.gguf": digest}, stream=False)
    assert result.status == "success"
    show = await client.show("tiny")
    assert show.details is not None and show.details.family == "llama"
    assert show.modelinfo is not None and show.modelinfo["llama.context_length"] == 4096
    # create_blob of an existing blob is fine (200)
    assert await client.create_blob(path) == digest
    with pytest.raises(ollama.ResponseError) as err:
        await client.create("x", files={"m.gguf": "sha256:" + "c" * 64}, stream=False)
    assert "sha256-" + "c" * 64 in err.value.error


async def test_copy_and_delete(client: ollama.AsyncClient) -> None:
    assert (await client.copy("llama3.2", "llama3-backup")).status == "success"
    assert any(m.model == "llama3-backup:latest" for m in (await client.list()).models)
    assert (await client.delete("llama3-backup")).status == "success"
    assert all(m.model != "llama3-backup:latest" for m in (await client.list()).models)


async def test_load_unload_and_generate(client: ollama.AsyncClient) -> None:
    loaded = await client.generate(model="mistral:7b", keep_alive="10m")
    assert loaded.done and loaded.done_reason == "load"
    assert any(m.model == "mistral:7b" for m in (await client.ps()).models)
    unloaded = await client.generate(model="mistral:7b", keep_alive=0)
    assert unloaded.done_reason == "unload"
    reply = await client.generate(model="llama3.2", prompt="hello")
    assert reply.done and reply.response
    chunks = [c async for c in await client.generate(model="llama3.2", prompt="hi", stream=True)]
    assert chunks[-1].done and not chunks[0].done
    chat = await client.chat(model="llama3.2", messages=[{"role": "user", "content": "hi"}])
    assert chat.message.role == "assistant"
    emb = await client.embed(model="nomic-embed-text", input="hello")
    assert len(emb.embeddings[0]) == 768


async def test_version_via_httpx(fast_sim: Simulator) -> None:
    async with httpx.AsyncClient(base_url=fast_sim.url) as c:
        assert (await c.get("/api/version")).json()["version"] == "0.12.6"


async def test_legacy_server_rejects_structured_create() -> None:
    async with Simulator(version="0.5.4") as sim:
        client = ollama.AsyncClient(host=sim.url)
        with pytest.raises(ollama.ResponseError) as err:
            await client.create("x", from_="llama3.2", stream=False)
        assert (err.value.status_code, err.value.error) == (400, "path or Modelfile are required")
