"""Host resolution follows Ollama's Go client (envconfig.Host + ConnectableHost)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ollama_tui.api import InvalidInput, resolve_host
from ollama_tui.api.hosts import hide_userinfo, is_loopback

ENV_CASES = [
    # (OLLAMA_HOST, expected base URL)
    ("", "http://127.0.0.1:11434"),
    ("   ", "http://127.0.0.1:11434"),
    ('""', "http://127.0.0.1:11434"),
    ("1.2.3.4", "http://1.2.3.4:11434"),
    ("  1.2.3.4  ", "http://1.2.3.4:11434"),
    ('"1.2.3.4"', "http://1.2.3.4:11434"),
    ("'1.2.3.4'", "http://1.2.3.4:11434"),
    (' "1.2.3.4" ', "http://1.2.3.4:11434"),
    ("1.2.3.4:1234", "http://1.2.3.4:1234"),
    ("example.com", "http://example.com:11434"),
    ("example.com:1234", "http://example.com:1234"),
    ("http://example.com", "http://example.com:80"),
    ("https://example.com", "https://example.com:443"),
    ("http://example.com:8080", "http://example.com:8080"),
    ("https://example.com:8443", "https://example.com:8443"),
    ("HTTPS://example.com", "https://example.com:443"),
    ("ollama.com", "https://ollama.com:443"),
    ("http://ollama.com", "http://ollama.com:80"),
    ("ollama.com:11434", "http://ollama.com:11434"),
    ("localhost", "http://localhost:11434"),
    # IPv6
    ("::1", "http://[::1]:11434"),
    ("[::1]", "http://[::1]:11434"),
    ("[::1]:1234", "http://[::1]:1234"),
    ("http://[::1]", "http://[::1]:80"),
    ("https://[::1]:8443", "https://[::1]:8443"),
    ("0:0:0:0:0:0:0:1", "http://[::1]:11434"),
    ("fe80::1", "http://[fe80::1]:11434"),
    # bind-all addresses become loopback (ConnectableHost)
    ("0.0.0.0", "http://127.0.0.1:11434"),
    ("0.0.0.0:8080", "http://127.0.0.1:8080"),
    ("http://0.0.0.0", "http://127.0.0.1:80"),
    ("[::]", "http://[::1]:11434"),
    ("::", "http://[::1]:11434"),
    ("[::]:9000", "http://[::1]:9000"),
    # base path kept (reverse proxy), trailing slash dropped
    ("https://example.com/ollama", "https://example.com:443/ollama"),
    ("https://example.com/ollama/", "https://example.com:443/ollama"),
    ("example.com:8080/path/to/ollama", "http://example.com:8080/path/to/ollama"),
    ("http://example.com/", "http://example.com:80"),
    # bad ports fall back to the scheme's default
    ("example.com:abc", "http://example.com:11434"),
    ("example.com:99999", "http://example.com:11434"),
    ("example.com:-1", "http://example.com:11434"),
    ("example.com:", "http://example.com:11434"),
    ("https://example.com:abc", "https://example.com:443"),
    ("http://example.com:65536", "http://example.com:80"),
    ("example.com:65535", "http://example.com:65535"),
    # empty host with a port -> local
    (":1234", "http://127.0.0.1:1234"),
    ("http://:1234", "http://127.0.0.1:1234"),
]


@pytest.mark.parametrize(("value", "expected"), ENV_CASES)
def test_env_ollama_host(value: str, expected: str) -> None:
    assert resolve_host(None, {"OLLAMA_HOST": value}) == expected


def test_default_without_env() -> None:
    assert resolve_host(None, {}) == "http://127.0.0.1:11434"


def test_explicit_beats_env() -> None:
    env = {"OLLAMA_HOST": "10.0.0.1:1"}
    assert resolve_host("example.com", env) == "http://example.com:11434"
    assert resolve_host(None, env) == "http://10.0.0.1:1"
    # An empty explicit value means "not given".
    assert resolve_host("  ", env) == "http://10.0.0.1:1"


# An empty explicit host means "not given" (see test_explicit_beats_env): those cases are out.
@pytest.mark.parametrize(
    ("value", "expected"), [case for case in ENV_CASES if case[0].strip(" \"'")]
)
def test_explicit_uses_the_same_rules(value: str, expected: str) -> None:
    assert resolve_host(value, {"OLLAMA_HOST": "10.9.9.9"}) == expected


def test_reads_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "0.0.0.0:4321")
    assert resolve_host() == "http://127.0.0.1:4321"


def test_unsupported_scheme() -> None:
    with pytest.raises(InvalidInput, match="http:// or https://"):
        resolve_host("ftp://example.com")


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:11434", True),
        ("http://[::1]:11434", True),
        ("http://localhost:11434", True),
        ("http://example.com:11434", False),
        ("https://10.0.0.1:443/x", False),
    ],
)
def test_is_loopback(url: str, loopback: bool) -> None:
    assert is_loopback(url) is loopback


@pytest.mark.parametrize("value", ["h:t:p", "http://[bad", "a\tb", "x\x7fy", "gpu box"])
def test_unusable_addresses_are_refused_before_connecting(value: str) -> None:
    with pytest.raises(InvalidInput, match="not a usable Ollama server address"):
        resolve_host(value, {})


# --- userinfo in a host (issue 9, group 5) ------------------------------------------------------

USERINFO_HOSTS = [
    ("http://user:pa55w0rd@gpu-box", "http://user:***@gpu-box"),
    ("http://user:pa55w0rd@gpu-box:8080", "http://user:***@gpu-box:8080"),
    ("https://user:p@55w0rd@gpu-box/ollama", "https://user:***@gpu-box/ollama"),
    ("user:pa55w0rd@gpu-box:11434", "user:***@gpu-box:11434"),
    ("pa55w0rd@gpu-box", "***@gpu-box"),  # no ':' -- it may be a token: all of it is hidden
    ('"http://user:pa55w0rd@[::1]:11434"', "http://user:***@[::1]:11434"),
    ("http://user:pa55w0rd@gpu-box?x", "http://user:***@gpu-box?x"),
]


@pytest.mark.parametrize(("value", "shown"), USERINFO_HOSTS)
def test_userinfo_is_refused_with_the_password_hidden(value: str, shown: str) -> None:
    for explicit, env in ((value, {}), (None, {"OLLAMA_HOST": value})):
        with pytest.raises(InvalidInput) as caught:
            resolve_host(explicit, env)
        message = str(caught.value)
        assert "user name or password" in message and shown in message
        assert "pa55w0rd" not in message and "55w0rd" not in message


def test_an_at_sign_in_the_path_is_not_userinfo() -> None:
    assert resolve_host("http://gpu-box/a@b", {}) == "http://gpu-box:80/a@b"
    assert hide_userinfo("http://gpu-box/a@b") == "http://gpu-box/a@b"


@pytest.mark.parametrize("where", ["--host", "OLLAMA_HOST", "config host", "config hosts key"])
def test_userinfo_never_reaches_the_terminal(where: str, tmp_path: Path) -> None:
    """The real command line: exit 2, the password hidden, nothing sent anywhere."""
    url = "http://user:pa55w0rd@127.0.0.1:9"
    config = tmp_path / "c.toml"
    args = ["--config", str(config)]
    env = {k: v for k, v in os.environ.items() if k not in ("OLLAMA_HOST", "OLLAMA_API_KEY")}
    config.write_text("")
    if where == "--host":
        args += ["--host", url]
    elif where == "OLLAMA_HOST":
        env["OLLAMA_HOST"] = url
    elif where == "config host":
        config.write_text(f'host = "{url}"\n')
    else:
        config.write_text(f'[hosts."{url}".headers]\nX-Token = "t"\n')
    result = subprocess.run(
        [sys.executable, "-m", "ollama_tui", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 2, result.stderr
    assert "user:***@127.0.0.1:9" in result.stderr
    assert "pa55w0rd" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
