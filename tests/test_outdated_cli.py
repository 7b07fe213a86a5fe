"""``ollama-tui outdated``: the table, ``--json``, exit codes, against the simulator over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ollama_tui.__main__ import main
from ollama_tui.simulator.thread import serve_in_thread


@pytest.fixture
def sim_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with serve_in_thread() as sim:
        config = tmp_path / "config.toml"
        config.write_text(f'[registry_urls]\n"registry.ollama.ai" = "{sim.url}"\n')
        yield sim, config


def test_nothing_outdated_then_exactly_the_changed_model(
    sim_config, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    sim, config = sim_config
    argv = ["outdated", "--host", sim.url, "--config", str(config)]
    assert main(argv) == 0
    table = capsys.readouterr().out
    assert "0 outdated" in table and "checked from this machine" in table
    name = "llama3.2:latest"
    new = sim.change_upstream(name)
    assert main([*argv, "--json"]) == 1
    items = json.loads(capsys.readouterr().out)
    outdated = [item for item in items if item["state"] == "outdated"]
    assert [item["model"] for item in outdated] == [name]
    assert outdated[0]["remote_digest"] == new
    assert set(outdated[0]) == {"model", "state", "reason", "local_digest", "remote_digest"}
    assert main(argv) == 1
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["Model", "State", "Local", "Remote", "Reason"]
    assert table[2].split()[:2] == [name, "outdated"]  # outdated first
    states = {line.split()[0]: line.split()[1] for line in table[2:] if line and "  " in line}
    json_states = {item["model"]: item["state"] for item in items}
    assert {k: v for k, v in states.items() if k in json_states} == json_states


def test_an_offline_registry_is_unknown_and_not_outdated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    config = tmp_path / "config.toml"
    config.write_text('[registry_urls]\n"registry.ollama.ai" = "http://127.0.0.1:9"\n')
    with serve_in_thread() as sim:
        assert main(["outdated", "--host", sim.url, "--config", str(config), "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert items and {item["state"] for item in items} == {"unknown"}
    assert all(item["reason"].startswith("offline") for item in items)


def test_an_unreachable_server_and_a_bad_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["outdated", "--host", "http://127.0.0.1:9"]) == 3
    assert "cannot list" in capsys.readouterr().err
    config = tmp_path / "config.toml"
    config.write_text('insecure_registries = ["http://nope"]\n')
    assert main(["outdated", "--config", str(config)]) == 2
    assert "insecure_registries" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ('insecure_registries = "x"', "insecure_registries", "array"),
        ('insecure_registries = ["a b"]', "insecure_registries", "host:port"),
        ('[registry_urls]\n"registry.ollama.ai" = "ftp://x"', "registry_urls", "http"),
    ],
)
def test_freshness_settings_are_checked(tmp_path: Path, text: str, key: str, words: str) -> None:
    from ollama_tui.config import ConfigError, load_config

    path = tmp_path / "config.toml"
    path.write_text(text + "\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert key in str(caught.value) and words in str(caught.value)
    assert "line " in str(caught.value)


def test_freshness_settings_are_read(tmp_path: Path) -> None:
    from ollama_tui.config import load_config

    path = tmp_path / "config.toml"
    path.write_text(
        'insecure_registries = ["Registry.LAN:5000"]\n'
        '[registry_urls]\n"registry.ollama.ai" = "http://mirror.lan:5000"\n'
    )
    config = load_config(path)
    assert config.insecure_registries == ("registry.lan:5000",)
    assert config.registry_urls == {"registry.ollama.ai": "http://mirror.lan:5000"}
