"""Toasts that cannot carry server text to the terminal raw.

Textual draws a notification's title as plain text, straight to the terminal, and its message
as markup unless told otherwise. Titles and messages are built from model names and server
errors all over the app, so the escaping happens here, once, for every toast: callers pass
raw text and never escape it themselves (the escaping is not idempotent).
"""

from __future__ import annotations

from typing import TypeVar

from textual.app import App
from textual.notifications import SeverityLevel

from ollama_tui.api.limits import MAX_TEXT_CHARS
from ollama_tui.formatting import safe_line, safe_text

__all__ = ["SafeNotifyApp"]

ReturnType = TypeVar("ReturnType")


class SafeNotifyApp(App[ReturnType]):
    """An App whose ``notify`` escapes the title and the message, and parses no markup by
    default (a caller passes ``markup=True`` only for text it wrote itself)."""

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        if len(message) > MAX_TEXT_CHARS:  # a toast is a few lines, never a document
            message = message[: MAX_TEXT_CHARS - 1] + "…"
        super().notify(
            safe_text(message),
            title=safe_line(title),
            severity=severity,
            timeout=timeout,
            markup=markup,
        )

    def action_help_quit(self) -> None:
        """Textual's ctrl+c hint, without the markup it relies on (notify is plain here)."""
        for key, active in self.active_bindings.items():
            if active.binding.action in ("quit", "app.quit"):
                self.notify(f"Press {key} to quit the app", title="Do you want to quit?")
                return
