"""The one NDJSON line splitter: partial chunks, CRLF, blank lines; bad lines: ProtocolError.

Linear in what it is fed: a partial line is kept as a list of chunks, joined once when its
newline arrives, and a line longer than ``limits.MAX_LINE_BYTES`` is refused as it grows.
"""

from __future__ import annotations

import re
from json import loads
from typing import Any

from ollama_tui.api import limits
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

    __slots__ = ("_max_line", "_parts", "_pending", "endpoint")

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self._parts: list[bytes] = []  # the unfinished last line, as received
        self._pending = 0  # its length in bytes
        self._max_line = limits.MAX_LINE_BYTES

    def feed(self, chunk: bytes) -> list[dict[str, Any]]:
        """Objects for every complete line in ``chunk`` (plus what was buffered before)."""
        end = chunk.rfind(b"\n")
        if end < 0:
            if chunk:
                self._parts.append(chunk)
                self._pending += len(chunk)
                if self._pending > self._max_line:
                    self._parts, self._pending = [], 0
                    raise self._too_long()
            return []
        if self._parts:
            # Each byte is joined once, when its line ends: not once per chunk received.
            self._parts.append(chunk)
            end += self._pending
            chunk = b"".join(self._parts)
            self._parts, self._pending = [], 0
        rest = len(chunk) - end - 1
        if rest:
            if rest > self._max_line:
                raise self._too_long()
            self._parts.append(chunk[end + 1 :])
            self._pending = rest
        body = chunk[:end]
        # Any line fits when the whole body does (the usual case: chunks of a few KB).
        if len(body) > self._max_line and max(map(len, body.split(b"\n"))) > self._max_line:
            raise self._too_long()
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
        rest = b"".join(self._parts)
        self._parts, self._pending = [], 0
        if not rest.strip():
            return []
        return self._slow(rest)

    def _too_long(self) -> ProtocolError:
        return ProtocolError(
            f"the server sent a progress line longer than {limits.bytes_text(self._max_line)} "
            f"on {self.endpoint}"
        )

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
