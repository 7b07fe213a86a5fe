"""The client against a server: the simulator by default, a real Ollama with OLLAMA_TEST_HOST.

Only tests that need the simulator's control API are marked ``simulator_only``; everything
here must also pass against a real (even offline) Ollama server.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from conftest import poll_until
from tiny_gguf import write_tiny_gguf

from ollama_tui.api import (
    ApiError,
    InvalidInput,
    LocalModel,
    ModelNotFound,
    OllamaClient,
    ProgressEvent,
    StreamError,
    names_equal,
)


@pytest.fixture
async def client(server_url: str) -> AsyncIterator[OllamaClient]:
    async with OllamaClient(server_url, environ={}) as c:
        yield c


@pytest.fixture(scope="session")
def tiny_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf")


def unique(prefix: str) -> str:
    return f"ollama-tui-test/{prefix}-{uuid.uuid4().hex[:8]}:latest"


async def collect(iterator: AsyncIterator[ProgressEvent]) -> list[ProgressEvent]:
    return [event async for event in iterator]


async def find(client: OllamaClient, name: str) -> LocalModel | None:
    return next((m for m in await client.list_models() if names_equal(m.name, name)), None)


async def create_tiny(client: OllamaClient, name: str, gguf: Path) -> list[ProgressEvent]:
    return await collect(client.create(name, f"FROM {gguf.name}\n", base_dir=gguf.parent))


async def test_version(client: OllamaClient) -> None:
    version = await client.version()
    assert version
    assert version[0].isdigit()


async def test_list_models_and_running_types(client: OllamaClient) -> None:
    for model in await client.list_models():
        assert model.name
        assert len(model.digest) == 64
        assert model.modified_at is None or model.modified_at.tzinfo is not None
    for running in await client.running():
        assert running.name
        assert running.processor
        assert running.until()


async def test_not_found_errors(client: OllamaClient) -> None:
    missing = unique("missing")
    with pytest.raises(ModelNotFound) as info:
        await client.show(missing)
    assert info.value.status_code == 404
    assert "not found" in str(info.value)
    with pytest.raises(ModelNotFound):
        await client.delete(missing)
    with pytest.raises(ModelNotFound):
        await client.copy(missing, unique("copy"))
    with pytest.raises(ModelNotFound):
        await client.load(missing)


async def test_pull_unknown_model_is_a_stream_error(client: OllamaClient) -> None:
    with pytest.raises((StreamError, ApiError)) as info:
        await collect(client.pull(f"ollama-tui-no-such-model-{uuid.uuid4().hex[:6]}:nope"))
    assert str(info.value)


async def test_invalid_input_raises_before_sending(client: OllamaClient) -> None:
    with pytest.raises(InvalidInput):
        client.pull("no spaces allowed")
    with pytest.raises(InvalidInput):
        await client.show("foo:")
    with pytest.raises(InvalidInput):
        client.create("ok-name", "PARAMETER temperature 0.5\n")  # no FROM line


async def test_create_from_gguf_show_copy_delete(client: OllamaClient, tiny_gguf: Path) -> None:
    name = unique("tiny")
    copy = unique("tiny-copy")
    try:
        events = await create_tiny(client, name, tiny_gguf)
        assert events[-1].status == "success"
        uploads = [e for e in events if e.status == "uploading tiny.gguf"]
        assert uploads and uploads[-1].completed == uploads[-1].total == tiny_gguf.stat().st_size
        assert uploads[-1].digest is not None
        assert await client.blob_exists(uploads[-1].digest)

        model = await find(client, name)
        assert model is not None
        assert model.details.family == "llama"
        show = await client.show(name)
        assert show.architecture == "llama"
        assert show.context_length == 4096
        assert show.embedding_length == 64

        await client.copy(name, copy)
        copied = await find(client, copy)
        assert copied is not None
        assert copied.digest == model.digest
    finally:
        for n in (name, copy):
            with contextlib.suppress(ModelNotFound):
                await client.delete(n)
    assert await find(client, name) is None
    with pytest.raises(ModelNotFound):
        await client.show(name)


async def test_create_from_model_with_system_and_parameters(
    client: OllamaClient, tiny_gguf: Path
) -> None:
    base = unique("base")
    derived = unique("mario")
    modelfile = (
        f"FROM {base}\n"
        'SYSTEM """You are Mario from Super Mario Bros."""\n'
        "PARAMETER temperature 0.25\n"
        "PARAMETER num_ctx 2048\n"
        "PARAMETER stop <|im_end|>\n"
    )
    try:
        await create_tiny(client, base, tiny_gguf)
        events = await collect(client.create(derived, modelfile))
        assert events[-1] == ProgressEvent("success")
        assert any(e.status.startswith("using existing layer") for e in events)
        show = await client.show(derived)
        assert show.system == "You are Mario from Super Mario Bros."
        assert "You are Mario" in show.modelfile
        assert show.parameters_dict["temperature"] == 0.25
        assert show.parameters_dict["num_ctx"] == 2048
        assert show.parameters_dict["stop"] == ["<|im_end|>"]
    finally:
        for n in (derived, base):
            with contextlib.suppress(ModelNotFound):
                await client.delete(n)


async def test_load_and_unload(client: OllamaClient, tiny_gguf: Path) -> None:
    name = unique("load")

    async def is_running() -> bool:
        return any(names_equal(r.name, name) for r in await client.running())

    async def is_gone_or_stopping() -> bool:
        return all(not names_equal(r.name, name) or r.is_stopping() for r in await client.running())

    try:
        await create_tiny(client, name, tiny_gguf)
        await client.load(name, keep_alive="10m")
        await poll_until(is_running)
        running = next(r for r in await client.running() if names_equal(r.name, name))
        assert running.until() not in ("Forever", "Stopping...")
        show = await client.show(name)
        await client.unload(name, capabilities=show.capabilities)
        await poll_until(is_gone_or_stopping)
        await client.load(name, keep_alive=-1)
        running = next(r for r in await client.running() if names_equal(r.name, name))
        assert running.until() == "Forever"
        await client.unload(name)
        await poll_until(is_gone_or_stopping)
    finally:
        try:
            await client.unload(name)
            await client.delete(name)
        except ModelNotFound:
            pass


async def test_create_reuses_uploaded_blob(client: OllamaClient, tiny_gguf: Path) -> None:
    first, second = unique("one"), unique("two")
    try:
        await create_tiny(client, first, tiny_gguf)
        events = await create_tiny(client, second, tiny_gguf)
        uploads = [e for e in events if e.status == "uploading tiny.gguf"]
        # Already on the server: a single completed event, no transfer.
        assert len(uploads) == 1
        assert uploads[0].completed == uploads[0].total
    finally:
        for n in (first, second):
            with contextlib.suppress(ModelNotFound):
                await client.delete(n)
