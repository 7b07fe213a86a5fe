"""The one NDJSON line splitter: partial chunks, CRLF, blank lines; bad lines: ProtocolError."""

from __future__ import annotations

import re
from json import loads
from typing import Any

from ollama_tui.api.errors import ProtocolError

_DICT_ONLY = {dict}
_OBJECTS_ON_ONE_LINE = re.compile(r"}[ \t\r\n]*,[ \t\r\n]*{")


class NDJSONDecoder:
    """Feed raw byte chunks, get parsed JSON objects back (a list per chunk, to stay cheap).

    Fast path: all complete lines of a chunk are parsed by one ``json.loads`` call as a JSON
    array (a stream of 200,000 progress lines is dominated by per-line parsing otherwise).
    Anything unusual (blank lines, bad JSON, non-objects) takes the line-by-line path, which
    is also where malformed lines are reported.
    """

    __slots__ = ("_buffer", "endpoint")

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[dict[str, Any]]:
        """Objects for every complete line in ``chunk`` (plus what was buffered before)."""
        if self._buffer:
            chunk = self._buffer + chunk
        end = chunk.rfind(b"\n")
        if end < 0:
            self._buffer = chunk
            return []
        self._buffer = chunk[end + 1 :]
        body = chunk[:end]
        try:
            text = body.decode()
        except ValueError:
            return self._slow(body)
        lines = text.count("\n") + 1
        # Every line must look like one object ("{...}") and hold no "},{" of its own: then
        # every top-level comma of the joined text is one the join put there, and no value
        # split over two lines can be glued back together.
        if (
            not (text[:1] == "{" and text[-1:] == "}" and text.count("}\n{") == lines - 1)
            or _OBJECTS_ON_ONE_LINE.search(text) is not None
        ):
            return self._slow(body)
        try:
            objects = loads("[" + text.replace("\n", ",") + "]")
        except (ValueError, RecursionError):
            return self._slow(body)
        if len(objects) != lines or set(map(type, objects)) != _DICT_ONLY:
            return self._slow(body)
        return objects  # type: ignore[no-any-return]

    def close(self) -> list[dict[str, Any]]:
        """The last line if the stream did not end with a newline."""
        rest, self._buffer = self._buffer, b""
        if not rest.strip():
            return []
        return self._slow(rest)

    def _slow(self, body: bytes) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for line in body.split(b"\n"):
            if not line.strip():
                continue  # blank line (or a lone "\r")
            try:
                obj = loads(line)
            except (ValueError, RecursionError):  # deep nesting is malformed too
                raise self._bad(line) from None
            if type(obj) is not dict:
                raise self._bad(line)
            out.append(obj)
        return out

    def _bad(self, line: bytes) -> ProtocolError:
        preview = line[:80].decode("utf-8", "replace").strip()
        return ProtocolError(
            f"the server sent a malformed progress line on {self.endpoint}: {preview!r}"
        )
