"""Soak test (a script, not collected by pytest): ``python tests/soak.py [--minutes 10] [--json]``.

The app runs headless (``run_test``) against the simulator in another process for N minutes
while this script
- injects a random fault every few seconds (delay, HTTP error status, malformed/non-JSON body,
  a stream cut or error line, a hang, a refused connection) on the poll, pull and delete
  endpoints, through the simulator's control API;
- pulls catalogue models in a loop through the app's job queue, and deletes installed ones
  through the app's own delete flow (``operations.delete`` + ``y`` in the confirm dialog);
- samples every few seconds: RSS (``VmRSS``), ``len(app.workers)``, asyncio tasks, jobs, and
  the simulator's open connections (the simulator child reports ``open_connections``).

At the end it clears the faults, cancels what is still running, waits for the app to go idle
and a clean poll, collects garbage, and compares with the idle state measured after warm-up.
Goals: RSS growth under 10 MB, no leaked workers, tasks or connections, zero unhandled
exceptions (app crash, ERROR log records, exceptions the event loop had to report, unraisable
exceptions, workers that ended in ERROR). Exit status 0 if every goal is met, 1 otherwise.

A pull that makes no progress for ``--stall`` seconds (a ``hang`` fault on /api/pull; streams
have no read timeout) is cancelled by this script and counted as "stalled".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import os
import random
import subprocess
import sys
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PULLABLE = (
    "llama3.2:1b",
    "qwen2.5:0.5b",
    "gemma3:1b",
    "nomic-embed-text:latest",
    "deepseek-r1:1.5b",
)
FAULTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("delay", {"seconds": 1.5}),
    ("status", {"status": 500, "message": "soak: internal error"}),
    ("status", {"status": 503, "message": "soak: unavailable"}),
    ("malformed_json", {}),
    ("not_json", {}),
    ("cut", {"after_lines": 3}),
    ("error_line", {"after_lines": 2, "message": "soak: stream error"}),
    ("hang", {}),
    ("refuse", {}),
)
FAULT_PATHS = ("/api/tags", "/api/ps", "/api/pull", "/api/delete", "/api/version", "*")
GOAL_RSS_MB = 10.0


def live_widgets() -> Counter[str]:
    """Live Textual DOM nodes by class (a leak shows up as a growing count)."""
    from textual.dom import DOMNode

    return Counter(type(o).__name__ for o in gc.get_objects() if isinstance(o, DOMNode))


def brief(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "object_types"}


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- the simulator in its own process -----------------------------------------------------------


def serve(models: int, bandwidth: float) -> int:
    """Child mode: run a Simulator, print its URL, then its connection counts twice a second."""
    from ollama_tui.simulator import Simulator

    async def main() -> None:
        sim = Simulator(models=models, bandwidth=bandwidth)
        url = await sim.start("127.0.0.1", 0)
        print(url, flush=True)
        try:
            while True:
                status = {"open": sim.open_connections, "requests": len(sim.requests)}
                tcp = getattr(sim, "tcp_connections", None)
                if tcp is not None:
                    status["tcp"] = tcp
                print(json.dumps(status), flush=True)
                sim.requests.clear()  # the simulator's own log must not grow for hours
                await asyncio.sleep(0.5)
        finally:
            await sim.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    return 0


class SimChild:
    def __init__(self, models: int, bandwidth: float) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
        command = [sys.executable, str(Path(__file__).resolve()), "--serve"]
        command += ["--models", str(models), "--bandwidth", str(bandwidth)]
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http"):
            self.close()
            raise RuntimeError(f"simulator did not start: {self.url!r}")
        self.status: dict[str, int] = {}
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with contextlib.suppress(ValueError):
                self.status = json.loads(line)

    async def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> None:
        """The simulator's control API, from the app's loop (no threads: they would add
        malloc arenas to the RSS being measured)."""
        import httpx

        async with httpx.AsyncClient(base_url=self.url, timeout=5) as client:
            response = await client.request(method, path, json=body)
            response.raise_for_status()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --- problem collection ---------------------------------------------------------------------


class Problems:
    """Everything that counts as an unhandled exception."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, text: str) -> None:
        self.items.append(text)
        print(f"  PROBLEM: {text}", file=sys.stderr, flush=True)


class ErrorLogHandler(logging.Handler):
    def __init__(self, problems: Problems) -> None:
        super().__init__(logging.ERROR)
        self.problems = problems

    def emit(self, record: logging.LogRecord) -> None:
        detail = ""
        if record.exc_info and record.exc_info[1] is not None:
            detail = f": {type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
        self.problems.add(f"log {record.name}: {record.getMessage()}{detail}")


# --- the soak -----------------------------------------------------------------------------------


async def soak(args: argparse.Namespace, sim: SimChild) -> dict[str, Any]:
    from textual.screen import ModalScreen
    from textual.worker import Worker, WorkerState

    from ollama_tui.app import OllamaTuiApp
    from ollama_tui.config import Settings

    rng = random.Random(args.seed)
    problems = Problems()
    logging.getLogger().addHandler(ErrorLogHandler(problems))
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(
        lambda _loop, context: problems.add(
            f"event loop: {context.get('message')} {context.get('exception')!r}"
        )
    )
    sys.unraisablehook = lambda u: problems.add(f"unraisable: {u.exc_type.__name__}: {u.exc_value}")

    def message_hook(message: Any) -> None:
        if isinstance(message, Worker.StateChanged) and message.state == WorkerState.ERROR:
            worker = message.worker
            problems.add(f"worker {worker.name!r} failed: {worker.error!r}")

    counts: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    progress: dict[int, tuple[int, float]] = {}  # job id -> (bytes seen, when they changed)
    samples: list[dict[str, Any]] = []
    app = OllamaTuiApp(Settings(host=sim.url, interval=args.interval, max_transfers=2))
    crashed: BaseException | None = None

    def sample(phase: str) -> dict[str, Any]:
        row = {
            "t": round(time.monotonic() - started, 1),
            "phase": phase,
            "rss_mb": round(rss_mb(), 2),
            "workers": len(app.workers),
            "tasks": len(asyncio.all_tasks()),
            "jobs_active": len(app.jobs.active),
            "jobs_total": len(app.jobs.jobs),
            "sim_open": sim.status.get("open", -1),
            "screens": len(app.screen_stack),
        }
        samples.append(row)
        return row

    async def wait_for(predicate: Callable[[], object], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    async def settle(pilot: Any) -> dict[str, Any]:
        """Faults off, nothing running, one clean poll, garbage collected: the idle state."""
        await sim.control("DELETE", "/_sim/faults")
        while isinstance(app.screen, ModalScreen):
            await pilot.press("escape")
            await pilot.pause()
        for job in app.jobs.active:
            app.jobs.cancel(job.id)
        await wait_for(lambda: not app.jobs.active, 30)
        count = app.poll_count
        app.request_refresh()
        await wait_for(lambda: app.poll_count > count and not app.polling, 30)
        ok = await wait_for(lambda: app.status.state == "connected", 30)
        if not ok:
            app.request_refresh()
            await wait_for(lambda: app.status.state == "connected", 35)
        await wait_for(lambda: sim.status.get("open", 1) == 0, 10)
        await pilot.pause()
        for job in app.jobs.jobs:
            if str(job.state) == "failed" and job.error:
                failures[f"job failed: {job.error[:70]}"] += 1
        app.jobs.clear_finished()  # the job history is kept on purpose; not a leak
        for _ in range(3):
            gc.collect()
        await asyncio.sleep(0.5)
        row = sample("idle")
        row["live_widgets"] = live_widgets()
        row["object_types"] = Counter(type(o).__name__ for o in gc.get_objects())
        return row

    started = time.monotonic()
    end = started + args.minutes * 60
    try:
        async with app.run_test(size=(140, 42), message_hook=message_hook) as pilot:
            await wait_for(lambda: app.installed, 30)
            # Warm-up: one round of everything, so caches and imports are not counted as growth.
            warm_until = time.monotonic() + min(20.0, args.minutes * 60 * 0.15)
            await run_load(app, pilot, sim, rng, counts, progress, warm_until, args, faults=False)
            before = await settle(pilot)
            print(f"idle after warm-up: {brief(before)}", file=sys.stderr, flush=True)
            if args.trace:
                tracemalloc.start(args.trace_frames)
                first_snapshot = tracemalloc.take_snapshot()
            next_sample = time.monotonic()
            while time.monotonic() < end:
                step_end = min(end, time.monotonic() + args.sample_every)
                await run_load(app, pilot, sim, rng, counts, progress, step_end, args, faults=True)
                if time.monotonic() >= next_sample:
                    print(f"  {sample('load')}", file=sys.stderr, flush=True)
                    next_sample = time.monotonic() + args.sample_every
                if app._exception is not None:
                    break
            after = await settle(pilot)
            print(f"idle at the end: {brief(after)}", file=sys.stderr, flush=True)
            if args.trace:
                last_snapshot = tracemalloc.take_snapshot()
                by_file = last_snapshot.compare_to(first_snapshot, "filename")
                for stat in last_snapshot.compare_to(first_snapshot, "lineno")[: args.trace]:
                    print(f"  {stat.size_diff / 1024:+.0f} KiB {stat}", file=sys.stderr)
                total = sum(stat.size_diff for stat in by_file) / 1024
                print(f"tracemalloc: Python heap {total:+.0f} KiB since warm-up", file=sys.stderr)
                for stat in by_file[: args.trace]:
                    print(f"  {stat.size_diff / 1024:+.0f} KiB {stat}", file=sys.stderr)
                growth_by_line = last_snapshot.compare_to(first_snapshot, "traceback")
                print("tracemalloc: largest growth since warm-up", file=sys.stderr)
                for stat in growth_by_line[: args.trace]:
                    print(
                        f"  {stat.size_diff / 1024:+.0f} KiB {stat.count_diff:+d} blocks",
                        file=sys.stderr,
                    )
                    for frame in stat.traceback.format()[-12:]:
                        print(f"      {frame}", file=sys.stderr)
    except BaseException as error:  # the app itself died: the worst outcome
        crashed = error
        problems.add(f"app crashed: {type(error).__name__}: {error}")
        before = samples[0] if samples else {}
        after = samples[-1] if samples else {}
    growth = after.get("rss_mb", 0) - before.get("rss_mb", 0)
    report = {
        "minutes": args.minutes,
        "rss_mb_idle_after_warmup": before.get("rss_mb"),
        "rss_mb_idle_at_end": after.get("rss_mb"),
        "rss_growth_mb": round(growth, 2),
        "rss_peak_mb": max((s["rss_mb"] for s in samples), default=None),
        "workers": [before.get("workers"), after.get("workers")],
        "tasks": [before.get("tasks"), after.get("tasks")],
        "sim_open_connections": [before.get("sim_open"), after.get("sim_open")],
        "counts": dict(counts),
        "handled_failures": dict(failures.most_common(12)),
        "unhandled": problems.items[:20],
        "unhandled_count": len(problems.items),
        "crashed": repr(crashed) if crashed else None,
        "samples": samples,
    }
    # Growth rate over the second half of the load samples: a leak keeps its slope, caches that
    # fill up flatten out.
    load = [row for row in samples if row["phase"] == "load"]
    half = load[len(load) // 2 :]
    slope = None
    if len(half) >= 2 and half[-1]["t"] > half[0]["t"]:
        slope = (half[-1]["rss_mb"] - half[0]["rss_mb"]) / (half[-1]["t"] - half[0]["t"]) * 60
    report["rss_mb_per_min_second_half"] = None if slope is None else round(slope, 2)
    widgets_before = before.get("live_widgets") or Counter()
    widgets_after = after.get("live_widgets") or Counter()
    report["live_widgets_growth"] = dict((widgets_after - widgets_before).most_common(10))
    report["live_widgets"] = [sum(widgets_before.values()), sum(widgets_after.values())]
    types_before = before.get("object_types") or Counter()
    types_after = after.get("object_types") or Counter()
    report["object_growth"] = dict((types_after - types_before).most_common(12))
    for row in (before, after):
        row.pop("live_widgets", None)
        row.pop("object_types", None)
    report["goals"] = {
        "rss_growth_under_10mb": growth < GOAL_RSS_MB,
        "no_leaked_workers": after.get("workers", 99) <= before.get("workers", 0),
        "no_leaked_tasks": after.get("tasks", 99) <= before.get("tasks", 0),
        "no_open_connections": after.get("sim_open", 99) == 0,
        "zero_unhandled": not problems.items and crashed is None,
    }
    report["ok"] = all(report["goals"].values())
    return report


async def run_load(
    app: Any,
    pilot: Any,
    sim: SimChild,
    rng: random.Random,
    counts: Counter[str],
    last_progress: dict[int, tuple[int, float]],
    until: float,
    args: argparse.Namespace,
    *,
    faults: bool,
) -> None:
    """Pulls, deletes and faults until ``until`` (one action every ~0.5 s)."""
    from textual.screen import ModalScreen

    while time.monotonic() < until:
        now = time.monotonic()
        roll = rng.random()
        if faults and roll < args.fault_rate:
            kind, params = rng.choice(FAULTS)
            path = rng.choice(FAULT_PATHS)
            body = {"path": path, "kind": kind, "count": rng.randint(1, 2), **params}
            await sim.control("POST", "/_sim/faults", body)
            counts[f"fault {kind}"] += 1
        elif roll < 0.55 and len(app.jobs.active) < 3:
            app.jobs.submit_pull(rng.choice(PULLABLE))
            counts["pull submitted"] += 1
        elif roll < 0.75 and not isinstance(app.screen, ModalScreen):
            pulled = [m for m in app.installed if m.name in PULLABLE]
            if pulled:
                app.operations.delete([rng.choice(pulled)])
                appeared = await wait_modal(app, 3)
                if appeared:
                    await pilot.press("y")
                    counts["delete confirmed"] += 1
        # Stalled streams (a hang fault on /api/pull): no read timeout, so cancel them here.
        for job in app.jobs.active:
            done, seen = last_progress.get(job.id, (-1, now))
            if job.completed != done:
                last_progress[job.id] = (job.completed, now)
            elif now - seen > args.stall:
                app.jobs.cancel(job.id)
                counts["stalled pull cancelled"] += 1
        for job_id in list(last_progress):
            if all(job.id != job_id for job in app.jobs.active):
                del last_progress[job_id]
        if isinstance(app.screen, ModalScreen) and rng.random() < 0.2:
            await pilot.press("escape")  # a dialog left over (e.g. an error) must not block
        await asyncio.sleep(rng.uniform(0.2, 0.8))


async def wait_modal(app: Any, timeout: float) -> bool:
    from textual.screen import ModalScreen

    deadline = time.monotonic() + timeout
    while not isinstance(app.screen, ModalScreen):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def print_report(report: dict[str, Any]) -> None:
    goals = report["goals"]
    mark = {True: "ok", False: "FAILED"}
    print(f"soak: {report['minutes']:g} min headless, app vs simulator (another process)")
    print(
        f"  RSS idle after warm-up {report['rss_mb_idle_after_warmup']} MB, at end "
        f"{report['rss_mb_idle_at_end']} MB: growth {report['rss_growth_mb']:+.2f} MB "
        f"(peak {report['rss_peak_mb']} MB; second half of the run "
        f"{report['rss_mb_per_min_second_half']} MB/min)  [{mark[goals['rss_growth_under_10mb']]}]"
    )
    print(f"  workers before/after {report['workers']}  [{mark[goals['no_leaked_workers']]}]")
    print(
        f"  live Textual nodes before/after {report['live_widgets']}, growth by class "
        f"{report['live_widgets_growth']}\n"
        f"  objects the collector tracks, growth by type {report['object_growth']}"
    )
    print(f"  asyncio tasks before/after {report['tasks']}  [{mark[goals['no_leaked_tasks']]}]")
    print(
        f"  simulator open connections before/after {report['sim_open_connections']}  "
        f"[{mark[goals['no_open_connections']]}]"
    )
    print(f"  unhandled exceptions {report['unhandled_count']}  [{mark[goals['zero_unhandled']]}]")
    for item in report["unhandled"]:
        print(f"    - {item}")
    print(f"  activity: {report['counts']}")
    print(f"  handled failures (shown in the UI): {report['handled_failures']}")
    print(f"  result: {'PASS' if report['ok'] else 'FAIL'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--interval", type=float, default=1.0, help="app poll interval (s)")
    parser.add_argument("--fault-rate", type=float, default=0.12, help="faults per action")
    parser.add_argument("--sample-every", type=float, default=10.0)
    parser.add_argument("--stall", type=float, default=20.0)
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--bandwidth", type=float, default=3e9)
    parser.add_argument("--trace", type=int, default=0, help="show N tracemalloc growth sites")
    parser.add_argument(
        "--trace-frames", type=int, default=1, help="frames per traceback (more is much slower)"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args.models, args.bandwidth)
    sim = SimChild(args.models, args.bandwidth)
    try:
        report = asyncio.run(soak(args, sim))
    finally:
        sim.close()
    if args.json:
        print(json.dumps(report))
    else:
        print_report(report)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
