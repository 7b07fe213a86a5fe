"""Async client for the Ollama HTTP API (no UI imports here)."""

from __future__ import annotations

from ollama_tui.api.client import ModelList, OllamaClient
from ollama_tui.api.errors import (
    ApiError,
    ConnectionLost,
    InvalidInput,
    ModelNotFound,
    OllamaError,
    ProtocolError,
    ServerUnreachable,
    StreamError,
)
from ollama_tui.api.hosts import DEFAULT_HOST, resolve_host
from ollama_tui.api.models import (
    EmbedStats,
    GenerateStats,
    LocalModel,
    ModelDetails,
    ModelShow,
    ProgressEvent,
    RunningModel,
    parse_time,
)
from ollama_tui.api.names import (
    ModelName,
    names_equal,
    normalize_model_name,
    parse_model_name,
    validate_model_name,
)

__all__ = [
    "DEFAULT_HOST",
    "ApiError",
    "ConnectionLost",
    "EmbedStats",
    "GenerateStats",
    "InvalidInput",
    "LocalModel",
    "ModelDetails",
    "ModelList",
    "ModelName",
    "ModelNotFound",
    "ModelShow",
    "OllamaClient",
    "OllamaError",
    "ProgressEvent",
    "ProtocolError",
    "RunningModel",
    "ServerUnreachable",
    "StreamError",
    "names_equal",
    "normalize_model_name",
    "parse_model_name",
    "parse_time",
    "resolve_host",
    "validate_model_name",
]
