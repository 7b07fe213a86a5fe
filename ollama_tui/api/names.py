"""Model names as the server parses them (``types/model/name.go``), checked before sending."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ollama_tui.api.errors import InvalidInput
from ollama_tui.api.limits import NAME_CACHE_SIZE

DEFAULT_HOST = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"

_ALNUM_ = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_ALLOWED = {
    "host": _ALNUM_ | frozenset("-.:"),
    "namespace": _ALNUM_ | frozenset("-"),
    "model": _ALNUM_ | frozenset("-."),
    "tag": _ALNUM_ | frozenset("-."),
}
_ALLOWED_TEXT = {
    "host": "letters, digits, '_', '-', '.', ':'",
    "namespace": "letters, digits, '_', '-'",
    "model": "letters, digits, '_', '-', '.'",
    "tag": "letters, digits, '_', '-', '.'",
}
_MAX_LEN = {"host": 350, "namespace": 80, "model": 80, "tag": 80}


@dataclass(frozen=True)
class ModelName:
    """A parsed, valid model name with defaults filled in (host/namespace/model:tag)."""

    host: str
    namespace: str
    model: str
    tag: str

    @property
    def display(self) -> str:
        """The server's display form: default host/namespace dropped, tag always shown."""
        if self.host.casefold() != DEFAULT_HOST:
            return f"{self.host}/{self.namespace}/{self.model}:{self.tag}"
        if self.namespace.casefold() != DEFAULT_NAMESPACE:
            return f"{self.namespace}/{self.model}:{self.tag}"
        return f"{self.model}:{self.tag}"

    @property
    def full(self) -> str:
        """The fully qualified form, e.g. ``registry.ollama.ai/library/llama3.2:latest``."""
        return f"{self.host}/{self.namespace}/{self.model}:{self.tag}"

    def __str__(self) -> str:
        return self.display


def _split(s: str) -> tuple[str | None, str | None, str | None, str | None, str | None]:
    """Go's ``ParseNameBare``: (host, namespace, model, tag) or an error message as 5th item.

    An empty part that a separator promised is reported instead of returned.
    """
    host = namespace = tag = None
    if s.rfind(":") > s.rfind("/"):
        s, _, tag = s.rpartition(":")
        if not tag:
            return None, None, None, None, "the tag after ':' is empty"
        if not s:
            return None, None, None, None, "the model name before ':' is empty"
    rest, sep, model = s.rpartition("/")
    if not sep:
        return None, None, s, tag, None
    if not model:
        return None, None, None, None, "the model name after '/' is empty"
    if not rest:
        return None, None, None, None, "the namespace before '/' is empty"
    rest2, sep, namespace = rest.rpartition("/")
    if not sep:
        return None, rest, model, tag, None
    if not namespace:
        return None, None, None, None, "the namespace before '/' is empty"
    if not rest2:
        return None, None, None, None, "the host before '/' is empty"
    scheme, sep, host = rest2.partition("://")
    if not sep:
        host = scheme
    if "/" in host:
        return None, None, None, None, "too many '/' parts (at most host/namespace/model:tag)"
    if not host:
        return None, None, None, None, "the host before '/' is empty"
    return host, namespace, model, tag, None


def _check_part(kind: str, value: str) -> str | None:
    if value[0] not in _ALNUM_:
        return f"model name part {kind!r} must start with a letter, digit or '_'"
    allowed = _ALLOWED[kind]
    if any(c not in allowed for c in value):
        return f"model name part {kind!r} may only contain {_ALLOWED_TEXT[kind]}"
    size = len(value.encode())
    if size > _MAX_LEN[kind]:
        return f"model name part {kind!r} is too long ({size} characters; at most {_MAX_LEN[kind]})"
    return None


def _parse(s: str) -> ModelName | str:
    if not s:
        return "model name is empty"
    if any(c.isspace() for c in s):
        return "model name may not contain spaces"
    if "@" in s:
        return "model name may not contain an '@digest' suffix"
    host, namespace, model, tag, error = _split(s)
    if error is not None:
        return error
    name = ModelName(
        host or DEFAULT_HOST,
        namespace or DEFAULT_NAMESPACE,
        model or "",
        tag or DEFAULT_TAG,
    )
    for kind in ("host", "namespace", "model", "tag"):
        problem = _check_part(kind, getattr(name, kind))
        if problem is not None:
            return problem
    return name


def parse_model_name(s: str) -> ModelName:
    """Parse and validate; raises InvalidInput naming the offending part."""
    result = _parse(s)
    if isinstance(result, str):
        raise InvalidInput(f"invalid model name {s!r}: {result}")
    return result


def validate_model_name(s: str) -> str | None:
    """None if ``s`` is a valid model name, else what is wrong with it."""
    result = _parse(s)
    return result if isinstance(result, str) else None


def normalize_model_name(s: str) -> str:
    """The display form (``llama3.2`` -> ``llama3.2:latest``), case kept; raises InvalidInput."""
    return parse_model_name(s).display


@functools.lru_cache(maxsize=NAME_CACHE_SIZE)
def name_identity(s: str) -> tuple[str, str]:
    """``(key, display)``: names with equal keys are one model to the server (case-insensitive,
    default host, namespace and tag filled in). A name the server would not accept (an odd
    server may still list one) is its own key, case folded, and is shown as given."""
    parsed = _parse(s)
    if isinstance(parsed, str):
        return s.casefold(), s
    return parsed.full.casefold(), parsed.display


def names_equal(a: str, b: str) -> bool:
    """True if both name the same model (case-insensitive, after normalizing)."""
    return name_identity(a)[0] == name_identity(b)[0]
