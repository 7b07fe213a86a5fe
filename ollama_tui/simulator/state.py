"""In-memory server state: local models, running instances, blobs."""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from .catalogue import (
    MEDIA_ADAPTER,
    MEDIA_CONFIG,
    MEDIA_MODEL,
    MEDIA_PROJECTOR,
    CatalogueEntry,
    Layer,
    sha256_hex,
)
from .wire import format_time, go_json, go_value

BLOBS_DIR = "/root/.ollama/models/blobs"
MANIFEST_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


def manifest_bytes(layers: tuple[Layer, ...]) -> bytes:
    """The manifest of ``layers`` (the config layer among them) as a registry serves it:
    compact JSON, no trailing newline. Its sha256 is the model's digest (§18)."""
    config = next((la for la in layers if la.media_type == MEDIA_CONFIG), None)
    manifest: dict[str, Any] = {"schemaVersion": 2, "mediaType": MANIFEST_MEDIA_TYPE}
    if config is not None:
        manifest["config"] = {
            "mediaType": config.media_type,
            "digest": f"sha256:{config.digest}",
            "size": config.size,
        }
    manifest["layers"] = [
        {"mediaType": la.media_type, "digest": f"sha256:{la.digest}", "size": la.size}
        for la in layers
        if la is not config
    ]
    return json.dumps(manifest, separators=(",", ":")).encode()


MANIFESTS_DIR = "/root/.ollama/models/manifests"


def human_number(n: int) -> str:
    """Go's format.HumanNumber (``3.2B``, ``494.03M``, ``137M``)."""
    for unit, scale, fmt in (("B", 1e9, "{:.1f}"), ("M", 1e6, "{:.2f}"), ("K", 1e3, "{:.1f}")):
        if n >= scale:
            value = n / scale
            if value == int(value):
                return f"{int(value)}{unit}"
            return fmt.format(value) + unit
    return str(n)


@dataclass(frozen=True)
class BlobInfo:
    """A stored blob: size, whether it starts with the GGUF magic, parsed GGUF metadata."""

    size: int
    gguf: bool = False
    meta: Mapping[str, Any] = field(default_factory=dict)
    parameter_count: int = 0


@dataclass(frozen=True)
class SeedModel:
    """A model a simulated server starts with (see ``Simulator(seeds=...)``).

    ``entry`` names the catalogue model it was pulled from, ``name`` is the local name,
    ``age`` how long ago it was modified. ``diverged`` gives it other weights than the
    catalogue's (a copy pulled before the tag moved), so its digest differs from the same
    model on another server. ``loaded`` starts it in memory.
    """

    entry: str
    name: str
    age: timedelta = timedelta(days=1)
    diverged: bool = False
    loaded: bool = False


@dataclass(frozen=True)
class ModelRecord:
    """A local model as the server knows it (manifest + config)."""

    name: str
    modified_at: datetime
    layers: tuple[Layer, ...]
    family: str = "llama"
    families: tuple[str, ...] | None = None
    format: str = "gguf"
    parameter_size: str = ""
    quantization_level: str = ""
    parent_model: str = ""
    capabilities: tuple[str, ...] = ("completion",)
    context_length: int = 0
    embedding_length: int = 0
    template: str | None = None
    system: str | None = None
    license: tuple[str, ...] = ()
    parameters: tuple[tuple[str, Any], ...] = ()
    messages: tuple[Mapping[str, Any], ...] = ()
    model_info: Mapping[str, Any] = field(default_factory=dict)
    remote_model: str | None = None
    remote_host: str | None = None
    gpu_fraction: float = 1.0
    size_override: int | None = None
    digest_override: str | None = None
    written_here: bool = False
    """The server wrote this manifest itself (a create): it ends with a newline that the
    registry's copy of a pulled manifest does not have, so its digest differs (§18)."""
    details_override: Mapping[str, Any] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """Bytes on disk: all layers, config blob included."""
        if self.size_override is not None:
            return self.size_override
        return sum(la.size for la in self.layers)

    @cached_property
    def digest(self) -> str:
        """Manifest digest (64 hex, no prefix)."""
        if self.digest_override is not None:
            return self.digest_override
        return sha256_hex(manifest_bytes(self.layers) + (b"\n" if self.written_here else b""))

    @property
    def weights(self) -> Layer | None:
        """The model weights layer, if any."""
        for layer in self.layers:
            if layer.media_type == MEDIA_MODEL:
                return layer
        return None

    @property
    def runner_key(self) -> str:
        """Runners are keyed by the weights file (models sharing weights share a runner)."""
        weights = self.weights
        return weights.digest if weights else self.digest

    @property
    def weights_size(self) -> int:
        """Bytes of weights (+ projector/adapter) that a runner loads."""
        media = (MEDIA_MODEL, MEDIA_PROJECTOR, MEDIA_ADAPTER)
        return sum(la.size for la in self.layers if la.media_type in media) or self.size

    @property
    def architecture(self) -> str:
        """``general.architecture`` (falls back on the family)."""
        arch = self.model_info.get("general.architecture")
        return arch if isinstance(arch, str) and arch else self.family

    @property
    def block_count(self) -> int:
        """Transformer layers (for the KV-cache estimate)."""
        value = self.model_info.get(f"{self.architecture}.block_count")
        return value if isinstance(value, int) and value > 0 else 24

    @property
    def is_remote(self) -> bool:
        """A cloud/remote stub."""
        return bool(self.remote_host)

    def details(self, *, with_parent: bool = False, new_fields: bool = False) -> dict[str, Any]:
        """The ``details`` object (tags / ps / show); ``/api/ps`` always says no parent."""
        out: dict[str, Any] = {
            "parent_model": self.parent_model if with_parent else "",
            "format": self.format,
            "family": self.family,
            "families": list(self.families) if self.families is not None else None,
            "parameter_size": self.parameter_size,
            "quantization_level": self.quantization_level,
        }
        if new_fields:
            if self.context_length:
                out["context_length"] = self.context_length
            if self.embedding_length:
                out["embedding_length"] = self.embedding_length
        out.update(self.details_override)
        return out

    def tags_item(self, *, new_fields: bool) -> dict[str, Any]:
        """One entry of /api/tags."""
        item: dict[str, Any] = {
            "name": self.name,
            "model": self.name,
            "modified_at": format_time(self.modified_at),
            "size": self.size,
            "digest": self.digest,
            # A created model names its base here too (§18, seen on a real 0.33 server).
            "details": self.details(with_parent=True, new_fields=new_fields),
        }
        if self.remote_model:
            item["remote_model"] = self.remote_model
        if self.remote_host:
            item["remote_host"] = self.remote_host
        if new_fields and self.capabilities:
            item["capabilities"] = list(self.capabilities)
        item.update(self.extra)
        return item

    @cached_property
    def tags_json(self) -> bytes:
        """Serialized /api/tags item (cached: records are immutable)."""
        return go_json(self.tags_item(new_fields=False))

    @cached_property
    def tags_json_new(self) -> bytes:
        """Serialized /api/tags item with the >= 0.30 fields."""
        return go_json(self.tags_item(new_fields=True))

    def parameters_dict(self) -> dict[str, Any]:
        """Parameters as the config JSON holds them (``stop`` as a list)."""
        out: dict[str, Any] = {}
        for key, value in self.parameters:
            if key == "stop":
                out.setdefault("stop", []).append(value)
            else:
                out[key] = value
        return out

    def parameters_text(self) -> str:
        """The show ``parameters`` block: key padded to 30 columns, then a Go literal."""
        lines: list[str] = []
        for key, value in sorted(self.parameters_dict().items()):
            values = value if isinstance(value, list) else [value]
            lines.extend(f"{key:<30} {go_value(v)}" for v in values)
        return "\n".join(lines)

    def modelfile(self) -> str:
        """The generated Modelfile text of /api/show."""
        lines = [
            '# Modelfile generated by "ollama show"',
            "# To build a new Modelfile based on this, replace FROM with:",
            f"# FROM {self.name}",
            "",
        ]
        weights = self.weights
        if self.is_remote:
            lines.append(f"FROM {self.remote_model or self.name}")
        elif weights is not None:
            lines.append(f"FROM {BLOBS_DIR}/sha256-{weights.digest}")
        else:
            lines.append(f"FROM {self.name}")
        for layer in self.layers:
            if layer.media_type == MEDIA_ADAPTER:
                lines.append(f"ADAPTER {BLOBS_DIR}/sha256-{layer.digest}")
        if self.template is not None:
            lines.append("TEMPLATE " + _mf_quote(self.template))
        if self.system is not None:
            lines.append("SYSTEM " + _mf_quote(self.system))
        for key, value in sorted(self.parameters_dict().items()):
            values = value if isinstance(value, list) else [value]
            lines.extend(f"PARAMETER {key} {_mf_quote(_go_v(v))}" for v in values)
        lines.extend("LICENSE " + _mf_quote(text) for text in self.license)
        for msg in self.messages:
            lines.append(f"MESSAGE {msg.get('role', '')} {_mf_quote(str(msg.get('content', '')))}")
        return "\n".join(lines) + "\n"


def _go_v(value: Any) -> str:
    """Go's ``%v`` for a parameter value."""
    if isinstance(value, str):
        return value
    return go_value(value)


def _mf_quote(text: str) -> str:
    """parser.quote: triple/double quotes only when the value needs them."""
    if "\n" in text or text.startswith(" ") or text.endswith(" "):
        if '"' in text:
            return '"""' + text + '"""'
        return '"' + text + '"'
    return text


def record_from_entry(entry: CatalogueEntry, name: str, modified_at: datetime) -> ModelRecord:
    """The local model a pull of ``entry`` leaves behind."""
    return ModelRecord(
        name=name,
        modified_at=modified_at,
        layers=(*entry.layers(), entry.config_layer()),
        family=entry.family,
        families=entry.families,
        format=entry.format,
        parameter_size=entry.parameter_size,
        quantization_level=entry.quantization_level,
        capabilities=entry.capabilities,
        context_length=entry.context_length,
        embedding_length=entry.embedding_length,
        template=entry.template,
        system=entry.system,
        license=entry.license,
        parameters=entry.parameters,
        model_info=entry.model_info(),
        gpu_fraction=entry.gpu_fraction,
    )


@dataclass
class Runner:
    """A loaded model instance (one per weights file)."""

    name: str
    record: ModelRecord
    size: int
    size_vram: int
    context_length: int
    expires_wall: float  # time.time() when it idles out
    gone_wall: float  # time.time() when it disappears from /api/ps
    expires_at: datetime

    def ps_item(self, *, with_context: bool) -> dict[str, Any]:
        """One entry of /api/ps."""
        item: dict[str, Any] = {
            "name": self.name,
            "model": self.name,
            "size": self.size,
            "digest": self.record.digest,
            "details": self.record.details(),
            "expires_at": format_time(self.expires_at),
            "size_vram": self.size_vram,
        }
        if with_context:
            item["context_length"] = self.context_length
        return item


# --- GGUF header reading (only what the server needs: magic, metadata, tensor shapes) ----

_SCALARS: dict[int, tuple[str, int]] = {
    0: ("<B", 1),
    1: ("<b", 1),
    2: ("<H", 2),
    3: ("<h", 2),
    4: ("<I", 4),
    5: ("<i", 4),
    6: ("<f", 4),
    7: ("<?", 1),
    10: ("<Q", 8),
    11: ("<q", 8),
    12: ("<d", 8),
}


class _Truncated(Exception):
    pass


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise _Truncated
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str, size: int) -> Any:
        return struct.unpack(fmt, self.take(size))[0]

    def string(self) -> str:
        length = self.unpack("<Q", 8)
        return self.take(length).decode("utf-8", "replace")

    def value(self, vtype: int) -> Any:
        if vtype in _SCALARS:
            fmt, size = _SCALARS[vtype]
            return self.unpack(fmt, size)
        if vtype == 8:
            return self.string()
        if vtype == 9:
            item_type = self.unpack("<I", 4)
            count = self.unpack("<Q", 8)
            items = [self.value(item_type) for _ in range(count)]
            return items
        raise _Truncated


def parse_gguf_head(head: bytes) -> tuple[dict[str, Any], int]:
    """Metadata and parameter count from the start of a GGUF file (tolerates truncation)."""
    meta: dict[str, Any] = {}
    params = 0
    reader = _Reader(head)
    try:
        if reader.take(4) != b"GGUF":
            return meta, 0
        version = reader.unpack("<I", 4)
        if version == 1:
            tensors = reader.unpack("<I", 4)
            kv_count = reader.unpack("<I", 4)
        else:
            tensors = reader.unpack("<Q", 8)
            kv_count = reader.unpack("<Q", 8)
        for _ in range(kv_count):
            key = reader.string()
            meta[key] = reader.value(reader.unpack("<I", 4))
        for _ in range(tensors):
            reader.string()
            dims = [reader.unpack("<Q", 8) for _ in range(reader.unpack("<I", 4))]
            reader.unpack("<I", 4)
            reader.unpack("<Q", 8)
            count = 1
            for d in dims:
                count *= d
            params += count
    except (_Truncated, struct.error, ValueError):
        pass
    return meta, params


FILE_TYPES = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    32: "BF16",
}


def gguf_model_info(meta: Mapping[str, Any], parameter_count: int) -> dict[str, Any]:
    """``model_info`` from GGUF metadata: scalars kept, arrays summarised."""
    info: dict[str, Any] = {}
    for key, value in meta.items():
        if isinstance(value, list):
            info[key] = value if len(value) <= 5 else None
        elif key != "tokenizer.chat_template":
            info[key] = value
    if parameter_count:
        info["general.parameter_count"] = parameter_count
    return info


def json_compact(value: Any) -> str:
    """Compact JSON text."""
    return json.dumps(value, separators=(",", ":"))
