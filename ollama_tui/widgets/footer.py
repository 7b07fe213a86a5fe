"""Textual's Footer, with the help key pinned to the right and without its leak of dead keys."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Footer as TextualFooter
from textual.widgets._footer import FooterKey

__all__ = ["Footer"]


class Footer(TextualFooter):
    """The keys that apply now; the ``pinned`` actions stay visible at the right edge.

    Textual lays the keys out left to right and clips what does not fit, so on an 80-column
    terminal the last one ("? Help", an app binding) fell off first. Pinned keys are docked
    right like Textual's own command-palette key, and the others are clipped instead.

    Textual 8.2's Footer also binds ``compact`` into every FooterKey it composes and drops those
    watchers only when ``compact`` changes, so each rebuild (every bindings change) keeps the
    old keys alive: megabytes an hour on a dashboard left open. They are dropped after each
    rebuild.
    """

    def __init__(self, *, pinned: Iterable[str] = ("help",), **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.pinned = frozenset(pinned)

    def compose(self) -> ComposeResult:
        keys: list[Widget] = list(super().compose())
        pinned = [w for w in keys if isinstance(w, FooterKey) and w.action in self.pinned]
        for key in pinned:
            key.add_class("-command-palette")  # Textual's style for a key docked right
        # Docked widgets go last, as Textual composes its own command-palette key.
        yield from (w for w in keys if w not in pinned)
        yield from pinned

    async def recompose(self) -> None:
        await super().recompose()
        watchers: dict[str, list[tuple[object, object]]] = getattr(self, "__watchers", {})
        for callbacks in watchers.values():
            callbacks[:] = [
                (node, callback)
                for node, callback in callbacks
                if getattr(node, "is_attached", True) and not getattr(node, "_closing", False)
            ]
