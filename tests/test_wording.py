"""Wording a person reads (issue #9, group 9): delete summaries and the UNTIL countdown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ollama_tui.api.models import RunningModel
from ollama_tui.formatting import countdown
from ollama_tui.operations import deleted_message
from ollama_tui.widgets.running_table import RunningTable

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["a"], "Deleted a"),
        (["a", "b"], "Deleted 2 models: a, b"),
        (["a", "b", "c"], "Deleted 3 models: a, b, c"),
        (["a", "b", "c", "d", "e"], "Deleted 5 models: a, b, c and 2 more"),
    ],
)
def test_deleted_message_counts_and_never_doubles_punctuation(
    names: list[str], expected: str
) -> None:
    message = deleted_message(names)
    assert message == expected
    assert "…." not in message and ".." not in message


@pytest.mark.parametrize(
    ("ahead", "expected"),
    [
        (timedelta(minutes=2, seconds=50), "2m50s from now"),
        (timedelta(minutes=9, seconds=59), "9m59s from now"),
        (timedelta(seconds=7), "7s from now"),
        (timedelta(minutes=1), "1m00s from now"),
        (timedelta(minutes=10), None),
        (timedelta(hours=3), None),
        (timedelta(seconds=-1), None),
    ],
)
def test_countdown_is_exact_under_ten_minutes(ahead: timedelta, expected: str | None) -> None:
    assert countdown(NOW + ahead, NOW) == expected


def test_running_table_until_column_shows_the_exact_countdown() -> None:
    table = RunningTable(lambda: NOW)
    model = RunningModel.from_json(
        {
            "name": "m:latest",
            "model": "m:latest",
            "size": 10,
            "size_vram": 10,
            "digest": "d" * 64,
            "expires_at": (NOW + timedelta(minutes=2, seconds=50)).isoformat(),
        }
    )
    assert table._until(model) == "2m50s from now"
    later = RunningModel.from_json(
        {
            **{"name": "n:latest", "model": "n:latest", "digest": "e" * 64},
            "expires_at": (NOW + timedelta(hours=2)).isoformat(),
        }
    )
    assert table._until(later) == "2 hours from now"
