"""Jobs with the real client against the simulator: pull, cancel, cut-and-resume, errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from conftest import poll_until

from ollama_tui.api import OllamaClient, ProgressEvent
from ollama_tui.jobs import Job, JobQueue, JobState

pytestmark = pytest.mark.simulator_only

SMALL = "all-minilm:latest"  # about 46 MB in the simulator's catalogue


class Recording:
    """Wraps OllamaClient and keeps every progress line of every stream, per call."""

    def __init__(self, client: OllamaClient) -> None:
        self.client = client
        self.runs: list[list[ProgressEvent]] = []

    def _tap(self, stream: AsyncIterator[ProgressEvent]) -> AsyncIterator[ProgressEvent]:
        events: list[ProgressEvent] = []
        self.runs.append(events)  # at call time, so a test can wait on the run's lines
        return self._relay(stream, events)

    async def _relay(
        self, stream: AsyncIterator[ProgressEvent], events: list[ProgressEvent]
    ) -> AsyncIterator[ProgressEvent]:
        try:
            async for event in stream:
                events.append(event)
                yield event
        finally:
            await stream.aclose()  # type: ignore[attr-defined]

    def pull(self, name: str, *, insecure: bool = False) -> AsyncIterator[ProgressEvent]:
        return self._tap(self.client.pull(name, insecure=insecure))

    def push(self, name: str, *, insecure: bool = False) -> AsyncIterator[ProgressEvent]:
        return self._tap(self.client.push(name, insecure=insecure))

    def create(
        self,
        name: str,
        modelfile: str,
        *,
        base_dir: str | Path = ".",
        quantize: str | None = None,
    ) -> AsyncIterator[ProgressEvent]:
        return self._tap(self.client.create(name, modelfile, base_dir=base_dir, quantize=quantize))


@pytest.fixture
async def slow_sim() -> AsyncIterator[Any]:
    """A simulator slow enough (20 MB/s) to catch a pull in flight."""
    from ollama_tui.simulator import Simulator

    simulator = Simulator(bandwidth=20e6)
    await simulator.start("127.0.0.1", 0)
    try:
        yield simulator
    finally:
        await simulator.stop()


def layer_lines(events: list[ProgressEvent]) -> list[ProgressEvent]:
    return [e for e in events if e.digest and e.total > 0]


async def test_pull_to_done_and_model_is_listed(sim: Any) -> None:
    finished: list[Job] = []
    async with OllamaClient(sim.url) as client:
        queue = JobQueue(client, on_finished=finished.append)
        job = queue.submit_pull(SMALL)
        await asyncio.wait_for(queue.wait_idle(), 60)
        assert job.state is JobState.DONE, job.error
        assert job.error is None and job.fraction == 1.0
        assert job.layers and job.total > 40_000_000
        assert job.completed == job.total
        assert all(layer.is_complete for layer in job.layers.values())
        assert finished == [job]
        names = [m.name for m in await client.list_models()]
        assert SMALL in names
        await queue.aclose()


async def test_pull_of_a_model_already_there_is_done_at_once(sim: Any) -> None:
    async with OllamaClient(sim.url) as client:
        queue = JobQueue(client)
        job = queue.submit_pull("qwen2.5:0.5b")  # one of the simulator's initial local models
        await asyncio.wait_for(queue.wait_idle(), 30)
        assert job.state is JobState.DONE, job.error
        assert job.layers and all(layer.is_complete for layer in job.layers.values())
        assert job.bytes_this_run == 0  # nothing was transferred
        await queue.aclose()


async def test_pull_of_unknown_model_fails_with_server_message(sim: Any) -> None:
    async with OllamaClient(sim.url) as client:
        queue = JobQueue(client)
        job = queue.submit_pull("no-such-model:latest")
        await asyncio.wait_for(queue.wait_idle(), 30)
        assert job.state is JobState.FAILED
        assert job.error is not None and "file does not exist" in job.error
        await queue.aclose()


async def test_invalid_name_fails_without_sending(sim: Any) -> None:
    async with OllamaClient(sim.url) as client:
        queue = JobQueue(client)
        before = sim.request_count("/api/pull")
        job = queue.submit_pull("bad name!")
        await asyncio.wait_for(queue.wait_idle(), 30)
        assert job.state is JobState.FAILED and job.error
        assert sim.request_count("/api/pull") == before
        await queue.aclose()


async def test_cancel_mid_pull_closes_connection_and_retry_resumes(slow_sim: Any) -> None:
    baseline = slow_sim.open_connections
    async with OllamaClient(slow_sim.url) as http:
        client = Recording(http)
        queue = JobQueue(client)
        job = queue.submit_pull(SMALL)
        await poll_until(lambda: job.completed > 0)
        assert job.state is JobState.RUNNING and job.fraction is not None
        assert job.fraction < 1.0
        assert slow_sim.open_connections > baseline  # the pull's stream

        assert queue.cancel(job.id) is True
        await asyncio.wait_for(queue.wait_idle(), 10)
        assert job.state is JobState.CANCELLED
        assert job.state_text == "cancelled — pull again to resume"
        # The server sees the connection go away (nothing kept it in the pool) and stops.
        await poll_until(lambda: slow_sim.open_connections == baseline)
        seen = layer_lines(client.runs[0])[-1]
        assert seen.digest is not None and seen.completed > 0
        assert slow_sim.partial_bytes(seen.digest) >= seen.completed

        queue.retry(job.id)
        await poll_until(lambda: len(client.runs) > 1 and bool(layer_lines(client.runs[1])))
        slow_sim.bandwidth = 2e9  # the resume point is known; the rest can go fast
        await asyncio.wait_for(queue.wait_idle(), 60)
        assert job.state is JobState.DONE, job.error
        second = layer_lines(client.runs[1])
        assert second[0].digest == seen.digest
        assert second[0].completed >= seen.completed  # the server kept the partial download
        assert job.bytes_this_run < job.total
        await queue.aclose()


async def test_retry_after_cut_stream_resumes(slow_sim: Any) -> None:
    slow_sim.faults.add("/api/pull", "cut", after_lines=8, count=1)
    async with OllamaClient(slow_sim.url) as http:
        client = Recording(http)
        queue = JobQueue(client)
        job = queue.submit_pull(SMALL)
        await asyncio.wait_for(queue.wait_idle(), 30)
        assert job.state is JobState.FAILED
        assert job.error  # the client's own words for a dropped stream
        assert job.can_retry

        slow_sim.bandwidth = 2e9  # the rest can go fast
        queue.retry(job.id)
        await asyncio.wait_for(queue.wait_idle(), 60)
        assert job.state is JobState.DONE, job.error
        first_layer_line = layer_lines(client.runs[1])[0]
        assert first_layer_line.completed > 0
        assert job.bytes_this_run < job.total
        await queue.aclose()


async def test_concurrency_limit_with_real_pulls(slow_sim: Any) -> None:
    baseline = slow_sim.open_connections
    async with OllamaClient(slow_sim.url) as client:
        queue = JobQueue(client, max_transfers=2)
        jobs = [queue.submit_pull(name) for name in (SMALL, "smollm2:135m", "gemma3:1b")]
        assert [j.state for j in jobs] == [JobState.RUNNING, JobState.RUNNING, JobState.QUEUED]
        await poll_until(lambda: jobs[0].completed > 0 and jobs[1].completed > 0)
        assert jobs[2].state is JobState.QUEUED
        queue.cancel(jobs[1].id)
        await poll_until(lambda: jobs[2].state is JobState.RUNNING)
        await queue.aclose()
        assert [j.state for j in jobs] == [JobState.CANCELLED] * 3
        await poll_until(lambda: slow_sim.open_connections == baseline)


async def test_fast_real_stream_is_coalesced(sim: Any) -> None:
    lines = 20_000
    sim.prepare_stream("fast/model:latest", lines)
    changes: list[tuple[JobState, int]] = []
    async with OllamaClient(sim.url) as client:
        queue = JobQueue(client, on_change=lambda j: changes.append((j.state, j.completed)))
        loop = asyncio.get_running_loop()
        start = loop.time()
        job = queue.submit_pull("fast/model:latest")
        await asyncio.wait_for(queue.wait_idle(), 60)
        duration = loop.time() - start
        assert job.state is JobState.DONE, job.error
        assert len(changes) <= duration / 0.1 + 3 + 2, (len(changes), duration)
        assert changes[-1] == (JobState.DONE, job.total)
        assert job.total == 4_000_000_000
        await queue.aclose()


async def test_push_and_create_jobs(sim: Any) -> None:
    sim.bandwidth = 20e9  # the pirate model's 2 GB would take 10 s at the default speed
    async with OllamaClient(sim.url) as client:
        queue = JobQueue(client)
        push = queue.submit_push("someuser/llama3-pirate:latest")
        create = queue.submit_create("mario:latest", "FROM llama3.2\nSYSTEM You are Mario.\n")
        await asyncio.wait_for(queue.wait_idle(), 60)
        assert push.state is JobState.DONE, push.error
        assert push.layers and push.fraction == 1.0
        assert create.state is JobState.DONE, create.error
        assert create.phase == "success"
        assert "mario:latest" in [m.name for m in await client.list_models()]
        await queue.aclose()


async def test_create_with_bad_modelfile_fails_with_its_message(sim: Any) -> None:
    async with OllamaClient(sim.url) as client:
        queue = JobQueue(client)
        before = sim.request_count("/api/create")
        job = queue.submit_create("mario:latest", "SYSTEM no FROM line\n")
        await asyncio.wait_for(queue.wait_idle(), 30)
        assert job.state is JobState.FAILED
        assert job.error and not job.error.startswith("unexpected error")
        assert sim.request_count("/api/create") == before
        await queue.aclose()
