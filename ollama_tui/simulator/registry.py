"""A small OCI distribution registry (the part a pull and an "is it outdated?" check use).

It serves ``HEAD``/``GET /v2/<namespace>/<model>/manifests/<tag>`` with ``Docker-Content-Digest``
(the sha256 of the manifest bytes, as a real registry does), ``HEAD``/``GET .../blobs/<digest>``,
and on demand the anonymous token flow (``401`` + ``WWW-Authenticate: Bearer``) and rate limits
(``429``). Tests change what a tag points at with :meth:`OciRegistry.publish` ("changed
upstream").
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

__all__ = ["MANIFEST_MEDIA_TYPE", "OciRegistry", "manifest_bytes"]

MANIFEST_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_MEDIA_TYPE = "application/vnd.docker.container.image.v1+json"
SERVICE = "ollama-sim-registry"


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def manifest_bytes(config: bytes, layers: list[tuple[str, bytes]]) -> bytes:
    """The manifest of a config blob and ``(media type, content)`` layers, compact JSON with no
    trailing newline (what a registry stores for a pushed model)."""
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": {"mediaType": CONFIG_MEDIA_TYPE, "digest": _sha(config), "size": len(config)},
        "layers": [
            {"mediaType": media, "digest": _sha(data), "size": len(data)} for media, data in layers
        ],
    }
    return json.dumps(manifest, separators=(",", ":")).encode()


@dataclass
class OciRegistry:
    """An in-memory registry on a loopback port (``await start()``, ``await stop()``)."""

    require_token: bool = False
    """Answer 401 with a Bearer challenge unless the request carries a token from ``/token``."""
    refuse_tokens: bool = False
    """Hand out tokens that are never accepted (a 401 after the token flow)."""
    rate_limited: int = 0
    """Answer this many of the next manifest requests with 429."""
    manifests: dict[tuple[str, str], dict[str, bytes]] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)
    lookup: Callable[[str, str], bytes | None] | None = None
    """Manifests not stored here: (repository, tag) -> manifest bytes (the simulator's
    catalogue)."""
    requests: list[tuple[str, str]] = field(default_factory=list)
    """(method, path) of every request, in order."""
    url: str = ""
    _tokens: set[str] = field(default_factory=set)
    _runner: web.AppRunner | None = None

    # -- content ---------------------------------------------------------------------------

    def publish(self, repository: str, tag: str, *, weights: bytes, system: str = "") -> str:
        """Put a model under ``repository`` (``namespace/model``) and ``tag``; returns the
        manifest digest. Publishing other content under the same tag is a change upstream."""
        config = json.dumps({"model_format": "gguf", "system": system}).encode()
        layers = [("application/vnd.ollama.image.model", weights)]
        if system:
            layers.append(("application/vnd.ollama.image.system", system.encode()))
        for data in (config, *(content for _, content in layers)):
            self.blobs[_sha(data)] = data
        return self.put_manifest(repository, tag, manifest_bytes(config, layers))

    def put_manifest(self, repository: str, tag: str, body: bytes) -> str:
        namespace, _, model = repository.partition("/")
        self.manifests.setdefault((namespace, model), {})[tag] = body
        return _sha(body)

    # -- serving ---------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on its own port (the simulator serves it on the Ollama port instead)."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.url = f"http://{host}:{sockets[0].getsockname()[1]}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> OciRegistry:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Any registry request: ``/v2/``, ``/v2/token``, manifests and blobs."""
        path = request.path
        if path == "/v2/token":
            return await self._token(request)
        if path in ("/v2", "/v2/"):
            return await self._base(request)
        parts = path.removeprefix("/v2/").split("/")
        # <namespace>/<model>/(manifests|blobs)/<reference>
        if len(parts) == 4 and parts[2] in ("manifests", "blobs") and all(parts):
            namespace, model, kind, reference = parts
            if kind == "manifests":
                return await self._manifest(request, namespace, model, reference)
            return await self._blob(request, namespace, model, reference)
        self.requests.append((request.method, path))
        return web.json_response({"errors": [{"code": "NAME_UNKNOWN"}]}, status=404)

    def _challenge(self, scope: str) -> web.Response:
        realm = f"{self.url}/v2/token"
        return web.json_response(
            {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
            status=401,
            headers={
                "WWW-Authenticate": f'Bearer realm="{realm}",service="{SERVICE}",scope="{scope}"'
            },
        )

    def _authorized(self, request: web.Request) -> bool:
        if not self.require_token:
            return True
        header = request.headers.get("Authorization", "")
        return header.startswith("Bearer ") and header[7:] in self._tokens

    async def _token(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path_qs))
        if request.query.get("service") != SERVICE:
            return web.json_response({"errors": [{"code": "DENIED"}]}, status=400)
        token = secrets.token_hex(16)
        if not self.refuse_tokens:
            self._tokens.add(token)
        return web.json_response({"token": token, "expires_in": 300})

    async def _base(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if not self._authorized(request):
            return self._challenge("")
        return web.json_response({})

    async def _manifest(
        self, request: web.Request, namespace: str, model: str, reference: str
    ) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        repository = f"{namespace}/{model}"
        if self.rate_limited > 0:
            self.rate_limited -= 1
            return web.json_response(
                {"errors": [{"code": "TOOMANYREQUESTS", "message": "slow down"}]},
                status=429,
                headers={"Retry-After": "30"},
            )
        if not self._authorized(request):
            return self._challenge(f"repository:{repository}:pull")
        if request.method not in ("GET", "HEAD"):
            return web.Response(status=405)
        tags = self.manifests.get((namespace, model), {})
        body = tags.get(reference)
        if body is None and reference.startswith("sha256:"):
            body = next((b for b in tags.values() if _sha(b) == reference), None)
        if body is None and self.lookup is not None:
            body = self.lookup(repository, reference)
        if body is None:
            return web.json_response(
                {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]},
                status=404,
            )
        digest = _sha(body)
        headers = {"Docker-Content-Digest": digest, "ETag": f'"{digest}"'}
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(body))
            headers["Content-Type"] = MANIFEST_MEDIA_TYPE
            return web.Response(status=200, headers=headers)
        return web.Response(body=body, content_type=MANIFEST_MEDIA_TYPE, headers=headers)

    async def _blob(
        self, request: web.Request, namespace: str, model: str, digest: str
    ) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if not self._authorized(request):
            return self._challenge(f"repository:{namespace}/{model}:pull")
        data = self.blobs.get(digest)
        if data is None:
            return web.json_response({"errors": [{"code": "BLOB_UNKNOWN"}]}, status=404)
        headers = {"Docker-Content-Digest": _sha(data)}
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(data))
            return web.Response(status=200, headers=headers)
        return web.Response(body=data, headers=headers, content_type="application/octet-stream")
