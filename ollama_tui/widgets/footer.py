"""Textual's Footer, without its leak of dead key widgets."""

from __future__ import annotations

from textual.widgets import Footer as TextualFooter

__all__ = ["Footer"]


class Footer(TextualFooter):
    """Textual 8.2's Footer binds ``compact`` into every FooterKey it composes and drops those
    watchers only when ``compact`` changes, so each rebuild (every bindings change) keeps the
    old keys alive: megabytes an hour on a dashboard left open. Drop them after each rebuild.
    """

    async def recompose(self) -> None:
        await super().recompose()
        watchers: dict[str, list[tuple[object, object]]] = getattr(self, "__watchers", {})
        for callbacks in watchers.values():
            callbacks[:] = [
                (node, callback)
                for node, callback in callbacks
                if getattr(node, "is_attached", True) and not getattr(node, "_closing", False)
            ]
