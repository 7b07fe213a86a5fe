"""The benchmark script must keep working: run two of its rows at toy scale (``--quick``)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.simulator_only  # the benchmark starts its own simulator processes

BENCH = Path(__file__).with_name("bench.py")


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ollama_tui_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_bench_quick_rows_print_the_documented_json(capsys: pytest.CaptureFixture[str]) -> None:
    bench = load_bench()
    assert bench.main(["--quick", "--rows", "2,3,4,5", "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    data = json.loads(out[-1])
    assert set(data) == {"machine", "rows"}
    assert "cores" in data["machine"] and "Textual" in data["machine"]
    rows = data["rows"]
    assert [row["id"] for row in rows] == [2, 3, 4, 5]
    for row in rows:
        assert set(row) == {
            "id",
            "what",
            "figure",
            "unit",
            "baseline",
            "ratio",
            "goal",
            "goal_met",
        }
        assert isinstance(row["figure"], int | float) and row["figure"] >= 0
        assert row["baseline"] is None or isinstance(row["baseline"], int | float)
        assert row["ratio"] is None or isinstance(row["ratio"], int | float)
        assert isinstance(row["goal_met"], bool) and row["goal"] and row["unit"]
    stream = rows[-1]
    assert stream["unit"] == "ms" and stream["figure"] > 0


def test_bench_table_output_names_every_row(capsys: pytest.CaptureFixture[str]) -> None:
    bench = load_bench()
    rows = [
        bench.Row(1, "start", 420.0, "ms", 230.0, 1.83, "ratio <= 1.5", False),
        bench.Row(4, "filter", 12.5, "ms", None, None, "<= 50 ms", True),
    ]
    text = bench.table("test machine", rows)
    assert text.splitlines()[0] == "machine: test machine"
    assert "420.0" in text and "1.83" in text and "NO" in text and "—" in text


def test_bench_fleet_rows_run_at_toy_scale(capsys: pytest.CaptureFixture[str]) -> None:
    """Rows 9-13 (a fleet: simulator in another process, the app in a child) still run."""
    bench = load_bench()
    assert bench.main(["--quick", "--rows", "9,10,11,12,13", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["rows"]
    assert [row["id"] for row in rows] == [9, 10, 11, 12, 13]
    assert all(row["figure"] >= 0 and isinstance(row["goal_met"], bool) for row in rows)
    assert rows[3]["baseline"] > 0  # the start-up ratio has its one-server start
