"""The async Ollama client: one ``httpx.AsyncClient``, typed results, one exception tree."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import hashlib
import http.client
import json
import os
import re
import socket
import ssl
import urllib.request
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Protocol, Self, TypeVar
from urllib.parse import urlsplit

import httpx

from ollama_tui.api import limits
from ollama_tui.api.errors import (
    ApiError,
    ConnectionLost,
    InvalidInput,
    ModelNotFound,
    ProtocolError,
    ServerUnreachable,
    StreamError,
)
from ollama_tui.api.headers import request_headers
from ollama_tui.api.hosts import is_loopback, resolve_host
from ollama_tui.api.keep_alive import parse_keep_alive
from ollama_tui.api.models import (
    EmbedStats,
    GenerateStats,
    LocalModel,
    ModelShow,
    ProgressEvent,
    RunningModel,
    checked_int,
    is_embedding_only,
)
from ollama_tui.api.names import parse_model_name, validate_model_name
from ollama_tui.api.ndjson import NDJSONDecoder

if TYPE_CHECKING:
    from ollama_tui.modelfile import Modelfile

__all__ = ["ContactObserver", "ModelList", "OllamaClient"]

_M = TypeVar("_M", LocalModel, RunningModel)
_Parsed = TypeVar("_Parsed")
_HASH_STEP = 64 << 20  # bytes hashed per worker-thread call (one progress event each)
_READ_CHUNK = 1 << 20  # bytes per file read while hashing/uploading
_DIGEST_RE = re.compile(r"(?:sha256[:-])?([0-9a-fA-F]{64})")
_VERSION_RE = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")
_STRUCTURED_CREATE = (0, 5, 5)
_LEGACY_CREATE_MESSAGE = "path or modelfile are required"
_Lost = TypeVar("_Lost", ServerUnreachable, ConnectionLost)
# What a proxy answers for a server behind it that is down: not a sign the server answers.
_GATEWAY_STATUSES = frozenset({502, 503, 504})


class ContactObserver(Protocol):
    """Told how each request to the server went (see ``OllamaClient.observer``)."""

    def answered(self) -> None:
        """The server answered (any HTTP answer, a stream's next chunk)."""

    def lost(self, reason: str) -> None:
        """The server could not be reached, or a connection to it dropped."""


# Weight file sets of a model folder, first match wins (like the Go CLI).
_WEIGHT_PATTERNS = (
    "model*.safetensors",
    "consolidated*.safetensors",
    "adapters.safetensors",
    "adapter_model.safetensors",
    "pytorch_model*.bin",
    "consolidated*.pth",
    "*.gguf",
    "*.bin",
)
_EXTRA_PATTERNS = ("*.json", "*/*.json", "chat_template.jinja", "tokenizer.model")


def _normalize_digest(digest: str) -> str:
    match = _DIGEST_RE.fullmatch(digest.strip())
    if match is None:
        raise InvalidInput(f"invalid blob digest {digest!r}: expected sha256:<64 hex digits>")
    return "sha256:" + match.group(1).lower()


def _version_tuple(version: str) -> tuple[int, int, int] | None:
    match = _VERSION_RE.match(version.strip())
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def _connect_reason(exc: BaseException) -> str:
    """A short human reason from the chain of a connect failure."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, socket.gaierror):
            return "the host name could not be resolved"
        if isinstance(cause, ssl.SSLError):
            return f"TLS handshake failed ({cause.reason or cause})"
        if isinstance(cause, ConnectionRefusedError) or getattr(cause, "errno", None) == (
            errno.ECONNREFUSED
        ):
            return "connection refused"
        if getattr(cause, "errno", None) == errno.ENETUNREACH:
            return "network is unreachable"
        if getattr(cause, "errno", None) == errno.EHOSTUNREACH:
            return "host is unreachable"
        cause = cause.__cause__ or cause.__context__
    text = str(exc).strip()
    if "name or service not known" in text.lower() or "nodename nor servname" in text.lower():
        return "the host name could not be resolved"
    return text or type(exc).__name__


def _hash_step(handle: IO[bytes], digest: Any) -> int:
    """Hash up to ``_HASH_STEP`` more bytes (runs in a worker thread)."""
    done = 0
    while done < _HASH_STEP:
        chunk = handle.read(_READ_CHUNK)
        if not chunk:
            break
        digest.update(chunk)
        done += len(chunk)
    return done


def _model_folder_files(folder: Path) -> dict[str, Path]:
    """The files ``ollama create`` sends for a model folder, keyed by relative path."""
    weights: list[Path] = []
    for pattern in _WEIGHT_PATTERNS:
        weights = sorted(p for p in folder.glob(pattern) if p.is_file())
        if weights:
            break
    if not weights:
        raise InvalidInput(
            f"no model weights found in folder {str(folder)!r} (expected *.safetensors, "
            "*.gguf, *.bin or *.pth files)"
        )
    files = list(weights)
    for pattern in _EXTRA_PATTERNS:
        files.extend(sorted(p for p in folder.glob(pattern) if p.is_file()))
    result: dict[str, Path] = {}
    for path in files:
        key = PurePosixPath(*path.relative_to(folder).parts).as_posix()
        result.setdefault(key, path)
    return result


@dataclasses.dataclass
class _LocalSource:
    """A FROM/ADAPTER/DRAFT that named local files, with their digests once hashed."""

    files: dict[str, Path]
    is_folder: bool
    digests: dict[str, str] = dataclasses.field(default_factory=dict)


def _resolve_source(value: str, base_dir: Path, what: str) -> _LocalSource | None:
    """Resolve a FROM/ADAPTER value to local files; None if it does not exist."""
    path = Path(os.path.expanduser(value))
    if not path.is_absolute():
        path = base_dir / path
    try:
        if path.is_file():
            return _LocalSource({path.name: path}, is_folder=False)
        if path.is_dir():
            return _LocalSource(_model_folder_files(path), is_folder=True)
    except OSError as exc:
        raise InvalidInput(f"{what} {value!r}: {exc.strerror or exc}") from exc
    return None


def _has_http_proxy(environ: Mapping[str, str] | None) -> bool:
    """Whether httpx (``trust_env``) could send plain-http requests through a proxy."""
    if environ is None:
        # As httpx reads them: the environment, and on macOS and Windows the system settings.
        proxies = urllib.request.getproxies()
    else:
        proxies = {
            name.lower().removesuffix("_proxy"): value
            for name, value in environ.items()
            if value and name.lower().endswith("_proxy")
        }
    return bool(proxies.get("http") or proxies.get("all"))


class ModelList(list[_M]):
    """The models of one /api/tags or /api/ps reply, at most ``limits.MAX_MODELS`` of them.

    ``note`` says what was left out ("" when nothing was): the server's list goes on, and the
    user should know that what the tables show is not all of it.
    """

    note: str = ""


def _model_list(data: dict[str, Any], key: str, endpoint: str) -> list[dict[str, Any]]:
    items = data.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise ProtocolError(f"the server's answer to {endpoint} has a malformed {key!r} list")
    return items


def _models(
    items: list[dict[str, Any]], key: str, endpoint: str, parse: Callable[[dict[str, Any]], _M]
) -> ModelList[_M]:
    """Parse at most MAX_MODELS items (noting the rest) of a tags/ps list."""
    cap = limits.MAX_MODELS
    kept = items[:cap]
    if not all(isinstance(i, dict) for i in kept):
        raise ProtocolError(f"the server's answer to {endpoint} has a malformed {key!r} list")
    models = ModelList(map(parse, kept))
    if len(items) > cap:
        models.note = (
            f"the server sent {len(items):,} models on {endpoint}, more than {cap:,}; "
            f"showing the first {cap:,}"
        )
    return models


START_UP_TIMEOUT = 3.0
"""Seconds the standard-library start-up fetch waits before the async client takes over."""


def _declared_length(header: str) -> int:
    """A Content-Length header as a checked number (0 when absent or not a plain number)."""
    text = header.strip()
    if not (text.isascii() and text.isdigit()):
        return 0  # also "²", which isdigit() accepts and int() refuses
    if len(text) > len(str(limits.MAX_INT)):
        return (
            limits.MAX_INT
        )  # longer than any int64: past every cap (and int() of 5,000 digits raises)
    return checked_int(int(text)) or 0


class OllamaClient:
    """An async client for one Ollama server; use ``async with OllamaClient() as client``.

    ``headers`` are sent with every request (e.g. Authorization for a proxy); without an
    Authorization header, ``OLLAMA_API_KEY`` from the environment becomes a Bearer token.
    Header values are never shown by ``repr`` or in error messages. ``timeout`` bounds polling
    calls (version, tags, ps, show, copy, delete, unload) in total; streams and ``load`` have
    only a connect timeout, and streams (pull, push, create, blob uploads) fail after sending
    nothing for ``stream_read_timeout`` seconds (default ``limits.STREAM_READ_TIMEOUT``).
    Replies are read incrementally and refused past ``limits.MAX_BODY_BYTES``. ``transport`` is
    for tests (e.g. ``httpx.MockTransport``).
    """

    def __init__(
        self,
        host: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        environ: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        stream_read_timeout: float | None = None,
        insecure: bool = False,
    ) -> None:
        env = os.environ if environ is None else environ
        self.insecure = insecure
        """Do not verify the server's TLS certificate (a self-signed one behind a proxy)."""
        self.base_url: str = resolve_host(host, env)
        self.timeout = timeout
        # The one header builder: the start-up fetch (http.client) and httpx send this dict.
        all_headers = request_headers(headers, env)  # HeaderError names a bad header's key
        self._poll_timeout = httpx.Timeout(timeout)
        # Loading a big model answers only once it is loaded (minutes): no read timeout.
        self._long_timeout = httpx.Timeout(connect=timeout, read=None, write=None, pool=None)
        if stream_read_timeout is None:
            stream_read_timeout = limits.STREAM_READ_TIMEOUT
        self.stream_read_timeout = stream_read_timeout
        self._stream_timeout = httpx.Timeout(
            connect=timeout, read=stream_read_timeout, write=None, pool=None
        )
        self._server_version: str | None = None
        # The last answer of each model list (its body and what was made of it): a poll whose
        # body is byte for byte the same is neither decoded nor parsed again (at 20 servers x
        # 500 models, parsing unchanged lists was most of the app's CPU at idle).
        self._last_lists: dict[str, tuple[bytes, Any]] = {}
        self._headers = all_headers
        # A proxy from the environment applies to a remote server (httpx honours it; the
        # standard library's start-up fetch below would not): no start-up fetch then.
        self._proxied = not is_loopback(self.base_url) and _has_http_proxy(environ)
        self._transport = transport
        self._http_client: httpx.AsyncClient | None = None
        self._closed = False
        self.observer: ContactObserver | None = None
        """Told about every answer and every lost connection (e.g. the app's reachability)."""

    @property
    def _http(self) -> httpx.AsyncClient:
        """The connection pool, made on first use.

        Making one imports httpcore (and its first request anyio): tens of milliseconds that
        an app building its first frame need not spend on a client it has not used yet.
        """
        http = self._http_client
        if http is None:
            if self._closed:
                raise RuntimeError("Cannot send a request, as the client has been closed.")
            http = self._http_client = httpx.AsyncClient(
                base_url=self.base_url,
                headers=self._headers,
                timeout=self._poll_timeout,
                # Proxy variables must not capture a loopback server (Go's client bypasses
                # them too).
                trust_env=not is_loopback(self.base_url),
                # Plain http never uses TLS (redirects are not followed): skip loading the CA
                # bundle, which costs tens of milliseconds.
                verify=self.base_url.startswith("https://") and not self.insecure,
                transport=self._transport,
            )
        return http

    def __repr__(self) -> str:
        return f"OllamaClient(base_url={self.base_url!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (if one was made)."""
        self._closed = True
        http = self._http_client
        if http is not None:
            await http.aclose()

    # -- error mapping -------------------------------------------------------------------

    def _answered(self, response: httpx.Response) -> None:
        observer = self.observer
        if observer is not None and response.status_code not in _GATEWAY_STATUSES:
            observer.answered()

    def _lost(self, error: _Lost) -> _Lost:
        """Tell the observer, then hand the error back to be raised."""
        if self.observer is not None:
            self.observer.lost(str(error))
        return error

    def _no_answer(self) -> ServerUnreachable:
        return ServerUnreachable(
            f"the Ollama server at {self.base_url} did not answer within {self.timeout:g} s"
        )

    def _unreachable(self, exc: httpx.TransportError) -> ServerUnreachable:
        error = self._unreachable_error(exc)
        self._lost(error)
        return error

    def _unreachable_error(self, exc: httpx.TransportError) -> ServerUnreachable:
        where = f"the Ollama server at {self.base_url}"
        if isinstance(exc, httpx.ConnectTimeout):
            reason = "connection timed out"
        elif isinstance(exc, httpx.TimeoutException):
            return ServerUnreachable(f"{where} did not answer within {self.timeout:g} s")
        elif isinstance(exc, httpx.ConnectError):
            reason = _connect_reason(exc)
        elif isinstance(exc, httpx.RemoteProtocolError):
            reason = "the connection was closed without a response"
        elif isinstance(exc, httpx.ReadError | httpx.WriteError):
            reason = "the connection was reset"
        else:
            reason = str(exc).strip() or type(exc).__name__
        return ServerUnreachable(f"cannot reach {where}: {reason}")

    def _api_error(self, response: httpx.Response, content: bytes, endpoint: str) -> ApiError:
        status = response.status_code
        text = content.decode("utf-8", "replace")
        message: str | None = None
        with contextlib.suppress(ValueError, RecursionError):
            data = json.loads(text)
            if isinstance(data, dict) and isinstance(data.get("error"), str):
                message = limits.cut(data["error"].strip())
        if message is None:
            message = limits.cut(text.strip())
        if not message:
            message = f"the server answered HTTP {status} {response.reason_phrase} to {endpoint}"
        lowered = message.lower()
        if status == 404 and "not found" in lowered and "model" in lowered:
            return ModelNotFound(status, message, endpoint=endpoint)
        return ApiError(status, message, endpoint=endpoint)

    def _not_json(self, endpoint: str, body: bytes) -> ProtocolError:
        preview = body[:60].decode("utf-8", "replace").strip()
        return ProtocolError(
            f"the server at {self.base_url} sent an answer to {endpoint} that is not valid "
            f"JSON (is it an Ollama server?): {preview!r}"
        )

    # -- plain requests ------------------------------------------------------------------

    def _too_big(self, endpoint: str) -> ProtocolError:
        return ProtocolError(
            f"the server's answer to {endpoint} is larger than "
            f"{limits.bytes_text(limits.MAX_BODY_BYTES)}; refused"
        )

    async def _read_body(self, response: httpx.Response, endpoint: str) -> bytes:
        """The (decoded) body, read chunk by chunk and refused past ``MAX_BODY_BYTES``."""
        cap = limits.MAX_BODY_BYTES
        length = response.headers.get("content-length", "")
        if _declared_length(length) > cap:
            raise self._too_big(endpoint)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > cap:
                raise self._too_big(endpoint)
            chunks.append(chunk)
        return b"".join(chunks)

    async def _exchange(
        self, request: httpx.Request, endpoint: str
    ) -> tuple[httpx.Response, bytes]:
        """Send ``request`` and read its body with the cap; the connection is always released."""
        response = await self._http.send(request, stream=True)
        self._answered(response)  # even if its body is then refused: the server is there
        try:
            return response, await self._read_body(response, endpoint)
        finally:
            await response.aclose()

    async def _send(
        self, method: str, path: str, body: Mapping[str, Any] | None, *, long: bool
    ) -> tuple[httpx.Response, bytes]:
        """The response and its body; an HTTP error status raises (ApiError)."""
        endpoint = f"{method} {path}"
        try:
            if long:
                request = self._http.build_request(
                    method, path, json=body, timeout=self._long_timeout
                )
                response, content = await self._exchange(request, endpoint)
            else:
                async with asyncio.timeout(self.timeout):
                    request = self._http.build_request(method, path, json=body)
                    response, content = await self._exchange(request, endpoint)
        except TimeoutError:
            raise self._lost(self._no_answer()) from None
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc
        except httpx.DecodingError:
            raise self._undecodable(endpoint) from None
        if response.status_code >= 400:
            raise self._api_error(response, content, endpoint)
        return response, content

    def _undecodable(self, endpoint: str) -> ProtocolError:
        return ProtocolError(
            f"the server at {self.base_url} sent an answer to {endpoint} that cannot be "
            "decoded (a broken compressed body)"
        )

    async def _json(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        long: bool = False,
        allow_empty: bool = False,
    ) -> Any:
        _, content = await self._send(method, path, body, long=long)
        if allow_empty and not content.strip():
            return None
        return self._decode(content, f"{method} {path}")

    def _decode(self, content: bytes, endpoint: str) -> Any:
        try:
            data = json.loads(content)
        except (ValueError, RecursionError):
            # A server that fails after sending its 200 appends an {"error"} line: its words
            # beat "not JSON".
            self._raise_error_lines(content, endpoint)
            raise self._not_json(endpoint, content) from None
        if isinstance(data, dict) and set(data) == {"error"}:
            raise StreamError(
                limits.cut(str(data["error"]).strip()) or f"the server failed {endpoint}"
            )
        return data

    async def _model_list(self, path: str, parse: Callable[[dict[str, Any]], _Parsed]) -> _Parsed:
        """``GET path`` parsed by ``parse``; the same body as last time gives the same object."""
        _, content = await self._send("GET", path, None, long=False)
        last = self._last_lists.get(path)
        if last is not None and last[0] == content:
            result: _Parsed = last[1]
            return result
        endpoint = f"GET {path}"
        data = self._decode(content, endpoint)
        if not isinstance(data, dict):
            raise ProtocolError(f"the server's answer to {endpoint} is not a JSON object")
        result = parse(data)
        self._last_lists[path] = (content, result)
        return result

    async def _json_object(
        self, method: str, path: str, body: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        data = await self._json(method, path, body)
        if not isinstance(data, dict):
            raise ProtocolError(f"the server's answer to {method} {path} is not a JSON object")
        return data

    # -- API -----------------------------------------------------------------------------

    async def version(self) -> str:
        """The server's version, e.g. ``0.12.6`` (``0.0.0`` for source builds)."""
        self._server_version = self._parse_version(await self._json_object("GET", "/api/version"))
        return self._server_version

    async def list_models(self) -> ModelList[LocalModel]:
        """``GET /api/tags``: the local models, newest first (at most ``MAX_MODELS``)."""
        return await self._model_list("/api/tags", self._parse_tags)

    async def running(self) -> ModelList[RunningModel]:
        """``GET /api/ps``: the loaded models (the old ``running`` key is accepted too)."""
        return await self._model_list("/api/ps", self._parse_ps)

    @staticmethod
    def _parse_version(data: dict[str, Any]) -> str:
        version = data.get("version")
        if not isinstance(version, str):
            raise ProtocolError("the server's answer to GET /api/version has no version")
        return limits.cut(version)

    @staticmethod
    def _parse_tags(data: dict[str, Any]) -> ModelList[LocalModel]:
        endpoint = "GET /api/tags"
        items = _model_list(data, "models", endpoint)
        return _models(items, "models", endpoint, LocalModel.from_json)

    @staticmethod
    def _parse_ps(data: dict[str, Any]) -> ModelList[RunningModel]:
        key = "models" if "models" in data or "running" not in data else "running"
        endpoint = "GET /api/ps"
        return _models(_model_list(data, key, endpoint), key, endpoint, RunningModel.from_json)

    # -- start-up ------------------------------------------------------------------------

    @property
    def can_fetch_blocking(self) -> bool:
        """Whether the ``*_blocking`` start-up calls may be tried (plain http, no proxy)."""
        return self.base_url.startswith("http://") and self._transport is None and not self._proxied

    def list_models_blocking(self) -> ModelList[LocalModel]:
        """``GET /api/tags`` in the calling thread; see ``_get_blocking``."""
        return self._parse_tags(self._get_blocking("/api/tags"))

    def running_blocking(self) -> ModelList[RunningModel]:
        """``GET /api/ps`` in the calling thread; see ``_get_blocking``."""
        return self._parse_ps(self._get_blocking("/api/ps"))

    def version_blocking(self) -> str:
        """``GET /api/version`` in the calling thread; see ``_get_blocking``."""
        return self._parse_version(self._get_blocking("/api/version"))

    def _get_blocking(self, path: str) -> dict[str, Any]:
        """GET a JSON object with the standard library's ``http.client``, in this thread.

        For the first fetch at start-up only (``Poller.prefetch``, on its own thread):
        ``http.client`` is already imported (by httpx), while the pool's first request
        would import httpcore and anyio, tens of milliseconds of work competing with the
        first frame. Anything unusual raises (a status other than 200, a body that is not
        a JSON object, a connection problem, a body past ``MAX_BODY_BYTES``, which is never
        read further) without the care of the async methods' errors: the caller asks again
        through those, whose errors are the ones to show.
        """
        parts = urlsplit(self.base_url)
        if parts.hostname is None:
            raise ProtocolError(f"no host in {self.base_url}")
        connection = http.client.HTTPConnection(
            parts.hostname, parts.port or 80, timeout=START_UP_TIMEOUT
        )
        try:
            connection.request("GET", parts.path.rstrip("/") + path, headers=self._headers)
            response = connection.getresponse()
            cap = limits.MAX_BODY_BYTES
            length = response.getheader("Content-Length") or ""
            if _declared_length(length) > cap:
                raise self._too_big(f"GET {path}")
            body = response.read(cap + 1)
            if len(body) > cap:
                raise self._too_big(f"GET {path}")
        finally:
            connection.close()
        if response.status != 200:
            raise ProtocolError(f"GET {path} answered {response.status}")
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ProtocolError(f"GET {path} answered with JSON that is not an object")
        return data

    async def show(self, name: str) -> ModelShow:
        """``POST /api/show`` (sends both ``model`` and ``name``)."""
        parse_model_name(name)
        data = await self._json_object("POST", "/api/show", {"model": name, "name": name})
        return ModelShow.from_json(data)

    async def copy(self, source: str, destination: str) -> None:
        """``POST /api/copy``; success is a 200 (normally with an empty body)."""
        parse_model_name(source)
        parse_model_name(destination)
        await self._json(
            "POST", "/api/copy", {"source": source, "destination": destination}, allow_empty=True
        )

    async def delete(self, name: str) -> None:
        """``DELETE /api/delete`` with a JSON body; does not unload a running instance."""
        parse_model_name(name)
        await self._json("DELETE", "/api/delete", {"model": name, "name": name}, allow_empty=True)

    async def load(
        self,
        name: str,
        keep_alive: str | float | None = None,
        *,
        embedding: bool = False,
        timeout: float | None = None,
    ) -> None:
        """Load a model into memory.

        Loading a big model can take minutes, so there is no read timeout unless ``timeout``
        (seconds, for the whole load) is given. ``embedding=True`` loads through ``/api/embed``
        (embedding-only models refuse generate).
        """
        parse_model_name(name)
        body: dict[str, Any] = {"model": name}
        if keep_alive is not None:
            body["keep_alive"] = parse_keep_alive(keep_alive)
        path = "/api/embed" if embedding else "/api/generate"
        try:
            async with asyncio.timeout(timeout):
                _, content = await self._send("POST", path, body, long=True)
        except TimeoutError:
            raise ServerUnreachable(
                f"the Ollama server at {self.base_url} did not answer within {timeout:g} s "
                f"while loading {name}"
            ) from None
        self._check_reply(content, f"POST {path}")

    async def unload(self, name: str, *, capabilities: Sequence[str] | None = None) -> None:
        """Release a model now (``keep_alive: 0``); 200 even if it was not loaded.

        Embedding-only models (capabilities with "embedding" but not "completion") go through
        ``/api/embed``, all others through ``/api/generate``.
        """
        parse_model_name(name)
        path = "/api/embed" if is_embedding_only(capabilities or ()) else "/api/generate"
        _, content = await self._send("POST", path, {"model": name, "keep_alive": 0}, long=False)
        self._check_reply(content, f"POST {path}")

    def _check_reply(self, content: bytes, endpoint: str) -> None:
        """A generate/embed reply: JSON (possibly NDJSON); an ``error`` in it is raised."""
        try:
            data = json.loads(content)
        except (ValueError, RecursionError):
            self._raise_error_lines(content, endpoint)
            if not self._ndjson_objects(content, endpoint):
                raise self._not_json(endpoint, content) from None
            return
        if not isinstance(data, dict):
            raise self._not_json(endpoint, content)
        if data.get("error"):
            raise StreamError(limits.cut(str(data["error"])))

    @staticmethod
    def _ndjson_objects(content: bytes, endpoint: str) -> list[dict[str, Any]]:
        """The JSON objects of an NDJSON body ([] if it is not NDJSON at all)."""
        decoder = NDJSONDecoder(endpoint)
        try:
            return decoder.feed(content) + decoder.close()
        except ProtocolError:
            return []

    def _raise_error_lines(self, content: bytes, endpoint: str) -> None:
        """Raise the server's words if an NDJSON body carries an ``{"error"}`` line."""
        for obj in self._ndjson_objects(content, endpoint):
            error = obj.get("error")
            if error:
                raise StreamError(limits.cut(str(error)))

    async def blob_exists(self, digest: str) -> bool:
        """``HEAD /api/blobs/sha256:<hex>``: is this blob on the server?"""
        path = f"/api/blobs/{_normalize_digest(digest)}"
        try:
            async with asyncio.timeout(self.timeout):
                response = await self._http.head(path)
        except TimeoutError:
            raise self._lost(self._no_answer()) from None
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc
        self._answered(response)
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        raise self._api_error(response, response.content, f"HEAD {path}")

    # -- streams -------------------------------------------------------------------------

    def pull(self, name: str, *, insecure: bool = False) -> AsyncGenerator[ProgressEvent, None]:
        """Pull (or resume pulling) a model; progress events until ``success``."""
        parse_model_name(name)
        body = {"model": name, "name": name, "insecure": insecure, "stream": True}
        return self._stream("/api/pull", body, "pull")

    def push(self, name: str, *, insecure: bool = False) -> AsyncGenerator[ProgressEvent, None]:
        """Push a model to its registry; progress events until ``success``."""
        parse_model_name(name)
        body = {"model": name, "name": name, "insecure": insecure, "stream": True}
        return self._stream("/api/push", body, "push")

    async def _stream(
        self, path: str, body: Mapping[str, Any], action: str
    ) -> AsyncGenerator[ProgressEvent, None]:
        """POST and turn the NDJSON answer into events; closing this closes the connection."""
        from_json = ProgressEvent.from_json
        finished = False
        async with contextlib.aclosing(self._lines(path, body, action)) as lines:
            async for obj in lines:
                event = from_json(obj)
                # A create that pulls its base sends the pull's own "success" first: only a
                # stream whose last line is "success" has finished.
                finished = event.status == "success"
                yield event
        if not finished:
            raise StreamError(f"the server closed the stream before the {action} finished")

    # -- generate / embed (the speed probe) ---------------------------------------------

    async def generate(
        self,
        name: str,
        prompt: str,
        *,
        options: Mapping[str, Any] | None = None,
        keep_alive: str | float | None = None,
    ) -> GenerateStats:
        """``POST /api/generate`` with a prompt, streamed; returns the last line's timings.

        The generated text is read and dropped. ``keep_alive`` is sent only when given (else
        the server's default applies). An ``error`` line raises ``StreamError`` with the
        server's words; a stream that ends without its ``done: true`` line is a
        ``StreamError`` too (a runner that dies mid-generation just closes the stream).
        Cancelling the awaiting task closes the request (the server stops generating).
        """
        parse_model_name(name)
        body: dict[str, Any] = {"model": name, "prompt": prompt, "stream": True}
        if options:
            body["options"] = dict(options)
        if keep_alive is not None:
            body["keep_alive"] = parse_keep_alive(keep_alive)
        final: dict[str, Any] | None = None
        async with contextlib.aclosing(self._lines("/api/generate", body, "generation")) as lines:
            count = 0
            async for obj in lines:
                if obj.get("done") is True:
                    final = obj
                    break  # the last line: nothing after it matters
                count += 1
                if count > limits.MAX_GENERATE_LINES:
                    raise ProtocolError(
                        f"the server streamed more than {limits.MAX_GENERATE_LINES:,} lines "
                        "without finishing the generation; gave up"
                    )
        if final is None:
            raise StreamError(
                "the server closed the stream before the generation finished (no final "
                "line with done: true; the model runner may have failed)"
            )
        return GenerateStats.from_json(final)

    async def embed(
        self,
        name: str,
        inputs: Sequence[str],
        *,
        options: Mapping[str, Any] | None = None,
        keep_alive: str | float | None = None,
    ) -> EmbedStats:
        """``POST /api/embed`` of ``inputs``; the vectors are counted and dropped.

        The reply is read with the usual body cap (``limits.MAX_BODY_BYTES``); like ``load``
        there is no read timeout (the model may have to load first). Cancelling the awaiting
        task closes the request.
        """
        parse_model_name(name)
        body: dict[str, Any] = {"model": name, "input": list(inputs)}
        if options:
            body["options"] = dict(options)
        if keep_alive is not None:
            body["keep_alive"] = parse_keep_alive(keep_alive)
        endpoint = "POST /api/embed"
        _, content = await self._send("POST", "/api/embed", body, long=True)
        data = self._decode(content, endpoint)
        if not isinstance(data, dict):
            raise ProtocolError(f"the server's answer to {endpoint} is not a JSON object")
        if data.get("error"):
            raise StreamError(limits.cut(str(data["error"]).strip()))
        return EmbedStats.from_json(data)

    async def _lines(
        self, path: str, body: Mapping[str, Any], action: str
    ) -> AsyncGenerator[dict[str, Any], None]:
        """POST and yield the NDJSON answer's objects; an ``error`` line raises. Closing this
        closes the connection."""
        endpoint = f"POST {path}"
        request = self._http.build_request("POST", path, json=body, timeout=self._stream_timeout)
        try:
            response = await self._http.send(request, stream=True)
        except httpx.ReadTimeout:
            raise self._silent(action) from None
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc
        try:
            self._answered(response)
            if response.status_code >= 400:
                try:
                    content = await self._read_body(response, endpoint)
                except httpx.HTTPError:
                    content = b""
                raise self._api_error(response, content, endpoint)
            decoder = NDJSONDecoder(endpoint)
            feed = decoder.feed
            observer = self.observer
            try:
                async for chunk in response.aiter_bytes():
                    if observer is not None:
                        observer.answered()  # a waiting job may resume at once
                    for obj in feed(chunk):
                        if "error" in obj:
                            raise self._stream_error(obj["error"], action)
                        yield obj
                for obj in decoder.close():
                    if "error" in obj:
                        raise self._stream_error(obj["error"], action)
                    yield obj
            except httpx.ReadTimeout:
                raise self._silent(action) from None
            except httpx.TransportError as exc:
                raise self._lost(
                    ConnectionLost(
                        f"the connection to the Ollama server was lost during the {action}"
                    )
                ) from exc
            except httpx.DecodingError:
                raise self._undecodable(endpoint) from None
        finally:
            await response.aclose()

    @staticmethod
    def _stream_error(error: object, action: str) -> StreamError:
        text = limits.cut(str(error).strip()) if error is not None else ""
        return StreamError(text or f"the server reported an error during the {action}")

    def _silent(self, action: str) -> StreamError:
        return StreamError(
            f"the server sent nothing for {limits.seconds_text(self.stream_read_timeout)} "
            f"during the {action}; gave up"
        )

    # -- blobs ---------------------------------------------------------------------------

    def upload_blob(
        self, path: str | Path, digest: str | None = None
    ) -> AsyncGenerator[ProgressEvent, None]:
        """Upload a file as a blob, streamed from disk; hashes it first if ``digest`` is None.

        Yields ``hashing <file>`` and ``uploading <file>`` events, then ``success``.
        """
        file = Path(os.path.expanduser(str(path)))
        if not file.is_file():
            raise InvalidInput(f"no such file: {str(file)!r}")
        wanted = None if digest is None else _normalize_digest(digest)
        return self._upload_blob(file, wanted)

    async def _upload_blob(
        self, file: Path, digest: str | None
    ) -> AsyncGenerator[ProgressEvent, None]:
        if digest is None:
            found: list[str] = []
            async with contextlib.aclosing(self._hash_file(file, file.name, found)) as events:
                async for event in events:
                    yield event
            digest = found[0]
        async with contextlib.aclosing(self._upload(file, digest, file.name)) as events:
            async for event in events:
                yield event
        yield ProgressEvent("success")

    async def _hash_file(
        self, file: Path, label: str, out: list[str]
    ) -> AsyncGenerator[ProgressEvent, None]:
        """sha256 in chunks in a worker thread; appends ``sha256:<hex>`` to ``out``."""
        status = f"hashing {label}"
        try:
            size = file.stat().st_size
            handle = file.open("rb")
        except OSError as exc:
            raise InvalidInput(f"cannot read {str(file)!r}: {exc.strerror or exc}") from exc
        digest = hashlib.sha256()
        done = 0
        with handle:
            yield ProgressEvent(status, None, size, 0)
            while True:
                step = await asyncio.to_thread(_hash_step, handle, digest)
                if not step:
                    break
                done += step
                yield ProgressEvent(status, None, size, done)
        out.append("sha256:" + digest.hexdigest())

    async def _upload(
        self, file: Path, digest: str, label: str
    ) -> AsyncGenerator[ProgressEvent, None]:
        """POST the file in chunks; yields ``uploading <label>`` progress as bytes go out."""
        status = f"uploading {label}"
        size = file.stat().st_size
        progress: asyncio.Queue[int | None] = asyncio.Queue()

        async def chunks() -> AsyncIterator[bytes]:
            sent = 0
            with file.open("rb") as handle:
                while True:
                    chunk = await asyncio.to_thread(handle.read, _READ_CHUNK)
                    if not chunk:
                        return
                    yield chunk
                    sent += len(chunk)
                    progress.put_nowait(sent)

        async def post() -> None:
            path = f"/api/blobs/{digest}"
            endpoint = f"POST {path}"
            request = self._http.build_request(
                "POST",
                path,
                content=chunks(),
                headers={
                    "Content-Length": str(size),
                    "Content-Type": "application/octet-stream",
                },
                timeout=self._stream_timeout,
            )
            try:
                response, content = await self._exchange(request, endpoint)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                raise self._unreachable(exc) from exc
            except httpx.ReadTimeout:
                raise self._silent(f"upload of {label}") from None
            except httpx.DecodingError:
                raise self._undecodable(endpoint) from None
            except httpx.TransportError as exc:
                raise self._lost(
                    ConnectionLost(
                        f"the connection to the Ollama server was lost while uploading {label}"
                    )
                ) from exc
            if response.status_code >= 400:
                raise self._api_error(response, content, endpoint)
            # The body is normally empty; one that carries an error is the server's word.
            self._raise_error_lines(content, endpoint)

        task = asyncio.create_task(post())
        task.add_done_callback(lambda _: progress.put_nowait(None))
        try:
            yield ProgressEvent(status, digest, size, 0)
            while True:
                item = await progress.get()
                # Coalesce: only the newest count matters to a progress bar.
                while item is not None and not progress.empty():
                    item = progress.get_nowait()
                if item is None:
                    break
                yield ProgressEvent(status, digest, size, item)
            await task
            yield ProgressEvent(status, digest, size, size)
        finally:
            if not task.done():
                task.cancel()
                await asyncio.wait([task])

    # -- create --------------------------------------------------------------------------

    def create(
        self,
        name: str,
        modelfile: str,
        *,
        base_dir: str | Path = ".",
        quantize: str | None = None,
        from_model: str | None = None,
    ) -> AsyncGenerator[ProgressEvent, None]:
        """Create a model from Modelfile text; local FROM/ADAPTER files are uploaded first.

        ``from_model`` is a model name taken from the server (the editor's prefill): a FROM
        equal to it names that model and is never resolved to a local file, even when a file
        of that name happens to exist in ``base_dir``.

        Raises InvalidInput (nothing sent) for a bad name or Modelfile (with ``line`` and
        ``column``) or a missing local file. Servers older than 0.5.5 get the legacy form.
        """
        from ollama_tui.modelfile import ModelfileError, parse

        parse_model_name(name)
        try:
            parsed = parse(modelfile)
        except ModelfileError as exc:
            raise InvalidInput(str(exc), line=exc.line, column=exc.column) from exc
        base = Path(os.path.expanduser(str(base_dir)))
        sources: dict[str, _LocalSource] = {}
        from_name: str | None = None
        if parsed.from_ is not None:
            model_ref = from_model is not None and parsed.from_ == from_model
            source = None if model_ref else _resolve_source(parsed.from_, base, "FROM")
            if source is not None:
                sources["from"] = source
            elif parsed.from_.startswith("@"):
                from_name = parsed.from_  # a blob reference; the server decides
            else:
                problem = validate_model_name(parsed.from_)
                if problem is not None:
                    raise InvalidInput(
                        f"FROM {parsed.from_!r}: no such file or folder, and {problem}"
                    )
                from_name = parsed.from_
        for index, adapter in enumerate(parsed.adapters):
            source = _resolve_source(adapter, base, "ADAPTER")
            if source is None:
                raise InvalidInput(f"ADAPTER {adapter!r}: no such file or folder")
            sources[f"adapter{index}"] = source
        if parsed.draft:
            source = _resolve_source(parsed.draft, base, "DRAFT")
            if source is not None:
                sources["draft"] = source
        return self._create(name, parsed, modelfile, sources, from_name, quantize)

    async def _legacy_create(self) -> bool:
        """True for servers older than 0.5.5 (asked once per client; 0.0.0 = newest)."""
        if self._server_version is None:
            try:
                await self.version()
            except (ApiError, ProtocolError):
                self._server_version = "0.0.0"
        version = _version_tuple(self._server_version or "")
        if version is None or version == (0, 0, 0):
            return False
        return version < _STRUCTURED_CREATE

    async def _create(
        self,
        name: str,
        parsed: Modelfile,
        text: str,
        sources: dict[str, _LocalSource],
        from_name: str | None,
        quantize: str | None,
    ) -> AsyncGenerator[ProgressEvent, None]:
        legacy = await self._legacy_create()
        if legacy:
            _check_legacy_sources(sources)
        for source in sources.values():
            for key, file in source.files.items():
                found: list[str] = []
                async with contextlib.aclosing(self._hash_file(file, key, found)) as events:
                    async for event in events:
                        yield event
                digest = found[0]
                source.digests[key] = digest
                if await self.blob_exists(digest):
                    size = file.stat().st_size
                    yield ProgressEvent(f"uploading {key}", digest, size, size)
                else:
                    async with contextlib.aclosing(self._upload(file, digest, key)) as events:
                        async for event in events:
                            yield event
        if not legacy:
            body = _structured_body(name, parsed, sources, from_name, quantize)
            try:
                async with contextlib.aclosing(
                    self._stream("/api/create", body, "create")
                ) as events:
                    async for event in events:
                        yield event
                return
            except ApiError as exc:
                if exc.status_code != 400 or _LEGACY_CREATE_MESSAGE not in exc.message.lower():
                    raise
            _check_legacy_sources(sources)
        body = _legacy_body(name, parsed, text, sources, quantize)
        async with contextlib.aclosing(self._stream("/api/create", body, "create")) as events:
            async for event in events:
                yield event


def _check_legacy_sources(sources: dict[str, _LocalSource]) -> None:
    for key, source in sources.items():
        if source.is_folder or key == "draft":
            raise InvalidInput(
                "this Ollama server is older than 0.5.5 and cannot create a model from a "
                "folder or a draft model; upgrade the server or use a single GGUF file"
            )


def _structured_body(
    name: str,
    parsed: Modelfile,
    sources: dict[str, _LocalSource],
    from_name: str | None,
    quantize: str | None,
) -> dict[str, Any]:
    """The structured create request of servers from 0.5.5 on (files by blob digest)."""
    body: dict[str, Any] = {"model": name, "name": name, "stream": True}
    if from_name is not None:
        body["from"] = from_name
    if "from" in sources:
        body["files"] = dict(sources["from"].digests)
    adapters: dict[str, str] = {}
    for key, source in sources.items():
        if key.startswith("adapter"):
            adapters.update(source.digests)
    if adapters:
        body["adapters"] = adapters
    if "draft" in sources:
        body["draft_files"] = dict(sources["draft"].digests)
    if parsed.template is not None:
        body["template"] = parsed.template
    if parsed.system is not None:
        body["system"] = parsed.system
    if parsed.license:
        body["license"] = list(parsed.license)
    parameters = parsed.parameters_dict()
    if parameters:
        body["parameters"] = {
            k: list(v) if isinstance(v, tuple) else v for k, v in parameters.items()
        }
    if parsed.messages:
        body["messages"] = [{"role": m.role, "content": m.content} for m in parsed.messages]
    for key in ("renderer", "parser", "requires"):
        value = getattr(parsed, key)
        if value:
            body[key] = value
    if quantize:
        body["quantize"] = quantize
    return body


def _legacy_body(
    name: str,
    parsed: Modelfile,
    text: str,
    sources: dict[str, _LocalSource],
    quantize: str | None,
) -> dict[str, Any]:
    """The ≤0.5.4 create request: Modelfile text with uploaded files as ``@sha256:`` refs."""
    if sources:
        from ollama_tui.modelfile import render

        changes: dict[str, Any] = {}
        if "from" in sources:
            changes["from_"] = "@" + next(iter(sources["from"].digests.values()))
        adapters = [
            "@" + next(iter(source.digests.values()))
            for key, source in sources.items()
            if key.startswith("adapter")
        ]
        if adapters:
            changes["adapters"] = tuple(adapters)
        text = render(dataclasses.replace(parsed, **changes))
    body: dict[str, Any] = {"model": name, "name": name, "modelfile": text, "stream": True}
    if quantize:
        body["quantize"] = quantize
    return body
