"""Where is each model: the fleet's installed lists as a matrix (no Textual here).

Rows are model names, normalized as the server compares them (``llama3.2`` and
``Llama3.2:latest`` are one row); columns are servers, in the fleet's order. For each name the
*reference* digest is the one most servers have; a tie goes to the digest of the leftmost
server among the tied ones. A cell is ``✓`` (that server has the reference digest), ``≠`` (it
has the name with another digest: the copies diverged), blank (not there) or ``?`` (the server
has not answered yet, so nobody knows).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from ollama_tui.api.models import LocalModel
from ollama_tui.api.names import name_identity

__all__ = ["MatrixRow", "Presence", "fleet_matrix", "name_key"]


class Presence(Enum):
    """One cell of the matrix; the value is what it shows."""

    SAME = "✓"
    DIFFERENT = "≠"
    ABSENT = ""
    UNKNOWN = "?"


@dataclass(frozen=True)
class MatrixRow:
    """One model name across the fleet.

    ``key`` identifies the name (case and defaults folded), ``name`` is how to show it (the
    first server's spelling, normalized), ``models[i]`` is server ``i``'s entry (None: absent or
    unknown), ``reference`` the index of the first server holding the reference digest.
    """

    key: str
    name: str
    cells: tuple[Presence, ...]
    models: tuple[LocalModel | None, ...]
    reference: int

    @property
    def source(self) -> LocalModel:
        """The reference copy: what a copy to the other servers starts from."""
        model = self.models[self.reference]
        assert model is not None  # the reference server has the model by construction
        return model

    @property
    def lacking(self) -> tuple[int, ...]:
        """Servers without the reference copy: absent or diverged (not the unknown ones)."""
        return tuple(
            i for i, cell in enumerate(self.cells) if cell in (Presence.ABSENT, Presence.DIFFERENT)
        )

    @property
    def diverged(self) -> bool:
        return Presence.DIFFERENT in self.cells


@functools.lru_cache(maxsize=65536)
def name_key(name: str) -> tuple[str, str]:
    """``name_identity`` of a name, cached: every poll of every server asks again."""
    return name_identity(name)


def fleet_matrix(installed: Sequence[Sequence[LocalModel] | None]) -> list[MatrixRow]:
    """The matrix of ``installed[i]``, server ``i``'s models (None: not known yet), one row
    per name, sorted by key. A server listing a name twice counts its first entry."""
    servers = len(installed)
    found: dict[str, list[LocalModel | None]] = {}
    shown: dict[str, str] = {}
    for index, models in enumerate(installed):
        if models is None:
            continue
        for model in models:
            key, display = name_key(model.name)
            entries = found.get(key)
            if entries is None:
                entries = found[key] = [None] * servers
                shown[key] = display
            if entries[index] is None:
                entries[index] = model
    unknown = frozenset(i for i, models in enumerate(installed) if models is None)
    rows: list[MatrixRow] = []
    for key in sorted(found):
        entries = found[key]
        counts = Counter(model.digest for model in entries if model is not None)
        top = max(counts.values())
        # Ties: the leftmost server's digest among the most common ones.
        reference = next(
            i
            for i, model in enumerate(entries)
            if model is not None and counts[model.digest] == top
        )
        reference_model = entries[reference]
        assert reference_model is not None
        digest = reference_model.digest
        cells = tuple(
            Presence.UNKNOWN
            if i in unknown
            else Presence.ABSENT
            if model is None
            else Presence.SAME
            if model.digest == digest
            else Presence.DIFFERENT
            for i, model in enumerate(entries)
        )
        rows.append(MatrixRow(key, shown[key], cells, tuple(entries), reference))
    return rows
