"""The servers table: one row per configured server (shown only with more than one)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.text import Text
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from ollama_tui.disk import DiskUsage
from ollama_tui.formatting import disk_figure, human_bytes, safe_line
from ollama_tui.session import ServerSession, memory_in_use

__all__ = ["ServersTable", "server_state"]

UNKNOWN = "–"


def server_state(session: ServerSession) -> tuple[str, str]:
    """What a server's state cell says, and its style."""
    status = session.status
    if status.paused:
        return "paused", "bold yellow"
    if status.state == "connected":
        return "connected", "green"
    if status.state == "connecting":
        return "connecting…", "yellow"
    if status.state == "not_answering":
        return "not answering", "bold yellow"
    label = "unreachable" if status.state == "unreachable" else "error"
    reason = safe_line(status.reason)
    return (f"{label}: {reason}" if reason else label), "red"


COLUMNS: tuple[tuple[str, bool, int], ...] = (
    # (header, right-justified, ratio): ratio columns share the width left by the others.
    ("#", False, 0),
    ("SERVER", False, 3),
    ("STATE", False, 4),
    ("VERSION", False, 0),
    ("RTT", True, 0),
    ("LOADED", True, 0),
    ("RAM", True, 0),
    ("VRAM", True, 0),
    ("MODELS", True, 0),
    ("DISK", True, 0),
)
HEADER_WIDTHS = tuple(cell_len(header) for header, _right, _ratio in COLUMNS)
MIN_RATIO_WIDTH = 4
"""A shared column never gets narrower than this (the line is cut at the edge instead)."""
# The RTT shown moves only when a poll's differs from it by more than 25% and 5 ms: the jitter
# of a steady server would otherwise repaint its row at every poll (20 servers: 10 repaints a
# second) to say nothing new.
RTT_STEADY = 0.25
RTT_JITTER = 0.005

Row = tuple[tuple[str, ...], str, bool]
"""A row's cells, its state style and whether it is the current server."""


class ServersTable(Widget):
    """Name, state, version, RTT, loaded models (RAM, VRAM), installed count and disk of each
    server; the current one is marked. Height: one line per server, a header and the border.

    Drawn line by line (Textual's line API) from rows cached by their cells: with 20 servers
    polled every 2 s a poll changes one row (its RTT), and laying out the whole table again for
    it, as a Rich ``Table`` does, cost ~50 ms a poll. Sums over a server's models are cached by
    the identity of its lists (the poller hands back the same list while nothing changed).
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._sessions: tuple[ServerSession, ...] = ()
        self._current: ServerSession | None = None
        self._all_shown = False
        self._rows: list[Row] = []
        self._widths: tuple[int, ...] = ()
        self._strips: dict[int, tuple[object, Strip]] = {}
        self._natural: tuple[int, ...] = ()
        """Each column's widest cell (or header)."""
        self._layout: tuple[int, tuple[int, ...]] | None = None
        """The column widths for the rows, and the width they are for."""
        self._sums: dict[int, tuple[object, object, tuple[int, int, DiskUsage]]] = {}
        self._made: dict[int, tuple[tuple[object, ...], Row]] = {}
        """Each server's row, with what it was made from."""
        self._rtt_shown: dict[int, float | None] = {}
        self._row_widths: dict[Row, tuple[int, ...]] = {}

    def set_sessions(
        self, sessions: Sequence[ServerSession], current: ServerSession, *, all_shown: bool = False
    ) -> None:
        self._sessions = tuple(sessions)
        self._current = current
        self._all_shown = all_shown
        live = {id(s) for s in self._sessions}
        self._sums = {k: v for k, v in self._sums.items() if k in live}
        self._made.clear()
        shown = "ALL shown · " if all_shown else ""
        self.border_title = Text(f"Servers ({len(self._sessions)}) · {shown}1-9 0 [ ]: switch")
        self._update(force=True)

    def server_changed(self, session: ServerSession | None = None) -> None:
        """A server's lists or status changed (``session``'s, else any): repaint only if a
        cell changed."""
        self._update(only=session)

    def rows(self) -> list[tuple[str, ...]]:
        """The cells of each row, as text (for tests)."""
        return [cells for cells, _style, _current in self._rows]

    def _update(self, force: bool = False, only: ServerSession | None = None) -> None:
        if only is not None and only in self._sessions and len(self._rows) == len(self._sessions):
            # One server's news: its row alone (a fleet's start is 20 of these in a row).
            index = self._sessions.index(only)
            new = list(self._rows)
            new[index] = self._row(index, only)
        else:
            new = [self._row(i, s) for i, s in enumerate(self._sessions)]
        if new == self._rows and not force:
            return
        old, self._rows = self._rows, new
        self._row_widths = {row: self._row_widths[row] for row in new}
        widths = (self._row_widths[row] for row in new)
        natural = tuple(map(max, zip(HEADER_WIDTHS, *widths, strict=True)))
        if force or len(new) != len(old) or natural != self._natural:
            self._natural = natural
            self._layout = None
            self._strips.clear()
            self.refresh(layout=len(new) != len(old))
            return
        # Only the lines that changed are drawn again (usually one: a server's RTT).
        width = self.size.width
        for index, (before, after) in enumerate(zip(old, new, strict=True)):
            if before != after:
                self.refresh(Region(0, index + 1, width, 1))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()  # drawn with the old colours

    def _row(self, index: int, session: ServerSession) -> Row:
        """A server's row, made again only when its status or lists changed (a poll with
        nothing new costs one comparison per server, not 20 rows of formatting)."""
        current = self._all_shown or session is self._current  # all shown: every row
        basis = (
            index,
            current,
            session.status,
            session.installed,
            session.running_models,
            session.disk_in_use(),  # the same object while neither the list nor weights change
        )
        cached = self._made.get(id(session))
        if cached is not None and all(a is b for a, b in zip(cached[0], basis, strict=True)):
            return cached[1]
        rtt = self._rtt_shown.get(id(session))
        new = session.status.rtt
        if rtt is None or new is None or abs(new - rtt) > max(RTT_STEADY * rtt, RTT_JITTER):
            rtt = self._rtt_shown[id(session)] = new
        cells, style = _cells(index, session, current, self._sums_of(session), rtt)
        row = (cells, style, current)
        self._made[id(session)] = (basis, row)
        # Shared (ratio) columns take the width left: their text never changes the layout.
        self._row_widths[row] = tuple(
            0 if ratio else cell_len(cell)
            for cell, (_header, _right, ratio) in zip(cells, COLUMNS, strict=True)
        )
        return row

    def _sums_of(self, session: ServerSession) -> tuple[int, int, DiskUsage]:
        """(RAM, VRAM, disk) of a server, summed again only when its lists (or what is known
        of its weights) changed."""
        key = id(session)
        cached = self._sums.get(key)
        disk, running = session.disk_in_use(), session.running_models
        if cached is not None and cached[0] is disk and cached[1] is running:
            return cached[2]
        ram, vram = memory_in_use(running)
        sums = (ram, vram, disk)
        self._sums[key] = (disk, running, sums)
        return sums

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._sessions) + 1

    def _column_widths(self, width: int) -> tuple[int, ...]:
        if self._layout is not None and self._layout[0] == width:
            return self._layout[1]
        widths = self._natural
        ratios = [ratio for _header, _right, ratio in COLUMNS]
        fixed = sum(w for w, r in zip(widths, ratios, strict=True) if not r) + len(COLUMNS) - 1
        left = max(0, width - fixed)
        total = sum(ratios)
        shared = [left * r // total if r else 0 for r in ratios]
        shared[ratios.index(max(ratios))] += left - sum(shared)  # the rounding
        layout = tuple(
            max(MIN_RATIO_WIDTH, shared[k]) if ratios[k] else widths[k] for k in range(len(COLUMNS))
        )
        self._layout = (width, layout)
        return layout

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        widths = self._column_widths(width)
        if widths != self._widths:
            self._widths = widths
            self._strips.clear()
        if y == 0:
            key: object = ("header", width)
            header = [(name, right, "bold") for name, right, _ratio in COLUMNS]
            return self._strip(y, key, header, widths, width)
        if y - 1 >= len(self._rows):
            return Strip.blank(width, self.rich_style)
        cells, state_style, current = self._rows[y - 1]
        key = (self._rows[y - 1], width)
        extra = "bold" if current else ""
        parts = [
            (cell, right, f"{state_style} {extra}" if k == 2 else extra)
            for k, (cell, (_h, right, _r)) in enumerate(zip(cells, COLUMNS, strict=True))
        ]
        return self._strip(y, key, parts, widths, width)

    def _strip(
        self,
        y: int,
        key: object,
        parts: Sequence[tuple[str, bool, str]],
        widths: Sequence[int],
        width: int,
    ) -> Strip:
        cached = self._strips.get(y)
        if cached is not None and cached[0] == key:
            return cached[1]
        line = Text(no_wrap=True, end="")
        for k, ((cell, right, style), column) in enumerate(zip(parts, widths, strict=True)):
            text = Text(cell, style=style.strip(), no_wrap=True, end="")
            text.truncate(column, overflow="ellipsis")
            pad = " " * (column - text.cell_len)
            if right:
                line.append(pad)
                line.append_text(text)
            else:
                line.append_text(text)
                line.append(pad)
            if k < len(parts) - 1:
                line.append(" ")
        segments = list(line.render(self.app.console))
        strip = Strip(segments).crop_extend(0, width, None).apply_style(self.rich_style)
        self._strips[y] = (key, strip)
        return strip


def _cells(
    index: int,
    session: ServerSession,
    current: bool,
    sums: tuple[int, int, DiskUsage] | None = None,
    rtt_seconds: float | None = None,
) -> tuple[tuple[str, ...], str]:
    status = session.status
    if rtt_seconds is None:
        rtt_seconds = status.rtt
    known = status.answers or status.last_ok is not None
    state, style = server_state(session)
    running = session.running_models
    installed = session.installed
    if sums is None:
        ram, vram = memory_in_use(running)
        sums = (ram, vram, session.disk_in_use())
    ram, vram, disk = sums
    rtt = f"{rtt_seconds * 1000:.0f} ms" if rtt_seconds is not None else UNKNOWN
    cells = (
        f"{'▶' if current else ' '}{index + 1}",
        safe_line(session.label),
        state,
        safe_line(status.version) if status.version else UNKNOWN,
        # The lists are the last ones known; a round trip is only one while it answers.
        rtt if status.answers else UNKNOWN,
        str(len(running)) if known else UNKNOWN,
        human_bytes(ram) if known else UNKNOWN,
        human_bytes(vram) if known else UNKNOWN,
        str(len(installed)) if known else UNKNOWN,
        disk_figure(disk.total, disk.complete) if known else UNKNOWN,
    )
    return cells, style
