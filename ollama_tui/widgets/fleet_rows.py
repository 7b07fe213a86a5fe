"""Rows of the all-servers tables: a model paired with the server it is on."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from ollama_tui.formatting import safe_line
from ollama_tui.session import ServerSession
from ollama_tui.widgets.model_table import Column

__all__ = ["FleetRow", "fleet_columns", "fleet_rows"]

M = TypeVar("M")


@dataclass(frozen=True, eq=False, slots=True)
class FleetRow(Generic[M]):
    """One model on one server. ``key`` is (name, digest, server index): the same model on two
    servers is two rows; ``print`` decides whether the row changed (cheap C-level compare)."""

    session: ServerSession
    index: int
    model: M
    key: tuple[Any, ...]
    print: tuple[Any, ...]

    @property
    def name(self) -> str:
        return str(getattr(self.model, "name", ""))


def fleet_rows(
    session: ServerSession,
    index: int,
    models: Sequence[M],
    fingerprint: Callable[[M], Any] | None,
) -> list[FleetRow[M]]:
    out: list[FleetRow[M]] = []
    for model in models:
        name, digest = getattr(model, "name", ""), getattr(model, "digest", "")
        mark = fingerprint(model) if fingerprint is not None else model
        out.append(FleetRow(session, index, model, (name, digest, index), (index, mark)))
    return out


def fleet_columns(columns: Sequence[Column[M]]) -> list[Column[FleetRow[M]]]:
    """The columns of a per-server table, reading the row's model, with SERVER after NAME."""

    def wrap(column: Column[M]) -> Column[FleetRow[M]]:
        cell = column.cell
        sort_key = column.sort_key
        return replace(  # type: ignore[return-value]
            column,
            cell=lambda row: cell(row.model),
            sort_key=None if sort_key is None else (lambda row: sort_key(row.model)),
        )

    wrapped = [wrap(c) for c in columns]
    server: Column[FleetRow[M]] = Column(
        "server",
        "SERVER",
        lambda row: safe_line(row.session.label),
        sort_key=lambda row: (row.session.label.lower(), row.index),
        priority=95,
        max_width=20,
    )
    return [wrapped[0], server, *wrapped[1:]]
