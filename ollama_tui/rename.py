"""Rename = copy, verify, delete: the source is removed only once its copy is proven.

The server has no rename. A copy that failed, was cancelled, or cannot be found afterwards
with the source's digest leaves the source untouched; a failed delete leaves both.
A loaded source is unloaded before it is deleted (else it stays in memory under a name that
no longer exists and cannot be unloaded). UI-free: the dialog is ``screens/rename.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ollama_tui.api.errors import OllamaError
from ollama_tui.api.models import LocalModel
from ollama_tui.api.names import names_equal

__all__ = ["RenameClient", "RenameFailed", "rename_model"]


class RenameClient(Protocol):
    async def list_models(self) -> list[LocalModel]: ...
    async def copy(self, source: str, destination: str) -> None: ...
    async def delete(self, name: str) -> None: ...
    async def unload(self, name: str, *, capabilities: Sequence[str] | None = None) -> None: ...


class RenameFailed(Exception):
    """A rename step failed; the message says which and that the source is kept."""


def _find(models: list[LocalModel], name: str) -> LocalModel | None:
    return next((m for m in models if names_equal(m.name, name)), None)


async def rename_model(
    client: RenameClient,
    source: str,
    destination: str,
    *,
    unload: str | None = None,
    capabilities: Sequence[str] | None = None,
) -> None:
    """Copy `source` to `destination`, check the copy's digest, then delete `source`.

    `unload`: the running model's name when the source is loaded; it is unloaded (with the
    model's `capabilities`, which choose the endpoint) after the check, before the delete.
    """
    if names_equal(source, destination):
        raise RenameFailed("the new name is the same model (names are case-insensitive)")
    try:
        before = _find(await client.list_models(), source)
    except OllamaError as error:
        raise RenameFailed(f"could not list models: {error} — nothing changed") from error
    if before is None:
        raise RenameFailed(f"{source} is not installed — nothing changed")
    try:
        await client.copy(source, destination)
    except OllamaError as error:
        raise RenameFailed(f"copy failed: {error} — {source} is unchanged") from error
    try:
        copied = _find(await client.list_models(), destination)
    except OllamaError as error:
        raise RenameFailed(f"could not verify the copy: {error} — {source} was kept") from error
    if copied is None or copied.digest != before.digest:
        raise RenameFailed(f"the copy {destination} does not match {source} — {source} was kept")
    if unload is not None:
        try:
            await client.unload(unload, capabilities=capabilities)
        except OllamaError as error:
            raise RenameFailed(
                f"copied to {destination}, but unloading {source} failed: {error} — "
                "both names exist now"
            ) from error
    try:
        await client.delete(source)
    except OllamaError as error:
        raise RenameFailed(
            f"copied to {destination}, but deleting {source} failed: {error} — both names exist now"
        ) from error
