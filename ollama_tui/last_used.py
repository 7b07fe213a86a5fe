"""When each model was last seen loaded (in ``/api/ps``), per server, kept across restarts.

Ollama does not record when a model was last used; the app does, from what it polls. The file
lives in the XDG state dir (``$XDG_STATE_HOME/ollama-tui/last-used.json``, default
``~/.local/state/ollama-tui/``), is written atomically with mode 0600, and stays bounded:
entries of models gone from their server for ``FORGET_AFTER`` are dropped, and there are at
most ``limits.MAX_MODELS`` per server. A corrupt file is set aside (renamed) with a message,
never a crash. No Textual or Rich here.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ollama_tui.api import limits
from ollama_tui.files import StateFile

__all__ = ["FORGET_AFTER", "LastUsedStore", "ServerUsage", "Usage", "default_state_path"]

FORGET_AFTER = 90 * 24 * 3600.0
"""A model gone from its server this long is forgotten."""
MAX_STATE_BYTES = 16 * 1024 * 1024
FILE_NAME = "last-used.json"
VERSION = 1


def default_state_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_STATE_HOME/ollama-tui/last-used.json``, else ``~/.local/state/ollama-tui/...``."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_STATE_HOME", "").strip()
    folder = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "state"
    return folder / "ollama-tui" / FILE_NAME


class Named(Protocol):
    @property
    def name(self) -> str: ...


@dataclass
class Usage:
    last_used: float | None = None
    """Wall-clock time the model was last seen loaded (None: never, since watching began)."""
    gone_since: float | None = None
    """When the model was first missing from the server's list (None: it is there)."""


class LastUsedStore(StateFile):
    """Per server (its URL) and model name: when it was last seen in ``/api/ps``. The file is
    read at once; ``warning`` is said once to the user (e.g. a corrupt file set aside)."""

    WHAT = "last-used times"
    MAX_BYTES = MAX_STATE_BYTES

    def __init__(self, path: Path | None) -> None:
        super().__init__(path)
        self._servers: dict[str, dict[str, Usage]] = {}
        self._since: dict[str, float] = {}
        self._read()

    # -- reading -------------------------------------------------------------------------------

    def watching_since(self, server: str) -> float | None:
        """Since when the app has watched ``server`` (what "never used" is relative to)."""
        return self._since.get(server)

    def last_used(self, server: str, model: str) -> float | None:
        usage = self._servers.get(server, {}).get(model.lower())
        return usage.last_used if usage is not None else None

    # -- recording -----------------------------------------------------------------------------

    def observe(
        self,
        server: str,
        running: Iterable[str],
        installed: Iterable[str] | None,
        now: float,
    ) -> bool:
        """A poll of ``server`` answered: ``running`` are in use now; ``installed`` are there
        (None: the same as last time, so only the running models are looked at: O(running)).

        Returns whether a last-used time changed (what the LAST USED column shows)."""
        changed = False
        if server not in self._since:
            self._since[server] = now
            self._dirty = changed = True
        models = self._servers.setdefault(server, {})
        for name in running:
            usage = models.setdefault(name.lower(), Usage())
            if usage.last_used is None or now - usage.last_used >= 60 or usage.gone_since:
                # Minute resolution: a poll every 2 s must not rewrite the file every 2 s.
                usage.last_used = now
                usage.gone_since = None
                self._dirty = changed = True
        if installed is None:
            return changed
        present = {name.lower() for name in installed}
        for name, usage in list(models.items()):
            if name in present:
                if usage.gone_since is not None:
                    usage.gone_since = None
                    self._dirty = True
            elif usage.gone_since is None:
                usage.gone_since = now
                self._dirty = True
            elif now - usage.gone_since > FORGET_AFTER:
                del models[name]
                self._dirty = True
        if len(models) > limits.MAX_MODELS:  # the least recently used go first
            order = sorted(models, key=lambda n: models[n].last_used or 0.0)
            for name in order[: len(models) - limits.MAX_MODELS]:
                del models[name]
            self._dirty = True
        return changed

    # -- the file ------------------------------------------------------------------------------

    def _take(self, data: Any) -> None:
        self._servers, self._since = _parse(data)

    def _merge(self, data: Any) -> None:
        servers, since = _parse(data)
        for server, theirs in servers.items():
            mine = self._servers.get(server)
            if mine is None:  # a server only the other process watches
                self._servers[server] = theirs
                self._since[server] = since[server]
                continue
            self._since[server] = min(self._since.get(server, since[server]), since[server])
            for name, usage in theirs.items():
                kept = mine.get(name)
                if kept is None:
                    mine[name] = usage
                elif usage.last_used is not None and (
                    kept.last_used is None or usage.last_used > kept.last_used
                ):
                    kept.last_used = usage.last_used

    def _to_json(self) -> Any:
        return {
            "version": VERSION,
            "servers": {
                server: {
                    "since": self._since.get(server, 0.0),
                    "models": {
                        name: {"last_used": usage.last_used, "gone_since": usage.gone_since}
                        for name, usage in models.items()
                    },
                }
                for server, models in self._servers.items()
            },
        }


def _parse(data: Any) -> tuple[dict[str, dict[str, Usage]], dict[str, float]]:
    """(models' usage by server, since when each server is watched) of a last-used file."""
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise ValueError("not a last-used file of this version")
    servers: dict[str, dict[str, Usage]] = {}
    since: dict[str, float] = {}
    for server, entry in data["servers"].items():
        since[str(server)] = float(entry["since"])
        servers[str(server)] = {
            str(name): Usage(_time(value.get("last_used")), _time(value.get("gone_since")))
            for name, value in entry["models"].items()
        }
    return servers, since


class ServerUsage:
    """One server's last-used times as the app sees them (kept on its session): what the
    LAST USED column reads. Fed every poll, it costs O(running) unless the installed list
    changed (then O(installed), like the table's own diff)."""

    __slots__ = ("_installed", "running", "server", "store")

    def __init__(self, store: LastUsedStore, server: str) -> None:
        self.store = store
        self.server = server
        """The store's key for the server: its URL (stable across restarts)."""
        self.running: frozenset[str] = frozenset()
        """The names (lower case) loaded now."""
        self._installed: object = None

    def polled(self, running: Sequence[Named], installed: Sequence[Named], now: float) -> bool:
        """A poll answered with these lists (the poller hands back the same list objects when
        nothing changed). Returns whether what the column shows changed."""
        names = [model.name for model in running]
        listed = None
        if installed is not self._installed:
            self._installed = installed
            listed = [model.name for model in installed]
        changed = self.store.observe(self.server, names, listed, now)
        loaded = frozenset(name.lower() for name in names)
        if loaded != self.running:
            self.running = loaded
            changed = True
        return changed

    def is_running(self, name: str) -> bool:
        return name.lower() in self.running

    def last_used(self, name: str) -> float | None:
        return self.store.last_used(self.server, name)

    def sort_key(self, name: str) -> float:
        """Oldest first: never seen is the oldest, a model loaded now the newest."""
        if name.lower() in self.running:
            return math.inf
        when = self.store.last_used(self.server, name)
        return -math.inf if when is None else when

    @property
    def watching_since(self) -> float | None:
        return self.store.watching_since(self.server)


def _time(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError("not a time")
    return number
