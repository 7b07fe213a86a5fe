"""Where the stylesheets (top-level ``styles/*.tcss``, shipped as ``ollama_tui/styles``) are.

The app loads only ``app.tcss`` at start-up; the dialogs' stylesheet is loaded by the first
dialog shown (each operation screen names it in ``CSS_PATH``), which keeps its parsing out of
the time to the first frame.
"""

from __future__ import annotations

import functools
from pathlib import Path, PurePath

__all__ = ["OPERATIONS_CSS", "stylesheet_path", "stylesheet_paths"]


@functools.cache
def _folder() -> Path:
    here = Path(__file__).resolve().parent
    for folder in (here / "styles", here.parent / "styles"):
        if any(folder.glob("*.tcss")):
            return folder
    return here / "styles"


def stylesheet_paths() -> list[Path]:
    """Every stylesheet: inside the installed package, else the repo's top-level folder."""
    return sorted(_folder().glob("*.tcss"))


def stylesheet_path(name: str) -> Path:
    return _folder() / name


# For operation screens: ``CSS_PATH = OPERATIONS_CSS``.
OPERATIONS_CSS: list[str | PurePath] = [stylesheet_path("operations.tcss")]
