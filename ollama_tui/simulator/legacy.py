"""The legacy create form (servers <= 0.5.4): a Modelfile parsed on the server."""

from __future__ import annotations

import json
import re
from typing import Any

DIGEST_RE = re.compile(r"sha256[:-]([0-9a-fA-F]{64})")


def _unquote_modelfile(value: str) -> str:
    if value.startswith('"""') and value.endswith('"""') and len(value) >= 6:
        return value[3:-3]
    if value.startswith('"') and value.endswith('"') and len(value) >= 2:
        return value[1:-1]
    return value


_COMMANDS = ("from", "license", "template", "system", "adapter", "parameter", "message")


def legacy_to_structured(text: str) -> dict[str, Any]:
    """Parse a Modelfile (legacy create body) into structured create fields."""
    out: dict[str, Any] = {}
    params: dict[str, Any] = {}
    licenses: list[str] = []
    messages: list[dict[str, str]] = []
    lines = text.replace("\r\n", "\n").split("\n")
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if not line or line.startswith("#"):
            continue
        command, _, rest = line.partition(" ")
        command = command.lower()
        rest = rest.strip()
        if command not in _COMMANDS:
            raise ValueError(
                'command must be one of "from", "license", "template", "system", "adapter", '
                '"parameter", or "message"'
            )
        for quote in ('"""', '"'):
            if rest.startswith(quote) and (len(rest) < 2 * len(quote) or not rest.endswith(quote)):
                while i < len(lines) and not rest.endswith(quote):
                    rest += "\n" + lines[i]
                    i += 1
                if not rest.endswith(quote) or len(rest) < 2 * len(quote):
                    raise ValueError("unexpected EOF")
                break
        if command == "from":
            value = _unquote_modelfile(rest)
            if value.startswith("@"):
                value = value[1:]
            if DIGEST_RE.fullmatch(value):
                out["files"] = {"model.gguf": value.replace("-", ":", 1)}
                out.pop("from", None)
            else:
                out["from"] = value
        elif command == "parameter":
            key, _, raw = rest.partition(" ")
            value_text = _unquote_modelfile(raw.strip())
            if not value_text:
                raise ValueError("unexpected EOF")
            if key == "stop":
                params.setdefault("stop", []).append(value_text)
            else:
                try:
                    params[key] = json.loads(value_text)
                except json.JSONDecodeError:
                    params[key] = value_text
        elif command == "license":
            licenses.append(_unquote_modelfile(rest))
        elif command == "message":
            role, _, content = rest.partition(" ")
            if role not in ("system", "user", "assistant"):
                raise ValueError('message role must be one of "system", "user", or "assistant"')
            messages.append({"role": role, "content": _unquote_modelfile(content.strip())})
        elif command == "adapter":
            value = _unquote_modelfile(rest).lstrip("@")
            out["adapters"] = {"adapter.gguf": value.replace("-", ":", 1)}
        else:
            out[command] = _unquote_modelfile(rest)
    if "from" not in out and "files" not in out:
        raise ValueError("no FROM line")
    if params:
        out["parameters"] = params
    if licenses:
        out["license"] = licenses
    if messages:
        out["messages"] = messages
    return out
