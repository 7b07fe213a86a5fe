"""``ollama-tui probe MODEL``: the speed of one model on every server that has it.

One server at a time (a probe loads the model: two at once would compete for the same
machine if two servers share one), a table sorted fastest first or ``--json``; the results
are kept in the probe file (``probe.ProbeStore``). Exit codes like ``outdated``: 0 done, 2
usage or config error (also: refused in read-only mode), 3 a server failed, 4 no server has
the model. No Textual here.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TextIO

from ollama_tui.api import InvalidInput, OllamaClient, OllamaError
from ollama_tui.api.keep_alive import KeepAlive, parse_keep_alive
from ollama_tui.api.models import is_embedding_only
from ollama_tui.api.names import names_equal, parse_model_name
from ollama_tui.config import Settings
from ollama_tui.formatting import print_columns, safe_line
from ollama_tui.probe import (
    ProbeResult,
    ProbeStore,
    load_notice,
    probe_store_path,
    run_probe,
)

__all__ = [
    "EXIT_NOWHERE",
    "EXIT_SERVER",
    "EXIT_USAGE",
    "Probed",
    "fastest_first",
    "print_table",
    "probe_servers",
    "run",
]

EXIT_USAGE = 2
EXIT_SERVER = 3
EXIT_NOWHERE = 4
NAME = "ollama-tui probe"


@dataclass(frozen=True)
class Probed:
    """What happened on one server: a ``result``, or ``why`` not (``failed``: an error, not
    merely a server without the model)."""

    label: str
    result: ProbeResult | None = None
    why: str = ""
    failed: bool = False


def fastest_first(items: Sequence[Probed]) -> list[Probed]:
    """Results by their headline speed, fastest first (unknown speeds last), then the rest
    in the servers' order."""
    done = [p for p in items if p.result is not None]
    done.sort(key=lambda p: (p.result is None or p.result.speed is None, -(_speed(p))))
    return done + [p for p in items if p.result is None]


def _speed(probed: Probed) -> float:
    result = probed.result
    return 0.0 if result is None or result.speed is None else result.speed


async def probe_servers(
    settings: Settings,
    model: str,
    *,
    keep_alive: KeepAlive | None = None,
    tell: Callable[[str], None] | None = None,
    store: ProbeStore | None = None,
) -> list[Probed]:
    """Probe ``model`` on every server of ``settings`` that has it, one after the other, in
    the servers' order; ``tell`` hears a line as each starts; ``store`` gets each result."""
    outcomes: list[Probed] = []
    for server in settings.servers:
        label = server.title
        try:
            async with OllamaClient(
                server.url, headers=server.headers, insecure=server.insecure
            ) as client:
                found = next(
                    (
                        m
                        for m in await client.list_models()
                        if names_equal(m.name, model) or names_equal(m.model, model)
                    ),
                    None,
                )
                if found is None:
                    outcomes.append(Probed(label, why="does not have the model"))
                    continue
                if found.is_remote:
                    outcomes.append(Probed(label, why="a cloud model there; not probed"))
                    continue
                capabilities = found.capabilities or (await client.show(found.name)).capabilities
                if tell is not None:
                    tell(f"Probing {safe_line(found.name)} on {safe_line(label)}…")
                result = await run_probe(
                    client,
                    found.name,
                    found.digest,
                    embedding=is_embedding_only(capabilities),
                    keep_alive=keep_alive,
                )
        except OllamaError as error:
            outcomes.append(Probed(label, why=str(error), failed=True))
            continue
        if store is not None:
            store.put(result)
        outcomes.append(Probed(label, result))
    return outcomes


def _figure(value: float | None, unit: str = "") -> str:
    if value is None:
        return "–"
    text = f"{value:,.1f}" if value < 1e9 else f"{value:.3g}"
    return f"{text} {unit}".rstrip()


def _when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))


def print_table(outcomes: Sequence[Probed], out: TextIO | None = None) -> None:
    """The comparison, fastest first; then the servers not probed, with why."""
    out = out or sys.stdout
    header = ["Server", "Load s", "Prompt tok/s", "Speed", "When"]
    rows = []
    for probed in fastest_first(outcomes):
        result = probed.result
        if result is None:
            continue
        rows.append(
            [
                safe_line(probed.label),
                f"{result.load_seconds:.2f}",
                _figure(result.prompt_tokens_per_second),
                _figure(result.speed, result.unit),
                _when(result.at),
            ]
        )
    if rows:
        print_columns(header, rows, out, right={1, 2, 3})
    skipped = [p for p in outcomes if p.result is None]
    if skipped:
        print("\nNot probed:" if rows else "Not probed:", file=out)
        for probed in skipped:
            print(f"  {safe_line(probed.label)}: {safe_line(probed.why)}", file=out)


def run(
    settings: Settings,
    model: str,
    *,
    as_json: bool,
    keep_alive: str | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Probe, print, save; the exit code."""
    out = out or sys.stdout
    err = err or sys.stderr
    if settings.read_only:
        print(
            f"{NAME}: refused in read-only mode (--read-only, or read_only in the config): a "
            "probe loads the model on each server. Give --no-read-only to probe anyway.",
            file=err,
        )
        return EXIT_USAGE
    try:
        parse_model_name(model)
    except InvalidInput as error:
        print(f"{NAME}: bad model name: {safe_line(error)}", file=err)
        return EXIT_USAGE
    try:
        keep = None if keep_alive is None else parse_keep_alive(keep_alive)
    except InvalidInput as error:
        print(f"{NAME}: bad --keep-alive: {error}", file=err)
        return EXIT_USAGE
    print(load_notice(safe_line(model), keep, several=True), file=err, flush=True)
    store = ProbeStore(probe_store_path(settings.state_path))
    problem = store.load()
    if problem:
        print(f"{NAME}: {safe_line(problem)}", file=err)

    def tell(line: str) -> None:
        print(line, file=err, flush=True)

    try:
        outcomes = asyncio.run(
            probe_servers(settings, model, keep_alive=keep, tell=tell, store=store)
        )
    finally:
        before = store.warning
        store.save()
        if store.warning and store.warning != before:
            print(f"{NAME}: {safe_line(store.warning)}", file=err)
    if as_json:
        items = []
        for probed in fastest_first(outcomes):
            if probed.result is None:
                continue
            item = probed.result.to_json()
            item.update(label=probed.label, speed=probed.result.speed, unit=probed.result.unit)
            items.append(item)
        json.dump(items, out, indent=2)
        out.write("\n")
        for probed in outcomes:
            if probed.result is None:
                print(
                    f"{NAME}: not probed on {safe_line(probed.label)}: {safe_line(probed.why)}",
                    file=err,
                )
    else:
        print_table(outcomes, out)
    if any(p.failed for p in outcomes):
        return EXIT_SERVER
    if not any(p.result is not None for p in outcomes):
        print(f"{NAME}: no server has {safe_line(model)}", file=err)
        return EXIT_NOWHERE
    return 0
