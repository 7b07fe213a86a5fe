"""A fleet at idle costs little: what the bench's fleet rows (9-13) rest on, checked cheaply.

- The client does not decode a model list whose body has not changed (same object back).
- The servers table repaints nothing for a poll that changed nothing on screen, only the changed
  line for one that did, and its RTT cell does not follow every millisecond of jitter.
- Every server is polled on the same beat, so a round of polls is one screen update.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import httpx
import pytest
from conftest import make_fleet_app, wait_for

from ollama_tui.api import OllamaClient
from ollama_tui.app import OllamaTuiApp
from ollama_tui.simulator import Fleet
from ollama_tui.widgets.servers_table import ServersTable

pytestmark = pytest.mark.simulator_only

TAGS = {
    "models": [
        {"name": "a:latest", "model": "a:latest", "digest": "1" * 64, "size": 10},
        {"name": "b:latest", "model": "b:latest", "digest": "2" * 64, "size": 20},
    ]
}


async def test_an_unchanged_model_list_is_not_parsed_again() -> None:
    bodies = [json.dumps(TAGS).encode()] * 2
    changed = dict(TAGS, models=[*TAGS["models"][:1]])
    bodies.append(json.dumps(changed).encode())

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=bodies.pop(0))

    client = OllamaClient(
        "http://127.0.0.1:11434", transport=httpx.MockTransport(answer), environ={}
    )
    async with client:
        first = await client.list_models()
        second = await client.list_models()
        third = await client.list_models()
    assert second is first  # the same bytes: the same list, nothing decoded
    assert [m.name for m in third] == ["a:latest"] and third is not first


def fleet_app(fleet: Fleet, interval: float) -> OllamaTuiApp:
    return make_fleet_app(fleet, [f"s{k}" for k in range(len(fleet.urls))], interval=interval)


def servers_table(app: OllamaTuiApp) -> ServersTable:
    assert app.dashboard is not None and app.dashboard.servers_table is not None
    return app.dashboard.servers_table


async def connected(pilot: Any, app: OllamaTuiApp) -> None:
    await wait_for(
        pilot,
        lambda: all(s.status.state == "connected" and s.installed for s in app.sessions),
        timeout=5.0,
    )
    await pilot.pause()


async def test_servers_table_repaints_only_what_changed(fleet: Fleet) -> None:
    app = fleet_app(fleet, interval=60.0)
    async with app.run_test(size=(100, 30)) as pilot:
        await connected(pilot, app)
        table = servers_table(app)
        repaints: list[tuple[Any, ...]] = []
        original = table.refresh

        def refresh(*regions: Any, **kwargs: Any) -> Any:
            repaints.append(regions)
            return original(*regions, **kwargs)

        table.refresh = refresh  # type: ignore[method-assign]
        session = app.sessions[1]
        rtt = session.status.rtt or 0.0
        rows = table.rows()
        # A poll with nothing new (the same lists; RTT within its jitter): nothing repainted.
        session.set_status(rtt=rtt + 0.001, last_ok=(session.status.last_ok or 0) + 1)
        table.server_changed()
        assert repaints == [] and table.rows() == rows
        # A change on one server: only its line (line 0 is the header).
        app.toggle_pause(session)
        assert table.rows()[1][2] == "paused"
        assert repaints and all(len(r) == 1 and r[0].y == 2 for r in repaints), repaints
        assert table.rows()[0] == rows[0] and table.rows()[2] == rows[2]
        app.toggle_pause(session)
        # An RTT far from the one shown is shown.
        session.set_status(rtt=rtt + 0.5)
        table.server_changed()
        assert table.rows()[1][4] == f"{(rtt + 0.5) * 1000:.0f} ms"


async def test_every_server_is_polled_on_the_same_beat(fleet: Fleet) -> None:
    interval = 0.4
    app = fleet_app(fleet, interval=interval)
    async with app.run_test(size=(100, 30)) as pilot:
        await connected(pilot, app)
        # Out of turn: one server refreshed by hand.
        app.request_refresh(app.sessions[2])
        await wait_for(pilot, lambda: not app.sessions[2].polling)
        loop = asyncio.get_running_loop()
        times: dict[int, list[float]] = {0: [], 1: [], 2: []}
        original = app._start_poll

        def start(session: Any) -> None:
            times[app.sessions.index(session)].append(loop.time())
            original(session)

        app._start_poll = start  # type: ignore[method-assign]
        await wait_for(pilot, lambda: all(len(t) >= 3 for t in times.values()), timeout=5.0)
        # After at most one round they poll together, every interval.
        last = [t[-1] for t in times.values()]
        assert max(last) - min(last) < interval / 4, times
        for polls in times.values():
            assert all(
                0.5 * interval - 0.05 <= b - a <= 1.5 * interval + 0.1
                for a, b in itertools.pairwise(polls)
            ), polls


async def test_an_unchanged_poll_compares_no_models(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Known lists are not compared field by field again at every poll (~1 ms per 500)."""
    from ollama_tui.api import LocalModel
    from ollama_tui.poller import Poller

    compared = 0
    original = LocalModel.__eq__

    def counting(self: LocalModel, other: object) -> bool:
        nonlocal compared
        compared += 1
        return original(self, other)  # type: ignore[no-any-return]

    monkeypatch.setattr(LocalModel, "__eq__", counting)
    poller = Poller(fleet.urls[0])
    target = poller.add(fleet.urls[0])
    poller.prefetch(target)  # the start-up path: another client, other list objects
    future = poller.take_prefetch(target)
    assert future is not None
    first = await asyncio.wrap_future(future)
    try:
        second = await poller.poll(target, with_version=False)
        assert second.installed is first.installed
        compared = 0
        for _ in range(3):
            again = await poller.poll(target, with_version=False)
            assert again.installed is first.installed
        assert compared == 0
    finally:
        await poller.aclose()
