"""Issue #9 group 2: transfers cut by a lost server wait for it and come back by themselves.

The queue-level tests drive jobs with the scripted fake client of test_jobs.py; the app-level
ones run the real app and client against the simulator, stopped and restarted on its port.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from conftest import poll_until
from test_jobs import DIGEST_A, MB, Ev, FakeClient, Seen, feed, make_queue, state_is

from ollama_tui.api import ApiError, ConnectionLost, ModelNotFound, ServerUnreachable, StreamError
from ollama_tui.config import DEFAULT_RECONNECT_TIMEOUT, ConfigError, Settings, load_config
from ollama_tui.jobs import JobQueue, JobState
from ollama_tui.reachability import Reachability
from ollama_tui.simulator import Simulator
from ollama_tui.widgets.job_progress import job_status

LOST: list[Exception] = [
    ConnectionLost("the connection to the Ollama server was lost during the pull"),
    ServerUnreachable("cannot reach the Ollama server at x: connection refused"),
]
REFUSED: list[Exception] = [
    ModelNotFound(404, "model 'nope' not found"),
    ApiError(500, "the disk is on fire"),
    StreamError("pull model manifest: file does not exist"),
]


@pytest.fixture
def client() -> FakeClient:
    return FakeClient()


def waiting_queue(client: FakeClient, reach: Reachability, **kwargs: Any) -> tuple[JobQueue, Seen]:
    kwargs.setdefault("reconnect_delay", 0)
    return make_queue(client, reachability=reach, min_interval=0, **kwargs)


# -- the queue ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["pull", "push"])
@pytest.mark.parametrize("error", LOST, ids=type)
async def test_lost_transfer_waits_and_resumes_once_the_server_answers(
    client: FakeClient, kind: str, error: Exception
) -> None:
    reach = Reachability()
    first = client.script("m")
    queue, seen = waiting_queue(client, reach)
    job = queue.submit_pull("m") if kind == "pull" else queue.submit_push("m")
    await feed(first, Ev("pulling", DIGEST_A, 100 * MB, 40 * MB))
    first.fail(error)
    await poll_until(state_is(job, JobState.WAITING))
    assert job.state_text == "waiting for the server"
    assert job.is_active and job.can_cancel and not job.can_retry
    assert job.completed == 40 * MB and job.fraction == 0.4  # the progress stays in view
    assert "waiting for the server" in job_status(job).plain
    assert seen.finished == []
    await asyncio.sleep(0.05)
    assert len(client.calls) == 1  # no answer from the server yet: nothing sent again

    second = client.script("m")
    reach.answered()  # e.g. a poll got through
    await poll_until(lambda: second.started.is_set())
    assert job.state is JobState.RUNNING and job.error is None
    assert client.calls[1] == client.calls[0]  # the same request again: the server resumes
    await feed(second, Ev("pulling", DIGEST_A, 100 * MB, 100 * MB), Ev("success"))
    second.finish()
    await queue.wait_idle()
    assert job.state is JobState.DONE and job.attempt == 1
    assert seen.states(job.id) == [
        JobState.QUEUED,
        JobState.RUNNING,
        JobState.WAITING,
        JobState.RUNNING,
        JobState.DONE,
    ]


@pytest.mark.parametrize("error", REFUSED, ids=type)
async def test_a_refusal_is_not_a_lost_server(client: FakeClient, error: Exception) -> None:
    script = client.script("nope")
    queue, seen = waiting_queue(client, Reachability())
    job = queue.submit_pull("nope")
    script.fail(error)
    await queue.wait_idle()
    assert job.state is JobState.FAILED and job.error == str(error)
    assert JobState.WAITING not in seen.states(job.id)


async def test_a_create_cut_by_a_lost_server_fails(client: FakeClient) -> None:
    # Only pulls and pushes are resumed by sending them again.
    script = client.script("made")
    queue, _ = waiting_queue(client, Reachability())
    job = queue.submit_create("made", "FROM x\n")
    script.fail(LOST[0])
    await queue.wait_idle()
    assert job.state is JobState.FAILED


async def test_the_wait_gives_up_after_the_reconnect_timeout(client: FakeClient) -> None:
    script = client.script("m")
    queue, seen = waiting_queue(client, Reachability(), reconnect_timeout=0.2)
    job = queue.submit_pull("m")
    await feed(script, Ev("pulling", DIGEST_A, 100 * MB, 40 * MB))
    script.fail(LOST[1])
    await poll_until(state_is(job, JobState.WAITING))
    started = time.monotonic()
    await asyncio.wait_for(queue.wait_idle(), 5)
    assert 0.1 < time.monotonic() - started < 2
    assert job.state is JobState.FAILED
    assert job.error is not None
    assert job.error.startswith("gave up waiting for the server after 0.2 s")
    assert "connection refused" in job.error  # and why
    assert job.completed == 40 * MB and job.can_retry
    assert seen.finished == [(job.id, JobState.FAILED)]


async def test_a_server_that_keeps_dropping_the_transfer_is_given_up(client: FakeClient) -> None:
    # Answers keep coming (polls work) but every try is cut before a byte moves: bounded.
    reach = Reachability()
    queue, _ = waiting_queue(client, reach, reconnect_timeout=0.3, reconnect_delay=0.05)
    scripts = [client.script("m") for _ in range(40)]
    for script in scripts:
        script.fail(LOST[0])
    job = queue.submit_pull("m")

    async def answers() -> None:
        while True:
            reach.answered()
            await asyncio.sleep(0.01)

    feeder = asyncio.create_task(answers())
    try:
        await asyncio.wait_for(queue.wait_idle(), 5)
    finally:
        feeder.cancel()
    assert job.state is JobState.FAILED and job.error and "gave up" in job.error
    assert 2 <= len(client.calls) <= 8  # tried again, but never faster than reconnect_delay


async def test_a_transfer_that_moves_between_losses_is_not_given_up(client: FakeClient) -> None:
    # A flaky link that cuts a pull every little while, but each try moves bytes: the limit
    # counts time without the server, not the pull's whole length.
    reach = Reachability()
    queue, _ = waiting_queue(client, reach, reconnect_timeout=0.25, reconnect_delay=0.1)
    scripts = [client.script("m") for _ in range(6)]
    job = queue.submit_pull("m")
    for index, script in enumerate(scripts[:-1]):
        await feed(script, Ev("pulling", DIGEST_A, 100 * MB, (index + 1) * 10 * MB))
        script.fail(LOST[0])
        await poll_until(state_is(job, JobState.WAITING))
        reach.answered()
    last = scripts[-1]
    await feed(last, Ev("pulling", DIGEST_A, 100 * MB, 100 * MB), Ev("success"))
    last.finish()
    await asyncio.wait_for(queue.wait_idle(), 5)
    assert job.state is JobState.DONE, job.error  # > 0.5 s in all, far over the limit


async def test_cancel_ends_the_wait(client: FakeClient) -> None:
    script = client.script("m")
    queue, seen = waiting_queue(client, Reachability())
    job = queue.submit_pull("m")
    script.fail(LOST[0])
    await poll_until(state_is(job, JobState.WAITING))
    assert queue.cancel(job.id) is True
    await asyncio.wait_for(queue.wait_idle(), 5)
    assert job.state is JobState.CANCELLED
    assert seen.finished == [(job.id, JobState.CANCELLED)]
    assert len(client.calls) == 1


@pytest.mark.parametrize("waits", [True, False], ids=["waiting", "no-reachability"])
async def test_retry_while_the_server_is_down_keeps_the_progress(
    client: FakeClient, waits: bool
) -> None:
    script = client.script("m")
    reach = Reachability() if waits else None
    queue, _ = make_queue(client, min_interval=0, reachability=reach, reconnect_timeout=0.1)
    job = queue.submit_pull("m")
    await feed(script, Ev("pulling", DIGEST_A, 100 * MB, 40 * MB))
    script.fail(LOST[1])
    await asyncio.wait_for(queue.wait_idle(), 5)
    assert job.state is JobState.FAILED and job.completed == 40 * MB

    client.raise_on_call = LOST[1]  # the server is still down
    queue.retry(job.id)
    if waits:
        await poll_until(state_is(job, JobState.WAITING))
        assert job.completed == 40 * MB and job.fraction == 0.4
    await asyncio.wait_for(queue.wait_idle(), 5)
    assert job.state is JobState.FAILED
    assert job.completed == 40 * MB and job.fraction == 0.4
    assert list(job.layers) == [DIGEST_A]


async def test_reachability_tells_listeners_of_changes_only() -> None:
    reach = Reachability()
    seen: list[bool] = []
    unsubscribe = reach.subscribe(seen.append)
    reach.answered()
    reach.answered()
    reach.lost("gone")
    reach.lost("still gone")
    assert reach.reason == "still gone" and reach.reachable is False
    reach.answered()
    assert seen == [True, False, True] and reach.reason == ""
    unsubscribe()
    reach.lost("x")
    assert seen == [True, False, True]
    after = reach.answers
    waiter = asyncio.create_task(reach.wait_answer(after=after))
    await asyncio.sleep(0)
    assert not waiter.done()
    reach.answered()
    await asyncio.wait_for(waiter, 1)


def test_reconnect_timeout_setting(tmp_path: Any) -> None:
    assert Settings().reconnect_timeout == DEFAULT_RECONNECT_TIMEOUT == 600
    path = tmp_path / "config.toml"
    path.write_text("reconnect_timeout = 90\n")
    assert load_config(path).reconnect_timeout == 90.0
    for bad in ("0", "-1", '"ten"', "true", "inf"):
        path.write_text(f"reconnect_timeout = {bad}\n")
        with pytest.raises(ConfigError, match="reconnect_timeout"):
            load_config(path)


class Recorder:
    """A ContactObserver that keeps what it was told."""

    def __init__(self) -> None:
        self.told: list[str] = []

    def answered(self) -> None:
        if not self.told or self.told[-1] != "answered":
            self.told.append("answered")

    def lost(self, reason: str) -> None:
        self.told.append("lost")


@pytest.mark.simulator_only
async def test_the_client_tells_its_observer_about_answers_and_lost_connections(
    sim: Simulator,
) -> None:
    from ollama_tui.api import OllamaClient

    async with OllamaClient(sim.url, timeout=2) as client:
        seen = Recorder()
        client.observer = seen
        await client.version()
        assert seen.told == ["answered"]
        # An API error is an answer too: the server is there.
        with pytest.raises(ApiError):
            await client.show("no-such-model:latest")
        assert seen.told == ["answered"]
        # A proxy's "bad gateway" is not: the server behind it may be gone.
        sim.faults.add("/api/tags", "status", status=502, count=1)
        seen.told.clear()
        with pytest.raises(ApiError):
            await client.list_models()
        assert seen.told == []
        # A stream cut mid-way: ConnectionLost, and the observer hears of it.
        sim.faults.add("/api/pull", "cut", after_lines=2, count=1)
        with pytest.raises(ConnectionLost):
            async for _ in client.pull(SMALL_MODEL):
                pass
        assert seen.told == ["answered", "lost"]
        # Refused outright.
        sim.faults.add("/api/version", "refuse", count=1)
        with pytest.raises(ServerUnreachable):
            await client.version()
        assert seen.told == ["answered", "lost", "lost"]
        await client.version()
        assert seen.told[-1] == "answered"


SMALL_MODEL = "all-minilm:latest"


async def test_a_waiting_transfer_asks_the_server_itself_when_nothing_else_does(
    client: FakeClient,
) -> None:
    # Polling paused: no poll tells the job that the server is back, so it asks by itself.
    reach = Reachability()
    server_back = False
    probes = 0

    async def probe(job: object) -> None:
        nonlocal probes
        probes += 1
        if not server_back:
            raise ServerUnreachable("cannot reach the Ollama server at x: connection refused")
        reach.answered()  # as the app's client reports every answer

    first = client.script("m")
    queue, _ = waiting_queue(client, reach, probe=probe, probe_interval=0.05)
    job = queue.submit_pull("m")
    await feed(first, Ev("pulling", DIGEST_A, 100 * MB, 40 * MB))
    first.fail(LOST[1])
    await poll_until(state_is(job, JobState.WAITING))
    await poll_until(lambda: probes >= 2)  # asked again and again while the server is down
    assert job.state is JobState.WAITING
    second = client.script("m")
    server_back = True
    await poll_until(lambda: second.started.is_set())
    await feed(second, Ev("success"))
    second.finish()
    await queue.wait_idle()
    assert job.state is JobState.DONE
