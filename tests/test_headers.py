"""Headers (issue 9, group 5): checked once at start-up, named but never shown, the same on both
HTTP paths (the standard-library start-up fetch and httpx)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ollama_tui.__main__ import main
from ollama_tui.api import OllamaClient
from ollama_tui.api.headers import HeaderError, request_headers
from ollama_tui.config import ConfigError, load_config
from ollama_tui.poller import Poller

SECRET = "s3cr3t-t0ken"
# Values one of the two HTTP libraries would send and the other refuse (or neither can send).
BAD_VALUES = [
    f"Bearer {SECRET}\x01",
    f"Bearer {SECRET}é",
    f"Bearer {SECRET}\x7f",
    f"Bearer {SECRET}\x00",
    f"Bearer {SECRET}\nX-Injected: 1",
    f"Bearer {SECRET}\r",
    f"Bearer\x0b{SECRET}",
    f"Bearer {SECRET}\u2028",
]


@pytest.mark.parametrize("value", BAD_VALUES)
def test_a_bad_value_names_the_key_and_hides_the_value(value: str) -> None:
    with pytest.raises(HeaderError) as caught:
        request_headers({"Authorization": value}, {})
    assert caught.value.key == "Authorization"
    assert str(caught.value).startswith("Authorization: ")
    assert SECRET not in str(caught.value)
    # The client builds its headers with the same function.
    with pytest.raises(HeaderError) as caught:
        OllamaClient("http://127.0.0.1:9", headers={"Authorization": value}, environ={})
    assert SECRET not in str(caught.value) and "Authorization" in str(caught.value)


@pytest.mark.parametrize("value", BAD_VALUES)
def test_a_bad_value_in_the_config_is_an_error_at_load(tmp_path: Path, value: str) -> None:
    path = tmp_path / "config.toml"
    escaped = json.dumps(value)  # a TOML basic string accepts JSON's escapes
    path.write_text(f'[hosts."http://gpu-box:11434".headers]\n\nAuthorization = {escaped}\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "line 3" in message and "Authorization" in message
    assert SECRET not in message


def test_a_bad_config_header_exits_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[hosts."gpu-box".headers]\nX-Token = "{SECRET}\\u0001"\n')
    assert main(["--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "line 2" in err and "X-Token" in err and SECRET not in err


def test_a_bad_ollama_api_key_exits_2_naming_the_variable(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("")
    env = {**os.environ, "OLLAMA_API_KEY": f"{SECRET}\x01", "OLLAMA_HOST": "127.0.0.1:9"}
    result = subprocess.run(
        [sys.executable, "-m", "ollama_tui", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 2
    assert "OLLAMA_API_KEY" in result.stderr
    assert SECRET not in result.stderr and "Traceback" not in result.stderr


def test_header_names_are_checked_and_not_set_twice() -> None:
    with pytest.raises(HeaderError, match="not a valid HTTP header name"):
        request_headers({"X Token": "t"}, {})
    with pytest.raises(HeaderError, match="set twice"):
        request_headers({"X-Token": "a", "x-token": "b"}, {})
    # A configured header replaces the default one of the same name, whatever its case.
    headers = request_headers({"accept": "text/plain"}, {})
    assert [k for k in headers if k.lower() == "accept"] == ["accept"]


def test_surrounding_whitespace_is_dropped_and_the_api_key_is_a_fallback() -> None:
    assert request_headers({"X-Token": " t \t"}, {})["X-Token"] == "t"
    assert request_headers({}, {"OLLAMA_API_KEY": " k "})["Authorization"] == "Bearer k"
    configured = request_headers({"authorization": "Basic x"}, {"OLLAMA_API_KEY": "k"})
    assert configured["authorization"] == "Basic x" and "Authorization" not in configured


# --- both paths send the same headers -------------------------------------------------------

# Added by the HTTP library itself, not by the app: the connection and content coding.
TRANSPORT = {"host", "connection", "accept-encoding"}


class _Recorder(BaseHTTPRequestHandler):
    seen: list[tuple[str, list[tuple[str, str]]]]

    def do_GET(self) -> None:
        self.seen.append((self.path, list(self.headers.items())))
        body = {
            "/api/tags": b'{"models": []}',
            "/api/ps": b'{"models": []}',
            "/api/version": b'{"version": "0.12.6"}',
        }.get(self.path, b"{}")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[tuple[str, list[tuple[str, str]]]]]]:
    seen: list[tuple[str, list[tuple[str, str]]]] = []
    handler = type("Handler", (_Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def _app_headers(raw: list[tuple[str, str]]) -> dict[str, str]:
    headers = {name.lower(): value for name, value in raw if name.lower() not in TRANSPORT}
    assert len(headers) == len([n for n, _ in raw if n.lower() not in TRANSPORT])  # no repeats
    return headers


@pytest.mark.parametrize(
    ("configured", "environ"),
    [
        ({"Authorization": "Bearer from-config", "X-Team": "ml"}, {"OLLAMA_API_KEY": "ignored"}),
        ({"X-Team": "ml\tops"}, {"OLLAMA_API_KEY": "from-env"}),
        ({"accept": "application/json", "User-Agent": "mine/1"}, {}),
    ],
)
def test_both_http_paths_send_the_same_headers(
    recorder: tuple[str, list[tuple[str, list[tuple[str, str]]]]],
    configured: dict[str, str],
    environ: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, seen = recorder
    for name in ("OLLAMA_API_KEY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    # The app's way: the poller's start-up fetch (http.client), then its polls (httpx).
    poller = Poller(url, headers=configured)
    poller.prefetch()
    prefetched = poller.take_prefetch()
    assert prefetched is not None
    prefetched.result(timeout=10)
    blocking = list(seen)
    seen.clear()

    async def poll_once() -> None:
        try:
            await poller.poll(with_version=True)
        finally:
            await poller.aclose()

    asyncio.run(poll_once())
    through_httpx = list(seen)
    assert {path for path, _ in blocking} == {"/api/tags", "/api/ps", "/api/version"}
    assert {path for path, _ in through_httpx} == {"/api/tags", "/api/ps", "/api/version"}
    expected = {
        name.lower(): value.strip() for name, value in request_headers(configured, environ).items()
    }
    for _, raw in blocking + through_httpx:
        assert _app_headers(raw) == expected
    assert any(k == "authorization" for k in expected) == (
        "Authorization" in configured or "OLLAMA_API_KEY" in environ
    )


def test_settings_and_config_never_show_header_values(tmp_path: Path) -> None:
    """Textual's crash report prints the locals of every frame: reprs must not hold secrets."""
    from rich.pretty import pretty_repr

    from ollama_tui.__main__ import build_parser, resolve_settings

    path = tmp_path / "config.toml"
    path.write_text(f'[hosts."gpu-box".headers]\nX-Token = "{SECRET}"\n')
    config = load_config(path)
    settings = resolve_settings(build_parser().parse_args([]), config, {"OLLAMA_HOST": "gpu-box"})
    assert settings.headers == {"X-Token": SECRET}
    client = OllamaClient(settings.host, headers=settings.headers, environ={})
    for value in (config, settings, client):
        assert SECRET not in repr(value) and SECRET not in pretty_repr(value)
