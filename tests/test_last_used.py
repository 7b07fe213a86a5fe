"""Last-used times (``ollama_tui.last_used``): kept across restarts, bounded, never a crash."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ollama_tui.last_used import FORGET_AFTER, LastUsedStore, default_state_path

DAY = 24 * 3600.0
GPU = "http://gpu-box:11434"
LAPTOP = "http://laptop:11434"


def test_a_model_seen_loaded_keeps_its_time_across_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state" / "ollama-tui" / "last-used.json"
    store = LastUsedStore(path)
    store.observe(GPU, ["Llama3.2:latest"], ["llama3.2:latest", "qwen:7b"], now=1000.0)
    store.observe(LAPTOP, [], ["llama3.2:latest"], now=1000.0)
    store.save()
    assert path.stat().st_mode & 0o777 == 0o600
    again = LastUsedStore(path)
    assert again.warning is None
    assert again.last_used(GPU, "llama3.2:latest") == 1000.0
    assert again.last_used(GPU, "qwen:7b") is None  # never seen loaded
    assert again.last_used(LAPTOP, "llama3.2:latest") is None  # per server
    assert again.watching_since(GPU) == 1000.0


def test_polls_do_not_rewrite_the_file_every_time(tmp_path: Path) -> None:
    path = tmp_path / "last-used.json"
    store = LastUsedStore(path)
    store.observe(GPU, ["a:latest"], ["a:latest"], now=0.0)
    store.save()
    written = path.stat().st_mtime_ns
    store.observe(GPU, ["a:latest"], ["a:latest"], now=2.0)
    store.save()
    assert path.stat().st_mtime_ns == written
    assert store.last_used(GPU, "a:latest") == 0.0
    store.observe(GPU, ["a:latest"], ["a:latest"], now=61.0)
    assert store.last_used(GPU, "a:latest") == 61.0


def test_models_gone_for_90_days_are_forgotten(tmp_path: Path) -> None:
    store = LastUsedStore(tmp_path / "f.json")
    store.observe(GPU, ["old:latest", "kept:latest"], ["old:latest", "kept:latest"], now=0.0)
    store.observe(GPU, [], ["kept:latest"], now=DAY)  # old is deleted: gone since day 1
    store.observe(GPU, [], ["kept:latest"], now=DAY + FORGET_AFTER - 1)
    assert store.last_used(GPU, "old:latest") == 0.0
    store.observe(GPU, [], ["kept:latest"], now=DAY + FORGET_AFTER + 1)
    assert store.last_used(GPU, "old:latest") is None
    assert store.last_used(GPU, "kept:latest") == 0.0


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[]", b'{"version": 1, "servers": {"x": {"since": "nan?"}}}', b"\xff\xfe"],
)
def test_a_corrupt_file_is_set_aside_with_a_message(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "last-used.json"
    path.write_bytes(content)
    store = LastUsedStore(path)
    assert store.warning is not None and "set aside" in store.warning
    assert (tmp_path / "last-used.json.corrupt").read_bytes() == content
    store.observe(GPU, ["a:latest"], ["a:latest"], now=5.0)
    store.save()
    assert json.loads(path.read_text())["version"] == 1


def test_an_unwritable_folder_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    store = LastUsedStore(blocker / "sub" / "last-used.json")
    store.observe(GPU, ["a:latest"], ["a:latest"], now=5.0)
    store.save()
    assert store.warning is not None and "Could not" in store.warning
    folder = tmp_path / "folder"
    folder.mkdir()
    store = LastUsedStore(folder / "last-used.json")
    folder.chmod(0o500)
    try:
        store.observe(GPU, ["a:latest"], ["a:latest"], now=5.0)
        store.save()
    finally:
        folder.chmod(0o700)
    if os.geteuid() != 0:  # root writes anyway
        assert store.warning is not None and "Could not save" in store.warning


def test_the_default_path_follows_xdg_state_home(tmp_path: Path) -> None:
    assert default_state_path({"XDG_STATE_HOME": str(tmp_path)}) == (
        tmp_path / "ollama-tui" / "last-used.json"
    )
    relative = default_state_path({"XDG_STATE_HOME": "relative"})
    assert relative.parts[-3:] == ("state", "ollama-tui", "last-used.json")


def test_two_processes_sharing_the_file_lose_nothing_of_each_other(tmp_path: Path) -> None:
    """The dashboard and ``ollama-tui export`` keep the same file: a save takes in what the
    other saved meanwhile (its servers, and its later times) instead of writing over it."""
    path = tmp_path / "last-used.json"
    dashboard, exporter = LastUsedStore(path), LastUsedStore(path)
    dashboard.observe(GPU, ["a:latest"], ["a:latest", "b:latest"], now=1000.0)
    dashboard.observe(LAPTOP, ["c:latest"], ["c:latest"], now=1000.0)
    dashboard.save()
    exporter.observe(GPU, ["b:latest"], ["a:latest", "b:latest"], now=2000.0)  # GPU only
    exporter.save()
    dashboard.observe(GPU, [], ["a:latest", "b:latest"], now=3000.0)
    dashboard.save()
    again = LastUsedStore(path)
    assert again.last_used(LAPTOP, "c:latest") == 1000.0  # a server the exporter lacks
    assert again.last_used(GPU, "a:latest") == 1000.0
    assert again.last_used(GPU, "b:latest") == 2000.0  # seen by the exporter only
    assert again.watching_since(GPU) == 1000.0  # the earlier start of watching
