"""Resolve the server's base URL exactly like Ollama's Go client (``envconfig.Host``)."""

from __future__ import annotations

import functools
import ipaddress
import os
import re
from collections.abc import Mapping

import httpx

from ollama_tui.api.errors import InvalidInput

DEFAULT_HOST = "http://127.0.0.1:11434"
_DEFAULT_PORT = "11434"
_HOST_RE = re.compile(r"[A-Za-z0-9._:-]+")  # after parsing; IPv6 keeps its colons
_PORT_RE = re.compile(r"[+-]?[0-9]+")


def _clean(value: str) -> str:
    # Go: strings.Trim(strings.TrimSpace(v), "\"'") and then TrimSpace again in Host().
    return value.strip().strip("\"'").strip()


def _split_host_port(hostport: str) -> tuple[str, str] | None:
    """Go's ``net.SplitHostPort``; None where Go returns an error."""
    i = hostport.rfind(":")
    if i < 0:
        return None
    j = k = 0
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0 or end + 1 == len(hostport) or end + 1 != i:
            return None
        host = hostport[1:end]
        j, k = 1, end + 1
    else:
        host = hostport[:i]
        if ":" in host:
            return None
    if "[" in hostport[j:] or "]" in hostport[k:]:
        return None
    return host, hostport[i + 1 :]


def _parse_ip(text: str) -> str | None:
    """Go's ``net.ParseIP(...).String()``: the canonical form, or None (no zones)."""
    if "%" in text:
        return None
    try:
        return ipaddress.ip_address(text).compressed
    except ValueError:
        return None


def _join_host_port(host: str, port: str) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def resolve_host(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The base URL to connect to: ``explicit`` > ``OLLAMA_HOST`` > ``http://127.0.0.1:11434``.

    Follows ``envconfig.Host()`` and ``ConnectableHost()``: quotes and outer whitespace are
    stripped, a bare host gets http and port 11434, ``http``/``https`` default to 80/443, bare
    ``ollama.com`` means ``https://ollama.com:443``, a bad port falls back to the default,
    a path is kept as base path, and the bind-all addresses 0.0.0.0 / [::] become loopback.
    Returned without a trailing slash. Raises InvalidInput for a scheme other than http(s).
    """
    raw = explicit if explicit is not None and explicit.strip() else None
    if raw is None:
        env = os.environ if environ is None else environ
        raw = env.get("OLLAMA_HOST", "")
    return _resolve(raw)


@functools.lru_cache(maxsize=256)
def _resolve(raw: str) -> str:
    """``resolve_host`` of a given text (a pure function of it: each server's URL is resolved
    by its session, poller target and clients, a fleet's start asks about a hundred times)."""
    s = _clean(raw)

    if userinfo_of(s) is not None:
        # httpx would turn it into Basic auth (replacing the configured key), Go's client
        # would send it to a host never named; and the password would end up on screen.
        raise InvalidInput(
            f"a user name or password in the Ollama host is not supported: {hide_userinfo(s)} "
            '(send credentials as a header: [hosts."URL".headers] in the config file)'
        )

    default_port = _DEFAULT_PORT
    scheme, sep, hostport = s.partition("://")
    if not sep:
        scheme, hostport = "http", s
        if s == "ollama.com":
            scheme, hostport = "https", "ollama.com:443"
    else:
        # Go compares case-sensitively; we accept "HTTPS://" too (deliberate, friendlier).
        scheme = scheme.lower()
        if scheme == "http":
            default_port = "80"
        elif scheme == "https":
            default_port = "443"
        else:
            raise InvalidInput(
                f"unsupported scheme {scheme!r} in Ollama host {s!r}: use http:// or https://"
            )

    hostport, _, path = hostport.partition("/")
    split = _split_host_port(hostport)
    if split is None:
        host, port = "127.0.0.1", default_port
        ip = _parse_ip(hostport.strip("[]"))
        if ip is not None:
            host = ip
        elif hostport:
            host = hostport
    else:
        host, port = split

    if not _PORT_RE.fullmatch(port) or not 0 <= int(port) <= 65535:
        port = default_port
    port = str(int(port))

    # ConnectableHost(): a bind-all address is not something to connect to.
    ip = _parse_ip(host)
    if ip is not None:
        host = ip
        if ipaddress.ip_address(ip).is_unspecified:
            host = "127.0.0.1" if ipaddress.ip_address(ip).version == 4 else "::1"
    elif host == "":
        # ":1234" -> Go dials the local system; httpx needs a host name.
        host = "127.0.0.1"

    url = f"{scheme}://{_join_host_port(host, port)}"
    path = path.rstrip("/")
    if path:
        url += "/" + path
    _check_usable(url, s)
    return url


def _authority(text: str) -> tuple[str, int]:
    """The authority part of a URL (or bare host) and where it starts."""
    start = text.find("://")
    start = 0 if start < 0 else start + 3
    end = len(text)
    for stop in "/?#":
        found = text.find(stop, start)
        if found >= 0:
            end = min(end, found)
    return text[start:end], start


def userinfo_of(text: str) -> str | None:
    """The ``user:password`` part of a host URL, or None."""
    authority, _ = _authority(text)
    userinfo, at, _ = authority.rpartition("@")
    return userinfo if at else None


def hide_userinfo(text: str) -> str:
    """``text`` with the password of its userinfo (all of it without a ':') as ``***``."""
    userinfo = userinfo_of(text)
    if userinfo is None:
        return text
    _, start = _authority(text)
    user, colon, _ = userinfo.partition(":")
    shown = f"{user}:***" if colon else "***"
    return text[:start] + shown + text[start + len(userinfo) :]


def _check_usable(url: str, given: str) -> None:
    """Refuse what no HTTP client can connect to (control characters, a host like "h:t:p")."""
    try:
        host = httpx.URL(url).raw_host.decode("ascii")  # IDNA names as "xn--..."
    except (httpx.InvalidURL, ValueError):
        host = ""
    if not _HOST_RE.fullmatch(host) or any(c.isspace() or not c.isprintable() for c in url):
        raise InvalidInput(f"not a usable Ollama server address: {given!r}")


def is_loopback(base_url: str) -> bool:
    """True if the URL's host is a loopback address or ``localhost``."""
    rest = base_url.partition("://")[2]
    hostport = rest.partition("/")[0]
    split = _split_host_port(hostport)
    host = split[0] if split else hostport
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
