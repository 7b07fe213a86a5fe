"""A simulated Ollama server for tests, demos, screenshots and benchmarks.

``Simulator`` serves the Ollama HTTP API (a real server's endpoints, shapes and errors) from
memory on a loopback socket; ``serve_in_thread`` runs one on its own event loop for synchronous
callers; ``FaultSet`` (``sim.faults``) injects failures per path. ``Fleet`` runs several
servers, each with its own state, in one process (``serve_fleet_in_thread`` for synchronous
callers).
"""

from __future__ import annotations

from .catalogue import Catalogue, CatalogueEntry, Layer
from .faults import KINDS as FAULT_KINDS
from .faults import Fault, FaultSet
from .fleet import FLEET_PRESET, Fleet, ServerPlan
from .server import RecordedRequest, Simulator
from .state import SeedModel
from .thread import serve_fleet_in_thread, serve_in_thread

__all__ = [
    "FAULT_KINDS",
    "FLEET_PRESET",
    "Catalogue",
    "CatalogueEntry",
    "Fault",
    "FaultSet",
    "Fleet",
    "Layer",
    "RecordedRequest",
    "SeedModel",
    "ServerPlan",
    "Simulator",
    "serve_fleet_in_thread",
    "serve_in_thread",
]
