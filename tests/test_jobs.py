"""JobQueue and Job: state machine, concurrency, cancel/retry, coalescing, rate/ETA.

These tests drive the queue with a fake client whose streams the test feeds line by line;
tests/test_jobs_sim.py runs the same machinery with the real client against the simulator.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import poll_until

from ollama_tui.api import InvalidInput, StreamError
from ollama_tui.jobs import (
    RATE_WINDOW,
    Job,
    JobKind,
    JobQueue,
    JobState,
)

MB = 1_000_000
DIGEST_A = "sha256:" + "a1" * 32
DIGEST_B = "sha256:" + "b2" * 32
PLACEHOLDER = "0000000000000000000"


@dataclass(frozen=True)
class Ev:
    """A progress line, shaped like ollama_tui.api.ProgressEvent."""

    status: str
    digest: str | None = None
    total: int = 0
    completed: int = 0


class _End:
    pass


END = _End()


@dataclass(eq=False)
class Script:
    """One stream the test controls: feed events, end it, or make it raise."""

    queue: asyncio.Queue[Ev | BaseException | _End] = field(default_factory=asyncio.Queue)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    consumed: int = 0
    """Events the job has fully processed (the consumer asked for the next one)."""
    pace: tuple[int, float] = (0, 0.0)
    """(every, seconds): pause like a network would after every n-th line (0: never)."""

    def send(self, *events: Ev) -> None:
        for event in events:
            self.queue.put_nowait(event)

    def finish(self) -> None:
        self.queue.put_nowait(END)

    def fail(self, exc: BaseException) -> None:
        self.queue.put_nowait(exc)


class FakeClient:
    """Has pull/push/create like OllamaClient; each call plays the next script for its name."""

    def __init__(self) -> None:
        self.scripts: dict[str, list[Script]] = {}
        self.calls: list[tuple[str, str, dict[str, object]]] = []
        self.raise_on_call: BaseException | None = None

    def script(self, name: str) -> Script:
        """Register a stream for the next call naming this model (unscripted calls succeed)."""
        script = Script()
        self.scripts.setdefault(name, []).append(script)
        return script

    def _open(self, kind: str, name: str, kwargs: dict[str, object]) -> AsyncIterator[Ev]:
        self.calls.append((kind, name, kwargs))
        if self.raise_on_call is not None:
            raise self.raise_on_call  # like a client validating the name before streaming
        queue = self.scripts.get(name)
        if queue:
            return self._play(queue.pop(0))
        done = Script()
        done.send(Ev("success"))
        done.finish()
        return self._play(done)

    async def _play(self, script: Script) -> AsyncIterator[Ev]:
        script.started.set()
        try:
            while True:
                item = await script.queue.get()
                if isinstance(item, _End):
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
                script.consumed += 1
                every, seconds = script.pace
                if every and script.consumed % every == 0:
                    await asyncio.sleep(seconds)  # simulated network pacing, not a wait
        finally:
            script.closed.set()

    def pull(self, name: str, *, insecure: bool = False) -> AsyncIterator[Ev]:
        return self._open("pull", name, {"insecure": insecure})

    def push(self, name: str, *, insecure: bool = False) -> AsyncIterator[Ev]:
        return self._open("push", name, {"insecure": insecure})

    def create(
        self,
        name: str,
        modelfile: str,
        *,
        base_dir: str | Path = ".",
        quantize: str | None = None,
    ) -> AsyncIterator[Ev]:
        kwargs: dict[str, object] = {
            "modelfile": modelfile,
            "base_dir": base_dir,
            "quantize": quantize,
        }
        return self._open("create", name, kwargs)


class FakeClock:
    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@dataclass
class Seen:
    """What a UI would have observed through the callbacks."""

    changes: list[tuple[int, JobState, int, str]] = field(default_factory=list)
    finished: list[tuple[int, JobState]] = field(default_factory=list)

    def on_change(self, job: Job) -> None:
        self.changes.append((job.id, job.state, job.completed, job.phase))

    def on_finished(self, job: Job) -> None:
        self.finished.append((job.id, job.state))

    def states(self, job_id: int) -> list[JobState]:
        """The distinct successive states one job was reported in."""
        out: list[JobState] = []
        for jid, state, _, _ in self.changes:
            if jid == job_id and (not out or out[-1] != state):
                out.append(state)
        return out


def state_is(job: Job, state: JobState) -> Callable[[], bool]:
    return lambda: job.state is state


async def feed(script: Script, *events: Ev) -> None:
    """Send events and wait until the job has processed all of them."""
    target = script.consumed + len(events)
    script.send(*events)
    await poll_until(lambda: script.consumed >= target)


def make_queue(
    client: FakeClient, seen: Seen | None = None, **kwargs: object
) -> tuple[JobQueue, Seen]:
    seen = seen or Seen()
    queue = JobQueue(
        client,
        on_change=seen.on_change,
        on_finished=seen.on_finished,
        **kwargs,  # type: ignore[arg-type]
    )
    return queue, seen


@pytest.fixture
def client() -> FakeClient:
    return FakeClient()


# -- state machine --------------------------------------------------------------------------


async def test_pull_runs_through_states_to_done(client: FakeClient) -> None:
    script = client.script("llama3.2:1b")
    queue, seen = make_queue(client, min_interval=0)
    job = queue.submit_pull("llama3.2:1b")
    assert job.kind is JobKind.PULL and job.id == 1
    assert job.state is JobState.RUNNING  # a free slot starts it at once
    await script.started.wait()
    await feed(
        script,
        Ev("pulling manifest"),
        Ev(f"pulling {DIGEST_A[7:19]}", DIGEST_A, total=10 * MB, completed=4 * MB),
        Ev(f"pulling {DIGEST_A[7:19]}", DIGEST_A, total=10 * MB, completed=10 * MB),
        Ev(f"pulling {DIGEST_B[7:19]}", DIGEST_B, total=1000, completed=1000),
        Ev("verifying sha256 digest"),
        Ev("writing manifest"),
        Ev("success"),
    )
    assert job.state is JobState.RUNNING
    script.finish()
    await queue.wait_idle()

    assert job.state is JobState.DONE
    assert job.error is None
    assert job.state_text == "done"
    assert job.fraction == 1.0
    assert job.total == 10 * MB + 1000 and job.completed == job.total
    assert [layer.short_digest for layer in job.layers.values()] == ["a1" * 6, "b2" * 6]
    assert job.layers[DIGEST_A].is_complete
    assert job.phase == "success"
    assert job.started_at is not None and job.finished_at is not None
    assert job.elapsed is not None and job.elapsed >= 0
    assert job.rate == 0.0 and job.eta is None  # only running jobs have a rate
    assert seen.states(job.id) == [JobState.QUEUED, JobState.RUNNING, JobState.DONE]
    assert seen.finished == [(job.id, JobState.DONE)]
    assert script.closed.is_set()
    assert client.calls == [("pull", "llama3.2:1b", {"insecure": False})]


async def test_instant_job_goes_straight_to_done(client: FakeClient) -> None:
    queue, seen = make_queue(client)
    job = queue.submit_pull("qwen2.5:0.5b")  # unscripted: just "success"
    await queue.wait_idle()
    assert job.state is JobState.DONE
    assert job.fraction == 1.0 and job.layers == {}
    assert seen.states(job.id) == [JobState.QUEUED, JobState.RUNNING, JobState.DONE]
    assert seen.finished == [(job.id, JobState.DONE)]
    assert not queue.has_active and queue.running_count == 0


async def test_status_lines_set_phase_and_digest_lines_make_bars(client: FakeClient) -> None:
    script = client.script("mario")
    queue, _ = make_queue(client, min_interval=0)
    job = queue.submit_create("mario", "FROM ./model.gguf", base_dir="/tmp", quantize="q4_K_M")
    await feed(
        script,
        Ev("hashing model.gguf", None, total=6 * MB, completed=0),  # the client's own step
        Ev("hashing model.gguf", None, total=6 * MB, completed=6 * MB),
        Ev("uploading model.gguf", DIGEST_A, total=6 * MB, completed=6 * MB),
        Ev("parsing GGUF"),
        Ev("validating GGUF model", PLACEHOLDER, total=6 * MB, completed=6 * MB),
        Ev("quantizing F16 model to Q4_K_M", PLACEHOLDER, total=6 * MB, completed=MB),
        Ev("pulling " + DIGEST_B[7:19], DIGEST_B),  # no sizes yet: not a bar
    )
    assert job.phase == "pulling " + DIGEST_B[7:19]
    # Placeholder digests are bars too, one per step, so quantizing does not rewind validation.
    assert [layer.status for layer in job.layers.values()] == [
        "hashing model.gguf",
        "uploading model.gguf",
        "validating GGUF model",
        "quantizing F16 model to Q4_K_M",
    ]
    hashing = job.layers["hashing model.gguf"]
    assert hashing.digest == "" and hashing.short_digest == "" and hashing.is_complete
    # The hashing step is shown as a bar but left out of the totals: its bytes are the
    # upload's, which would otherwise be counted twice.
    assert job.total == 18 * MB and job.completed == 13 * MB
    assert job.fraction == pytest.approx(13 / 18)
    quantize_bar = list(job.layers.values())[3]
    assert quantize_bar.short_digest == "" and quantize_bar.fraction == pytest.approx(1 / 6)

    await feed(script, Ev("quantizing F16 model to Q4_K_M", PLACEHOLDER, 6 * MB, 3 * MB))
    assert len(job.layers) == 4 and quantize_bar.completed == 3 * MB
    await feed(script, Ev("using existing layer " + DIGEST_B))
    assert job.phase == "using existing layer " + DIGEST_B
    script.finish()
    await queue.wait_idle()
    assert job.state is JobState.DONE
    assert client.calls == [
        (
            "create",
            "mario",
            {"modelfile": "FROM ./model.gguf", "base_dir": "/tmp", "quantize": "q4_K_M"},
        )
    ]


async def test_push_passes_insecure(client: FakeClient) -> None:
    queue, _ = make_queue(client)
    job = queue.submit_push("me/model:latest", insecure=True)
    await queue.wait_idle()
    assert job.kind is JobKind.PUSH and job.state is JobState.DONE
    assert client.calls == [("push", "me/model:latest", {"insecure": True})]


# -- concurrency ----------------------------------------------------------------------------


async def test_concurrency_limit_queues_the_third_pull(client: FakeClient) -> None:
    scripts = [client.script(f"m{i}") for i in range(3)]
    queue, seen = make_queue(client, max_transfers=2)
    jobs = [queue.submit_pull(f"m{i}") for i in range(3)]
    assert [j.state for j in jobs] == [JobState.RUNNING, JobState.RUNNING, JobState.QUEUED]
    assert queue.running_count == 2 and queue.queued_count == 1 and queue.has_active
    assert queue.active == jobs
    await scripts[0].started.wait()
    await scripts[1].started.wait()
    await feed(scripts[0], Ev("pulling manifest"))
    assert not scripts[2].started.is_set()
    assert jobs[2].state is JobState.QUEUED and jobs[2].started_at is None

    scripts[1].finish()  # the second one ends: the queued one takes its slot
    await poll_until(lambda: jobs[2].state is JobState.RUNNING)
    await scripts[2].started.wait()
    assert jobs[1].state is JobState.DONE and queue.running_count == 2
    assert seen.states(jobs[2].id) == [JobState.QUEUED, JobState.RUNNING]

    scripts[0].finish()
    scripts[2].finish()
    await queue.wait_idle()
    assert [j.state for j in jobs] == [JobState.DONE] * 3
    assert queue.running_count == 0 and not queue.has_active


async def test_create_is_not_held_back_by_the_transfer_limit(client: FakeClient) -> None:
    pulls = [client.script(f"big{i}") for i in range(2)]
    create = client.script("small")
    queue, _ = make_queue(client, max_transfers=1)
    first = queue.submit_pull("big0")
    second = queue.submit_pull("big1")
    made = queue.submit_create("small", "FROM big0")
    # The create starts at once; the second pull still waits for the single transfer slot.
    assert [first.state, second.state, made.state] == [
        JobState.RUNNING,
        JobState.QUEUED,
        JobState.RUNNING,
    ]
    await create.started.wait()
    create.send(Ev("success"))
    create.finish()
    await poll_until(state_is(made, JobState.DONE))
    assert second.state is JobState.QUEUED
    pulls[0].finish()
    await poll_until(state_is(second, JobState.RUNNING))
    pulls[1].finish()
    await queue.wait_idle()


async def test_queued_jobs_start_in_submission_order(client: FakeClient) -> None:
    scripts = [client.script(f"m{i}") for i in range(4)]
    queue, _ = make_queue(client, max_transfers=1)
    jobs = [queue.submit_pull(f"m{i}") for i in range(4)]
    order: list[int] = []
    for _ in range(4):
        running = [j for j in jobs if j.state is JobState.RUNNING]
        assert len(running) == 1
        order.append(running[0].id)
        scripts[jobs.index(running[0])].finish()
        await poll_until(state_is(running[0], JobState.DONE))
    assert order == [1, 2, 3, 4]
    await queue.wait_idle()


async def test_raising_max_transfers_starts_queued_jobs(client: FakeClient) -> None:
    scripts = [client.script(f"m{i}") for i in range(3)]
    queue, _ = make_queue(client, max_transfers=1)
    jobs = [queue.submit_pull(f"m{i}") for i in range(3)]
    assert queue.queued_count == 2
    queue.max_transfers = 3
    assert all(j.state is JobState.RUNNING for j in jobs)
    with pytest.raises(ValueError):
        queue.max_transfers = 0
    for s in scripts:
        s.finish()
    await queue.wait_idle()


def test_max_transfers_must_be_positive(client: FakeClient) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        JobQueue(client, max_transfers=0)


async def test_wait_idle_returns_when_all_jobs_end(client: FakeClient) -> None:
    queue, _ = make_queue(client)
    await asyncio.wait_for(queue.wait_idle(), 1)  # idle from the start
    script = client.script("m")
    queue.submit_pull("m")
    waiter = asyncio.ensure_future(queue.wait_idle())
    await script.started.wait()
    assert not waiter.done()
    script.finish()
    await asyncio.wait_for(waiter, 5)


# -- cancel ---------------------------------------------------------------------------------


async def test_cancel_running_pull_closes_the_stream_first(client: FakeClient) -> None:
    script = client.script("big")
    queue, seen = make_queue(client, min_interval=0)
    closed_when_reported: list[bool] = []

    def on_change(job: Job) -> None:
        seen.on_change(job)
        if job.state is JobState.CANCELLED:
            closed_when_reported.append(script.closed.is_set())

    queue.on_change = on_change
    job = queue.submit_pull("big")
    await feed(script, Ev("pulling a1a1", DIGEST_A, total=100 * MB, completed=5 * MB))
    assert job.can_cancel and not job.can_retry
    assert queue.cancel(job.id) is True
    await queue.wait_idle()

    assert job.state is JobState.CANCELLED
    assert job.state_text == "cancelled — pull again to resume"
    assert job.error is None and job.can_retry and not job.can_cancel
    assert script.closed.is_set()
    assert closed_when_reported == [True]  # the connection was gone before the UI heard of it
    assert seen.finished == [(job.id, JobState.CANCELLED)]
    assert job.layers[DIGEST_A].completed == 5 * MB  # the last progress stays visible
    assert queue.cancel(job.id) is False  # already ended


async def test_cancel_queued_job_never_opens_a_stream(client: FakeClient) -> None:
    first = client.script("m1")
    queue, seen = make_queue(client, max_transfers=1)
    running = queue.submit_pull("m1")
    queued = queue.submit_push("me/m2")
    assert queue.cancel(queued.id) is True
    assert queued.state is JobState.CANCELLED
    assert queued.state_text == "cancelled"  # only pulls resume
    assert queue.queued_count == 0
    assert seen.finished == [(queued.id, JobState.CANCELLED)]
    first.finish()
    await queue.wait_idle()
    assert running.state is JobState.DONE
    assert [c[1] for c in client.calls] == ["m1"]


async def test_cancel_before_the_task_first_runs(client: FakeClient) -> None:
    # Cancelled in the same loop step as submitted: the task never executes its own code.
    queue, seen = make_queue(client)
    job = queue.submit_pull("m")
    assert job.state is JobState.RUNNING
    assert queue.cancel(job.id) is True
    await queue.wait_idle()
    assert job.state is JobState.CANCELLED
    assert seen.finished == [(job.id, JobState.CANCELLED)]


async def test_cancel_unknown_job_raises_key_error(client: FakeClient) -> None:
    queue, _ = make_queue(client)
    with pytest.raises(KeyError):
        queue.cancel(99)


# -- failure and retry ----------------------------------------------------------------------


async def test_failed_job_keeps_error_and_retry_reruns_it(client: FakeClient) -> None:
    script = client.script("nope")
    queue, seen = make_queue(client, min_interval=0)
    job = queue.submit_pull("nope")
    await feed(script, Ev("pulling manifest"))
    script.fail(StreamError("pull model manifest: file does not exist"))
    await queue.wait_idle()
    assert job.state is JobState.FAILED
    assert job.error == "pull model manifest: file does not exist"
    assert job.state_text == "failed"
    assert job.summary() == "pull nope: failed — pull model manifest: file does not exist"
    assert seen.finished == [(job.id, JobState.FAILED)]
    assert script.closed.is_set()

    again = client.script("nope")
    retried = queue.retry(job.id)
    assert retried is job and job.attempt == 2  # same job, same row in the UI
    assert job.error is None and job.layers == {} and job.phase == ""
    assert job.state is JobState.RUNNING
    again.send(Ev("success"))
    again.finish()
    await queue.wait_idle()
    assert job.state is JobState.DONE
    assert seen.states(job.id) == [
        JobState.QUEUED,
        JobState.RUNNING,
        JobState.FAILED,
        JobState.QUEUED,
        JobState.RUNNING,
        JobState.DONE,
    ]
    assert len(client.calls) == 2 and queue.jobs == [job]


async def test_retry_of_cancelled_job_waits_for_a_slot(client: FakeClient) -> None:
    busy = client.script("busy")
    queue, _ = make_queue(client, max_transfers=1)
    other = queue.submit_pull("m")
    queue.cancel(other.id)
    await poll_until(lambda: other.state is JobState.CANCELLED)
    queue.submit_pull("busy")
    queue.retry(other.id)
    assert other.state is JobState.QUEUED
    busy.finish()
    await queue.wait_idle()
    assert other.state is JobState.DONE


async def test_retry_refuses_active_and_done_jobs(client: FakeClient) -> None:
    script = client.script("m")
    queue, _ = make_queue(client)
    job = queue.submit_pull("m")
    with pytest.raises(ValueError, match="running"):
        queue.retry(job.id)
    script.finish()
    await queue.wait_idle()
    with pytest.raises(ValueError, match="done"):
        queue.retry(job.id)


async def test_retry_from_on_finished_callback(client: FakeClient) -> None:
    # Re-entrancy: the UI may retry straight from its notification handler.
    first = client.script("flaky")
    queue, seen = make_queue(client)
    retried: list[int] = []

    def on_finished(job: Job) -> None:
        seen.on_finished(job)
        if job.state is JobState.FAILED and not retried:
            retried.append(job.id)
            queue.retry(job.id)

    queue.on_finished = on_finished
    job = queue.submit_pull("flaky")
    first.fail(StreamError("connection to the server was lost"))
    await poll_until(lambda: job.attempt == 2)
    await queue.wait_idle()
    assert job.state is JobState.DONE
    assert seen.finished == [(job.id, JobState.FAILED), (job.id, JobState.DONE)]


async def test_non_ollama_exception_fails_job_with_honest_message(client: FakeClient) -> None:
    loop = asyncio.get_running_loop()
    loop_errors: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, ctx: loop_errors.append(ctx))
    try:
        script = client.script("m")
        queue, _ = make_queue(client)
        job = queue.submit_pull("m")
        script.fail(RuntimeError("boom"))
        await queue.wait_idle()
        assert job.state is JobState.FAILED
        assert job.error == "unexpected error (RuntimeError): boom"

        script = client.script("m2")
        job2 = queue.submit_pull("m2")
        script.fail(KeyError())  # no text at all
        await queue.wait_idle()
        assert job2.error == "unexpected error (KeyError)"
    finally:
        loop.set_exception_handler(None)
    assert loop_errors == []


async def test_error_raised_when_opening_the_stream(client: FakeClient) -> None:
    client.raise_on_call = InvalidInput("model name part 'tag' may only contain letters")
    queue, _ = make_queue(client)
    job = queue.submit_pull("bad:t@g")
    await queue.wait_idle()
    assert job.state is JobState.FAILED
    assert job.error == "model name part 'tag' may only contain letters"


async def test_callback_errors_do_not_break_jobs(client: FakeClient) -> None:
    def broken(job: Job) -> None:
        raise RuntimeError("UI bug")

    queue = JobQueue(client, on_change=broken, on_finished=broken, min_interval=0)
    script = client.script("m")
    job = queue.submit_pull("m")
    await feed(script, Ev("pulling a", DIGEST_A, total=10, completed=5))
    script.finish()
    await queue.wait_idle()
    assert job.state is JobState.DONE


# -- coalescing -----------------------------------------------------------------------------


async def test_fast_stream_is_coalesced_and_final_state_is_last(client: FakeClient) -> None:
    n = 10_000
    script = client.script("fast")
    for i in range(1, n + 1):
        script.send(Ev("pulling a1a1", DIGEST_A, total=n, completed=i))
    script.send(Ev("success"))
    script.finish()

    script.pace = (20, 0.001)  # about half a second in all: several coalescing intervals
    queue, seen = make_queue(client)  # default min_interval 0.1
    loop = asyncio.get_running_loop()
    start = loop.time()
    job = queue.submit_pull("fast")
    await queue.wait_idle()
    duration = loop.time() - start

    states = 3  # queued, running, done
    assert len(seen.changes) <= duration / 0.1 + states + 2, (len(seen.changes), duration)
    progress = [c for c in seen.changes if c[1] is JobState.RUNNING][1:]
    assert len(progress) >= 2  # progress did show while it ran
    assert [c[2] for c in progress] == sorted(c[2] for c in progress)
    assert seen.changes[-1] == (job.id, JobState.DONE, n, "success")
    assert job.layers[DIGEST_A].completed == n


async def test_state_changes_are_immediate_even_with_long_interval(client: FakeClient) -> None:
    script = client.script("m")
    queue, seen = make_queue(client, min_interval=60.0)
    queue.submit_pull("m")
    await feed(script, *(Ev("pulling a", DIGEST_A, total=100, completed=i) for i in range(100)))
    progress_calls = [c for c in seen.changes if c[1] is JobState.RUNNING]
    assert len(progress_calls) == 1  # the RUNNING transition; progress waits for its turn
    script.finish()
    await queue.wait_idle()
    assert [c[1] for c in seen.changes] == [JobState.QUEUED, JobState.RUNNING, JobState.DONE]
    assert seen.changes[-1][2] == 99  # the done call carries the latest progress


async def test_trailing_progress_is_flushed_when_the_stream_stalls(client: FakeClient) -> None:
    script = client.script("m")
    queue, seen = make_queue(client, min_interval=0.05)
    job = queue.submit_pull("m")
    await feed(script, Ev("pulling a", DIGEST_A, total=100, completed=1))
    await feed(script, Ev("pulling a", DIGEST_A, total=100, completed=2))
    await feed(script, Ev("pulling a", DIGEST_A, total=100, completed=3))
    # No more lines for now: the last one must still reach the UI, soon.
    await poll_until(lambda: seen.changes[-1] == (job.id, JobState.RUNNING, 3, "pulling a"), 2)
    queue.cancel(job.id)
    await queue.wait_idle()


async def test_progress_with_injected_clock_emits_once_per_interval(client: FakeClient) -> None:
    clock = FakeClock()
    script = client.script("m")
    queue, seen = make_queue(client, clock=clock, min_interval=0.1)
    job = queue.submit_pull("m")
    for i in range(1, 21):
        clock.t += 0.1  # each line a full interval after the previous emit: each one shows
        await feed(script, Ev("pulling a", DIGEST_A, total=100, completed=i))
    progress = [c for c in seen.changes if c[1] is JobState.RUNNING][1:]
    assert [c[2] for c in progress] == list(range(1, 21))
    queue.cancel(job.id)
    await queue.wait_idle()


# -- rate, ETA, resume ----------------------------------------------------------------------


async def test_rate_and_eta_with_injected_clock(client: FakeClient) -> None:
    clock = FakeClock(1000.0)
    script = client.script("m")
    queue, _ = make_queue(client, clock=clock, min_interval=0)
    job = queue.submit_pull("m")  # starts at t=1000
    await script.started.wait()

    async def at(t: float, completed: int, digest: str = DIGEST_A, total: int = 100 * MB) -> None:
        clock.t = 1000.0 + t
        await feed(script, Ev("pulling", digest, total=total, completed=completed))

    await at(0.0, 0)
    assert job.rate == 0.0 and job.eta is None  # unknown at first
    await at(0.2, 2 * MB)
    assert job.rate == 0.0  # less than RATE_MIN_SPAN of history is not a rate
    for second in range(1, 6):
        await at(second, 10 * MB * second)  # a steady 10 MB/s
    assert job.bytes_this_run == 50 * MB
    assert job.rate == pytest.approx(10 * MB, rel=1e-6)
    assert job.eta == pytest.approx(5.0, rel=1e-6)  # 50 MB left
    layer = job.layers[DIGEST_A]
    assert layer.rate == pytest.approx(10 * MB, rel=1e-6)
    assert layer.eta == pytest.approx(5.0, rel=1e-6)

    # Speed changes: the window forgets the old speed after RATE_WINDOW seconds.
    await at(5 + RATE_WINDOW, 50 * MB + int(RATE_WINDOW * 2 * MB))
    assert job.rate == pytest.approx(2 * MB, rel=1e-6)
    summary = job.summary()
    assert summary.startswith("pull m: running — pulling — 56% 56 MB/100 MB — 2 MB/s")
    assert summary.endswith("ETA 22s")

    # A stall: no lines for a whole window means no rate and no ETA.
    clock.t += RATE_WINDOW + 0.1
    assert job.rate == 0.0 and job.eta is None

    # A second layer adds to the totals; ETA is over the layers seen.
    await at(20, 0, DIGEST_B, total=44 * MB)
    await at(21, 4 * MB, DIGEST_B, total=44 * MB)
    assert job.total == 144 * MB and job.completed == 60 * MB
    queue.cancel(job.id)
    await queue.wait_idle()


async def test_resumed_layer_does_not_spike_the_rate(client: FakeClient) -> None:
    clock = FakeClock(0.0)
    script = client.script("m")
    queue, _ = make_queue(client, clock=clock, min_interval=0)
    job = queue.submit_pull("m")

    async def at(t: float, *events: Ev) -> None:
        clock.t = t
        await feed(script, *events)

    # Reconnect after a cut: the first line says 900 MB were already there, and another
    # layer is complete already. Neither was transferred in this run.
    await at(
        0.5,
        Ev("pulling b2b2", DIGEST_B, total=MB, completed=MB),
        Ev("pulling a1a1", DIGEST_A, total=1000 * MB, completed=900 * MB),
    )
    await at(1.0, Ev("pulling a1a1", DIGEST_A, total=1000 * MB, completed=901 * MB))
    await at(2.0, Ev("pulling a1a1", DIGEST_A, total=1000 * MB, completed=902 * MB))
    assert job.bytes_this_run == 2 * MB
    assert job.rate == pytest.approx(1 * MB, rel=1e-6)  # 2 MB over the 2 s it has been running
    assert job.fraction == pytest.approx(903 / 1001)
    assert job.eta == pytest.approx(98.0, rel=1e-6)
    # A layer going backwards (server restarted it) never counts negative bytes.
    await at(2.5, Ev("pulling a1a1", DIGEST_A, total=1000 * MB, completed=0))
    assert job.bytes_this_run == 2 * MB
    queue.cancel(job.id)
    await queue.wait_idle()


def test_summary_and_state_text_for_idle_states() -> None:
    job = Job(id=7, kind=JobKind.CREATE, model="mario")
    assert job.summary() == "create mario: queued"
    assert job.fraction is None and job.rate == 0.0 and job.eta is None
    job.state = JobState.CANCELLED
    assert job.state_text == "cancelled"
    assert job.summary() == "create mario: cancelled"
    pull = Job(id=8, kind=JobKind.PULL, model="x", state=JobState.CANCELLED)
    assert pull.summary() == "pull x: cancelled — pull again to resume"


def test_job_apply_works_standalone() -> None:
    # The UI's tests can build a Job by hand and feed it lines.
    clock = FakeClock(5.0)
    job = Job(id=1, kind=JobKind.PULL, model="m", state=JobState.RUNNING, _clock=clock)
    job.apply(Ev("pulling a", DIGEST_A, total=10, completed=0))
    clock.t = 6.0
    job.apply(Ev("pulling a", DIGEST_A, total=10, completed=4))
    assert job.completed == 4 and job.bytes_this_run == 4
    assert job.rate == pytest.approx(4.0)


# -- shutdown -------------------------------------------------------------------------------


async def test_aclose_cancels_everything_and_leaves_no_tasks(client: FakeClient) -> None:
    scripts = [client.script(f"m{i}") for i in range(4)]
    queue, seen = make_queue(client, max_transfers=2)
    jobs = [queue.submit_pull(f"m{i}") for i in range(4)]
    await scripts[0].started.wait()
    await scripts[1].started.wait()
    await feed(scripts[0], Ev("pulling a", DIGEST_A, total=10, completed=1))
    calls_before = len(seen.changes)

    await queue.aclose()

    assert [j.state for j in jobs] == [JobState.CANCELLED] * 4
    assert scripts[0].closed.is_set() and scripts[1].closed.is_set()
    assert not scripts[2].started.is_set() and not scripts[3].started.is_set()
    assert not queue.has_active and queue.running_count == 0
    others = asyncio.all_tasks() - {asyncio.current_task()}
    assert others == set()
    assert len(seen.changes) == calls_before and seen.finished == []  # UI may be gone
    await asyncio.wait_for(queue.wait_idle(), 1)
    with pytest.raises(RuntimeError, match="closed"):
        queue.submit_pull("late")
    await queue.aclose()  # idempotent


async def test_clear_finished_forgets_ended_jobs(client: FakeClient) -> None:
    script = client.script("slow")
    queue, _ = make_queue(client)
    done = queue.submit_pull("quick")
    running = queue.submit_pull("slow")
    await poll_until(lambda: done.state is JobState.DONE)
    assert queue.clear_finished() == [done]
    assert queue.jobs == [running]
    assert queue.get(running.id) is running
    script.finish()
    await queue.wait_idle()


async def test_client_factory_is_resolved_at_submit() -> None:
    first, second = FakeClient(), FakeClient()
    current = [first]
    queue = JobQueue(lambda: current[0])
    queue.submit_pull("a")
    current[0] = second
    queue.submit_pull("b")
    await queue.wait_idle()
    assert [c[1] for c in first.calls] == ["a"]
    assert [c[1] for c in second.calls] == ["b"]
