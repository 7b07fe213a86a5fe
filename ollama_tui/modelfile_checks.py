"""Checks of a Modelfile before it is sent: parse, look up its local paths, and say what the
server would do with them. Also the Modelfile a model's /api/show describes.

UI-free: the create editor calls these (file look-ups in a worker thread).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ollama_tui.api.models import ModelShow
from ollama_tui.api.names import names_equal, validate_model_name
from ollama_tui.formatting import human_bytes, safe_line
from ollama_tui.modelfile import (
    Instruction,
    Modelfile,
    ModelfileError,
    parse,
    quote_value,
    render,
)

__all__ = [
    "PathState",
    "Problem",
    "check_modelfile",
    "check_parsed",
    "from_line",
    "modelfile_from_show",
    "not_installed",
    "path_instructions",
    "probe_path",
    "resolve_path",
]

# A FROM value that is a path, not a model name: starts like one or ends in a weights suffix.
_PATHLIKE = re.compile(r"^(\.{1,2}[/\\]|[/\\~])|\.(gguf|safetensors|bin|pth)$", re.IGNORECASE)


def from_line(name: str) -> str:
    """`FROM <name>`, or (for a name no Modelfile can carry) a comment showing it safely."""
    try:
        return f"FROM {quote_value(name, 'FROM')}"
    except ValueError as error:
        return f"# FROM {safe_line(name)} left out: {error}\nFROM "


def modelfile_from_show(name: str, show: ModelShow) -> str:
    """`FROM <name>` plus the model's parameters, system prompt, template and messages.

    A part that a Modelfile cannot carry becomes a comment instead of breaking the rest.
    """
    lines = [from_line(name)]
    for key, value in show.parameters_dict.items():
        try:
            lines.append(render(Modelfile(from_=None, parameters=((key, value),))).rstrip("\n"))
        except ValueError as error:
            lines.append(f"# PARAMETER {key} left out: {error}")
    for keyword, text in (("SYSTEM", show.system), ("TEMPLATE", show.template)):
        if not text:
            continue
        try:
            lines.append(f"{keyword} {quote_value(text, keyword)}")
        except ValueError as error:
            lines.append(f"# {keyword} left out: {error}")
    for message in show.messages:
        try:
            lines.append(f"MESSAGE {message.role} {quote_value(message.content, 'MESSAGE')}")
        except ValueError as error:
            lines.append(f"# MESSAGE left out: {error}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Problem:
    message: str
    line: int | None = None
    column: int | None = None

    def text(self) -> str:
        if self.line is None:
            return self.message
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


def resolve_path(value: str, folder: str) -> Path:
    """A FROM/ADAPTER path as the CLI resolves it: `~` expanded, relative to the folder.

    os.path.expanduser never raises (an unknown `~user` stays as it is); it may ask the
    password database, so callers on the event loop run this in a thread.
    """
    path = Path(os.path.expanduser(value))
    return path if path.is_absolute() else Path(os.path.expanduser(folder)) / path


@dataclass(frozen=True)
class PathState:
    """What the file system says about one FROM/ADAPTER value."""

    exists: bool
    size: int = 0
    error: str | None = None  # why it could not be looked at (name too long, permission...)


def probe_path(value: str, folder: str) -> PathState:
    """Look the value up as a file. Blocking: the editor runs it in a thread."""
    try:
        path = resolve_path(value, folder)
        if not path.exists():
            return PathState(False)
        if path.is_dir():  # a model folder
            return PathState(True)
        if not path.is_file():  # a FIFO or device: reading it to upload would never end
            return PathState(False, error="not a regular file")
        return PathState(True, path.stat().st_size)
    except (OSError, ValueError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        return PathState(False, error=reason or type(error).__name__)


def path_instructions(mf: Modelfile, from_model: str | None = None) -> list[Instruction]:
    """The instructions whose value may name a local file (a FROM equal to ``from_model``,
    a model taken from the server, never does)."""
    return [
        i
        for i in mf.instructions
        if i.command == "adapter" or (i.command == "from" and i.value != from_model)
    ]


def check_modelfile(
    text: str, folder: str, probe: Callable[[str, str], PathState] = probe_path
) -> tuple[Problem | None, list[str]]:
    """Parse and check local paths: the first problem (or None) and notes for the user."""
    try:
        mf = parse(text)
    except ModelfileError as error:
        return Problem(error.message, error.line, error.column), []
    states = {i.value: probe(i.value, folder) for i in path_instructions(mf)}
    return check_parsed(mf, folder, states)


def not_installed(mf: Modelfile, states: Mapping[str, PathState], installed: list[str]) -> str:
    """A warning when FROM names a model that is not installed ("" if none): the server pulls
    such a base before creating, which may be a typo's long download."""
    for instruction in mf.instructions:
        value = instruction.value
        if instruction.command != "from" or value.startswith("@") or _PATHLIKE.search(value):
            continue
        state = states.get(value)
        if state is not None and state.exists:
            continue  # a local file: uploaded, not pulled
        if validate_model_name(value) is None and not any(names_equal(n, value) for n in installed):
            return f"FROM {safe_line(value)}: not installed: the server will try to pull it"
    return ""


def check_parsed(
    mf: Modelfile,
    folder: str,
    states: Mapping[str, PathState],
    from_model: str | None = None,
) -> tuple[Problem | None, list[str]]:
    """check_modelfile's verdict from the parsed text and its paths' states (no file access)."""
    notes: list[str] = [safe_line(w) for w in mf.warnings]
    for instruction in path_instructions(mf, from_model):
        value = instruction.value
        state = states[value]
        keyword = instruction.command.upper()
        if state.error is not None:
            message = f"{keyword} {value}: cannot read: {state.error}"
            return Problem(message, instruction.line, 1), notes
        if state.exists:
            size = state.size
            shown = f"{human_bytes(size)}, " if size else ""
            notes.append(f"{keyword} {safe_line(value)}: {shown}uploaded as a blob")
        elif instruction.command == "adapter" or _PATHLIKE.search(value):
            return (
                Problem(f"{keyword} {value}: no such file in {folder}", instruction.line, 1),
                notes,
            )
        elif value.startswith("@"):
            continue  # a blob reference (FROM @sha256:...): the server decides
        elif (problem := validate_model_name(value)) is not None:
            return Problem(f"FROM {value}: {problem}", instruction.line, 1), notes
    return None, notes
