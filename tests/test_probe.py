"""The speed probe: the client's generate/embed (hostile numbers, missing done line, error
lines, cancellation), the speeds, the store, the simulator's speeds, and ``ollama-tui probe``."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_client_unit import Chunks, Recorder, client_for, ndjson

from ollama_tui.__main__ import main
from ollama_tui.api import ModelNotFound, ProtocolError, StreamError, limits
from ollama_tui.api.models import EmbedStats, GenerateStats
from ollama_tui.probe import (
    PROBE_INPUTS,
    PROBE_OPTIONS,
    PROBE_PROMPT,
    ProbeError,
    ProbeKind,
    ProbeResult,
    ProbeStore,
    load_notice,
    per_second,
    probe_store_path,
    run_probe,
)
from ollama_tui.simulator import SeedModel, ServerPlan, Simulator, serve_fleet_in_thread

FINAL = {
    "done": True,
    "done_reason": "length",
    "total_duration": 3_000_000_000,
    "load_duration": 1_000_000_000,
    "prompt_eval_count": 20,
    "prompt_eval_duration": 100_000_000,
    "eval_count": 64,
    "eval_duration": 2_000_000_000,
}


def generate_route(*objects: dict[str, Any]) -> Recorder:
    body = ndjson(*objects)
    return Recorder({"POST /api/generate": lambda _: httpx.Response(200, stream=Chunks(body))})


# -- the client --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        (10**30, None),  # past int64
        (-5, None),
        ("64", None),  # digits in a string are not a number
        (True, None),
        (float("nan"), None),
        (7.9, 7),  # JSON does not tell 7 from 7.0
        (None, None),
        (64, 64),
    ],
)
def test_timing_fields_are_checked_numbers(value: object, parsed: int | None) -> None:
    fields = (
        "total_duration",
        "load_duration",
        "prompt_eval_count",
        "prompt_eval_duration",
        "eval_count",
        "eval_duration",
    )
    stats = GenerateStats.from_json(dict.fromkeys(fields, value))
    assert all(getattr(stats, field) == parsed for field in fields)
    embed = EmbedStats.from_json({"embeddings": value, "total_duration": value})
    assert embed.total_duration == parsed and embed.embeddings is None
    assert EmbedStats.from_json({}) == EmbedStats()


async def test_generate_sends_the_probe_and_reads_the_last_line() -> None:
    chunk = {"response": "x", "done": False}
    recorder = generate_route(chunk, chunk, FINAL)
    async with client_for(recorder) as client:
        result = await run_probe(client, "m", "d1", embedding=False, clock=lambda: 1000.0)
        await run_probe(client, "m", "d1", embedding=False, keep_alive="10m")
    first, second = recorder.json_bodies("/api/generate")
    assert first == {"model": "m", "prompt": PROBE_PROMPT, "stream": True, "options": PROBE_OPTIONS}
    assert "keep_alive" not in first and second["keep_alive"] == "10m"
    assert result == ProbeResult(
        "http://127.0.0.1:11434", "m", "d1", ProbeKind.GENERATE, 1000.0, 1.0, 200.0, 32.0, None
    )
    assert (result.speed, result.unit) == (32.0, "tok/s")


@pytest.mark.parametrize(
    ("body", "error", "match"),
    [
        # §17: a runner that dies mid-generation just ends the stream, under HTTP 200.
        (ndjson({"response": "a", "done": False}), StreamError, "done: true"),
        (b"", StreamError, "done: true"),
        (ndjson({"response": "a", "done": False}, {"error": "runner died"}), StreamError, "runner"),
        (ndjson({**FINAL, "eval_duration": "2s"}), ProbeError, "eval_duration"),
        (ndjson({k: v for k, v in FINAL.items() if k != "eval_count"}), ProbeError, "eval_count"),
    ],
)
async def test_a_broken_generation_is_an_error_that_says_why(
    body: bytes, error: type[Exception], match: str
) -> None:
    recorder = Recorder({"POST /api/generate": httpx.Response(200, stream=Chunks(body))})
    async with client_for(recorder) as client:
        with pytest.raises(error, match=match):
            await run_probe(client, "m", "d", embedding=False)


async def test_an_endless_generation_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_GENERATE_LINES", 3)
    chunk = {"response": "x", "done": False}
    async with client_for(generate_route(*[chunk] * 4, FINAL)) as client:
        with pytest.raises(ProtocolError, match="more than 3 lines"):
            await run_probe(client, "m", "d", embedding=False)
    async with client_for(generate_route(*[chunk] * 3, FINAL)) as client:
        assert (await run_probe(client, "m", "d", embedding=False)).tokens_per_second == 32.0


async def test_zero_durations_give_no_speed_and_http_errors_are_raised() -> None:
    zero = {**FINAL, "eval_duration": 0, "prompt_eval_duration": 0}
    async with client_for(generate_route(zero)) as client:
        result = await run_probe(client, "m", "d", embedding=False)
    assert result.tokens_per_second is None and result.prompt_tokens_per_second is None
    assert per_second(5, None) is None and per_second(None, 5) is None
    assert per_second(1, 10**18) == 1e-9 and per_second(limits.MAX_INT, 1) is not None
    missing = Recorder(
        {"POST /api/generate": httpx.Response(404, json={"error": "model 'm' not found"})}
    )
    async with client_for(missing) as client:
        with pytest.raises(ModelNotFound):
            await run_probe(client, "m", "d", embedding=False)


async def test_embed_probe_counts_vectors_and_times_without_the_load() -> None:
    reply = {
        "embeddings": [[0.5] * 8] * len(PROBE_INPUTS),
        "total_duration": 3_000_000_000,
        "load_duration": 1_000_000_000,
        "prompt_eval_count": 100,
    }
    recorder = Recorder({"POST /api/embed": httpx.Response(200, json=reply)})
    async with client_for(recorder) as client:
        result = await run_probe(client, "e", "d", embedding=True)
        assert recorder.json_bodies("/api/embed")[0] == {"model": "e", "input": list(PROBE_INPUTS)}
        recorder.routes["POST /api/embed"] = httpx.Response(200, json={"embeddings": []})
        with pytest.raises(ProbeError, match="embeddings"):
            await run_probe(client, "e", "d", embedding=True)
        recorder.routes["POST /api/embed"] = httpx.Response(200, json={"error": "no runner"})
        with pytest.raises(StreamError, match="no runner"):
            await run_probe(client, "e", "d", embedding=True)
    assert result.kind is ProbeKind.EMBED and result.unit == "emb/s"
    assert result.embeddings_per_second == len(PROBE_INPUTS) / 2.0 == result.speed
    assert result.prompt_tokens_per_second == 50.0 and result.load_seconds == 1.0


async def test_simulator_paces_num_predict_reports_load_and_cancel_closes() -> None:
    from ollama_tui.api import OllamaClient

    async with Simulator(speed=640.0, load_time=0.05) as sim, OllamaClient(sim.url) as client:
        started = time.monotonic()
        stats = await client.generate("mistral:7b", "hi", options={"num_predict": 32})
        took = time.monotonic() - started
        assert stats.eval_count == 32 and stats.eval_duration == 50_000_000
        assert took >= 0.05 + 0.045  # the load, then 32 tokens at 640/s really took their time
        assert stats.load_duration is not None and stats.load_duration >= 50_000_000
        again = await client.generate("mistral:7b", "hi", options={"num_predict": 32})
        assert again.load_duration is None  # loaded already: 0, which Go leaves out
        embed = await client.embed("nomic-embed-text", ["a", "b"])
        assert embed.embeddings == 2 and embed.total_duration is not None
        # Cancelling a probe closes its request: the simulator sees the connection go.
        sim.speed = 5.0
        task = asyncio.create_task(client.generate("mistral:7b", "hi", options=PROBE_OPTIONS))
        for _ in range(200):
            if sim.open_connections:
                break
            await asyncio.sleep(0.01)
        assert sim.open_connections == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(200):
            if not sim.open_connections:
                break
            await asyncio.sleep(0.01)
        assert sim.open_connections == 0
        # A stream that ends cleanly before its done line (§17), over real HTTP.
        sim.speed = 5000.0
        sim.faults.add("/api/generate", "end", after_lines=3)
        with pytest.raises(StreamError, match="done: true"):
            await client.generate("mistral:7b", "hi", options=PROBE_OPTIONS)


def test_the_notice_says_what_is_loaded_and_for_how_long() -> None:
    assert load_notice("m") == (
        "Probing loads m and leaves it loaded for the server's default keep-alive "
        "(OLLAMA_KEEP_ALIVE, 5 minutes unless set)."
    )
    assert "one server at a time" in load_notice("m", "10m", several=True)
    assert load_notice("m", "10m").endswith("for 10m.")
    assert load_notice("m", -1).endswith("for good (keep-alive -1).")
    assert load_notice("m", 0).endswith("unloads it right after.")


# -- the store -------------------------------------------------------------------------------


def result(at: float, server: str = "http://a", digest: str = "d") -> ProbeResult:
    return ProbeResult(server, "m:latest", digest, ProbeKind.GENERATE, at, 0.5, 400.0, 40.0, None)


def test_store_round_trip_is_private_latest_per_key_and_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = probe_store_path(tmp_path / "state" / "last-used.json")
    assert path == tmp_path / "state" / "probes.json" and probe_store_path(None) is None
    store = ProbeStore(path)
    assert store.load() is None  # no file yet
    store.put(result(2.0))
    store.put(result(1.0))  # older than the one kept: ignored
    store.put(result(3.0, digest="e"))
    embed = ProbeResult("http://b", "e", "d", ProbeKind.EMBED, 4.0, 0.0, None, None, 9.5)
    store.put(embed)
    store.save()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = ProbeStore(path)
    assert again.load() is None
    assert again.results() == [embed, result(3.0, digest="e"), result(2.0)]
    assert again.get("http://a", "d") == result(2.0) and again.get("http://a", "x") is None
    other = ProbeStore(path)  # another process (the CLI while the app runs) saved meanwhile
    assert other.load() is None
    other.put(result(9.0, server="http://c"))
    other.save()
    store.put(result(6.0))
    store.save()
    merged = ProbeStore(path)
    assert merged.load() is None and {r.at for r in merged.results()} == {9.0, 6.0, 4.0, 3.0}
    monkeypatch.setattr(limits, "MAX_PROBE_RESULTS", 3)
    again.put(result(5.0, digest="f"))
    assert len(again) == 3 and again.get("http://a", "d") is None  # the oldest went
    assert ProbeStore(None).load() is None


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"[]",
        b'{"version": 1, "servers": {}}',  # another file of ours (last-used)
        b'{"version": 1, "probes": [{"server": "x"}]}',
        json.dumps({"version": 1, "probes": [{**result(1).to_json(), "at": -1}]}).encode(),
        b"\xff\xfe",
    ],
)
def test_a_corrupt_or_foreign_file_is_set_aside_and_said(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "probes.json"
    path.write_bytes(content)
    store = ProbeStore(path)
    problem = store.load()
    assert problem is not None and "set aside" in problem and store.warning == problem
    assert (tmp_path / "probes.json.corrupt").read_bytes() == content
    store.put(result(1.0))
    store.save()
    assert json.loads(path.read_text())["version"] == 1


def test_an_unreadable_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "probes.json"
    path.mkdir()  # not a file: cannot be read
    store = ProbeStore(path)
    assert "Could not read" in (store.load() or "")
    store.put(result(1.0))
    store.save()
    assert path.is_dir() and store.get("http://a", "d") == result(1.0)


# -- acceptance: ollama-tui probe on a fleet ---------------------------------------------------


def test_probe_cli_gives_each_server_its_configured_speed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    speeds = {"alpha": 2000.0, "beta": 5000.0, "gamma": 3000.0}
    model = SeedModel("qwen2.5:0.5b", "qwen2.5:0.5b", timedelta(days=1))
    plans = [ServerPlan(label, "0.31.0", (model,), speed) for label, speed in speeds.items()]
    plans.append(ServerPlan("delta", "0.31.0", (), 1000.0))  # without the model
    config = tmp_path / "config.toml"
    with serve_fleet_in_thread(len(plans), plans=plans) as fleet:
        servers = "".join(
            f'[[servers]]\nname = "{plan.label}"\nurl = "{url}"\n'
            for plan, url in zip(plans, fleet.urls, strict=True)
        )
        config.write_text(servers)
        argv = ["probe", "--config", str(config), "QWEN2.5:0.5b"]
        assert main([*argv, "--json"]) == 0
        captured = capsys.readouterr()
        items = json.loads(captured.out)
        assert [item["label"] for item in items] == ["beta", "gamma", "alpha"]  # fastest first
        for item in items:
            assert item["tokens_per_second"] == pytest.approx(speeds[item["label"]], rel=0.05)
            assert item["unit"] == "tok/s" and item["kind"] == "generate"
        assert "loads QWEN2.5:0.5b" in captured.err
        assert "server's default keep-alive" in captured.err
        assert "delta: does not have the model" in captured.err
        # Saved beside the last-used file (XDG_STATE_HOME, per test).
        saved = ProbeStore(Path(os.environ["XDG_STATE_HOME"]) / "ollama-tui" / "probes.json")
        assert saved.load() is None and len(saved) == 3
        assert main([*argv, "--keep-alive", "1m"]) == 0
        table = capsys.readouterr()
        lines = table.out.splitlines()
        assert lines[0].split() == ["Server", "Load", "s", "Prompt", "tok/s", "Speed", "When"]
        assert [line.split()[0] for line in lines[2:5]] == ["beta", "gamma", "alpha"]
        assert "5,000.0 tok/s" in lines[2] and "for 1m" in table.err
        assert main(["probe", "--config", str(config), "nowhere:1b"]) == 4
        assert main([*argv, "--read-only"]) == 2
        assert "refused in read-only mode" in capsys.readouterr().err
        fleet.simulators[0].faults.add("/api/generate", "end", after_lines=2)
        assert main([*argv, "--json"]) == 3
        assert "alpha" in capsys.readouterr().err


def test_simulator_cli_speeds_one_for_all_or_one_per_server() -> None:
    from ollama_tui.simulator.__main__ import _plan, build_parser

    parser = build_parser()
    args = parser.parse_args(["--fleet", "3", "--listen", "127.0.0.1:0", "--speed", "45,120,18"])
    assert args.speed == [45.0, 120.0, 18.0] and len(_plan(args) or []) == 3
    with pytest.raises(ValueError, match="2 speeds for 3 servers"):
        _plan(parser.parse_args(["--fleet", "3", "--speed", "1,2"]))
    with pytest.raises(SystemExit):
        parser.parse_args(["--speed", "0"])
    with pytest.raises(ValueError, match="positive"):
        Simulator(speed=float("inf"))
