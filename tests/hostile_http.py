"""A small hostile HTTP/1.1 server on loopback: each path answers with whatever a test writes.

For what the simulator cannot send: bodies of gigabytes, lines without end, streams that go
silent. Runs on the test's own event loop (``async with HostileServer() as server``); a
blocking client must then run in a thread (``asyncio.to_thread``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from types import TracebackType
from typing import Any

Writer = Callable[[asyncio.StreamWriter], Awaitable[None]]


class HostileServer:
    """``routes[path]`` writes the whole response (status line, headers, body) itself."""

    def __init__(self) -> None:
        self.routes: dict[str, Writer] = {}
        self.sent: dict[str, int] = {}  # body bytes written per path (what the client took)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.url = ""

    async def __aenter__(self) -> HostileServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                _, target, _ = request_line.split(" ", 2)
                headers = {
                    name.strip().lower(): value.strip()
                    for name, _, value in (line.partition(":") for line in header_lines if line)
                }
                length = int(headers.get("content-length", "0") or 0)
                if length:
                    await reader.readexactly(length)
                route = self.routes.get(target.split("?")[0])
                if route is None:
                    await self.reply_json(writer, {"error": "not here"}, status=404)
                else:
                    await route(writer)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            # The server is closing: end normally (Python 3.11's start_server callback logs a
            # cancelled handler as an error).
            pass
        finally:
            self._tasks.discard(task)  # type: ignore[arg-type]
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()

    # -- answers --------------------------------------------------------------------------

    @staticmethod
    async def reply_json(writer: asyncio.StreamWriter, data: Any, *, status: int = 200) -> None:
        body = json.dumps(data).encode()
        writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()

    async def chunked(
        self,
        writer: asyncio.StreamWriter,
        path: str,
        pieces: Iterable[bytes] | AsyncIterator[bytes],
        *,
        content_type: str = "application/json",
        status: int = 200,
    ) -> None:
        """A chunked answer; stops (ConnectionError) when the client hangs up."""
        writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        self.sent[path] = 0

        async def send(piece: bytes) -> None:
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()
            self.sent[path] += len(piece)

        # A client that hangs up makes drain() raise ConnectionError, which ends _serve.
        if isinstance(pieces, AsyncIterator):
            async for piece in pieces:
                await send(piece)
        else:
            for piece in pieces:
                await send(piece)
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    def json_route(self, path: str, data: Any) -> None:
        async def route(writer: asyncio.StreamWriter) -> None:
            await self.reply_json(writer, data)

        self.routes[path] = route

    def huge_json_route(self, path: str, total: int, *, piece: int = 64 * 1024) -> None:
        """A JSON-ish body of ``total`` bytes (never a valid end), chunked."""

        def pieces() -> Iterable[bytes]:
            yield b'{"models":['
            unit = b'{"name":"m:latest"},' * (piece // 20)
            for _ in range(total // len(unit)):
                yield unit

        async def route(writer: asyncio.StreamWriter) -> None:
            await self.chunked(writer, path, pieces())

        self.routes[path] = route

    def declared_huge_route(self, path: str, declared: int) -> None:
        """Headers announce ``declared`` bytes; a little is sent, then nothing."""

        async def route(writer: asyncio.StreamWriter) -> None:
            writer.write(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                f"Content-Length: {declared}\r\n\r\n".encode()
                + b'{"models":['
            )
            await writer.drain()
            self.sent[path] = 11
            await asyncio.Event().wait()  # until the test ends

        self.routes[path] = route

    def stream_route(self, path: str, pieces: Callable[[], AsyncIterator[bytes]]) -> None:
        """An NDJSON stream made of ``pieces()``."""

        async def route(writer: asyncio.StreamWriter) -> None:
            await self.chunked(writer, path, pieces(), content_type="application/x-ndjson")

        self.routes[path] = route

    def basic_server(self, models: list[dict[str, Any]] | None = None) -> None:
        """Version, tags and ps answers of a quiet, well-behaved server."""
        self.json_route("/api/version", {"version": "0.12.6"})
        self.json_route("/api/tags", {"models": models or []})
        self.json_route("/api/ps", {"models": []})
