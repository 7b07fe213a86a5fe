"""A simulated Ollama server for tests, demos, screenshots and benchmarks.

``Simulator`` serves the Ollama HTTP API (a real server's endpoints, shapes and errors) from
memory on a loopback socket; ``serve_in_thread`` runs one on its own event loop for synchronous
callers; ``FaultSet`` (``sim.faults``) injects failures per path.
"""

from __future__ import annotations

from .catalogue import Catalogue, CatalogueEntry, Layer
from .faults import KINDS as FAULT_KINDS
from .faults import Fault, FaultSet
from .server import RecordedRequest, Simulator
from .thread import serve_in_thread

__all__ = [
    "FAULT_KINDS",
    "Catalogue",
    "CatalogueEntry",
    "Fault",
    "FaultSet",
    "Layer",
    "RecordedRequest",
    "Simulator",
    "serve_in_thread",
]
