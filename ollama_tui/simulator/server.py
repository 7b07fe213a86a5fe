"""The simulated Ollama server (aiohttp on a real loopback socket).

Usage::

    async with Simulator(bandwidth=50e6) as sim:      # started on 127.0.0.1:<free port>
        httpx.get(sim.url + "/api/tags")
        sim.faults.add("/api/ps", "status", status=500, message="boom", count=1)

Benchmark stream: ``sim.prepare_stream("bench/huge:latest", 200_000)`` pre-builds a pull
stream of exactly that many NDJSON lines (``pulling manifest``, progress lines of one layer,
``verifying sha256 digest``, ``writing manifest``, ``success``); a pull of that name then
writes the prepared buffer as fast as the socket allows (64 KiB writes), so the client is the
bottleneck. It works the same over HTTP (``POST /_sim/prepare_stream {"model", "lines"}``) and
from the CLI (``--prepare bench/huge:latest=200000``). The pull installs the model; pulling it
again replays the whole buffer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import json
import math
import random
import re
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo
from typing import Any, TypeVar

from aiohttp import web

from .catalogue import (
    CHATML_TEMPLATE,
    MEDIA_ADAPTER,
    MEDIA_CONFIG,
    MEDIA_LICENSE,
    MEDIA_MESSAGES,
    MEDIA_MODEL,
    MEDIA_PARAMS,
    MEDIA_SYSTEM,
    MEDIA_TEMPLATE,
    Catalogue,
    CatalogueEntry,
    Layer,
    default_catalogue,
    params_text,
    sha256_hex,
    text_layer,
)
from .decoding import HttpError, decode_body, keep_alive_seconds
from .faults import KINDS, Fault, FaultSet
from .legacy import DIGEST_RE, legacy_to_structured
from .registry import OciRegistry
from .state import (
    BLOBS_DIR,
    FILE_TYPES,
    MANIFESTS_DIR,
    BlobInfo,
    ModelRecord,
    Runner,
    SeedModel,
    gguf_model_info,
    human_number,
    manifest_bytes,
    parse_gguf_head,
    record_from_entry,
)
from .wire import (
    Name,
    display_name,
    format_time,
    format_utc,
    go_json,
    go_json_line,
    local_tz,
    name_key,
    parse_name,
)

T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

JSON_TYPE = "application/json; charset=utf-8"
NDJSON_TYPE = "application/x-ndjson"
TEXT_TYPE = "text/plain; charset=utf-8"
ZERO_DIGEST = "0000000000000000000"
# Inference speed (tokens generated per second) of a server unless given; prompt tokens are
# read PROMPT_SPEED_FACTOR times faster and EMBED_SPEED_FACTOR embeddings made per token time.
DEFAULT_SPEED = 100.0
PROMPT_SPEED_FACTOR = 8.0
EMBED_SPEED_FACTOR = 4.0
# Bounds on one generation: tokens (num_predict -1 = "until done" in Ollama), and the time
# the simulator actually spends pacing it (the reported timings still follow the speed).
MAX_PREDICT = 4096
MAX_PACED_SECONDS = 60.0
GGUF_HEAD_BYTES = 8 << 20  # enough of a small GGUF to read its metadata and tensor table
_LINE_FAULTS = ("cut", "error_line", "end")  # faults that strike after some lines
_QUANT_TYPES = {
    "q4_k_m": "Q4_K_M",
    "q4_k": "Q4_K_M",
    "q4_k_s": "Q4_K_S",
    "q8_0": "Q8_0",
    "f16": "F16",
    "bf16": "BF16",
    "f32": "F32",
}
_QUANT_RATIO = {"Q4_K_M": 0.3, "Q4_K_S": 0.28, "Q8_0": 0.53, "F16": 1.0, "BF16": 1.0, "F32": 2.0}


@dataclass(frozen=True)
class RecordedRequest:
    """One API request the simulator received."""

    method: str
    path: str
    json: Any

    def to_json(self) -> dict[str, Any]:
        """Plain JSON view (for GET /_sim/requests)."""
        return {"method": self.method, "path": self.path, "json": self.json}


class OpError(Exception):
    """A failure inside a streamed operation: an error line, or an HTTP error if first."""

    def __init__(self, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class _RequestState:
    """Per-request scratch state (a ContextVar: aiohttp runs each request in its task)."""

    raw_body: bytes = b""
    line_fault: Fault | None = None
    stream_response: web.StreamResponse | None = None


_STATE: ContextVar[_RequestState] = ContextVar("ollama_sim_request_state")


def _state() -> _RequestState:
    try:
        return _STATE.get()
    except LookupError:
        state = _RequestState()
        _STATE.set(state)
        return state


class _StreamStop(Exception):
    """A line fault ended the stream (cut or error line); the response is done."""


def _version_tuple(version: str) -> tuple[int, int, int]:
    nums = [int(p) for p in re.findall(r"\d+", version.split("-")[0])[:3]]
    nums += [0] * (3 - len(nums))
    major, minor, patch = nums[:3]
    if (major, minor, patch) == (0, 0, 0):
        return (999, 0, 0)  # source builds report 0.0.0: treat as newest
    return (major, minor, patch)


def json_response(value: Any, status: int = 200) -> web.Response:
    """A Go-encoded JSON response."""
    return web.Response(
        status=status, body=go_json(value), content_type="application/json", charset="utf-8"
    )


def error_response(status: int, message: str, **extra: Any) -> web.Response:
    """``{"error": message}`` with a status code."""
    return json_response({"error": message, **extra}, status)


def text_response(status: int, text: str) -> web.Response:
    """Plain text (Go's 404/405 pages)."""
    return web.Response(status=status, text=text, content_type="text/plain", charset="utf-8")


# --- the NDJSON writer -----------------------------------------------------------------


class _Stream:
    """Writes NDJSON lines, prepared lazily so that a first-line error can be a real HTTP error.

    Applies ``cut`` / ``error_line`` faults by counting lines.
    """

    def __init__(self, request: web.Request, fault: Fault | None) -> None:
        self.request = request
        self.fault = fault if fault and fault.kind in _LINE_FAULTS else None
        self.response: web.StreamResponse | None = None
        self.lines = 0

    async def _prepare(self) -> web.StreamResponse:
        if self.response is None:
            resp = web.StreamResponse(status=200)
            resp.content_type = NDJSON_TYPE
            await resp.prepare(self.request)
            self.response = resp
        return self.response

    async def send(self, value: Any) -> None:
        await self.write(go_json_line(value), 1)

    async def write(self, data: bytes, lines: int) -> None:
        """Write ``lines`` complete lines, honouring a line fault."""
        resp = await self._prepare()
        if self.fault is not None and self.lines + lines > self.fault.after_lines:
            keep = self.fault.after_lines - self.lines
            if keep > 0:
                cut_at = _nth_newline(data, keep)
                await resp.write(data[: cut_at + 1])
                self.lines += keep
            await self._strike(resp)
        await resp.write(data)
        self.lines += lines

    async def _strike(self, resp: web.StreamResponse) -> None:
        assert self.fault is not None
        if self.fault.kind == "error_line":
            await resp.write(go_json_line({"error": self.fault.message}))
            await resp.write_eof()
        elif self.fault.kind == "end":
            await resp.write_eof()
        else:
            transport = self.request.transport
            if transport is not None:
                transport.abort()
        raise _StreamStop

    async def finish(self) -> web.StreamResponse:
        """Ends the stream; a line fault with K >= lines sent strikes now."""
        resp = await self._prepare()
        if self.fault is not None:
            await self._strike(resp)
        return resp


def _nth_newline(data: bytes, n: int) -> int:
    pos = -1
    for _ in range(n):
        pos = data.index(b"\n", pos + 1)
    return pos


# --- the simulator ---------------------------------------------------------------------


class Simulator:
    """A fake Ollama server with in-memory models, faithful wire behaviour and fault injection.

    Keyword arguments: ``bandwidth`` (bytes/s for pulls and pushes), ``models`` (extra
    synthetic local models), ``seed``, ``initial`` (a handful of realistic local models, one
    loaded), ``version`` (reported by /api/version; < 0.5.5 switches /api/create to the legacy
    ``modelfile`` form and >= 0.30.0 adds tags ``capabilities``), ``push_namespace`` (only that
    namespace may be pushed; default: any user namespace, never ``library``), ``load_time``
    (seconds a load takes), ``tz`` (server-local zone for ``modified_at``/``expires_at``),
    ``unload_grace`` (seconds an expired model stays listed), ``default_keep_alive`` (seconds),
    ``progress_interval`` (seconds between progress lines), ``check_host`` (a loopback-bound
    server answers 403 to Host headers other than loopback/private IPs, ``localhost``,
    ``*.localhost``, ``*.local``, ``*.internal`` and the machine's hostname, like Ollama),
    ``speed`` (tokens generated per second: generate streams ``options.num_predict`` tokens
    at that pace and reports matching ``eval_duration``; prompts are read
    ``PROMPT_SPEED_FACTOR`` times faster; ``/api/embed`` makes ``EMBED_SPEED_FACTOR`` times
    ``speed`` embeddings per second; ``load_duration`` is the load's real time when the
    request loaded the model, else 0), ``seeds`` (the models to start with instead of the
    built-in initial set, see ``SeedModel``; ``reset()`` brings them back).
    """

    def __init__(
        self,
        *,
        bandwidth: float = 200e6,
        models: int = 0,
        seed: int = 0,
        initial: bool = True,
        version: str = "0.12.6",
        push_namespace: str | None = None,
        load_time: float = 0.0,
        tz: tzinfo | None = None,
        unload_grace: float = 0.3,
        default_keep_alive: float = 300.0,
        progress_interval: float = 0.06,
        check_host: bool = True,
        seeds: Sequence[SeedModel] | None = None,
        speed: float = DEFAULT_SPEED,
    ) -> None:
        if not (math.isfinite(speed) and speed > 0):
            raise ValueError(f"speed must be a positive number of tokens per second: {speed!r}")
        self.speed = float(speed)
        self.bandwidth = float(bandwidth)
        self.synthetic_models = models
        self.seed = seed
        self.initial = initial
        self.version = version
        self.push_namespace = push_namespace
        self.load_time = load_time
        self.tz = local_tz(tz)
        self.unload_grace = unload_grace
        self.default_keep_alive = default_keep_alive
        self.progress_interval = progress_interval
        self.check_host = check_host
        self.seeds = tuple(seeds) if seeds is not None else None
        self._loopback = False
        self.faults = FaultSet()
        self.requests: list[RecordedRequest] = []
        self.url = ""
        self.catalogue: Catalogue = default_catalogue()
        self._models: dict[str, ModelRecord] = {}
        self._blobs: dict[str, BlobInfo] = {}
        self._partial: dict[str, int] = {}
        self._pushed: set[str] = set()
        self._runners: dict[str, Runner] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._prepared: dict[str, tuple[CatalogueEntry, bytes, int]] = {}
        self._tags_cache: bytes | None = None
        self.registry = OciRegistry(lookup=self._registry_manifest)
        """The OCI registry its pulls come from, served under ``/v2/`` (``require_token``,
        ``rate_limited`` on demand; :meth:`change_upstream` changes a model there)."""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self.active_requests = 0
        self._busy: dict[int, int] = {}  # id(transport) -> requests in flight on it
        self.reset()

    # --- lifecycle -------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on host:port (0 = a free port); returns the base URL."""
        app = web.Application(client_max_size=1 << 40)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        actual = sockets[0].getsockname()[1] if sockets else port
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{actual}"
        self.registry.url = self.url
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._loopback = _is_loopback(host)
        return self.url

    async def stop(self) -> None:
        """Stop listening; cancels requests still in flight (hanging ones included)."""
        tasks = [t for t in self._tasks if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def open_connections(self) -> int:
        """Connections busy with an API request or stream (idle keep-alive ones not counted).

        For leak checks: a stream the client forgot to close keeps its connection busy.
        """
        return len(self._busy)

    @property
    def tcp_connections(self) -> int:
        """Every open TCP connection, idle keep-alive ones included."""
        if self._runner is None or self._runner.server is None:
            return 0
        return len(self._runner.server.connections)

    # --- control API (safe to call from another thread) -----------------------------------

    def _call(self, fn: Callable[[], T]) -> T:
        """Run fn on the server's loop when called from another thread."""
        loop = self._loop
        if loop is None or not loop.is_running() or threading.get_ident() == self._loop_thread:
            return fn()

        async def run() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), loop).result(timeout=10)

    def reset(self) -> None:
        """Back to the initial state: models, blobs, runners, faults and request log."""

        def do() -> None:
            self.faults.clear()
            self.requests.clear()
            self._models.clear()
            self._blobs.clear()
            self._partial.clear()
            self._pushed.clear()
            self._runners.clear()
            self._prepared.clear()
            self.catalogue = default_catalogue()
            self.registry.require_token = self.registry.refuse_tokens = False
            self.registry.rate_limited = 0
            self._base_time = datetime.now(self.tz)
            if self.initial and self.seeds is not None:
                self._seed_models(self.seeds)
            elif self.initial:
                self._seed_initial()
            if self.synthetic_models:
                self._seed_synthetic(self.synthetic_models)
            self._changed()
            self._tags_body()  # serialize up front so the first poll is as fast as any

        self._call(do)

    def add_model(self, name: str, **fields: Any) -> None:
        """Add (or replace) a local model; any field values are accepted as given.

        Known fields: size, digest, modified_at (datetime or RFC3339 text), family, families,
        format, parameter_size, quantization_level, parent_model, capabilities,
        context_length, embedding_length, template, system, license, parameters (dict),
        messages, model_info, remote_model, remote_host, gpu_fraction, details (dict merged
        into ``details`` verbatim), like (a catalogue name to copy layers/metadata from).
        Other keys are merged verbatim into the /api/tags item.
        """
        self._call(lambda: self._add_model(name, dict(fields)))

    def change_upstream(self, name: str) -> str:
        """Publish new weights for catalogue model ``name`` in the registry (installed copies
        become outdated; a pull brings the new ones). Returns the new manifest digest."""

        def do() -> str:
            entry = self.catalogue.get(name)
            if entry is None:
                raise KeyError(f"{name} is not in the catalogue")
            weights = sha256_hex(f"{entry.weights_digest or entry.name} upstream {time.time_ns()}")
            new = replace(entry, weights_digest=weights)
            self.catalogue.replace(entry, new)
            return "sha256:" + sha256_hex(manifest_bytes((*new.layers(), new.config_layer())))

        return self._call(do)

    def _registry_manifest(self, repository: str, tag: str) -> bytes | None:
        """The registry's manifest of a catalogue model (``library/llama3.2``, ``latest``)."""
        namespace, _, model = repository.partition("/")
        name = f"{model}:{tag}" if namespace == "library" else f"{repository}:{tag}"
        entry = self.catalogue.get(name)
        if entry is None:
            return None
        return manifest_bytes((*entry.layers(), entry.config_layer()))

    def remove_model(self, name: str) -> None:
        """Delete a local model (no error if absent)."""

        def do() -> None:
            self._models.pop(name_key(name), None)
            self._changed()

        self._call(do)

    def load_model(self, name: str, keep_alive: float | str | None = None) -> None:
        """Load a local model at once (KeyError if unknown)."""

        def do() -> None:
            record = self._find(name)
            if record is None:
                raise KeyError(name)
            seconds = keep_alive_seconds(keep_alive, self.default_keep_alive)
            self._load(record, seconds, None)

        self._call(do)

    def unload_model(self, name: str) -> None:
        """Expire a model's runner now (it vanishes after ``unload_grace``)."""
        self._call(lambda: self._unload(name))

    def prepare_stream(self, name: str, lines: int, *, layer_size: int = 4_000_000_000) -> None:
        """Pre-build a pull stream of exactly ``lines`` NDJSON lines for ``name``.

        A pull of ``name`` then writes the buffer as fast as the socket allows (benchmarks).
        """
        self._call(lambda: self._prepare_stream(name, lines, layer_size))

    def request_count(self, path: str | None = None, method: str | None = None) -> int:
        """How many recorded API requests match path and method (None = any)."""
        return sum(
            1
            for r in list(self.requests)
            if (path is None or r.path == path) and (method is None or r.method == method)
        )

    @property
    def models(self) -> list[ModelRecord]:
        """Local models, newest first."""
        return sorted(self._models.values(), key=lambda m: m.modified_at, reverse=True)

    @property
    def running(self) -> list[Runner]:
        """Running instances as /api/ps lists them."""
        return self._running()

    def has_blob(self, digest: str) -> bool:
        """Whether a blob (``sha256:<hex>`` or hex) is stored."""
        return digest.split(":")[-1].lower() in self._blobs

    def partial_bytes(self, digest: str) -> int:
        """Bytes of an interrupted download kept for resuming."""
        return self._partial.get(digest.split(":")[-1].lower(), 0)

    # --- state helpers ---------------------------------------------------------------

    def _changed(self) -> None:
        self._tags_cache = None

    def _tags_body(self) -> bytes:
        """The /api/tags body, cached until the model set changes (items cached per record)."""
        if self._tags_cache is None:
            new = self._at_least("0.30.0")
            parts = [m.tags_json_new if new else m.tags_json for m in self.models]
            self._tags_cache = b'{"models":[' + b",".join(parts) + b"]}"
        return self._tags_cache

    def _at_least(self, version: str) -> bool:
        return _version_tuple(self.version) >= _version_tuple(version)

    def _now(self) -> datetime:
        return datetime.now(self.tz)

    def _find(self, name: str) -> ModelRecord | None:
        return self._models.get(name_key(name))

    def _hostile(self, raw: str) -> ModelRecord | None:
        """A model added via add_model under a name the server itself would reject.

        Such names only exist to test rendering; letting show/delete/load find them keeps
        UI tests simple, while real invalid names still get the real 400s.
        """
        if not raw or parse_name(raw) is not None:
            return None
        return self._models.get(raw.lower())

    def _install(self, record: ModelRecord) -> ModelRecord | None:
        key = name_key(record.name)
        old = self._models.get(key)
        if old is not None and old.name != record.name:
            record = replace(record, name=old.name)  # the server adopts the stored spelling
        self._models[key] = record
        for layer in record.layers:
            self._blobs.setdefault(
                layer.digest, BlobInfo(layer.size, gguf=layer.media_type == MEDIA_MODEL)
            )
        self._changed()
        return old

    def _referenced(self) -> set[str]:
        return {la.digest for m in self._models.values() for la in m.layers}

    def _prune(self, old: ModelRecord | None) -> bool:
        """Drop blobs of a replaced/deleted manifest that nothing references any more."""
        if old is None:
            return False
        used = self._referenced()
        removed = [la.digest for la in old.layers if la.digest not in used]
        for digest in removed:
            self._blobs.pop(digest, None)
        return bool(removed)

    def _seed_initial(self) -> None:
        base = self._base_time
        plan = [
            ("llama3.2:3b", "llama3.2:latest", timedelta(days=2, hours=3)),
            ("qwen2.5:0.5b", "qwen2.5:0.5b", timedelta(days=9, minutes=17)),
            ("nomic-embed-text:latest", "nomic-embed-text:latest", timedelta(days=20)),
            ("mistral:7b", "mistral:7b", timedelta(days=41, hours=5)),
            ("deepseek-r1:1.5b", "deepseek-r1:1.5b", timedelta(days=5, hours=1)),
            (
                "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M",
                "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M",
                timedelta(days=63),
            ),
        ]
        for entry_name, local, age in plan:
            entry = self.catalogue.get(entry_name)
            assert entry is not None
            self._install(record_from_entry(entry, local, base - age))
        llama = self._models[name_key("llama3.2:latest")]
        system = "You are a pirate. Answer every question like a pirate would."
        params = (*llama.parameters, ("temperature", 0.8))
        self._install(
            replace(
                llama,
                name="someuser/llama3-pirate:latest",
                modified_at=base - timedelta(days=1, hours=2),
                system=system,
                parameters=params,
                parent_model="llama3.2:latest",
                layers=_replace_text_layers(llama.layers, system=system, parameters=params),
            )
        )
        cloud_info = {
            "general.architecture": "gptoss",
            "gptoss.context_length": 131072,
            "gptoss.embedding_length": 2880,
        }
        self._install(
            ModelRecord(
                name="gpt-oss:20b-cloud",
                modified_at=base - timedelta(days=3, hours=7),
                layers=(text_layer(MEDIA_CONFIG, '{"remote_host":"https://ollama.com:443"}'),),
                family="gptoss",
                families=None,
                parameter_size="20.9B",
                quantization_level="MXFP4",
                capabilities=("completion", "tools", "thinking"),
                context_length=131072,
                embedding_length=2880,
                model_info=cloud_info,
                remote_model="gpt-oss:20b",
                remote_host="https://ollama.com:443",
                size_override=384,
            )
        )
        self._load(llama, 240.0, None)

    def _seed_models(self, seeds: Sequence[SeedModel]) -> None:
        base = self._base_time
        for seed in seeds:
            entry = self.catalogue.get(seed.entry)
            if entry is None:
                raise KeyError(f"not in the catalogue: {seed.entry}")
            record = record_from_entry(entry, seed.name, base - seed.age)
            if seed.diverged:
                weights = Layer(
                    MEDIA_MODEL, sha256_hex(f"diverged {seed.name}"), entry.weights_size
                )
                record = replace(record, layers=(weights, *record.layers[1:]))
            self._install(record)
            if seed.loaded:
                self._load(record, 240.0, None)

    def _seed_synthetic(self, count: int) -> None:
        rng = random.Random(self.seed)
        entries = [e for e in self.catalogue.entries if "/" not in e.name]
        tags = ["latest", "7b", "3b", "1b", "q4_K_M", "q8_0", "instruct", "13b", "fp16"]
        namespaces = ["", "", "", "alice/", "bob/", "team-ml/"]
        now = self._base_time
        for i in range(count):
            entry = entries[i % len(entries)]
            base = entry.name.split(":")[0]
            name = f"{rng.choice(namespaces)}{base}-{i:05d}:{rng.choice(tags)}"
            weights = Layer(
                MEDIA_MODEL,
                hashlib.sha256(f"synthetic {self.seed} {i}".encode()).hexdigest(),
                int(entry.weights_size * rng.uniform(0.5, 2.0)),
            )
            layers = (weights, *entry.layers()[1:])
            record = record_from_entry(entry, name, now - timedelta(seconds=rng.uniform(60, 3e7)))
            self._models[name_key(name)] = replace(
                record, layers=layers, gpu_fraction=rng.choice([1.0, 1.0, 0.5, 0.0])
            )
            self._blobs.setdefault(weights.digest, BlobInfo(weights.size, gguf=True))
        self._changed()

    def _add_model(self, name: str, fields: dict[str, Any]) -> None:
        like_name = fields.pop("like", None)
        entry = self.catalogue.get(str(like_name)) if like_name else None
        if entry is None:
            entry = self.catalogue.get("llama3.2:3b")
        assert entry is not None
        modified = fields.pop("modified_at", None)
        if isinstance(modified, str):
            modified = datetime.fromisoformat(modified.replace("Z", "+00:00"))
        if modified is None:
            modified = self._now()
        display = display_name(name)
        base = record_from_entry(entry, display, modified)
        if like_name is None:
            weights = Layer(MEDIA_MODEL, sha256_hex(f"added {display}"), entry.weights_size)
            base = replace(base, layers=(weights, *base.layers[1:]))
        simple = {
            "family": "family",
            "format": "format",
            "parameter_size": "parameter_size",
            "quantization_level": "quantization_level",
            "parent_model": "parent_model",
            "context_length": "context_length",
            "embedding_length": "embedding_length",
            "template": "template",
            "system": "system",
            "model_info": "model_info",
            "remote_model": "remote_model",
            "remote_host": "remote_host",
            "gpu_fraction": "gpu_fraction",
            "size": "size_override",
            "digest": "digest_override",
            "details": "details_override",
        }
        changes: dict[str, Any] = {}
        for key, attr in simple.items():
            if key in fields:
                changes[attr] = fields.pop(key)
        if "families" in fields:
            fam = fields.pop("families")
            changes["families"] = tuple(fam) if isinstance(fam, list | tuple) else fam
        if "capabilities" in fields:
            changes["capabilities"] = tuple(fields.pop("capabilities") or ())
        if "license" in fields:
            lic = fields.pop("license")
            changes["license"] = (lic,) if isinstance(lic, str) else tuple(lic or ())
        if "parameters" in fields:
            params = fields.pop("parameters") or {}
            changes["parameters"] = _param_pairs(params)
        if "messages" in fields:
            changes["messages"] = tuple(fields.pop("messages") or ())
        if "family" in changes and "families" not in changes:
            changes["families"] = (str(changes["family"]),)
        if "remote_host" in changes and "size_override" not in changes:
            changes["size_override"] = 384
        if "model_info" not in changes and "family" in changes:
            info = dict(base.model_info)
            arch = str(changes["family"])
            info["general.architecture"] = arch
            info[f"{arch}.context_length"] = changes.get("context_length", entry.context_length)
            info[f"{arch}.embedding_length"] = changes.get(
                "embedding_length", entry.embedding_length
            )
            changes["model_info"] = info
        changes["extra"] = fields
        record = replace(base, **changes)
        self._install(record)

    def _prepare_stream(self, name: str, lines: int, layer_size: int) -> None:
        if lines < 5:
            raise ValueError("a prepared pull stream needs at least 5 lines")
        parsed = parse_name(name)
        if parsed is None:
            raise ValueError(f"invalid model name {name!r}")
        display = parsed.display
        digest = sha256_hex(f"prepared {display} {lines}")
        entry = CatalogueEntry(
            name=display,
            family="llama",
            families=("llama",),
            parameter_size="8.0B",
            quantization_level="Q4_K_M",
            parameter_count=8030261248,
            context_length=131072,
            embedding_length=4096,
            weights_size=layer_size,
            weights_digest=digest,
            capabilities=("completion", "tools"),
        )
        steps = lines - 4
        head = f'{{"status":"pulling {digest[:12]}","digest":"sha256:{digest}","total":{layer_size}'
        parts = [b'{"status":"pulling manifest"}\n']
        chunk: list[str] = []
        for i in range(steps):
            done = layer_size * i // (steps - 1) if steps > 1 else layer_size
            chunk.append(f'{head},"completed":{done}}}\n' if done else head + "}\n")
        parts.append("".join(chunk).encode())
        parts.append(b'{"status":"verifying sha256 digest"}\n')
        parts.append(b'{"status":"writing manifest"}\n{"status":"success"}\n')
        self._prepared[parsed.key] = (entry, b"".join(parts), lines)

    # --- runners ---------------------------------------------------------------------

    def _running(self) -> list[Runner]:
        now = time.time()
        for key, runner in list(self._runners.items()):
            if now >= runner.gone_wall:
                del self._runners[key]
        return sorted(self._runners.values(), key=lambda r: r.expires_wall, reverse=True)

    def _load(self, record: ModelRecord, keep_alive: float, num_ctx: int | None) -> Runner:
        self._running()
        params = record.parameters_dict()
        ctx = num_ctx or params.get("num_ctx") or 4096
        if record.context_length:
            ctx = min(int(ctx), record.context_length)
        ctx = int(ctx)
        key = record.runner_key
        existing = self._runners.get(key)
        now = time.time()
        expires = now + keep_alive
        if existing is not None and existing.context_length == ctx:
            runner = existing  # same weights, same options: the runner is reused
        else:
            kv = ctx * max(2048, record.embedding_length * record.block_count) // 2
            size = int(record.weights_size * 1.06) + kv
            runner = Runner(
                name=record.name,
                record=record,
                size=size,
                size_vram=int(size * max(0.0, min(1.0, record.gpu_fraction))),
                context_length=ctx,
                expires_wall=expires,
                gone_wall=expires,
                expires_at=self._now(),
            )
            self._runners[key] = runner
        runner.expires_wall = expires
        runner.gone_wall = expires + self.unload_grace
        runner.expires_at = self._now() + timedelta(seconds=keep_alive)
        return runner

    def _unload(self, name: str) -> bool:
        record = self._find(name)
        if record is None:
            return False
        runner = self._runners.get(record.runner_key)
        if runner is not None:
            now = time.time()
            runner.expires_wall = now
            runner.gone_wall = now + self.unload_grace
            runner.expires_at = self._now()
        return True

    # --- HTTP dispatch ----------------------------------------------------------------

    def _routes(self) -> dict[str, dict[str, Handler]]:
        return {
            "/": {"GET": self._h_root, "HEAD": self._h_root},
            "/api/version": {"GET": self._h_version, "HEAD": self._h_version},
            "/api/tags": {"GET": self._h_tags, "HEAD": self._h_tags},
            "/api/ps": {"GET": self._h_ps},
            "/api/show": {"POST": self._h_show},
            "/api/pull": {"POST": self._h_pull},
            "/api/push": {"POST": self._h_push},
            "/api/create": {"POST": self._h_create},
            "/api/copy": {"POST": self._h_copy},
            "/api/delete": {"DELETE": self._h_delete},
            "/api/generate": {"POST": self._h_generate},
            "/api/chat": {"POST": self._h_chat},
            "/api/embed": {"POST": self._h_embed},
        }

    def _route(self, path: str) -> dict[str, Handler] | None:
        routes = self._routes()
        if path in routes:
            return routes[path]
        if path == "/v2" or path.startswith("/v2/"):
            handle = self.registry.handle
            return {"GET": handle, "HEAD": handle}
        tail = path[len("/api/blobs/") :]
        if path.startswith("/api/blobs/") and tail and "/" not in tail:
            return {"HEAD": self._h_blob_head, "POST": self._h_blob_post}
        return None

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        if request.path.startswith("/_sim/"):
            return await self._control(request)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self.active_requests += 1
        conn = id(request.transport)
        self._busy[conn] = self._busy.get(conn, 0) + 1
        try:
            return await self._serve(request)
        except _StreamStop:
            resp = _state().stream_response
            if resp is not None:
                return resp
            raise
        finally:
            self.active_requests -= 1
            left = self._busy.pop(conn, 1) - 1
            if left > 0:
                self._busy[conn] = left
            if task is not None:
                self._tasks.discard(task)

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        state = _RequestState()
        _STATE.set(state)
        body: Any = None
        if request.method in ("POST", "DELETE", "PUT", "PATCH") and not path.startswith(
            "/api/blobs/"
        ):
            raw = await request.read()
            state.raw_body = raw
            try:
                body = json.loads(raw) if raw.strip() else None
            except (json.JSONDecodeError, UnicodeDecodeError):
                body = None
        self.requests.append(RecordedRequest(request.method, path, body))

        if self.check_host and self._loopback and not _allowed_host(request.host):
            return web.Response(status=403)
        fault = self.faults.take(path)
        if fault is not None:
            early = await self._apply_fault(request, fault)
            if early is not None:
                return early
            if fault.kind in _LINE_FAULTS:
                state.line_fault = fault

        routes = self._route(path)
        if routes is None:
            stripped = path.rstrip("/")
            if path != stripped and stripped and self._route(stripped) is not None:
                status = 301 if request.method == "GET" else 307
                return web.Response(status=status, headers={"Location": stripped})
            return await self._finish(request, text_response(404, "404 page not found"))
        handler = routes.get(request.method)
        if handler is None:
            return await self._finish(request, text_response(405, "405 method not allowed"))
        try:
            resp = await handler(request)
        except HttpError as err:
            resp = error_response(err.status, err.message, **err.extra)
        return await self._finish(request, resp)

    async def _finish(self, request: web.Request, resp: web.StreamResponse) -> web.StreamResponse:
        """Apply a line fault to a plain (non-streamed) response."""
        fault = _state().line_fault
        if fault is None or not isinstance(resp, web.Response) or resp.prepared:
            return resp
        if request.method == "HEAD" and fault.kind in ("error_line", "end"):
            return resp  # a HEAD answer has no body to carry an error line
        body = resp.body if isinstance(resp.body, bytes) else b""
        lines = [line + b"\n" for line in body.split(b"\n") if line]
        stream = web.StreamResponse(status=resp.status)
        stream.content_type = resp.content_type
        _state().stream_response = stream
        await stream.prepare(request)
        for line in lines[: fault.after_lines]:
            await stream.write(line)
        if fault.kind == "error_line":
            await stream.write(go_json_line({"error": fault.message}))
            return stream
        if fault.kind == "end":
            return stream
        if request.transport is not None:
            request.transport.abort()
        raise _StreamStop

    async def _apply_fault(self, request: web.Request, fault: Fault) -> web.StreamResponse | None:
        kind = fault.kind
        if kind == "delay":
            await asyncio.sleep(fault.seconds)
            return None
        if kind == "status":
            return error_response(fault.status, fault.message)
        if kind == "malformed_json":
            ctype = NDJSON_TYPE if _is_stream_path(request.path) else "application/json"
            return web.Response(
                status=200,
                body=b'{"models":[{"name":"llama3.2:latest","size":20193\n',
                content_type=ctype,
            )
        if kind == "not_json":
            html = (
                "<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>"
            )
            return web.Response(status=200, text=html, content_type="text/html")
        if kind == "hang":
            await asyncio.Event().wait()
        if kind == "refuse":
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=200)  # never written: the transport is gone
        return None

    async def _stream_ops(
        self,
        request: web.Request,
        events: AsyncIterator[dict[str, Any]],
        stream: bool,
    ) -> web.StreamResponse:
        """Run a progress operation: NDJSON lines, or one JSON object when stream is false."""
        async with contextlib.aclosing(events):  # type: ignore[type-var]
            if not stream:
                last: dict[str, Any] = {}
                try:
                    async for event in events:
                        last = event
                except OpError as err:
                    return error_response(err.status, err.message)
                return json_response(last)
            writer = _Stream(request, _state().line_fault)
            try:
                async for event in events:
                    if writer.response is None:
                        _state().stream_response = await writer._prepare()
                    await writer.send(event)
            except OpError as err:
                if writer.response is None:
                    return error_response(err.status, err.message)
                await writer.send({"error": err.message})
            return await writer.finish()

    # --- handlers: basics ----------------------------------------------------------------

    async def _h_root(self, request: web.Request) -> web.StreamResponse:
        return text_response(200, "Ollama is running")

    async def _h_version(self, request: web.Request) -> web.StreamResponse:
        return json_response({"version": self.version})

    async def _h_tags(self, request: web.Request) -> web.StreamResponse:
        body = self._tags_body()
        return web.Response(body=body, content_type="application/json", charset="utf-8")

    async def _h_ps(self, request: web.Request) -> web.StreamResponse:
        with_ctx = self._at_least("0.10.0")
        items = [r.ps_item(with_context=with_ctx) for r in self._running()]
        if not self._at_least("0.1.38"):
            for item in items:
                item.pop("expires_at", None)
                item.pop("size_vram", None)
        return json_response({"models": items})

    def _body(self, request: web.Request) -> dict[str, Any]:
        return decode_body(request.path, _state().raw_body)

    @staticmethod
    def _name_field(body: Mapping[str, Any]) -> str:
        return str(body.get("model") or body.get("name") or "")

    # --- show / copy / delete ------------------------------------------------------------

    async def _h_show(self, request: web.Request) -> web.StreamResponse:
        body = self._body(request)
        raw = self._name_field(body)
        if not raw:
            raise HttpError(400, "model is required")
        record = self._hostile(raw)
        if record is None:
            name = parse_name(raw)
            if name is None:
                raise HttpError(400, "invalid model name")
            record = self._models.get(name.key)
            if record is None:
                raise HttpError(404, f"model '{name.display}' not found")
        return json_response(self._show(record, verbose=bool(body.get("verbose"))))

    def _show(self, record: ModelRecord, *, verbose: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if record.license:
            out["license"] = "\n".join(record.license)
        out["modelfile"] = record.modelfile()
        params = record.parameters_text()
        if params:
            out["parameters"] = params
        if record.template is not None:
            out["template"] = record.template
        if record.system is not None:
            out["system"] = record.system
        out["details"] = record.details(with_parent=True)
        if record.messages:
            out["messages"] = [dict(m) for m in record.messages]
        if self._at_least("0.1.45"):
            info = dict(record.model_info)
            if "tokenizer.ggml.model" in info and "tokenizer.ggml.tokens" not in info:
                tokens = ["<unk>", "<s>", "</s>", "!", '"', "#", "$", "%"]
                info["tokenizer.ggml.tokens"] = tokens if verbose else None
            out["model_info"] = info
            out["modified_at"] = format_time(record.modified_at)
        else:
            out["model_info"] = {}
        if self._at_least("0.6.4"):
            out["capabilities"] = list(record.capabilities)
        if record.remote_model:
            out["remote_model"] = record.remote_model
        if record.remote_host:
            out["remote_host"] = record.remote_host
        return out

    async def _h_copy(self, request: web.Request) -> web.StreamResponse:
        body = self._body(request)
        source_raw = str(body.get("source") or "")
        dest_raw = str(body.get("destination") or "")
        source = parse_name(source_raw)
        hostile = self._hostile(source_raw)
        if source is None and hostile is None:
            raise HttpError(400, f"source {json.dumps(source_raw)} is invalid")
        dest = parse_name(dest_raw)
        if dest is None:
            raise HttpError(400, f"destination {json.dumps(dest_raw)} is invalid")
        source_key = source.key if source else name_key(source_raw)
        existing = self._models.get(dest.key)
        if existing is not None and existing.name != dest.display and dest.key != source_key:
            raise HttpError(400, "a model with that name already exists")
        record = hostile or self._models.get(source_key)
        if record is None:
            raise HttpError(404, f"model {json.dumps(source_raw)} not found")
        old = self._install(replace(record, name=dest.display, modified_at=self._now()))
        if old is not None and dest.key != source_key:
            self._prune(old)
        return web.Response(status=200)

    async def _h_delete(self, request: web.Request) -> web.StreamResponse:
        body = self._body(request)
        raw = self._name_field(body)
        if not raw:
            raise HttpError(400, "model is required")
        name = parse_name(raw)
        if name is None and self._hostile(raw) is None:
            raise HttpError(400, f"name {json.dumps(raw)} is invalid")
        record = self._models.pop(name.key if name else name_key(raw), None)
        if record is None:
            raise HttpError(404, f"model '{raw}' not found")
        self._prune(record)
        self._changed()
        return web.Response(status=200)

    # --- pull ----------------------------------------------------------------------------

    async def _h_pull(self, request: web.Request) -> web.StreamResponse:
        body = self._body(request)
        name = parse_name(self._name_field(body))
        if name is None:
            raise HttpError(400, "invalid model name")
        stream = body.get("stream") is not False
        prepared = self._prepared.get(name.key)
        if prepared is not None and stream:
            return await self._pull_prepared(request, name, *prepared)
        events = self._pull_events(name, insecure=bool(body.get("insecure")), final=True)
        return await self._stream_ops(request, events, stream)

    async def _pull_prepared(
        self, request: web.Request, name: Name, entry: CatalogueEntry, data: bytes, lines: int
    ) -> web.StreamResponse:
        writer = _Stream(request, _state().line_fault)
        _state().stream_response = await writer._prepare()
        view = memoryview(data)
        step = 1 << 16
        pos = 0
        while pos < len(data):
            end = data.find(b"\n", min(len(data), pos + step) - 1)
            end = len(data) if end < 0 else end + 1
            piece = bytes(view[pos:end])
            await writer.write(piece, piece.count(b"\n"))
            pos = end
        self._install(record_from_entry(entry, name.display, self._now()))
        return await writer.finish()

    async def _pull_events(
        self, name: Name, *, insecure: bool, final: bool
    ) -> AsyncIterator[dict[str, Any]]:
        yield {"status": "pulling manifest"}
        if name.insecure and not insecure:
            raise OpError("insecure protocol http")
        entry = self.catalogue.get(name.display)
        if entry is None:
            raise OpError("pull model manifest: file does not exist")
        for layer in (*entry.layers(), entry.config_layer()):
            async for event in self._download(layer):
                yield event
        yield {"status": "verifying sha256 digest"}
        yield {"status": "writing manifest"}
        old = self._install(record_from_entry(entry, name.display, self._now()))
        if self._prune(old):
            yield {"status": "removing unused layers"}
        if final:
            yield {"status": "success"}

    async def _download(self, layer: Layer) -> AsyncIterator[dict[str, Any]]:
        status = f"pulling {layer.short}"
        digest = f"sha256:{layer.digest}"
        total = layer.size

        def line(done: int) -> dict[str, Any]:
            out: dict[str, Any] = {"status": status, "digest": digest, "total": total}
            if done:
                out["completed"] = done
            return out

        while True:
            if layer.digest in self._blobs:
                yield line(total)
                return
            lock = self._locks.setdefault(layer.digest, asyncio.Lock())
            if lock.locked():
                # Another pull is fetching this blob: mirror its progress (shared download).
                yield line(self._partial.get(layer.digest, 0))
                await asyncio.sleep(self.progress_interval)
                continue
            async with lock:
                if layer.digest in self._blobs:
                    continue
                loop = asyncio.get_running_loop()
                done = self._partial.get(layer.digest, 0)
                yield line(done)
                last = loop.time()
                while done < total:
                    wait = min(self.progress_interval, (total - done) / self.bandwidth)
                    await asyncio.sleep(wait)
                    now = loop.time()
                    done = min(total, done + max(1, math.ceil(self.bandwidth * (now - last))))
                    last = now
                    self._partial[layer.digest] = done
                    yield line(done)
                self._blobs[layer.digest] = BlobInfo(total, gguf=layer.media_type == MEDIA_MODEL)
                self._partial.pop(layer.digest, None)
                self._changed()
            return

    # --- push ----------------------------------------------------------------------------

    async def _h_push(self, request: web.Request) -> web.StreamResponse:
        body = self._body(request)
        raw = self._name_field(body)
        if not raw:
            raise HttpError(400, "model is required")
        name = parse_name(raw)
        if name is None:
            raise HttpError(400, "invalid model name")
        stream = body.get("stream") is not False
        return await self._stream_ops(request, self._push_events(name), stream)

    async def _push_events(self, name: Name) -> AsyncIterator[dict[str, Any]]:
        yield {"status": "retrieving manifest"}
        record = self._models.get(name.key)
        if record is None:
            yield {"status": "couldn't retrieve manifest"}
            path = f"{MANIFESTS_DIR}/{name.host}/{name.namespace}/{name.model}/{name.tag}"
            raise OpError(f"open {path}: no such file or directory")
        allowed = name.host.lower() == "registry.ollama.ai" and (
            name.namespace.lower() == self.push_namespace.lower()
            if self.push_namespace
            else name.namespace.lower() != "library"
        )
        if not allowed:
            raise OpError(
                "unauthorized: access denied: you are not authorized to push to this "
                "namespace, create the model under a namespace you own",
                401,
            )
        for layer in record.layers:
            status = f"pushing {layer.short}"
            digest = f"sha256:{layer.digest}"
            if layer.digest in self._pushed:
                yield {
                    "status": status,
                    "digest": digest,
                    "total": layer.size,
                    "completed": layer.size,
                }
                continue
            done = 0
            yield {"status": status, "digest": digest, "total": layer.size}
            loop = asyncio.get_running_loop()
            last = loop.time()
            while done < layer.size:
                await asyncio.sleep(
                    min(self.progress_interval, (layer.size - done) / self.bandwidth)
                )
                now = loop.time()
                done = min(layer.size, done + max(1, math.ceil(self.bandwidth * (now - last))))
                last = now
                yield {"status": status, "digest": digest, "total": layer.size, "completed": done}
            self._pushed.add(layer.digest)
        yield {"status": "pushing manifest"}
        yield {"status": "success"}

    # --- create --------------------------------------------------------------------------

    async def _h_create(self, request: web.Request) -> web.StreamResponse:
        body = self._body(request)
        legacy = not self._at_least("0.5.5")
        name = parse_name(self._name_field(body))
        if legacy:
            text = body.get("modelfile")
            if not text and not body.get("path"):
                raise HttpError(400, "path or Modelfile are required")
            if name is None:
                raise HttpError(400, "invalid model name")
            try:
                body = {**body, **legacy_to_structured(str(text or ""))}
            except ValueError as err:
                raise HttpError(400, str(err)) from None
        elif name is None:
            raise HttpError(400, "invalid model name")
        if not body.get("from") and body.get("files") is None:
            raise HttpError(400, "neither 'from' or 'files' was specified")
        for group in ("files", "adapters"):
            mapping = body.get(group) or {}
            for path, digest in mapping.items():
                if path.startswith("/") or ".." in path.split("/") or "\\" in path:
                    raise HttpError(400, "file path must be relative")
                if not DIGEST_RE.fullmatch(digest):
                    raise HttpError(400, "invalid digest format")
        if len(body.get("adapters") or {}) > 1:
            raise HttpError(400, "only one adapter is currently supported")
        template = body.get("template")
        if isinstance(template, str) and template.count("{{") != template.count("}}"):
            raise HttpError(400, "template error: template: :1: unclosed action")
        stream = body.get("stream") is not False
        return await self._stream_ops(request, self._create_events(name, body), stream)

    async def _create_events(
        self, name: Name, body: Mapping[str, Any]
    ) -> AsyncIterator[dict[str, Any]]:
        base: ModelRecord | None = None
        layers: list[Layer] = []
        meta: dict[str, Any] = {}
        config: dict[str, Any] = {}
        from_raw = str(body.get("from") or "")
        if from_raw:
            from_name = parse_name(from_raw)
            if from_name is None:
                raise OpError("invalid model name", 400)
            base = self._models.get(from_name.key)
            if base is None:
                async for event in self._pull_events(from_name, insecure=False, final=False):
                    yield event
                base = self._models.get(from_name.key)
                assert base is not None
            layers = [la for la in base.layers if la.media_type not in (MEDIA_CONFIG,)]
        if body.get("files"):
            files: Mapping[str, str] = body["files"]
            weights: list[Layer] = []
            for path in sorted(files):
                yield {"status": "parsing GGUF"}
                hexd = files[path].split(":", 1)[-1].split("-", 1)[-1].lower()
                blob = self._blobs.get(hexd)
                if blob is None:
                    raise OpError(f"open {BLOBS_DIR}/sha256-{hexd}: no such file or directory")
                if not blob.gguf:
                    raise OpError("supplied file was not in GGUF format", 400)
                weights.append(Layer(MEDIA_MODEL, hexd, blob.size))
                meta = dict(blob.meta)
                config["parameter_count"] = blob.parameter_count
            yield {"status": "verifying conversion"}
            layers = [la for la in layers if la.media_type != MEDIA_MODEL]
            layers = weights + layers
        for path, digest in (body.get("adapters") or {}).items():
            hexd = digest.split(":", 1)[-1].split("-", 1)[-1].lower()
            blob = self._blobs.get(hexd)
            if blob is None:
                raise OpError(f"open {BLOBS_DIR}/sha256-{hexd}: no such file or directory")
            layers.append(Layer(MEDIA_ADAPTER, hexd, blob.size))
            del path

        # Metadata: from the base model, else from the GGUF header.
        arch = str(meta.get("general.architecture") or (base.family if base else "llama"))
        if base is not None and not body.get("files"):
            family, families = base.family, base.families
            parameter_size, quant = base.parameter_size, base.quantization_level
            ctx_len, emb_len = base.context_length, base.embedding_length
            model_info: dict[str, Any] = dict(base.model_info)
            capabilities = base.capabilities
            gpu = base.gpu_fraction
        else:
            family, families = arch, (arch,)
            count = int(config.get("parameter_count") or 0)
            parameter_size = human_number(count) if count else "unknown"
            file_type = meta.get("general.file_type")
            quant = (
                FILE_TYPES.get(file_type, "unknown") if isinstance(file_type, int) else "unknown"
            )
            ctx_len = int(meta.get(f"{arch}.context_length") or 0)
            emb_len = int(meta.get(f"{arch}.embedding_length") or 0)
            model_info = gguf_model_info(meta, count)
            model_info.setdefault("general.architecture", arch)
            pooling = meta.get(f"{arch}.pooling_type")
            capabilities = ("embedding",) if pooling else ("completion",)
            gpu = 0.0

        quantize = str(body.get("quantize") or body.get("quantization") or "")
        if quantize:
            target = _QUANT_TYPES.get(quantize.lower())
            if target is None:
                raise OpError(
                    f"unsupported quantization type {quantize} - supported types are "
                    "F32, F16, Q4_K_S, Q4_K_M, Q8_0"
                )
            if quant not in ("F16", "BF16", "F32"):
                raise OpError("quantization is only supported for F16, BF16 and F32 models")
            src = next((la for la in layers if la.media_type == MEDIA_MODEL), None)
            if src is not None:
                status = f"quantizing {quant} model to {target}"
                steps = 4
                for i in range(1, steps + 1):
                    await asyncio.sleep(0)
                    yield {
                        "status": status,
                        "digest": ZERO_DIGEST,
                        "total": src.size,
                        "completed": src.size * i // steps,
                    }
                yield {"status": "verifying conversion"}
                new = Layer(
                    MEDIA_MODEL,
                    sha256_hex(f"{src.digest} -> {target}"),
                    int(src.size * _QUANT_RATIO[target] / _QUANT_RATIO.get(quant, 1.0)),
                )
                layers = [new if la is src else la for la in layers]
                self._blobs.setdefault(new.digest, BlobInfo(new.size, gguf=True))
                quant = target

        template = body.get("template")
        if template is None and base is None:
            chat = str(meta.get("tokenizer.chat_template") or "")
            if "<|im_start|>" in chat:
                yield {"status": "using autodetected template chatml"}
                template = CHATML_TEMPLATE
        template = template if template is not None else (base.template if base else None)
        system = body.get("system")
        system = system if system is not None else (base.system if base else None)
        lic_raw = body.get("license")
        if lic_raw is None:
            license_ = base.license if base else ()
        else:
            license_ = (lic_raw,) if isinstance(lic_raw, str) else tuple(str(x) for x in lic_raw)
        params = dict(base.parameters_dict()) if base else {}
        params.update(body.get("parameters") or {})
        # The server marshals a Go map: the params layer has its keys sorted, so the same
        # parameters give the same layer (and digest) whatever order they were sent in.
        param_pairs = _param_pairs(dict(sorted(params.items())))
        messages_raw = body.get("messages") or []
        messages = (
            tuple(dict(m) for m in messages_raw)
            if messages_raw
            else (base.messages if base else ())
        )

        final: list[Layer] = [
            la
            for la in layers
            if la.media_type in (MEDIA_MODEL, MEDIA_ADAPTER) or la.media_type.endswith("projector")
        ]
        if template is not None:
            final.append(text_layer(MEDIA_TEMPLATE, template))
        if system is not None:
            final.append(text_layer(MEDIA_SYSTEM, system))
        final.extend(text_layer(MEDIA_LICENSE, t) for t in license_)
        if param_pairs:
            final.append(text_layer(MEDIA_PARAMS, params_text(param_pairs)))
        if messages:
            final.append(text_layer(MEDIA_MESSAGES, json.dumps(list(messages))))
        config_text = json.dumps(
            {
                "model_format": "gguf",
                "model_family": family,
                "model_type": parameter_size,
                "file_type": quant,
                "layers": [la.digest for la in final],
            },
            separators=(",", ":"),
        )
        final.append(text_layer(MEDIA_CONFIG, config_text))

        used = self._referenced()
        for layer in final[:-1]:
            verb = "using existing" if layer.digest in used else "creating new"
            yield {"status": f"{verb} layer sha256:{layer.digest}"}
            await asyncio.sleep(0)
        yield {"status": "writing manifest"}
        record = ModelRecord(
            name=name.display,
            modified_at=self._now(),
            layers=tuple(final),
            family=family,
            families=families,
            parameter_size=parameter_size,
            quantization_level=quant,
            parent_model=base.name if base else "",
            capabilities=capabilities,
            context_length=ctx_len,
            embedding_length=emb_len,
            template=template,
            system=system,
            license=license_,
            parameters=param_pairs,
            messages=messages,
            model_info=model_info,
            gpu_fraction=gpu,
            written_here=True,
        )
        old = self._install(record)
        self._prune(old)
        yield {"status": "success"}

    # --- blobs ---------------------------------------------------------------------------

    @staticmethod
    def _blob_digest(request: web.Request) -> str:
        raw = request.path[len("/api/blobs/") :]
        match = DIGEST_RE.fullmatch(raw)
        if match is None:
            raise HttpError(400, "invalid digest format")
        return match.group(1).lower()

    async def _h_blob_head(self, request: web.Request) -> web.StreamResponse:
        try:
            digest = self._blob_digest(request)
        except HttpError as err:
            return web.Response(status=err.status)
        return web.Response(status=200 if digest in self._blobs else 404)

    async def _h_blob_post(self, request: web.Request) -> web.StreamResponse:
        digest = self._blob_digest(request)
        if digest in self._blobs:
            return web.Response(status=200)  # body deliberately not read
        hasher = hashlib.sha256()
        head = bytearray()
        size = 0
        async for chunk in request.content.iter_chunked(1 << 16):
            hasher.update(chunk)
            size += len(chunk)
            if len(head) < GGUF_HEAD_BYTES:
                head += chunk[: GGUF_HEAD_BYTES - len(head)]
        got = hasher.hexdigest()
        if got != digest:
            raise HttpError(400, f'digest mismatch, expected "sha256:{digest}", got "sha256:{got}"')
        is_gguf = bytes(head[:4]) in (b"GGUF", b"FUGG")
        meta, params = parse_gguf_head(bytes(head)) if is_gguf else ({}, 0)
        self._blobs[digest] = BlobInfo(size, gguf=is_gguf, meta=meta, parameter_count=params)
        return web.Response(status=201)

    # --- generate / chat / embed ---------------------------------------------------------

    async def _h_generate(self, request: web.Request) -> web.StreamResponse:
        body = self._body(request)
        return await self._inference(request, body, "generate", bool(body.get("prompt")))

    async def _h_chat(self, request: web.Request) -> web.StreamResponse:
        body = self._body(request)
        return await self._inference(request, body, "chat", bool(body.get("messages")))

    async def _h_embed(self, request: web.Request) -> web.StreamResponse:
        body = self._body(request)
        raw = str(body.get("model") or "")
        name = parse_name(raw)
        record = self._models.get(name.key) if name else self._hostile(raw)
        if record is None:
            raise HttpError(404, f"model '{raw}' not found")
        if "embedding" not in record.capabilities:
            raise HttpError(400, f"{json.dumps(raw)} does not support embeddings")
        seconds = keep_alive_seconds(body.get("keep_alive"), self.default_keep_alive)
        load_ns = await self._load_async(record, seconds, body)
        inputs = body.get("input")
        texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
        dims = min(record.embedding_length or 768, int(body.get("dimensions") or 10**9))
        embed_ns = _nanoseconds(len(texts) / (self.speed * EMBED_SPEED_FACTOR))
        await asyncio.sleep(min(embed_ns / 1e9, MAX_PACED_SECONDS))
        vectors = [_fake_embedding(str(t), dims) for t in texts]
        return json_response(
            {
                "model": raw,
                "embeddings": vectors,
                "total_duration": load_ns + embed_ns,
                "load_duration": load_ns,
                "prompt_eval_count": sum(_token_count(str(t)) for t in texts),
            }
        )

    async def _load_async(
        self, record: ModelRecord, seconds: float, body: Mapping[str, Any]
    ) -> int:
        """Load (or keep loaded) ``record``; the nanoseconds it took when this loaded it, else
        0 (the reply's ``load_duration``)."""
        options = body.get("options") or {}
        num_ctx = options.get("num_ctx") if isinstance(options, dict) else None
        key = record.runner_key
        self._running()  # drop expired runners: loading one again is a real load
        loading = key not in self._runners
        started = time.perf_counter()
        if loading and self.load_time > 0:
            self._load(record, max(seconds, self.load_time + 1), num_ctx)
            await asyncio.sleep(self.load_time)
        self._load(record, seconds, num_ctx if isinstance(num_ctx, int) else None)
        return _nanoseconds(time.perf_counter() - started) if loading else 0

    async def _inference(
        self, request: web.Request, body: Mapping[str, Any], kind: str, has_input: bool
    ) -> web.StreamResponse:
        raw = str(body.get("model") or "")
        name = parse_name(raw)
        record = self._models.get(name.key) if name else self._hostile(raw)
        if record is None:
            raise HttpError(404, f"model '{raw}' not found")
        keep = body.get("keep_alive")
        seconds = keep_alive_seconds(keep, self.default_keep_alive)
        created = format_utc(self._now())
        if not has_input and keep is not None and seconds == 0:
            self._unload(record.name)
            return json_response(self._done(kind, raw, created, "unload"))
        if record.is_remote:
            raise HttpError(401, "unauthorized", signin_url="https://ollama.com/connect?name=sim")
        if "completion" not in record.capabilities:
            raise HttpError(400, f"{json.dumps(raw)} does not support {kind}")
        think = body.get("think")
        if think not in (None, False) and "thinking" not in record.capabilities:
            raise HttpError(400, f"{json.dumps(raw)} does not support thinking")
        load_ns = await self._load_async(record, seconds, body)
        if not has_input:
            return json_response(self._done(kind, raw, created, "load"))
        words = ["Hello", "!", " I", " am", " a", " simulated", " model", "."]
        predict = _num_predict(body.get("options"))
        if predict is not None:
            words = [_FILLER[k % len(_FILLER)] for k in range(predict)]
        prompt_tokens = _token_count(json.dumps(body.get("prompt") or body.get("messages")))
        prompt_ns = _nanoseconds(prompt_tokens / (self.speed * PROMPT_SPEED_FACTOR))
        eval_ns = _nanoseconds(len(words) / self.speed)
        chunks = [self._chunk(kind, raw, created, w) for w in words]
        if think not in (None, False):
            thoughts = []
            for text in ("Let me think", " about that", "."):
                chunk = self._chunk(kind, raw, created, "")
                target = chunk["message"] if kind == "chat" else chunk
                target["thinking"] = text
                thoughts.append(chunk)
            chunks = thoughts + chunks
        final = self._done(kind, raw, created, "length" if predict else "stop")
        metrics = {
            "total_duration": load_ns + prompt_ns + eval_ns,
            "load_duration": load_ns,
            "prompt_eval_count": prompt_tokens,
            "prompt_eval_duration": prompt_ns,
            "eval_count": len(words),
            "eval_duration": eval_ns,
        }
        # Go's omitempty: a zero figure is left out.
        final.update((key, value) for key, value in metrics.items() if value)
        pace = 1.0 / self.speed
        if body.get("stream") is False:
            await asyncio.sleep(min((prompt_ns + eval_ns) / 1e9, MAX_PACED_SECONDS))
            text = "".join(words)
            if kind == "chat":
                final["message"] = {"role": "assistant", "content": text}
            else:
                final["response"] = text
            return json_response(final)

        async def events() -> AsyncIterator[dict[str, Any]]:
            # Paced at the server's speed (against a deadline, so sleeps do not add up), so
            # that the time taken matches the timings reported; bounded by MAX_PACED_SECONDS.
            loop = asyncio.get_running_loop()
            start = loop.time() + min(prompt_ns / 1e9, MAX_PACED_SECONDS)
            end = loop.time() + MAX_PACED_SECONDS
            for index, chunk in enumerate(chunks):
                ahead = min(start + index * pace, end) - loop.time()
                await asyncio.sleep(ahead if ahead > 0.002 else 0)
                yield chunk
            ahead = min(start + len(chunks) * pace, end) - loop.time()
            await asyncio.sleep(max(ahead, 0))
            yield final

        return await self._stream_ops(request, events(), True)

    @staticmethod
    def _chunk(kind: str, model: str, created: str, text: str) -> dict[str, Any]:
        if kind == "chat":
            return {
                "model": model,
                "created_at": created,
                "message": {"role": "assistant", "content": text},
                "done": False,
            }
        return {"model": model, "created_at": created, "response": text, "done": False}

    @staticmethod
    def _done(kind: str, model: str, created: str, reason: str) -> dict[str, Any]:
        if kind == "chat":
            return {
                "model": model,
                "created_at": created,
                "message": {"role": "assistant", "content": ""},
                "done_reason": reason,
                "done": True,
            }
        return {
            "model": model,
            "created_at": created,
            "response": "",
            "done": True,
            "done_reason": reason,
        }

    # --- control endpoints ---------------------------------------------------------------

    async def _control(self, request: web.Request) -> web.StreamResponse:
        path, method = request.path, request.method
        try:
            body: dict[str, Any] = {}
            if method in ("POST", "DELETE"):
                raw = await request.read()
                if raw.strip():
                    loaded = json.loads(raw)
                    if not isinstance(loaded, dict):
                        raise ValueError("body must be a JSON object")
                    body = loaded
            if path == "/_sim/faults" and method == "POST":
                params = dict(body)
                fault = self.faults.add(
                    str(params.pop("path", "")),
                    str(params.pop("kind", "")),
                    count=params.pop("count", None),
                    **params,
                )
                return json_response({"ok": True, "fault": fault.to_json()})
            if path == "/_sim/faults" and method == "DELETE":
                self.faults.clear(body.get("path"))
                return json_response({"ok": True})
            if path == "/_sim/faults" and method == "GET":
                return json_response(
                    {"faults": [f.to_json() for f in self.faults.active], "kinds": sorted(KINDS)}
                )
            if path == "/_sim/models" and method == "POST":
                fields = dict(body)
                name = str(fields.pop("name", "") or fields.pop("model", ""))
                if not name:
                    raise ValueError("name is required")
                self._add_model(name, fields)
                return json_response({"ok": True})
            if path == "/_sim/upstream" and method == "POST":
                digest = self.change_upstream(str(body.get("model") or body.get("name") or ""))
                return json_response({"ok": True, "digest": digest})
            if path == "/_sim/registry" and method == "POST":
                self.registry.require_token = bool(body.get("require_token", False))
                self.registry.refuse_tokens = bool(body.get("refuse_tokens", False))
                self.registry.rate_limited = int(body.get("rate_limited", 0))
                return json_response({"ok": True})
            if path == "/_sim/reset" and method == "POST":
                self.reset()
                return json_response({"ok": True})
            if path == "/_sim/requests" and method == "GET":
                return json_response({"requests": [r.to_json() for r in self.requests]})
            if path == "/_sim/requests" and method == "DELETE":
                self.requests.clear()
                return json_response({"ok": True})
            if path == "/_sim/load" and method == "POST":
                name = str(body.get("model") or body.get("name") or "")
                record = self._find(name)
                if record is None:
                    return error_response(404, f"model '{name}' not found")
                seconds = keep_alive_seconds(body.get("keep_alive"), self.default_keep_alive)
                self._load(record, seconds, body.get("num_ctx"))
                return json_response({"ok": True})
            if path == "/_sim/prepare_stream" and method == "POST":
                self._prepare_stream(
                    str(body.get("model") or body.get("name") or ""),
                    int(body.get("lines", 0)),
                    int(body.get("layer_size", 4_000_000_000)),
                )
                return json_response({"ok": True})
        except (ValueError, TypeError, KeyError) as err:
            return error_response(400, str(err))
        return text_response(404, "404 page not found")


# --- helpers -----------------------------------------------------------------------------


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _allowed_host(header: str) -> bool:
    """Ollama's allowedHostsMiddleware for a loopback-bound server."""
    host = header
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        host = host.split(":")[0]
    if not host:
        return True
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return addr.is_loopback or addr.is_private or addr.is_unspecified or addr.is_link_local
    lower = host.lower()
    if lower in ("localhost", socket.gethostname().lower()):
        return True
    return lower.endswith((".localhost", ".local", ".internal"))


def _is_stream_path(path: str) -> bool:
    return path in ("/api/pull", "/api/push", "/api/create", "/api/generate", "/api/chat")


def _param_pairs(params: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    pairs: list[tuple[str, Any]] = []
    for key, value in params.items():
        if isinstance(value, list | tuple):
            pairs.extend((key, v) for v in value)
        else:
            pairs.append((key, value))
    return tuple(pairs)


def _replace_text_layers(
    layers: tuple[Layer, ...], *, system: str, parameters: tuple[tuple[str, Any], ...]
) -> tuple[Layer, ...]:
    kept = [la for la in layers if la.media_type not in (MEDIA_SYSTEM, MEDIA_PARAMS, MEDIA_CONFIG)]
    kept.append(text_layer(MEDIA_SYSTEM, system))
    kept.append(text_layer(MEDIA_PARAMS, params_text(parameters)))
    kept.append(text_layer(MEDIA_CONFIG, '{"model_format":"gguf","model_family":"llama"}'))
    return tuple(kept)


_FILLER = (" The", " sky", " looks", " blue", " because", " air", " scatters", " light", ".")


def _num_predict(options: object) -> int | None:
    """``options.num_predict`` as a number of tokens to generate, at most MAX_PREDICT (a
    negative one means "until done": the cap); None when not given."""
    if not isinstance(options, dict):
        return None
    value = options.get("num_predict")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return MAX_PREDICT if value < 0 else min(int(value), MAX_PREDICT)


def _token_count(text: str) -> int:
    """About four characters a token, like real tokenizers on English text; at least one."""
    return max(1, len(text) // 4)


def _nanoseconds(seconds: float) -> int:
    return round(seconds * 1e9)


def _fake_embedding(text: str, dims: int) -> list[float]:
    rng = random.Random(hashlib.sha256(text.encode()).digest())
    vec = [rng.uniform(-1, 1) for _ in range(dims)]
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return [round(v / norm, 6) for v in vec]
