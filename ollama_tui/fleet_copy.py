"""Copying a model from one server to others: what can be copied how, and the jobs that do it.

The Ollama API moves models only between a server and a registry: a server pulls from a
registry and pushes to one, and `/api/blobs` takes bytes that the *client* uploads from its
own disk. No request tells a server to fetch a model (or a blob) from another Ollama server,
and no request downloads a blob from a server. So, per target server:

- a model with a registry name (pulled, not made here) is pulled by that name on the target;
- a model created here `FROM` a base (plus SYSTEM, PARAMETER, TEMPLATE, MESSAGE...) is
  re-created on the target with `/api/create` from the same base, pulled there first as its
  own job when the target lacks it;
- weights that exist only on the source's disk (a model made from a local GGUF, an adapter,
  weights quantized here) cannot be copied: this app could only upload blobs it has on its
  own disk, and the source's blob is not one of them;
- the same name with the same digest on the target: nothing to do.

The API does not record where a model came from: a model without a base (``parent_model``)
is a registry model unless its registry says it has no such name (``registry.py``; asked
from this machine). When the registry cannot be asked, it is planned as a pull; if it was in
fact made here from a local file, that pull fails and the job says what that means.

UI-free: the planner is a pure function; :func:`submit_plan` queues the jobs.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from ollama_tui.api.errors import OllamaError
from ollama_tui.api.models import LocalModel, ModelShow
from ollama_tui.api.names import names_equal
from ollama_tui.disk import weights_digest
from ollama_tui.freshness import is_insecure
from ollama_tui.jobs import Job, JobQueue, JobServer
from ollama_tui.modelfile import Message, Modelfile, render
from ollama_tui.registry import CheckResult, Freshness
from ollama_tui.session import ServerSession

__all__ = [
    "CopyKind",
    "CopyPlan",
    "SourceModel",
    "check_copy",
    "plan_copy",
    "plan_for_server",
    "read_source",
    "submit_plan",
]

WHY_NOT_BLOBS = (
    "the API has no request that makes one server fetch a blob from another, "
    "and /api/blobs only takes files this app has on its own disk (with the file here, "
    "n on that server creates the model from it)"
)


class CopyKind(StrEnum):
    PULL = "pull"
    RECREATE = "recreate"
    PRESENT = "present"
    CANNOT = "cannot"


@dataclass(frozen=True)
class SourceModel:
    """The model to copy, as its server (and its registry) describe it.

    ``base_model``/``base_show``: its base on the source server (None: the source lacks it).
    """

    model: LocalModel
    show: ModelShow
    base_model: LocalModel | None = None
    base_show: ModelShow | None = None
    registry: Freshness | None = None
    """What the model's registry says of it (None: not asked; only for a model without a
    base): ``local`` means it has no such name, so the model was made on the source."""
    base_registry: Freshness | None = None
    """The same for the base, when the target may have to pull it."""

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def parent(self) -> str:
        return self.model.details.parent_model or self.show.details.parent_model


@dataclass(frozen=True)
class CopyPlan:
    """What copying to one target does: a pull, a re-create (after pulling its base), nothing,
    or nothing because it cannot be done (``reason`` says why)."""

    kind: CopyKind
    model: str
    base: str = ""
    pull_base: bool = False
    modelfile: str = ""
    reason: str = ""
    note: str = ""

    @property
    def text(self) -> str:
        """The plan in words, for the dialog."""
        if self.kind is CopyKind.PULL:
            out = f"pull {self.model}"
        elif self.kind is CopyKind.RECREATE:
            out = f"re-create from {self.base}"
            if self.pull_base:
                out += " (pull the base first)"
        elif self.kind is CopyKind.PRESENT:
            return "already there (same digest)"
        else:
            return f"cannot copy: {self.reason}"
        return f"{out}; {self.note}" if self.note else out

    @property
    def actionable(self) -> bool:
        return self.kind in (CopyKind.PULL, CopyKind.RECREATE)


def _has_adapter(show: ModelShow) -> bool:
    return any(line[:8].upper() == "ADAPTER " for line in show.modelfile.splitlines())


def _find(models: Sequence[LocalModel], name: str) -> LocalModel | None:
    return next((m for m in models if names_equal(m.name, name)), None)


def recreate_modelfile(source: SourceModel) -> str:
    """The Modelfile that re-creates ``source`` from its base; ValueError if it cannot say
    everything the model has (e.g. a system prompt with a control character)."""
    show, base_show = source.show, source.base_show
    license_: tuple[str, ...] = ()
    if base_show is not None and show.license and show.license != base_show.license:
        license_ = (show.license,)
    mf = Modelfile(
        from_=source.parent,
        template=show.template or None,
        system=show.system or None,
        license=license_,
        # All of them, also those inherited: create merges them over the base's, so the
        # result is exact even where the target's base has other defaults.
        parameters=tuple(show.parameters_dict.items()),
        messages=tuple(Message(m.role, m.content) for m in show.messages),
    )
    return render(mf)


def plan_copy(
    source: SourceModel,
    target_installed: Sequence[LocalModel],
    source_label: str = "the source server",
) -> CopyPlan:
    """The plan for copying ``source`` to a server whose installed models are
    ``target_installed`` (its last poll)."""
    name = source.name
    there = _find(target_installed, name)
    if there is not None and there.digest and there.digest == source.model.digest:
        return CopyPlan(CopyKind.PRESENT, name)
    note = "replaces the different copy there" if there is not None else ""
    disk = f"{source_label}'s disk"
    parent = source.parent
    if not parent or source.model.is_remote:
        if source.registry is Freshness.LOCAL and not source.model.is_remote:
            return CopyPlan(
                CopyKind.CANNOT,
                name,
                reason=(
                    f"its registry has no {name}: it was made on {source_label} (from a "
                    f"local file, e.g. a GGUF), so its weights exist only on {disk}; "
                    f"{WHY_NOT_BLOBS}"
                ),
            )
        if source.registry is Freshness.OUTDATED:
            newer = f"the registry's {name} is not the one on {source_label}"
            note = f"{note}; {newer}" if note else newer
        return CopyPlan(CopyKind.PULL, name, note=note)
    if _has_adapter(source.show):
        # A pulled model's adapter comes with it; one added here is a file on the source.
        return CopyPlan(
            CopyKind.CANNOT,
            name,
            reason=f"its adapter is a file on {disk}; {WHY_NOT_BLOBS}",
        )
    base_here = source.base_model
    if base_here is not None and base_here.details.parent_model:
        base_there = _find(target_installed, parent)
        if base_there is None or base_there.digest != base_here.digest:
            return CopyPlan(
                CopyKind.CANNOT,
                name,
                reason=(
                    f"its base {parent} was itself made on {source_label}; copy {parent} "
                    "first, then this model"
                ),
            )
    if source.base_show is not None:
        mine = weights_digest(source.show.modelfile)
        theirs = weights_digest(source.base_show.modelfile)
        if mine is not None and theirs is not None and mine != theirs:
            return CopyPlan(
                CopyKind.CANNOT,
                name,
                reason=(
                    f"its weights are not those of its base {parent} (quantized or built "
                    f"from a file on {disk}); {WHY_NOT_BLOBS}"
                ),
            )
    try:
        modelfile = recreate_modelfile(source)
    except ValueError as error:
        return CopyPlan(CopyKind.CANNOT, name, reason=f"its Modelfile cannot be rebuilt: {error}")
    base_there = _find(target_installed, parent)
    if base_there is None and source.base_registry is Freshness.LOCAL:
        return CopyPlan(
            CopyKind.CANNOT,
            name,
            reason=(
                f"its base {parent} is not in its registry: it exists only on {disk}; "
                f"{WHY_NOT_BLOBS}"
            ),
        )
    if base_there is None and source.base_registry is Freshness.OUTDATED:
        newer = f"the registry's {parent} is not the one on {source_label}"
        note = f"{note}; {newer}" if note else newer
    if (
        base_there is not None
        and base_here is not None
        and base_there.digest
        and base_there.digest != base_here.digest
    ):
        differs = f"{parent} there differs from the one on {source_label}"
        note = f"{note}; {differs}" if note else differs
    return CopyPlan(
        CopyKind.RECREATE,
        name,
        base=parent,
        pull_base=base_there is None,
        modelfile=modelfile,
        note=note,
    )


def submit_plan(
    jobs: JobQueue,
    plan: CopyPlan,
    target: JobServer,
    source_label: str = "",
    *,
    insecure_registries: Collection[str] = (),
) -> list[Job]:
    """Queue the jobs of ``plan`` on ``target``: a pull, or a re-create that waits for the pull
    of its base (and does not run if that fails). Nothing for the other kinds. A pull from a
    registry in ``insecure_registries`` goes with Ollama's insecure flag (http)."""

    def pull(name: str) -> Job:
        insecure = is_insecure(name, insecure_registries)
        return jobs.submit_pull(name, insecure=insecure, server=target, copied_from=source_label)

    if plan.kind is CopyKind.PULL:
        return [pull(plan.model)]
    if plan.kind is not CopyKind.RECREATE:
        return []
    out: list[Job] = []
    after = None
    if plan.pull_base:
        after = pull(plan.base)
        out.append(after)
    out.append(
        jobs.submit_create(
            plan.model, plan.modelfile, from_model=plan.base, server=target, after=after
        )
    )
    return out


class ShowClient(Protocol):
    async def show(self, name: str) -> ModelShow: ...


class CheckClient(ShowClient, Protocol):
    async def list_models(self) -> list[LocalModel]: ...


class RegistryCheck(Protocol):
    """``RegistryChecker.check``: never raises for what a registry or the network does."""

    async def check(self, name: str, local_digest: str) -> CheckResult: ...


async def read_source(
    client: ShowClient,
    model: LocalModel,
    installed: Sequence[LocalModel],
    registry: RegistryCheck | None = None,
) -> SourceModel:
    """Ask the source server about ``model`` and, when it has it, its base (raises OllamaError
    when the model itself cannot be read; the base is optional); with ``registry``, ask the
    registry whether it has the model (no base) or the base (by their digests here)."""
    show = await client.show(model.name)
    source = SourceModel(model, show)
    parent = source.parent
    if not parent or model.is_remote:
        if registry is None or model.is_remote:
            return source
        answer = await registry.check(model.name, model.digest)
        return SourceModel(model, show, registry=answer.state)
    base = _find(installed, parent)
    base_show = None
    if base is not None:
        try:
            base_show = await client.show(base.name)
        except OllamaError:
            base = None  # deleted since the last poll: planned as a registry base
    base_registry = None
    if registry is not None and base is None:
        # Not here to compare digests with: only whether the registry has the name at all.
        if (await registry.check(parent, "")).state is Freshness.LOCAL:
            base_registry = Freshness.LOCAL
    elif registry is not None and base is not None and not base.details.parent_model:
        base_registry = (await registry.check(base.name, base.digest)).state
    return SourceModel(model, show, base, base_show, base_registry=base_registry)


def plan_for_server(source: SourceModel, target: ServerSession, source_label: str) -> CopyPlan:
    """:func:`plan_copy` for a session, from its last poll; a server that does not answer gets
    no plan (its list of models is not known)."""
    status = target.status
    if status.state != "connected" or target.paused:
        why = "its polling is paused" if target.paused else "it does not answer"
        if status.reason and not target.paused:
            why += f" ({status.reason})"
        return CopyPlan(CopyKind.CANNOT, source.name, reason=f"{why}, so what it has is not known")
    return plan_copy(source, target.installed, source_label)


async def check_copy(
    plan: CopyPlan, source: SourceModel, target: CheckClient, source_label: str, target_label: str
) -> str:
    """After the jobs of ``plan`` succeeded: "" when the model on the target is the source's,
    else what differs, in words. A pull must give the same digest (else the registry's copy
    has changed since the source pulled it); a re-create must give the same system prompt,
    template, parameters and messages (its digest may differ with the server's version), on
    a base with the source's digest.
    Raises OllamaError when the target cannot be asked."""
    name = source.name
    if plan.kind is CopyKind.PULL:
        models = await target.list_models()
        there = _find(models, name)
        if there is None:
            return f"{name} is not on {target_label} after the pull"
        if there.digest != source.model.digest:
            return (
                f"{name} on {target_label} is not the one on {source_label} "
                f"({there.digest[:12]} vs {source.model.digest[:12]}): the registry's copy has "
                f"changed since {source_label} pulled it"
            )
        return ""
    if plan.kind is not CopyKind.RECREATE:
        return ""
    mine, theirs = source.show, await target.show(name)
    parts = [
        what
        for what, a, b in (
            ("system prompt", mine.system, theirs.system),
            ("template", mine.template, theirs.template),
            ("parameters", dict(mine.parameters_dict), dict(theirs.parameters_dict)),
            ("messages", mine.messages, theirs.messages),
        )
        if a != b
    ]
    out = ""
    if parts:
        out = f"{name} on {target_label} differs from {source_label} in its " + ", ".join(parts)
    base_here = source.base_model
    if base_here is not None and base_here.digest:
        base_there = _find(await target.list_models(), source.parent)
        if base_there is not None and base_there.digest != base_here.digest:
            weights = (
                f"its base {source.parent} on {target_label} is not the one on {source_label}, "
                "so its weights differ"
            )
            out = f"{out}; {weights}" if out else f"{name}: {weights}"
    return out
