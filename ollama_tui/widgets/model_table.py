"""A virtual table: only the visible rows are rendered (Textual's Line API), so it stays instant
at thousands of rows where a DataTable cannot.

Rows are items keyed by a hashable key. ``set_items`` diffs the new snapshot against the old one
by key: nothing changed -> nothing happens; otherwise only changed rows are re-formatted, the
cursor stays on the same key (or moves to a neighbour when its row disappears), scroll position
and column widths hold (widths only grow).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ollama_tui.formatting import UNKNOWN, safe_line

__all__ = ["Column", "VirtualTable", "name_and_id_columns"]

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

SEPARATOR = 1  # blank cells between columns


@dataclass(frozen=True)
class Column(Generic[T]):
    """One column: how to show a cell, how to sort by it, how wide it may be.

    ``cell`` must return plain, already sanitized text (it is never parsed as markup); a cell
    that raises shows ``–`` rather than losing its row. ``sort_key`` returns None for an unknown
    value: those rows sort last in either direction.
    ``dynamic`` cells depend on the clock: they are computed at render time for visible rows only
    and need a fixed ``width``. A column with ``min_width`` may be shrunk (names, truncated with
    an ellipsis); the highest ``priority`` is never dropped, lower ones drop first when narrow.
    """

    key: str
    label: str
    cell: Callable[[T], str]
    sort_key: Callable[[T], Any] | None = None
    dynamic: bool = False
    width: int | None = None
    min_width: int | None = None
    max_width: int = 60
    soft_width: int = 32
    hide_when_empty: bool = False
    priority: int = 0
    justify: Literal["left", "right"] = "left"
    style: str | None = None
    reverse_first: bool = False


class VirtualTable(ScrollView, Generic[T, K], can_focus=True):
    """Generic keyed virtual table with a fixed header, cursor, marks, sort and filter."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False, id="cursor-up"),
        Binding("down,j", "cursor_down", "Down", show=False, id="cursor-down"),
        Binding("pageup", "page_up", "Page up", show=False, id="page-up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="page-down"),
        Binding("home,g", "first", "First row", show=False, id="first-row"),
        Binding("end,G", "last", "Last row", show=False, id="last-row"),
        Binding("left", "scroll_left", "Scroll left", show=False, id="scroll-left"),
        Binding("right", "scroll_right", "Scroll right", show=False, id="scroll-right"),
        Binding("enter", "select", "Details", id="details"),
        Binding("space", "toggle_mark", "Mark", id="mark", show=False),
        Binding("s", "sort_next", "Sort", id="sort"),
        Binding("S", "sort_reverse", "Reverse sort", id="sort-reverse", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "virtual-table--header",
        "virtual-table--header-sorted",
        "virtual-table--cursor",
        "virtual-table--marked",
        "virtual-table--dim",
        "virtual-table--accent",
        "virtual-table--warning",
        "virtual-table--empty",
    }

    DEFAULT_CSS = """
    VirtualTable {
        height: 1fr;
        background: $surface;
        color: $foreground;
        scrollbar-size: 1 1;
        & > .virtual-table--header { text-style: bold; color: $text-accent; background: $panel; }
        & > .virtual-table--header-sorted { text-style: bold underline; color: $text-primary; }
        & > .virtual-table--cursor { background: $foreground 12%; }
        & > .virtual-table--marked { color: $text-warning; text-style: bold; }
        & > .virtual-table--dim { color: $text-muted; }
        & > .virtual-table--accent { color: $text-success; }
        & > .virtual-table--warning { color: $text-warning; }
        & > .virtual-table--empty { color: $text-muted; text-style: italic; }
        &:focus > .virtual-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
    }
    """

    GUTTER = 3
    """Cells before the first column: a mark, a per-row flag (see ``gutter_flag``), a space."""
    MARKABLE = True
    EMPTY_TEXT = "Nothing to show"

    cursor_key: reactive[K | None] = reactive(None, init=False, always_update=False)

    class CursorMoved(Message):
        """The cursor is on another row (``key`` None = table empty)."""

        def __init__(self, table: VirtualTable[Any, Any], key: Any) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> VirtualTable[Any, Any]:
            return self.table

    class Selected(Message):
        """`enter` or a click on the cursor row."""

        def __init__(self, table: VirtualTable[Any, Any], key: Any) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> VirtualTable[Any, Any]:
            return self.table

    class MarksChanged(Message):
        def __init__(self, table: VirtualTable[Any, Any]) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> VirtualTable[Any, Any]:
            return self.table

    def __init__(
        self,
        columns: Sequence[Column[T]],
        key_of: Callable[[T], K],
        *,
        search_text: Callable[[T], str] | None = None,
        fingerprint: Callable[[T], Any] | None = None,
        sort: str | None = None,
        reverse: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        # What decides "this row changed": cheap to compare (C-level tuples), unlike the
        # items' own __eq__; None = the items themselves.
        self._fingerprint = fingerprint
        self._last_fingerprints: list[Any] = []
        self._fingerprints: dict[K, Any] = {}
        self._sort_keys: dict[K, Any] = {}
        self.columns: list[Column[T]] = list(columns)
        self._column_index = {column.key: i for i, column in enumerate(self.columns)}
        self._key_of = key_of
        self._search_text = search_text or (lambda item: "")
        self._items: dict[K, T] = {}
        self._cells: dict[K, tuple[str, ...]] = {}
        self._search: dict[K, str] = {}
        self._order: list[K] = []
        self._visible: list[K] = []
        self._row_of: dict[K, int] = {}
        self._natural = [self._label_width(c) for c in self.columns]
        self._data_width = [0] * len(self.columns)  # widest cell seen (grows only)
        self._layout: list[tuple[int, int, int]] = []  # (column index, x, width)
        self._layout_for: tuple[int, tuple[int, ...], str] | None = None
        self._total_width = 0
        self.marked: set[K] = set()
        self.filter_text = ""
        self.sort_column = sort if sort in self._column_index else self.columns[0].key
        self.sort_reverse = reverse
        self.empty_text = self.EMPTY_TEXT
        self.render_count = 0  # rows rendered (tests use it to prove "no re-render")
        # Rendered rows by key: (cells tuple it was built from, signature, strip).
        self._row_cache: dict[K, tuple[tuple[str, ...], tuple[Any, ...], Strip]] = {}
        self._style_generation = 0

    # --- data ---------------------------------------------------------------------------------

    @property
    def items(self) -> dict[K, T]:
        return self._items

    @property
    def visible_keys(self) -> list[K]:
        """Keys of the rows shown, in display order (after filter and sort)."""
        return self._visible

    @property
    def row_count(self) -> int:
        return len(self._visible)

    @property
    def cursor_row(self) -> int | None:
        key = self.cursor_key
        return None if key is None else self._row_of.get(key)

    @property
    def cursor_item(self) -> T | None:
        key = self.cursor_key
        return None if key is None else self._items.get(key)

    def marked_items(self) -> list[T]:
        """Marked rows that are still present, in display order."""
        return [self._items[k] for k in self._order if k in self.marked]

    def set_items(self, items: Iterable[T]) -> bool:
        """Replace the data with a new snapshot; returns False (and does nothing) if equal.

        Costs O(n) C-level comparisons when nothing changed; rows are re-formatted, and the
        table re-sorted, only for what did change.
        """
        items = items if isinstance(items, list) else list(items)
        fingerprint = self._fingerprint
        prints = list(map(fingerprint, items)) if fingerprint is not None else items
        if prints == self._last_fingerprints and (prints or self._items):
            return False
        keys = list(map(self._key_of, items))
        new = dict(zip(keys, items, strict=True))
        new_prints = dict(zip(keys, prints, strict=True))
        old_prints = self._fingerprints
        changed = [k for k, p in new_prints.items() if old_prints.get(k, _MISSING) != p]
        removed = old_prints.keys() - new_prints.keys()
        self._last_fingerprints = prints
        self._fingerprints = new_prints
        self._items = new
        if not changed and not removed:
            return False  # same rows in another order: we sort ourselves
        for key in removed:
            self._cells.pop(key, None)
            self._search.pop(key, None)
            self._sort_keys.pop(key, None)
            self._row_cache.pop(key, None)
        if self.marked:
            self.marked.intersection_update(new.keys())
        sort_keys = self._sort_keys
        before = {k: sort_keys.get(k, _MISSING) for k in changed}
        layout_before = self._layout_for
        self._format(changed)
        if any(sort_keys[k] != before[k] for k in changed):
            self._resort(preserve_cursor=True)
        elif (
            not removed
            and not self.filter_text  # a changed row may now match the filter, or not
            and self._layout_for is not None
            and self._layout_for is layout_before
            and all(k in old_prints for k in changed)
        ):
            # The same rows in the same places, no column grew: repaint just the changed rows
            # (a poll after a pull finishes touches a few rows of hundreds).
            row_of = self._row_of
            for key in changed:
                row = row_of.get(key)
                if row is not None:
                    self._refresh_row(row)
        else:
            # Only removals (or changes that keep the order): no sort needed.
            self._order = [k for k in self._order if k in new]
            self._refilter(preserve_cursor=True)
        return True

    def _format(self, keys: Iterable[K]) -> None:
        columns = self.columns
        natural = self._natural
        data_width = self._data_width
        cells = self._cells
        search = self._search
        items = self._items
        grew = False
        sort_key = self._sort_key_func()
        sort_keys = self._sort_keys
        for key in keys:
            item = items[key]
            try:
                row = tuple("" if column.dynamic else column.cell(item) for column in columns)
            except Exception:  # see _cell: the row stays, the bad cell reads "–"
                row = tuple("" if column.dynamic else _cell(column, item) for column in columns)
            cells[key] = row
            try:
                search[key] = self._search_text(item).lower()
            except Exception:  # not findable by filter, but still shown
                search[key] = row[0].lower()
            sort_keys[key] = sort_key(item, row)
            for index, text in enumerate(row):
                width = cell_width(text)
                if width > data_width[index]:
                    data_width[index] = width
                    if width > natural[index]:
                        natural[index] = width
                    grew = True
        if grew:
            self._layout_for = None

    # --- sort and filter ------------------------------------------------------------------------

    def sort_by(self, column_key: str, reverse: bool | None = None) -> None:
        if column_key not in self._column_index:
            return
        if reverse is None:
            if column_key == self.sort_column:
                reverse = not self.sort_reverse
            else:
                reverse = self.columns[self._column_index[column_key]].reverse_first
        rekey = column_key != self.sort_column
        self.sort_column = column_key
        self.sort_reverse = reverse
        self._resort(preserve_cursor=True, rekey=rekey)

    def set_filter(self, text: str) -> None:
        text = text.strip().lower()
        if text == self.filter_text:
            return
        # Typing narrows the filter: search only the rows still shown.
        narrowing = bool(self.filter_text) and self.filter_text in text
        self.filter_text = text
        self._refilter(preserve_cursor=True, narrowing=narrowing)

    def _sort_key_func(self) -> Callable[[T, tuple[str, ...]], Any]:
        """Sort key of one row for the current column: ``(unknown, value, first cell)``.

        Ties are broken by the first column; ``_resort`` puts the unknown rows last.
        """
        index = self._column_index[self.sort_column]
        get = self.columns[index].sort_key
        if get is not None:
            sort_get = get

            def keyfunc(item: T, cells: tuple[str, ...]) -> Any:
                try:
                    value = sort_get(item)
                except Exception:  # a value that cannot be read is unknown
                    value = None
                return (value is None, value, cells[0].lower())

            return keyfunc

        def by_text(item: T, cells: tuple[str, ...]) -> Any:
            return (False, cells[index].lower(), cells[0].lower())

        return by_text

    def _resort(self, *, preserve_cursor: bool, rekey: bool = False) -> None:
        if rekey:
            sort_key = self._sort_key_func()
            items, cells = self._items, self._cells
            self._sort_keys = {k: sort_key(items[k], cells[k]) for k in items}
        # Cached keys: the sort itself runs in C. Unknown values go last in either direction.
        sort_keys = self._sort_keys
        get = sort_keys.__getitem__
        unknown = [k for k in self._items if get(k)[0]]
        if unknown:
            known = [k for k in self._items if not get(k)[0]]
            self._order = sorted(known, key=get, reverse=self.sort_reverse)
            self._order += sorted(unknown, key=get)
        else:
            self._order = sorted(self._items, key=get, reverse=self.sort_reverse)
        self._refilter(preserve_cursor=preserve_cursor)

    def _refilter(self, *, preserve_cursor: bool, narrowing: bool = False) -> None:
        old_visible = self._visible
        old_cursor = self.cursor_key
        query = self.filter_text
        if query:
            search = self._search
            source = old_visible if narrowing else self._order
            self._visible = [k for k in source if query in search[k]]
        else:
            self._visible = list(self._order)
        self._row_of = {key: row for row, key in enumerate(self._visible)}
        self._update_virtual_size()
        if preserve_cursor:
            self._restore_cursor(old_cursor, old_visible)
        self.refresh()

    def _restore_cursor(self, old_cursor: K | None, old_visible: list[K]) -> None:
        if not self._visible:
            self._set_cursor(None)
            return
        if old_cursor is not None and old_cursor in self._row_of:
            # Same key, maybe a new row number: keep the row where it was on screen, so rows
            # added or removed above it do not make the view jump.
            try:
                old_row = old_visible.index(old_cursor)
            except ValueError:
                old_row = None
            new_row = self._row_of[old_cursor]
            top = round(self.scroll_y)
            if (
                old_row is not None
                and old_row != new_row
                and top <= old_row < top + self._page_rows
            ):
                self.scroll_to(y=max(0, new_row - (old_row - top)), animate=False)
            self._set_cursor(old_cursor, scroll=True)
            return
        if old_cursor is not None:
            replacement = self._same_entity(old_cursor)
            if replacement is not None:
                self._set_cursor(replacement, scroll=True)
                return
            try:
                start = old_visible.index(old_cursor)
            except ValueError:
                start = -1
            if start >= 0:
                # The neighbour: the next surviving row below, else the nearest above.
                for key in old_visible[start + 1 :]:
                    if key in self._row_of:
                        self._set_cursor(key, scroll=True)
                        return
                for key in reversed(old_visible[:start]):
                    if key in self._row_of:
                        self._set_cursor(key, scroll=True)
                        return
        self._set_cursor(self._visible[0], scroll=True)

    def entity(self, key: Any) -> Any:
        """What a tuple key names apart from its version: the model's name (key[0]); tables
        whose keys hold more (the server) say so by overriding this."""
        return key[0]

    def _same_entity(self, old_key: K) -> K | None:
        """A new key for the same model (same name, new digest), if the key is a tuple."""
        if isinstance(old_key, tuple) and old_key:
            entity = self.entity
            wanted = entity(old_key)
            for key in self._visible:
                if isinstance(key, tuple) and key and entity(key) == wanted:
                    return key
        return None

    # --- cursor ---------------------------------------------------------------------------------

    def _set_cursor(self, key: K | None, *, scroll: bool = True) -> None:
        old = self.cursor_key
        if old is not None and old in self._row_of:
            self._refresh_row(self._row_of[old])
        self.cursor_key = key
        if key is not None and key in self._row_of:
            self._refresh_row(self._row_of[key])
            if scroll:
                self.scroll_to_row(self._row_of[key])

    def watch_cursor_key(self, old: K | None, new: K | None) -> None:
        self.post_message(self.CursorMoved(self, new))

    def move_cursor_to(self, row: int) -> None:
        if not self._visible:
            return
        row = max(0, min(row, len(self._visible) - 1))
        self._set_cursor(self._visible[row])

    def select_key(self, key: K) -> bool:
        """Put the cursor on a key if it is shown."""
        if key in self._row_of:
            self._set_cursor(key)
            return True
        return False

    @property
    def _page_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def scroll_to_row(self, row: int) -> None:
        top = round(self.scroll_y)
        height = self._page_rows
        if row < top:
            self.scroll_to(y=row, animate=False)
        elif row >= top + height:
            self.scroll_to(y=row - height + 1, animate=False)

    def set_empty_text(self, text: str | None) -> None:
        """What an empty table says (None: the default)."""
        text = self.EMPTY_TEXT if text is None else text
        if text != self.empty_text:
            self.empty_text = text
            if not self._visible:
                self.refresh()

    def _refresh_row(self, row: int) -> None:
        y = row + 1 - round(self.scroll_y)
        if 1 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def action_cursor_up(self) -> None:
        row = self.cursor_row
        self.move_cursor_to(0 if row is None else row - 1)

    def action_cursor_down(self) -> None:
        row = self.cursor_row
        self.move_cursor_to(0 if row is None else row + 1)

    def action_page_up(self) -> None:
        row = self.cursor_row or 0
        self.move_cursor_to(row - self._page_rows)

    def action_page_down(self) -> None:
        row = self.cursor_row or 0
        self.move_cursor_to(row + self._page_rows)

    def action_first(self) -> None:
        self.move_cursor_to(0)

    def action_last(self) -> None:
        self.move_cursor_to(len(self._visible) - 1)

    def action_select(self) -> None:
        if self.cursor_key is not None:
            self.post_message(self.Selected(self, self.cursor_key))

    def action_toggle_mark(self) -> None:
        key = self.cursor_key
        if key is None or not self.MARKABLE:
            return
        if key in self.marked:
            self.marked.discard(key)
        else:
            self.marked.add(key)
        self.post_message(self.MarksChanged(self))
        self.action_cursor_down()
        if key in self._row_of:
            self._refresh_row(self._row_of[key])

    def clear_marks(self) -> None:
        if self.marked:
            self.marked.clear()
            self.post_message(self.MarksChanged(self))
            self.refresh()

    def action_sort_next(self) -> None:
        shown = [self.columns[index].key for index, _x, _w in self._current_layout()]
        if not shown:
            return
        try:
            position = shown.index(self.sort_column)
        except ValueError:
            position = -1
        self.sort_by(shown[(position + 1) % len(shown)])

    def action_sort_reverse(self) -> None:
        self.sort_by(self.sort_column, not self.sort_reverse)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("select",):
            return self.cursor_key is not None
        if action == "toggle_mark":
            return self.MARKABLE and self.cursor_key is not None
        return True

    # --- mouse ----------------------------------------------------------------------------------

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        event.stop()
        self.focus()
        if offset.y == 0:
            x = offset.x + round(self.scroll_x)
            for index, start, width in self._current_layout():
                if start <= x < start + width + SEPARATOR:
                    self.sort_by(self.columns[index].key)
                    break
            return
        row = offset.y - 1 + round(self.scroll_y)
        if 0 <= row < len(self._visible):
            key = self._visible[row]
            if key == self.cursor_key or event.chain >= 2:
                self._set_cursor(key)
                self.post_message(self.Selected(self, key))
            else:
                self._set_cursor(key)

    # --- layout ---------------------------------------------------------------------------------

    def _label_width(self, column: Column[T]) -> int:
        # Room for the label and the sort arrow.
        return cell_len(column.label) + 2

    def _column_width(self, index: int) -> int:
        column = self.columns[index]
        if column.width is not None:
            return max(column.width, self._label_width(column))
        return min(self._natural[index], max(column.max_width, self._label_width(column)))

    def _current_layout(self) -> list[tuple[int, int, int]]:
        available = max(self.scrollable_content_region.width, 1)
        widths = tuple(self._column_width(i) for i in range(len(self.columns)))
        signature = (available, widths, self.sort_column)
        if self._layout_for != signature:
            self._layout = self._compute_layout(available, widths)
            self._layout_for = signature
            last = self._layout[-1] if self._layout else (0, self.GUTTER, 0)
            self._total_width = last[1] + last[2]
        return self._layout

    def _compute_layout(
        self, available: int, widths: tuple[int, ...]
    ) -> list[tuple[int, int, int]]:
        """Which columns fit and how wide.

        Over budget: first shrink shrinkable columns (``min_width`` set, i.e. names) to their
        ``soft_width``, then drop the least important columns (never the one sorted by), then
        shrink names down to ``min_width`` (beyond that the table scrolls sideways). Room left
        over goes back to the shrunk columns, up to their natural width.
        """
        columns = self.columns
        width = list(widths)
        included = [
            i
            for i, column in enumerate(columns)
            if not (column.hide_when_empty and self._data_width[i] == 0)
        ]
        shrinkable = [i for i in included if columns[i].min_width is not None]

        def total() -> int:
            return self.GUTTER + sum(width[i] for i in included) + SEPARATOR * (len(included) - 1)

        if total() > available:
            for i in shrinkable:
                width[i] = min(width[i], max(columns[i].soft_width, columns[i].min_width or 0))
        # The column sorted by stays: its order is what the user is looking at.
        kept = max(c.priority for c in columns)
        sorted_by = self._column_index.get(self.sort_column)
        droppable = sorted(
            (i for i in included if columns[i].priority < kept and i != sorted_by),
            key=lambda i: (columns[i].priority, -i),
        )
        while total() > available and droppable:
            included.remove(droppable.pop(0))
        over = total() - available
        for i in shrinkable:
            if over <= 0:
                break
            floor = columns[i].min_width or 0
            cut = min(over, max(0, width[i] - floor))
            width[i] -= cut
            over -= cut
        spare = available - total()
        for i in shrinkable:
            if spare <= 0:
                break
            if i in included:
                grow = min(spare, widths[i] - width[i])
                width[i] += grow
                spare -= grow
        layout: list[tuple[int, int, int]] = []
        x = self.GUTTER
        for index in included:
            layout.append((index, x, width[index]))
            x += width[index] + SEPARATOR
        return layout

    def _update_virtual_size(self) -> None:
        self._current_layout()
        self.virtual_size = Size(self._total_width, len(self._visible) + 1)

    def on_resize(self, event: events.Resize) -> None:
        self._layout_for = None
        self._update_virtual_size()
        if self.cursor_row is not None:
            self.scroll_to_row(self.cursor_row)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._style_generation += 1
        self._row_cache.clear()
        self.refresh()

    # --- rendering ------------------------------------------------------------------------------

    def gutter_flag(self, item: T) -> tuple[str, str | None]:
        """The second gutter cell for a row (e.g. a loaded marker) and its component class."""
        return (" ", None)

    def row_style(self, item: T) -> str | None:
        """A component class for the whole row (e.g. dim for remote models)."""
        return None

    def cell_style(self, column: Column[T], item: T, text: str) -> str | None:
        """The component class for one cell (``Column.style`` "dim" -> virtual-table--dim)."""
        return f"virtual-table--{column.style}" if column.style else None

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        layout = self._current_layout()
        scroll_x = round(self.scroll_x)
        base = self.rich_style
        if y == 0:
            strip = self._render_header(layout, base)
        else:
            row = y - 1 + round(self.scroll_y)
            if row >= len(self._visible):
                text = self.empty_text if not self.filter_text else "No match for the filter"
                lines = text.split("\n")  # an empty table may explain itself in a few lines
                if row < len(lines) and not self._visible:
                    style = base + self.get_component_rich_style(
                        "virtual-table--empty", partial=True
                    )
                    strip = Strip([Segment("  " + lines[row], style)])
                else:
                    return Strip.blank(width, base)
            else:
                strip = self._render_row(row, layout, base)
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def _render_header(self, layout: list[tuple[int, int, int]], base: Style) -> Strip:
        header = base + self.get_component_rich_style("virtual-table--header", partial=True)
        sorted_style = header + self.get_component_rich_style(
            "virtual-table--header-sorted", partial=True
        )
        segments = [Segment(" " * self.GUTTER, header)]
        for position, (index, _x, width) in enumerate(layout):
            column = self.columns[index]
            label = column.label
            style = header
            if column.key == self.sort_column:
                label = f"{label} {'▼' if self.sort_reverse else '▲'}"
                style = sorted_style
            segments.append(Segment(_fit(label, width, column.justify), style))
            if position < len(layout) - 1:
                segments.append(Segment(" " * SEPARATOR, header))
        total = max(self._total_width, self.scrollable_content_region.width)
        return Strip(segments).extend_cell_length(total, header)

    def _render_row(self, row: int, layout: list[tuple[int, int, int]], base: Style) -> Strip:
        key = self._visible[row]
        item = self._items[key]
        cells = self._cells[key]
        columns = self.columns
        dynamic = tuple(
            _cell(columns[index], item) for index, _x, _w in layout if columns[index].dynamic
        )
        is_cursor = key == self.cursor_key
        is_marked = key in self.marked
        flag = self.gutter_flag(item)
        total = max(self._total_width, self.scrollable_content_region.width)
        signature = (
            is_cursor and self.has_focus,
            is_cursor,
            is_marked,
            flag,
            dynamic,
            self._layout_for,
            self._style_generation,
            total,
            base,
        )
        cached = self._row_cache.get(key)
        if cached is not None and cached[0] is cells and cached[1] == signature:
            return cached[2]
        self.render_count += 1
        strip = self._build_row(item, cells, layout, base, is_cursor, is_marked, flag, dynamic)
        strip = strip.extend_cell_length(total, base)
        self._row_cache[key] = (cells, signature, strip)
        return strip

    def _build_row(
        self,
        item: T,
        cells: tuple[str, ...],
        layout: list[tuple[int, int, int]],
        base: Style,
        is_cursor: bool,
        is_marked: bool,
        flag_and_class: tuple[str, str | None],
        dynamic: tuple[str, ...],
    ) -> Strip:
        def get_style(name: str) -> Style:
            return self.get_component_rich_style(name, partial=True)

        row_class = self.row_style(item)
        row_base = base + get_style(row_class) if row_class else base
        if is_marked:
            row_base = row_base + get_style("virtual-table--marked")
        flag, flag_class = flag_and_class
        flag_style = row_base + get_style(flag_class) if flag_class else row_base
        segments = [
            Segment("✓" if is_marked else " ", row_base),
            Segment(flag, flag_style),
            Segment(" ", row_base),
        ]
        dynamic_texts = iter(dynamic)
        for position, (index, _x, width) in enumerate(layout):
            column = self.columns[index]
            text = next(dynamic_texts) if column.dynamic else cells[index]
            style_class = self.cell_style(column, item, text)
            style = row_base + get_style(style_class) if style_class and not is_marked else row_base
            segments.append(Segment(_fit(text, width, column.justify), style))
            if position < len(layout) - 1:
                segments.append(Segment(" " * SEPARATOR, row_base))
        total = max(self._total_width, self.scrollable_content_region.width)
        strip = Strip(segments).extend_cell_length(total, row_base)
        if is_cursor:
            # The full style: its translucent background is blended with ours.
            overlay = self.get_component_rich_style("virtual-table--cursor")
            strip = Strip(Segment.apply_style(strip, post_style=overlay), strip.cell_length)
        return strip

    def refresh_dynamic(self) -> None:
        """Repaint visible rows (for clock-driven cells); costs only the visible rows."""
        if any(column.dynamic for column in self.columns) and self._visible:
            self.refresh()


class _Missing:
    pass


_MISSING: Any = _Missing()


def _cell(column: Column[T], item: T) -> str:
    """One cell's text; ``–`` if making it fails, so a row is never lost to one bad value."""
    try:
        return column.cell(item)
    except Exception:  # server data must never end the app or hide a row
        return UNKNOWN


def cell_width(text: str) -> int:
    """The cells ``text`` takes: its length for printable ASCII (one cell a character: the
    usual cell, found without Rich's per-character table), else Rich's count."""
    return len(text) if text.isascii() and text.isprintable() else cell_len(text)


def _fit(text: str, width: int, justify: str) -> str:
    """Exactly ``width`` cells: truncated with an ellipsis, padded on the justified side."""
    length = cell_width(text)
    if length > width:
        if width <= 1:
            return set_cell_size(text, width)
        return set_cell_size(text, width - 1) + "…"
    if justify == "right":
        return " " * (width - length) + text
    return text + " " * (width - length)


class _Named(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def short_id(self) -> str: ...


N = TypeVar("N", bound=_Named)


def name_and_id_columns() -> list[Column[N]]:
    """NAME and ID, the first two columns of both model tables."""
    return [
        Column(
            "name",
            "NAME",
            lambda m: safe_line(m.name),
            sort_key=lambda m: m.name.lower(),
            priority=100,
            min_width=12,
            max_width=60,
        ),
        Column("id", "ID", lambda m: safe_line(m.short_id), width=12, priority=40, style="dim"),
    ]
