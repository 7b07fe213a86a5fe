"""Push and pull dialogs as a person reads them (issue #9, group 9): namespace advice only for
the public registry, a push ollama.com would refuse is refused before sending (with copy then
push offered), and the insecure checkbox is readable without colour."""

from __future__ import annotations

import pytest
from conftest import wait_for
from test_ui_ops import SIZE, OpsHarness, requests, screen_ready, type_text
from textual.widgets import Checkbox, Static

from ollama_tui.jobs import JobState
from ollama_tui.screens.pull import PullScreen
from ollama_tui.screens.push import PushScreen, is_public_registry, push_advice
from ollama_tui.simulator import Simulator

pytestmark = pytest.mark.simulator_only


@pytest.mark.parametrize(
    "name",
    [
        "127.0.0.1:5000/library/llama3.2:latest",
        "127.0.0.1:5000/team/llama3.2:latest",
        "reg.lan/x/y:1",
    ],
)
def test_private_registry_gets_no_namespace_advice(name: str) -> None:
    assert not is_public_registry(name)
    advice = push_advice(name).plain
    assert "namespace" not in advice and "ollama.com" not in advice
    assert "private registry" in advice


@pytest.mark.parametrize(
    "name", ["llama3.2:latest", "registry.ollama.ai/library/x:1", "ollama.com/library/x"]
)
def test_public_registry_without_namespace_is_refused_in_the_advice(name: str) -> None:
    assert is_public_registry(name)
    assert "refused" in push_advice(name).plain.lower()


def test_public_registry_with_a_namespace_is_fine() -> None:
    advice = push_advice("someuser/llama3-pirate:latest").plain
    assert "refused" not in advice.lower()
    assert "someuser" in advice


async def test_public_push_without_namespace_sends_nothing_and_offers_copy(
    sim: Simulator,
) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        app.operations.push(app.model("llama3.2:latest"))
        screen = await screen_ready(pilot, app, PushScreen)
        await pilot.press("y")  # refused: no request, no job
        await pilot.pause()
        assert app.jobs.jobs == [] and not requests(sim, "/api/push")
        assert isinstance(app.screen, PushScreen)
        title = str(screen.query_one("#push-copy-title", Static).render())
        assert "Copy to" in title and "push that?" in title
        screen.query_one("#push-namespace").focus()
        await type_text(pilot, "someone")
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(app.jobs.jobs))
        copies = requests(sim, "/api/copy")
        assert [(c.json["source"], c.json["destination"]) for c in copies] == [
            ("llama3.2:latest", "someone/llama3.2:latest")
        ]
        assert app.jobs.jobs[0].model == "someone/llama3.2:latest"


async def test_private_registry_push_is_sent(sim: Simulator) -> None:
    sim.add_model("127.0.0.1:5000/mine:latest")
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        app.operations.push(app.model("127.0.0.1:5000/mine:latest"))
        screen = await screen_ready(pilot, app, PushScreen)
        assert not screen.query("#push-namespace")
        await pilot.press("y")
        await wait_for(pilot, lambda: bool(app.jobs.jobs))
        assert app.jobs.jobs[0].model == "127.0.0.1:5000/mine:latest"
        await wait_for(pilot, lambda: app.jobs.jobs[0].state is not JobState.QUEUED)


@pytest.mark.parametrize("dialog", ["pull", "push"])
async def test_insecure_checkbox_reads_without_colour(sim: Simulator, dialog: str) -> None:
    app = OpsHarness(sim.url)
    async with app.run_test(size=SIZE) as pilot:
        if dialog == "pull":
            app.operations.pull()
            screen = await screen_ready(pilot, app, PullScreen)
        else:
            app.operations.push(app.model("llama3.2:latest"))
            screen = await screen_ready(pilot, app, PushScreen)
        box = screen.query_one(Checkbox)
        off = box.render_line(0).text
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert box.value
        on = box.render_line(0).text
        assert off != on  # the characters differ, not only their colour
