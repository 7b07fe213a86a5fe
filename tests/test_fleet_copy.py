"""Copy to server(s): the plan per target, and the jobs over real HTTP between two simulators."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from conftest import wait_for
from rich.text import Text
from textual.widgets import OptionList

from ollama_tui.api.models import LocalModel, ModelShow
from ollama_tui.app import OllamaTuiApp
from ollama_tui.config import ServerSettings, Settings
from ollama_tui.fleet_copy import (
    CopyKind,
    CopyPlan,
    SourceModel,
    check_copy,
    plan_copy,
    read_source,
    submit_plan,
)
from ollama_tui.jobs import JobKind, JobQueue, JobState, explain_job_error
from ollama_tui.registry import Freshness, RegistryChecker
from ollama_tui.screens.copy_servers import CopyToServersScreen
from ollama_tui.session import ServerSession
from ollama_tui.simulator import Simulator
from ollama_tui.simulator.state import SeedModel

pytestmark = pytest.mark.simulator_only

BASE = "llama3.2:latest"
DERIVED = "pirate:latest"
DERIVED_MODELFILE = (
    f"FROM {BASE}\n"
    'SYSTEM """You are a pirate.\nAnswer like one."""\n'
    "PARAMETER temperature 0.3\n"
    "PARAMETER stop <|end|>\n"
    "PARAMETER stop <|eot_id|>\n"
    "PARAMETER num_ctx 8192\n"
)


def fast(*seeds: SeedModel, **kwargs: Any) -> Simulator:
    return Simulator(
        seeds=seeds, bandwidth=1e13, progress_interval=0.001, check_host=False, **kwargs
    )


@pytest.fixture
async def pair() -> AsyncIterator[tuple[Simulator, Simulator]]:
    """A has llama3.2 (and models made from it in the tests); B has only qwen."""
    a = fast(SeedModel("llama3.2:3b", BASE, timedelta(days=2)))
    b = fast(SeedModel("qwen2.5:0.5b", "qwen2.5:0.5b", timedelta(days=3)))
    await a.start("127.0.0.1", 0)
    await b.start("127.0.0.1", 0)
    try:
        yield a, b
    finally:
        await a.stop()
        await b.stop()


async def source_of(session: ServerSession, name: str) -> SourceModel:
    installed = await session.client.list_models()
    model = next(m for m in installed if m.name == name)
    return await read_source(session.client, model, installed)


async def copy(
    a: ServerSession, b: ServerSession, name: str, registry: Simulator | None = None
) -> tuple[CopyPlan, list[Any], JobQueue]:
    """Plan and run a copy of ``name`` from a to b; with ``registry``, that simulator's
    catalogue is asked whether it has the model (or its base)."""
    if registry is None:
        source = await source_of(a, name)
    else:
        async with RegistryChecker(registry_urls={"registry.ollama.ai": registry.url}) as check:
            installed = await a.client.list_models()
            model = next(m for m in installed if m.name == name)
            source = await read_source(a.client, model, installed, check)
    plan = plan_copy(source, await b.client.list_models(), a.label)
    jobs = JobQueue()
    submitted = submit_plan(jobs, plan, b, a.label)
    await jobs.wait_idle()
    return plan, submitted, jobs


@pytest.fixture
async def sessions(pair: tuple[Simulator, Simulator]) -> AsyncIterator[tuple[Any, ...]]:
    a_sim, b_sim = pair
    a, b = ServerSession("A", a_sim.url), ServerSession("B", b_sim.url)
    try:
        yield a_sim, b_sim, a, b
    finally:
        await a.aclose()
        await b.aclose()


def digest_of(models: list[LocalModel], name: str) -> str | None:
    return next((m.digest for m in models if m.name == name), None)


# -- over HTTP ---------------------------------------------------------------------------------


async def test_registry_model_is_pulled_on_the_target_with_the_same_digest(
    sessions: tuple[Any, ...],
) -> None:
    _a_sim, b_sim, a, b = sessions
    plan, jobs, _ = await copy(a, b, BASE)
    assert plan.kind is CopyKind.PULL and plan.text == f"pull {BASE}"
    assert [(j.kind, j.model, j.state, j.server) for j in jobs] == [
        (JobKind.PULL, BASE, JobState.DONE, b)
    ]
    assert b_sim.request_count("/api/create") == 0
    digest = digest_of(await a.client.list_models(), BASE)
    assert digest and digest_of(await b.client.list_models(), BASE) == digest
    shown_a, shown_b = await a.client.show(BASE), await b.client.show(BASE)
    assert shown_b.parameters == shown_a.parameters and shown_b.template == shown_a.template
    # Copying again: nothing to do, and said so.
    again = plan_copy(await source_of(a, BASE), await b.client.list_models(), "A")
    assert again.kind is CopyKind.PRESENT and again.text == "already there (same digest)"


async def test_derived_model_is_recreated_after_its_base_is_pulled(
    sessions: tuple[Any, ...],
) -> None:
    _a_sim, b_sim, a, b = sessions
    async for _ in a.client.create(DERIVED, DERIVED_MODELFILE, from_model=BASE):
        pass
    plan, jobs, _ = await copy(a, b, DERIVED)
    assert plan.kind is CopyKind.RECREATE and plan.pull_base
    assert plan.text == f"re-create from {BASE} (pull the base first)"
    pull, create = jobs
    assert (pull.kind, pull.model, create.kind, create.model) == (
        JobKind.PULL,
        BASE,
        JobKind.CREATE,
        DERIVED,
    )
    assert create.after is pull
    assert pull.state is JobState.DONE and create.state is JobState.DONE, create.error
    # The base was pulled first, then the create sent (it pulled nothing itself).
    paths = [r.path for r in b_sim.requests if r.path in ("/api/pull", "/api/create")]
    assert paths == ["/api/pull", "/api/create"]
    assert pull.finished_at is not None and create.started_at is not None
    assert create.started_at >= pull.finished_at
    shown_a, shown_b = await a.client.show(DERIVED), await b.client.show(DERIVED)
    assert shown_b.system == shown_a.system == "You are a pirate.\nAnswer like one."
    assert shown_b.parameters == shown_a.parameters
    assert shown_b.parameters_dict["temperature"] == 0.3
    assert shown_b.parameters_dict["stop"] == ["<|end|>", "<|eot_id|>"]
    assert shown_b.template == shown_a.template
    assert shown_b.details.parent_model == BASE
    models_a, models_b = await a.client.list_models(), await b.client.list_models()
    assert digest_of(models_b, DERIVED) == digest_of(models_a, DERIVED)
    assert digest_of(models_b, BASE) == digest_of(models_a, BASE)
    assert await check_copy(plan, await source_of(a, DERIVED), b.client, "A", "B") == ""


async def test_derived_model_with_the_base_on_the_target_is_recreated_without_a_pull(
    sessions: tuple[Any, ...],
) -> None:
    _a_sim, b_sim, a, b = sessions
    async for _ in a.client.create(DERIVED, DERIVED_MODELFILE, from_model=BASE):
        pass
    await copy(a, b, BASE)
    pulls = b_sim.request_count("/api/pull")
    plan, jobs, _ = await copy(a, b, DERIVED)
    assert plan.kind is CopyKind.RECREATE and not plan.pull_base
    assert plan.text == f"re-create from {BASE}"
    assert [j.kind for j in jobs] == [JobKind.CREATE] and jobs[0].state is JobState.DONE
    assert b_sim.request_count("/api/pull") == pulls


async def test_a_failing_base_pull_stops_the_recreate(sessions: tuple[Any, ...]) -> None:
    _a_sim, b_sim, a, b = sessions
    async for _ in a.client.create(DERIVED, DERIVED_MODELFILE, from_model=BASE):
        pass
    b_sim.faults.add("/api/pull", "error_line", count=1, after_lines=1, message="registry down")
    _plan, (pull, create), jobs = await copy(a, b, DERIVED)
    assert pull.state is JobState.FAILED and pull.error == "registry down"
    assert create.state is JobState.FAILED
    assert create.error == f"not run: the pull of {BASE} it needs failed: registry down"
    assert create.started_at is None
    assert b_sim.request_count("/api/create") == 0
    assert DERIVED not in {m.name for m in await b.client.list_models()}
    # Retrying the re-create retries the pull it needs first.
    jobs.retry(create.id)
    assert pull.state is not JobState.FAILED
    await jobs.wait_idle()
    assert pull.state is JobState.DONE and create.state is JobState.DONE, create.error
    assert (await b.client.show(DERIVED)).system == "You are a pirate.\nAnswer like one."


async def test_weights_only_on_the_source_disk_are_explained_and_nothing_is_sent(
    sessions: tuple[Any, ...],
) -> None:
    a_sim, b_sim, a, b = sessions
    # Made from the base, but with weights of its own (quantized here, or from a GGUF file).
    a_sim.add_model("llama3.2-q2:latest", parent_model=BASE)
    before = len(b_sim.requests)
    plan, jobs, _ = await copy(a, b, "llama3.2-q2:latest")
    assert plan.kind is CopyKind.CANNOT and not plan.actionable and jobs == []
    assert plan.text.startswith("cannot copy: its weights are not those of its base")
    assert "A's disk" in plan.text and "/api/blobs" in plan.text
    # Only the list the test asked for: no pull, no create, no blob.
    assert [r.path for r in b_sim.requests[before:]] == ["/api/tags"]


async def test_a_model_the_registry_lacks_fails_with_an_explanation(
    sessions: tuple[Any, ...],
) -> None:
    """No parent: taken for a registry model (the API says nothing of its origin); the
    registry's "does not exist" then gets an explanation, and nothing is created."""
    a_sim, _b_sim, a, b = sessions
    a_sim.add_model("my-own-gguf:latest")
    plan, (pull,), _ = await copy(a, b, "my-own-gguf:latest")
    assert plan.kind is CopyKind.PULL
    assert pull.state is JobState.FAILED
    advice = explain_job_error(pull)
    assert "exist only on A's disk" in advice and "cannot copy" in advice
    assert "my-own-gguf:latest" not in {m.name for m in await b.client.list_models()}


async def test_a_recreate_on_a_base_that_differs_is_reported() -> None:
    a = fast(SeedModel("llama3.2:3b", BASE, timedelta(days=40), diverged=True))
    b = fast()
    await a.start("127.0.0.1", 0)
    await b.start("127.0.0.1", 0)
    sa, sb = ServerSession("A", a.url), ServerSession("B", b.url)
    try:
        async for _ in sa.client.create(DERIVED, DERIVED_MODELFILE, from_model=BASE):
            pass
        plan, (pull, create), _ = await copy(sa, sb, DERIVED)
        assert pull.state is JobState.DONE and create.state is JobState.DONE
        problem = await check_copy(plan, await source_of(sa, DERIVED), sb.client, "A", "B")
        assert problem == (
            f"{DERIVED}: its base {BASE} on B is not the one on A, so its weights differ"
        )
    finally:
        await sa.aclose()
        await sb.aclose()
        await a.stop()
        await b.stop()


async def test_a_pull_that_gives_another_digest_is_reported() -> None:
    """The registry's tag moved since A pulled it: B gets other weights, and is told."""
    a = fast(SeedModel("llama3.2:3b", BASE, timedelta(days=40), diverged=True))
    b = fast()
    await a.start("127.0.0.1", 0)
    await b.start("127.0.0.1", 0)
    sa, sb = ServerSession("A", a.url), ServerSession("B", b.url)
    try:
        plan, (pull,), _ = await copy(sa, sb, BASE, registry=a)
        assert plan.text == f"pull {BASE}; the registry's {BASE} is not the one on A"
        assert pull.state is JobState.DONE
        problem = await check_copy(plan, await source_of(sa, BASE), sb.client, "A", "B")
        assert problem.startswith(f"{BASE} on B is not the one on A (")
        assert problem.endswith("the registry's copy has changed since A pulled it")
    finally:
        await sa.aclose()
        await sb.aclose()
        await a.stop()
        await b.stop()


async def test_a_model_its_registry_lacks_is_explained_and_nothing_is_sent(
    sessions: tuple[Any, ...],
) -> None:
    """Made on A from a local GGUF (no base, and the registry has no such name): said before
    anything is sent."""
    a_sim, b_sim, a, b = sessions
    a_sim.add_model("my-own-gguf:latest")
    before = len(b_sim.requests)
    plan, jobs, _ = await copy(a, b, "my-own-gguf:latest", registry=a_sim)
    assert plan.kind is CopyKind.CANNOT and jobs == []
    assert plan.reason.startswith(
        "its registry has no my-own-gguf:latest: it was made on A (from a local file, e.g. a "
        "GGUF), so its weights exist only on A's disk; the API has no request"
    )
    assert [r.path for r in b_sim.requests[before:]] == ["/api/tags"]
    # A registry model: the registry has it with A's digest, so a plain pull.
    plan, _, _ = await copy(a, b, BASE, registry=a_sim)
    assert plan.kind is CopyKind.PULL and plan.text == f"pull {BASE}"


async def test_a_derived_model_whose_base_the_registry_lacks_is_explained(
    sessions: tuple[Any, ...],
) -> None:
    a_sim, b_sim, a, b = sessions
    a_sim.add_model("my-base:latest")
    async for _ in a.client.create(
        DERIVED, "FROM my-base:latest\nSYSTEM hi\n", from_model="my-base:latest"
    ):
        pass
    plan, jobs, _ = await copy(a, b, DERIVED, registry=a_sim)
    assert plan.kind is CopyKind.CANNOT and jobs == []
    assert plan.reason.startswith("its base my-base:latest is not in its registry")
    assert b_sim.request_count("/api/pull") == b_sim.request_count("/api/create") == 0


# -- plans ------------------------------------------------------------------------------------


def local(name: str, digest: str, parent: str = "") -> LocalModel:
    return LocalModel.from_json(
        {"name": name, "digest": digest, "details": {"parent_model": parent}, "size": 1}
    )


def show(modelfile: str, **fields: Any) -> ModelShow:
    return ModelShow.from_json({"modelfile": modelfile, **fields})


W1, W2 = "a" * 64, "b" * 64
BASE_SHOW = show(f"FROM /m/blobs/sha256-{W1}\n", template="{{ .Prompt }}")
DERIVED_SHOW = show(
    f"FROM /m/blobs/sha256-{W1}\nSYSTEM hi\n",
    system="hi",
    template="{{ .Prompt }}",
    parameters='temperature                    0.3\nstop                           "x"',
)


def derived_source(**changes: Any) -> SourceModel:
    fields: dict[str, Any] = {
        "model": local(DERIVED, "d" * 64, BASE),
        "show": DERIVED_SHOW,
        "base_model": local(BASE, "1" * 64),
        "base_show": BASE_SHOW,
    }
    fields.update(changes)
    return SourceModel(**fields)


def test_plan_pull_for_a_model_without_a_base() -> None:
    source = SourceModel(local(BASE, "1" * 64), BASE_SHOW)
    assert plan_copy(source, []).text == f"pull {BASE}"
    other = plan_copy(source, [local(BASE, "2" * 64)])
    assert other.kind is CopyKind.PULL
    assert other.text == f"pull {BASE}; replaces the different copy there"
    assert plan_copy(source, [local(BASE.upper(), "1" * 64)]).kind is CopyKind.PRESENT


def test_plan_recreate_carries_system_parameters_template() -> None:
    plan = plan_copy(derived_source(), [])
    assert plan.kind is CopyKind.RECREATE and plan.base == BASE and plan.pull_base
    assert plan.modelfile.splitlines() == [
        f"FROM {BASE}",
        "TEMPLATE {{ .Prompt }}",
        "SYSTEM hi",
        "PARAMETER temperature 0.3",
        "PARAMETER stop x",
    ]
    there = plan_copy(derived_source(), [local(BASE, "1" * 64)])
    assert there.text == f"re-create from {BASE}"
    differs = plan_copy(derived_source(), [local(BASE, "9" * 64)], "A")
    assert differs.text == f"re-create from {BASE}; {BASE} there differs from the one on A"


def test_plan_uses_what_the_registry_says() -> None:
    source = SourceModel(local(BASE, "1" * 64), BASE_SHOW, registry=Freshness.LOCAL)
    assert plan_copy(source, [], "A").kind is CopyKind.CANNOT
    for state in (Freshness.UP_TO_DATE, Freshness.UNKNOWN, None):
        unsure = SourceModel(local(BASE, "1" * 64), BASE_SHOW, registry=state)
        assert plan_copy(unsure, [], "A").text == f"pull {BASE}"
    lacking = derived_source(base_registry=Freshness.LOCAL)
    assert plan_copy(lacking, [], "A").kind is CopyKind.CANNOT
    # ... unless the target has that base already.
    assert plan_copy(lacking, [local(BASE, "1" * 64)], "A").kind is CopyKind.RECREATE
    moved = plan_copy(derived_source(base_registry=Freshness.OUTDATED), [], "A")
    assert moved.text == (
        f"re-create from {BASE} (pull the base first); the registry's {BASE} is not the one on A"
    )


def test_plan_base_unknown_on_the_source_is_pulled_by_name() -> None:
    plan = plan_copy(derived_source(base_model=None, base_show=None), [])
    assert plan.kind is CopyKind.RECREATE and plan.pull_base


def test_plan_cannot_copy_an_adapter_or_own_weights_or_a_local_base() -> None:
    adapter = show(f"FROM /m/blobs/sha256-{W1}\nADAPTER /m/blobs/sha256-{W2}\n")
    plan = plan_copy(derived_source(show=adapter), [], "A")
    assert plan.kind is CopyKind.CANNOT
    assert plan.text.startswith("cannot copy: its adapter is a file on A's disk")
    pulled = SourceModel(local("lora:latest", "5" * 64), adapter)  # no base: from a registry
    assert plan_copy(pulled, [], "A").text == "pull lora:latest"
    own = plan_copy(derived_source(show=show(f"FROM /m/blobs/sha256-{W2}\n")), [], "A")
    assert own.kind is CopyKind.CANNOT and "not those of its base" in own.reason
    local_base = derived_source(base_model=local(BASE, "1" * 64, parent="other:latest"))
    chained = plan_copy(local_base, [], "A")
    assert chained.kind is CopyKind.CANNOT
    assert chained.reason == (
        f"its base {BASE} was itself made on A; copy {BASE} first, then this model"
    )
    # With that base on the target already (same digest), it is re-created from it.
    assert plan_copy(local_base, [local(BASE, "1" * 64)]).kind is CopyKind.RECREATE


def test_plan_cannot_write_a_system_prompt_a_modelfile_cannot_carry() -> None:
    bad = show(f"FROM /m/blobs/sha256-{W1}\n", system="bell \x07")
    plan = plan_copy(derived_source(show=bad), [])
    assert plan.kind is CopyKind.CANNOT and "cannot be rebuilt" in plan.reason


# -- the dialog ------------------------------------------------------------------------------


def two_server_app(a: Simulator, b: Simulator, **settings: Any) -> OllamaTuiApp:
    """alpha and beta; the registry the copy asks is alpha's catalogue (never the network)."""
    servers = (ServerSettings("alpha", a.url), ServerSettings("beta", b.url))
    settings.setdefault("registry_urls", {"registry.ollama.ai": a.url})
    return OllamaTuiApp(Settings(interval=60.0, servers=servers, **settings))


async def connected(pilot: Any, app: OllamaTuiApp) -> None:
    await wait_for(
        pilot,
        lambda: all(s.status.state == "connected" and s.installed for s in app.sessions),
        what="both servers connected",
    )
    await pilot.pause()


def cursor_to(app: OllamaTuiApp, name: str) -> None:
    assert app.dashboard is not None
    table = app.dashboard.installed_table
    table.focus()
    assert table.select_key(next(k for k in table.visible_keys if k[0] == name))


async def test_copy_dialog_by_keyboard_pulls_on_the_checked_server(
    pair: tuple[Simulator, Simulator],
) -> None:
    a, b = pair
    app = two_server_app(a, b)
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app)
        cursor_to(app, BASE)
        await pilot.pause()
        await pilot.press("C")
        await wait_for(pilot, lambda: isinstance(app.screen, CopyToServersScreen))
        screen = app.screen
        assert isinstance(screen, CopyToServersScreen)
        option_list = screen.query_one(OptionList)
        prompt = option_list.get_option_at_index(0).prompt
        assert isinstance(prompt, Text)
        assert prompt.plain == f"[ ] beta — pull {BASE}"
        # The whole row is on screen at 80x24.
        assert option_list.region.width <= 80 and option_list.region.height >= 1
        await pilot.press("enter")  # nothing checked: it stays open and says so
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("space")
        prompt = option_list.get_option_at_index(0).prompt
        assert isinstance(prompt, Text) and prompt.plain.startswith("[x] beta")
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, CopyToServersScreen))
        await wait_for(pilot, lambda: app.jobs.jobs and not app.jobs.has_active)
        (job,) = app.jobs.jobs
        assert job.server is app.sessions[1] and job.kind is JobKind.PULL
        assert job.state is JobState.DONE
        await wait_for(pilot, lambda: any(m.name == BASE for m in app.sessions[1].installed))


async def test_copy_dialog_escape_cancels_and_sends_nothing(
    pair: tuple[Simulator, Simulator],
) -> None:
    a, b = pair
    app = two_server_app(a, b)
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app)
        cursor_to(app, BASE)
        await pilot.press("C")
        await wait_for(pilot, lambda: isinstance(app.screen, CopyToServersScreen))
        screen = app.screen
        assert isinstance(screen, CopyToServersScreen)
        # A click on a row toggles it (it does not copy).
        option_list = screen.query_one(OptionList)
        top = option_list.content_region.y - option_list.region.y
        await pilot.click(OptionList, offset=(4, top))
        await pilot.pause()
        assert screen.checked == {0} and app.screen is screen
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, CopyToServersScreen))
        await pilot.pause()
        assert app.jobs.jobs == []
        assert b.request_count("/api/pull") == 0


async def test_copy_key_is_refused_in_read_only_mode_and_absent_with_one_server(
    pair: tuple[Simulator, Simulator],
) -> None:
    a, b = pair
    app = two_server_app(a, b, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app)
        cursor_to(app, BASE)
        await pilot.press("C")
        await pilot.pause()
        assert not isinstance(app.screen, CopyToServersScreen)
        assert any("Read-only" in str(n.message) for n in app._notifications)
    single = OllamaTuiApp(Settings(host=a.url, interval=60.0))
    async with single.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: bool(single.sessions[0].installed))
        assert single.dashboard is not None
        assert "C" not in single.dashboard._bindings.key_to_bindings


async def test_copy_request_message_opens_the_dialog_with_targets_checked(
    pair: tuple[Simulator, Simulator],
) -> None:
    from ollama_tui.messages import CopyToServersRequested

    a, b = pair
    app = two_server_app(a, b)
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app)
        model = next(m for m in app.sessions[0].installed if m.name == BASE)
        app.post_message(CopyToServersRequested(model, app.sessions[0], (app.sessions[1],)))
        await wait_for(pilot, lambda: isinstance(app.screen, CopyToServersScreen))
        screen = app.screen
        assert isinstance(screen, CopyToServersScreen) and screen.checked == {0}
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.jobs.jobs and not app.jobs.has_active)
        assert [j.server for j in app.jobs.jobs] == [app.sessions[1]]


async def test_a_job_after_another_waits_queued_and_says_for_what() -> None:
    import asyncio

    from ollama_tui.reachability import Reachability

    release = asyncio.Event()

    class Client:
        async def pull(self, name: str, *, insecure: bool = False) -> AsyncIterator[Any]:
            await release.wait()
            if False:  # an async generator that yields nothing
                yield None

        def push(self, name: str, *, insecure: bool = False) -> AsyncIterator[Any]:
            raise NotImplementedError

        async def create(self, name: str, modelfile: str, **kwargs: Any) -> AsyncIterator[Any]:
            if False:
                yield None

    class Server:
        client = Client()
        reachability = Reachability()

    jobs = JobQueue()
    server: Any = Server()
    pull = jobs.submit_pull(BASE, server=server)
    create = jobs.submit_create(DERIVED, f"FROM {BASE}\n", server=server, after=pull)
    await asyncio.sleep(0.01)
    assert pull.state is JobState.RUNNING and create.state is JobState.QUEUED
    assert create.state_text == f"queued — after job #{pull.id} (pull)"
    release.set()
    await jobs.wait_idle()
    assert pull.state is JobState.DONE and create.state is JobState.DONE
    assert create.state_text == "done"


async def test_copy_dialog_warns_when_the_pulled_copy_differs() -> None:
    a = fast(SeedModel("llama3.2:3b", BASE, timedelta(days=40), diverged=True))
    b = fast(SeedModel("qwen2.5:0.5b", "qwen2.5:0.5b", timedelta(days=3)))
    await a.start("127.0.0.1", 0)
    await b.start("127.0.0.1", 0)
    try:
        app = two_server_app(a, b)
        async with app.run_test(size=(80, 24)) as pilot:
            await connected(pilot, app)
            cursor_to(app, BASE)
            await pilot.press("C")
            await wait_for(pilot, lambda: isinstance(app.screen, CopyToServersScreen))
            await pilot.press("space", "enter")

            def warned() -> bool:
                return any(
                    "the registry's copy has changed since alpha pulled it" in str(n.message)
                    for n in app._notifications
                )

            await wait_for(pilot, warned, what="the warning that the copies differ")
    finally:
        await a.stop()
        await b.stop()


def test_plan_pull_for_a_cloud_stub_even_with_a_parent() -> None:
    stub = LocalModel.from_json(
        {
            "name": "gpt-oss:20b-cloud",
            "digest": "c" * 64,
            "remote_model": "gpt-oss:20b",
            "remote_host": "https://ollama.com:443",
            "details": {"parent_model": "gpt-oss:20b"},
        }
    )
    plan = plan_copy(SourceModel(stub, show("FROM gpt-oss:20b\n")), [])
    assert plan.kind is CopyKind.PULL and plan.model == "gpt-oss:20b-cloud"


def test_dialog_rows_show_untrusted_names_as_plain_text() -> None:
    plan = CopyPlan(CopyKind.PULL, "[bold]x\x1b[31m:latest")
    screen = CopyToServersScreen("m", "a", [("[red]evil\u200b", plan)], checked=[0])
    prompt = screen._prompt(0)
    assert prompt.plain == "[x] [red]evil\\u200b — pull [bold]x\\x1b[31m:latest"
    assert all(span.style in ("bold", "") for span in prompt.spans)
    cannot = CopyToServersScreen("m", "a", [("b", CopyPlan(CopyKind.CANNOT, "m", reason="r"))])
    assert cannot._prompt(0).plain == "[-] b — cannot copy: r" and cannot.checked == set()


async def test_copy_dialog_recreates_a_derived_model_on_the_other_server(
    pair: tuple[Simulator, Simulator],
) -> None:
    """The acceptance check through the UI: FROM base + SYSTEM + PARAMETER temperature, copied
    from alpha to beta (which lacks the base), has the same system and parameters there."""
    a, b = pair
    source = ServerSession("A", a.url)
    target = ServerSession("B", b.url)
    try:
        async for _ in source.client.create(DERIVED, DERIVED_MODELFILE, from_model=BASE):
            pass
        app = two_server_app(a, b)
        async with app.run_test(size=(80, 24)) as pilot:
            await connected(pilot, app)
            cursor_to(app, DERIVED)
            await pilot.press("C")
            await wait_for(pilot, lambda: isinstance(app.screen, CopyToServersScreen))
            prompt = app.screen.query_one(OptionList).get_option_at_index(0).prompt
            assert isinstance(prompt, Text)
            assert prompt.plain == f"[ ] beta — re-create from {BASE} (pull the base first)"
            await pilot.press("space", "enter")
            await wait_for(pilot, lambda: len(app.jobs.jobs) == 2 and not app.jobs.has_active)
            assert [(j.kind, j.model, j.state) for j in app.jobs.jobs] == [
                (JobKind.PULL, BASE, JobState.DONE),
                (JobKind.CREATE, DERIVED, JobState.DONE),
            ]
        shown_a, shown_b = await source.client.show(DERIVED), await target.client.show(DERIVED)
        assert shown_b.system == shown_a.system and shown_b.parameters == shown_a.parameters
        assert shown_b.parameters_dict["temperature"] == 0.3
    finally:
        await source.aclose()
        await target.aclose()
