"""Simulator: pull / push / create streams, cancel and resume, blobs, prepared streams."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import poll_until

from ollama_tui.simulator import Simulator

pytestmark = pytest.mark.simulator_only

FAST = 1e13  # bytes/s: pulls finish at once
LLAMA_WEIGHTS = "dde5aa3fc5ffc17176b5e8bdc82f587b24b2678c6c66101bf7da77af9f7ccdff"


def lines_of(response: httpx.Response) -> list[dict[str, Any]]:
    return [json.loads(line) for line in response.text.splitlines() if line]


@pytest.fixture
async def fast() -> AsyncIterator[tuple[Simulator, httpx.AsyncClient]]:
    async with (
        Simulator(bandwidth=FAST) as sim,
        httpx.AsyncClient(base_url=sim.url, timeout=10) as client,
    ):
        yield sim, client


def tiny_gguf(path: Path, *, chat_template: str | None = None, file_type: int | None = 1) -> bytes:
    """Write a tiny valid GGUF (llama architecture) with the gguf package; return its bytes."""
    import gguf
    import numpy as np

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_context_length(4096)
    writer.add_embedding_length(64)
    writer.add_block_count(2)
    writer.add_feed_forward_length(128)
    writer.add_head_count(4)
    writer.add_head_count_kv(4)
    if file_type is not None:
        writer.add_file_type(file_type)
    if chat_template:
        writer.add_chat_template(chat_template)
    writer.add_tensor("token_embd.weight", np.zeros((32, 64), dtype=np.float32))
    writer.add_tensor("output_norm.weight", np.ones((64,), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path.read_bytes()


async def upload(client: httpx.AsyncClient, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    r = await client.post(f"/api/blobs/{digest}", content=data)
    assert r.status_code == 201
    return digest


# --- pull -----------------------------------------------------------------------------------


async def test_pull_stream_order(fast: tuple[Simulator, httpx.AsyncClient]) -> None:
    sim, client = fast
    r = await client.post("/api/pull", json={"model": "gemma3:1b"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/x-ndjson"
    events = lines_of(r)
    assert events[0] == {"status": "pulling manifest"}
    assert [e["status"] for e in events[-3:]] == [
        "verifying sha256 digest",
        "writing manifest",
        "success",
    ]
    layer_lines = events[1:-3]
    entry = sim.catalogue.get("gemma3:1b")
    assert entry is not None
    expected = [la.digest for la in (*entry.layers(), entry.config_layer())]
    seen: list[str] = []
    for e in layer_lines:
        hexd = e["digest"].removeprefix("sha256:")
        assert e["status"] == f"pulling {hexd[:12]}"
        assert "completed" not in e or 0 < e["completed"] <= e["total"]
        if not seen or seen[-1] != hexd:
            seen.append(hexd)
    assert seen == expected  # layers in order, config last
    # the first line of each fresh layer has no `completed` (zero omitted), the last is complete
    first = next(e for e in layer_lines if e["digest"].endswith(expected[0]))
    assert "completed" not in first
    last = [e for e in layer_lines if e["digest"].endswith(expected[0])][-1]
    assert last["completed"] == last["total"] == entry.weights_size
    assert any(m.name == "gemma3:1b" for m in sim.models)
    assert sim.models[0].name == "gemma3:1b"


async def test_pull_present_layers_single_line(fast: tuple[Simulator, httpx.AsyncClient]) -> None:
    _, client = fast
    events = lines_of(await client.post("/api/pull", json={"name": "llama3.2"}))
    layer_lines = events[1:-3]
    digests = [e["digest"] for e in layer_lines]
    assert len(digests) == len(set(digests))  # one line per layer
    assert all(e["completed"] == e["total"] for e in layer_lines)


async def test_pull_alias_and_case(fast: tuple[Simulator, httpx.AsyncClient]) -> None:
    sim, client = fast
    events = lines_of(await client.post("/api/pull", json={"model": "Mistral"}))
    assert events[-1] == {"status": "success"}
    assert any(m.name == "Mistral:latest" for m in sim.models)


async def test_pull_unknown_model(fast: tuple[Simulator, httpx.AsyncClient]) -> None:
    _, client = fast
    r = await client.post("/api/pull", json={"model": "no-such-model"})
    assert r.status_code == 200
    assert lines_of(r) == [
        {"status": "pulling manifest"},
        {"error": "pull model manifest: file does not exist"},
    ]
    r = await client.post("/api/pull", json={"model": "no-such-model", "stream": False})
    assert (r.status_code, r.json()) == (500, {"error": "pull model manifest: file does not exist"})


async def test_pull_errors(fast: tuple[Simulator, httpx.AsyncClient]) -> None:
    _, client = fast
    for body in ({"model": ""}, {}, {"model": "bad name"}):
        r = await client.post("/api/pull", json=body)
        assert (r.status_code, r.json()) == (400, {"error": "invalid model name"})
    r = await client.post("/api/pull", json={"model": "http://example.com/ns/m"})
    assert lines_of(r)[-1] == {"error": "insecure protocol http"}


async def test_pull_stream_false(fast: tuple[Simulator, httpx.AsyncClient]) -> None:
    _, client = fast
    r = await client.post("/api/pull", json={"model": "qwen2.5:7b", "stream": False})
    assert r.headers["content-type"].startswith("application/json")
    assert (r.status_code, r.json()) == (200, {"status": "success"})


async def test_pull_progress_follows_bandwidth() -> None:
    async with Simulator(bandwidth=4e9) as sim, httpx.AsyncClient(base_url=sim.url) as c:
        t0 = time.perf_counter()
        r = await c.post("/api/pull", json={"model": "gemma3:1b"})  # ~815 MB -> ~0.2 s
        elapsed = time.perf_counter() - t0
    events = lines_of(r)
    weights = [e for e in events if e.get("total") == 815310432]
    assert 0.15 < elapsed < 3
    assert len(weights) >= 3  # several progress lines (~every 60 ms)
    done = [e.get("completed", 0) for e in weights]
    assert done == sorted(done)


async def test_pull_cancel_and_resume() -> None:
    async with Simulator(bandwidth=1e9) as sim, httpx.AsyncClient(base_url=sim.url) as c:
        entry = sim.catalogue.get("gemma3:1b")
        assert entry is not None
        weights = entry.layers()[0]
        async with c.stream("POST", "/api/pull", json={"model": "gemma3:1b"}) as r:
            async for line in r.aiter_lines():
                event = json.loads(line)
                if event.get("completed", 0) > 0:
                    break
        # closing the connection cancels the pull; the partial blob stays
        await poll_until(lambda: sim.active_requests == 0)
        partial = sim.partial_bytes(weights.digest)
        assert 0 < partial < weights.size
        assert not any(m.name == "gemma3:1b" for m in sim.models)
        assert not sim.has_blob(weights.digest)
        sim.bandwidth = FAST
        events = lines_of(await c.post("/api/pull", json={"model": "gemma3:1b"}))
        first = next(e for e in events if e.get("digest") == f"sha256:{weights.digest}")
        assert first["completed"] >= partial  # resumed, not restarted
        assert events[-1] == {"status": "success"}
        assert sim.has_blob(weights.digest) and sim.partial_bytes(weights.digest) == 0


async def test_concurrent_pulls_share_download() -> None:
    async with Simulator(bandwidth=4e9) as sim, httpx.AsyncClient(base_url=sim.url) as c:
        a, b = await asyncio.gather(
            c.post("/api/pull", json={"model": "gemma3:1b"}),
            c.post("/api/pull", json={"model": "gemma3:1b"}),
        )
    assert lines_of(a)[-1] == lines_of(b)[-1] == {"status": "success"}


async def test_prepared_stream() -> None:
    async with Simulator() as sim, httpx.AsyncClient(base_url=sim.url) as c:
        sim.prepare_stream("bench/huge", 20_000)
        t0 = time.perf_counter()
        r = await c.post("/api/pull", json={"model": "bench/huge"})
        elapsed = time.perf_counter() - t0
        lines = r.text.splitlines()
        assert len(lines) == 20_000
        assert json.loads(lines[0]) == {"status": "pulling manifest"}
        assert [json.loads(x)["status"] for x in lines[-3:]] == [
            "verifying sha256 digest",
            "writing manifest",
            "success",
        ]
        progress = [json.loads(x) for x in lines[1:-3]]
        assert "completed" not in progress[0]
        assert progress[-1]["completed"] == progress[-1]["total"]
        assert any(m.name == "bench/huge:latest" for m in sim.models)
        assert elapsed < 5
        # replayed on every pull; a cut fault still applies by line count
        sim.faults.add("/api/pull", "cut", count=1, after_lines=100)
        with pytest.raises(httpx.RemoteProtocolError):
            await c.post("/api/pull", json={"model": "bench/huge"})
        r = await c.post("/_sim/prepare_stream", json={"model": "bench/other", "lines": 10})
        assert r.status_code == 200
        assert (
            len((await c.post("/api/pull", json={"model": "bench/other"})).text.splitlines()) == 10
        )


# --- push -----------------------------------------------------------------------------------


async def test_push_stream(fast: tuple[Simulator, httpx.AsyncClient]) -> None:
    _, client = fast
    events = lines_of(await client.post("/api/push", json={"model": "someuser/llama3-pirate"}))
    assert events[0] == {"status": "retrieving manifest"}
    assert events[-2:] == [{"status": "pushing manifest"}, {"status": "success"}]
    for e in events[1:-2]:
        assert e["status"] == f"pushing {e['digest'][7:19]}"
        assert "completed" not in e or e["completed"] <= e["total"]
    # a second push finds every layer on the registry: one complete line each
    again = lines_of(await client.post("/api/push", json={"name": "someuser/llama3-pirate"}))
    layer_lines = again[1:-2]
    assert all(e["completed"] == e["total"] for e in layer_lines)
    assert len({e["digest"] for e in layer_lines}) == len(layer_lines)


async def test_push_errors(fast: tuple[Simulator, httpx.AsyncClient]) -> None:
    _, client = fast
    r = await client.post("/api/push", json={})
    assert (r.status_code, r.json()) == (400, {"error": "model is required"})
    events = lines_of(await client.post("/api/push", json={"model": "someuser/missing"}))
    assert events[:2] == [
        {"status": "retrieving manifest"},
        {"status": "couldn't retrieve manifest"},
    ]
    assert "no such file or directory" in events[2]["error"]
    events = lines_of(await client.post("/api/push", json={"model": "llama3.2"}))
    assert events[0] == {"status": "retrieving manifest"}
    assert "unauthorized" in events[-1]["error"]
    r = await client.post("/api/push", json={"model": "llama3.2", "stream": False})
    assert r.status_code == 401 and "unauthorized" in r.json()["error"]


async def test_push_namespace_setting() -> None:
    async with (
        Simulator(bandwidth=FAST, push_namespace="alice") as sim,
        httpx.AsyncClient(base_url=sim.url) as c,
    ):
        await c.post("/api/copy", json={"source": "qwen2.5:0.5b", "destination": "alice/q"})
        ok = lines_of(await c.post("/api/push", json={"model": "alice/q"}))
        denied = lines_of(await c.post("/api/push", json={"model": "someuser/llama3-pirate"}))
    assert ok[-1] == {"status": "success"}
    assert "unauthorized" in denied[-1]["error"]


# --- blobs ----------------------------------------------------------------------------------


async def test_blobs(fast: tuple[Simulator, httpx.AsyncClient]) -> None:
    sim, client = fast
    data = b"hello blob"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert (await client.head(f"/api/blobs/{digest}")).status_code == 404
    assert (await client.post(f"/api/blobs/{digest}", content=data)).status_code == 201
    assert (await client.head(f"/api/blobs/{digest}")).status_code == 200
    dash = digest.replace(":", "-")
    assert (await client.head(f"/api/blobs/{dash}")).status_code == 200
    assert (await client.post(f"/api/blobs/{digest}", content=data)).status_code == 200
    assert sim.has_blob(digest)
    wrong = "sha256:" + "0" * 64
    r = await client.post(f"/api/blobs/{wrong}", content=data)
    assert (r.status_code, r.json()) == (
        400,
        {"error": f'digest mismatch, expected "{wrong}", got "{digest}"'},
    )
    r = await client.post("/api/blobs/sha256:abc", content=data)
    assert (r.status_code, r.json()) == (400, {"error": "invalid digest format"})
    assert (await client.head("/api/blobs/md5:abc")).status_code == 400
    assert (await client.get(f"/api/blobs/{digest}")).status_code == 405
    # weights of local models are blobs too
    llama = "sha256:dde5aa3fc5ffc17176b5e8bdc82f587b24b2678c6c66101bf7da77af9f7ccdff"
    assert (await client.head(f"/api/blobs/{llama}")).status_code == 200


async def test_blob_upload_streams_large_body(fast: tuple[Simulator, httpx.AsyncClient]) -> None:
    _, client = fast
    chunk = b"x" * (1 << 20)
    hasher = hashlib.sha256()
    for _ in range(24):
        hasher.update(chunk)

    async def body() -> AsyncIterator[bytes]:
        for _ in range(24):
            yield chunk

    r = await client.post(f"/api/blobs/sha256:{hasher.hexdigest()}", content=body())
    assert r.status_code == 201


# --- create ---------------------------------------------------------------------------------


async def test_create_from_model(fast: tuple[Simulator, httpx.AsyncClient]) -> None:
    sim, client = fast
    r = await client.post(
        "/api/create",
        json={
            "model": "mario",
            "from": "llama3.2",
            "system": "You are Mario.",
            "parameters": {"temperature": 0.7, "num_ctx": 4096, "stop": ["<|eot_id|>"]},
        },
    )
    events = lines_of(r)
    statuses = [e["status"] for e in events]
    assert statuses[-2:] == ["writing manifest", "success"]
    using = [s for s in statuses if s.startswith("using existing layer sha256:")]
    creating = [s for s in statuses if s.startswith("creating new layer sha256:")]
    assert statuses.index(using[0]) == 0
    assert f"using existing layer sha256:{LLAMA_WEIGHTS}" in using
    assert len(creating) == 2  # system + params
    show = (await client.post("/api/show", json={"model": "mario"})).json()
    assert show["system"] == "You are Mario."
    assert "\nSYSTEM You are Mario.\n" in show["modelfile"]
    params = show["parameters"].splitlines()
    assert "temperature                    0.7" in params
    assert "num_ctx                        4096" in params
    assert params.count('stop                           "<|eot_id|>"') == 1
    assert show["details"]["parent_model"] == "llama3.2:latest"
    assert sim.models[0].name == "mario:latest"
    # identical content again -> every layer already exists
    again = lines_of(
        await client.post(
            "/api/create",
            json={"model": "mario2", "from": "mario", "stream": True},
        )
    )
    assert all(e["status"].startswith("using existing") for e in again[:-2])


async def test_create_from_unknown_and_pull(fast: tuple[Simulator, httpx.AsyncClient]) -> None:
    _, client = fast
    events = lines_of(await client.post("/api/create", json={"model": "x", "from": "nope"}))
    assert events == [
        {"status": "pulling manifest"},
        {"error": "pull model manifest: file does not exist"},
    ]
    events = lines_of(await client.post("/api/create", json={"model": "y", "from": "gemma3:1b"}))
    statuses = [e["status"] for e in events]
    assert statuses[0] == "pulling manifest"
    assert "verifying sha256 digest" in statuses
    assert statuses.count("success") == 1 and statuses[-1] == "success"


async def test_create_errors(fast: tuple[Simulator, httpx.AsyncClient]) -> None:
    _, client = fast
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"model": "x"}, 400, "neither 'from' or 'files' was specified"),
        (
            {"model": "x", "modelfile": "FROM llama3.2"},
            400,
            "neither 'from' or 'files' was specified",
        ),
        ({"model": "", "from": "llama3.2"}, 400, "invalid model name"),
        ({"model": "a b", "from": "llama3.2"}, 400, "invalid model name"),
        (
            {"model": "x", "files": {"/abs.gguf": "sha256:" + "a" * 64}},
            400,
            "file path must be relative",
        ),
        (
            {"model": "x", "files": {"../up.gguf": "sha256:" + "a" * 64}},
            400,
            "file path must be relative",
        ),
        ({"model": "x", "files": {"m.gguf": "sha256:123"}}, 400, "invalid digest format"),
        (
            {"model": "x", "from": "llama3.2", "template": "{{ .Prompt "},
            400,
            "template error: template: :1: unclosed action",
        ),
    ]
    for body, status, message in cases:
        r = await client.post("/api/create", json=body)
        assert (r.status_code, r.json()) == (status, {"error": message}), body
    r = await client.post("/api/create", json={"model": "x", "files": "nope"})
    assert r.json()["error"] == (
        "json: cannot unmarshal string into Go struct field CreateRequest.files of type "
        "map[string]string"
    )
    events = lines_of(
        await client.post(
            "/api/create", json={"model": "x", "from": "llama3.2", "quantize": "q4_K_M"}
        )
    )
    assert events[-1] == {"error": "quantization is only supported for F16, BF16 and F32 models"}
    events = lines_of(
        await client.post(
            "/api/create", json={"model": "x", "from": "nomic-embed-text", "quantize": "q3"}
        )
    )
    assert events[-1]["error"].startswith("unsupported quantization type q3 - supported types")


async def test_create_quantize_f16(fast: tuple[Simulator, httpx.AsyncClient]) -> None:
    sim, client = fast
    events = lines_of(
        await client.post(
            "/api/create", json={"model": "small", "from": "nomic-embed-text", "quantize": "Q8_0"}
        )
    )
    quant = [e for e in events if e["status"] == "quantizing F16 model to Q8_0"]
    assert quant and all(e["digest"] == "0000000000000000000" for e in quant)
    assert quant[-1]["completed"] == quant[-1]["total"]
    assert "verifying conversion" in [e["status"] for e in events]
    assert events[-1] == {"status": "success"}
    record = next(m for m in sim.models if m.name == "small:latest")
    assert record.quantization_level == "Q8_0"


async def test_create_from_gguf_blob(
    fast: tuple[Simulator, httpx.AsyncClient], tmp_path: Path
) -> None:
    sim, client = fast
    data = tiny_gguf(tmp_path / "tiny.gguf", chat_template="<|im_start|>{{ x }}<|im_end|>")
    digest = await upload(client, data)
    events = lines_of(
        await client.post(
            "/api/create",
            json={"model": "tiny", "files": {"tiny.gguf": digest}, "system": "be brief"},
        )
    )
    statuses = [e["status"] for e in events]
    assert statuses[:2] == ["parsing GGUF", "verifying conversion"]
    assert "using autodetected template chatml" in statuses
    assert f"creating new layer {digest}" in statuses
    assert statuses[-2:] == ["writing manifest", "success"]
    tags = (await client.get("/api/tags")).json()["models"]
    tiny = next(m for m in tags if m["name"] == "tiny:latest")
    assert tiny["details"]["family"] == "llama"
    assert tiny["details"]["quantization_level"] == "F16"
    assert tiny["details"]["parameter_size"] == "2.1K"  # 32*64 + 64 parameters
    show = (await client.post("/api/show", json={"model": "tiny"})).json()
    assert show["model_info"]["llama.context_length"] == 4096
    assert show["model_info"]["llama.embedding_length"] == 64
    assert show["model_info"]["general.parameter_count"] == 32 * 64 + 64
    # the same weights again: the layer exists now
    events = lines_of(
        await client.post("/api/create", json={"model": "tiny2", "files": {"w": digest}})
    )
    assert f"using existing layer {digest}" in [e["status"] for e in events]
    assert any(m.name == "tiny2:latest" for m in sim.models)


async def test_create_gguf_errors(
    fast: tuple[Simulator, httpx.AsyncClient], tmp_path: Path
) -> None:
    _, client = fast
    missing = "sha256:" + "b" * 64
    events = lines_of(
        await client.post("/api/create", json={"model": "x", "files": {"m.gguf": missing}})
    )
    assert events[0] == {"status": "parsing GGUF"}
    assert "sha256-" + "b" * 64 in events[-1]["error"]
    digest = await upload(client, b"not a gguf file at all")
    events = lines_of(
        await client.post("/api/create", json={"model": "x", "files": {"m.gguf": digest}})
    )
    assert events[-1] == {"error": "supplied file was not in GGUF format"}
    r = await client.post(
        "/api/create", json={"model": "x", "files": {"m.gguf": digest}, "stream": False}
    )
    assert (r.status_code, r.json()) == (400, {"error": "supplied file was not in GGUF format"})
    # no general.file_type: quantization level "unknown", and quantize refuses
    data = tiny_gguf(tmp_path / "f32.gguf", file_type=None)
    d2 = await upload(client, data)
    events = lines_of(
        await client.post("/api/create", json={"model": "f32", "files": {"f.gguf": d2}})
    )
    assert events[-1] == {"status": "success"}
    show = (await client.post("/api/show", json={"model": "f32"})).json()
    assert show["details"]["quantization_level"] == "unknown"


async def test_create_stream_false(fast: tuple[Simulator, httpx.AsyncClient]) -> None:
    _, client = fast
    r = await client.post(
        "/api/create", json={"model": "q", "from": "qwen2.5:0.5b", "stream": False}
    )
    assert (r.status_code, r.json()) == (200, {"status": "success"})
    r = await client.post("/api/create", json={"model": "q", "from": "nope", "stream": False})
    assert (r.status_code, r.json()) == (500, {"error": "pull model manifest: file does not exist"})


async def test_create_messages_license_show(fast: tuple[Simulator, httpx.AsyncClient]) -> None:
    _, client = fast
    body = {
        "model": "chatty",
        "from": "qwen2.5:0.5b",
        "license": ["MIT", "extra terms"],
        "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}],
        "template": "{{ .Prompt }}",
    }
    assert lines_of(await client.post("/api/create", json=body))[-1] == {"status": "success"}
    show = (await client.post("/api/show", json={"model": "chatty"})).json()
    assert show["license"] == "MIT\nextra terms"
    assert show["messages"] == body["messages"]
    assert show["template"] == "{{ .Prompt }}"
    assert "\nMESSAGE user hi\nMESSAGE assistant yo\n" in show["modelfile"]
    assert "\nTEMPLATE {{ .Prompt }}\n" in show["modelfile"]


async def test_legacy_create(tmp_path: Path) -> None:
    async with (
        Simulator(version="0.5.4", bandwidth=FAST) as sim,
        httpx.AsyncClient(base_url=sim.url) as client,
    ):
        r = await client.post("/api/create", json={"model": "x", "from": "llama3.2"})
        assert (r.status_code, r.json()) == (400, {"error": "path or Modelfile are required"})
        modelfile = (
            '# comment\nFROM llama3.2\nSYSTEM """Multi\nline"""\n'
            "PARAMETER temperature 0.5\nPARAMETER stop <|eot_id|>\n"
        )
        events = lines_of(
            await client.post("/api/create", json={"name": "legacy", "modelfile": modelfile})
        )
        assert events[-1] == {"status": "success"}
        show = (await client.post("/api/show", json={"name": "legacy"})).json()
        assert show["system"] == "Multi\nline"
        assert "temperature                    0.5" in show["parameters"]
        r = await client.post("/api/create", json={"name": "bad", "modelfile": "FROM x\nBOGUS y\n"})
        assert r.status_code == 400 and r.json()["error"].startswith("command must be one of")
        data = tiny_gguf(tmp_path / "t.gguf")
        digest = await upload(client, data)
        events = lines_of(
            await client.post(
                "/api/create", json={"name": "fromblob", "modelfile": f"FROM @{digest}\n"}
            )
        )
        assert events[0] == {"status": "parsing GGUF"}
        assert events[-1] == {"status": "success"}


async def test_repull_over_created_model_removes_unused_layers(
    fast: tuple[Simulator, httpx.AsyncClient],
) -> None:
    _, client = fast
    await client.post(
        "/api/create",
        json={"model": "gemma3:1b", "from": "qwen2.5:0.5b", "system": "unique system prompt"},
    )
    events = lines_of(await client.post("/api/pull", json={"model": "gemma3:1b"}))
    statuses = [e["status"] for e in events]
    assert statuses[-2:] == ["removing unused layers", "success"]


async def test_tags_name_a_created_models_parent_and_ps_does_not(sim: object) -> None:
    """§18: ``details.parent_model`` names the base in /api/tags (a real 0.33 server)."""
    import httpx

    url = str(sim.url)  # type: ignore[attr-defined]
    async with httpx.AsyncClient(base_url=url) as http:
        body = {"model": "tutor:latest", "from": "llama3.2:latest", "system": "Be kind."}
        await http.post("/api/create", json=body)
        tags = (await http.get("/api/tags")).json()["models"]
        await http.post("/api/generate", json={"model": "tutor:latest"})
        ps = (await http.get("/api/ps")).json()["models"]
    details = {m["name"]: m["details"]["parent_model"] for m in tags}
    assert details["tutor:latest"] == "llama3.2:latest"
    assert details["llama3.2:latest"] == ""
    assert ps and all(m["details"]["parent_model"] == "" for m in ps)
