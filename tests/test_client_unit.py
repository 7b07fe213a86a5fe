"""Client behaviour against scripted answers (httpx.MockTransport): shapes, errors, bodies."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from ollama_tui.api import (
    ApiError,
    InvalidInput,
    ModelNotFound,
    OllamaClient,
    ProgressEvent,
    ProtocolError,
    ServerUnreachable,
    StreamError,
)
from ollama_tui.api.ndjson import NDJSONDecoder

Handler = Callable[[httpx.Request], httpx.Response]
SECRET = "sk-very-secret-token-123"


class Chunks(httpx.AsyncByteStream):
    """A response body delivered in the given pieces."""

    def __init__(self, *parts: bytes) -> None:
        self.parts = parts

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            yield part


class Recorder:
    """A scripted server: routes "METHOD /path" to a handler and records requests."""

    def __init__(self, routes: dict[str, Any]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []
        self.bodies: list[bytes] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.bodies.append(await request.aread())
        route = self.routes.get(f"{request.method} {request.url.path}")
        if route is None:
            return httpx.Response(404, text="404 page not found")
        if callable(route):
            result: httpx.Response = route(request)
            return result
        return route  # type: ignore[no-any-return]

    def json_bodies(self, path: str) -> list[Any]:
        return [
            json.loads(body)
            for request, body in zip(self.requests, self.bodies, strict=True)
            if request.url.path == path and body
        ]


def client_for(recorder: Recorder, **kwargs: Any) -> OllamaClient:
    kwargs.setdefault("environ", {})
    return OllamaClient("http://127.0.0.1:11434", transport=httpx.MockTransport(recorder), **kwargs)


def ndjson(*objects: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(o).encode() + b"\n" for o in objects)


# -- headers and repr -----------------------------------------------------------------------


async def test_headers_sent_but_never_shown() -> None:
    rec = Recorder({"GET /api/version": httpx.Response(200, json={"version": "0.12.6"})})
    client = client_for(rec, headers={"Authorization": f"Bearer {SECRET}", "X-Team": "a"})
    async with client:
        assert await client.version() == "0.12.6"
    sent = rec.requests[0].headers
    assert sent["authorization"] == f"Bearer {SECRET}"
    assert sent["x-team"] == "a"
    assert sent["user-agent"].startswith("ollama-tui/")
    assert SECRET not in repr(client)
    assert SECRET not in str(client)
    assert repr(client) == "OllamaClient(base_url='http://127.0.0.1:11434')"


async def test_api_key_from_environment() -> None:
    rec = Recorder({"GET /api/version": httpx.Response(200, json={"version": "1.0.0"})})
    async with client_for(rec, environ={"OLLAMA_API_KEY": SECRET}) as client:
        await client.version()
        assert SECRET not in repr(client)
    assert rec.requests[0].headers["authorization"] == f"Bearer {SECRET}"


async def test_explicit_authorization_beats_api_key() -> None:
    rec = Recorder({"GET /api/version": httpx.Response(200, json={"version": "1.0.0"})})
    env = {"OLLAMA_API_KEY": "from-env"}
    async with client_for(rec, environ=env, headers={"authorization": "Basic abc"}) as client:
        await client.version()
    assert rec.requests[0].headers.get_list("authorization") == ["Basic abc"]


async def test_no_authorization_by_default() -> None:
    rec = Recorder({"GET /api/version": httpx.Response(200, json={"version": "1.0.0"})})
    async with client_for(rec) as client:
        await client.version()
    assert "authorization" not in rec.requests[0].headers


def test_host_from_environ() -> None:
    client = OllamaClient(environ={"OLLAMA_HOST": "0.0.0.0:9999"})
    assert client.base_url == "http://127.0.0.1:9999"


async def test_base_path_is_kept() -> None:
    rec = Recorder({"GET /ollama/api/tags": httpx.Response(200, json={"models": []})})
    client = OllamaClient(
        "https://example.com/ollama", transport=httpx.MockTransport(rec), environ={}
    )
    async with client:
        assert await client.list_models() == []
    assert str(rec.requests[0].url) == "https://example.com/ollama/api/tags"


# -- shapes ---------------------------------------------------------------------------------


async def test_running_old_shape() -> None:
    body = {"running": [{"name": "llama3", "status": "loaded", "pid": 7}]}
    rec = Recorder({"GET /api/ps": httpx.Response(200, json=body)})
    async with client_for(rec) as client:
        running = await client.running()
    assert [m.name for m in running] == ["llama3"]


async def test_tags_null_models_and_show_flat_shape() -> None:
    flat = {"name": "llama2", "format": "gguf", "family": "llama", "model_file": "FROM x\n"}
    rec = Recorder(
        {
            "GET /api/tags": httpx.Response(200, json={"models": None}),
            "POST /api/show": httpx.Response(200, json=flat),
        }
    )
    async with client_for(rec) as client:
        assert await client.list_models() == []
        show = await client.show("llama2")
    assert show.modelfile == "FROM x\n"
    assert show.details.family == "llama"
    assert rec.requests[1].method == "POST"
    assert rec.json_bodies("/api/show") == [{"model": "llama2", "name": "llama2"}]


async def test_copy_empty_and_nonempty_body() -> None:
    rec = Recorder({"POST /api/copy": httpx.Response(200)})
    async with client_for(rec) as client:
        await client.copy("a", "b")
        rec.routes["POST /api/copy"] = httpx.Response(200, json={"status": "success"})
        await client.copy("a", "b")
        rec.routes["POST /api/copy"] = httpx.Response(200, text="<html>")
        with pytest.raises(ProtocolError, match="POST /api/copy"):
            await client.copy("a", "b")
    assert rec.json_bodies("/api/copy")[0] == {"source": "a", "destination": "b"}


async def test_delete_sends_json_body_on_delete() -> None:
    rec = Recorder({"DELETE /api/delete": httpx.Response(200)})
    async with client_for(rec) as client:
        await client.delete("m:1b")
    assert rec.requests[0].method == "DELETE"
    assert rec.json_bodies("/api/delete") == [{"model": "m:1b", "name": "m:1b"}]


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "kind", "message"),
    [
        (
            httpx.Response(404, json={"error": "model 'foo:latest' not found"}),
            ModelNotFound,
            "model 'foo:latest' not found",
        ),
        (
            httpx.Response(404, json={"error": 'model "x" not found, try pulling it first'}),
            ModelNotFound,
            'model "x" not found, try pulling it first',
        ),
        (httpx.Response(404, text="404 page not found"), ApiError, "404 page not found"),
        (httpx.Response(405, text="405 method not allowed"), ApiError, "405 method not allowed"),
        (
            httpx.Response(500, json={"error": "llama runner process has terminated"}),
            ApiError,
            "llama runner process has terminated",
        ),
        (httpx.Response(400, json={"error": "invalid model name"}), ApiError, "invalid model name"),
        (httpx.Response(403), ApiError, "the server answered HTTP 403 Forbidden to POST /api/show"),
        (
            httpx.Response(503, json={"error": "server busy, please try again."}),
            ApiError,
            "server busy, please try again.",
        ),
    ],
)
async def test_http_errors(response: httpx.Response, kind: type[ApiError], message: str) -> None:
    rec = Recorder({"POST /api/show": response})
    async with client_for(rec) as client:
        with pytest.raises(ApiError) as info:
            await client.show("foo")
    assert type(info.value) is kind
    assert str(info.value) == message
    assert info.value.server_message == message
    assert info.value.status_code == response.status_code


@pytest.mark.parametrize(
    ("response", "fragment"),
    [
        (httpx.Response(200, text="Ollama is running"), "GET /api/tags"),
        (httpx.Response(200, text='{"models": [1, 2]}'), "malformed 'models' list"),
        (httpx.Response(200, text='{"models": {"a": 1}}'), "malformed 'models' list"),
        (httpx.Response(200, text="[1]"), "not a JSON object"),
        (httpx.Response(200, text='{"models": [{"name": "a"'), "not valid JSON"),
    ],
)
async def test_protocol_errors(response: httpx.Response, fragment: str) -> None:
    rec = Recorder({"GET /api/tags": response})
    async with client_for(rec) as client:
        with pytest.raises(ProtocolError, match=fragment):
            await client.list_models()


async def test_connection_refused_message() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with OllamaClient(f"127.0.0.1:{port}", environ={}) as client:
        with pytest.raises(ServerUnreachable) as info:
            await client.version()
        with pytest.raises(ServerUnreachable):
            async for _ in client.pull("llama3.2"):
                pass
    assert str(info.value) == (
        f"cannot reach the Ollama server at http://127.0.0.1:{port}: connection refused"
    )


async def test_dns_failure_message() -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno -2] Name or service not known") from socket.gaierror(
            -2, "Name or service not known"
        )

    client = OllamaClient("nosuchhost.invalid", transport=httpx.MockTransport(fail), environ={})
    async with client:
        with pytest.raises(ServerUnreachable) as info:
            await client.list_models()
    assert str(info.value) == (
        "cannot reach the Ollama server at http://nosuchhost.invalid:11434: "
        "the host name could not be resolved"
    )


@pytest.mark.parametrize(
    ("exc", "fragment"),
    [
        (httpx.ConnectTimeout("timed out"), "connection timed out"),
        (httpx.ReadTimeout("timed out"), "did not answer within 10 s"),
        (
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
            "the connection was closed without a response",
        ),
        (httpx.ReadError("reset"), "the connection was reset"),
    ],
)
async def test_transport_errors(exc: Exception, fragment: str) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise exc

    client = OllamaClient(transport=httpx.MockTransport(fail), environ={})
    async with client:
        with pytest.raises(ServerUnreachable, match=fragment):
            await client.running()


# -- invalid input sends nothing ------------------------------------------------------------


async def test_invalid_names_send_nothing(tmp_path: Path) -> None:
    rec = Recorder({})
    bad = "bad name"
    async with client_for(rec) as client:
        calls = [
            lambda: client.show(bad),
            lambda: client.copy(bad, "ok"),
            lambda: client.copy("ok", "foo:"),
            lambda: client.delete("/foo"),
            lambda: client.load("m@sha256:" + "0" * 64),
            lambda: client.unload("a/b/c/d"),
            lambda: client.load("ok", keep_alive="forever"),
            lambda: client.load("ok", keep_alive=True),
            lambda: client.blob_exists("sha256:1234"),
        ]
        for call in calls:
            with pytest.raises(InvalidInput):
                await call()
        with pytest.raises(InvalidInput):
            client.pull(bad)
        with pytest.raises(InvalidInput):
            client.push("x:")
        with pytest.raises(InvalidInput):
            client.create(bad, "FROM llama3.2")
        with pytest.raises(InvalidInput, match="no such file"):
            client.upload_blob(tmp_path / "missing.gguf")
    assert rec.requests == []


async def test_create_modelfile_errors_keep_position() -> None:
    rec = Recorder({})
    async with client_for(rec) as client:
        with pytest.raises(InvalidInput) as info:
            client.create("ok", "FROM llama3.2\nBOGUS x\n")
        assert info.value.line == 2
        assert info.value.column == 1
        assert "line 2" in str(info.value)
        with pytest.raises(InvalidInput, match="ADAPTER"):
            client.create("ok", "FROM llama3.2\nADAPTER ./nope.gguf\n")
        with pytest.raises(InvalidInput, match="no such file or folder"):
            client.create("ok", "FROM ./not here.gguf\n")
    assert rec.requests == []


# -- load / unload --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keep_alive", "sent"),
    [
        ("10m", "10m"),
        ("1h30m", "1h30m"),
        ("-1m", "-1m"),
        ("0", 0),
        ("-1", -1),
        (300, 300),
        (2.5, 2.5),
        # Any negative number of seconds is forever, sent as -1 (the dialog's parser).
        (-5, -1),
        (" -5 ", -1),
    ],
)
async def test_load_keep_alive(keep_alive: str | float, sent: str | float) -> None:
    done = {"model": "m", "response": "", "done": True, "done_reason": "load"}
    rec = Recorder({"POST /api/generate": httpx.Response(200, json=done)})
    async with client_for(rec) as client:
        await client.load("m", keep_alive)
    assert rec.json_bodies("/api/generate") == [{"model": "m", "keep_alive": sent}]


@pytest.mark.parametrize("keep_alive", ["1d", "forever", True, 1e300, float("inf"), "9" * 330])
async def test_load_refuses_a_bad_keep_alive_before_sending(keep_alive: str | float) -> None:
    rec = Recorder({})
    async with client_for(rec) as client:
        with pytest.raises(InvalidInput):
            await client.load("m", keep_alive)
    assert rec.requests == []


async def test_load_embedding_and_error_in_reply() -> None:
    rec = Recorder({"POST /api/embed": httpx.Response(200, json={"model": "e", "embeddings": []})})
    async with client_for(rec) as client:
        await client.load("e", embedding=True)
        assert rec.json_bodies("/api/embed") == [{"model": "e"}]
        rec.routes["POST /api/embed"] = httpx.Response(200, text='{"error":"boom"}\n')
        with pytest.raises(StreamError, match="boom"):
            await client.load("e", embedding=True)
        rec.routes["POST /api/embed"] = httpx.Response(200, text="")
        with pytest.raises(ProtocolError):
            await client.load("e", embedding=True)


@pytest.mark.parametrize(
    ("capabilities", "path"),
    [
        (None, "/api/generate"),
        (["completion", "tools"], "/api/generate"),
        (["embedding"], "/api/embed"),
        (["embedding", "completion"], "/api/generate"),
    ],
)
async def test_unload_endpoint_from_capabilities(capabilities: list[str] | None, path: str) -> None:
    reply = httpx.Response(200, json={"model": "m", "done": True, "done_reason": "unload"})
    rec = Recorder({"POST /api/generate": reply, "POST /api/embed": reply})
    async with client_for(rec) as client:
        await client.unload("nomic-embed-text", capabilities=capabilities)
    assert [r.url.path for r in rec.requests] == [path]
    assert rec.json_bodies(path) == [{"model": "nomic-embed-text", "keep_alive": 0}]


# -- streams --------------------------------------------------------------------------------


def stream_response(*parts: bytes, status: int = 200) -> httpx.Response:
    return httpx.Response(
        status, headers={"Content-Type": "application/x-ndjson"}, stream=Chunks(*parts)
    )


async def collect(iterator: AsyncIterator[ProgressEvent]) -> list[ProgressEvent]:
    return [event async for event in iterator]


async def test_pull_chunking_crlf_and_blank_lines() -> None:
    body = (
        b'{"status":"pulling manifest"}\r\n\r\n'
        b'{"status":"pulling abc","digest":"sha256:abc","total":10,"completed":4}\n\n'
        b'{"status":"success"}'
    )
    parts = [body[i : i + 7] for i in range(0, len(body), 7)]
    rec = Recorder({"POST /api/pull": stream_response(*parts)})
    async with client_for(rec) as client:
        events = await collect(client.pull("llama3.2", insecure=True))
    assert events == [
        ProgressEvent("pulling manifest"),
        ProgressEvent("pulling abc", "sha256:abc", 10, 4),
        ProgressEvent("success"),
    ]
    assert rec.json_bodies("/api/pull") == [
        {"model": "llama3.2", "name": "llama3.2", "insecure": True, "stream": True}
    ]


async def test_stream_error_line() -> None:
    body = ndjson(
        {"status": "pulling manifest"}, {"error": "pull model manifest: file does not exist"}
    )
    rec = Recorder({"POST /api/pull": stream_response(body)})
    seen: list[ProgressEvent] = []
    async with client_for(rec) as client:
        with pytest.raises(StreamError) as info:
            async for event in client.pull("nope"):
                seen.append(event)
    assert str(info.value) == "pull model manifest: file does not exist"
    assert seen == [ProgressEvent("pulling manifest")]


async def test_stream_without_success() -> None:
    rec = Recorder({"POST /api/push": stream_response(ndjson({"status": "retrieving manifest"}))})
    async with client_for(rec) as client:
        with pytest.raises(StreamError, match="closed the stream before the push finished"):
            await collect(client.push("me/m"))


async def test_stream_malformed_line() -> None:
    rec = Recorder({"POST /api/pull": stream_response(b'{"status":"pulling manifest"}\n{"sta\n')})
    async with client_for(rec) as client:
        with pytest.raises(ProtocolError, match="POST /api/pull"):
            await collect(client.pull("m"))


async def test_stream_http_error_before_stream() -> None:
    rec = Recorder({"POST /api/pull": httpx.Response(400, json={"error": "invalid model name"})})
    async with client_for(rec) as client:
        with pytest.raises(ApiError) as info:
            await collect(client.pull("m"))
    assert info.value.status_code == 400
    assert str(info.value) == "invalid model name"


# -- NDJSON decoder -------------------------------------------------------------------------


def test_ndjson_decoder_partial_chunks() -> None:
    decoder = NDJSONDecoder("POST /api/pull")
    assert decoder.feed(b'{"a":') == []
    assert decoder.feed(b'1}\r\n{"b"') == [{"a": 1}]
    assert decoder.feed(b":2}\n\n   \n\r\n") == [{"b": 2}]
    assert decoder.feed(b'{"c":3}') == []
    assert decoder.close() == [{"c": 3}]
    assert decoder.close() == []


@pytest.mark.parametrize("line", [b"nope\n", b"[1,2]\n", b'"text"\n', b"{\n"])
def test_ndjson_decoder_rejects(line: bytes) -> None:
    with pytest.raises(ProtocolError, match="malformed progress line on POST /api/pull"):
        NDJSONDecoder("POST /api/pull").feed(line)


# -- blobs and create -----------------------------------------------------------------------


async def test_blob_exists() -> None:
    digest = "sha256:" + "a" * 64
    rec = Recorder({f"HEAD /api/blobs/{digest}": httpx.Response(200)})
    async with client_for(rec) as client:
        assert await client.blob_exists(digest)
        assert await client.blob_exists("A" * 64)
        assert await client.blob_exists("sha256-" + "a" * 64)
        assert not await client.blob_exists("sha256:" + "b" * 64)
        rec.routes[f"HEAD /api/blobs/{digest}"] = httpx.Response(500)
        with pytest.raises(ApiError):
            await client.blob_exists(digest)


class PieceRecorder(httpx.AsyncBaseTransport):
    """Reads request bodies piece by piece, as a socket would, and answers 201."""

    def __init__(self) -> None:
        self.pieces: list[bytes] = []
        self.headers: httpx.Headers | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.headers = request.headers
        async for piece in request.stream:  # type: ignore[union-attr]
            self.pieces.append(piece)
        return httpx.Response(201)


async def test_upload_blob_streams_in_chunks(tmp_path: Path) -> None:
    data = bytes(range(256)) * (12 * 1024)  # 3 MiB: several 1 MiB read chunks
    path = tmp_path / "weights.gguf"
    path.write_bytes(data)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    transport = PieceRecorder()
    client = OllamaClient(transport=transport, environ={})
    async with client:
        events = await collect(client.upload_blob(path))
    assert b"".join(transport.pieces) == data
    assert len(transport.pieces) == 3  # streamed from disk, never one big bytes object
    assert max(len(p) for p in transport.pieces) == 1 << 20
    assert transport.headers is not None
    assert transport.headers["content-length"] == str(len(data))
    assert "transfer-encoding" not in transport.headers
    hashing = [e for e in events if e.status == "hashing weights.gguf"]
    uploading = [e for e in events if e.status == "uploading weights.gguf"]
    assert hashing[0].completed == 0
    assert hashing[-1].completed == len(data)
    assert uploading[0].completed == 0
    assert uploading[-1] == ProgressEvent("uploading weights.gguf", digest, len(data), len(data))
    assert events[-1] == ProgressEvent("success")


class StallingTransport(httpx.AsyncBaseTransport):
    """Takes the first body piece, then stalls (a slow network) until cancelled."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.cancelled = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        async for _ in request.stream:  # type: ignore[union-attr]
            self.started.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled = True
                raise
        raise AssertionError("unreachable")


async def test_closing_an_upload_cancels_the_request(tmp_path: Path) -> None:
    path = tmp_path / "big.gguf"
    path.write_bytes(b"x" * (3 << 20))
    transport = StallingTransport()
    async with OllamaClient(transport=transport, environ={}) as client:
        upload = client.upload_blob(path, "sha256:" + "c" * 64)
        first = await anext(upload)
        assert first == ProgressEvent("uploading big.gguf", "sha256:" + "c" * 64, 3 << 20, 0)
        await asyncio.wait_for(transport.started.wait(), 5)  # the POST runs in the background
        await upload.aclose()
        assert transport.cancelled
        # Same when the consuming task is cancelled while waiting for progress.
        transport = StallingTransport()
        client._http._transport = transport  # a fresh stalling request
        upload = client.upload_blob(path, "sha256:" + "d" * 64)
        assert (await anext(upload)).completed == 0
        progress = asyncio.ensure_future(anext(upload))
        await asyncio.wait_for(transport.started.wait(), 5)
        progress.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await progress
        assert transport.cancelled


async def test_upload_blob_digest_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "w.bin"
    path.write_bytes(b"abc")
    message = 'digest mismatch, expected "sha256:aaaa", got "sha256:bbbb"'
    rec = Recorder(
        {f"POST /api/blobs/sha256:{'a' * 64}": httpx.Response(400, json={"error": message})}
    )
    async with client_for(rec) as client:
        with pytest.raises(ApiError, match="digest mismatch"):
            await collect(client.upload_blob(path, "a" * 64))


def create_routes(version: str, create: Any, blobs: dict[str, bool]) -> dict[str, Any]:
    def head(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200 if blobs.get(request.url.path.rsplit("/", 1)[1]) else 404)

    def post_blob(request: httpx.Request) -> httpx.Response:
        blobs[request.url.path.rsplit("/", 1)[1]] = True
        return httpx.Response(201)

    routes: dict[str, Any] = {
        "GET /api/version": httpx.Response(200, json={"version": version}),
        "POST /api/create": create,
    }
    for digest in blobs:
        routes[f"HEAD /api/blobs/{digest}"] = head
        routes[f"POST /api/blobs/{digest}"] = post_blob
    return routes


SUCCESS = ndjson({"status": "writing manifest"}, {"status": "success"})


async def test_create_structured_body() -> None:
    modelfile = (
        "FROM llama3.2\nSYSTEM You are Mario.\nPARAMETER temperature 0.7\n"
        "PARAMETER num_ctx 4096\nPARAMETER stop <|eot_id|>\nPARAMETER stop <|end|>\n"
        'LICENSE "MIT"\nMESSAGE user hi\nMESSAGE assistant hello\nTEMPLATE {{ .Prompt }}\n'
    )
    rec = Recorder(create_routes("0.12.6", lambda r: stream_response(SUCCESS), {}))
    async with client_for(rec) as client:
        events = await collect(client.create("mario", modelfile, quantize="q4_K_M"))
    assert events[-1] == ProgressEvent("success")
    assert rec.json_bodies("/api/create") == [
        {
            "model": "mario",
            "name": "mario",
            "stream": True,
            "from": "llama3.2",
            "template": "{{ .Prompt }}",
            "system": "You are Mario.",
            "license": ["MIT"],
            "parameters": {"temperature": 0.7, "num_ctx": 4096, "stop": ["<|eot_id|>", "<|end|>"]},
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "hello"},
            ],
            "quantize": "q4_K_M",
        }
    ]


async def test_create_from_file_uploads_missing_blobs_only(tmp_path: Path) -> None:
    (tmp_path / "m.gguf").write_bytes(b"GGUF-weights")
    (tmp_path / "lora.gguf").write_bytes(b"GGUF-adapter")
    weights = "sha256:" + hashlib.sha256(b"GGUF-weights").hexdigest()
    adapter = "sha256:" + hashlib.sha256(b"GGUF-adapter").hexdigest()
    blobs = {weights: False, adapter: True}
    rec = Recorder(create_routes("0.6.0", lambda r: stream_response(SUCCESS), blobs))
    async with client_for(rec) as client:
        events = await collect(
            client.create("mine", "FROM ./m.gguf\nADAPTER lora.gguf\n", base_dir=tmp_path)
        )
    calls = [f"{r.method} {r.url.path}" for r in rec.requests]
    assert calls == [
        "GET /api/version",
        f"HEAD /api/blobs/{weights}",
        f"POST /api/blobs/{weights}",
        f"HEAD /api/blobs/{adapter}",
        "POST /api/create",
    ]
    assert rec.json_bodies("/api/create")[0]["files"] == {"m.gguf": weights}
    assert rec.json_bodies("/api/create")[0]["adapters"] == {"lora.gguf": adapter}
    assert "from" not in rec.json_bodies("/api/create")[0]
    assert ProgressEvent("uploading m.gguf", weights, 12, 12) in events
    assert ProgressEvent("uploading lora.gguf", adapter, 12, 12) in events


async def test_create_from_folder(tmp_path: Path) -> None:
    (tmp_path / "model-00001-of-00002.safetensors").write_bytes(b"w1")
    (tmp_path / "model-00002-of-00002.safetensors").write_bytes(b"w2")
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "tokenizer.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "config.json").write_text('{"x":1}')
    digests = {
        "sha256:" + hashlib.sha256(d).hexdigest(): False for d in (b"w1", b"w2", b"{}", b'{"x":1}')
    }
    rec = Recorder(create_routes("0.0.0", lambda r: stream_response(SUCCESS), digests))
    async with client_for(rec) as client:
        await collect(client.create("folder", f"FROM {tmp_path}\n"))
    files = rec.json_bodies("/api/create")[0]["files"]
    assert sorted(files) == [
        "config.json",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "sub/config.json",
        "tokenizer.json",
    ]


async def test_create_legacy_for_old_server(tmp_path: Path) -> None:
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    digest = "sha256:" + hashlib.sha256(b"GGUF").hexdigest()
    rec = Recorder(create_routes("0.5.4", lambda r: stream_response(SUCCESS), {digest: False}))
    async with client_for(rec) as client:
        await collect(client.create("old", "FROM ./m.gguf\nSYSTEM hi\n", base_dir=tmp_path))
        await collect(client.create("old2", "FROM llama3.2\n"))
    first, second = rec.json_bodies("/api/create")
    assert first["model"] == "old"
    assert "from" not in first and "files" not in first
    assert f"FROM @{digest}" in first["modelfile"]
    assert "SYSTEM hi" in first["modelfile"]
    assert second["modelfile"] == "FROM llama3.2\n"
    assert [r.url.path for r in rec.requests].count("/api/version") == 1


async def test_create_falls_back_to_legacy_on_400() -> None:
    answers = [
        httpx.Response(400, json={"error": "path or Modelfile are required"}),
        stream_response(SUCCESS),
    ]
    rec = Recorder(create_routes("0.12.0", lambda r: answers.pop(0), {}))
    async with client_for(rec) as client:
        events = await collect(client.create("x", "FROM llama3.2\nSYSTEM s\n"))
    structured, legacy = rec.json_bodies("/api/create")
    assert structured["from"] == "llama3.2"
    assert "modelfile" in legacy and "from" not in legacy
    assert events[-1].status == "success"


async def test_create_other_400_is_raised() -> None:
    reply = httpx.Response(400, json={"error": "neither 'from' or 'files' was specified"})
    rec = Recorder(create_routes("0.12.0", reply, {}))
    async with client_for(rec) as client:
        with pytest.raises(ApiError, match="neither 'from' or 'files'"):
            await collect(client.create("x", "FROM llama3.2\n"))
