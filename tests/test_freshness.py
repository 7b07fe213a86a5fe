"""The UI-free half of the outdated check's display: cells, sort, summary, the cache at
start-up, insecure registries in pulls (copy to servers too), and the check_interval key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ollama_tui.api import LocalModel
from ollama_tui.freshness import (
    freshness_cell,
    freshness_sort_key,
    from_cache,
    is_insecure,
    summary,
)
from ollama_tui.registry import CheckCache, CheckResult, Freshness, manifest_ref

DIGEST = "a" * 64


def result(state: Freshness, model: str = "m:latest", reason: str = "") -> CheckResult:
    return CheckResult(model, state, reason, "sha256:" + DIGEST, None, 100.0)


def test_cells_and_sort_unknown_is_never_outdated() -> None:
    assert freshness_cell(None) == ""
    assert freshness_cell(result(Freshness.OUTDATED)) == "↑ update"
    assert freshness_cell(result(Freshness.UP_TO_DATE)) == "✓"
    assert freshness_cell(result(Freshness.LOCAL)) == "local"
    assert freshness_cell(result(Freshness.UNKNOWN)) == "?"
    order = sorted(Freshness, key=lambda s: freshness_sort_key(result(s)) or 0)
    assert order[0] is Freshness.OUTDATED and order[1] is Freshness.UNKNOWN
    assert freshness_sort_key(None) is None  # not checked: last either way


def test_summary_names_the_outdated_and_the_unknown_reasons() -> None:
    items = [
        ("gpu", result(Freshness.OUTDATED, "a:1")),
        ("cpu", result(Freshness.UP_TO_DATE, "b:1")),
        ("gpu", result(Freshness.UNKNOWN, "c:1", "offline: cannot reach x")),
        ("gpu", result(Freshness.UNKNOWN, "d:1", "offline: cannot reach x")),
    ]
    text, outdated = summary(items, several=True)
    assert outdated
    assert text.startswith("Checked 4 models: 1 outdated, 1 up to date, 2 unknown.")
    assert "a:1 on gpu" in text and "Unknown (2): offline: cannot reach x" in text
    text, outdated = summary([("x", result(Freshness.UNKNOWN, reason="429"))], several=False)
    assert not outdated and "0 outdated" in text


def test_the_cache_gives_answers_only_for_the_same_local_digest(tmp_path: Path) -> None:
    cache = CheckCache(tmp_path / "registry.json")
    ref = manifest_ref("m:latest")
    cache.put(CheckCache.key(ref, "m:latest", "sha256:" + DIGEST), result(Freshness.OUTDATED))
    same = LocalModel.from_json({"name": "m:latest", "model": "m:latest", "digest": DIGEST})
    repulled = LocalModel.from_json({"name": "m:latest", "model": "m:latest", "digest": "b" * 64})
    found = from_cache(cache, [same, repulled], {}, (), now=200.0, max_age=1e9)
    assert list(found) == [("m:latest", DIGEST)]
    assert found[("m:latest", DIGEST)].state is Freshness.OUTDATED
    assert from_cache(cache, [same], {}, (), now=200.0, max_age=50.0) == {}  # too old


def test_insecure_registries_decide_the_pull_flag() -> None:
    hosts = ("registry.lan:5000",)
    assert is_insecure("registry.lan:5000/me/m:1", hosts)
    assert is_insecure("REGISTRY.lan:5000/me/m", hosts)
    assert not is_insecure("llama3.2", hosts)
    assert not is_insecure("other.lan:5000/me/m", hosts)
    assert not is_insecure("not a name", hosts)
    assert not is_insecure("registry.lan:5000/me/m", ())


def test_copy_to_servers_pulls_from_an_insecure_registry_with_the_flag() -> None:
    from ollama_tui.fleet_copy import CopyKind, CopyPlan, submit_plan

    pulls: list[tuple[str, bool]] = []

    class Jobs:
        def submit_pull(self, name: str, *, insecure: bool = False, **_: Any) -> str:
            pulls.append((name, insecure))
            return name

        def submit_create(self, *args: Any, **kwargs: Any) -> str:
            return "create"

    hosts = ("registry.lan:5000",)
    for name in ("registry.lan:5000/me/m:1", "llama3.2:1b"):
        plan = CopyPlan(CopyKind.PULL, name)
        submit_plan(Jobs(), plan, object(), "src", insecure_registries=hosts)  # type: ignore[arg-type]
    assert pulls == [("registry.lan:5000/me/m:1", True), ("llama3.2:1b", False)]


@pytest.mark.parametrize(
    ("value", "words"),
    [('"daily"', "number of hours"), ("-1", "from 0"), ("1e9", "8760"), ("true", "boolean")],
)
def test_check_interval_is_checked(tmp_path: Path, value: str, words: str) -> None:
    from ollama_tui.__main__ import main
    from ollama_tui.config import ConfigError, load_config

    path = tmp_path / "config.toml"
    path.write_text(f"check_interval = {value}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "check_interval" in str(caught.value) and words in str(caught.value)
    assert main(["outdated", "--config", str(path)]) == 2


def test_check_interval_is_read(tmp_path: Path) -> None:
    from ollama_tui.config import Settings, load_config

    path = tmp_path / "config.toml"
    path.write_text("check_interval = 12\n")
    assert load_config(path).check_interval == 12.0
    assert Settings().check_interval == 0.0  # off by default
