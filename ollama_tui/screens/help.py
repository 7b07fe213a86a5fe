"""The `?` overlay, generated from the live bindings of the screen it was opened on.

Nothing here is hand-written: keys come from the active bindings (after the user's keymap), and
only actions that apply right now (``check_action``) are listed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

if TYPE_CHECKING:
    from textual.binding import ActiveBinding
    from textual.dom import DOMNode

__all__ = [
    "BindingCommands",
    "HelpEntry",
    "HelpScreen",
    "collect_help",
    "help_binding",
    "known_binding_ids",
]

HelpEntry = tuple[str, str, str, bool]  # (section, keys, description, enabled)


def help_binding(scope: str) -> Binding:
    """``?`` on a modal view (jobs, where, a comparison): a modal screen does not pass keys on
    to the app's bindings, so each view that has no text field to type ``?`` in binds it."""
    return Binding("question_mark", "app.help", "Help", id=f"{scope}.help", show=False)


def _section(node: DOMNode) -> str:
    """A readable group name for the node that owns a binding."""
    from textual.app import App
    from textual.screen import Screen

    if isinstance(node, App):
        return "Global"
    if isinstance(node, Screen):
        return getattr(node, "HELP_SECTION", "Screen")
    return getattr(node, "HELP_SECTION", type(node).__name__)


def known_binding_ids() -> set[str]:
    """Ids of every Binding declared by this package's app, screens and widgets."""
    import importlib
    import pkgutil

    import ollama_tui.screens
    import ollama_tui.widgets

    for package in (ollama_tui.screens, ollama_tui.widgets):
        for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            with contextlib.suppress(Exception):
                importlib.import_module(info.name)
    for module in ("ollama_tui.app", "ollama_tui.operations"):
        with contextlib.suppress(Exception):
            importlib.import_module(module)
    from textual.dom import DOMNode

    ids: set[str] = set()
    pending: list[type] = [DOMNode]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if not cls.__module__.startswith("ollama_tui"):
            continue
        for binding in cls.__dict__.get("BINDINGS", []):
            if isinstance(binding, Binding) and binding.id:
                ids.add(binding.id)
    return ids


def _is_app(node: DOMNode) -> bool:
    from textual.app import App

    return isinstance(node, App)


def collect_help(
    app_key_display: object,
    bindings: Mapping[str, ActiveBinding],
    palette_key: str | None = None,
) -> list[HelpEntry]:
    """Group active bindings by (section, action): "up, k  Up"."""
    get_display = app_key_display
    grouped: dict[tuple[str, str, str], list[str]] = {}
    enabled_of: dict[tuple[str, str, str], bool] = {}
    for _key, active in bindings.items():
        binding = active.binding
        if not binding.description or binding.system:
            continue
        # Ours all have ids; Textual's generic ones (focus previous, page left...) are noise.
        if binding.id is None and not _is_app(active.node):
            continue
        section = _section(active.node)
        # Actions that differ only by argument and share a description are one entry
        # ("1, 2, 3  Show server 1-9").
        group_key = (section, binding.action.split("(")[0], binding.description)
        display = get_display(binding)  # type: ignore[operator]
        keys = grouped.setdefault(group_key, [])
        if display not in keys:
            keys.append(display)
        enabled_of[group_key] = enabled_of.get(group_key, False) or active.enabled
    entries = [
        (section, ", ".join(keys), description, enabled_of[(section, action, description)])
        for (section, action, description), keys in grouped.items()
    ]
    if palette_key and not any(e[2].lower() == "palette" for e in entries):
        entries.append(("Global", palette_key, "Command palette", True))
    return entries


class HelpScreen(ModalScreen[None]):
    """Keys of the current context, grouped by where they apply."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close help", id="help-close"),
    ]

    def __init__(self, entries: list[HelpEntry], title: str = "Keys") -> None:
        super().__init__(classes="help-screen")
        self.entries = entries
        self.title_text = title

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Static(id="help-text", markup=False)

    def on_mount(self) -> None:
        body = self.query_one("#help-body")
        room = self.app.size.width
        if body.styles.max_width is not None:  # the stylesheet's limit (a share of the screen)
            room = min(room, int(body.styles.max_width.resolve(self.app.size, self.app.size)))
        wide = self.app.size.width >= 110 and len(self.entries) > 12
        table = self._render_entries(2 if wide else 1)
        # Auto width does not measure a Rich table inside a scroll container: measure it here,
        # unbounded (the console's own width is not the screen's).
        console = self.app.console
        unbounded = console.options.update_width(10_000)
        width = console.measure(table, options=unbounded).maximum
        if wide and width + 8 > room:
            # Two columns would not fit: Rich would cut the keys ("pg…"); one column scrolls.
            table = self._render_entries(1)
            width = console.measure(table, options=unbounded).maximum
        self.query_one("#help-text", Static).update(table)
        body.styles.width = width + 8  # border, padding and the scrollbar
        body.border_title = self.title_text
        body.border_subtitle = "esc: close"

    def _render_entries(self, columns: int) -> Table:
        """Sections in one column, or two side by side (a wide terminal)."""
        order: list[str] = []
        by_section: dict[str, list[HelpEntry]] = {}
        for entry in self.entries:
            if entry[0] not in by_section:
                order.append(entry[0])
            by_section.setdefault(entry[0], []).append(entry)
        halves: list[list[str]] = [[] for _ in range(columns)]
        lines = [0] * columns
        for section in order:
            target = lines.index(min(lines)) if columns > 1 else 0
            halves[target].append(section)
            lines[target] += len(by_section[section]) + 2
        outer = Table.grid(padding=(0, 4))
        outer.add_row(*(self._section_table(half, by_section) for half in halves))
        return outer

    @staticmethod
    def _section_table(sections: list[str], by_section: dict[str, list[HelpEntry]]) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(justify="right", no_wrap=True)
        table.add_column(no_wrap=True)
        for index, section in enumerate(sections):
            if index:
                table.add_row("", "")
            table.add_row(Text(""), Text(section, style="bold underline"))
            for _section, keys, description, enabled in by_section[section]:
                style = "bold" if enabled else "dim"
                table.add_row(Text(keys, style=f"{style} cyan"), Text(description, style=style))
        return table

    def action_close(self) -> None:
        self.dismiss()


class BindingCommands(Provider):
    """Command palette: every action of the current context, named by its binding."""

    def _commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        app = self.app
        found: dict[tuple[int, str], tuple[str, list[str], Callable[[], Any]]] = {}
        for active in self.screen.active_bindings.values():
            binding = active.binding
            if not binding.description or binding.system or not active.enabled:
                continue
            ident = (id(active.node), binding.action)
            if ident not in found:
                callback = partial(app.run_action, binding.action, active.node)
                found[ident] = (binding.description, [], callback)
            found[ident][1].append(app.get_key_display(binding))
        return [(desc, ", ".join(keys), callback) for desc, keys, callback in found.values()]

    async def discover(self) -> Hits:
        for description, keys, callback in self._commands():
            yield DiscoveryHit(description, callback, help=f"key: {keys}")

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for description, keys, callback in self._commands():
            score = matcher.match(description)
            if score > 0:
                yield Hit(score, matcher.highlight(description), callback, help=f"key: {keys}")
