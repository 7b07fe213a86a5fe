"""Regression tests for defects found by reviewing the app as a user would."""

from __future__ import annotations

import pytest

from ollama_tui.screens.load import KeepAliveValidator, parse_keep_alive


@pytest.mark.parametrize("text", ["9" * 330, "1" + "0" * 12, "9300000000.5"])
def test_keep_alive_too_long_is_a_clear_error_not_a_crash(text: str) -> None:
    with pytest.raises(ValueError, match="too long"):
        parse_keep_alive(text)
    assert not KeepAliveValidator().validate(text).is_valid


def test_any_negative_number_of_seconds_means_forever() -> None:
    assert parse_keep_alive("-5") == -1
    assert parse_keep_alive("-" + "9" * 400) == -1
