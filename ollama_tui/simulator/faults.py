"""Fault injection: per-path rules that make the simulator misbehave on purpose.

Kinds and parameters:

- ``delay``          ``seconds`` (float): wait, then answer normally.
- ``status``         ``status`` (int, default 500), ``message`` (str): answer
                     ``{"error": message}`` with that status.
- ``malformed_json`` answer 200 with a truncated JSON body.
- ``not_json``       answer 200 with an HTML page (what a captive proxy returns).
- ``cut``            ``after_lines`` (int, default 0): send K lines of the real answer, then drop
                     the connection abruptly.
- ``error_line``     ``after_lines`` (int, default 0), ``message``: send K lines of the real
                     answer, then ``{"error": message}`` and end the stream (HTTP stays 200).
- ``end``            ``after_lines`` (int, default 0): send K lines of the real answer, then end
                     the stream cleanly, without its last line (a runner that died mid-generation,
                     OLLAMA_API.md §17: no ``done`` line and no ``error`` line, HTTP 200).
- ``hang``           accept the request and never answer (until the client gives up or stop()).
- ``refuse``         close the connection at once without any response.

``count`` = how many matching requests a rule applies to (None = until cleared). ``path`` is
the exact request path (``/api/tags``) or ``*`` for every API path. The first live rule that
matches a request is consumed.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

KINDS = frozenset(
    {
        "delay",
        "status",
        "malformed_json",
        "not_json",
        "cut",
        "error_line",
        "end",
        "hang",
        "refuse",
    }
)


@dataclass(frozen=True)
class Fault:
    """One fault rule as applied to a request."""

    path: str
    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def after_lines(self) -> int:
        """Lines of real output before a ``cut`` / ``error_line`` / ``end`` strikes."""
        return int(self.params.get("after_lines", 0))

    @property
    def message(self) -> str:
        """Error text for ``status`` / ``error_line``."""
        default = "simulated error" if self.kind == "error_line" else "simulated failure"
        return str(self.params.get("message", default))

    @property
    def status(self) -> int:
        """HTTP status for the ``status`` kind."""
        return int(self.params.get("status", 500))

    @property
    def seconds(self) -> float:
        """Delay for the ``delay`` kind."""
        return float(self.params.get("seconds", 1.0))

    def to_json(self) -> dict[str, Any]:
        """Plain JSON view."""
        return {"path": self.path, "kind": self.kind, **self.params}


@dataclass
class _Rule:
    fault: Fault
    remaining: int | None


class FaultSet:
    """Thread-safe set of fault rules, consulted once per API request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []

    def add(self, path: str, kind: str, *, count: int | None = None, **params: Any) -> Fault:
        """Add a rule; raises ValueError for an unknown kind or a bad count."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {sorted(KINDS)}")
        if count is not None and count < 1:
            raise ValueError("count must be >= 1 or None")
        if not path:
            raise ValueError("path is required")
        fault = Fault(path, kind, dict(params))
        with self._lock:
            self._rules.append(_Rule(fault, count))
        return fault

    def clear(self, path: str | None = None) -> None:
        """Remove every rule (or only those for one path)."""
        with self._lock:
            self._rules = [r for r in self._rules if path is not None and r.fault.path != path]

    def take(self, path: str) -> Fault | None:
        """The fault for this request (consuming one use of it), or None."""
        with self._lock:
            for rule in self._rules:
                if rule.fault.path in (path, "*"):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                        if rule.remaining <= 0:
                            self._rules.remove(rule)
                    return rule.fault
        return None

    @property
    def active(self) -> list[Fault]:
        """The rules still in force."""
        with self._lock:
            return [r.fault for r in self._rules]

    def __len__(self) -> int:
        with self._lock:
            return len(self._rules)
