"""Rename = copy, verify, delete: the source is removed only once its copy is proven.

The server has no rename. A copy that failed, was cancelled, or cannot be found afterwards
with the source's digest leaves the source untouched; a failed delete leaves both.
(The dialog is the copy dialog with a fixed source: `CopyScreen(..., rename=True)`.)
"""

from __future__ import annotations

from typing import Protocol

from ollama_tui.api.errors import OllamaError
from ollama_tui.api.models import LocalModel
from ollama_tui.api.names import names_equal


class RenameClient(Protocol):
    async def list_models(self) -> list[LocalModel]: ...
    async def copy(self, source: str, destination: str) -> None: ...
    async def delete(self, name: str) -> None: ...


class RenameFailed(Exception):
    """A rename step failed; the message says which and that the source is kept."""


def _find(models: list[LocalModel], name: str) -> LocalModel | None:
    return next((m for m in models if names_equal(m.name, name)), None)


async def rename_model(client: RenameClient, source: str, destination: str) -> None:
    """Copy `source` to `destination`, check the copy's digest, then delete `source`."""
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
    try:
        await client.delete(source)
    except OllamaError as error:
        raise RenameFailed(
            f"copied to {destination}, but deleting {source} failed: {error} — both names exist now"
        ) from error
