"""Delete confirmation: names every target with its size and the space it really frees (weights
shared with models that stay are not freed: the dialog names those models)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from rich.text import Text

from ollama_tui.api.models import LocalModel
from ollama_tui.disk import Freed
from ollama_tui.formatting import human_bytes, listed, safe_line
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
        freed: Freed | None = None,
    ) -> None:
        """`fetching`: the running pull (or create) of a target, by model name; it would
        bring the model back, so confirming cancels it first. `server`: the server's name,
        given when there are several (the title names it). `servers`: each model's server, when
        they are on several (each line and the title say so). `freed`: what deleting them
        together frees (``ollama_tui.disk.deleting_frees``); without it, "up to" their sizes."""
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
        count = len(models)
        on = f" on {server}" if server else ""  # the title is escaped by ConfirmScreen
        if servers is not None:
            on = f" on {len(set(servers))} servers"
        title = f"Delete {count} models{on}?" if count > 1 else f"Delete this model{on}?"
        note = Text(f"{freed_sentence(models, freed)} This cannot be undone.")
        super().__init__(
            title, items, note=note, confirm_label="Delete", danger=True, id="delete-dialog"
        )


def freed_sentence(models: Sequence[LocalModel], freed: Freed | None) -> str:
    """ "Frees 4 KB — the weights stay, shared with llama3.2:latest." and the like."""
    if freed is None or not freed.exact:
        sizes = [model.size for model in models]
        if freed is None and None in sizes:
            return "Frees an unknown amount of disk space."
        # Not every model's weights are known yet: some may be shared, hence "up to".
        if freed is None:
            return f"Frees up to {human_bytes(sum(size or 0 for size in sizes))} of disk space."
        sentence = f"Frees up to {human_bytes(freed.size)} of disk space"
        if not freed.kept_by:
            return sentence + " (which models share weights is not known yet)."
    elif freed.size == 0 and freed.kept_by:
        sentence = "Frees almost nothing"
    else:
        sentence = f"Frees {human_bytes(freed.size)} of disk space"
    if not freed.kept_by:
        return sentence + "."
    stay = "the weights stay" if len(models) == 1 else "shared weights stay"
    return f"{sentence} — {stay}, shared with {listed(freed.kept_by)}."
