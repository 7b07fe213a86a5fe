"""The exporter's collector (labels, the cap, staleness, probes) and the exporter on simulators.

Its real Prometheus test is ``test_exporter_prometheus.py``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from conftest import poll_until
from prometheus_client.parser import text_string_to_metric_families

from ollama_tui.__main__ import main
from ollama_tui.api import LocalModel, RunningModel, limits
from ollama_tui.config import ServerSettings, Settings
from ollama_tui.exporter import Exporter, FleetCollector, parse_listen
from ollama_tui.poller import Snapshot
from ollama_tui.registry import CheckResult, Freshness
from ollama_tui.session import ServerSession

DIGEST = "a" * 64
HOSTILE = 'evil"}\n# TYPE x counter\\ \ud800 end'


def local(name: str, size: int, digest: str = DIGEST) -> LocalModel:
    return LocalModel.from_json({"name": name, "size": size, "digest": digest, "details": {}})


def running(name: str, size: int = 100) -> RunningModel:
    expires = (datetime.now(UTC) + timedelta(minutes=4)).isoformat()
    return RunningModel.from_json(
        {
            "name": name,
            "size": size,
            "size_vram": size // 2,
            "digest": DIGEST,
            "expires_at": expires,
            "context_length": 4096,
        }
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def polled_session(
    name: str | None,
    installed: list[LocalModel],
    run: list[RunningModel],
    clock: Clock,
    version: str = "0.31.0",
) -> ServerSession:
    session = ServerSession(name, "http://127.0.0.1:9")
    session.polled(Snapshot(installed, run, version, 0.01), clock.now)
    return session


def scrape(collector: FleetCollector) -> dict[str, list[tuple[dict[str, str], float]]]:
    """The collector's text, written by the library and read back by its parser."""
    from prometheus_client import generate_latest
    from prometheus_client.registry import CollectorRegistry

    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    text = generate_latest(registry).decode("utf-8")
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def test_hostile_server_text_is_escaped_bounded_and_never_breaks_a_scrape() -> None:
    clock = Clock()
    long_name = "m" * 5000
    session = polled_session(
        HOSTILE,
        [local(HOSTILE, 10), local(long_name, 5), local(long_name + "x", 4)],
        [running(HOSTILE), running(HOSTILE)],  # listed twice: one series
        clock,
        version=HOSTILE,
    )
    twins = [polled_session(HOSTILE, [], [], clock) for _ in range(2)]  # a name thrice
    twins[0].url, twins[1].url = "http://other:11434", "http://third:11434"
    found = scrape(FleetCollector([session, *twins], interval=1.0, monotonic=clock))
    servers = [labels["server"] for labels, _ in found["ollama_up"]]
    # Told apart by URL, every one of them.
    assert servers[0].startswith('evil"}\n') and servers[0].endswith(" http://127.0.0.1:9")
    assert servers[1].endswith(" http://other:11434") and len(set(servers)) == 3
    models = [labels["model"] for labels, _ in found["ollama_model_size_bytes"]]
    # Read back as written (the surrogate, which UTF-8 cannot carry, as "?"); long names
    # bounded, and two cut alike give one series (a duplicate would fail the whole scrape).
    assert models[0] == HOSTILE.replace("\ud800", "?")
    assert len(models) == 2 and len(models[1]) == limits.MAX_LABEL_CHARS
    assert len(found["ollama_running_model_size_bytes"]) == 1
    assert found["ollama_version_info"][0][0]["version"] == HOSTILE.replace("\ud800", "?")
    assert found["ollama_running_model_context_length"][0][1] == 4096
    assert 230 < found["ollama_running_model_expires_in_seconds"][0][1] <= 240


def test_per_model_series_are_capped_largest_first_and_totals_count_everything() -> None:
    clock = Clock()
    models = [local(f"model-{i:03}", 1000 + i, digest=f"{i:064x}") for i in range(120)]
    small_running = running("model-000")
    session = polled_session("box", models, [small_running], clock)
    collector = FleetCollector([session], interval=1.0, max_model_series=50, monotonic=clock)
    found = scrape(collector)
    named = [labels["model"] for labels, _ in found["ollama_model_size_bytes"]]
    assert named == [f"model-{i:03}" for i in range(119, 69, -1)]
    assert found["ollama_model_series_omitted"][0][1] == 70
    assert found["ollama_models_installed"][0][1] == 120
    # A running model always has its series, whatever its size.
    assert found["ollama_running_model_size_bytes"][0][0]["model"] == "model-000"
    # The same list again: the same choice (no churn).
    session.polled(Snapshot(list(reversed(models)), [small_running], None, 0.01), clock.now)
    again = [labels["model"] for labels, _ in scrape(collector)["ollama_model_size_bytes"]]
    assert again == named
    assert "ollama_models_outdated" not in found  # never checked: no claim either way
    totals_only = scrape(
        FleetCollector([session], interval=1.0, max_model_series=0, monotonic=clock)
    )
    assert "ollama_model_size_bytes" not in totals_only
    assert totals_only["ollama_model_series_omitted"][0][1] == 120


def test_stale_or_failed_servers_export_only_up_zero_and_their_last_success() -> None:
    clock = Clock()
    fine = polled_session("fine", [local("a:1", 10)], [running("a:1")], clock)
    late = polled_session("late", [local("b:1", 10)], [running("b:1")], clock)
    down = polled_session("down", [local("c:1", 10)], [running("c:1")], clock)
    collector = FleetCollector([fine, late, down], interval=1.0, monotonic=clock)
    clock.now += 1.5
    fine.polled(Snapshot(fine.installed, fine.running_models, None, 0.01), clock.now)
    from ollama_tui.api import ServerUnreachable

    down.poll_failed(ServerUnreachable("refused"), clock.now)
    clock.now += 1.0  # "late" last answered 2.5 intervals ago
    found = scrape(collector)
    up = {labels["server"]: value for labels, value in found["ollama_up"]}
    assert up == {"fine": 1.0, "late": 0.0, "down": 0.0}
    assert {
        labels["server"] for labels, _ in found["ollama_last_poll_success_timestamp_seconds"]
    } == {
        "fine",
        "late",
        "down",
    }
    for name, samples in found.items():
        if name not in ("ollama_up", "ollama_last_poll_success_timestamp_seconds"):
            assert {labels["server"] for labels, _ in samples} == {"fine"}, name
    # A poll unanswered past its patience: not answering, up 0 too.
    fine.set_status(state="not_answering")
    assert {v for _, v in scrape(collector)["ollama_up"]} == {0.0}


@dataclass(frozen=True)
class FakeProbe:
    server: str
    model: str
    digest: str
    kind: str
    at: float
    load_seconds: float
    prompt_tokens_per_second: float | None
    tokens_per_second: float | None
    embeddings_per_second: float | None


class FakeStore:
    def __init__(self, results: list[FakeProbe]) -> None:
        self._results = results

    def results(self) -> list[FakeProbe]:
        return self._results


def test_probe_results_and_update_checks_of_installed_models() -> None:
    clock = Clock()
    models = [local("llama3.2:latest", 10), local("nomic:latest", 5, digest="b" * 64)]
    session = polled_session("box", models, [], clock)
    url = session.url
    session.freshness[("llama3.2:latest", DIGEST)] = CheckResult(
        "llama3.2:latest", Freshness.OUTDATED, checked_at=500.0
    )
    session.freshness[("nomic:latest", "b" * 64)] = CheckResult("nomic:latest", Freshness.UNKNOWN)
    store = FakeStore(
        [
            FakeProbe(url, "llama3.2:latest", DIGEST, "generate", 10.0, 1.5, 300.0, 40.0, None),
            FakeProbe(url, "llama3.2:latest", DIGEST, "generate", 20.0, 0.0, 310.0, 42.0, None),
            FakeProbe(url, "nomic:latest", "b" * 64, "embed", 20.0, 0.2, None, None, 90.0),
            # A digest no longer installed (re-pulled), and a server not watched: left out.
            FakeProbe(url, "llama3.2:latest", "c" * 64, "generate", 30.0, 0.0, 1.0, 1.0, None),
            FakeProbe("http://x:1", "llama3.2:latest", DIGEST, "generate", 30.0, 0, 1, 1, None),
        ]
    )
    collector = FleetCollector([session], interval=1.0, probes=store, monotonic=clock)
    found = scrape(collector)
    assert found["ollama_probe_tokens_per_second"] == [
        ({"server": "box", "model": "llama3.2:latest", "kind": "generate"}, 42.0)
    ]
    assert found["ollama_probe_embeddings_per_second"][0][1] == 90.0
    assert found["ollama_probe_timestamp_seconds"][0][1] == 20.0
    assert found["ollama_probe_load_seconds"][0][1] == 0.0
    # Unknown is never "not outdated": only the checked model has the flag.
    assert found["ollama_model_outdated"] == [({"server": "box", "model": "llama3.2:latest"}, 1.0)]
    assert found["ollama_model_update_checked_timestamp_seconds"][0][1] == 500.0
    assert found["ollama_models_outdated"][0][1] == 1
    clock.now += 10  # stale: probes go too
    assert "ollama_probe_tokens_per_second" not in scrape(collector)


def test_listen_addresses_and_command_line_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert parse_listen("127.0.0.1:9464") == ("127.0.0.1", 9464)
    assert parse_listen("[::1]:0") == ("::1", 0)
    assert parse_listen("0.0.0.0:80") == ("0.0.0.0", 80)
    for bad in ("9464", ":9464", "host:port", "h:70000"):
        with pytest.raises(ValueError):
            parse_listen(bad)
    with pytest.raises(SystemExit) as exited:
        main(["export", "--listen", "nowhere"])
    assert exited.value.code == 2
    with pytest.raises(SystemExit):
        main(["export", "--max-model-series", "-1"])
    assert "--max-model-series" in capsys.readouterr().err


async def test_exporter_polls_the_fleet_serves_metrics_and_survives_an_outage(fleet: Any) -> None:
    """In-process on three simulators: /metrics and /health; the weights learnt (disk
    complete), the loaded model's last use, a check for updates; one server stopped: its up
    goes to 0, the others' last successful poll keeps advancing."""
    servers = tuple(
        ServerSettings(n, url) for n, url in zip(("ws", "gpu", "laptop"), fleet.urls, strict=True)
    )
    # The first simulator is the registry too (as --demo does): gpu's llama3.2 is outdated.
    settings = Settings(
        servers=servers, interval=0.3, registry_urls={"registry.ollama.ai": fleet.urls[0]}
    )
    exporter = Exporter(settings, max_model_series=2)
    exporter.start()
    try:
        base = await exporter.serve("127.0.0.1", 0)
        async with httpx.AsyncClient(base_url=base) as http:
            health = await http.get("/health")
            assert health.status_code == 200

            async def metrics() -> dict[str, dict[str, float]]:
                response = await http.get("/metrics")
                assert response.headers["content-type"].startswith("text/plain")
                out: dict[str, dict[str, float]] = {}
                for family in text_string_to_metric_families(response.text):
                    for s in family.samples:
                        key = s.labels.get("server", "") + "/" + s.labels.get("model", "")
                        out.setdefault(s.name, {})[key] = s.value
                return out

            async def settled() -> bool:
                found = await metrics()
                complete = found.get("ollama_disk_bytes_complete", {})
                return len(complete) == 3 and all(complete.values())

            await poll_until(settled, what="every server up with its disk figure complete")
            found = await metrics()
            assert found["ollama_up"] == {"ws/": 1.0, "gpu/": 1.0, "laptop/": 1.0}
            keys = ("ws/", "gpu/", "laptop/")
            counts = {k: len(p.models) for k, p in zip(keys, fleet.plans, strict=True)}
            assert found["ollama_models_installed"] == counts
            assert "ws/llama3.2:latest" in found["ollama_running_model_vram_bytes"]
            assert "ws/llama3.2:latest" in found["ollama_model_last_used_timestamp_seconds"]
            assert found["ollama_model_series_omitted"]["gpu/"] == counts["gpu/"] - 2

            assert "ollama_models_outdated" not in found  # not checked yet
            await exporter.check_now()
            found = await metrics()
            assert found["ollama_models_outdated"] == {"ws/": 0, "gpu/": 1, "laptop/": 0}
            # Per model within the cap: ws's largest, up to date; gpu's llama3.2 is not among
            # gpu's two largest, so only its count says it.
            assert found["ollama_model_outdated"]["ws/llama3.2:latest"] == 0.0
            assert "gpu/llama3.2:latest" not in found["ollama_model_outdated"]

            await fleet.simulators[1].stop()
            before = found["ollama_last_poll_success_timestamp_seconds"]

            async def gpu_down_others_fresh() -> bool:
                now = await metrics()
                last = now["ollama_last_poll_success_timestamp_seconds"]
                return (
                    now["ollama_up"] == {"ws/": 1.0, "gpu/": 0.0, "laptop/": 1.0}
                    and last["ws/"] > before["ws/"]
                    and last["laptop/"] > before["laptop/"]
                    and "gpu/" not in now["ollama_models_installed"]
                )

            await poll_until(gpu_down_others_fresh, timeout=5, what="gpu down, others polled")
    finally:
        await exporter.aclose()
    await asyncio.sleep(0)


def test_probe_file_is_read_again_when_the_dashboard_writes_it(tmp_path: Any) -> None:
    """The real store: what the dashboard (another process) saves shows at the next scrape."""
    from ollama_tui.exporter import FileProbes
    from ollama_tui.probe import ProbeKind, ProbeResult, ProbeStore, probe_store_path

    clock = Clock()
    session = polled_session("box", [local("llama3.2:latest", 10)], [], clock)
    settings = Settings(host=session.url, state_path=tmp_path / "last-used.json")
    path = probe_store_path(settings.state_path)
    assert path is not None

    def probe(at: float, speed: float) -> ProbeResult:
        return ProbeResult(
            session.url, "llama3.2:latest", DIGEST, ProbeKind.GENERATE, at, 0.5, 200.0, speed, None
        )

    dashboard = ProbeStore(path)
    dashboard.put(probe(10.0, 40.0))
    dashboard.save()
    probes = FileProbes.for_settings(settings)
    collector = FleetCollector([session], interval=1.0, probes=probes, monotonic=clock)
    assert scrape(collector)["ollama_probe_tokens_per_second"] == [
        ({"server": "box", "model": "llama3.2:latest", "kind": "generate"}, 40.0)
    ]
    dashboard.put(probe(20.0, 55.0))
    dashboard.save()
    assert scrape(collector)["ollama_probe_tokens_per_second"][0][1] == 55.0
