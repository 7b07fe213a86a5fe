"""The config file (TOML) and the settings the app runs with: flags > config file > defaults.

```toml
host = "http://gpu-box:11434"
interval = 2            # seconds between polls
read_only = false
theme = "nord"
max_transfers = 2       # pulls/pushes at once (the rest wait); creates start at once
load_timeout = 300      # seconds a model load may take before it is given up
reconnect_timeout = 600 # seconds a pull/push cut by a lost server waits for it to come back
insecure_registries = ["registry.lan:5000"]   # reached over http, not https
check_interval = 24     # hours between background checks for updates (0 or absent: off)

[registry_urls]         # check a registry's models at another address (a mirror)
"registry.ollama.ai" = "http://mirror.lan:5000"

[keymap]                # binding id = keys (comma separated)
pull = "p,ctrl+l"

[hosts."http://gpu-box:11434".headers]
Authorization = "Bearer s3cret"

[[servers]]             # several servers (instead of `host`); each: url, name, headers, insecure
name = "gpu"
url = "http://gpu-box:11434"
headers = { X-Team = "ml" }   # win over [hosts."URL".headers] for the same header name
```
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ollama_tui.files import FileRefused, atomic_write, read_bounded, read_text_bounded

__all__ = [
    "DEFAULT_INTERVAL",
    "DEFAULT_LOAD_TIMEOUT",
    "DEFAULT_MAX_TRANSFERS",
    "DEFAULT_RECONNECT_TIMEOUT",
    "ConfigError",
    "ConfigFile",
    "ServerSettings",
    "Settings",
    "default_config_path",
    "find_key_line",
    "load_config",
    "save_theme",
    "server_label",
]

DEFAULT_INTERVAL = 2.0
DEFAULT_MAX_TRANSFERS = 2
# A server that accepts a load and never answers must not hold a worker forever.
DEFAULT_LOAD_TIMEOUT = 300.0
# A pull or push cut by a lost server waits this long for it before failing.
DEFAULT_RECONNECT_TIMEOUT = 600.0
MIN_INTERVAL = 0.2
MAX_CHECK_INTERVAL = 8760.0
"""Hours: a year between checks for updates at most (a timer needs a finite delay)."""
# A registry as model names and Ollama's insecure flag name it: a host, maybe with a port.
_REGISTRY_HOST = r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?(?::[0-9]{1,5})?"

_TOP_KEYS = (
    "host",
    "interval",
    "read_only",
    "theme",
    "max_transfers",
    "load_timeout",
    "reconnect_timeout",
    "insecure_registries",
    "registry_urls",
    "check_interval",
    "keymap",
    "hosts",
    "servers",
)
_SERVER_KEYS = ("name", "url", "headers", "insecure")
# A server's name is shown in tables and dialogs: one short line.
MAX_SERVER_NAME = 64


class ConfigError(Exception):
    """A config file we cannot use; ``str()`` names the file, the line and the key."""

    def __init__(
        self, path: Path | None, message: str, *, line: int | None = None, key: str | None = None
    ) -> None:
        self.path = path
        self.line = line
        self.key = key
        self.message = message
        where = str(path) if path is not None else "config"
        if line is not None:
            where += f", line {line}"
        what = f"{key}: " if key else ""
        super().__init__(f"{where}: {what}{message}")


def server_label(name: str | None, url: str) -> str:
    """What the user sees for a server, everywhere (tables, commands, metrics): its name, else
    its URL without ``http://`` (in a narrow SERVER column, ``http://127.0.0.1:15…`` hid the
    port that tells servers apart; ``https://`` stays, it says something)."""
    if name:
        return name
    return url.removeprefix("http://").rstrip("/") or url


@dataclass(frozen=True)
class ServerSettings:
    """One Ollama server: its resolved base URL, an optional name shown instead of the URL,
    extra request headers (secrets: kept out of repr) and ``insecure`` (do not verify TLS)."""

    name: str | None
    url: str
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    insecure: bool = False

    @property
    def title(self) -> str:
        """What to show for the server (as the dashboard does): see :func:`server_label`."""
        return server_label(self.name, self.url)


@dataclass(frozen=True)
class ConfigFile:
    """What a config file says; ``None`` = not set there."""

    path: Path | None = None
    host: str | None = None
    interval: float | None = None
    read_only: bool | None = None
    theme: str | None = None
    max_transfers: int | None = None
    load_timeout: float | None = None
    reconnect_timeout: float | None = None
    insecure_registries: tuple[str, ...] = ()
    registry_urls: Mapping[str, str] = field(default_factory=dict)
    check_interval: float | None = None
    keymap: Mapping[str, str] = field(default_factory=dict)
    # Header values are secrets: kept out of repr (Textual's crash report prints locals).
    hosts: Mapping[str, Mapping[str, str]] = field(default_factory=dict, repr=False)
    # [[servers]]: URLs resolved, names and URLs unique, headers checked (only the server's
    # own; ``server_for`` adds those of [hosts."URL".headers]).
    servers: tuple[ServerSettings, ...] = ()
    text: str = field(default="", repr=False)

    def line_of(self, *key: str, exact: bool = False) -> int | None:
        """1-based line of a dotted key in the file's text (for error messages)."""
        return find_key_line(self.text, key, exact=exact)

    def headers_for(self, base_url: str) -> dict[str, str]:
        """Extra headers configured for a server; host keys are compared in resolved form."""
        wanted = _normalize_host(base_url)
        for host, headers in self.hosts.items():
            if _normalize_host(host) == wanted:
                return dict(headers)
        return {}

    def server_for(self, url: str) -> ServerSettings:
        """The server at a resolved ``url`` as configured: its [[servers]] entry if it has one
        (name, insecure), with the headers of [hosts."URL".headers] under the entry's own
        headers (an entry's header wins over a [hosts] one of the same name, in any case)."""
        entry = next((server for server in self.servers if server.url == url), None)
        headers = self.headers_for(url)
        if entry is None:
            return ServerSettings(None, url, headers, False)
        own = {name.lower() for name in entry.headers}
        merged = {k: v for k, v in headers.items() if k.lower() not in own}
        merged.update(entry.headers)
        return ServerSettings(entry.name, url, merged, entry.insecure)


@dataclass(frozen=True)
class Settings:
    """Everything the app needs to start, after merging flags, config file and defaults."""

    host: str | None = None
    interval: float = DEFAULT_INTERVAL
    read_only: bool = False
    theme: str | None = None
    max_transfers: int = DEFAULT_MAX_TRANSFERS
    load_timeout: float = DEFAULT_LOAD_TIMEOUT
    reconnect_timeout: float = DEFAULT_RECONNECT_TIMEOUT
    insecure_registries: tuple[str, ...] = ()
    """Registries (``host[:port]``) reached over http."""
    registry_urls: Mapping[str, str] = field(default_factory=dict)
    """Registry host -> the base URL its manifests are checked at (a mirror, the demo)."""
    check_interval: float = 0.0
    """Hours between background checks for updates; 0: off."""
    keymap: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)  # secrets
    config_path: Path | None = None
    demo: bool = False
    state_path: Path | None = None
    """The last-used file (``last_used.default_state_path()`` from the command line); None:
    last-used times last for this run only (the tests' and embedders' default)."""
    # The servers, in order; never empty. ``host`` and ``headers`` are the first one's (the
    # app shows the first server). Left empty, it is made from ``host`` and ``headers``.
    servers: tuple[ServerSettings, ...] = ()

    def __post_init__(self) -> None:
        if not self.servers:
            url = self.host
            if url is None:
                from ollama_tui.api.hosts import DEFAULT_HOST, resolve_host

                try:
                    url = resolve_host(None)
                except ValueError:  # the client reports a bad $OLLAMA_HOST when it starts
                    url = DEFAULT_HOST
            first = ServerSettings(None, url, dict(self.headers), False)
            object.__setattr__(self, "servers", (first,))
            return
        object.__setattr__(self, "servers", tuple(self.servers))
        first = self.servers[0]
        if self.host is None:
            object.__setattr__(self, "host", first.url)
        elif self.host != first.url:
            raise ValueError("Settings.host must be the first server's url")
        if not self.headers:
            object.__setattr__(self, "headers", dict(first.headers))
        elif dict(self.headers) != dict(first.headers):
            raise ValueError("Settings.headers must be the first server's headers")


def default_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """$XDG_CONFIG_HOME/ollama-tui/config.toml, else ~/.config/ollama-tui/config.toml."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME", "").strip()
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / "ollama-tui" / "config.toml"


def load_config(path: Path, *, must_exist: bool = False) -> ConfigFile:
    """Read and check a config file; a missing file is empty unless ``must_exist``."""
    from ollama_tui.api.limits import MAX_CONFIG_BYTES  # here: ollama_tui.api imports httpx

    try:
        # Only a regular file of bounded size: a FIFO would hang, /dev/zero fill memory.
        text = read_text_bounded(path, MAX_CONFIG_BYTES)  # a UTF-8 BOM is dropped
    except FileNotFoundError:
        if must_exist:
            raise ConfigError(path, "file not found") from None
        return ConfigFile(path=path)
    except FileRefused as error:
        raise ConfigError(path, error.reason) from None
    except OSError as error:
        raise ConfigError(path, f"cannot read: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(path, f"not UTF-8 text ({error.reason})") from None
    import tomllib  # here, not at the top: most starts have no config file to parse

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        # tomllib's message ends with "(at line L, column C)": move the place to the front.
        message = str(error)
        match = re.search(r"\(at line (\d+), column (\d+)\)$", message)
        line = int(match.group(1)) if match else None
        if match:
            message = message[: match.start()].strip() + f" (column {match.group(2)})"
        elif message.endswith("(at end of document)"):
            line = max(1, len(text.splitlines()))
        raise ConfigError(path, f"invalid TOML: {message}", line=line) from None
    return _check(path, text, data)


def _check(path: Path, text: str, data: dict[str, Any]) -> ConfigFile:
    def fail(message: str, *key: str) -> ConfigError:
        shown = ".".join(k if re.fullmatch(_BARE, k) else _toml_string(k) for k in key)
        return ConfigError(path, message, line=find_key_line(text, key), key=shown)

    for key in data:
        if key not in _TOP_KEYS:
            raise fail(f"unknown setting (known: {', '.join(_TOP_KEYS)})", key)

    host = data.get("host")
    if host is not None and not isinstance(host, str):
        raise fail(f"must be a string, not {_type_name(host)}", "host")
    if host is not None:
        _refuse_userinfo(path, text, host, ("host",))

    interval = data.get("interval")
    if interval is not None:
        if isinstance(interval, bool) or not isinstance(interval, int | float):
            raise fail(f"must be a number of seconds, not {_type_name(interval)}", "interval")
        if not interval >= MIN_INTERVAL:
            raise fail(f"must be at least {MIN_INTERVAL} seconds", "interval")
        if not math.isfinite(interval):
            raise fail("must be a finite number of seconds", "interval")
        interval = float(interval)

    read_only = data.get("read_only")
    if read_only is not None and not isinstance(read_only, bool):
        raise fail(f"must be true or false, not {_type_name(read_only)}", "read_only")

    theme = data.get("theme")
    if theme is not None and not isinstance(theme, str):
        raise fail(f"must be a string, not {_type_name(theme)}", "theme")

    max_transfers = data.get("max_transfers")
    if max_transfers is not None:
        if isinstance(max_transfers, bool) or not isinstance(max_transfers, int):
            raise fail(f"must be a whole number, not {_type_name(max_transfers)}", "max_transfers")
        if max_transfers < 1:
            raise fail("must be at least 1", "max_transfers")

    load_timeout = _seconds(data, "load_timeout", fail)
    reconnect_timeout = _seconds(data, "reconnect_timeout", fail)
    check_interval = data.get("check_interval")
    if check_interval is not None:
        if isinstance(check_interval, bool) or not isinstance(check_interval, int | float):
            raise fail(
                f"must be a number of hours, not {_type_name(check_interval)}", "check_interval"
            )
        if not 0 <= check_interval <= MAX_CHECK_INTERVAL:
            raise fail(
                f"must be a number of hours from 0 (off) to {MAX_CHECK_INTERVAL:g}",
                "check_interval",
            )
        check_interval = float(check_interval)
    insecure_raw = data.get("insecure_registries", [])
    if not isinstance(insecure_raw, list):
        raise fail(
            f'must be an array of "host:port", not {_type_name(insecure_raw)}',
            "insecure_registries",
        )
    insecure_registries: list[str] = []
    for entry in insecure_raw:
        if not isinstance(entry, str) or not re.fullmatch(_REGISTRY_HOST, entry):
            shown = _type_name(entry) if not isinstance(entry, str) else repr(entry)
            raise fail(
                f'each entry must be "host" or "host:port" (no scheme), not {shown}',
                "insecure_registries",
            )
        insecure_registries.append(entry.lower())
    urls_raw = data.get("registry_urls", {})
    if not isinstance(urls_raw, dict):
        raise fail(
            f"must be a table ([registry_urls]), not {_type_name(urls_raw)}", "registry_urls"
        )
    registry_urls: dict[str, str] = {}
    for registry, url in urls_raw.items():
        if not re.fullmatch(_REGISTRY_HOST, registry):
            raise fail('must be a registry "host" or "host:port"', "registry_urls", registry)
        if not isinstance(url, str) or not re.fullmatch(r"https?://[^\s/@]+(/\S*)?", url):
            raise fail("must be an http:// or https:// URL", "registry_urls", registry)
        registry_urls[registry.lower()] = url

    keymap_raw = data.get("keymap", {})
    if not isinstance(keymap_raw, dict):
        raise fail(f"must be a table ([keymap]), not {_type_name(keymap_raw)}", "keymap")
    keymap: dict[str, str] = {}
    # Binding ids may contain dots ("ops.confirm.yes"): TOML reads those as nested tables.
    pending: list[tuple[tuple[str, ...], Any]] = [((k,), v) for k, v in keymap_raw.items()]
    while pending:
        path_parts, keys = pending.pop(0)
        if isinstance(keys, dict):
            pending.extend(((*path_parts, k), v) for k, v in keys.items())
            continue
        if not isinstance(keys, str) or not keys.strip():
            raise fail(
                f'must be a non-empty string of keys, e.g. "ctrl+p", not {_type_name(keys)}',
                "keymap",
                *path_parts,
            )
        keymap[".".join(path_parts)] = keys.strip()

    hosts_raw = data.get("hosts", {})
    if not isinstance(hosts_raw, dict):
        raise fail(f'must be a table ([hosts."URL"]), not {_type_name(hosts_raw)}', "hosts")
    hosts: dict[str, dict[str, str]] = {}
    for host_key, host_table in hosts_raw.items():
        _refuse_userinfo(path, text, host_key, ("hosts", host_key))
        if not isinstance(host_table, dict):
            raise fail(f"must be a table, not {_type_name(host_table)}", "hosts", host_key)
        for sub in host_table:
            if sub != "headers":
                raise fail("unknown setting (known: headers)", "hosts", host_key, sub)
        headers_raw = host_table.get("headers", {})
        if not isinstance(headers_raw, dict):
            raise fail(
                f"must be a table, not {_type_name(headers_raw)}", "hosts", host_key, "headers"
            )
        headers: dict[str, str] = {}
        for name, value in headers_raw.items():
            if not isinstance(value, str):
                raise fail(
                    f"header value must be a string, not {_type_name(value)}",
                    "hosts",
                    host_key,
                    "headers",
                    name,
                )
            # The check the client makes before sending (the message never shows the value).
            from ollama_tui.api.headers import check_header

            problem = check_header(name, value)
            if problem is None and name.lower() in (known.lower() for known in headers):
                problem = "set twice (header names ignore case)"
            if problem is not None:
                raise fail(problem, "hosts", host_key, "headers", name)
            headers[name] = value
        hosts[host_key] = headers

    servers = _check_servers(path, text, data)
    if servers and host is not None:
        raise fail("set either host or [[servers]], not both", "host")

    return ConfigFile(
        path=path,
        host=host,
        interval=interval,
        read_only=read_only,
        theme=theme,
        max_transfers=max_transfers,
        load_timeout=load_timeout,
        reconnect_timeout=reconnect_timeout,
        insecure_registries=tuple(insecure_registries),
        registry_urls=registry_urls,
        check_interval=check_interval,
        keymap=keymap,
        hosts=hosts,
        servers=servers,
        text=text,
    )


def _check_servers(path: Path, text: str, data: dict[str, Any]) -> tuple[ServerSettings, ...]:
    """The [[servers]] array: each a table of known keys with a usable, unique url, an
    optional unique name, headers the client can send, and a boolean insecure."""
    raw = data.get("servers")
    if raw is None:
        return ()

    def fail(message: str, index: int | None, *key: str) -> ConfigError:
        line = find_array_line(text, "servers", index, key) if index is not None else None
        shown = "servers" if index is None else f"servers[{index + 1}]"
        shown += "".join(f".{k}" if re.fullmatch(_BARE, k) else f".{_toml_string(k)}" for k in key)
        return ConfigError(path, message, line=line or find_key_line(text, ("servers",)), key=shown)

    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise fail(f"must be an array of tables ([[servers]]), not {_type_name(raw)}", None)
    from ollama_tui.api.headers import check_header
    from ollama_tui.api.hosts import hide_userinfo, resolve_host, userinfo_of

    servers: list[ServerSettings] = []
    names: dict[str, int] = {}
    urls: dict[str, int] = {}
    for index, item in enumerate(raw):
        for key in item:
            if key not in _SERVER_KEYS:
                raise fail(f"unknown setting (known: {', '.join(_SERVER_KEYS)})", index, key)
        url = item.get("url")
        if url is None:
            raise fail("a server needs a url", index)
        if not isinstance(url, str) or not url.strip():
            raise fail(f"must be a non-empty string, not {_type_name(url)}", index, "url")
        if userinfo_of(url) is not None:
            raise fail(
                f"a user name or password in a url is not supported: {hide_userinfo(url)} "
                "(send credentials as a header: headers = { Authorization = ... })",
                index,
                "url",
            )
        try:
            resolved = resolve_host(url, environ={})
        except ValueError as error:
            raise fail(str(error), index, "url") from None
        if resolved in urls:
            raise fail(
                f"{resolved} is already server {urls[resolved] + 1} (each server once)",
                index,
                "url",
            )
        urls[resolved] = index
        name = item.get("name")
        if name is not None:
            if not isinstance(name, str):
                raise fail(f"must be a string, not {_type_name(name)}", index, "name")
            name = name.strip()
            if not name or len(name) > MAX_SERVER_NAME:
                raise fail(f"must be 1 to {MAX_SERVER_NAME} characters", index, "name")
            if not name.isprintable():
                raise fail("must be one line of printable characters", index, "name")
            if name.casefold() in names:
                raise fail(
                    f"already the name of server {names[name.casefold()] + 1} "
                    "(names must be unique, ignoring case)",
                    index,
                    "name",
                )
            names[name.casefold()] = index
        insecure = item.get("insecure", False)
        if not isinstance(insecure, bool):
            raise fail(f"must be true or false, not {_type_name(insecure)}", index, "insecure")
        headers_raw = item.get("headers", {})
        if not isinstance(headers_raw, dict):
            raise fail(f"must be a table, not {_type_name(headers_raw)}", index, "headers")
        headers: dict[str, str] = {}
        for header, value in headers_raw.items():
            if not isinstance(value, str):
                raise fail(
                    f"header value must be a string, not {_type_name(value)}",
                    index,
                    "headers",
                    header,
                )
            problem = check_header(header, value)  # never shows the value
            if problem is None and header.lower() in (known.lower() for known in headers):
                problem = "set twice (header names ignore case)"
            if problem is not None:
                raise fail(problem, index, "headers", header)
            headers[header] = value
        servers.append(ServerSettings(name, resolved, headers, insecure))
    return tuple(servers)


def _refuse_userinfo(path: Path, text: str, host: str, key: tuple[str, ...]) -> None:
    """A host with ``user:password@`` is refused; the message shows it as ``user:***@``."""
    from ollama_tui.api.hosts import hide_userinfo, userinfo_of

    if userinfo_of(host) is None:
        return
    shown = ".".join(_toml_string(hide_userinfo(k)) if k == host else k for k in key)
    raise ConfigError(
        path,
        f"a user name or password in a host is not supported: {hide_userinfo(host)} "
        '(send credentials as a header: [hosts."URL".headers])',
        line=find_key_line(text, key),
        key=shown,
    )


def _seconds(data: dict[str, Any], key: str, fail: Callable[..., ConfigError]) -> float | None:
    """A duration setting: a finite number of seconds above 0, or None when not set."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail(f"must be a number of seconds, not {_type_name(value)}", key)
    if not value > 0 or not math.isfinite(value):
        raise fail("must be a finite number of seconds above 0", key)
    return float(value)


def _type_name(value: object) -> str:
    names = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "a table",
    }
    return names.get(type(value), type(value).__name__)


def _normalize_host(host: str) -> str:
    """Compare hosts the way the client resolves them ("gpu-box" == "http://gpu-box:11434")."""
    try:
        from ollama_tui.api.hosts import resolve_host

        return resolve_host(host, environ={})
    except Exception:  # a bad host key must not stop the app: compare as written
        return host.strip().rstrip("/")


# --- locating keys in the text (tomllib gives no positions for type errors) --------------------

_BARE = r"[A-Za-z0-9_-]+"
_BASIC = r'"(?:[^"\\]|\\.)*"'
_LITERAL = r"'[^']*'"
_KEY_PART = re.compile(rf"\s*({_BARE}|{_BASIC}|{_LITERAL})\s*")


def _split_key(text: str) -> tuple[list[str], str] | None:
    """Parse a dotted key at the start of ``text``; returns (parts, rest) or None."""
    parts: list[str] = []
    pos = 0
    while True:
        match = _KEY_PART.match(text, pos)
        if not match:
            return None
        token = match.group(1)
        if token.startswith('"'):
            import tomllib

            try:
                token = tomllib.loads(f"k = {token}")["k"]
            except tomllib.TOMLDecodeError:
                token = token[1:-1]
        elif token.startswith("'"):
            token = token[1:-1]
        parts.append(token)
        pos = match.end()
        if pos < len(text) and text[pos] == ".":
            pos += 1
            continue
        return parts, text[pos:]


def find_key_line(
    text: str, key: tuple[str, ...] | list[str], *, exact: bool = False
) -> int | None:
    """1-based line where ``key`` (a path like ("hosts", URL, "headers")) is set or its table
    starts; the nearest enclosing table's line when the exact key is not found (unless
    ``exact``)."""
    wanted = list(key)
    if not wanted:
        return None
    table: list[str] = []
    best: tuple[int, int] | None = None  # (matched length, line)
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            inner = line[2:] if line.startswith("[[") else line[1:]
            parsed = _split_key(inner)
            if parsed is None:
                continue
            table = parsed[0]
            full = table
        else:
            parsed = _split_key(line)
            if parsed is None or not parsed[1].lstrip().startswith("="):
                continue
            full = table + parsed[0]
        if full == wanted:
            return number
        common = 0
        for a, b in zip(full, wanted, strict=False):
            if a != b:
                break
            common += 1
        # Only a key that is a prefix of the wanted one (its table) is a useful fallback.
        if common == len(full) and (best is None or common > best[0]):
            best = (common, number)
    return best[1] if best and not exact else None


def find_array_line(
    text: str, array: str, index: int | None, key: tuple[str, ...] | list[str]
) -> int | None:
    """1-based line of ``key`` inside the ``index``-th ``[[array]]`` table (from 0), its
    sub-tables (``[array.headers]``) and inline tables included; the line of the nearest
    enclosing part found, else the ``[[array]]`` header's line."""
    wanted = list(key)
    count = -1
    inside = False
    sub: list[str] = []
    best: tuple[int, int] | None = None  # (matched length, line)
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            parsed = _split_key(line[2:] if line.startswith("[[") else line[1:])
            if parsed is None:
                continue
            parts = parsed[0]
            if line.startswith("[[") and parts == [array]:
                count += 1
                inside = count == index
                sub = []
                if inside:
                    best = (0, number)
            elif inside and parts[:1] == [array] and len(parts) > 1:
                sub = parts[1:]
                full = sub
            else:
                inside = False
                continue
            if not inside or not sub:
                continue
        elif inside:
            parsed = _split_key(line)
            if parsed is None or not parsed[1].lstrip().startswith("="):
                continue
            full = sub + parsed[0]
            value = parsed[1].lstrip()[1:].lstrip()
            # headers = { Name = "..." }: an inline table is one line, its keys on it.
            if full == wanted[: len(full)] and len(full) < len(wanted) and value.startswith("{"):
                return number
        else:
            continue
        if full == wanted:
            return number
        common = len(full) if full == wanted[: len(full)] else 0
        if common and (best is None or common > best[0]):
            best = (common, number)
    return best[1] if best else None


# --- writing the theme back -------------------------------------------------------------------

_TOP_THEME = re.compile(r"^\s*theme\s*=")


def save_theme(path: Path, theme: str) -> None:
    """Set ``theme = "..."`` in the config file, keeping every other line as it is."""
    import tomllib

    from ollama_tui.api.limits import MAX_CONFIG_BYTES

    try:
        raw = read_bounded(path, MAX_CONFIG_BYTES)
    except FileNotFoundError:
        raw = b""
    bom = b"\xef\xbb\xbf" if raw.startswith(b"\xef\xbb\xbf") else b""
    text = raw[len(bom) :].decode("utf-8")
    lines = text.splitlines(keepends=True)
    new_line = f"theme = {_toml_string(theme)}\n"
    first_table = next(
        (i for i, line in enumerate(lines) if line.lstrip().startswith("[")), len(lines)
    )
    for index in range(first_table):
        if _TOP_THEME.match(lines[index]):
            lines[index] = new_line
            break
    else:
        # A top-level key must come before the first [table]; after leading comments.
        insert_at = 0
        while insert_at < first_table and lines[insert_at].lstrip().startswith("#"):
            insert_at += 1
        lines.insert(insert_at, new_line)
    new_text = "".join(lines)
    tomllib.loads(new_text)  # never write a file we could not read back
    # Through a symlink to its target, keeping its mode; a new file is 0600 (it may come to
    # hold Authorization headers).
    atomic_write(path, bom + new_text.encode("utf-8"), private=True, make_dirs=True)


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
