"""Several simulated servers in one process, each with its own state: a fleet.

The first three follow ``FLEET_PRESET``: different models on each, one model loaded on the
first, ``llama3.2:latest`` on two servers with different digests (the copies diverged),
``nomic-embed-text`` and ``qwen2.5:0.5b`` the same on two, and a distinct version each. Servers
beyond the third get a few catalogue models of their own. Each server has its own inference
speed (``ServerPlan.speed``: 45, 120 and 18 tokens/s for the preset), so a probe shows
different speeds per server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from .server import DEFAULT_SPEED, Simulator
from .state import SeedModel

__all__ = ["FLEET_PRESET", "Fleet", "ServerPlan", "fleet_addresses", "plan_for"]

MAX_PORT = 65535


@dataclass(frozen=True)
class ServerPlan:
    """What one server of a fleet starts with; ``label`` is for people (the CLI prints it);
    ``speed`` is its inference speed in generated tokens per second (``Simulator(speed=)``)."""

    label: str
    version: str
    models: tuple[SeedModel, ...]
    speed: float = DEFAULT_SPEED


FLEET_PRESET: tuple[ServerPlan, ...] = (
    ServerPlan(
        "workstation",
        "0.31.0",
        (
            SeedModel("llama3.2:3b", "llama3.2:latest", timedelta(days=2, hours=3), loaded=True),
            SeedModel("qwen2.5:0.5b", "qwen2.5:0.5b", timedelta(days=9, minutes=17)),
            SeedModel("nomic-embed-text:latest", "nomic-embed-text:latest", timedelta(days=20)),
            SeedModel("gemma3:1b", "gemma3:1b", timedelta(days=4, hours=6)),
        ),
        speed=45.0,
    ),
    ServerPlan(
        "gpu-box",
        "0.30.2",
        (
            # Pulled a month earlier, before the tag moved: same name, other weights.
            SeedModel("llama3.2:3b", "llama3.2:latest", timedelta(days=33), diverged=True),
            SeedModel("mistral:7b", "mistral:7b", timedelta(days=41, hours=5)),
            SeedModel("qwen2.5:7b", "qwen2.5:7b", timedelta(days=12, hours=2)),
            SeedModel("deepseek-r1:1.5b", "deepseek-r1:1.5b", timedelta(days=5, hours=1)),
            SeedModel("nomic-embed-text:latest", "nomic-embed-text:latest", timedelta(days=18)),
        ),
        speed=120.0,
    ),
    ServerPlan(
        "laptop",
        "0.12.6",
        (
            SeedModel("phi3:mini", "phi3:mini", timedelta(days=70)),
            SeedModel("smollm2:135m", "smollm2:135m", timedelta(days=3, hours=9)),
            SeedModel("qwen2.5:0.5b", "qwen2.5:0.5b", timedelta(days=9, minutes=17)),
        ),
        speed=18.0,
    ),
)

# Models for servers past the preset: three each, a different run of this list per server.
_EXTRA = (
    "llama3.2:1b",
    "qwen3:0.6b",
    "gemma3:4b",
    "all-minilm:latest",
    "llava:7b",
    "deepseek-r1:1.5b",
    "mistral:7b",
)
_EXTRA_SPEEDS = (60.0, 30.0, 90.0, 25.0, 150.0)


def plan_for(index: int) -> ServerPlan:
    """The plan of the fleet's server number ``index`` (from 0)."""
    if index < len(FLEET_PRESET):
        return FLEET_PRESET[index]
    start = index - len(FLEET_PRESET)
    names = [_EXTRA[(start + k) % len(_EXTRA)] for k in range(3)]
    models = tuple(
        SeedModel(name, name, timedelta(days=1 + (index * 7 + k * 3) % 60))
        for k, name in enumerate(names)
    )
    speed = _EXTRA_SPEEDS[start % len(_EXTRA_SPEEDS)]
    return ServerPlan(f"server-{index + 1}", "0.31.0", models, speed)


def fleet_addresses(
    count: int, host: str = "127.0.0.1", ports: int | Sequence[int] = 0
) -> list[tuple[str, int]]:
    """Where the servers listen: ``count`` consecutive ports from ``ports`` (0 = any free
    port for each), or one listed port per server."""
    if count < 1:
        raise ValueError("a fleet needs at least one server")
    if isinstance(ports, int):
        if ports == 0:
            return [(host, 0)] * count
        if ports < 0 or ports + count - 1 > MAX_PORT:
            raise ValueError(f"ports {ports}..{ports + count - 1} are not all valid ports")
        return [(host, ports + k) for k in range(count)]
    listed = list(ports)
    if len(listed) != count:
        raise ValueError(f"{count} servers need {count} ports, not {len(listed)}")
    return [(host, port) for port in listed]


class Fleet:
    """``count`` Simulators, one per plan; keyword arguments go to every ``Simulator``
    (``version=`` replaces the plans' versions, ``speed=`` their speeds; server k gets
    ``seed + k``).

    ``await fleet.start(host, ports)`` (or ``addresses=``) listens; ``fleet.urls`` and
    ``fleet.simulators`` are in the same order; ``await fleet.stop()`` stops them all.
    """

    def __init__(
        self, count: int = 3, *, plans: Sequence[ServerPlan] | None = None, **kwargs: Any
    ) -> None:
        self.plans = tuple(plans) if plans is not None else tuple(map(plan_for, range(count)))
        if not self.plans:
            raise ValueError("a fleet needs at least one server")
        version = kwargs.pop("version", None)
        speed = kwargs.pop("speed", None)
        seed = int(kwargs.pop("seed", 0))
        # Each server its own synthetic models (``models=N``): the seed differs per server.
        self.simulators = [
            Simulator(
                version=version or plan.version,
                seeds=plan.models,
                seed=seed + k,
                speed=plan.speed if speed is None else speed,
                **kwargs,
            )
            for k, plan in enumerate(self.plans)
        ]

    def __len__(self) -> int:
        return len(self.simulators)

    @property
    def urls(self) -> list[str]:
        """Base URLs, in the fleet's order ("" for a server not started)."""
        return [sim.url for sim in self.simulators]

    async def start(
        self,
        host: str = "127.0.0.1",
        ports: int | Sequence[int] = 0,
        *,
        addresses: Sequence[tuple[str, int]] | None = None,
    ) -> list[str]:
        """Listen on consecutive or listed ports (see ``fleet_addresses``) or on ``addresses``;
        a server that cannot listen stops the ones already started. Returns the URLs."""
        where = (
            list(addresses)
            if addresses is not None
            else fleet_addresses(len(self.simulators), host, ports)
        )
        if len(where) != len(self.simulators):
            raise ValueError(f"{len(self.simulators)} servers need as many addresses")
        started: list[Simulator] = []
        try:
            for sim, (address, port) in zip(self.simulators, where, strict=True):
                await sim.start(address, port)
                started.append(sim)
        except BaseException:
            await asyncio.gather(*(sim.stop() for sim in started), return_exceptions=True)
            raise
        return self.urls

    async def stop(self) -> None:
        """Stop every server (each one's failure does not keep the others running)."""
        results = await asyncio.gather(
            *(sim.stop() for sim in self.simulators), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def __aenter__(self) -> Fleet:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
