"""The installed models (/api/tags) as a virtual table."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, ClassVar

from textual.binding import Binding, BindingType

from ollama_tui.api import InvalidInput, LocalModel, normalize_model_name
from ollama_tui.formatting import UNKNOWN, human_bytes, human_number, relative_time, safe_line
from ollama_tui.session import ServerSession
from ollama_tui.widgets.fleet_rows import FleetRow, fleet_columns
from ollama_tui.widgets.model_table import Column, VirtualTable, name_and_id_columns

__all__ = ["InstalledTable", "installed_key"]

ModelKey = tuple[str, str]

NEVER_USED = "—"
"""LAST USED of a model not seen loaded since the app began watching its server."""
LAST_USED_PRIORITY = 40


# (name, digest): a re-pulled model is a new row. attrgetter keeps keying 5,000 rows in C.
installed_key: Callable[[LocalModel], ModelKey] = attrgetter("name", "digest")


# The manifest digest covers everything in `details` (it hashes the config blob), so these
# fields decide whether a row changed; comparing them is C-level and far cheaper than __eq__.
fingerprint = attrgetter(
    "name", "digest", "size", "modified_at", "capabilities", "remote_model", "remote_host"
)


def search_text(model: LocalModel) -> str:
    details = model.details
    return f"{model.name}\n{details.family}\n{details.quantization_level}"


def params_text(model: LocalModel) -> str:
    """PARAMS in one style ("494M", "1.2B"); the server's words if they are not a count."""
    details = model.details
    if details.parameter_count is not None:
        return human_number(details.parameter_count)
    return safe_line(details.parameter_size) or UNKNOWN


def fleet_search_text(row: FleetRow[Any]) -> str:
    """All servers: the filter also matches the server's name."""
    return f"{search_text(row.model)}\n{row.session.label}"


class InstalledTable(VirtualTable[LocalModel, ModelKey]):
    """NAME, ID, SIZE, PARAMS, QUANT, FAMILY, MODIFIED, CAPABILITIES; ● marks loaded models."""

    HELP_SECTION = "Installed models"
    EMPTY_TEXT = "No models installed — press p to pull one"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("L", "sort_last_used", "Sort by last used", id="sort-last-used", show=False),
    ]

    def __init__(
        self,
        clock: Callable[[], datetime],
        *,
        fleet: bool = False,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        self._clock = clock
        self._usage_resort_due = False
        self.fleet = fleet
        """All servers: items are FleetRows (a model and its server), with a SERVER column."""
        self.loaded_names: frozenset[Any] = frozenset()
        self.session: ServerSession | None = None
        """The server a per-server table shows (set by the dashboard); all servers: None,
        each row carries its own."""
        columns: list[Column[LocalModel]] = [
            *name_and_id_columns(),
            Column(
                "size",
                "SIZE",
                lambda m: UNKNOWN if m.is_remote else human_bytes(m.size),
                sort_key=lambda m: None if m.is_remote else m.size,
                priority=90,
                justify="right",
                reverse_first=True,
            ),
            Column(
                "params",
                "PARAMS",
                params_text,
                sort_key=lambda m: m.details.parameter_count,
                priority=60,
                justify="right",
                max_width=10,
                reverse_first=True,
            ),
            Column(
                "quant",
                "QUANT",
                lambda m: safe_line(m.details.quantization_level),
                priority=50,
                max_width=12,
            ),
            Column(
                "family",
                "FAMILY",
                lambda m: safe_line(m.details.family),
                priority=30,
                max_width=14,
            ),
            Column(
                "modified",
                "MODIFIED",
                self._modified,
                sort_key=lambda m: m.modified_at.timestamp() if m.modified_at else None,
                dynamic=True,
                width=14,
                priority=70,
                style="dim",
                reverse_first=True,
            ),
            Column(
                "caps",
                "CAPABILITIES",
                lambda m: safe_line(", ".join(m.capabilities)),
                priority=20,
                max_width=34,
                style="dim",
                hide_when_empty=True,
            ),
        ]
        # Columns whose cells need the model's server (what the app learnt about it beside
        # /api/tags) are built after the SERVER wrapping, from (model, session) functions.
        server_columns: list[Column[Any]] = [self._freshness_column()]
        server_columns.append(self._last_used_column())
        server_columns.append(self._speed_column())
        if fleet:
            super().__init__(
                [*fleet_columns(columns), *server_columns],  # type: ignore[list-item]
                attrgetter("key"),
                search_text=fleet_search_text,  # type: ignore[arg-type]
                fingerprint=attrgetter("print"),
                sort="name",
                id=id,
                classes=classes,
            )
            return
        super().__init__(
            [*columns, *server_columns],
            installed_key,
            search_text=search_text,
            fingerprint=fingerprint,
            sort="name",
            id=id,
            classes=classes,
        )

    def per_server(
        self, function: Callable[[LocalModel, ServerSession | None], Any]
    ) -> Callable[[Any], Any]:
        """A cell or sort key of an item (a model, or all servers: a FleetRow) from a function
        of the model and its server."""
        if self.fleet:
            return lambda row: function(row.model, row.session)
        return lambda model: function(model, self.session)

    # -- LAST USED -----------------------------------------------------------------------------

    def _last_used_column(self) -> Column[Any]:
        """When the model was last seen loaded on its server ("—": never, since watching began;
        see ``ServerUsage``). Sorted oldest first, never-seen at the top: the stale ones."""
        return Column(
            "last_used",
            "LAST USED",
            self.per_server(self._last_used_text),
            sort_key=self.per_server(_last_used_sort_key),
            dynamic=True,
            width=14,
            priority=LAST_USED_PRIORITY,
            style="dim",
        )

    def _last_used_text(self, model: LocalModel, session: ServerSession | None) -> str:
        usage = session.usage if session is not None else None
        if usage is None:
            return NEVER_USED
        if usage.is_running(model.name):
            return "now"
        when = usage.last_used(model.name)
        if when is None:
            return NEVER_USED
        return relative_time(datetime.fromtimestamp(when, UTC), self._clock()) or NEVER_USED

    def action_sort_last_used(self) -> None:
        """Stalest first (never seen on top) and the cursor to the top, ready to mark; again:
        most recent first."""
        if self.sort_column == "last_used":
            self.sort_by("last_used", not self.sort_reverse)
        else:
            self.sort_by("last_used", False)
        self.move_cursor_to(0)

    def usage_changed(self) -> None:
        """What LAST USED shows changed without the rows changing: repaint, and re-sort once
        (after this round of polls) when sorted by it."""
        self.refresh()
        if self.sort_column == "last_used" and not self._usage_resort_due:
            self._usage_resort_due = True
            self.call_after_refresh(self._resort_by_usage)

    def _resort_by_usage(self) -> None:
        self._usage_resort_due = False
        if self.sort_column == "last_used":
            self._resort(preserve_cursor=True, rekey=True)

    # -- SPEED -----------------------------------------------------------------------------------

    def _speed_column(self) -> Column[Any]:
        """SPEED: the last speed probe of the model on its server (off until `v` turns it on;
        fastest first when sorted by it)."""
        from ollama_tui.speed import SPEED_WIDTH, speed_cell, speed_sort_key

        def result(model: LocalModel, session: ServerSession | None) -> Any:
            return None if session is None else session.probe_of(model)

        return Column(
            "speed",
            "SPEED",
            self.per_server(lambda m, s: speed_cell(result(m, s))),
            sort_key=self.per_server(lambda m, s: speed_sort_key(result(m, s))),
            dynamic=True,
            width=SPEED_WIDTH,
            # Above most columns: the user asked for it, it must not be the first to go.
            priority=85,
            justify="right",
            hide_when_empty=True,
            reverse_first=True,
        )

    @property
    def speed_shown(self) -> bool:
        return self._data_width[self._column_index["speed"]] > 0

    def show_speed(self, on: bool) -> None:
        """Show or hide SPEED (its cells are drawn at render time, so the table cannot measure
        them: shown means given its width). Hidden while sorted by it: sorted by name again."""
        index = self._column_index["speed"]
        width = (self.columns[index].width or 0) if on else 0
        if self._data_width[index] != width:
            self._data_width[index] = width
            self._layout_for = None
        if not on and self.sort_column == "speed":
            self.sort_by("name", False)
        self.refresh()

    def probes_changed(self) -> None:
        """A probe result came in: repaint, and re-sort when sorted by SPEED."""
        if self.sort_column == "speed":
            self._resort(preserve_cursor=True, rekey=True)
        self.refresh()

    def _freshness_column(self) -> Column[Any]:
        """UPDATE: what the outdated check found (hidden until some model has been checked)."""
        from ollama_tui.freshness import FRESH_WIDTH, freshness_cell, freshness_sort_key

        def result(model: LocalModel, session: ServerSession | None) -> Any:
            return None if session is None else session.freshness_of(model)

        return Column(
            "fresh",
            "UPDATE",
            self.per_server(lambda m, s: freshness_cell(result(m, s))),
            sort_key=self.per_server(lambda m, s: freshness_sort_key(result(m, s))),
            dynamic=True,
            width=FRESH_WIDTH,
            priority=65,
            hide_when_empty=True,
        )

    def freshness_changed(self, checked: bool) -> None:
        """Check results changed: show the UPDATE column once anything was ``checked`` (its
        cells are drawn at render time, so the table cannot measure them), re-sort by it if
        that is the sort, repaint."""
        index = self._column_index["fresh"]
        width = (self.columns[index].width or 0) if checked else 0
        if self._data_width[index] != width:
            self._data_width[index] = width
            self._layout_for = None
        if self.sort_column == "fresh":
            self._resort(preserve_cursor=True, rekey=True)
        self.refresh()

    def entity(self, key: Any) -> Any:
        # All servers: the same model on another server is another entity.
        return (key[0], key[2]) if self.fleet else key[0]

    def _modified(self, model: LocalModel) -> str:
        return relative_time(model.modified_at, self._clock()) or UNKNOWN

    def set_loaded(self, running: Iterable[Any]) -> None:
        """Mark the installed models that /api/ps lists, by name (a copy shares the digest of
        its original, but only the name that was loaded is running); all servers: by server
        and name (``running`` are FleetRows)."""
        if self.fleet:
            names = frozenset((row.index, loaded_key(row.model.name)) for row in running)
        else:
            names = frozenset(loaded_key(m.name) for m in running)
        if names != self.loaded_names:
            self.loaded_names = names
            self.refresh()

    def gutter_flag(self, item: Any) -> tuple[str, str | None]:
        if self.fleet:
            loaded = (item.index, loaded_key(item.model.name)) in self.loaded_names
            item = item.model
        else:
            loaded = loaded_key(item.name) in self.loaded_names
        if loaded:
            return ("●", "virtual-table--accent")
        if item.is_remote:
            return ("☁", "virtual-table--dim")
        return (" ", None)

    def cell_style(self, column: Column[Any], item: Any, text: str) -> str | None:
        model = item.model if self.fleet else item
        if column.key == "size" and model.is_remote:
            return "virtual-table--dim"
        return super().cell_style(column, item, text)


def _last_used_sort_key(model: LocalModel, session: ServerSession | None) -> float:
    usage = session.usage if session is not None else None
    return usage.sort_key(model.name) if usage is not None else -math.inf


def loaded_key(name: str) -> str:
    """Names compare like the server's lookup: normalized and case-insensitive."""
    try:
        return normalize_model_name(name).lower()
    except InvalidInput:
        return name.lower()
