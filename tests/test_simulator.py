"""Simulator: plain endpoints, their errors, names, load/unload and state."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from conftest import poll_until

from ollama_tui.simulator import Simulator
from ollama_tui.simulator.wire import format_time, parse_go_duration, parse_name

pytestmark = pytest.mark.simulator_only


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.url, timeout=10) as c:
        yield c


# --- basics --------------------------------------------------------------------------------


async def test_root_and_version(client: httpx.AsyncClient) -> None:
    r = await client.get("/")
    assert (r.status_code, r.text) == (200, "Ollama is running")
    assert (await client.head("/")).status_code == 200
    r = await client.get("/api/version")
    assert r.json() == {"version": "0.12.6"}
    assert r.headers["content-type"].startswith("application/json")
    assert (await client.head("/api/version")).status_code == 200


async def test_version_configurable() -> None:
    async with Simulator(version="0.5.4") as sim, httpx.AsyncClient(base_url=sim.url) as c:
        assert (await c.get("/api/version")).json() == {"version": "0.5.4"}


async def test_unknown_path_and_wrong_method(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/nope")
    assert (r.status_code, r.text) == (404, "404 page not found")
    assert r.headers["content-type"].startswith("text/plain")
    r = await client.get("/api/show")
    assert (r.status_code, r.text) == (405, "405 method not allowed")
    r = await client.post("/api/tags")
    assert r.status_code == 405
    r = await client.get("/api/delete")
    assert r.status_code == 405


async def test_trailing_slash_redirects(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/tags/")
    assert r.status_code == 301
    assert r.headers["location"] == "/api/tags"


async def test_tags_initial_models(client: httpx.AsyncClient) -> None:
    models = (await client.get("/api/tags")).json()["models"]
    names = [m["name"] for m in models]
    for expected in (
        "llama3.2:latest",
        "qwen2.5:0.5b",
        "nomic-embed-text:latest",
        "mistral:7b",
        "someuser/llama3-pirate:latest",
        "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M",
        "gpt-oss:20b-cloud",
    ):
        assert expected in names
    stamps = [datetime.fromisoformat(m["modified_at"]) for m in models]
    assert stamps == sorted(stamps, reverse=True)
    llama = next(m for m in models if m["name"] == "llama3.2:latest")
    assert llama["model"] == llama["name"]
    assert len(llama["digest"]) == 64 and ":" not in llama["digest"]
    assert llama["size"] > 2_000_000_000
    assert llama["details"] == {
        "parent_model": "",
        "format": "gguf",
        "family": "llama",
        "families": ["llama"],
        "parameter_size": "3.2B",
        "quantization_level": "Q4_K_M",
    }
    assert "capabilities" not in llama  # tags capabilities arrived in 0.30.0
    cloud = next(m for m in models if m["name"] == "gpt-oss:20b-cloud")
    assert cloud["remote_host"] == "https://ollama.com:443"
    assert cloud["remote_model"] == "gpt-oss:20b"
    assert cloud["size"] < 1000
    assert (await client.head("/api/tags")).status_code == 200


async def test_tags_new_fields_on_newer_versions() -> None:
    async with Simulator(version="0.30.1") as sim, httpx.AsyncClient(base_url=sim.url) as c:
        models = (await c.get("/api/tags")).json()["models"]
    emb = next(m for m in models if m["name"] == "nomic-embed-text:latest")
    assert emb["capabilities"] == ["embedding"]
    assert emb["details"]["context_length"] == 2048
    assert emb["details"]["embedding_length"] == 768


async def test_tags_escapes_html_like_go(client: httpx.AsyncClient, sim: Simulator) -> None:
    sim.add_model("x/hostile:latest", family="<b>[red]x</red>&")
    r = await client.get("/api/tags")
    assert "\\u003cb\\u003e" in r.text and "\\u0026" in r.text
    item = next(m for m in r.json()["models"] if m["name"] == "x/hostile:latest")
    assert item["details"]["family"] == "<b>[red]x</red>&"


async def test_tags_with_5000_models_is_fast() -> None:
    async with (
        Simulator(models=5000, initial=False) as sim,
        httpx.AsyncClient(base_url=sim.url) as c,
    ):
        t0 = time.perf_counter()
        first = await c.get("/api/tags")
        t1 = time.perf_counter()
        second = await c.get("/api/tags")
        t2 = time.perf_counter()
        sim.add_model("new/one:latest")
        t3 = time.perf_counter()
        third = await c.get("/api/tags")
        t4 = time.perf_counter()
    assert len(first.json()["models"]) == 5000
    assert first.content == second.content
    assert len(third.json()["models"]) == 5001
    # typically 5-20 ms each; generous bounds for a loaded CI machine
    assert t1 - t0 < 0.25
    assert t2 - t1 < 0.1
    assert t4 - t3 < 0.25


async def test_synthetic_models_deterministic() -> None:
    a, b = Simulator(models=20, seed=3, initial=False), Simulator(models=20, seed=3, initial=False)
    assert [m.name for m in a.models] == [m.name for m in b.models]
    assert len({m.name for m in a.models}) == 20


# --- ps / load / unload ----------------------------------------------------------------------


async def test_ps_initial(client: httpx.AsyncClient) -> None:
    models = (await client.get("/api/ps")).json()["models"]
    assert [m["name"] for m in models] == ["llama3.2:latest"]
    item = models[0]
    assert set(item) == {
        "name",
        "model",
        "size",
        "digest",
        "details",
        "expires_at",
        "size_vram",
        "context_length",
    }
    assert item["size"] > 2_019_393_189  # weights + KV cache
    assert item["size_vram"] == item["size"]
    assert item["context_length"] == 4096
    tags = (await client.get("/api/tags")).json()["models"]
    assert item["digest"] == next(m for m in tags if m["name"] == "llama3.2:latest")["digest"]
    expires = datetime.fromisoformat(item["expires_at"])
    assert timedelta(minutes=3) < expires - datetime.now(expires.tzinfo) < timedelta(minutes=5)


async def test_load_and_unload(client: httpx.AsyncClient, sim: Simulator) -> None:
    r = await client.post("/api/generate", json={"model": "QWEN2.5:0.5b", "keep_alive": "10m"})
    body = r.json()
    assert body["done"] is True and body["done_reason"] == "load" and body["response"] == ""
    assert body["model"] == "QWEN2.5:0.5b"
    assert body["created_at"].endswith("Z")
    ps = (await client.get("/api/ps")).json()["models"]
    qwen = next(m for m in ps if m["name"] == "qwen2.5:0.5b")
    assert qwen["size_vram"] == 0  # this one runs on the CPU
    assert ps[0]["name"] == "qwen2.5:0.5b"  # expires last -> listed first

    r = await client.post("/api/generate", json={"model": "qwen2.5:0.5b", "keep_alive": 0})
    assert r.json()["done_reason"] == "unload"
    ps = (await client.get("/api/ps")).json()["models"]
    stopping = next(m for m in ps if m["name"] == "qwen2.5:0.5b")
    expires = datetime.fromisoformat(stopping["expires_at"])
    assert abs((expires - datetime.now(expires.tzinfo)).total_seconds()) < 2

    async def gone() -> bool:
        ps = (await client.get("/api/ps")).json()["models"]
        return all(m["name"] != "qwen2.5:0.5b" for m in ps)

    deadline = time.monotonic() + 5
    while not await gone():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)


async def test_unload_not_loaded_is_ok(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/generate", json={"model": "mistral:7b", "keep_alive": "0s"})
    assert r.status_code == 200 and r.json()["done_reason"] == "unload"


async def test_keep_alive_forever_and_partial_gpu(client: httpx.AsyncClient) -> None:
    await client.post("/api/generate", json={"model": "mistral:7b", "keep_alive": -1})
    ps = (await client.get("/api/ps")).json()["models"]
    assert ps[0]["name"] == "mistral:7b"
    expires = datetime.fromisoformat(ps[0]["expires_at"])
    assert expires.year > datetime.now().year + 280
    assert 0 < ps[0]["size_vram"] < ps[0]["size"]


async def test_keep_alive_expiry_and_num_ctx(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/generate",
        json={"model": "gemma3:1b", "keep_alive": "150ms", "options": {"num_ctx": 8192}},
    )
    assert r.status_code == 404  # not local
    r = await client.post(
        "/api/chat",
        json={"model": "deepseek-r1:1.5b", "keep_alive": 0.15, "options": {"num_ctx": 8192}},
    )
    assert r.json()["done_reason"] == "load"
    ps = (await client.get("/api/ps")).json()["models"]
    assert next(m for m in ps if m["name"] == "deepseek-r1:1.5b")["context_length"] == 8192
    deadline = time.monotonic() + 5
    while any(
        m["name"] == "deepseek-r1:1.5b" for m in (await client.get("/api/ps")).json()["models"]
    ):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)


async def test_keep_alive_errors(client: httpx.AsyncClient) -> None:
    cases = [
        ("-1", 'time: missing unit in duration "-1"'),
        ("forever", 'time: invalid duration "forever"'),
        ("5x", 'time: unknown unit "x" in duration "5x"'),
    ]
    for value, message in cases:
        r = await client.post("/api/generate", json={"model": "llama3.2", "keep_alive": value})
        assert (r.status_code, r.json()) == (400, {"error": message})
    r = await client.post("/api/generate", json={"model": "llama3.2", "keep_alive": True})
    assert r.json() == {"error": "Unsupported type: 'bool'"}


async def test_generate_errors(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/generate", json={"model": "nope"})
    assert (r.status_code, r.json()) == (404, {"error": "model 'nope' not found"})
    r = await client.post("/api/generate", json={"model": ""})
    assert (r.status_code, r.json()) == (404, {"error": "model '' not found"})
    r = await client.post("/api/generate", json={"model": "nomic-embed-text"})
    assert (r.status_code, r.json()) == (
        400,
        {"error": '"nomic-embed-text" does not support generate'},
    )
    r = await client.post("/api/generate", json={"model": "llama3.2", "prompt": "x", "think": True})
    assert r.json() == {"error": '"llama3.2" does not support thinking'}
    # the unload check comes before the capability check
    r = await client.post("/api/generate", json={"model": "nomic-embed-text", "keep_alive": 0})
    assert r.json()["done_reason"] == "unload"


async def test_generate_with_prompt_streams(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/generate", json={"model": "llama3.2", "prompt": "hi"})
    assert r.headers["content-type"] == "application/x-ndjson"
    lines = [line for line in r.text.splitlines() if line]
    import json

    parsed = [json.loads(line) for line in lines]
    assert all(p["done"] is False for p in parsed[:-1])
    assert parsed[-1]["done"] is True and parsed[-1]["done_reason"] == "stop"
    r = await client.post(
        "/api/chat",
        json={
            "model": "llama3.2",
            "stream": False,
            "messages": [{"role": "user", "content": "hi"}],
        },
    )
    assert r.json()["message"]["role"] == "assistant" and r.json()["message"]["content"]


async def test_embed(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/embed", json={"model": "nomic-embed-text", "keep_alive": "10m"})
    assert r.json()["embeddings"] == [] and r.json()["model"] == "nomic-embed-text"
    ps = (await client.get("/api/ps")).json()["models"]
    assert any(m["name"] == "nomic-embed-text:latest" for m in ps)
    r = await client.post("/api/embed", json={"model": "nomic-embed-text", "input": ["a", "b"]})
    vectors = r.json()["embeddings"]
    assert len(vectors) == 2 and len(vectors[0]) == 768
    r = await client.post("/api/embed", json={"model": "llama3.2", "input": "x"})
    assert r.status_code == 400


async def test_cloud_model_load_needs_signin(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/generate", json={"model": "gpt-oss:20b-cloud"})
    assert r.status_code == 401
    assert r.json()["error"] == "unauthorized" and "signin_url" in r.json()


async def test_shared_weights_share_a_runner(client: httpx.AsyncClient) -> None:
    # someuser/llama3-pirate shares llama3.2's weights: unloading it unloads llama3.2
    r = await client.post(
        "/api/generate", json={"model": "someuser/llama3-pirate", "keep_alive": 0}
    )
    assert r.json()["done_reason"] == "unload"
    ps = (await client.get("/api/ps")).json()["models"]
    llama = next(m for m in ps if m["name"] == "llama3.2:latest")
    expires = datetime.fromisoformat(llama["expires_at"])
    assert expires <= datetime.now(expires.tzinfo) + timedelta(seconds=1)


async def test_load_time_lists_model_while_loading() -> None:
    async with Simulator(load_time=0.3) as sim, httpx.AsyncClient(base_url=sim.url) as c:
        task = asyncio.create_task(c.post("/api/generate", json={"model": "mistral:7b"}))
        await poll_until(lambda: any(r.name == "mistral:7b" for r in sim.running))
        assert not task.done()
        assert (await task).json()["done_reason"] == "load"


# --- show ------------------------------------------------------------------------------------


async def test_show(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/show", json={"model": "Llama3.2"})
    body = r.json()
    assert "name" not in body and "size" not in body and "digest" not in body
    assert body["details"]["family"] == "llama"
    assert body["capabilities"] == ["completion", "tools"]
    assert body["model_info"]["general.architecture"] == "llama"
    assert body["model_info"]["llama.context_length"] == 131072
    assert body["model_info"]["general.parameter_count"] == 3212749888
    assert body["model_info"]["tokenizer.ggml.tokens"] is None
    mf = body["modelfile"]
    assert mf.startswith('# Modelfile generated by "ollama show"\n')
    assert "# FROM llama3.2:latest\n\nFROM /root/.ollama/models/blobs/sha256-dde5aa3fc5ff" in mf
    assert "\nPARAMETER stop <|eot_id|>\n" in mf
    assert '\nTEMPLATE """<|start_header_id|>' not in mf  # quote() picks " without quotes inside
    assert "\nLICENSE " in mf
    assert body["parameters"].splitlines() == [
        'stop                           "<|start_header_id|>"',
        'stop                           "<|end_header_id|>"',
        'stop                           "<|eot_id|>"',
    ]
    assert body["template"].startswith("<|start_header_id|>")
    assert body["license"].startswith("LLAMA 3.2 COMMUNITY LICENSE")
    datetime.fromisoformat(body["modified_at"])
    verbose = (await client.post("/api/show", json={"name": "llama3.2", "verbose": True})).json()
    assert isinstance(verbose["model_info"]["tokenizer.ggml.tokens"], list)


async def test_show_parameters_go_literals(client: httpx.AsyncClient) -> None:
    body = (await client.post("/api/show", json={"model": "someuser/llama3-pirate"})).json()
    assert "temperature                    0.8" in body["parameters"].splitlines()
    assert body["system"].startswith("You are a pirate")
    assert "\nSYSTEM You are a pirate." in body["modelfile"]
    body = (await client.post("/api/show", json={"model": "nomic-embed-text"})).json()
    assert body["parameters"] == "num_ctx                        8192"
    assert body["capabilities"] == ["embedding"]


async def test_show_errors(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/show", json={})
    assert (r.status_code, r.json()) == (400, {"error": "model is required"})
    r = await client.post("/api/show", json={"model": "bad name!"})
    assert (r.status_code, r.json()) == (400, {"error": "invalid model name"})
    r = await client.post("/api/show", json={"model": "foo"})
    assert (r.status_code, r.json()) == (404, {"error": "model 'foo:latest' not found"})
    r = await client.post("/api/show", content=b"")
    assert (r.status_code, r.json()) == (400, {"error": "missing request body"})
    r = await client.post("/api/show", json={"model": 5})
    assert r.json()["error"] == (
        "json: cannot unmarshal number into Go struct field ShowRequest.model of type string"
    )
    r = await client.post("/api/show", content=b"{nope")
    assert r.status_code == 400
    assert r.json()["error"].startswith("invalid character 'n'")
    r = await client.post("/api/show", json=[1])
    assert r.json() == {
        "error": "json: cannot unmarshal array into Go value of type api.ShowRequest"
    }


async def test_show_old_version_lacks_new_fields() -> None:
    async with Simulator(version="0.1.40") as sim, httpx.AsyncClient(base_url=sim.url) as c:
        body = (await c.post("/api/show", json={"model": "llama3.2"})).json()
    assert body["model_info"] == {}
    assert "capabilities" not in body and "modified_at" not in body


# --- copy / delete ---------------------------------------------------------------------------


async def test_copy(client: httpx.AsyncClient, sim: Simulator) -> None:
    r = await client.post("/api/copy", json={"source": "llama3.2", "destination": "backup"})
    assert (r.status_code, r.content) == (200, b"")
    tags = (await client.get("/api/tags")).json()["models"]
    assert tags[0]["name"] == "backup:latest"
    original = next(m for m in tags if m["name"] == "llama3.2:latest")
    assert tags[0]["digest"] == original["digest"]
    # overwrite is allowed
    r = await client.post("/api/copy", json={"source": "mistral:7b", "destination": "backup"})
    assert r.status_code == 200
    assert sim.models[0].family == "llama" and sim.models[0].name == "backup:latest"


async def test_copy_errors(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/copy", json={"source": "nope", "destination": "x"})
    assert (r.status_code, r.json()) == (404, {"error": 'model "nope" not found'})
    r = await client.post("/api/copy", json={"source": "a b", "destination": "x"})
    assert (r.status_code, r.json()) == (400, {"error": 'source "a b" is invalid'})
    r = await client.post("/api/copy", json={"source": "llama3.2", "destination": "x:"})
    assert (r.status_code, r.json()) == (400, {"error": 'destination "x:" is invalid'})
    r = await client.post("/api/copy", json={"source": "llama3.2", "destination": "MISTRAL:7b"})
    assert (r.status_code, r.json()) == (400, {"error": "a model with that name already exists"})


async def test_delete(client: httpx.AsyncClient, sim: Simulator) -> None:
    r = await client.request("DELETE", "/api/delete", json={"name": "Mistral:7B"})
    assert (r.status_code, r.content) == (200, b"")
    assert not any(m.name == "mistral:7b" for m in sim.models)
    r = await client.request("DELETE", "/api/delete", json={"model": "mistral:7b"})
    assert (r.status_code, r.json()) == (404, {"error": "model 'mistral:7b' not found"})
    r = await client.request("DELETE", "/api/delete", json={})
    assert (r.status_code, r.json()) == (400, {"error": "model is required"})
    r = await client.request("DELETE", "/api/delete", json={"model": "a/b/c/d/e"})
    assert (r.status_code, r.json()) == (400, {"error": 'name "a/b/c/d/e" is invalid'})


async def test_delete_keeps_running_instance(client: httpx.AsyncClient) -> None:
    await client.request("DELETE", "/api/delete", json={"model": "llama3.2"})
    ps = (await client.get("/api/ps")).json()["models"]
    assert [m["name"] for m in ps] == ["llama3.2:latest"]


# --- python control API ----------------------------------------------------------------------


async def test_add_model_any_values(client: httpx.AsyncClient, sim: Simulator) -> None:
    sim.add_model(
        "evil/[bold]x[/bold]:latest",
        family="[red]boom",
        parameter_size="∞",
        size=-1,
        families=None,
        capabilities=["completion", "vision"],
        modified_at="2020-01-01T00:00:00Z",
        unknown_field={"nested": True},
    )
    tags = (await client.get("/api/tags")).json()["models"]
    item = next(m for m in tags if m["name"] == "evil/[bold]x[/bold]:latest")
    assert item["details"]["family"] == "[red]boom"
    assert item["details"]["families"] is None
    assert item["size"] == -1
    assert item["unknown_field"] == {"nested": True}
    assert tags[-1] is item  # oldest
    sim.remove_model("evil/[bold]x[/bold]:latest")
    assert all(m["name"] != item["name"] for m in (await client.get("/api/tags")).json()["models"])


async def test_load_model_and_reset(client: httpx.AsyncClient, sim: Simulator) -> None:
    sim.load_model("mistral:7b", keep_alive="1h")
    assert {r.name for r in sim.running} == {"llama3.2:latest", "mistral:7b"}
    with pytest.raises(KeyError):
        sim.load_model("nope")
    await client.request("DELETE", "/api/delete", json={"model": "qwen2.5:0.5b"})
    sim.faults.add("/api/ps", "status", status=500)
    sim.reset()
    assert len(sim.faults) == 0 and sim.requests == []
    assert any(m.name == "qwen2.5:0.5b" for m in sim.models)
    assert [r.name for r in sim.running] == ["llama3.2:latest"]


async def test_requests_recorded(client: httpx.AsyncClient, sim: Simulator) -> None:
    await client.get("/api/tags")
    await client.post("/api/show", json={"model": "llama3.2"})
    await client.post("/api/show", content=b"not json")
    await client.get("/_sim/requests")
    assert sim.request_count() == 3
    assert sim.request_count("/api/show") == 2
    assert sim.request_count("/api/show", "GET") == 0
    assert sim.requests[1].json == {"model": "llama3.2"}
    assert sim.requests[2].json is None
    assert sim.requests[0].method == "GET" and sim.requests[0].json is None


async def test_initial_false_is_empty() -> None:
    async with Simulator(initial=False) as sim, httpx.AsyncClient(base_url=sim.url) as c:
        assert (await c.get("/api/tags")).json() == {"models": []}
        assert (await c.get("/api/ps")).json() == {"models": []}


async def test_stop_is_idempotent_and_async_with() -> None:
    sim = Simulator()
    url = await sim.start()
    assert url.startswith("http://127.0.0.1:")
    await sim.stop()
    await sim.stop()
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as c:
            await c.get(url)


# --- wire helpers ----------------------------------------------------------------------------


def test_parse_name_rules() -> None:
    assert parse_name("llama3.2") is not None
    assert parse_name("llama3.2").display == "llama3.2:latest"  # type: ignore[union-attr]
    assert parse_name("library/llama3.2:1b").display == "llama3.2:1b"  # type: ignore[union-attr]
    assert parse_name("registry.ollama.ai/u/m").display == "u/m:latest"  # type: ignore[union-attr]
    hf = parse_name("hf.co/org/Repo-GGUF:Q4_K_M")
    assert hf is not None and hf.display == "hf.co/org/Repo-GGUF:Q4_K_M"
    assert parse_name("example.com:5000/ns/m").display == "example.com:5000/ns/m:latest"  # type: ignore[union-attr]
    http = parse_name("http://example.com/ns/m")
    assert http is not None and http.insecure
    for bad in ("", "foo:", "/foo", "a b", "a/b/c/d/e", "m@sha256:abc", "ns.x/m", "-m", "x" * 81):
        assert parse_name(bad) is None, bad


def test_go_duration() -> None:
    assert parse_go_duration("1h30m") == 5400
    assert parse_go_duration("0") == 0
    assert parse_go_duration("-1m") == -60
    assert parse_go_duration("1.5s") == 1.5
    assert parse_go_duration("300ms") == pytest.approx(0.3)
    for bad in ("", "-1", "x", "1x", "m"):
        with pytest.raises(ValueError):
            parse_go_duration(bad)


def test_format_time() -> None:
    from datetime import timezone

    dt = datetime(2025, 5, 4, 17, 37, 44, 706015, tzinfo=timezone(timedelta(hours=-7)))
    text = format_time(dt)
    assert text.startswith("2025-05-04T17:37:44.706015") and text.endswith("-07:00")
    assert datetime.fromisoformat(text) == dt
    assert format_time(datetime(2025, 1, 1, tzinfo=UTC)) == "2025-01-01T00:00:00Z"


async def test_hostile_added_names_are_reachable(client: httpx.AsyncClient, sim: Simulator) -> None:
    sim.add_model("[bold]x:latest")
    r = await client.post("/api/show", json={"model": "[bold]x:latest"})
    assert r.status_code == 200
    r = await client.post("/api/copy", json={"source": "[bold]x:latest", "destination": "ok"})
    assert r.status_code == 200
    r = await client.request("DELETE", "/api/delete", json={"model": "[bold]x:latest"})
    assert r.status_code == 200
    r = await client.request("DELETE", "/api/delete", json={"model": "[bold]x:latest"})
    assert r.json() == {"error": 'name "[bold]x:latest" is invalid'}


async def test_pull_adopts_stored_spelling(client: httpx.AsyncClient, sim: Simulator) -> None:
    sim.bandwidth = 1e13
    await client.post("/api/pull", json={"model": "QWEN2.5:0.5B"})
    names = [m.name for m in sim.models]
    assert "qwen2.5:0.5b" in names and "QWEN2.5:0.5B" not in names
    assert names[0] == "qwen2.5:0.5b"  # manifest rewritten: newest


async def test_host_header_check(client: httpx.AsyncClient) -> None:
    for host in ("127.0.0.1:1", "localhost", "[::1]:5", "10.0.0.2", "box.local", "a.internal"):
        assert (await client.get("/api/version", headers={"Host": host})).status_code == 200
    r = await client.get("/api/version", headers={"Host": "evil.example.com"})
    assert (r.status_code, r.content) == (403, b"")
    r = await client.get("/api/version", headers={"Host": "8.8.8.8"})
    assert r.status_code == 403


async def test_thinking_stream(client: httpx.AsyncClient) -> None:
    import json

    r = await client.post(
        "/api/chat",
        json={
            "model": "deepseek-r1:1.5b",
            "think": True,
            "messages": [{"role": "user", "content": "hi"}],
        },
    )
    parts = [json.loads(x) for x in r.text.splitlines()]
    thinking = "".join(p["message"].get("thinking", "") for p in parts)
    content = "".join(p["message"]["content"] for p in parts)
    assert thinking == "Let me think about that." and content.startswith("Hello")
    assert parts[0]["message"].get("thinking")
