"""ollama-tui benchmark: ``python tests/bench.py [--json] [--quick] [--rows 1,2,5]``.

Every figure is measured in the same run as its baseline, on the same machine, as the median
of several repetitions (the reference machine is small and noisy). Servers are the project's
simulator; where a row says "another process" it is ``python -m ollama_tui.simulator``.

How each row is measured (and why that is a fair figure):

1. Start-up. A fresh ``python`` process builds the app as the console script does
   (``ollama_tui.__main__.build_app``: first fetch sent, then the UI imported) and runs it
   headless (``App.run(headless=True)``) against a simulator in another process; the figure is
   the wall time from spawning the process to the first screen refresh in which both tables
   have rows. The baseline is the same for a minimal Textual app (Header, DataTable, Footer) to
   its first refresh. Both include interpreter start-up and imports, from bytecode as after
   ``pip install`` (compiled once into a private ``PYTHONPYCACHEPREFIX`` before timing); the
   headless driver writes nothing to a terminal in either case. "Screen refresh" =
   ``Screen._compositor_refresh``, which this script wraps in the child process (the app's
   code is not changed). Medians of 15 interleaved pairs.
2-3. UI time of one poll at 5,000 models, through the app's real poll path: the app's poll
   worker asks its poller (which fetches and decodes /api/tags + /api/ps on a background
   thread), applies the snapshot to the tables, updates the status line, and the screen update
   that follows is forced with ``await pilot.pause()``. The figure is the CPU time of the UI
   thread (``time.thread_time``: the event loop is this thread; the poller thread and the
   simulator process are not counted) from ``request_refresh()`` to the end of that pause,
   minus what the same wait costs when nothing happens (the UI thread's idle CPU rate times the
   wait, plus the median CPU of an empty ``pilot.pause()``, both measured in the same app). So
   the figure is the time the UI cannot answer a key because of the poll. Row 3 first changes
   50 models on the simulator (control API, outside the timed window; 10 of them on screen),
   so every timed poll brings 50 changed rows; the 50 new models' weights, learnt in the
   background half a second after the poll (about 1 ms of UI time per model, spread out), are
   learnt before the next change, outside the timed window (row 14 is the UI while weights
   are learnt). Baseline: a DataTable in a minimal app doing
   ``clear()`` + ``add_rows()`` of the same 5,000 rows (as ``Text`` cells), measured the same
   way (CPU of the calls + pause, minus an empty pause).
4. Filter keystroke: ``/`` opens the filter, then each key is timed as for rows 2-3 (CPU of
   ``pilot.press(key)`` + ``pilot.pause()`` minus an empty pause). No baseline.
5. Client throughput: a pull of a prepared 200,000-line stream (the simulator writes a
   pre-built buffer, so the client is the bottleneck) with ``OllamaClient.pull``; baseline:
   the official ``ollama.AsyncClient.pull(stream=True)`` on the same stream. Wall time,
   simulator in another process, alternating clients.
6. Key latency: the time from injecting a key (``down``/``up`` on the installed table) to
   the first screen refresh that shows the cursor on the new row, with 4 pulls streaming
   prepared buffers as fast as the simulator (another process) can send them, re-submitted
   as they finish. Baseline: the same with no pulls. p95 of wall times. The screen's own
   refresh timer (60 fps) is part of the latency, as it is for a user.
7. Idle CPU: the app headless in its own process, polling every 1 s, 200 models; process CPU
   time (``time.process_time``) over 30 s after a 2 s warm-up, as % of one core. Baseline: a
   bare asyncio loop in its own process sending GET /api/tags + GET /api/ps with httpx each
   second (bodies read, not decoded).
8. Peak RSS (``VmHWM``) of a process running the app headless with 5,000 installed models
   (tables populated, three more polls, one filter); baseline: the minimal Textual app after
   its first frame.

9-13. A fleet: ``python -m ollama_tui.simulator --fleet 20 --models 500`` in another process
   (20 servers, 500 synthetic models each plus the preset's few), the app polling all of them
   every 2 s (``ollama-tui --host URL1 ... --host URL20``) in a child process, nothing changing
   on the servers, the default (current-server) view (``rows_9_to_13(view=...)`` and
   ``show_view`` are where another view, such as the merged all-servers table, plugs in).
   9: process CPU (``time.process_time``: UI and poller threads) over 20 s after a warm-up, as
   % of one core. 10: the UI thread's CPU (``time.thread_time``) over the same 20 s, minus its
   rate with every server paused (clock and timers), per poll round (polls / servers). 11:
   key latency as row 6 (the same code), p95, while every server keeps polling; baseline: the
   same keys with one unpolled server of 500 models. 12: start to the first screen refresh with
   every server connected and its models in (each server's row in the servers table, the
   current one's tables), as row 1, interleaved with row 1's single-server start (its
   baseline). 13: peak RSS (``VmHWM``) of that child at the end; baseline: the row 11 child.

14. Key latency while the app learns which weights blob each of 5,000 models uses (the disk
   figures count each blob once): right after the first poll the app sends one ``/api/show``
   per model digest in the background, at most 4 in flight; keys are measured as for row 6
   (p95 of the presses made while that learning runs). Baseline: the same keys once it has
   ended. The peak number of show requests in flight, as the app's client counts them, must
   be at most 4. Rows 2-4, 6 and 9-11 wait for that learning to end before they measure, so
   they keep measuring what they did (polls and keys of a settled app).

15. One scrape of ``ollama-tui export``'s ``/metrics`` (default options: per-model series for
   the 10 largest models of each server) against the same fleet as rows 9-13 (20 servers x 500
   models, simulator in another process), the exporter in a child process polling every 2 s.
   Figure: the CPU time of the exporter's event-loop thread (``time.thread_time``: where the
   collector runs and aiohttp serves) for one real HTTP scrape sent from a helper thread, median
   of 31, minus the median CPU the same thread spends on an empty round trip to a helper thread
   (the harness, not the scrape). Baseline: the exporter process's CPU (``time.process_time``:
   the poller thread that fetches and decodes, and the loop that applies each poll) per poll
   round (polls / servers) over 10 s, nothing changing on the servers, after the weights are
   learnt and two rounds of warm-up, no scrape in that window. Goal: a scrape costs at most 10%
   of a poll round.

``--quick`` runs everything at toy scale (for the CI smoke test); its figures mean nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HUGE = "bench/huge:latest"
PULL_NAMES = (
    "bench/pull-a:latest",
    "bench/pull-b:latest",
    "bench/pull-c:latest",
    "bench/pull-d:latest",
)
FILTER_KEYS = ("l", "l", "a", "m", "a", "backspace", "backspace", "backspace", "backspace")
FILTER_KEYS += ("backspace", "q", "w", "e", "n", "backspace", "backspace", "backspace", "backspace")
SIZE = (160, 45)


@dataclasses.dataclass(frozen=True)
class Scale:
    """How big each measurement is; ``QUICK`` is for the smoke test only."""

    models: int = 5000
    stream_lines: int = 200_000
    reps: int = 5
    baseline_reps: int = 3
    cpu_models: int = 200
    cpu_seconds: float = 30.0
    key_presses: int = 40
    pull_lines: int = 1_000_000  # long pulls: completions (toasts, refresh) stay rare
    startup_reps: int = 15  # start-ups are cheap and noisy on a shared 2-core machine
    fleet_servers: int = 20
    fleet_models: int = 500
    fleet_interval: float = 2.0
    fleet_seconds: float = 20.0
    fleet_key_presses: int = 120  # paced: a few poll rounds happen while keys are measured
    fleet_startup_reps: int = 9


FULL = Scale()
QUICK = Scale(
    models=300,
    stream_lines=5_000,
    reps=2,
    baseline_reps=1,
    cpu_models=20,
    cpu_seconds=2.0,
    key_presses=6,
    pull_lines=20_000,
    startup_reps=2,
    fleet_servers=3,
    fleet_models=20,
    fleet_interval=0.5,
    fleet_seconds=1.0,
    fleet_key_presses=6,
    fleet_startup_reps=1,
)


@dataclasses.dataclass
class Row:
    id: int
    what: str
    figure: float
    unit: str
    baseline: float | None
    ratio: float | None
    goal: str
    goal_met: bool

    def as_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for key in ("figure", "baseline", "ratio"):
            if isinstance(data[key], float):
                data[key] = round(data[key], 3)
        return data


NOTES: list[str] = []


def note(text: str) -> None:
    NOTES.append(text)
    print(f"  note: {text}", file=sys.stderr, flush=True)


def ratio(figure: float, baseline: float | None) -> float | None:
    return None if not baseline else figure / baseline


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


# --- machine ---------------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    try:
        from importlib.metadata import version

        textual = version("textual")
    except Exception:
        textual = "?"
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"Textual {textual}, {now}"
    )


# --- processes ---------------------------------------------------------------------------------


_PYCACHE = Path(tempfile.gettempdir()) / f"ollama-tui-bench-pycache-{os.getuid()}"


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.pop("OLLAMA_HOST", None)
    env["TEXTUAL"] = ""  # no devtools
    # An installed app runs from bytecode (pip compiles it at install time); the source tree
    # would be recompiled on every start when PYTHONDONTWRITEBYTECODE is set. Bytecode goes to
    # a private prefix so the checkout stays clean.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(_PYCACHE)
    return env


def compile_sources() -> None:
    """Write the package's bytecode once, as ``pip install`` does, before anything is timed."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "ollama_tui")],
        check=True,
        env=child_env(),
        stdout=subprocess.DEVNULL,
    )


class SimProcess:
    """``python -m ollama_tui.simulator`` on a free loopback port, in another process;
    ``servers=N`` runs a fleet (``--fleet N``, any free ports), its URLs in ``urls``."""

    def __init__(self, *args: str, servers: int = 1) -> None:
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        command = [sys.executable, "-m", "ollama_tui.simulator", "--listen", "127.0.0.1:0"]
        if servers > 1:
            command += ["--fleet", str(servers)]
        self.proc = subprocess.Popen(
            [*command, *args],
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env=child_env(),
        )
        assert self.proc.stdout is not None
        self.urls: list[str] = []
        for _ in range(servers):
            line = self.proc.stdout.readline()
            if "http" not in line:
                self.proc.kill()
                self.proc.wait()
                self._log.seek(0)
                log = self._log.read()[-500:]
                self.close()
                raise RuntimeError(f"simulator did not start: {line!r} {log!r}")
            self.urls.append(line.strip().rsplit(" ", 1)[-1])
        self.url = self.urls[0]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log.close()


@contextlib.contextmanager
def simulator(*args: str, servers: int = 1) -> Iterator[SimProcess]:
    sim = SimProcess(*args, servers=servers)
    try:
        yield sim
    finally:
        sim.close()


def run_child(*args: str, timeout: float = 120) -> dict[str, Any]:
    """Run this script in child mode; its last stdout line is a JSON result."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(),
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"child {args} failed ({done.returncode}): {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


# --- shared UI helpers -------------------------------------------------------------------------


def minimal_app_class() -> Any:
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable, Footer, Header

    class MinimalApp(App[None]):
        def compose(self) -> ComposeResult:
            yield Header()
            yield DataTable()
            yield Footer()

        def on_mount(self) -> None:
            table = self.query_one(DataTable)
            table.add_columns("NAME", "ID", "SIZE", "PARAMS", "QUANT", "FAMILY", "MODIFIED", "CAPS")

    return MinimalApp


def make_app(url: str, **settings: Any) -> Any:
    from ollama_tui.app import OllamaTuiApp
    from ollama_tui.config import Settings

    settings.setdefault("interval", 3600.0)  # the benchmark polls explicitly
    return OllamaTuiApp(Settings(host=url, **settings))


def populated(app: Any, models: int = 1) -> bool:
    dashboard = app.dashboard
    return (
        dashboard is not None
        and dashboard.installed_table.row_count >= models
        and dashboard.running_table.row_count > 0
    )


async def wait_until(
    predicate: Callable[[], object], timeout: float = 60, step: float = 0.01
) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(step)


async def cpu_of(action: Callable[[], Awaitable[Any]]) -> float:
    start = time.thread_time()
    await action()
    return time.thread_time() - start


async def empty_pause_cpu(pilot: Any, reps: int) -> float:
    costs = [await cpu_of(pilot.pause) for _ in range(max(5, reps * 2))]
    return median(costs)


def table_rows(models: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The 8 installed-table cells of each model, as ``Text`` (DataTable would parse str)."""
    from rich.text import Text

    from ollama_tui.formatting import human_bytes

    rows = []
    for m in models:
        d = m.details
        cells = (
            m.name,
            m.digest[:12],
            human_bytes(m.size),
            d.parameter_size,
            d.quantization_level,
            d.family,
            m.modified_at.strftime("%Y-%m-%d") if m.modified_at else "",
            ", ".join(m.capabilities),
        )
        rows.append(tuple(Text(c) for c in cells))
    return rows


# --- row 1: start-up ----------------------------------------------------------------------------


def child_startup(kind: str, url: str) -> dict[str, Any]:
    if kind == "fleet":
        # ``ollama-tui --host URL1 --host URL2 ...``; ready once every server's data is in.
        from ollama_tui.__main__ import build_app

        app = build_app(fleet_settings(url.split(","), 3600.0))

        def ready() -> bool:
            return fleet_ready(app)

    elif kind == "app":
        # As the console script does (``ollama-tui --host URL``): settings, then build_app.
        from ollama_tui.__main__ import build_app
        from ollama_tui.config import Settings

        app = build_app(Settings(host=url, interval=3600.0))

        def ready() -> bool:
            return populated(app)

    else:
        app = minimal_app_class()()

        def ready() -> bool:
            return True

    from textual.screen import Screen

    original = Screen._compositor_refresh
    when: list[float] = []

    def refresh(self: Any) -> None:
        original(self)
        if not when and ready():
            when.append(time.time())
            app.exit()

    Screen._compositor_refresh = refresh  # type: ignore[method-assign]
    app.run(headless=True, size=SIZE)
    return {"ready": when[0] if when else None}


def row_1(scale: Scale) -> Row:
    app_times: list[float] = []
    base_times: list[float] = []
    with simulator() as sim:
        for _ in range(scale.startup_reps):
            for kind, out in (("minimal", base_times), ("app", app_times)):
                start = time.time()
                result = run_child("startup", kind, sim.url)
                if result["ready"] is None:
                    raise RuntimeError(f"{kind} never became ready")
                out.append((result["ready"] - start) * 1000)
    figure, baseline = median(app_times), median(base_times)
    r = ratio(figure, baseline)
    app_ms, base_ms = [round(t) for t in app_times], [round(t) for t in base_times]
    note(f"row 1 samples ms: app {app_ms}, minimal {base_ms}")
    return Row(
        1,
        "start to both tables populated (headless, simulator in another process)",
        figure,
        "ms",
        baseline,
        r,
        "ratio <= 1.5",
        r is not None and r <= 1.5,
    )


# --- rows 2-4: UI time at 5,000 models ----------------------------------------------------------


async def idle_cpu_rate(seconds: float = 1.0) -> float:
    """UI-thread CPU per second while the app idles and this script polls a condition."""
    start, wall = time.thread_time(), time.perf_counter()
    deadline = wall + seconds
    await wait_until(lambda: time.perf_counter() > deadline, step=0.002)
    return (time.thread_time() - start) / (time.perf_counter() - wall)


async def timed_poll(app: Any, pilot: Any, idle_rate: float, empty: float) -> tuple[float, float]:
    """(UI-thread CPU, wall) of one real poll: request -> poll done -> screen updated."""
    await wait_until(lambda: not app.polling)
    count = app.poll_count
    start, wall = time.thread_time(), time.perf_counter()
    app.request_refresh()
    await wait_until(lambda: app.poll_count > count, step=0.002)
    waited = time.perf_counter() - wall
    await pilot.pause()
    cpu = time.thread_time() - start - idle_rate * waited - empty
    return cpu, time.perf_counter() - wall


async def change_models(url: str, names: Sequence[str], generation: int) -> None:
    """Replace each named model on the simulator (new size, digest, date): a real change."""
    import httpx

    async with httpx.AsyncClient(base_url=url) as client:
        for n, name in enumerate(names):
            body = {"name": name, "size": 1_000_000 + generation * 1000 + n}
            response = await client.post("/_sim/models", json=body)
            response.raise_for_status()


def weights_settled(app: Any) -> bool:
    """The background learning of weights (row 14) has ended on every server."""
    return not any(session.learning_weights() for session in app.sessions)


async def ui_rows(scale: Scale, url: str) -> list[Row]:
    reps = max(scale.reps, 3)
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: populated(app, scale.models))
        await wait_until(lambda: weights_settled(app), timeout=300)
        await pilot.pause()
        empty = await empty_pause_cpu(pilot, reps)
        idle_rate = await idle_cpu_rate()
        table = app.dashboard.installed_table

        # Row 2: a real poll (the poller thread fetches and decodes) with nothing changed.
        await timed_poll(app, pilot, idle_rate, empty)  # warm-up
        rendered = table.render_count
        unchanged: list[float] = []
        poll_walls: list[float] = []
        for _ in range(reps):
            cpu, wall = await timed_poll(app, pilot, idle_rate, empty)
            unchanged.append(cpu)
            poll_walls.append(wall)
        rerendered = table.render_count - rendered

        # Row 3: 50 models changed on the server (10 of them on screen), then a real poll.
        count = len(app.installed)
        on_screen = [key[0] for key in table.visible_keys[:10]]
        step = max(1, count // 40)
        names = on_screen + [m.name for m in app.installed[::step] if m.name not in on_screen]
        names = names[:50]
        fifty: list[float] = []
        changed_rows: list[int] = []
        for rep in range(reps * 2):
            # The last change's weights learnt first (a second later, in the background): this
            # row is the poll's own cost; the UI while weights are learnt is row 14's.
            await wait_until(lambda: weights_settled(app), timeout=300)
            await change_models(url, names, rep)
            before = {key: item for key, item in table.items.items()}
            cpu, _wall = await timed_poll(app, pilot, idle_rate, empty)
            fifty.append(cpu)
            changed_rows.append(sum(1 for k, v in table.items.items() if before.get(k) != v))
        original = list(app.installed)

        # Row 4: filter keystrokes.
        await pilot.press("slash")
        await pilot.pause()
        keys: list[float] = []
        shown: list[int] = []
        for key in FILTER_KEYS if scale is FULL else FILTER_KEYS[:6]:
            start = time.thread_time()
            await pilot.press(key)
            await pilot.pause()
            keys.append(time.thread_time() - start - empty)
            shown.append(table.row_count)
        await pilot.press("escape")

    # Baseline: DataTable clear + add_rows of the same rows.
    rows = table_rows(original)
    baseline_costs: list[float] = []
    base_app = minimal_app_class()()
    async with base_app.run_test(size=SIZE) as pilot:
        from textual.widgets import DataTable

        data_table = base_app.query_one(DataTable)
        data_table.add_rows(rows)
        await pilot.pause()
        base_empty = await empty_pause_cpu(pilot, reps)
        for _ in range(scale.baseline_reps):
            start = time.thread_time()
            data_table.clear()
            data_table.add_rows(rows)
            await pilot.pause()
            baseline_costs.append(time.thread_time() - start - base_empty)

    ms = 1000.0
    r2, r3, r4 = median(unchanged) * ms, median(fifty) * ms, median(keys) * ms
    base = median(baseline_costs) * ms
    note(
        f"rows 2-4: {count} models; empty pause {empty * ms:.1f} ms CPU, idle loop "
        f"{idle_rate * ms:.1f} ms CPU/s; poll wall (poller thread) median "
        f"{median(poll_walls) * ms:.0f} ms; unchanged polls re-rendered {rerendered} rows; "
        f"rows changed per 50-model poll {changed_rows}; rows shown after each filter key "
        f"{shown}; samples ms "
        f"unchanged {[round(c * ms, 1) for c in unchanged]}, 50 changed "
        f"{[round(c * ms, 1) for c in fifty]}, keys {[round(c * ms, 1) for c in keys]}, "
        f"DataTable {[round(c * ms) for c in baseline_costs]}"
    )
    ratio2 = ratio(r2, base)
    return [
        Row(
            2,
            f"UI time, one poll, {count} models, nothing changed",
            r2,
            "ms",
            base,
            ratio2,
            "<= 20 ms and <= 0.1x",
            r2 <= 20 and ratio2 is not None and ratio2 <= 0.1,
        ),
        Row(
            3,
            f"UI time, one poll, 50 of {count} models changed",
            r3,
            "ms",
            base,
            ratio(r3, base),
            "<= 30 ms",
            r3 <= 30,
        ),
        Row(
            4,
            f"filter keystroke to table updated, {count} models",
            r4,
            "ms",
            None,
            None,
            "<= 50 ms",
            r4 <= 50,
        ),
    ]


def rows_2_to_4(scale: Scale) -> list[Row]:
    with simulator("--models", str(scale.models)) as sim:
        return asyncio.run(ui_rows(scale, sim.url))


# --- row 5: client throughput -------------------------------------------------------------------


async def pull_ours(url: str) -> tuple[float, int]:
    from ollama_tui.api import OllamaClient

    async with OllamaClient(url) as client:
        start = time.perf_counter()
        count = 0
        async for _event in client.pull(HUGE):
            count += 1
        return time.perf_counter() - start, count


async def pull_official(url: str) -> tuple[float, int]:
    import ollama

    client = ollama.AsyncClient(url)
    try:
        start = time.perf_counter()
        count = 0
        async for _event in await client.pull(HUGE, stream=True):
            count += 1
        return time.perf_counter() - start, count
    finally:
        with contextlib.suppress(Exception):
            await client._client.aclose()


def row_5(scale: Scale) -> Row:
    try:
        import ollama  # noqa: F401

        have_official = True
    except ImportError:
        have_official = False
        note("row 5: the `ollama` package is not installed: no baseline")
    ours: list[float] = []
    theirs: list[float] = []
    with simulator("--prepare", f"{HUGE}={scale.stream_lines}", "--empty") as sim:
        asyncio.run(pull_ours(sim.url))  # warm-up: first pull installs the model
        for _ in range(scale.reps):
            seconds, count = asyncio.run(pull_ours(sim.url))
            if count != scale.stream_lines:
                raise RuntimeError(f"our client saw {count} of {scale.stream_lines} lines")
            ours.append(seconds * 1000)
            if have_official:
                seconds, count = asyncio.run(pull_official(sim.url))
                if count != scale.stream_lines:
                    raise RuntimeError(f"ollama client saw {count} of {scale.stream_lines} lines")
                theirs.append(seconds * 1000)
    figure = median(ours)
    base = median(theirs) if theirs else None
    r = ratio(figure, base)
    note(f"row 5 samples ms: ours {[round(t) for t in ours]}, ollama {[round(t) for t in theirs]}")
    return Row(
        5,
        f"client consuming a {scale.stream_lines:,}-line pull stream (vs ollama.AsyncClient)",
        figure,
        "ms",
        base,
        r,
        "ratio <= 0.7",
        r is not None and r <= 0.7,
    )


# --- key latency (rows 6 and 11) ----------------------------------------------------------------


def watch_cursor_frames(screen: Any, table: Any) -> list[tuple[float, int | None]]:
    """From now on, every screen refresh appends (when, the table's cursor row)."""
    stamps: list[tuple[float, int | None]] = []
    original = screen._compositor_refresh

    def refresh() -> None:
        original()
        stamps.append((time.perf_counter(), table.cursor_row))

    screen._compositor_refresh = refresh
    return stamps


async def key_latency_samples(
    pilot: Any,
    table: Any,
    stamps: list[tuple[float, int | None]],
    count: int,
    busy: Callable[[], None] | None = None,
) -> list[float]:
    """Wall ms from injecting ``down``/``up`` to the first frame showing the moved cursor."""
    out: list[float] = []
    for n in range(count):
        if busy is not None:
            busy()
        key = "down" if n % 2 == 0 else "up"
        before = table.cursor_row or 0
        expected = before + (1 if key == "down" else -1)
        mark = len(stamps)
        start = time.perf_counter()
        press = asyncio.create_task(pilot.press(key))
        deadline = start + 10
        seen: float | None = None
        while seen is None and time.perf_counter() < deadline:
            for when, row in stamps[mark:]:
                if row == expected:
                    seen = when
                    break
            else:
                await asyncio.sleep(0.001)
        await press
        if seen is None:
            raise TimeoutError("the screen never showed the key press")
        out.append((seen - start) * 1000)
        await asyncio.sleep(0.02 + 0.01 * (n % 3))  # pacing between key presses
    return out


# --- row 6: key latency while pulls stream -----------------------------------------------------


async def key_latencies(scale: Scale, url: str) -> tuple[list[float], list[float], dict[str, Any]]:
    app = make_app(url, interval=1.0, max_transfers=len(PULL_NAMES))
    info: dict[str, Any] = {}
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: populated(app, 10))
        await wait_until(lambda: weights_settled(app), timeout=300)
        await pilot.pause()
        table = app.dashboard.installed_table
        stamps = watch_cursor_frames(app.screen, table)
        for _ in range(5):
            await pilot.press("down")
        await pilot.pause()

        async def measure(count: int, busy: Callable[[], None] | None) -> list[float]:
            return await key_latency_samples(pilot, table, stamps, count, busy)

        quiet = await measure(scale.key_presses, None)

        jobs = app.jobs
        submitted = 0

        def keep_pulling() -> None:
            nonlocal submitted
            active = {job.model for job in jobs.active}
            for name in PULL_NAMES:
                if not any(name.split(":")[0] in model for model in active):
                    jobs.submit_pull(name)
                    submitted += 1

        keep_pulling()
        await wait_until(lambda: sum(1 for j in jobs.active if j.completed > 0) >= len(PULL_NAMES))
        busy = await measure(scale.key_presses, keep_pulling)
        info["pulls_running"] = sum(1 for j in jobs.active if j.completed > 0)
        info["pulls_submitted"] = submitted
        info["jobs_done"] = sum(1 for j in jobs.jobs if str(j.state) == "done")
        for job in jobs.active:
            jobs.cancel(job.id)
        await jobs.wait_idle()
    return quiet, busy, info


def row_6(scale: Scale) -> Row:
    prepares: list[str] = []
    for name in PULL_NAMES:
        prepares += ["--prepare", f"{name}={scale.pull_lines}"]
    with simulator("--models", "200", *prepares) as sim:
        quiet, busy, info = asyncio.run(key_latencies(scale, sim.url))
    figure, base = p95(busy), p95(quiet)
    note(
        f"row 6: pulls {info}; latency ms with pulls median {median(busy):.1f} p95 {figure:.1f} "
        f"max {max(busy):.1f}; without median {median(quiet):.1f} p95 {base:.1f}"
    )
    return Row(
        6,
        "key press to screen updated, 4 pulls streaming (p95)",
        figure,
        "ms",
        base,
        ratio(figure, base),
        "p95 <= 50 ms",
        figure <= 50,
    )


# --- row 7: idle CPU ---------------------------------------------------------------------------


async def child_cpu_app(url: str, seconds: float) -> dict[str, Any]:
    app = make_app(url, interval=1.0)
    async with app.run_test(size=SIZE):
        await wait_until(lambda: populated(app))
        await asyncio.sleep(2.0)
        polls, cpu, wall = app.poll_count, time.process_time(), time.monotonic()
        await asyncio.sleep(seconds)
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
        polls = app.poll_count - polls
    return {"cpu": cpu, "wall": wall, "polls": polls}


async def child_cpu_bare(url: str, seconds: float) -> dict[str, Any]:
    import httpx

    async with httpx.AsyncClient(base_url=url) as client:
        loop = asyncio.get_running_loop()

        async def poll() -> None:
            tags, ps = await asyncio.gather(client.get("/api/tags"), client.get("/api/ps"))
            tags.raise_for_status()
            ps.raise_for_status()

        await poll()
        tick = loop.time()
        end_warmup = tick + 2.0
        while loop.time() < end_warmup:
            tick += 1.0
            await asyncio.sleep(max(0.0, tick - loop.time()))
            await poll()
        polls, cpu, wall = 0, time.process_time(), time.monotonic()
        end = loop.time() + seconds
        while True:
            tick += 1.0
            if tick > end:
                break
            await asyncio.sleep(max(0.0, tick - loop.time()))
            await poll()
            polls += 1
        await asyncio.sleep(max(0.0, end - loop.time()))
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    return {"cpu": cpu, "wall": wall, "polls": polls}


def row_7(scale: Scale) -> Row:
    seconds = str(scale.cpu_seconds)
    timeout = scale.cpu_seconds + 60
    with simulator("--models", str(scale.cpu_models)) as sim:
        app = run_child("cpu-app", sim.url, seconds, timeout=timeout)
        bare = run_child("cpu-bare", sim.url, seconds, timeout=timeout)
    figure = 100 * app["cpu"] / app["wall"]
    base = 100 * bare["cpu"] / bare["wall"]
    note(f"row 7: app {app}, bare loop {bare}")
    return Row(
        7,
        f"CPU of the app polling every 1 s for {scale.cpu_seconds:g} s, {scale.cpu_models} models",
        figure,
        "% of a core",
        base,
        ratio(figure, base),
        "<= 3% of a core",
        figure <= 3,
    )


# --- row 8: peak RSS ---------------------------------------------------------------------------


def peak_rss_mb() -> float:
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def child_rss_app(url: str, models: int) -> dict[str, Any]:
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: populated(app, models))
        for _ in range(3):
            polls = app.poll_count
            app.request_refresh()
            await wait_until(lambda: app.poll_count > polls)  # noqa: B023 - awaited at once
        await pilot.press("slash", "l", "l", "a")
        await pilot.pause()
    return {"peak_mb": peak_rss_mb(), "models": len(app.installed)}


async def child_rss_minimal() -> dict[str, Any]:
    app = minimal_app_class()()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
    return {"peak_mb": peak_rss_mb()}


def row_8(scale: Scale) -> Row:
    with simulator("--models", str(scale.models)) as sim:
        app = [run_child("rss-app", sim.url, str(scale.models)) for _ in range(2)]
    base = [run_child("rss-minimal") for _ in range(2)]
    figure = median([r["peak_mb"] for r in app])
    baseline = median([r["peak_mb"] for r in base])
    note(f"row 8: app {app}, minimal {base}")
    return Row(
        8,
        f"peak RSS with {app[0]['models']} installed models",
        figure,
        "MB",
        baseline,
        ratio(figure, baseline),
        "<= 150 MB",
        figure <= 150,
    )


# --- rows 9-13: a fleet of servers ---------------------------------------------------------------


def fleet_settings(urls: Sequence[str], interval: float) -> Any:
    """Settings for one server per URL, as ``ollama-tui --host URL1 --host URL2 ...``."""
    from ollama_tui.config import ServerSettings, Settings

    servers = tuple(ServerSettings(None, url) for url in urls)
    return Settings(servers=servers, interval=interval)


def fleet_ready(app: Any, models: int = 1) -> bool:
    """Every server's data is in: its session answered with its models, the current server's
    tables are filled (the servers table shows each one's counts)."""
    return populated(app, models) and all(
        s.status.state == "connected" and len(s.installed) >= models for s in app.sessions
    )


def show_view(app: Any, view: str) -> Awaitable[None] | None:
    """Switch the dashboard to ``view``: "current" (the default) is the current server.

    Other views (the all-servers merged table) plug in here, e.g. by pressing their key."""
    if view != "current":
        raise ValueError(f"unknown view {view!r}")
    return None


async def child_fleet(
    urls: list[str], models: int, interval: float, seconds: float, presses: int, view: str
) -> dict[str, Any]:
    """Rows 9, 10, 11 and 13 from one app polling every server every ``interval`` seconds."""
    from ollama_tui.app import OllamaTuiApp

    app = OllamaTuiApp(fleet_settings(urls, interval))
    result: dict[str, Any] = {"servers": len(urls)}
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: fleet_ready(app, models), timeout=120)
        switching = show_view(app, view)
        if switching is not None:
            await switching
        await asyncio.sleep(2 * interval)  # warm-up: every server polled again
        await wait_until(lambda: weights_settled(app), timeout=300)
        table = app.dashboard.installed_table
        result["models"] = sum(len(s.installed) for s in app.sessions)

        # Rows 9 and 10: nothing changes on the servers; the app polls them all.
        polls, rendered = app.poll_count, table.render_count
        cpu, ui, wall = time.process_time(), time.thread_time(), time.monotonic()
        await asyncio.sleep(seconds)
        cpu, ui = time.process_time() - cpu, time.thread_time() - ui
        wall = time.monotonic() - wall
        result.update(cpu=cpu, ui=ui, wall=wall, polls=app.poll_count - polls)
        result["rows_rendered"] = table.render_count - rendered

        # The UI thread's cost of just being there (clock, timers), with every server paused.
        for session in app.sessions:
            app.toggle_pause(session)
        await wait_until(lambda: not any(s.polling for s in app.sessions))
        await asyncio.sleep(interval)
        ui_paused, wall_paused = time.thread_time(), time.monotonic()
        await asyncio.sleep(seconds / 2)
        result["ui_paused"] = time.thread_time() - ui_paused
        result["wall_paused"] = time.monotonic() - wall_paused
        for session in app.sessions:
            app.toggle_pause(session)

        # Row 11: keys while every server keeps polling.
        await pilot.pause()
        stamps = watch_cursor_frames(app.screen, table)
        for _ in range(5):
            await pilot.press("down")
        await pilot.pause()
        polls = app.poll_count
        result["keys"] = await key_latency_samples(pilot, table, stamps, presses)
        result["polls_during_keys"] = app.poll_count - polls
    result["peak_mb"] = peak_rss_mb()
    return result


async def child_single_keys(url: str, models: int, presses: int) -> dict[str, Any]:
    """Row 11's baseline: the same keys with one server of the same size, not polled."""
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: populated(app, models))
        await wait_until(lambda: weights_settled(app), timeout=300)
        await pilot.pause()
        table = app.dashboard.installed_table
        stamps = watch_cursor_frames(app.screen, table)
        for _ in range(5):
            await pilot.press("down")
        await pilot.pause()
        keys = await key_latency_samples(pilot, table, stamps, presses)
    return {"keys": keys, "peak_mb": peak_rss_mb()}


def rows_9_to_13(scale: Scale, view: str = "current") -> list[Row]:
    n, models, interval = scale.fleet_servers, scale.fleet_models, scale.fleet_interval
    fleet_args = ("--models", str(models))
    timeout = 4 * scale.fleet_seconds + 240
    with simulator(*fleet_args, servers=n) as sim:
        urls = ",".join(sim.urls)
        fleet = run_child(
            "fleet",
            urls,
            str(models),
            str(interval),
            str(scale.fleet_seconds),
            str(scale.fleet_key_presses),
            view,
            timeout=timeout,
        )
        single = run_child(
            "single-keys", sim.urls[0], str(models), str(scale.fleet_key_presses), timeout=timeout
        )
        # Row 12: the fleet's start against row 1's single-server start, interleaved.
        fleet_starts: list[float] = []
        single_starts: list[float] = []
        big_starts: list[float] = []  # context: one server of the fleet (its 500 models)
        with simulator() as one:
            for _ in range(scale.fleet_startup_reps):
                for kind, url, out in (
                    ("app", one.url, single_starts),
                    ("fleet", urls, fleet_starts),
                    ("app", sim.urls[0], big_starts),
                ):
                    start = time.time()
                    started = run_child("startup", kind, url)
                    if started["ready"] is None:
                        raise RuntimeError(f"{kind} never became ready")
                    out.append((started["ready"] - start) * 1000)

    what = f"{n} servers x {models} models, polled every {interval:g} s"
    if view != "current":
        what += f", {view} view"
    cpu = 100 * fleet["cpu"] / fleet["wall"]
    rounds = fleet["polls"] / n
    paused_rate = fleet["ui_paused"] / fleet["wall_paused"]
    per_round = max(0.0, fleet["ui"] - paused_rate * fleet["wall"]) / max(rounds, 1e-9) * 1000
    keys, base_keys = p95(fleet["keys"]), p95(single["keys"])
    start, base_start = median(fleet_starts), median(single_starts)
    start_ratio = ratio(start, base_start)
    note(
        f"rows 9-13: {what}; {fleet['models']} models in all; idle window {fleet['wall']:.1f} s, "
        f"{fleet['polls']} polls ({rounds:.1f} rounds), process CPU {fleet['cpu']:.2f} s, UI "
        f"thread {fleet['ui'] * 1000:.0f} ms (paused: {paused_rate * 1000:.1f} ms/s), installed "
        f"rows re-rendered {fleet['rows_rendered']}; keys: {fleet['polls_during_keys']} polls "
        f"while pressed, median {median(fleet['keys']):.1f} ms, max {max(fleet['keys']):.1f} ms "
        f"(one server: median {median(single['keys']):.1f}); start-up samples ms fleet "
        f"{[round(t) for t in fleet_starts]}, one server {[round(t) for t in single_starts]}, "
        f"one server of the fleet ({models} models) {[round(t) for t in big_starts]}; "
        f"peak RSS one server {single['peak_mb']:.1f} MB"
    )
    return [
        Row(
            9,
            f"CPU at idle, {what}",
            cpu,
            "% of a core",
            None,
            None,
            "<= 5% of a core",
            cpu <= 5,
        ),
        Row(
            10,
            f"UI time per poll round, nothing changed, {what}",
            per_round,
            "ms",
            None,
            None,
            "<= 20 ms",
            per_round <= 20,
        ),
        Row(
            11,
            f"key press to screen updated (p95), {what} (vs one server)",
            keys,
            "ms",
            base_keys,
            ratio(keys, base_keys),
            "p95 <= 50 ms",
            keys <= 50,
        ),
        Row(
            12,
            f"start to every server's data on screen, {n} servers (vs row 1's one server)",
            start,
            "ms",
            base_start,
            start_ratio,
            "ratio <= 1.5",
            start_ratio is not None and start_ratio <= 1.5,
        ),
        Row(
            13,
            f"peak RSS, {what}",
            fleet["peak_mb"],
            "MB",
            single["peak_mb"],
            ratio(fleet["peak_mb"], single["peak_mb"]),
            "<= 250 MB",
            fleet["peak_mb"] <= 250,
        ),
    ]


# --- row 14: keys while the weights of 5,000 models are learnt -----------------------------------


async def weights_key_latencies(
    scale: Scale, url: str
) -> tuple[list[float], list[float], dict[str, Any]]:
    """Keys while the app's background /api/show requests run, then once they have ended."""
    app = make_app(url)
    info: dict[str, Any] = {}
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: populated(app, scale.models))
        session = app.session
        started = time.monotonic()
        await pilot.pause()
        table = app.dashboard.installed_table
        stamps = watch_cursor_frames(app.screen, table)
        await wait_until(lambda: not session.learning_weights(), timeout=300)
        info["first_learning_s"] = round(time.monotonic() - started, 1)
        info["known"] = len(session.weights.weights)
        info["digests"] = len({m.digest for m in app.installed if not m.is_remote})
        info["complete"] = session.disk_in_use().complete
        learning: list[bool] = []
        learnt: list[int] = []
        rounds = 0

        def busy() -> None:
            # Answers come as fast as the simulator sends them, so learning 5,000 digests takes
            # a second or two: it is started again whenever it has ended (the index forgets),
            # so that every press meets it.
            nonlocal rounds
            if not session.learning_weights():
                learnt.append(len(session.weights.weights))
                session.weights.weights.clear()
                app._learn_weights(session)
                rounds += 1
            learning.append(session.learning_weights())

        samples = await key_latency_samples(pilot, table, stamps, scale.key_presses * 2, busy)
        during = [ms for ms, was in zip(samples, learning, strict=True) if was]
        info["presses_while_learning"] = f"{len(during)} of {len(samples)}"
        info["learning_rounds"] = rounds
        info["learnt_per_round"] = f"{min(learnt, default=0)}-{max(learnt, default=0)}"
        await wait_until(lambda: not session.learning_weights(), timeout=300)
        info["peak_in_flight"] = session.weights.peak_in_flight
        quiet = await key_latency_samples(pilot, table, stamps, scale.key_presses)
    return during, quiet, info


def row_14(scale: Scale) -> Row:
    with simulator("--models", str(scale.models)) as sim:
        busy, quiet, info = asyncio.run(weights_key_latencies(scale, sim.url))
    figure, base = p95(busy), p95(quiet)
    note(
        f"row 14: {info}; latency ms while learning median {median(busy):.1f} p95 {figure:.1f} "
        f"max {max(busy, default=float('nan')):.1f}; after median {median(quiet):.1f} "
        f"p95 {base:.1f}"
    )
    peak = info["peak_in_flight"]
    return Row(
        14,
        f"key press to screen updated, {info['digests']} models' weights being learnt (p95)",
        figure,
        "ms",
        base,
        ratio(figure, base),
        "p95 <= 50 ms, <= 4 shows",
        bool(busy) and figure <= 50 and 0 < peak <= 4 and info["complete"],
    )


# --- row 15: one scrape of the exporter, 20 servers x 500 models ----------------------------------


async def child_export(
    urls: list[str], models: int, interval: float, seconds: float
) -> dict[str, Any]:
    """The exporter on every server: CPU per poll round, then per scrape."""
    import urllib.request

    from ollama_tui.exporter import Exporter

    exporter = Exporter(fleet_settings(urls, interval))
    exporter.start()
    result: dict[str, Any] = {"servers": len(urls)}
    try:
        base = await exporter.serve("127.0.0.1", 0)
        sessions = exporter.sessions

        def ready() -> bool:
            return all(
                s.status.state == "connected" and len(s.installed) >= models for s in sessions
            )

        await wait_until(ready, timeout=120)
        await wait_until(lambda: not any(s.learning_weights() for s in sessions), timeout=300)
        await asyncio.sleep(2 * interval)  # warm-up: every server polled again
        result["models"] = sum(len(s.installed) for s in sessions)
        polls, cpu, wall = exporter.polls, time.process_time(), time.monotonic()
        await asyncio.sleep(seconds)
        result.update(
            cpu=time.process_time() - cpu,
            wall=time.monotonic() - wall,
            polls=exporter.polls - polls,
        )

        def get() -> bytes:
            with urllib.request.urlopen(f"{base}/metrics", timeout=30) as response:
                return bytes(response.read())

        def health() -> bytes:
            with urllib.request.urlopen(f"{base}/health", timeout=30) as response:
                return bytes(response.read())

        scrapes: list[float] = []
        healths: list[float] = []
        empties: list[float] = []  # the harness alone: a thread's round trip, no request
        for _ in range(31):
            start = time.thread_time()
            await asyncio.to_thread(lambda: None)
            empties.append(time.thread_time() - start)
            await asyncio.sleep(0.02)
            start = time.thread_time()
            body = await asyncio.to_thread(get)
            scrapes.append(time.thread_time() - start)
            await asyncio.sleep(0.05)
            start = time.thread_time()
            await asyncio.to_thread(health)
            healths.append(time.thread_time() - start)
            await asyncio.sleep(0.05)
        renders = []
        for _ in range(31):
            start = time.thread_time()
            exporter.render()
            renders.append(time.thread_time() - start)
            await asyncio.sleep(0.05)  # as between the scrapes above
        result.update(
            scrapes=scrapes,
            healths=healths,
            empties=empties,
            renders=renders,
            bytes=len(body),
            series=sum(1 for line in body.splitlines() if line and not line.startswith(b"#")),
        )
    finally:
        await exporter.aclose()
    return result


def row_15(scale: Scale) -> Row:
    n, models, interval = scale.fleet_servers, scale.fleet_models, scale.fleet_interval
    with simulator("--models", str(models), servers=n) as sim:
        out = run_child(
            "export",
            ",".join(sim.urls),
            str(models),
            str(interval),
            str(scale.fleet_seconds / 2),
            timeout=4 * scale.fleet_seconds + 240,
        )
    rounds = out["polls"] / n
    per_round = out["cpu"] / max(rounds, 1e-9) * 1000
    empty = median(out["empties"]) * 1000
    scrape = max(0.0, median(out["scrapes"]) * 1000 - empty)
    share = ratio(scrape, per_round)
    note(
        f"row 15: {n} servers, {out['models']} models in all, polled every {interval:g} s; "
        f"{out['polls']} polls ({rounds:.1f} rounds) in {out['wall']:.1f} s, process CPU "
        f"{out['cpu']:.2f} s; scrape {out['bytes'] / 1024:.0f} KB, {out['series']} series, "
        f"loop-thread CPU median {median(out['scrapes']) * 1000:.2f} ms (max "
        f"{max(out['scrapes']) * 1000:.2f}) minus {empty:.2f} ms for the harness's empty round "
        "trip to a thread, of "
        f"which collect + encode {median(out['renders']) * 1000:.2f} ms; a /health request the "
        f"same way {median(out['healths']) * 1000:.2f} ms"
    )
    return Row(
        15,
        f"one /metrics scrape (CPU), exporter on {n} servers x {models} models (vs a poll round)",
        scrape,
        "ms",
        per_round,
        share,
        "ratio <= 0.10",
        share is not None and share <= 0.10,
    )


# --- main ----------------------------------------------------------------------------------------

ROWS: dict[int, Callable[[Scale], Row | list[Row]]] = {
    1: row_1,
    2: rows_2_to_4,
    5: row_5,
    6: row_6,
    7: row_7,
    8: row_8,
    9: rows_9_to_13,
    14: row_14,
    15: row_15,
}
GROUPS = {2: {2, 3, 4}, 9: {9, 10, 11, 12, 13}}
LAST_ROW = 15


def run_rows(wanted: set[int], scale: Scale) -> list[Row]:
    rows: list[Row] = []
    for first, function in ROWS.items():
        covers = GROUPS.get(first, {first})
        if not covers & wanted:
            continue
        started = time.monotonic()
        print(f"row {sorted(covers & wanted)} ...", file=sys.stderr, flush=True)
        result = function(scale)
        produced = result if isinstance(result, list) else [result]
        rows.extend(r for r in produced if r.id in wanted)
        print(f"  done in {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
    return rows


def fmt(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def table(machine_line: str, rows: list[Row]) -> str:
    lines = [f"machine: {machine_line}", ""]
    header = f"{'#':>2}  {'what':<74} {'figure':>10} {'unit':<11} {'baseline':>10} "
    header += f"{'ratio':>7}  {'goal':<21} met"
    lines.append(header)
    lines.append("-" * len(header))
    for r in rows:
        lines.append(
            f"{r.id:>2}  {r.what[:74]:<74} {fmt(r.figure):>10} {r.unit:<11} "
            f"{fmt(r.baseline):>10} {fmt(r.ratio, 2):>7}  {r.goal:<21} "
            f"{'yes' if r.goal_met else 'NO'}"
        )
    if NOTES:
        lines.append("")
        lines.extend(f"- {n}" for n in NOTES)
    return "\n".join(lines)


def child_main(args: list[str]) -> int:
    kind, rest = args[0], args[1:]
    if kind == "startup":
        result = child_startup(rest[0], rest[1])
    elif kind == "cpu-app":
        result = asyncio.run(child_cpu_app(rest[0], float(rest[1])))
    elif kind == "cpu-bare":
        result = asyncio.run(child_cpu_bare(rest[0], float(rest[1])))
    elif kind == "rss-app":
        result = asyncio.run(child_rss_app(rest[0], int(rest[1])))
    elif kind == "fleet":
        urls, models, interval, seconds, presses, view = rest
        result = asyncio.run(
            child_fleet(
                urls.split(","), int(models), float(interval), float(seconds), int(presses), view
            )
        )
    elif kind == "single-keys":
        result = asyncio.run(child_single_keys(rest[0], int(rest[1]), int(rest[2])))
    elif kind == "export":
        urls, models, interval, seconds = rest
        result = asyncio.run(
            child_export(urls.split(","), int(models), float(interval), float(seconds))
        )
    elif kind == "rss-minimal":
        result = asyncio.run(child_rss_minimal())
    else:
        raise SystemExit(f"unknown child {kind!r}")
    print(json.dumps(result), flush=True)
    return 0


def parse_rows(text: str) -> set[int]:
    wanted = {int(part) for part in text.split(",") if part.strip()}
    unknown = wanted - set(range(1, LAST_ROW + 1))
    if unknown:
        raise argparse.ArgumentTypeError(f"no such row: {sorted(unknown)}")
    return wanted


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        return child_main(argv[1:])
    parser = argparse.ArgumentParser(description="ollama-tui benchmark (see the module docstring)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="toy scale (smoke test only)")
    parser.add_argument(
        "--rows", type=parse_rows, default=set(range(1, LAST_ROW + 1)), help="e.g. 2,5"
    )
    args = parser.parse_args(argv)
    NOTES.clear()
    machine_line = machine()
    started = time.monotonic()
    compile_sources()
    rows = run_rows(args.rows, QUICK if args.quick else FULL)
    rows.sort(key=lambda r: r.id)
    note(f"total bench time {time.monotonic() - started:.0f} s")
    if args.json:
        print(json.dumps({"machine": machine_line, "rows": [r.as_json() for r in rows]}))
    else:
        print(table(machine_line, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
