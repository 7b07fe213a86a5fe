"""Request decoding with the real server's error texts (gin's ShouldBindJSON, Go's decoder)."""

from __future__ import annotations

import json
from typing import Any

from .wire import MAX_DURATION_SECONDS, parse_go_duration


class HttpError(Exception):
    """A handler failure that becomes ``{"error": message}`` with a status code."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


# --- request decoding (Go's encoding/json messages) ----------------------------------------

_STR, _BOOL, _OBJ, _LIST, _NUM, _ANY, _DUR = "string", "bool", "obj", "list", "num", "any", "dur"
_SCHEMAS: dict[str, tuple[str, dict[str, tuple[str, str]]]] = {
    "/api/show": (
        "ShowRequest",
        {
            "model": (_STR, "string"),
            "name": (_STR, "string"),
            "system": (_STR, "string"),
            "verbose": (_BOOL, "bool"),
            "options": (_OBJ, "map[string]interface {}"),
        },
    ),
    "/api/pull": (
        "PullRequest",
        {
            "model": (_STR, "string"),
            "name": (_STR, "string"),
            "insecure": (_BOOL, "bool"),
            "stream": (_BOOL, "bool"),
            "username": (_STR, "string"),
            "password": (_STR, "string"),
        },
    ),
    "/api/push": (
        "PushRequest",
        {
            "model": (_STR, "string"),
            "name": (_STR, "string"),
            "insecure": (_BOOL, "bool"),
            "stream": (_BOOL, "bool"),
        },
    ),
    "/api/create": (
        "CreateRequest",
        {
            "model": (_STR, "string"),
            "name": (_STR, "string"),
            "from": (_STR, "string"),
            "files": (_OBJ, "map[string]string"),
            "adapters": (_OBJ, "map[string]string"),
            "template": (_STR, "string"),
            "system": (_STR, "string"),
            "parameters": (_OBJ, "map[string]interface {}"),
            "messages": (_LIST, "[]api.Message"),
            "quantize": (_STR, "string"),
            "quantization": (_STR, "string"),
            "stream": (_BOOL, "bool"),
            "modelfile": (_STR, "string"),
            "path": (_STR, "string"),
            "license": (_ANY, "interface {}"),
        },
    ),
    "/api/copy": ("CopyRequest", {"source": (_STR, "string"), "destination": (_STR, "string")}),
    "/api/delete": ("DeleteRequest", {"model": (_STR, "string"), "name": (_STR, "string")}),
    "/api/generate": (
        "GenerateRequest",
        {
            "model": (_STR, "string"),
            "prompt": (_STR, "string"),
            "suffix": (_STR, "string"),
            "system": (_STR, "string"),
            "template": (_STR, "string"),
            "stream": (_BOOL, "bool"),
            "raw": (_BOOL, "bool"),
            "images": (_LIST, "[]api.ImageData"),
            "options": (_OBJ, "map[string]interface {}"),
            "keep_alive": (_DUR, "api.Duration"),
        },
    ),
    "/api/chat": (
        "ChatRequest",
        {
            "model": (_STR, "string"),
            "messages": (_LIST, "[]api.Message"),
            "stream": (_BOOL, "bool"),
            "tools": (_LIST, "api.Tools"),
            "options": (_OBJ, "map[string]interface {}"),
            "keep_alive": (_DUR, "api.Duration"),
        },
    ),
    "/api/embed": (
        "EmbedRequest",
        {
            "model": (_STR, "string"),
            "truncate": (_BOOL, "bool"),
            "dimensions": (_NUM, "int"),
            "options": (_OBJ, "map[string]interface {}"),
            "keep_alive": (_DUR, "api.Duration"),
        },
    ),
}


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _go_reflect(value: Any) -> str:
    kind = _json_kind(value)
    return {
        "number": "float64",
        "array": "[]interface {}",
        "object": "map[string]interface {}",
    }.get(kind, kind)


def _syntax_error(raw: str, err: json.JSONDecodeError) -> str:
    if err.pos >= len(raw.rstrip()):
        return "unexpected EOF"
    char = raw[err.pos]
    if err.msg.startswith("Expecting value"):
        return f"invalid character {char!r} looking for beginning of value"
    if err.msg.startswith("Extra data"):
        return f"invalid character {char!r} after top-level value"
    if "property name" in err.msg:
        return f"invalid character {char!r} looking for beginning of object key string"
    if "delimiter" in err.msg and "':'" in err.msg:
        return f"invalid character {char!r} after object key"
    if "delimiter" in err.msg:
        return f"invalid character {char!r} after object key:value pair"
    return f"invalid character {char!r} looking for beginning of value"


def decode_body(path: str, raw: bytes) -> dict[str, Any]:
    """Decode a request body like gin's ShouldBindJSON; HttpError(400) with Go's text."""
    text = raw.decode("utf-8", "replace")
    if not text.strip():
        raise HttpError(400, "missing request body")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise HttpError(400, _syntax_error(text, err)) from None
    struct_name, fields = _SCHEMAS.get(path, ("Request", {}))
    if value is None:
        return {}
    if not isinstance(value, dict):
        kind = _json_kind(value)
        raise HttpError(
            400, f"json: cannot unmarshal {kind} into Go value of type api.{struct_name}"
        )
    for key, item in value.items():
        spec = fields.get(key)
        if spec is None or item is None:
            continue
        want, go_type = spec
        kind = _json_kind(item)
        ok = {
            _STR: kind == "string",
            _BOOL: kind == "bool",
            _OBJ: kind == "object",
            _LIST: kind == "array",
            _NUM: kind == "number",
            _ANY: True,
            _DUR: True,
        }[want]
        if want == _OBJ and ok and go_type == "map[string]string":
            for sub in item.values():
                if not isinstance(sub, str):
                    sub_kind = _json_kind(sub)
                    raise HttpError(
                        400,
                        f"json: cannot unmarshal {sub_kind} into Go struct field "
                        f"{struct_name}.{key} of type string",
                    )
        if want == _DUR:
            if kind not in ("number", "string"):
                raise HttpError(400, f"Unsupported type: '{_go_reflect(item)}'")
            if kind == "string":
                try:
                    parse_go_duration(item)
                except ValueError as err:
                    raise HttpError(400, str(err)) from None
        if not ok:
            raise HttpError(
                400,
                f"json: cannot unmarshal {kind} into Go struct field {struct_name}.{key} "
                f"of type {go_type}",
            )
    return value


def keep_alive_seconds(value: Any, default: float) -> float:
    """keep_alive (number = seconds, string = Go duration, negative = forever) in seconds."""
    if value is None:
        return default
    seconds = parse_go_duration(value) if isinstance(value, str) else float(value)
    return MAX_DURATION_SECONDS if seconds < 0 else min(seconds, MAX_DURATION_SECONDS)
