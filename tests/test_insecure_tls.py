"""A server's ``insecure = true``: its self-signed TLS certificate is accepted (and only its).

The server here is a loopback HTTPS server with a certificate made by ``openssl`` for the test,
the way a reverse proxy in front of Ollama on a GPU box often is.
"""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import wait_for

from ollama_tui.api import OllamaClient, OllamaError
from ollama_tui.config import ServerSettings, Settings

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")

ANSWERS = {
    "/api/version": {"version": "0.33.0"},
    "/api/tags": {"models": []},
    "/api/ps": {"models": []},
}


class _Handler(BaseHTTPRequestHandler):
    timeout = 5  # a client that connects and then says nothing never holds a thread for long

    def setup(self) -> None:
        # The TLS handshake here, in this connection's own thread: done in accept() it ran in
        # the serving thread, where one client that never sent its hello blocked the server
        # (and its shutdown) for good.
        self.request.settimeout(self.timeout)
        self.request.do_handshake()
        super().setup()

    def do_GET(self) -> None:
        body = json.dumps(ANSWERS.get(self.path, {})).encode()
        self.send_response(200 if self.path in ANSWERS else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def tls_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder: Path = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1"
    subprocess.run(
        [*command.split(), "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(
        server.socket, server_side=True, do_handshake_on_connect=False
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def test_an_insecure_client_accepts_a_self_signed_certificate(tls_url: str) -> None:
    async with OllamaClient(tls_url, insecure=True) as client:
        assert await client.version() == "0.33.0"


async def test_a_client_verifies_the_certificate_by_default(tls_url: str) -> None:
    async with OllamaClient(tls_url) as client:
        with pytest.raises(OllamaError, match=r"(?i)certificate"):
            await client.version()


async def test_a_server_configured_insecure_is_polled_and_the_others_still_verify(
    tls_url: str,
) -> None:
    from ollama_tui.app import OllamaTuiApp

    # The same server twice: once with insecure (connects), once without (must not).
    settings = Settings(
        interval=60.0,
        servers=(
            ServerSettings("proxied", tls_url, {}, True),
            ServerSettings("strict", tls_url + "/", {}, False),
        ),
    )
    app = OllamaTuiApp(settings)
    async with app.run_test(size=(100, 30)) as pilot:
        proxied, strict = app.sessions
        await wait_for(pilot, lambda: proxied.status.state == "connected")
        await wait_for(pilot, lambda: strict.status.state not in ("connecting", "connected"))
        assert proxied.status.version == "0.33.0"
        assert "certificate" in strict.status.reason.lower()
