"""Bounded work for whatever a server sends (issue #9, group 4).

Every limit lives in ``ollama_tui.api.limits``; these tests drive the real client (both HTTP
paths), the poller, the jobs and the app against a hostile loopback server (``hostile_http``)
or the simulator's fault injection, and check that past each limit the user gets a clear
message while time and memory stay bounded.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from conftest import poll_until
from hostile_http import HostileServer

from ollama_tui.api import (
    ApiError,
    LocalModel,
    ModelShow,
    OllamaClient,
    ProgressEvent,
    ProtocolError,
    RunningModel,
    StreamError,
    limits,
)
from ollama_tui.api.ndjson import NDJSONDecoder
from ollama_tui.jobs import Job, JobKind, JobQueue, JobState
from ollama_tui.poller import Poller

MB = 1024 * 1024


@pytest.fixture
async def server() -> AsyncIterator[HostileServer]:
    async with HostileServer() as hostile:
        yield hostile


def models_json(count: int) -> list[dict[str, Any]]:
    return [{"name": f"m{i}:latest", "size": i, "digest": f"{i:064x}"} for i in range(count)]


# -- model counts ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/tags", "/api/ps"])
async def test_model_lists_past_the_limit_are_cut_with_a_note(
    server: HostileServer, path: str
) -> None:
    cap = limits.MAX_MODELS
    server.json_route(path, {"models": models_json(cap + 5)})
    async with OllamaClient(server.url, environ={}, timeout=10) as client:
        call = client.list_models if path == "/api/tags" else client.running
        models = await call()
        blocking = await asyncio.to_thread(
            client.list_models_blocking if path == "/api/tags" else client.running_blocking
        )
    for got in (models, blocking):
        assert len(got) == cap
        assert got[-1].name == f"m{cap - 1}:latest"
        note = getattr(got, "note", "")
        assert f"the server sent {cap + 5:,} models on GET {path}" in note
        assert f"showing the first {cap:,}" in note


async def test_a_list_within_the_limit_has_no_note(server: HostileServer) -> None:
    server.json_route("/api/tags", {"models": models_json(3)})
    async with OllamaClient(server.url, environ={}) as client:
        models = await client.list_models()
    assert [m.name for m in models] == ["m0:latest", "m1:latest", "m2:latest"]
    assert getattr(models, "note", None) == ""


async def test_the_poller_and_the_app_tell_the_user_once(server: HostileServer) -> None:
    from ollama_tui.app import OllamaTuiApp
    from ollama_tui.config import Settings

    cap = limits.MAX_MODELS
    server.basic_server(models_json(cap + 1))
    poller = Poller(server.url)
    poller.start()
    try:
        snapshot = await poller.poll(with_version=False)
    finally:
        await poller.aclose()
    assert len(snapshot.installed) == cap
    assert snapshot.notes == (
        f"the server sent {cap + 1:,} models on GET /api/tags, more than {cap:,}; "
        f"showing the first {cap:,}",
    )

    app = OllamaTuiApp(Settings(host=server.url, interval=60.0))
    async with app.run_test(size=(120, 30)) as pilot:
        await poll_until(lambda: app.poll_count > 0 and app.installed)
        app.request_refresh()
        await poll_until(lambda: app.poll_count > 1)
        await pilot.pause()
        said = [n for n in app._notifications if "showing the first" in n.message]
        assert len(said) == 1  # not again at every poll
        assert len(app.installed) == cap


# -- body sizes -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/tags", "/api/show", "/api/version"])
async def test_a_huge_body_is_refused_while_it_is_read(
    server: HostileServer, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    monkeypatch.setattr(limits, "MAX_BODY_BYTES", 1 * MB)
    server.huge_json_route(path, 64 * MB)
    method = "POST" if path == "/api/show" else "GET"
    async with OllamaClient(server.url, environ={}, timeout=20) as client:
        call = {
            "/api/tags": client.list_models,
            "/api/show": lambda: client.show("m:latest"),
            "/api/version": client.version,
        }[path]
        with pytest.raises(ProtocolError) as info:
            await call()
    assert str(info.value) == f"the server's answer to {method} {path} is larger than 1 MB; refused"
    # Read as it came and dropped at the limit: not the whole 64 MB (socket buffers aside).
    assert server.sent[path] < 16 * MB


async def test_a_declared_huge_body_is_refused_before_reading(server: HostileServer) -> None:
    server.declared_huge_route("/api/tags", 5 * 1024 * MB)
    async with OllamaClient(server.url, environ={}, timeout=20) as client:
        started = time.monotonic()
        refused = f"larger than {limits.bytes_text(limits.MAX_BODY_BYTES)}; refused"
        with pytest.raises(ProtocolError, match=refused):
            await client.list_models()
        with pytest.raises(ProtocolError, match=refused):
            await asyncio.to_thread(client.list_models_blocking)
    assert time.monotonic() - started < 5  # no waiting for a body that never comes


async def test_an_error_reply_with_a_huge_body_is_refused(
    server: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_BODY_BYTES", 1 * MB)

    async def route(writer: asyncio.StreamWriter) -> None:
        pieces = (b"x" * 65536 for _ in range(1024))
        await server.chunked(writer, "/api/pull", pieces, status=500)

    server.routes["/api/pull"] = route
    async with OllamaClient(server.url, environ={}, timeout=20) as client:
        with pytest.raises(ProtocolError, match="larger than 1 MB"):
            async for _ in client.pull("m:latest"):
                pass
    assert server.sent["/api/pull"] < 16 * MB


async def test_the_start_up_fetch_refuses_a_huge_body_too(
    server: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_BODY_BYTES", 1 * MB)
    server.basic_server()
    server.huge_json_route("/api/tags", 64 * MB)
    async with OllamaClient(server.url, environ={}) as client:
        assert client.can_fetch_blocking
        with pytest.raises(ProtocolError, match=r"GET /api/tags is larger than 1 MB; refused"):
            await asyncio.to_thread(client.list_models_blocking)
    assert server.sent["/api/tags"] < 16 * MB
    # Through the poller: the start-up fetch gives up, the async client says why.
    poller = Poller(server.url)
    poller.prefetch()
    first = poller.take_prefetch()
    assert first is not None
    try:
        with pytest.raises(ProtocolError, match="larger than 1 MB; refused"):
            await asyncio.wrap_future(first)
    finally:
        await poller.aclose()
    assert server.sent["/api/tags"] < 16 * MB


# -- lines ----------------------------------------------------------------------------------


async def endless(piece: bytes, total: int) -> AsyncIterator[bytes]:
    for _ in range(total // len(piece)):
        yield piece
        await asyncio.sleep(0)


async def test_a_progress_line_without_end_fails_clearly(
    server: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_LINE_BYTES", 1 * MB)  # the default, said in the message

    async def pieces() -> AsyncIterator[bytes]:
        yield b'{"status":"pulling manifest"}\n{"status":"'
        async for piece in endless(b"x" * 65536, 100 * MB):
            yield piece

    server.stream_route("/api/pull", pieces)
    events: list[ProgressEvent] = []
    async with OllamaClient(server.url, environ={}) as client:
        async with asyncio.timeout(30):
            with pytest.raises(ProtocolError) as info:
                async for event in client.pull("m:latest"):
                    events.append(event)
    assert str(info.value) == ("the server sent a progress line longer than 1 MB on POST /api/pull")
    assert [e.status for e in events] == ["pulling manifest"]
    assert server.sent["/api/pull"] < 16 * MB  # stopped reading at the limit


def test_the_decoder_refuses_a_long_line_as_it_grows() -> None:
    cap = limits.MAX_LINE_BYTES
    too_long = f"longer than {limits.bytes_text(cap)}"
    decoder = NDJSONDecoder("POST /api/pull")
    chunk = b"y" * 4096
    fed = 0
    with pytest.raises(ProtocolError, match=too_long):
        for _ in range(10 * cap // len(chunk)):
            decoder.feed(chunk)
            fed += len(chunk)
    assert fed <= cap  # the chunk that went past the limit was the last one taken
    # Also a long line inside one chunk, and a long unfinished tail after a newline.
    for data in (b"{}\n" + b"z" * (cap + 1) + b"\n{}\n", b"{}\n" + b"z" * (cap + 1)):
        with pytest.raises(ProtocolError, match=too_long):
            NDJSONDecoder("POST /api/pull").feed(data)
    # A line of exactly the limit is fine.
    line = b'{"status":"' + b"a" * (cap - 13) + b'"}'
    assert len(line) == cap
    decoder = NDJSONDecoder("POST /api/pull")
    for start in range(0, len(line), 65536):
        assert decoder.feed(line[start : start + 65536]) == []
    assert decoder.feed(b"\n") == [{"status": "a" * (cap - 13)}]


def test_buffering_a_long_line_is_linear(monkeypatch: pytest.MonkeyPatch) -> None:
    """Twice the line costs about twice the time (a re-join per chunk costs four times)."""
    monkeypatch.setattr(limits, "MAX_LINE_BYTES", 64 * MB)
    chunk = b"q" * 256

    def feed_line(size: int) -> float:
        decoder = NDJSONDecoder("POST /api/pull")
        head = b'{"status":"'
        started = time.perf_counter()
        decoder.feed(head)
        for _ in range(size // len(chunk)):
            decoder.feed(chunk)
        (event,) = decoder.feed(b'"}\n')
        elapsed = time.perf_counter() - started
        assert len(event["status"]) == size
        return elapsed

    def best(size: int) -> float:
        return min(feed_line(size) for _ in range(5))

    small, large = best(1 * MB), best(2 * MB)
    assert large / small < 3.0, (small, large)


# -- string lengths -------------------------------------------------------------------------


def test_long_strings_are_cut_at_the_client_boundary() -> None:
    cap = limits.MAX_TEXT_CHARS
    huge = "n" * (20 * MB)

    def is_cut(text: str | None, limit: int = cap) -> bool:
        return text is not None and len(text) == limit and text.endswith("…")

    event = ProgressEvent.from_json({"status": huge, "digest": huge, "total": 1, "completed": 0})
    assert is_cut(event.status) and is_cut(event.digest)
    odd = ProgressEvent.from_json({"status": huge, "total": "1"})  # the slow path
    assert is_cut(odd.status)
    assert ProgressEvent.from_json({"status": "fine", "digest": "sha256:ab"}).status == "fine"
    model = LocalModel.from_json(
        {
            "name": huge,
            "digest": huge,
            "details": {"family": huge, "families": [huge] * 3, "quantization_level": huge},
            "capabilities": ["completion"] * 100_000,
            "remote_host": huge,
        }
    )
    assert is_cut(model.name) and is_cut(model.model) and is_cut(model.digest)
    assert is_cut(model.details.family) and is_cut(model.details.quantization_level)
    assert all(is_cut(f) for f in model.details.families)
    assert len(model.capabilities) == limits.MAX_LIST_ITEMS
    assert is_cut(model.remote_host)
    running = RunningModel.from_json({"model": huge, "details": {"parameter_size": huge}})
    assert is_cut(running.name) and is_cut(running.details.parameter_size)
    show = ModelShow.from_json(
        {
            "license": huge,
            "modelfile": huge,
            "template": huge,
            "system": huge,
            "parameters": huge,
            "messages": [{"role": huge, "content": huge}],
            "details": {"format": huge},
        }
    )
    doc = limits.MAX_DOCUMENT_CHARS
    for text in (show.license, show.modelfile, show.template, show.system, show.parameters):
        assert is_cut(text, doc)
    assert is_cut(show.messages[0].role) and is_cut(show.messages[0].content, doc)
    assert is_cut(show.details.format)


async def test_long_server_messages_are_cut(server: HostileServer) -> None:
    huge = "e" * (5 * MB)
    server.routes["/api/tags"] = lambda w: server.reply_json(w, {"error": huge}, status=500)
    server.routes["/api/version"] = lambda w: server.reply_json(w, {"version": huge})

    async def pieces() -> AsyncIterator[bytes]:
        yield json.dumps({"status": "s" * 500_000}).encode() + b"\n"
        yield json.dumps({"error": "f" * 500_000}).encode() + b"\n"

    server.stream_route("/api/pull", pieces)
    cap = limits.MAX_TEXT_CHARS
    async with OllamaClient(server.url, environ={}) as client:
        with pytest.raises(ApiError) as api_error:
            await client.list_models()
        assert len(str(api_error.value)) == cap
        assert len(await client.version()) == cap
        events: list[ProgressEvent] = []
        with pytest.raises(StreamError) as stream_error:
            async for event in client.pull("m:latest"):
                events.append(event)
        assert len(events[0].status) == cap and events[0].status.endswith("…")
        assert len(str(stream_error.value)) == cap


async def test_a_20_mb_status_never_reaches_the_jobs_view(
    server: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A status under the line limit is cut; one of 20 MB fails the job with a short error."""
    monkeypatch.setattr(limits, "MAX_LINE_BYTES", 1 * MB)

    async def cut_status() -> AsyncIterator[bytes]:
        yield json.dumps({"status": "p" * 900_000}).encode() + b"\n"
        await asyncio.Event().wait()  # the job stays running with that phase

    async def huge_status() -> AsyncIterator[bytes]:
        yield b'{"status":"' + b"p" * (20 * MB) + b'"}\n'

    server.stream_route("/api/pull", cut_status)
    server.stream_route("/api/push", huge_status)
    async with OllamaClient(server.url, environ={}) as client:
        queue = JobQueue(client, min_interval=0)
        running = queue.submit_pull("m:latest")
        failed = queue.submit_push("m:latest")
        await poll_until(lambda: running.phase and failed.state is JobState.FAILED)
        assert len(running.phase) == limits.MAX_TEXT_CHARS
        assert failed.error == "the server sent a progress line longer than 1 MB on POST /api/push"
        queue.cancel(running.id)
        await queue.aclose()


# -- layers ---------------------------------------------------------------------------------


def test_layers_past_the_limit_add_to_the_totals_without_bars() -> None:
    cap = limits.MAX_LAYERS
    job = Job(1, JobKind.PULL, "m:latest", _clock=lambda: 0.0)
    job.state = JobState.RUNNING
    count = 100_000
    started = time.perf_counter()
    for i in range(count):
        digest = f"sha256:{i:064x}"
        job.apply(ProgressEvent("pulling", digest, 10, 0), now=0.0)
        job.apply(ProgressEvent("pulling", digest, 10, 4), now=0.1)
        job.apply(ProgressEvent("pulling", digest, 10, 10), now=0.2)
    elapsed = time.perf_counter() - started
    assert len(job.layers) == cap
    assert job.total == 10 * count and job.completed == 10 * count
    assert job.bytes_this_run == 10 * count
    assert job.layers_note == f"more than {cap:,} layers: listing the first {cap:,}"
    # The job's figures cost the listed bars, not every layer ever seen.
    per_figure = min(_timed(lambda: job.total) for _ in range(5))
    assert per_figure < elapsed / 1000, (per_figure, elapsed)
    job._reset_for_run()  # a retry keeps what the last run reached, the extra layers too
    assert job.total == 10 * count and len(job.layers) == cap


def _timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


async def test_a_pull_of_100k_layers_keeps_the_layer_table_bounded(
    server: HostileServer,
) -> None:
    count = 100_000

    async def pieces() -> AsyncIterator[bytes]:
        lines = [
            json.dumps({"status": f"pulling {i:x}", "digest": f"sha256:{i:064x}", "total": 2})
            for i in range(count)
        ]
        for start in range(0, count, 1000):
            yield ("\n".join(lines[start : start + 1000]) + "\n").encode()
        yield b'{"status":"success"}\n'

    server.stream_route("/api/pull", pieces)
    async with OllamaClient(server.url, environ={}) as client:
        queue = JobQueue(client, min_interval=0)
        job = queue.submit_pull("m:latest")
        await poll_until(lambda: not job.is_active, timeout=60)
        await queue.aclose()
    assert job.state is JobState.DONE
    assert len(job.layers) == limits.MAX_LAYERS
    assert job.total == 2 * count
    assert f"listing the first {limits.MAX_LAYERS:,}" in job.layers_note

    from ollama_tui.widgets.job_progress import job_status

    assert f"more than {limits.MAX_LAYERS:,} layers" in job_status(job).plain


# -- silence --------------------------------------------------------------------------------


@pytest.mark.parametrize("headers_first", [True, False])
async def test_a_silent_stream_fails_after_the_read_timeout(
    server: HostileServer, monkeypatch: pytest.MonkeyPatch, headers_first: bool
) -> None:
    async def pieces() -> AsyncIterator[bytes]:
        yield b'{"status":"pulling manifest"}\n'
        await asyncio.Event().wait()  # and then nothing, ever

    async def no_answer(writer: asyncio.StreamWriter) -> None:
        await asyncio.Event().wait()

    if headers_first:
        server.stream_route("/api/pull", pieces)
    else:
        server.routes["/api/pull"] = no_answer
    monkeypatch.setattr(limits, "STREAM_READ_TIMEOUT", 0.3)
    async with OllamaClient(server.url, environ={}) as client:
        started = time.monotonic()
        async with asyncio.timeout(20):
            with pytest.raises(StreamError) as info:
                async for _ in client.pull("m:latest"):
                    pass
    assert str(info.value) == "the server sent nothing for 0.3 s during the pull; gave up"
    assert time.monotonic() - started < 10


async def test_a_silent_stream_fails_the_job(server: HostileServer) -> None:
    async def pieces() -> AsyncIterator[bytes]:
        yield b'{"status":"pulling manifest"}\n'
        await asyncio.Event().wait()

    server.stream_route("/api/pull", pieces)
    async with OllamaClient(server.url, environ={}, stream_read_timeout=0.3) as client:
        queue = JobQueue(client, min_interval=0)
        job = queue.submit_pull("m:latest")
        await poll_until(lambda: not job.is_active)
        await queue.aclose()
    assert job.state is JobState.FAILED
    assert job.error == "the server sent nothing for 0.3 s during the pull; gave up"


def test_the_default_read_timeout_outlasts_a_real_servers_silences() -> None:
    # Verifying a 400 GB blob at 500 MB/s takes 13.5 minutes without a progress line.
    assert limits.STREAM_READ_TIMEOUT >= 400e9 / 500e6
    assert limits.seconds_text(limits.STREAM_READ_TIMEOUT) == "30 minutes"
    client = OllamaClient("http://127.0.0.1:1", environ={})
    assert client.stream_read_timeout == limits.STREAM_READ_TIMEOUT


async def test_the_layer_table_touches_only_the_cells_that_changed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An expanded job of MAX_LAYERS bars costs the bars that moved, not all of them."""
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable

    from ollama_tui.widgets.job_progress import JobRow

    job = Job(1, JobKind.PULL, "m:latest", _clock=lambda: 0.0)
    job.state = JobState.RUNNING
    for i in range(100_000):
        job.apply(ProgressEvent("pulling", f"sha256:{i:064x}", 100, 1), now=0.0)

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield JobRow(job)

    updates: list[object] = []
    original = DataTable.update_cell

    def counting(self: DataTable[Any], *args: Any, **kwargs: Any) -> None:
        updates.append(args)
        original(self, *args, **kwargs)

    monkeypatch.setattr(DataTable, "update_cell", counting)
    app = One()
    async with app.run_test(size=(120, 40)) as pilot:
        row = app.query_one(JobRow)
        row.toggle_expanded()
        await pilot.pause()
        table = row.query_one("#job-layers", DataTable)
        assert table.row_count == limits.MAX_LAYERS
        updates.clear()
        for i in (3, 500, 999):
            job.apply(ProgressEvent("pulling", f"sha256:{i:064x}", 100, 50), now=1.0)
        row.update_job(job)
        await pilot.pause()
        assert len(updates) == 3 * 2  # percent and size of three rows
        assert table.get_row(f"sha256:{500:064x}")[2].plain == " 50"
