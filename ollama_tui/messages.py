"""Messages children send up to the app (children talk to parents by messages).

Defined apart from the app and the screens so both can import them without importing each
other.
"""

from __future__ import annotations

from textual.message import Message

from ollama_tui.api import LocalModel, RunningModel
from ollama_tui.poller import Snapshot
from ollama_tui.session import ServerSession

__all__ = [
    "CopyToServersRequested",
    "DashboardReady",
    "DetailsRequested",
    "FreshnessCheckRequested",
    "PauseRequested",
    "ProbeRequested",
    "QuitRequested",
    "RefreshRequested",
    "ServerPicked",
    "SessionPolled",
    "UpdateOutdatedRequested",
    "WhereRequested",
]


class SessionPolled(Message):
    """A poll of ``session`` answered with ``snapshot`` (the app applies it to the session)."""

    def __init__(self, session: ServerSession, snapshot: Snapshot) -> None:
        super().__init__()
        self.session = session
        self.snapshot = snapshot


class RefreshRequested(Message):
    """Poll ``session`` now: something changed it (an operation, a finished job)."""

    def __init__(self, session: ServerSession) -> None:
        super().__init__()
        self.session = session


class PauseRequested(Message):
    """Pause (or resume) polling ``session``."""

    def __init__(self, session: ServerSession) -> None:
        super().__init__()
        self.session = session


class ServerPicked(Message):
    """Make server ``index`` (0-based) current, or (``index`` None) the one ``step`` away
    (the cycle goes through every server, then "all servers"); ``all_servers``: show every
    server's models merged."""

    def __init__(self, index: int | None, step: int = 0, *, all_servers: bool = False) -> None:
        super().__init__()
        self.index = index
        self.step = step
        self.all_servers = all_servers


class QuitRequested(Message):
    """Quit (asking first while jobs run)."""


class DetailsRequested(Message):
    """Show the details of ``model``, on ``session``'s server."""

    def __init__(self, model: LocalModel | RunningModel, session: ServerSession) -> None:
        super().__init__()
        self.model = model
        self.session = session


class DashboardReady(Message):
    """The dashboard is mounted: its tables can take the first polls."""


class CopyToServersRequested(Message):
    """Copy ``model`` from ``session``'s server to other servers: the app opens the copy dialog,
    with ``targets`` (other sessions) chosen already when given."""

    def __init__(
        self,
        model: LocalModel,
        session: ServerSession,
        targets: tuple[ServerSession, ...] = (),
    ) -> None:
        super().__init__()
        self.model = model
        self.session = session
        self.targets = targets


class WhereRequested(Message):
    """Show where each model is across the servers (the matrix view)."""


ModelGroups = list[tuple[ServerSession, list[LocalModel]]]


class FreshnessCheckRequested(Message):
    """Check these models against their registries (each group: a server and its models);
    ``quiet``: a background check, that says something only when it finds an update."""

    def __init__(self, groups: ModelGroups, *, quiet: bool = False) -> None:
        super().__init__()
        self.groups = groups
        self.quiet = quiet


class UpdateOutdatedRequested(Message):
    """Re-pull these outdated models (each group: a server and its models), after a
    confirmation that names them."""

    def __init__(self, groups: ModelGroups) -> None:
        super().__init__()
        self.groups = groups


class ProbeRequested(Message):
    """Probe the speed of the model ``name`` on every server that has it (after a
    confirmation), then compare."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
