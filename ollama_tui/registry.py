"""Is an installed model outdated? One ``HEAD`` of its manifest at its registry answers it.

For a pulled model, the ``digest`` in ``/api/tags`` is the sha256 of the manifest bytes as the
registry served them, and the registry names the same digest in ``Docker-Content-Digest``
(``shared/OLLAMA_API.md`` §18). A model the server pushed itself has a local manifest with a
trailing newline that the registry's copy lacks, so when the digests differ the manifest is
fetched once and both forms are compared before anything is called outdated.

The checks run from the machine the app runs on, not from the Ollama server (over SSH these
are usually the same machine). No Textual or Rich here.

States: ``up-to-date``, ``outdated``, ``local`` (the registry has no such name: a model made
here), ``unknown`` with a reason (offline, 401 after the token flow, 429, timeout, TLS error).
Unknown is never shown as outdated.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import ssl
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx

from ollama_tui.api import limits
from ollama_tui.api.errors import InvalidInput
from ollama_tui.api.names import parse_model_name
from ollama_tui.files import atomic_write, read_bounded

__all__ = [
    "MANIFEST_ACCEPT",
    "PER_REGISTRY",
    "CheckCache",
    "CheckResult",
    "Freshness",
    "ManifestRef",
    "RegistryChecker",
    "default_cache_path",
    "manifest_ref",
]

MANIFEST_ACCEPT = "application/vnd.docker.distribution.manifest.v2+json"
PER_REGISTRY = 4
"""Requests in flight to one registry at most (a registry rate-limits a burst)."""
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
"""A manifest is a few KB; a registry sending more is refused (unknown)."""
MAX_TOKEN_BYTES = 64 * 1024
CHECK_TIMEOUT = 10.0
_DIGEST = re.compile(r"^(?:sha256:)?([0-9a-f]{64})$")
_CHALLENGE_PARAM = re.compile(r'(\w+)\s*=\s*"([^"]*)"')


class Freshness(StrEnum):
    UP_TO_DATE = "up-to-date"
    OUTDATED = "outdated"
    LOCAL = "local"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class CheckResult:
    """What one check found; digests are ``sha256:<hex>`` (remote: None when not known)."""

    model: str
    state: Freshness
    reason: str = ""
    local_digest: str = ""
    remote_digest: str | None = None
    checked_at: float = 0.0
    """Wall-clock time of the check (for "checked 3 h ago" and the cache's age)."""

    def to_json(self) -> dict[str, Any]:
        """The ``outdated --json`` form."""
        return {
            "model": self.model,
            "state": str(self.state),
            "reason": self.reason,
            "local_digest": self.local_digest,
            "remote_digest": self.remote_digest,
        }


@dataclass(frozen=True)
class ManifestRef:
    """Where a model's manifest lives: ``<scheme>://<registry>/v2/<repository>/manifests/<tag>``."""

    registry: str
    repository: str
    tag: str
    insecure: bool = False

    @property
    def url(self) -> str:
        scheme = "http" if self.insecure else "https"
        return f"{scheme}://{self.registry}/v2/{self.repository}/manifests/{self.tag}"


def manifest_ref(name: str, insecure_registries: Collection[str] = ()) -> ManifestRef:
    """The manifest a model name points at (defaults filled in as the server does).

    Raises ``InvalidInput`` for a name that is not a model name."""
    parsed = parse_model_name(name)
    registry = parsed.host.lower()
    insecure = registry in {host.lower() for host in insecure_registries}
    return ManifestRef(registry, f"{parsed.namespace}/{parsed.model}", parsed.tag, insecure)


def normalize_digest(digest: str) -> str | None:
    """``sha256:<hex>`` from either form, None for anything else."""
    match = _DIGEST.match(digest.strip().lower())
    return f"sha256:{match.group(1)}" if match else None


def default_cache_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/ollama-tui/registry.json``, else ``~/.cache/ollama-tui/...``."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME", "").strip()
    folder = Path(base) if base and Path(base).is_absolute() else Path.home() / ".cache"
    return folder / "ollama-tui" / "registry.json"


class _Unknown(Exception):
    """The check cannot tell: its reason is shown."""


class CheckCache:
    """Results by (registry, name, local digest), in a JSON file (e.g. in the XDG cache dir).

    A changed local digest (a re-pull) is a new key, so an old answer is never reused for it.
    Unknown results are not kept: the next check asks again. Bounded to ``limits.MAX_MODELS``
    entries (the oldest go first); a corrupt file is ignored and replaced.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._entries: dict[str, dict[str, Any]] = {}
        self._loaded = False

    @staticmethod
    def key(ref: ManifestRef, name: str, local_digest: str) -> str:
        return f"{ref.registry}\x00{name}\x00{local_digest}"

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        if self.path is None:
            return
        try:
            data = json.loads(read_bounded(self.path, limits.MAX_CONFIG_BYTES))
        except (OSError, ValueError):
            return  # missing or corrupt: start afresh (the file is a cache)
        if isinstance(data, dict):
            self._entries = {k: v for k, v in data.items() if isinstance(v, dict)}

    def count(self) -> int:
        """How many answers are cached (not ``__len__``: an empty cache must stay truthy)."""
        self._load()
        return len(self._entries)

    def names(self) -> set[str]:
        """The model names with a cached answer (a cheap filter before parsing names)."""
        self._load()
        return {key.split("\x00")[1] for key in self._entries if key.count("\x00") == 2}

    def get(self, key: str, max_age: float, now: float) -> CheckResult | None:
        self._load()
        entry = self._entries.get(key)
        if entry is None:
            return None
        try:
            result = CheckResult(
                model=str(entry["model"]),
                state=Freshness(entry["state"]),
                reason=str(entry.get("reason", "")),
                local_digest=str(entry["local_digest"]),
                remote_digest=entry.get("remote_digest"),
                checked_at=float(entry["checked_at"]),
            )
        except (KeyError, ValueError, TypeError):
            return None
        if not 0 <= now - result.checked_at <= max_age:
            return None
        return result

    def put(self, key: str, result: CheckResult) -> None:
        if result.state is Freshness.UNKNOWN:
            return
        self._load()
        self._entries.pop(key, None)
        entry = asdict(result)
        entry["state"] = str(result.state)
        self._entries[key] = entry
        while len(self._entries) > limits.MAX_MODELS:
            del self._entries[next(iter(self._entries))]

    def save(self) -> None:
        if self.path is None or not self._loaded:
            return
        data = json.dumps(self._entries, separators=(",", ":")).encode()
        with contextlib.suppress(OSError):  # a read-only cache dir costs only the cache
            atomic_write(self.path, data, private=True, make_dirs=True)


class RegistryChecker:
    """Checks models against their registries; at most ``PER_REGISTRY`` requests in flight to
    each registry, each with a timeout. Use it as an async context manager, or ``aclose()``."""

    def __init__(
        self,
        *,
        insecure_registries: Collection[str] = (),
        timeout: float = CHECK_TIMEOUT,
        cache: CheckCache | None = None,
        max_age: float = 0.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        registry_urls: Mapping[str, str] | None = None,
    ) -> None:
        self.insecure_registries = tuple(insecure_registries)
        self.cache = cache or CheckCache(None)
        self.max_age = max_age
        """Cached answers younger than this are used instead of asking (0: always ask, as a
        "check now" must; the cache then only remembers answers for showing at start-up)."""
        self._clock = clock
        # For tests and the demo: a registry host served from another base URL.
        self._registry_urls = {k.lower(): v.rstrip("/") for k, v in (registry_urls or {}).items()}
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            transport=transport,
            follow_redirects=True,
            headers={"User-Agent": "ollama-tui"},
        )
        self._slots: dict[str, asyncio.Semaphore] = {}
        # Pull tokens by registry and repository (a token's scope is one repository).
        self._tokens: dict[str, dict[str, str]] = {}

    async def __aenter__(self) -> RegistryChecker:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self.cache.save()
        await self._http.aclose()

    def _url(self, ref: ManifestRef) -> str:
        base = self._registry_urls.get(ref.registry)
        if base is None:
            return ref.url
        return f"{base}/v2/{ref.repository}/manifests/{ref.tag}"

    def cached(self, name: str, local_digest: str, max_age: float) -> CheckResult | None:
        """A remembered answer for the model, if one younger than ``max_age`` is cached."""
        local = normalize_digest(local_digest) or local_digest
        try:
            ref = manifest_ref(name, self.insecure_registries)
        except InvalidInput:
            return None
        return self.cache.get(CheckCache.key(ref, name, local), max_age, self._clock())

    async def check_many(self, models: Iterable[tuple[str, str]]) -> list[CheckResult]:
        """Check (name, local digest) pairs, concurrently but bounded per registry."""
        try:
            return list(await asyncio.gather(*(self.check(n, d) for n, d in models)))
        finally:
            self.cache.save()

    async def check(self, name: str, local_digest: str) -> CheckResult:
        """One model; never raises for what a registry or the network does."""
        local = normalize_digest(local_digest) or local_digest
        now = self._clock()
        try:
            ref = manifest_ref(name, self.insecure_registries)
        except InvalidInput as error:
            return CheckResult(name, Freshness.UNKNOWN, str(error), local, None, now)
        key = CheckCache.key(ref, name, local)
        cached = self.cache.get(key, self.max_age, now) if self.max_age > 0 else None
        if cached is not None:
            return cached
        slot = self._slots.setdefault(ref.registry, asyncio.Semaphore(PER_REGISTRY))
        async with slot:
            try:
                state, remote = await self._compare(ref, local)
                result = CheckResult(name, state, "", local, remote, now)
            except _Unknown as why:
                result = CheckResult(name, Freshness.UNKNOWN, str(why), local, None, now)
        self.cache.put(key, result)
        return result

    async def _compare(self, ref: ManifestRef, local: str) -> tuple[Freshness, str | None]:
        response = await self._request("HEAD", ref)
        if response.status_code == 404:
            return Freshness.LOCAL, None
        remote = normalize_digest(response.headers.get("Docker-Content-Digest", ""))
        if remote is None:
            remote = normalize_digest(response.headers.get("ETag", "").strip('"'))
        if remote == local:
            return Freshness.UP_TO_DATE, remote
        # Different, or not named: the manifest itself decides, in both forms (a model this
        # server pushed keeps a trailing newline the registry's copy does not have).
        body = await self._manifest_body(ref)
        plain = "sha256:" + hashlib.sha256(body).hexdigest()
        with_newline = "sha256:" + hashlib.sha256(body + b"\n").hexdigest()
        if local in (plain, with_newline):
            return Freshness.UP_TO_DATE, remote or plain
        return Freshness.OUTDATED, remote or plain

    async def _manifest_body(self, ref: ManifestRef) -> bytes:
        response = await self._request("GET", ref)
        if response.status_code == 404:
            raise _Unknown("the registry lists the tag but has no manifest for it")
        return response.content

    async def _request(self, method: str, ref: ManifestRef) -> httpx.Response:
        """One manifest request (with the token flow); a 200 or 404, else ``_Unknown``."""
        url = self._url(ref)
        headers = {"Accept": MANIFEST_ACCEPT}
        token = self._tokens.get(ref.registry, {}).get(ref.repository)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = await self._send(method, url, headers)
        if response.status_code == 401:
            token = await self._token(response.headers.get("WWW-Authenticate", ""), ref)
            self._tokens.setdefault(ref.registry, {})[ref.repository] = token
            headers["Authorization"] = f"Bearer {token}"
            response = await self._send(method, url, headers)
            if response.status_code == 401:
                raise _Unknown("401 after the token flow: the registry refused access")
        if response.status_code == 429:
            after = response.headers.get("Retry-After", "").strip()
            wait = f" (retry after {limits.cut(after, 20)} s)" if after.isdigit() else ""
            raise _Unknown(f"rate limited by the registry (429){wait}")
        if response.status_code not in (200, 404):
            raise _Unknown(f"the registry answered HTTP {response.status_code}")
        return response

    async def _send(self, method: str, url: str, headers: dict[str, str]) -> httpx.Response:
        limit = MAX_MANIFEST_BYTES if method == "GET" else 0
        try:
            async with self._http.stream(method, url, headers=headers) as response:
                body = bytearray()
                if method == "GET" and response.status_code == 200:
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) > limit:
                            raise _Unknown("the registry sent a manifest over 4 MB")
                return httpx.Response(
                    response.status_code, headers=response.headers, content=bytes(body)
                )
        except httpx.TimeoutException:
            raise _Unknown("timeout: the registry did not answer in time") from None
        except httpx.ConnectError as error:
            if _is_tls_error(error):
                raise _Unknown(f"TLS error: {limits.cut(str(error), 200)}") from None
            raise _Unknown(f"offline: cannot reach {httpx.URL(url).host}") from None
        except httpx.HTTPError as error:
            raise _Unknown(f"network error: {limits.cut(str(error), 200)}") from None

    async def _token(self, challenge: str, ref: ManifestRef) -> str:
        """An anonymous pull token from the challenge's realm (the distribution token flow)."""
        scheme, _, params_text = challenge.partition(" ")
        params = dict(_CHALLENGE_PARAM.findall(params_text))
        realm = params.get("realm", "")
        if scheme.lower() != "bearer" or not realm.startswith(("https://", "http://")):
            raise _Unknown("401: the registry asks for credentials the check does not have")
        query = {"service": params.get("service", "")}
        query["scope"] = params.get("scope") or f"repository:{ref.repository}:pull"
        try:
            response = await self._http.get(realm, params=query)
        except httpx.TimeoutException:
            raise _Unknown("timeout: the registry's token service did not answer") from None
        except httpx.HTTPError:
            raise _Unknown("offline: cannot reach the registry's token service") from None
        if response.status_code != 200 or len(response.content) > MAX_TOKEN_BYTES:
            raise _Unknown(f"401: the token service answered HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            data = None
        token = data.get("token") or data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token or not token.isascii():
            raise _Unknown("401: the token service sent no usable token")
        return token


def _is_tls_error(error: BaseException) -> bool:
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ssl.SSLError) or "CERTIFICATE" in str(cause).upper():
            return True
        cause = cause.__cause__ or cause.__context__
    return False
