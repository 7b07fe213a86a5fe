"""A short Modelfile reference for the editor (F1): the instructions and common parameters."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ollama_tui.modelfile import PARAMETER_TYPES
from ollama_tui.stylesheets import OPERATIONS_CSS

__all__ = ["INSTRUCTIONS_HELP", "PARAMETERS_HELP", "ModelfileHelpScreen"]

INSTRUCTIONS_HELP: tuple[tuple[str, str], ...] = (
    ("FROM <model | ./file.gguf>", "the base: a model name or a weights file"),
    ("PARAMETER <name> <value>", "a default option, e.g. temperature 0.7"),
    ('SYSTEM """…"""', "the system message"),
    ('TEMPLATE """…"""', "the prompt template (Go templates)"),
    ("ADAPTER <./file>", "LoRA adapter weights for the base"),
    ("MESSAGE <role> <text>", "a turn: system, user or assistant"),
    ("LICENSE <text>", "the model's license"),
    ("REQUIRES <version>", "the lowest Ollama version, e.g. 0.14.0"),
    ("PARSER / RENDERER <name>", "the server's built-in parser or renderer"),
    ("DRAFT <model | ./file>", "a draft model for speculative decoding"),
    ("# …", "a comment"),
)

# The parameters most Modelfiles set, with what they do; every other one is listed by name.
PARAMETERS_HELP: tuple[tuple[str, str], ...] = (
    ("temperature", "creativity: higher is more random (0.8)"),
    ("num_ctx", "context window in tokens (e.g. 4096)"),
    ("stop", "a stop sequence; repeat the line for several"),
    ("top_k", "sample from the k likeliest tokens (40)"),
    ("top_p", "nucleus sampling threshold (0.9)"),
    ("min_p", "drop tokens below this share of the likeliest (0.0)"),
    ("repeat_penalty", "penalise repeats (1.1)"),
    ("repeat_last_n", "how far back repeats count (64)"),
    ("num_predict", "most tokens to generate (-1: no limit)"),
    ("seed", "a fixed seed for repeatable output"),
)


class ModelfileHelpScreen(ModalScreen[None]):
    """The reference; esc (or F1, or q) closes it."""

    CSS_PATH = OPERATIONS_CSS

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1,q", "close", "Close", id="ops.create.reference-close"),
    ]

    def __init__(self) -> None:
        super().__init__(classes="ops-dialog modelfile-help")

    def reference_text(self) -> str:
        return self._reference().plain

    def _reference(self) -> Text:
        text = Text()
        text.append("Instructions\n", style="bold")
        for syntax, meaning in INSTRUCTIONS_HELP:
            text.append(f"  {syntax:<28}", style="bold")
            text.append(f" {meaning}\n")
        text.append("\nCommon parameters\n", style="bold")
        for name, meaning in PARAMETERS_HELP:
            text.append(f"  {name:<16}", style="bold")
            text.append(f" {meaning}\n")
        described = {name for name, _ in PARAMETERS_HELP}
        others = sorted(set(PARAMETER_TYPES) - described)
        text.append("  Also: " + ", ".join(others) + "\n", style="dim")
        text.append(
            "\nIn the editor, tab or ctrl+space completes an instruction,\n"
            "a PARAMETER name or a MESSAGE role.",
            style="dim",
        )
        return text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Modelfile reference (esc closes)", classes="dialog-title")
            with VerticalScroll(classes="dialog-items"):
                yield Static(self._reference(), markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
