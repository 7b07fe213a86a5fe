"""Whether one server answers: the one place every request's outcome is recorded.

The app's client reports to it (``OllamaClient.observer``), and so do the app's polls. The
status line subscribes to it, and jobs cut by a lost connection wait on it: when any request
succeeds, everybody learns at once that the server is back.

Pure asyncio (no Textual): one per server, so it can move into a per-server session object.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

__all__ = ["Reachability", "ReachabilityListener"]

log = logging.getLogger(__name__)

ReachabilityListener = Callable[[bool], None]
"""Called with the new value when the server turns reachable (True) or unreachable (False)."""


class Reachability:
    """The last word on one server: it answered, or it could not be reached.

    Call it from the event loop that uses it (listeners and waiters run there).
    """

    def __init__(self) -> None:
        self.reachable: bool | None = None
        """None until a request has ended; then whether the latest one reached the server."""
        self.reason = ""
        """Why the server is unreachable ("" while reachable)."""
        self.answers = 0
        """How many answers were seen so far: ``wait_answer(after=...)`` counts on it."""
        self._listeners: list[ReachabilityListener] = []
        self._answer: asyncio.Event | None = None  # made when someone waits

    # -- reports (``ollama_tui.api.client.ContactObserver``) -----------------------------------

    def answered(self) -> None:
        """A request got an answer: the server is reachable."""
        self.answers += 1
        event = self._answer
        if event is not None:
            self._answer = None
            event.set()
        if self.reachable is not True:
            self.reachable = True
            self.reason = ""
            self._notify(True)

    def lost(self, reason: str) -> None:
        """A request could not reach the server, or its connection dropped."""
        self.reason = reason
        if self.reachable is not False:
            self.reachable = False
            self._notify(False)

    # -- observers ------------------------------------------------------------------------------

    def subscribe(self, listener: ReachabilityListener) -> Callable[[], None]:
        """Call ``listener`` on every change; returns a function that unsubscribes it."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    async def wait_answer(self, *, after: int) -> None:
        """Return once more than ``after`` answers were seen (``after`` = ``answers`` then)."""
        while self.answers <= after:
            if self._answer is None:
                self._answer = asyncio.Event()
            await self._answer.wait()

    def _notify(self, reachable: bool) -> None:
        for listener in list(self._listeners):
            # One broken listener must not keep the news from the others (or the request).
            try:
                listener(reachable)
            except Exception:
                log.exception("reachability listener %r failed", listener)
