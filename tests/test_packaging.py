"""The built wheel carries the stylesheets and the console script."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_styles_and_entry_point(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("ollama_tui-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        styles = sorted(n for n in names if n.startswith("ollama_tui/styles/"))
        source_styles = sorted(p.name for p in (ROOT / "styles").glob("*.tcss"))
        assert source_styles, "no stylesheets in styles/"
        assert [Path(n).name for n in styles] == source_styles
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        assert "ollama-tui = ollama_tui.__main__:main" in archive.read(entry_points).decode()
        assert not any(n.startswith("tests/") for n in names)


def test_top_level_holds_only_the_agreed_entries() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.split()
    if not tracked:  # not a git checkout (e.g. an sdist): nothing to check
        return
    top = {path.split("/", 1)[0] for path in tracked}
    allowed = {
        "pyproject.toml",
        "README.md",
        "ollama_tui",
        "tests",
        "styles",
        "screenshots",
        ".ci",
        ".gitignore",
    }
    assert top <= allowed, f"unexpected top-level entries: {sorted(top - allowed)}"
