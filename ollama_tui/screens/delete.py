"""Delete confirmation: names every target with its size and the space it frees."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from rich.text import Text

from ollama_tui.api.models import LocalModel
from ollama_tui.formatting import human_bytes, safe_line
from ollama_tui.jobs import Job, JobState
from ollama_tui.screens.confirm import ConfirmScreen


class DeleteScreen(ConfirmScreen):
    """Cancel is focused (Enter alone never deletes); `y` deletes."""

    def __init__(
        self,
        models: Sequence[LocalModel],
        loaded: Collection[str] = (),
        fetching: Mapping[str, Job] | None = None,
        *,
        server: str | None = None,
        servers: Sequence[str] | None = None,
    ) -> None:
        """`fetching`: the running pull (or create) of a target, by model name; it would
        bring the model back, so confirming cancels it first. `server`: the server's name,
        given when there are several (the title names it). `servers`: each model's server, when
        they are on several (each line and the title say so)."""
        fetching = fetching or {}
        items: list[Text] = []
        for index, model in enumerate(models):
            line = Text("• ")
            line.append(safe_line(model.name), style="bold")
            if servers is not None:
                line.append(f" on {safe_line(servers[index])}")
            line.append(f"  {human_bytes(model.size)}")
            if model.name in loaded:
                line.append("  (loaded — unloaded first)", style="yellow")
            job = fetching.get(model.name)
            if job is not None:
                doing = {JobState.RUNNING: "is running", JobState.WAITING: "is waiting"}.get(
                    job.state, "is queued"
                )
                line.append(
                    f"\n  a {job.kind} of {safe_line(job.model)} {doing} and would bring it "
                    f"back — job #{job.id} is cancelled first",
                    style="yellow",
                )
            items.append(line)
        sizes = [model.size for model in models]
        total = None if None in sizes else sum(size or 0 for size in sizes)
        count = len(models)
        on = f" on {server}" if server else ""  # the title is escaped by ConfirmScreen
        if servers is not None:
            on = f" on {len(set(servers))} servers"
        title = f"Delete {count} models{on}?" if count > 1 else f"Delete this model{on}?"
        # Layers shared with other models (copies, derived models) stay: hence "up to".
        freed = "an unknown amount" if total is None else f"up to {human_bytes(total)}"
        note = Text(f"Frees {freed} of disk space. This cannot be undone.")
        super().__init__(
            title, items, note=note, confirm_label="Delete", danger=True, id="delete-dialog"
        )
