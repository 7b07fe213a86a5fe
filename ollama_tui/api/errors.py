"""The client's exception tree; every message is fit to show a user as-is."""

from __future__ import annotations


class OllamaError(Exception):
    """Base of every error the client raises; ``str(error)`` is the user-facing message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ServerUnreachable(OllamaError):
    """The server could not be reached: refused, DNS failure, connect/poll timeout, no response."""


class ApiError(OllamaError):
    """The server answered with an HTTP error; ``server_message`` is its own text."""

    def __init__(self, status_code: int, server_message: str, *, endpoint: str = "") -> None:
        super().__init__(server_message)
        self.status_code = status_code
        self.server_message = server_message
        self.endpoint = endpoint


class ModelNotFound(ApiError):
    """HTTP 404 whose message says a model was not found."""


class ProtocolError(OllamaError):
    """The server's answer was not what the API promises (not JSON, malformed, wrong shape)."""


class StreamError(OllamaError):
    """A progress stream failed: an ``error`` line, a dropped connection, or no ``success`` line."""


class ConnectionLost(StreamError):
    """A stream's connection dropped mid-transfer (the server went away, or the network did).

    Unlike an ``error`` line, nothing was refused: sending the same pull or push again once
    the server answers resumes it.
    """


class InvalidInput(OllamaError, ValueError):
    """Rejected before anything was sent (bad model name, bad Modelfile, missing file...).

    ``line``/``column`` locate Modelfile errors (1-based); None for other input.
    """

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
