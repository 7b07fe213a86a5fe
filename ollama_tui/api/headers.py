"""The headers sent with every request, built and checked in one place for both HTTP paths.

httpx (the async client) and ``http.client`` (the start-up fetch) accept different header
values: ``http.client`` sends ``é`` or a trailing space that httpx refuses, and httpx's refusal
quotes the value, an Authorization token, in full. So every value is checked here, once, against
what both can send, and a problem names the header, never its value.
"""

from __future__ import annotations

import platform
import re
from collections.abc import Mapping

from ollama_tui import __version__
from ollama_tui.api.errors import InvalidInput

__all__ = ["HeaderError", "check_header", "request_headers"]

# RFC 9110 token.
_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# Visible ASCII, with single spaces or tabs inside (surrounding whitespace is stripped first):
# what h11 and http.client both send unchanged.
_VALUE = re.compile(r"(?:[\x21-\x7e]+(?:[ \t]+[\x21-\x7e]+)*)?")


class HeaderError(InvalidInput):
    """A header that cannot be sent; ``str()`` and ``key`` name it, never its value."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


def check_header(name: str, value: str) -> str | None:
    """What is wrong with a header (without quoting its value), or None."""
    if not _NAME.fullmatch(name):
        return "not a valid HTTP header name"
    if not _VALUE.fullmatch(value.strip(" \t")):
        if "\n" in value or "\r" in value:
            return "the header value must be one line"
        return (
            "the header value has a character that cannot be sent in HTTP "
            "(only printable ASCII; the value is not shown)"
        )
    return None


def request_headers(extra: Mapping[str, str] | None, environ: Mapping[str, str]) -> dict[str, str]:
    """Accept, User-Agent, then ``extra``; without an Authorization header in ``extra``,
    ``OLLAMA_API_KEY`` from ``environ`` becomes a Bearer token.

    Raises ``HeaderError`` naming the header (or ``OLLAMA_API_KEY``) that cannot be sent.
    """
    headers = {
        "Accept": "application/json",
        "User-Agent": (
            f"ollama-tui/{__version__} ({platform.machine()} {platform.system().lower()}) "
            f"Python/{platform.python_version()}"
        ),
    }
    seen: set[str] = set()
    given: dict[str, str] = {}
    for name, value in (extra or {}).items():
        problem = check_header(name, value)
        if problem is not None:
            raise HeaderError(name, problem)
        if name.lower() in seen:
            raise HeaderError(name, "set twice (header names ignore case)")
        seen.add(name.lower())
        given[name] = value.strip(" \t")
    if "authorization" not in seen:
        api_key = environ.get("OLLAMA_API_KEY", "").strip()
        if api_key:
            value = f"Bearer {api_key}"
            if check_header("Authorization", value) is not None:
                raise HeaderError(
                    "OLLAMA_API_KEY",
                    "has a character that cannot be sent in HTTP "
                    "(only printable ASCII; the value is not shown)",
                )
            given["Authorization"] = value
    # A configured header of the same name replaces the default (header names ignore case).
    for name in given:
        for default in [key for key in headers if key.lower() == name.lower()]:
            del headers[default]
    headers.update(given)
    return headers
