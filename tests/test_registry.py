"""The outdated check (``ollama_tui.registry``) against the simulator's OCI registry, over HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import pytest

from ollama_tui.registry import (
    PER_REGISTRY,
    CheckCache,
    Freshness,
    RegistryChecker,
    manifest_ref,
)
from ollama_tui.simulator.registry import OciRegistry


def _digest(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _host(registry: OciRegistry) -> str:
    return registry.url.removeprefix("http://")


async def test_same_digest_is_up_to_date_and_a_republished_tag_is_outdated() -> None:
    async with OciRegistry() as registry:
        local = registry.publish("library/tiny", "latest", weights=b"v1")
        async with RegistryChecker(registry_urls={"registry.ollama.ai": registry.url}) as checker:
            first = await checker.check("tiny:latest", local.removeprefix("sha256:"))
        assert first.state is Freshness.UP_TO_DATE
        assert first.remote_digest == local
        newer = registry.publish("library/tiny", "latest", weights=b"v2")
        async with RegistryChecker(registry_urls={"registry.ollama.ai": registry.url}) as checker:
            second = await checker.check("tiny", local)
        assert second.state is Freshness.OUTDATED
        assert second.remote_digest == newer
        assert second.to_json() == {
            "model": "tiny",
            "state": "outdated",
            "reason": "",
            "local_digest": local,
            "remote_digest": newer,
        }


async def test_a_pushed_model_with_the_trailing_newline_is_up_to_date() -> None:
    async with OciRegistry() as registry:
        registry.publish("me/pushed", "v1", weights=b"w")
        body = registry.manifests[("me", "pushed")]["v1"]
        local = _digest(body + b"\n")  # what the server that pushed it has
        async with RegistryChecker(registry_urls={"registry.ollama.ai": registry.url}) as checker:
            result = await checker.check("me/pushed:v1", local)
        assert result.state is Freshness.UP_TO_DATE


async def test_a_name_the_registry_does_not_know_is_local() -> None:
    async with OciRegistry() as registry:
        async with RegistryChecker(registry_urls={"registry.ollama.ai": registry.url}) as checker:
            result = await checker.check("my-own:latest", "ab" * 32)
        assert result.state is Freshness.LOCAL


async def test_the_token_flow_is_followed_and_a_refused_token_is_unknown() -> None:
    async with OciRegistry(require_token=True) as registry:
        local = registry.publish("library/tiny", "latest", weights=b"v1")
        async with RegistryChecker(registry_urls={"registry.ollama.ai": registry.url}) as checker:
            result = await checker.check("tiny", local)
        assert result.state is Freshness.UP_TO_DATE
        assert any(path.startswith("/v2/token?") for _, path in registry.requests)
        token_request = next(path for _, path in registry.requests if path.startswith("/v2/token"))
        assert "scope=repository%3Alibrary%2Ftiny%3Apull" in token_request
        registry.refuse_tokens = True
        async with RegistryChecker(registry_urls={"registry.ollama.ai": registry.url}) as checker:
            refused = await checker.check("tiny", local)
        assert refused.state is Freshness.UNKNOWN
        assert "401 after the token flow" in refused.reason


async def test_rate_limits_offline_and_timeouts_are_unknown_never_outdated(
    unused_tcp_port: int,
) -> None:
    async with OciRegistry(rate_limited=1) as registry:
        registry.publish("library/tiny", "latest", weights=b"v1")
        async with RegistryChecker(registry_urls={"registry.ollama.ai": registry.url}) as checker:
            limited = await checker.check("tiny", "00" * 32)
        assert limited.state is Freshness.UNKNOWN
        assert "429" in limited.reason
    offline_url = f"http://127.0.0.1:{unused_tcp_port}"
    async with RegistryChecker(registry_urls={"registry.ollama.ai": offline_url}) as checker:
        offline = await checker.check("tiny", "00" * 32)
    assert offline.state is Freshness.UNKNOWN
    assert offline.reason.startswith("offline")

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with RegistryChecker(
            registry_urls={"registry.ollama.ai": f"http://127.0.0.1:{port}"}, timeout=0.3
        ) as checker:
            slow = await checker.check("tiny", "00" * 32)
    finally:
        server.close()
    assert slow.state is Freshness.UNKNOWN
    assert slow.reason.startswith("timeout")


async def test_insecure_registries_are_reached_over_http() -> None:
    async with OciRegistry() as registry:
        local = registry.publish("team/tiny", "q4", weights=b"v1")
        name = f"{_host(registry)}/team/tiny:q4"
        assert manifest_ref(name).url.startswith("https://")
        async with RegistryChecker(insecure_registries=[_host(registry)]) as checker:
            result = await checker.check(name, local)
        assert result.state is Freshness.UP_TO_DATE


async def test_at_most_four_requests_are_in_flight_per_registry() -> None:
    in_flight = peak = 0

    async with OciRegistry() as registry:
        digests = {
            f"m{i}": registry.publish(f"library/m{i}", "latest", weights=str(i).encode())
            for i in range(12)
        }
        original = registry._manifest

        async def slow_manifest(*args):  # type: ignore[no-untyped-def]
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            try:
                await asyncio.sleep(0.05)
                return await original(*args)
            finally:
                in_flight -= 1

        registry._manifest = slow_manifest  # type: ignore[method-assign]
        async with RegistryChecker(registry_urls={"registry.ollama.ai": registry.url}) as checker:
            results = await checker.check_many(digests.items())
    assert [r.state for r in results] == [Freshness.UP_TO_DATE] * 12
    assert peak == PER_REGISTRY


async def test_results_are_cached_by_registry_name_and_local_digest(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "registry.json"
    async with OciRegistry() as registry:
        local = registry.publish("library/tiny", "latest", weights=b"v1")
        urls = {"registry.ollama.ai": registry.url}
        async with RegistryChecker(registry_urls=urls, cache=CheckCache(path)) as checker:
            await checker.check_many([("tiny", local)])
        asked = len(registry.requests)
        assert path.stat().st_mode & 0o777 == 0o600
        async with RegistryChecker(
            registry_urls=urls, cache=CheckCache(path), max_age=3600
        ) as checker:
            assert checker.cached("tiny", local, 3600) is not None
            again = await checker.check("tiny", local)
            other = await checker.check("tiny", "11" * 32)  # a re-pull: a new key
        assert again.state is Freshness.UP_TO_DATE
        assert len(registry.requests) > asked  # only for the new digest
        assert other.state is Freshness.OUTDATED
        assert sum(1 for _, p in registry.requests if p.endswith("/manifests/latest")) == 3


def test_a_corrupt_cache_file_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    path.write_text("{not json")
    cache = CheckCache(path)
    assert cache.get("x", 10.0, 0.0) is None
    path.write_text(json.dumps({"x": {"model": "m", "state": "nonsense"}}))
    assert CheckCache(path).get("x", 10.0, 0.0) is None


@pytest.mark.parametrize("name", ["", "bad name", "a" * 500])
async def test_a_bad_name_is_unknown_without_a_request(name: str) -> None:
    async with RegistryChecker(registry_urls={"registry.ollama.ai": "http://127.0.0.1:9"}) as c:
        result = await c.check(name, "00" * 32)
    assert result.state is Freshness.UNKNOWN


async def test_the_simulator_is_its_own_registry_and_models_change_upstream(sim: object) -> None:
    """Pulled models match the simulator's registry; a change upstream makes exactly that
    model outdated, and pulling it again brings it up to date."""
    from ollama_tui.api import OllamaClient

    simulator = sim  # type: ignore[assignment]
    url = str(simulator.url)  # type: ignore[attr-defined]
    urls = {"registry.ollama.ai": url}
    async with OllamaClient(url) as client:
        async for _ in client.pull("qwen2.5:0.5b"):
            pass
        installed = {m.name: m.digest for m in await client.list_models()}
        async with RegistryChecker(registry_urls=urls) as checker:
            before = {r.model: r.state for r in await checker.check_many(installed.items())}
        assert before["qwen2.5:0.5b"] is Freshness.UP_TO_DATE
        assert Freshness.OUTDATED not in before.values()
        new_digest = simulator.change_upstream("qwen2.5:0.5b")  # type: ignore[attr-defined]
        async with RegistryChecker(registry_urls=urls) as checker:
            after = {r.model: r for r in await checker.check_many(installed.items())}
        assert [n for n, r in after.items() if r.state is Freshness.OUTDATED] == ["qwen2.5:0.5b"]
        assert after["qwen2.5:0.5b"].remote_digest == new_digest
        async for _ in client.pull("qwen2.5:0.5b"):
            pass
        pulled = {m.name: m.digest for m in await client.list_models()}["qwen2.5:0.5b"]
        assert "sha256:" + pulled == new_digest
        async with RegistryChecker(registry_urls=urls) as checker:
            again = await checker.check("qwen2.5:0.5b", pulled)
        assert again.state is Freshness.UP_TO_DATE


async def test_a_created_model_ends_with_a_newline_and_is_local(sim: object) -> None:
    from ollama_tui.api import OllamaClient

    url = str(sim.url)  # type: ignore[attr-defined]
    async with OllamaClient(url) as client:
        base = (await client.list_models())[0].name
        async for _ in client.create("mine:latest", f"FROM {base}\nSYSTEM hi\n", from_model=base):
            pass
        digest = {m.name: m.digest for m in await client.list_models()}["mine:latest"]
        async with RegistryChecker(registry_urls={"registry.ollama.ai": url}) as checker:
            result = await checker.check("mine:latest", digest)
        assert result.state is Freshness.LOCAL
