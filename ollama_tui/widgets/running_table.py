"""The running models (/api/ps) as a virtual table with a live UNTIL countdown."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from operator import attrgetter
from typing import Any

from ollama_tui.api import RunningModel
from ollama_tui.formatting import UNKNOWN, countdown, human_bytes
from ollama_tui.widgets.fleet_rows import fleet_columns
from ollama_tui.widgets.model_table import Column, VirtualTable, name_and_id_columns

__all__ = ["RunningTable", "running_key"]

ModelKey = tuple[str, str]


# (name, digest): a re-pulled model is a new row. attrgetter keeps keying 5,000 rows in C.
running_key: Callable[[RunningModel], ModelKey] = attrgetter("name", "digest")


def search_text(model: RunningModel) -> str:
    details = model.details
    return f"{model.name}\n{details.family}\n{details.quantization_level}"


def gpu_share(model: RunningModel) -> float | None:
    """The part of the model in VRAM, for sorting PROCESSOR; None when unknown."""
    size, vram = model.size, model.size_vram
    if size is None or vram is None or not 0 <= vram <= size or size == 0:
        return None
    return vram / size


class RunningTable(VirtualTable[RunningModel, ModelKey]):
    """NAME, ID, SIZE, PROCESSOR, CONTEXT, UNTIL — the columns of `ollama ps`."""

    HELP_SECTION = "Running models"
    EMPTY_TEXT = "No models loaded — press l on a model to load it"
    MARKABLE = False

    def __init__(
        self,
        clock: Callable[[], datetime],
        *,
        fleet: bool = False,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        self._clock = clock
        self.fleet = fleet
        """All servers: items are FleetRows (a model and its server), with a SERVER column."""
        columns: list[Column[RunningModel]] = [
            *name_and_id_columns(),
            Column(
                "size",
                "SIZE",
                lambda m: human_bytes(m.size),
                sort_key=lambda m: m.size,
                priority=90,
                justify="right",
                reverse_first=True,
            ),
            Column(
                "processor",
                "PROCESSOR",
                lambda m: m.processor,
                sort_key=gpu_share,
                priority=70,
                max_width=16,
            ),
            Column(
                "context",
                "CONTEXT",
                lambda m: UNKNOWN if m.context_length is None else str(m.context_length),
                sort_key=lambda m: m.context_length,
                priority=60,
                justify="right",
                reverse_first=True,
            ),
            Column(
                "until",
                "UNTIL",
                self._until,
                sort_key=lambda m: m.expires_at.timestamp() if m.expires_at else None,
                dynamic=True,
                width=19,
                priority=80,
            ),
        ]
        if fleet:
            super().__init__(
                fleet_columns(columns),  # type: ignore[arg-type]
                attrgetter("key"),
                search_text=lambda row: f"{search_text(row.model)}\n{row.session.label}",
                fingerprint=attrgetter("print"),
                sort="name",
                id=id,
                classes=classes,
            )
            return
        super().__init__(
            columns, running_key, search_text=search_text, sort="name", id=id, classes=classes
        )

    def entity(self, key: Any) -> Any:
        return (key[0], key[2]) if self.fleet else key[0]

    def _until(self, model: RunningModel) -> str:
        now = self._clock()
        if model.expires_at is not None and (exact := countdown(model.expires_at, now)):
            return exact
        try:
            return model.until(now)
        except (OverflowError, ValueError):
            return "Forever"

    def cell_style(self, column: Column[Any], item: Any, text: str) -> str | None:
        if column.key == "until" and text == "Stopping...":
            return "virtual-table--warning"
        return super().cell_style(column, item, text)
