"""The outdated check in the UI (`o` checks, `O` updates) against the simulator's registry,
over real HTTP: exactly the models changed upstream are marked, an update makes them up to
date again, the token flow works, and offline is unknown (with its reason), never outdated."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import make_app, make_fleet_app, wait_for
from rich.console import Console
from test_ui_ops import fast_sim, notifications, screen_ready, type_text
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input

from ollama_tui.app import OllamaTuiApp
from ollama_tui.registry import Freshness
from ollama_tui.screens.confirm import ConfirmScreen
from ollama_tui.screens.details import DetailsScreen
from ollama_tui.screens.pull import PullScreen
from ollama_tui.simulator import Fleet, Simulator

pytestmark = pytest.mark.simulator_only
__all__ = ["fast_sim"]  # a fixture, imported to be used here


def states(app: OllamaTuiApp, session: Any = None) -> dict[str, Freshness]:
    session = session or app.session
    installed = {(m.name, m.digest) for m in session.installed}
    return {k[0]: r.state for k, r in session.freshness.items() if k in installed}


def table_text(app: OllamaTuiApp) -> str:
    assert app.dashboard is not None
    table = app.dashboard.installed_table
    return "\n".join(table.render_line(y).text for y in range(table.size.height))


async def checked(pilot: Pilot[Any], app: OllamaTuiApp, before: int) -> str:
    """Press `o` and wait for the check's summary (the ``before``-th notification on)."""
    await pilot.press("o")
    await wait_for(
        pilot,
        lambda: any(n.startswith("Checked ") for n in notifications(app)[before:]),
        what=lambda: f"a check summary in {notifications(app)}",
    )
    return next(n for n in notifications(app)[before:] if n.startswith("Checked "))


async def test_check_marks_exactly_the_changed_models_and_update_makes_them_up_to_date(
    fast_sim: Simulator,
) -> None:
    sim = fast_sim
    # Every registry of the simulator's models is the simulator (never the internet).
    app = make_app(sim.url, registry_urls={"registry.ollama.ai": sim.url, "hf.co": sim.url})
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: len(app.session.installed) >= 3)
        local = [m.name for m in app.session.installed if not m.is_remote]
        known = sorted(
            (m for m in app.session.installed if sim.catalogue.get(m.name) is not None),
            key=lambda m: m.size or 0,
        )
        changed = sorted(m.name for m in known[:2])  # the smallest: quick to pull again
        for name in changed:
            sim.change_upstream(name)
        assert "UPDATE" not in table_text(app)  # not checked yet: no column

        summary = await checked(pilot, app, 0)
        found = states(app)
        assert sorted(n for n, s in found.items() if s is Freshness.OUTDATED) == changed
        assert set(found) == set(local)
        assert Freshness.UNKNOWN not in found.values()
        assert "2 outdated" in summary and changed[0] in summary
        text = table_text(app)
        assert "UPDATE" in text and text.count("↑ update") == 2 and "✓" in text

        # Sortable: outdated first.
        app.dashboard.installed_table.sort_by("fresh", reverse=False)  # type: ignore[union-attr]
        await pilot.pause()
        first_rows = table_text(app).splitlines()[1:3]
        assert all("↑ update" in row for row in first_rows), first_rows

        # `O` with nothing marked: every outdated model shown, after a dialog naming them.
        await pilot.press("O")
        dialog = await screen_ready(pilot, app, ConfirmScreen)
        listed = " ".join(item.plain for item in dialog.items)
        assert all(name in listed for name in changed)
        assert len(dialog.items) == 2
        seen = len(notifications(app))
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: any(n.startswith("Checked 2 models") for n in notifications(app)[seen:]),
            timeout=20,
            what=lambda: f"the check after the update in {notifications(app)}",
        )
        await wait_for(pilot, lambda: Freshness.OUTDATED not in states(app).values())
        assert all(states(app)[name] is Freshness.UP_TO_DATE for name in changed)

        # A registry that requires the token flow: checked the same.
        sim.registry.require_token = True
        summary = await checked(pilot, app, len(notifications(app)))
        assert "0 outdated" in summary and "unknown" not in summary
        assert "↑ update" not in table_text(app)


async def test_offline_is_unknown_with_its_reason_and_read_only_may_check_not_update(
    sim: Simulator,
) -> None:
    offline = {"registry.ollama.ai": "http://127.0.0.1:9"}
    app = make_app(sim.url, registry_urls=offline, read_only=True)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: len(app.session.installed) >= 3)
        summary = await checked(pilot, app, 0)
        found = states(app)
        assert found and set(found.values()) == {Freshness.UNKNOWN}
        assert "offline" in summary and "0 outdated" in summary
        assert all(r.reason.startswith("offline") for r in app.session.freshness.values())
        text = table_text(app)
        assert "?" in text and "↑ update" not in text
        # The details of a model say why it is unknown.
        await pilot.press("enter")
        details = await screen_ready(pilot, app, DetailsScreen)
        await wait_for(pilot, lambda: details.show is not None)
        console = Console(record=True, width=120)
        console.print(details._overview(details.show))
        assert "unknown: offline" in console.export_text()
        await pilot.press("escape")
        seen = len(notifications(app))
        await pilot.press("O")
        await wait_for(pilot, lambda: len(notifications(app)) > seen)
        assert "Read-only" in notifications(app)[-1]
        assert not isinstance(app.screen, ConfirmScreen)


async def test_the_fleet_view_the_cache_and_the_insecure_registries(
    fleet: Fleet, tmp_path: Any
) -> None:
    """All servers: each row is checked on its own server (gpu-box's llama3.2 diverged: the
    one outdated model, as in --demo); a restarted app shows the cached answers; the pull
    dialog's insecure toggle follows names on insecure registries."""
    settings = {
        "registry_urls": {"registry.ollama.ai": fleet.urls[0]},
        "insecure_registries": ("registry.lan:5000",),
    }
    app = make_fleet_app(fleet, **settings)
    async with app.run_test(size=(140, 30)) as pilot:
        await wait_for(pilot, lambda: all(s.installed for s in app.sessions))
        await pilot.press("0")
        await wait_for(pilot, lambda: app.dashboard is not None and app.dashboard.all_servers)
        summary = await checked(pilot, app, 0)
        outdated = [
            (s.label, name)
            for s in app.sessions
            for name, state in states(app, s).items()
            if state is Freshness.OUTDATED
        ]
        assert outdated == [("gpu-box", "llama3.2:latest")], outdated
        assert "llama3.2:latest on gpu-box" in summary
        assert table_text(app).count("↑ update") == 1

        await pilot.press("1")  # a server's own table: the pull dialog
        await wait_for(pilot, lambda: not app.dashboard.all_servers)  # type: ignore[union-attr]
        await pilot.press("p")
        await screen_ready(pilot, app, PullScreen)
        box = app.screen.query_one("#pull-insecure", Checkbox)
        field = app.screen.query_one("#pull-name", Input)
        field.value = "registry.lan:5000/me/"  # not a name yet
        await pilot.pause()
        assert not box.value
        await type_text(pilot, "m")
        await wait_for(pilot, lambda: box.value)
        field.value = "llama3.2"  # another registry: off again
        await wait_for(pilot, lambda: not box.value)
        await pilot.press("ctrl+t")  # the user's choice stands
        field.value = "llama3.2:1b"
        await pilot.pause()
        assert box.value
        await pilot.press("escape")

    # Restarted with the registry offline and a background check every hour: the answers
    # cached within the hour are shown at once and used by the start-up check, not asked.
    offline = {"registry.ollama.ai": "http://127.0.0.1:9"}
    again = make_fleet_app(fleet, registry_urls=offline, check_interval=1.0)
    async with again.run_test(size=(140, 30)) as pilot:
        gpu = again.sessions[1]
        await wait_for(pilot, lambda: gpu.installed and gpu.freshness, what="cached answers")
        assert states(again, gpu)["llama3.2:latest"] is Freshness.OUTDATED
        await wait_for(pilot, lambda: any(n.startswith("Checked ") for n in notifications(again)))
        every = [state for s in again.sessions for state in states(again, s).values()]
        assert len(every) == sum(len(s.installed) for s in again.sessions)
        assert Freshness.UNKNOWN not in every
