# ruff: noqa: E501  (chat templates are verbatim data)
"""The simulated registry: pullable models with realistic layers, sizes and metadata.

Digests are deterministic: text layers hash their own content (as the real registry does),
weight layers hash a seed string, so every run of the simulator agrees with every other.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .wire import name_key

MEDIA_MODEL = "application/vnd.ollama.image.model"
MEDIA_PROJECTOR = "application/vnd.ollama.image.projector"
MEDIA_ADAPTER = "application/vnd.ollama.image.adapter"
MEDIA_TEMPLATE = "application/vnd.ollama.image.template"
MEDIA_SYSTEM = "application/vnd.ollama.image.system"
MEDIA_LICENSE = "application/vnd.ollama.image.license"
MEDIA_PARAMS = "application/vnd.ollama.image.params"
MEDIA_MESSAGES = "application/vnd.ollama.image.messages"
MEDIA_CONFIG = "application/vnd.docker.container.image.v1+json"


def sha256_hex(data: bytes | str) -> str:
    """Hex sha256 of bytes or UTF-8 text."""
    if isinstance(data, str):
        data = data.encode()
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Layer:
    """One blob of a manifest; ``digest`` is 64 hex without the ``sha256:`` prefix."""

    media_type: str
    digest: str
    size: int
    text: str | None = None  # content of small text layers

    @property
    def short(self) -> str:
        """First 12 hex digits, as in ``pulling dde5aa3fc5ff``."""
        return self.digest[:12]


def text_layer(media_type: str, text: str) -> Layer:
    """A layer whose digest is the sha256 of its content."""
    data = text.encode()
    return Layer(media_type, sha256_hex(data), len(data), text)


def params_text(params: tuple[tuple[str, Any], ...]) -> str:
    """JSON of a params layer (lists for repeated keys such as ``stop``)."""
    merged: dict[str, Any] = {}
    for key, value in params:
        if key == "stop":
            merged.setdefault("stop", []).append(value)
        else:
            merged[key] = value
    return json.dumps(merged, separators=(",", ":"))


LLAMA3_TEMPLATE = """<|start_header_id|>system<|end_header_id|>

Cutting Knowledge Date: December 2023

{{ if .System }}{{ .System }}
{{- end }}<|eot_id|>
{{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 }}
<|start_header_id|>{{ .Role }}<|end_header_id|>

{{ .Content }}{{ if $last }}<|eot_id|><|start_header_id|>assistant<|end_header_id|>

{{ end }}
{{- end }}"""

CHATML_TEMPLATE = """{{- if .System }}<|im_start|>system
{{ .System }}<|im_end|>
{{ end }}
{{- range .Messages }}<|im_start|>{{ .Role }}
{{ .Content }}<|im_end|>
{{ end }}<|im_start|>assistant
"""

GEMMA_TEMPLATE = """{{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 }}
{{- if or (eq .Role "user") (eq .Role "system") }}<start_of_turn>user
{{ .Content }}<end_of_turn>
{{ if $last }}<start_of_turn>model
{{ end }}
{{- else if eq .Role "assistant" }}<start_of_turn>model
{{ .Content }}{{ if not $last }}<end_of_turn>
{{ end }}
{{- end }}
{{- end }}"""

MISTRAL_TEMPLATE = """{{- range $index, $_ := .Messages }}
{{- if eq .Role "user" }}[INST] {{ if and $.System (eq (len (slice $.Messages $index)) 1) }}{{ $.System }}

{{ end }}{{ .Content }}[/INST]
{{- else if eq .Role "assistant" }} {{ .Content }}</s>
{{- end }}
{{- end }}"""

DEEPSEEK_TEMPLATE = """{{- if .System }}{{ .System }}{{ end }}
{{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1}}
{{- if eq .Role "user" }}<｜User｜>{{ .Content }}
{{- else if eq .Role "assistant" }}<｜Assistant｜>{{ .Content }}{{- if not $last }}<｜end▁of▁sentence｜>{{- end }}
{{- end }}
{{- if and $last (ne .Role "assistant") }}<｜Assistant｜><think>
{{ end }}
{{- end }}"""

PHI3_TEMPLATE = """{{ if .System }}<|system|>
{{ .System }}<|end|>
{{ end }}{{ if .Prompt }}<|user|>
{{ .Prompt }}<|end|>
{{ end }}<|assistant|>
{{ .Response }}<|end|>"""

LLAMA_LICENSE = """LLAMA 3.2 COMMUNITY LICENSE AGREEMENT
Llama 3.2 Version Release Date: September 25, 2024

"Agreement" means the terms and conditions for use, reproduction, distribution
and modification of the Llama Materials set forth herein.
"""
LLAMA_AUP = """**Llama 3.2** **Acceptable Use Policy**

Meta is committed to promoting safe and fair use of its tools and features,
including Llama 3.2.
"""
APACHE_LICENSE = """
                                 Apache License
                           Version 2.0, January 2004
                        http://www.apache.org/licenses/

   TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION
"""
MIT_LICENSE = """MIT License

Copyright (c) 2023 DeepSeek

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software").
"""
GEMMA_LICENSE = """Gemma Terms of Use

Last modified: March 24, 2025

By using, reproducing, modifying, distributing, performing or displaying any portion or
element of Gemma, Model Derivatives including via any Hosted Service, you agree.
"""


@dataclass(frozen=True)
class CatalogueEntry:
    """A pullable model: manifest layers plus the metadata the server derives from them."""

    name: str
    family: str
    parameter_size: str
    quantization_level: str
    parameter_count: int
    context_length: int
    embedding_length: int
    weights_size: int
    capabilities: tuple[str, ...] = ("completion",)
    families: tuple[str, ...] | None = None
    template: str | None = None
    system: str | None = None
    license: tuple[str, ...] = ()
    parameters: tuple[tuple[str, Any], ...] = ()
    gpu_fraction: float = 1.0  # share of the loaded size that sits in VRAM
    block_count: int = 28
    weights_digest: str | None = None
    projector_size: int = 0
    format: str = "gguf"
    extra_model_info: Mapping[str, Any] = field(default_factory=dict)

    @property
    def architecture(self) -> str:
        """GGUF ``general.architecture``."""
        return self.family

    def layers(self) -> tuple[Layer, ...]:
        """Manifest layers in registry order (weights first; config not included)."""
        return self._layers

    @cached_property
    def _layers(self) -> tuple[Layer, ...]:
        weights = self.weights_digest or sha256_hex(f"ollama-sim weights {self.name}")
        out = [Layer(MEDIA_MODEL, weights, self.weights_size)]
        if self.projector_size:
            out.append(
                Layer(
                    MEDIA_PROJECTOR,
                    sha256_hex(f"ollama-sim projector {self.name}"),
                    self.projector_size,
                )
            )
        if self.template is not None:
            out.append(text_layer(MEDIA_TEMPLATE, self.template))
        if self.system is not None:
            out.append(text_layer(MEDIA_SYSTEM, self.system))
        out.extend(text_layer(MEDIA_LICENSE, text) for text in self.license)
        if self.parameters:
            out.append(text_layer(MEDIA_PARAMS, params_text(self.parameters)))
        return tuple(out)

    def config_layer(self) -> Layer:
        """The config blob (pulled last)."""
        return self._config_layer

    @cached_property
    def _config_layer(self) -> Layer:
        config = {
            "model_format": self.format,
            "model_family": self.family,
            "model_families": list(self.families) if self.families else None,
            "model_type": self.parameter_size,
            "file_type": self.quantization_level,
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {
                "type": "layers",
                "diff_ids": [f"sha256:{la.digest}" for la in self.layers()],
            },
        }
        return text_layer(MEDIA_CONFIG, json.dumps(config, separators=(",", ":")))

    def model_info(self) -> dict[str, Any]:
        """``model_info`` keys of /api/show (GGUF metadata)."""
        return dict(self._model_info)

    @cached_property
    def _model_info(self) -> dict[str, Any]:
        arch = self.architecture
        info: dict[str, Any] = {
            "general.architecture": arch,
            "general.basename": self.name.split(":")[0].split("/")[-1],
            "general.file_type": 15,
            "general.parameter_count": self.parameter_count,
            "general.quantization_version": 2,
            f"{arch}.block_count": self.block_count,
            f"{arch}.context_length": self.context_length,
            f"{arch}.embedding_length": self.embedding_length,
            f"{arch}.attention.head_count": max(1, self.embedding_length // 128),
            "tokenizer.ggml.model": "gpt2",
        }
        info.update(self.extra_model_info)
        return info


_LLAMA_STOPS = (
    ("stop", "<|start_header_id|>"),
    ("stop", "<|end_header_id|>"),
    ("stop", "<|eot_id|>"),
)
_CHATML_STOPS = (("stop", "<|im_start|>"), ("stop", "<|im_end|>"))

_ENTRIES: tuple[CatalogueEntry, ...] = (
    CatalogueEntry(
        name="llama3.2:3b",
        family="llama",
        families=("llama",),
        parameter_size="3.2B",
        quantization_level="Q4_K_M",
        parameter_count=3212749888,
        context_length=131072,
        embedding_length=3072,
        weights_size=2019377376,
        weights_digest="dde5aa3fc5ffc17176b5e8bdc82f587b24b2678c6c66101bf7da77af9f7ccdff",
        capabilities=("completion", "tools"),
        template=LLAMA3_TEMPLATE,
        license=(LLAMA_LICENSE, LLAMA_AUP),
        parameters=_LLAMA_STOPS,
        gpu_fraction=1.0,
    ),
    CatalogueEntry(
        name="llama3.2:1b",
        family="llama",
        families=("llama",),
        parameter_size="1.2B",
        quantization_level="Q8_0",
        parameter_count=1235814432,
        context_length=131072,
        embedding_length=2048,
        weights_size=1321082688,
        block_count=16,
        capabilities=("completion", "tools"),
        template=LLAMA3_TEMPLATE,
        license=(LLAMA_LICENSE, LLAMA_AUP),
        parameters=_LLAMA_STOPS,
    ),
    CatalogueEntry(
        name="qwen2.5:0.5b",
        family="qwen2",
        families=("qwen2",),
        parameter_size="494.03M",
        quantization_level="Q4_K_M",
        parameter_count=494032768,
        context_length=32768,
        embedding_length=896,
        weights_size=397807936,
        block_count=24,
        capabilities=("completion", "tools", "insert"),
        template=CHATML_TEMPLATE,
        system="You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
        license=(APACHE_LICENSE,),
        parameters=_CHATML_STOPS,
        gpu_fraction=0.0,
    ),
    CatalogueEntry(
        name="qwen2.5:7b",
        family="qwen2",
        families=("qwen2",),
        parameter_size="7.6B",
        quantization_level="Q4_K_M",
        parameter_count=7615616512,
        context_length=32768,
        embedding_length=3584,
        weights_size=4683073184,
        capabilities=("completion", "tools", "insert"),
        template=CHATML_TEMPLATE,
        system="You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
        license=(APACHE_LICENSE,),
        parameters=_CHATML_STOPS,
        gpu_fraction=0.52,
    ),
    CatalogueEntry(
        name="nomic-embed-text:latest",
        family="nomic-bert",
        families=("nomic-bert",),
        parameter_size="137M",
        quantization_level="F16",
        parameter_count=136727040,
        context_length=2048,
        embedding_length=768,
        weights_size=274290656,
        block_count=12,
        capabilities=("embedding",),
        license=(APACHE_LICENSE,),
        parameters=(("num_ctx", 8192),),
    ),
    CatalogueEntry(
        name="all-minilm:latest",
        family="bert",
        families=("bert",),
        parameter_size="23M",
        quantization_level="F16",
        parameter_count=22565760,
        context_length=512,
        embedding_length=384,
        weights_size=45949216,
        block_count=6,
        capabilities=("embedding",),
        license=(APACHE_LICENSE,),
        gpu_fraction=0.0,
    ),
    CatalogueEntry(
        name="deepseek-r1:1.5b",
        family="qwen2",
        families=("qwen2",),
        parameter_size="1.8B",
        quantization_level="Q4_K_M",
        parameter_count=1777088000,
        context_length=131072,
        embedding_length=1536,
        weights_size=1117320736,
        capabilities=("completion", "thinking"),
        template=DEEPSEEK_TEMPLATE,
        license=(MIT_LICENSE,),
        parameters=(
            ("stop", "<｜begin▁of▁sentence｜>"),
            ("stop", "<｜end▁of▁sentence｜>"),
            ("stop", "<｜User｜>"),
            ("stop", "<｜Assistant｜>"),
        ),
    ),
    CatalogueEntry(
        name="gemma3:1b",
        family="gemma3",
        families=("gemma3",),
        parameter_size="999.89M",
        quantization_level="Q4_K_M",
        parameter_count=999885952,
        context_length=32768,
        embedding_length=1152,
        weights_size=815310432,
        block_count=26,
        capabilities=("completion",),
        template=GEMMA_TEMPLATE,
        license=(GEMMA_LICENSE,),
        parameters=(("stop", "<end_of_turn>"), ("temperature", 1), ("top_k", 64), ("top_p", 0.95)),
    ),
    CatalogueEntry(
        name="gemma3:4b",
        family="gemma3",
        families=("gemma3",),
        parameter_size="4.3B",
        quantization_level="Q4_K_M",
        parameter_count=4299915632,
        context_length=131072,
        embedding_length=2560,
        weights_size=3338792448,
        projector_size=0,
        block_count=34,
        capabilities=("completion", "vision"),
        template=GEMMA_TEMPLATE,
        license=(GEMMA_LICENSE,),
        parameters=(("stop", "<end_of_turn>"), ("temperature", 1), ("top_k", 64), ("top_p", 0.95)),
        gpu_fraction=0.71,
    ),
    CatalogueEntry(
        name="mistral:7b",
        family="llama",
        families=("llama",),
        parameter_size="7.2B",
        quantization_level="Q4_0",
        parameter_count=7248023552,
        context_length=32768,
        embedding_length=4096,
        weights_size=4113289312,
        block_count=32,
        capabilities=("completion", "tools"),
        template=MISTRAL_TEMPLATE,
        license=(APACHE_LICENSE,),
        parameters=(("stop", "[INST]"), ("stop", "[/INST]")),
        gpu_fraction=0.48,
    ),
    CatalogueEntry(
        name="phi3:mini",
        family="phi3",
        families=("phi3",),
        parameter_size="3.8B",
        quantization_level="Q4_0",
        parameter_count=3821079552,
        context_length=131072,
        embedding_length=3072,
        weights_size=2176177120,
        block_count=32,
        capabilities=("completion",),
        template=PHI3_TEMPLATE,
        license=(MIT_LICENSE,),
        parameters=(("stop", "<|end|>"), ("stop", "<|user|>"), ("stop", "<|assistant|>")),
    ),
    CatalogueEntry(
        name="llava:7b",
        family="llama",
        families=("llama", "clip"),
        parameter_size="7B",
        quantization_level="Q4_0",
        parameter_count=7241732096,
        context_length=32768,
        embedding_length=4096,
        weights_size=4108916384,
        projector_size=624434368,
        block_count=32,
        capabilities=("completion", "vision"),
        template="[INST] {{ if .System }}{{ .System }} {{ end }}{{ .Prompt }} [/INST]",
        license=(APACHE_LICENSE,),
        parameters=(("stop", "[INST]"), ("stop", "[/INST]")),
        gpu_fraction=0.3,
    ),
    CatalogueEntry(
        name="qwen3:0.6b",
        family="qwen3",
        families=("qwen3",),
        parameter_size="751.63M",
        quantization_level="Q4_K_M",
        parameter_count=751632384,
        context_length=40960,
        embedding_length=1024,
        weights_size=522653632,
        capabilities=("completion", "tools", "thinking"),
        template=CHATML_TEMPLATE,
        license=(APACHE_LICENSE,),
        parameters=(
            ("repeat_penalty", 1),
            ("stop", "<|im_start|>"),
            ("stop", "<|im_end|>"),
            ("temperature", 0.6),
            ("top_k", 20),
            ("top_p", 0.95),
        ),
    ),
    CatalogueEntry(
        name="smollm2:135m",
        family="llama",
        families=("llama",),
        parameter_size="134.52M",
        quantization_level="F16",
        parameter_count=134515008,
        context_length=8192,
        embedding_length=576,
        weights_size=270898080,
        block_count=30,
        capabilities=("completion", "tools"),
        template=CHATML_TEMPLATE,
        license=(APACHE_LICENSE,),
        parameters=_CHATML_STOPS,
    ),
    CatalogueEntry(
        name="hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M",
        family="llama",
        families=("llama",),
        parameter_size="1.2B",
        quantization_level="Q4_K_M",
        parameter_count=1235814432,
        context_length=131072,
        embedding_length=2048,
        weights_size=807694464,
        block_count=16,
        capabilities=("completion", "tools"),
        template=LLAMA3_TEMPLATE,
        parameters=(("stop", "<|eot_id|>"),),
    ),
)

# Alias tags that point at the same manifest as another entry.
_ALIASES = {
    "llama3.2:latest": "llama3.2:3b",
    "qwen2.5:latest": "qwen2.5:7b",
    "nomic-embed-text:v1.5": "nomic-embed-text:latest",
    "all-minilm:22m": "all-minilm:latest",
    "gemma3:latest": "gemma3:4b",
    "mistral:latest": "mistral:7b",
    "phi3:latest": "phi3:mini",
    "llava:latest": "llava:7b",
    "qwen3:latest": "qwen3:0.6b",
    "smollm2:latest": "smollm2:135m",
}


class Catalogue:
    """Lookup of pullable models by (case-insensitive) name, aliases included."""

    def __init__(self, entries: tuple[CatalogueEntry, ...] = _ENTRIES) -> None:
        self._by_key: dict[str, CatalogueEntry] = {name_key(e.name): e for e in entries}
        for alias, target in _ALIASES.items():
            entry = self._by_key.get(name_key(target))
            if entry is not None:
                self._by_key[name_key(alias)] = entry
        self.entries = entries

    def get(self, name: str) -> CatalogueEntry | None:
        """The entry a name pulls, or None."""
        return self._by_key.get(name_key(name))

    def add(self, entry: CatalogueEntry, *aliases: str) -> None:
        """Register another pullable entry (e.g. for a prepared benchmark stream)."""
        self._by_key[name_key(entry.name)] = entry
        for alias in aliases:
            self._by_key[name_key(alias)] = entry

    def replace(self, old: CatalogueEntry, new: CatalogueEntry) -> None:
        """Put ``new`` wherever ``old`` was (its name and aliases): a change upstream."""
        for key, entry in list(self._by_key.items()):
            if entry is old:
                self._by_key[key] = new
        self.entries = tuple(new if entry is old else entry for entry in self.entries)

    @property
    def names(self) -> list[str]:
        """Every pullable name, aliases included."""
        return sorted({e.name for e in self.entries} | set(_ALIASES))


def default_catalogue() -> Catalogue:
    """A fresh catalogue of the built-in entries."""
    return Catalogue()
