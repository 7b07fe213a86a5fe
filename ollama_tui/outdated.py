"""``ollama-tui outdated``: which installed models have a newer version at their registry.

Like ``pip list --outdated``: a table (or ``--json``), exit code 0 when nothing is outdated,
1 when something is, 2 for usage and config errors, 3 when a server could not be listed.
The checks run from this machine, not from the Ollama server. No Textual here.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from typing import TextIO

from ollama_tui.api import OllamaClient, OllamaError
from ollama_tui.config import Settings
from ollama_tui.formatting import print_columns, safe_line
from ollama_tui.registry import (
    CheckCache,
    CheckResult,
    Freshness,
    RegistryChecker,
    default_cache_path,
)

__all__ = ["EXIT_OUTDATED", "EXIT_SERVER", "check_servers", "print_table", "run"]

EXIT_OUTDATED = 1
EXIT_SERVER = 3
_ORDER = {Freshness.OUTDATED: 0, Freshness.UNKNOWN: 1, Freshness.LOCAL: 2, Freshness.UP_TO_DATE: 3}


async def check_servers(
    settings: Settings, checker: RegistryChecker
) -> tuple[list[tuple[str, CheckResult]], list[str]]:
    """(server label, result) for every local model of every server; and the servers that
    could not be listed (with why)."""
    results: list[tuple[str, CheckResult]] = []
    failures: list[str] = []
    for server in settings.servers:
        label = server.title
        try:
            async with OllamaClient(
                server.url, headers=server.headers, insecure=server.insecure
            ) as client:
                models = [m for m in await client.list_models() if not m.is_remote]
        except OllamaError as error:
            failures.append(f"{label}: {error}")
            continue
        checked = await checker.check_many((m.name, m.digest) for m in models)
        results += [(label, result) for result in checked]
    results.sort(key=lambda item: (_ORDER[item[1].state], item[1].model.lower(), item[0]))
    return results, failures


def _short(digest: str | None) -> str:
    return digest.removeprefix("sha256:")[:12] if digest else "–"


def print_table(
    results: Sequence[tuple[str, CheckResult]], several: bool, out: TextIO | None = None
) -> None:
    out = out or sys.stdout
    header = ["Model", "State", "Local", "Remote", "Reason"]
    if several:
        header.insert(0, "Server")
    rows = []
    for server, result in results:
        row = [
            safe_line(result.model),
            str(result.state),
            _short(result.local_digest),
            _short(result.remote_digest),
            safe_line(result.reason),
        ]
        if several:
            row.insert(0, safe_line(server))
        rows.append(row)
    print_columns(header, rows, out)
    counts = {state: sum(1 for _, r in results if r.state is state) for state in Freshness}
    print(
        f"\n{counts[Freshness.OUTDATED]} outdated, {counts[Freshness.UP_TO_DATE]} up to date, "
        f"{counts[Freshness.LOCAL]} local only, {counts[Freshness.UNKNOWN]} unknown "
        "(checked from this machine)",
        file=out,
    )


def run(settings: Settings, *, as_json: bool, out: TextIO | None = None) -> int:
    """Check every server's models; print; the exit code."""
    out = out or sys.stdout

    async def check() -> tuple[list[tuple[str, CheckResult]], list[str]]:
        async with RegistryChecker(
            insecure_registries=settings.insecure_registries,
            registry_urls=settings.registry_urls,
            cache=CheckCache(default_cache_path()),
        ) as checker:
            return await check_servers(settings, checker)

    results, failures = asyncio.run(check())
    several = len(settings.servers) > 1
    if as_json:
        items = []
        for server, result in results:
            item = result.to_json()
            if several:
                item["server"] = server
            items.append(item)
        json.dump(items, out, indent=2)
        out.write("\n")
    else:
        print_table(results, several, out)
    for failure in failures:
        print(f"ollama-tui outdated: cannot list {safe_line(failure)}", file=sys.stderr)
    if any(result.state is Freshness.OUTDATED for _, result in results):
        return EXIT_OUTDATED
    return EXIT_SERVER if failures else 0
