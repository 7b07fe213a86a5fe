"""Where is each model (`w`, with several servers): model names by servers, one cell each.

The matrix comes from :func:`ollama_tui.fleet_matrix.fleet_matrix` over the sessions' installed
lists; it is rebuilt when a poll changes a server's lists (the app's ``sessions_changed``
signal), at most once per refresh, and the table diffs it by name, so an unchanged poll costs
nothing on screen. `C` (or enter) on a row asks the app to copy the model to the servers that
lack it or hold another digest (:class:`CopyToServersRequested`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from rich.cells import cell_len, set_cell_size
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from ollama_tui.fleet_matrix import MatrixRow, Presence, fleet_matrix
from ollama_tui.formatting import safe_line
from ollama_tui.messages import CopyToServersRequested, ProbeRequested
from ollama_tui.screens.help import help_binding
from ollama_tui.session import ServerSession
from ollama_tui.widgets.filter_bar import FilterBar
from ollama_tui.widgets.model_table import Column, VirtualTable

if TYPE_CHECKING:
    from textual.signal import Signal

__all__ = ["MatrixTable", "WhereScreen", "server_column_cells", "server_headers"]

LEGEND = (
    "✓ the reference copy: the digest most servers have (a tie: the leftmost one's)  "
    "≠ another digest (diverged)  blank: not there  ? not heard from yet"
)
# At most 78 cells: one line at 80 columns (←→ scroll is in the help, ?).
KEYS_HELP = "/ filter  C copy to the servers without it  b probe speed  s sort  esc close"
# How wide a server's column may be: its name is cut with "…" to fit.
MAX_SERVER_CELLS = 14
MIN_SERVER_CELLS = 3
SERVER_CELLS_BUDGET = 36  # cells shared by the server names, so 80 columns hold 10 servers

_CELL_STYLES = {
    Presence.SAME.value: "virtual-table--accent",
    Presence.DIFFERENT.value: "virtual-table--warning",
    Presence.UNKNOWN.value: "virtual-table--dim",
}


def server_column_cells(servers: int) -> int:
    """How many cells each server's name gets in the header, for ``servers`` columns."""
    return max(MIN_SERVER_CELLS, min(MAX_SERVER_CELLS, SERVER_CELLS_BUDGET // max(servers, 1)))


# Names cut shorter than this say little: the columns are numbered instead.
MIN_READABLE_CELLS = 6


def _cut(text: str, cells: int) -> str:
    if cell_len(text) <= cells:
        return text
    return set_cell_size(text, cells - 1) + "…"


def server_headers(labels: Sequence[str]) -> tuple[list[str], bool]:
    """The server columns' headers (safe text) and whether they need the legend of names.

    Names that fit are shown whole; else cut with "…" while that leaves them readable and
    apart; else the columns are numbered 1, 2, … (the dashboard's keys for the servers).
    """
    cells = server_column_cells(len(labels))
    safe = [safe_line(label) for label in labels]
    if all(cell_len(label) <= cells for label in safe):
        return safe, False
    cut = [_cut(label, cells) for label in safe]
    if cells >= MIN_READABLE_CELLS and len(set(cut)) == len(cut):
        return cut, True
    return [str(number) for number in range(1, len(labels) + 1)], True


def _server_cell(index: int) -> Any:
    def cell(row: MatrixRow) -> str:
        return row.cells[index].value

    return cell


class MatrixTable(VirtualTable[MatrixRow, str]):
    """The matrix: a row per model name, a column per server; not markable."""

    HELP_SECTION = "Where is each model"
    MARKABLE = False
    EMPTY_TEXT = "No models on any server yet"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select", "Copy to the others", id="where.select", show=False),
    ]

    def __init__(self, headers: Sequence[str], *, id: str | None = None) -> None:
        columns: list[Column[MatrixRow]] = [
            Column(
                "name",
                "MODEL",
                lambda row: safe_line(row.name),
                sort_key=lambda row: row.key,
                priority=100,
                min_width=12,
                max_width=60,
            )
        ]
        # Every column has the top priority: none is dropped when narrow (the table scrolls).
        columns += [
            Column(
                f"server-{index}",
                header,
                _server_cell(index),
                width=1,
                priority=100,
            )
            for index, header in enumerate(headers)
        ]
        super().__init__(
            columns,
            key_of=lambda row: row.key,
            search_text=lambda row: row.name,
            fingerprint=lambda row: (row.name, row.cells, row.reference),
            id=id,
        )

    def cell_style(self, column: Column[MatrixRow], item: MatrixRow, text: str) -> str | None:
        return _CELL_STYLES.get(text)


class WhereScreen(ModalScreen[None]):
    """The fleet's models by server, over the whole dashboard; stays current while open."""

    HELP_SECTION = "Where is each model"
    AUTO_FOCUS = "#where-table"

    DEFAULT_CSS = """
    WhereScreen {
        layout: vertical;
        background: $surface;
        & #where-title { height: 1; text-style: bold; padding: 0 1; background: $panel; }
        & #where-table { height: 1fr; }
        & .where-note { color: $text-muted; padding: 0 1; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,w", "close", "Close", id="where.close"),
        Binding("slash", "filter", "Filter", id="where.filter"),
        Binding("C", "copy", "Copy to the servers without it", id="where.copy"),
        Binding("b", "probe", "Probe speed on each server that has it", id="where.probe"),
        help_binding("where"),
    ]

    def __init__(
        self,
        sessions: Sequence[ServerSession],
        sessions_changed: Signal[ServerSession],
        *,
        read_only: bool = False,
    ) -> None:
        super().__init__(id="where")
        self.sessions = tuple(sessions)
        self.read_only = read_only
        self._sessions_changed = sessions_changed
        labels = [session.label for session in self.sessions]
        headers, cut = server_headers(labels)
        self.table = MatrixTable(headers, id="where-table")
        self.filter_bar = FilterBar(id="where-filter")
        self.filter_bar.placeholder = "filter: model name (enter: keep, esc: clear)"
        self._rebuild_pending = False
        self.rebuild_count = 0
        # Names cut or numbered in the header: the whole names, in column order, below.
        self._servers_note = (
            "Servers: "
            + "  ".join(f"{n}:{safe_line(label)}" for n, label in enumerate(labels, start=1))
            if cut
            else ""
        )

    def compose(self) -> ComposeResult:
        yield Static("", id="where-title", markup=False)
        yield self.table
        yield self.filter_bar
        yield Static(LEGEND, id="where-legend", classes="where-note", markup=False)
        if self._servers_note:
            yield Static(self._servers_note, id="where-servers", classes="where-note", markup=False)
        yield Static(KEYS_HELP, id="where-keys", classes="where-note", markup=False)

    def on_mount(self) -> None:
        self._sessions_changed.subscribe(self, self._session_changed)
        self.rebuild()

    # --- data -----------------------------------------------------------------------------------

    def _session_changed(self, session: ServerSession) -> None:
        # A round of polls changes several servers at once: one rebuild for them all.
        if session in self.sessions and not self._rebuild_pending:
            self._rebuild_pending = True
            self.call_after_refresh(self.rebuild)

    def rows(self) -> list[MatrixRow]:
        """The matrix now (a server that never answered is unknown, not empty)."""
        return fleet_matrix(
            [
                session.installed if session.status.last_ok is not None else None
                for session in self.sessions
            ]
        )

    def rebuild(self) -> None:
        self._rebuild_pending = False
        self.rebuild_count += 1
        self.table.set_items(self.rows())
        self._update_title()

    def _update_title(self) -> None:
        items = self.table.items.values()
        total = len(self.table.items)
        shown = self.table.row_count
        diverged = sum(1 for row in items if row.diverged)
        count = f"{shown}/{total}" if self.table.filter_text else str(total)
        title = f"Where is each model — {count} models on {len(self.sessions)} servers"
        if diverged:
            title += f", {diverged} diverged"
        self.query_one("#where-title", Static).update(title)

    # --- filter ---------------------------------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input is self.filter_bar:
            self._apply_filter(event.value)

    def _apply_filter(self, text: str) -> None:
        self.table.set_filter(text)
        self._update_title()

    def on_filter_bar_done(self, event: FilterBar.Done) -> None:
        if event.cleared:
            self._apply_filter("")
        self.table.focus()

    def action_filter(self) -> None:
        self.filter_bar.open()

    # --- actions --------------------------------------------------------------------------------

    def action_close(self) -> None:
        """The filter first, then the screen."""
        if self.table.filter_text or self.filter_bar.value:
            self.filter_bar.value = ""
            self.filter_bar.close()
            self._apply_filter("")
            return
        self.dismiss(None)

    def on_virtual_table_selected(self, event: VirtualTable.Selected) -> None:
        event.stop()
        self.action_copy()

    def action_probe(self) -> None:
        """Ask to probe the row's model on every server that has it, one at a time."""
        row = self.table.cursor_item
        if row is None:
            return
        if self.read_only:
            self.app.notify("Read-only mode: the servers cannot be changed.", severity="warning")
            return
        self.post_message(ProbeRequested(row.name))

    def action_copy(self) -> None:
        """Ask to copy the row's reference copy to the servers that lack it or differ."""
        row = self.table.cursor_item
        if row is None:
            return
        name = row.name  # notify() is given markup=False: the name stays literal
        if self.read_only:
            self.app.notify("Read-only mode: the servers cannot be changed.", severity="warning")
            return
        lacking = row.lacking
        if not lacking:
            self.app.notify(f"{name} is the same on every server that answered.", markup=False)
            return
        source = self.sessions[row.reference]
        targets = tuple(self.sessions[i] for i in lacking)
        self.post_message(CopyToServersRequested(row.source, source, targets))
