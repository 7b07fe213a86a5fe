"""A model's details from /api/show: overview, parameters, template, system, license, Modelfile.

Fetched in a worker the first time they are needed and cached by the app per (name, digest), so a
re-pulled model (new digest) is fetched again. Loading and errors are shown in the screen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import LoadingIndicator, Static, TabbedContent, TabPane

from ollama_tui.api import LocalModel, ModelShow, OllamaError, RunningModel
from ollama_tui.api.names import names_equal
from ollama_tui.disk import sharing_weights, weights_digest
from ollama_tui.formatting import (
    UNKNOWN,
    human_bytes,
    human_number,
    listed,
    relative_time,
    safe_line,
    safe_text,
)
from ollama_tui.freshness import freshness_words
from ollama_tui.widgets.footer import Footer
from ollama_tui.widgets.modelfile_view import ModelfileView

if TYPE_CHECKING:
    from textual.signal import Signal

    from ollama_tui.session import ServerSession

__all__ = ["DetailsScreen"]

TABS = ("overview", "modelfile", "template", "system", "license")
# A failed fetch is tried again after 2 s, then 4, 8 ... at most every 30 s.
RETRY_FIRST = 2.0
RETRY_MAX = 30.0


class DetailsScreen(Screen[None]):
    """Details of one model; `esc` goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Back", id="details-back"),
        Binding("r", "reload", "Reload", id="details-reload"),
        Binding("right_square_bracket", "next_tab", "Next tab", id="details-next-tab"),
        Binding("left_square_bracket", "previous_tab", "Previous tab", id="details-prev-tab"),
        Binding("1", "tab('overview')", "Overview", show=False, id="details-tab-overview"),
        Binding("2", "tab('modelfile')", "Modelfile", show=False, id="details-tab-modelfile"),
        Binding("3", "tab('template')", "Template", show=False, id="details-tab-template"),
        Binding("4", "tab('system')", "System", show=False, id="details-tab-system"),
        Binding("5", "tab('license')", "License", show=False, id="details-tab-license"),
    ]

    def __init__(
        self,
        model: LocalModel | RunningModel,
        session: ServerSession,
        *,
        clock: Callable[[], datetime] | None = None,
        probes_changed: Signal[object] | None = None,
    ) -> None:
        super().__init__(classes="details-screen")
        self._probes_changed = probes_changed
        self.model = model
        self.session = session
        """The server the model is on: its client and its cache of /api/show answers."""
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.show: ModelShow | None = None
        self.error: str | None = None
        self._retry: Timer | None = None
        self._retry_delay = RETRY_FIRST
        self._speed_shown: list[tuple[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="details-title", markup=False)
        yield LoadingIndicator(id="details-loading")
        yield Static("", id="details-error", markup=False)
        with TabbedContent(id="details-tabs", initial="overview"):
            with TabPane("Overview", id="overview"), VerticalScroll(id="details-overview"):
                yield Static("", id="details-info", markup=False)
            with TabPane("Modelfile", id="modelfile"):
                yield ModelfileView("", id="details-modelfile")
            with TabPane("Template", id="template"):
                yield ModelfileView("", highlight=False, id="details-template")
            with TabPane("System", id="system"):
                yield ModelfileView("", highlight=False, id="details-system")
            with TabPane("License", id="license"):
                yield ModelfileView("", highlight=False, id="details-license")
        yield Footer(compact=True)

    def _title(self) -> Text:
        text = Text(" ")
        text.append(safe_line(self.model.name), style="bold")
        text.append(f"  {safe_line(self.model.short_id)}", style="dim")
        return text

    def on_mount(self) -> None:
        self.query_one("#details-tabs").display = False
        self.query_one("#details-error").display = False
        if self._probes_changed is not None:
            self._probes_changed.subscribe(self, self._probe_kept)
        cached = self.session.show_cache.get(self._cache_key())
        if cached is not None:
            self._show(cached)
        else:
            self._fetch()

    def _cache_key(self) -> tuple[str, str]:
        return (self.model.name, self.model.digest)

    @work(exclusive=True, group="details", exit_on_error=False)
    async def _fetch(self) -> None:
        self._cancel_retry()
        self._set_state("loading")
        try:
            show = await self.session.client.show(self.model.name)
        except OllamaError as error:
            self._failed(str(error))
            return
        except Exception as error:  # never let a surprise from the server end the app
            self._failed(f"{type(error).__name__}: {error}")
            return
        self._retry_delay = RETRY_FIRST
        if self._show(show):
            self.session.show_cache[self._cache_key()] = show

    def _show(self, show: ModelShow) -> bool:
        """Fill the tabs; on any failure show it (never an endless spinner). True if shown."""
        try:
            self._fill(show)
        except Exception as error:  # whatever the server sent, the screen answers
            self.show = None
            self._failed(f"{type(error).__name__}: {error}", retry=False)
            return False
        return True

    def _failed(self, message: str, *, retry: bool = True) -> None:
        self.error = message
        error = self.query_one("#details-error", Static)
        if retry:
            # Try again by itself (backing off), so the details come back once the server does.
            delay = self._retry_delay
            self._retry_delay = min(delay * 2, RETRY_MAX)
            self._retry = self.set_timer(delay, self._fetch, name="details-retry")
            text = Text("Could not load the details: ", style="bold red")
            hint = f"\nretrying in {delay:g} s   r: try again now   esc: back"
        else:
            # The same answer would fail the same way: wait for the user's `r`.
            text = Text("Could not show the details: ", style="bold red")
            hint = "\nr: try again   esc: back"
        text.append(safe_line(message))
        text.append(hint, style="dim")
        error.update(text)
        self._set_state("error")

    def _cancel_retry(self) -> None:
        if self._retry is not None:
            self._retry.stop()
            self._retry = None

    def _set_state(self, state: str) -> None:
        self.query_one("#details-loading").display = state == "loading"
        self.query_one("#details-error").display = state == "error"
        self.query_one("#details-tabs").display = state == "ready"

    def _fill(self, show: ModelShow) -> None:
        self.show = show
        self.error = None
        self.query_one("#details-info", Static).update(self._overview(show))
        self.query_one("#details-modelfile", ModelfileView).load_text(safe_text(show.modelfile))
        self.query_one("#details-template", ModelfileView).load_text(
            safe_text(show.template) or "(no template)"
        )
        self.query_one("#details-system", ModelfileView).load_text(
            safe_text(show.system) or "(no system prompt)"
        )
        self.query_one("#details-license", ModelfileView).load_text(
            safe_text(show.license) or "(no license)"
        )
        self._set_state("ready")

    def _overview(self, show: ModelShow) -> Group:
        model = self.model
        details = show.details if show.details.family or show.details.format else model.details
        info = _kv_table()
        count = show.parameter_count or details.parameter_count
        rows: list[tuple[str, Any]] = [
            ("Name", model.name),
            ("ID", model.short_id),
            ("Architecture", show.architecture or details.family),
            ("Parameters", human_number(count) if count else details.parameter_size or UNKNOWN),
            ("Context length", _number(show.context_length)),
            ("Embedding length", _number(show.embedding_length)),
            ("Quantization", details.quantization_level),
            ("Format", details.format),
            ("Family", ", ".join(details.families) or details.family),
            ("Capabilities", ", ".join(show.capabilities)),
        ]
        if isinstance(model, LocalModel):
            rows.append(("Size", UNKNOWN if model.is_remote else human_bytes(model.size)))
            if model.modified_at is not None:
                rows.append(("Modified", relative_time(model.modified_at, self.clock())))
            if model.is_remote:
                rows.append(("Remote", f"{model.remote_model or ''} @ {model.remote_host or ''}"))
            if checked := self.session.freshness_of(model):  # `o` checks
                rows.append(("Update", freshness_words(checked)))
        rows += self._weights_rows(show, details.parent_model or model.details.parent_model)
        self._speed_shown = self._speed_rows()
        rows += self._speed_shown
        for label, value in rows:
            if value not in (None, ""):
                info.add_row(Text(label, style="bold"), Text(safe_line(value)))
        parts: list[Any] = [info]
        if show.parameters_dict:
            parts.append(Text("\nParameters", style="bold underline"))
            params = _kv_table()
            for key, value in show.parameters_dict.items():
                values: Iterable[Any] = value if isinstance(value, list) else [value]
                params.add_row(
                    Text(safe_line(key), style="bold"),
                    Text(", ".join(_param_repr(v) for v in values)),
                )
            parts.append(params)
        if show.system:
            parts.append(Text("\nSystem prompt", style="bold underline"))
            parts.append(Text(safe_text(show.system)))
        if show.messages:
            parts.append(Text(f"\nMessages ({len(show.messages)})", style="bold underline"))
            for message in show.messages:
                line = Text(f"{safe_line(message.role)}: ", style="bold")
                line.append(safe_line(message.content))
                parts.append(line)
        if show.license:
            first = safe_line(show.license.strip().splitlines()[0] if show.license.strip() else "")
            parts.append(Text("\nLicense", style="bold underline"))
            parts.append(Text(first[:200] + ("  (5: full text)" if first else "")))
        return Group(*parts)

    def _probe_kept(self, result: object) -> None:
        """A probe ended: the Speed row follows when it was this model on this server."""
        if self.show is not None and self._speed_rows() != self._speed_shown:
            self.query_one("#details-info", Static).update(self._overview(self.show))

    def _speed_rows(self) -> list[tuple[str, Any]]:
        """The last speed probe of this model on this server (`b` on the dashboard)."""
        from ollama_tui.speed import speed_words

        model = self.model
        if not isinstance(model, LocalModel):  # a running model: its installed entry
            installed = self.session.installed
            model = next((m for m in installed if names_equal(m.name, model.name)), None)
        if model is None or model.is_remote:
            return []
        result = self.session.probe_of(model)
        # No key to offer in read-only mode: probing loads a model.
        hint = not self.session.status.read_only
        return [("Speed", speed_words(result, self.clock(), hint=hint))]

    def _weights_rows(self, show: ModelShow, parent: str) -> list[tuple[str, Any]]:
        """Where the weights come from and who else uses them (copies, derived models)."""
        rows: list[tuple[str, Any]] = []
        installed = self.session.installed
        if parent:
            there = any(names_equal(parent, m.name) for m in installed)
            rows.append(("Derived from", parent + ("" if there else " (not installed)")))
        model = self.model
        if not isinstance(model, LocalModel):  # a running model: its installed entry
            model = next((m for m in installed if names_equal(m.name, model.name)), None)
        blob = weights_digest(show.modelfile)
        if blob is not None:
            rows.append(("Weights", f"sha256-{blob[:12]}"))
        if model is None or model.is_remote:
            return rows
        others, complete = sharing_weights(model, installed, self.session.weights.weights, blob)
        if others:
            more = "" if complete else " (maybe more: not every model's weights are known yet)"
            rows.append(("Shares weights with", listed(others, shown=5) + more))
        elif not complete:
            rows.append(("Shares weights with", "not known yet"))
        return rows

    # --- actions --------------------------------------------------------------------------------

    def action_close(self) -> None:
        self.dismiss()

    def action_reload(self) -> None:
        self.session.show_cache.pop(self._cache_key(), None)
        self._fetch()

    def action_tab(self, tab: str) -> None:
        if self.show is not None:
            self.query_one(TabbedContent).active = tab

    def _step_tab(self, step: int) -> None:
        tabs = self.query_one(TabbedContent)
        index = TABS.index(tabs.active) if tabs.active in TABS else 0
        self.action_tab(TABS[(index + step) % len(TABS)])

    def action_next_tab(self) -> None:
        self._step_tab(1)

    def action_previous_tab(self) -> None:
        self._step_tab(-1)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("tab", "next_tab", "previous_tab"):
            return self.show is not None
        return True


def _number(value: int | None) -> str:
    return UNKNOWN if value is None else str(value)


def _kv_table() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    return table


def _param_repr(value: object) -> str:
    if isinstance(value, str):
        return safe_line(f'"{value}"')
    if isinstance(value, bool):
        return "true" if value else "false"
    return safe_line(value)
