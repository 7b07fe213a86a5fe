"""Write the README's SVG screenshots to screenshots/ (a script, not a test).

    python tests/make_screenshots.py

Runs the app headless against the simulator with the same frozen clock and fixed models as the
snapshot tests, so the pictures change only when the UI does.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from conftest import wait_for  # noqa: E402
from test_snapshots_dashboard import loaded, make_app, seeded_server  # noqa: E402

from ollama_tui.app import OllamaTuiApp  # noqa: E402
from ollama_tui.config import ServerSettings, Settings  # noqa: E402
from ollama_tui.screens.details import DetailsScreen  # noqa: E402
from ollama_tui.screens.help import HelpScreen  # noqa: E402

OUT = HERE.parent / "screenshots"

Step = Callable[[Pilot[Any]], Awaitable[None]]


async def details(pilot: Pilot[Any]) -> None:
    await pilot.press("j", "j", "j", "enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, DetailsScreen))
    screen = pilot.app.screen
    assert isinstance(screen, DetailsScreen)
    await wait_for(pilot, lambda: screen.show is not None)


async def modelfile(pilot: Pilot[Any]) -> None:
    await details(pilot)
    await pilot.press("2")


async def help_overlay(pilot: Pilot[Any]) -> None:
    await pilot.press("question_mark")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))


async def filtered(pilot: Pilot[Any]) -> None:
    await pilot.press("slash", *"llama", "enter", "s", "s")


SHOTS: list[tuple[str, tuple[int, int], Step | None]] = [
    ("dashboard-80x24.svg", (80, 24), None),
    ("dashboard-160x45.svg", (160, 45), None),
    ("details.svg", (100, 30), details),
    ("details-modelfile.svg", (100, 30), modelfile),
    ("help.svg", (120, 36), help_overlay),
    ("filtered.svg", (100, 30), filtered),
]


async def shoot(url: str, name: str, size: tuple[int, int], step: Step | None) -> None:
    app = make_app(url)
    async with app.run_test(size=size) as pilot:
        await loaded(step)(pilot)
        await pilot.pause()
        app.save_screenshot(name, path=str(OUT))
    print(OUT / name)


FLEET_SHOT = ("fleet-80x24.svg", (80, 24))


async def shoot_fleet(servers: tuple[ServerSettings, ...]) -> None:
    """The demo's three servers (the simulator's fleet preset), the first one current."""
    name, size = FLEET_SHOT
    app = OllamaTuiApp(Settings(interval=3600, servers=servers))
    async with app.run_test(size=size) as pilot:
        await wait_for(
            pilot, lambda: all(s.status.state == "connected" and s.installed for s in app.sessions)
        )
        # Every server's weights learnt: the DISK figures without "≥".
        await wait_for(pilot, lambda: not any(s.learning_weights() for s in app.sessions))
        await pilot.pause()
        app.save_screenshot(name, path=str(OUT))
    print(OUT / name)


def main() -> None:
    OUT.mkdir(exist_ok=True)
    # The same screens on every machine: no outdated-check answers from the user's cache, no
    # last-used times from their state dir.
    private = tempfile.mkdtemp(prefix="ollama-tui-screenshots-")
    os.environ["XDG_CACHE_HOME"] = os.path.join(private, "cache")
    os.environ["XDG_STATE_HOME"] = os.path.join(private, "state")
    with seeded_server() as sim:
        for name, size, step in SHOTS:
            asyncio.run(shoot(sim.url, name, size, step))
    from ollama_tui.__main__ import _demo_fleet

    with _demo_fleet() as servers:
        asyncio.run(shoot_fleet(servers))


if __name__ == "__main__":
    main()
