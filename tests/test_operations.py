"""The operations' pure parts: keep-alive parsing, Modelfile checks and pre-fill, the safe
rename sequence (with injected faults), job advice and the editor's highlighter."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ollama_tui.api import ApiError, LocalModel, ModelShow
from ollama_tui.api.keep_alive import describe_keep_alive, parse_keep_alive
from ollama_tui.api.models import is_embedding_only
from ollama_tui.formatting import format_eta, format_rate
from ollama_tui.jobs import Job, JobKind, JobState, explain_job_error
from ollama_tui.modelfile import parse
from ollama_tui.modelfile_checks import (
    PathState,
    check_modelfile,
    modelfile_from_show,
    probe_path,
    resolve_path,
)
from ollama_tui.rename import RenameFailed, rename_model
from ollama_tui.widgets.job_progress import progress_bar
from ollama_tui.widgets.modelfile_editor import highlight_lines, strip_controls

# -- keep-alive ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10m", "10m"),
        ("1h30m", "1h30m"),
        ("1.5h", "1.5h"),
        ("0", 0),
        ("300", 300),
        ("2.5", 2.5),
        ("-1", -1),  # a number: the string "-1" is a 400 on the server
        (" 5m ", "5m"),
        ("-1m", "-1m"),
    ],
)
def test_keep_alive_accepts_go_durations_and_seconds(text: str, expected: object) -> None:
    assert parse_keep_alive(text) == expected


@pytest.mark.parametrize("text", ["forever", "10 m", "m", "1h30", "", "1d", "--1", "5min"])
def test_keep_alive_rejects_malformed(text: str) -> None:
    with pytest.raises(ValueError, match="duration like 10m"):
        parse_keep_alive(text)


def test_describe_keep_alive() -> None:
    assert describe_keep_alive(-1) == "forever"
    assert describe_keep_alive("1h") == "1h"
    assert describe_keep_alive(90) == "90 s"


# -- Modelfile checks ------------------------------------------------------------------------


def test_check_modelfile_reports_parser_position(tmp_path: Path) -> None:
    problem, _ = check_modelfile("FROM x\nPARAMETER num_ctx 4096.0\n", str(tmp_path))
    assert problem is not None and problem.line == 2
    assert problem.text().startswith("line 2, column")


def test_check_modelfile_local_paths(tmp_path: Path) -> None:
    (tmp_path / "w.gguf").write_bytes(b"GGUF" + b"\0" * 2000)
    problem, notes = check_modelfile("FROM ./w.gguf\n", str(tmp_path))
    assert problem is None
    assert any("uploaded as a blob" in note for note in notes)
    problem, _ = check_modelfile("FROM ./missing.gguf\n", str(tmp_path))
    assert problem is not None and problem.line == 1 and "no such file" in problem.message
    problem, _ = check_modelfile("FROM llama3.2\n# c\nADAPTER lora\n", str(tmp_path))
    assert problem is not None and problem.line == 3
    problem, _ = check_modelfile("FROM bad$name\n", str(tmp_path))
    assert problem is not None and "may only contain" in problem.message
    problem, _ = check_modelfile("FROM @sha256:" + "a" * 64 + "\n", str(tmp_path))
    assert problem is None


def test_unknown_home_directory_is_not_a_crash(tmp_path: Path) -> None:
    # Path.expanduser raises RuntimeError for an unknown `~user`; the check must not.
    assert str(resolve_path("~no_such_user_x/m.gguf", str(tmp_path))).endswith(
        "~no_such_user_x/m.gguf"
    )
    assert resolve_path("x", "~no_such_user_x") == Path("~no_such_user_x/x")
    problem, _ = check_modelfile("FROM ~no_such_user_x\n", "~no_such_user_x")
    assert problem is not None and "no such file" in problem.message


def test_unreadable_path_is_a_problem_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    long = "./" + "a" * 300 + ".gguf"
    problem, _ = check_modelfile(f"FROM llama3.2\nADAPTER {long}\n", str(tmp_path))
    assert problem is not None and problem.line == 2
    assert problem.message == f"ADAPTER {long}: cannot read: File name too long"

    def denied(self: Path) -> bool:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "exists", denied)
    assert probe_path("./w.gguf", str(tmp_path)) == PathState(False, error="Permission denied")
    problem, _ = check_modelfile("FROM ./w.gguf\n", str(tmp_path))
    assert (
        problem is not None and problem.message == "FROM ./w.gguf: cannot read: Permission denied"
    )


def test_check_modelfile_uses_the_given_probe() -> None:
    seen: list[tuple[str, str]] = []

    def probe(value: str, folder: str) -> PathState:
        seen.append((value, folder))
        return PathState(True, 2000)

    problem, notes = check_modelfile("FROM ./w.gguf\nADAPTER ./l.gguf\n", "/f", probe)
    assert problem is None and seen == [("./w.gguf", "/f"), ("./l.gguf", "/f")]
    assert any("FROM ./w.gguf: 2 KB, uploaded as a blob" in note for note in notes)


def test_strip_controls_keeps_tabs_and_newlines() -> None:
    assert strip_controls("FROM x\x1b[31m\r\nSYSTEM a\tb\x9b\x07\n") == (
        "FROM x[31m\nSYSTEM a\tb\n",
        3,
    )
    assert strip_controls("plain\n") == ("plain\n", 0)


def test_prefill_from_a_name_with_control_characters() -> None:
    text = modelfile_from_show("evil\x1b[2J:latest", ModelShow(system="hi"))
    assert "\x1b" not in text
    assert text.startswith("# FROM evil\\x1b[2J:latest left out:")
    assert "\nFROM \nSYSTEM hi\n" in text


def test_prefill_round_trips_through_the_parser() -> None:
    show = ModelShow(
        parameters_dict={"stop": ["<|eot|>", "END"], "temperature": 0.7, "num_ctx": 8192},
        system="You are a pirate.\nAlways.",
        template='{{ .System }} "quoted" {{ .Prompt }}',
    )
    text = modelfile_from_show("someuser/pirate:latest", show)
    mf = parse(text)
    assert mf.from_ == "someuser/pirate:latest"
    assert mf.system == show.system
    assert mf.template == show.template
    assert mf.parameters_dict() == {"stop": ["<|eot|>", "END"], "temperature": 0.7, "num_ctx": 8192}


def test_prefill_comments_out_what_cannot_be_written() -> None:
    show = ModelShow(parameters_dict={"no_such_param": 1}, system="bell \x07 here")
    text = modelfile_from_show("x", show)
    assert "# PARAMETER no_such_param left out" in text
    assert "# SYSTEM left out" in text
    assert parse(text).from_ == "x"


# -- rename ----------------------------------------------------------------------------------


def model(name: str, digest: str) -> LocalModel:
    return LocalModel.from_json({"name": name, "size": 1, "digest": digest})


class FakeClient:
    """An in-memory server for rename, with one fault per step."""

    def __init__(self, fail: str | None = None, *, corrupt_copy: bool = False) -> None:
        self.models = {"a:latest": model("a:latest", "1" * 64)}
        self.fail = fail
        self.corrupt_copy = corrupt_copy
        self.calls: list[str] = []
        self.unloaded: list[tuple[str, object]] = []

    def _maybe_fail(self, step: str) -> None:
        self.calls.append(step)
        if self.fail == step:
            raise ApiError(500, f"{step} exploded")

    async def list_models(self) -> list[LocalModel]:
        self._maybe_fail("list" if "copy" not in self.calls else "verify")
        return list(self.models.values())

    async def copy(self, source: str, destination: str) -> None:
        self._maybe_fail("copy")
        digest = "2" * 64 if self.corrupt_copy else self.models[source].digest
        self.models[destination] = model(destination, digest)

    async def delete(self, name: str) -> None:
        self._maybe_fail("delete")
        del self.models[name]

    async def unload(self, name: str, *, capabilities: object = None) -> None:
        self._maybe_fail("unload")
        self.unloaded.append((name, capabilities))


async def test_rename_success_order() -> None:
    client = FakeClient()
    await rename_model(client, "a:latest", "b:latest")
    assert client.calls == ["list", "copy", "verify", "delete"]
    assert set(client.models) == {"b:latest"}


@pytest.mark.parametrize("step", ["list", "copy", "verify", "delete"])
async def test_rename_never_loses_the_source(step: str) -> None:
    client = FakeClient(fail=step)
    with pytest.raises(RenameFailed, match="exploded"):
        await rename_model(client, "a:latest", "b:latest")
    assert "a:latest" in client.models


async def test_rename_unloads_a_loaded_source_before_deleting_it() -> None:
    client = FakeClient()
    await rename_model(client, "a:latest", "b:latest", unload="a:latest", capabilities=["x"])
    assert client.calls == ["list", "copy", "verify", "unload", "delete"]
    assert client.unloaded == [("a:latest", ["x"])]
    failing = FakeClient(fail="unload")
    with pytest.raises(RenameFailed, match="unloading a:latest failed"):
        await rename_model(failing, "a:latest", "b:latest", unload="a:latest")
    assert "delete" not in failing.calls and "a:latest" in failing.models


async def test_rename_refuses_a_copy_that_does_not_match() -> None:
    client = FakeClient(corrupt_copy=True)
    with pytest.raises(RenameFailed, match="does not match"):
        await rename_model(client, "a:latest", "b:latest")
    assert "delete" not in client.calls and "a:latest" in client.models


async def test_rename_onto_itself_is_refused() -> None:
    client = FakeClient()
    with pytest.raises(RenameFailed, match="same model"):
        await rename_model(client, "a:latest", "A")
    assert client.calls == []


# -- jobs ------------------------------------------------------------------------------------


def test_push_unauthorized_advice() -> None:
    job = Job(id=1, kind=JobKind.PUSH, model="llama3.2:latest", state=JobState.FAILED)
    job = replace(job, error="unauthorized: access denied")
    assert "<user>/llama3.2:latest" in explain_job_error(job)
    assert explain_job_error(replace(job, kind=JobKind.PULL)) == ""
    assert explain_job_error(replace(job, error="disk full")) == ""


def test_embedding_only() -> None:
    assert is_embedding_only(["embedding"])
    assert not is_embedding_only(["embedding", "completion"])
    assert not is_embedding_only(["completion", "tools"])
    assert not is_embedding_only([])


def test_progress_text_helpers() -> None:
    assert format_eta(5) == "5s" and format_eta(185) == "3m05s" and format_eta(7260) == "2h01m"
    assert format_eta(None) == "" and format_rate(0) == "" and format_rate(12e6) == "12 MB/s"
    bar = progress_bar(0.5, 10)
    assert bar.plain == "━" * 10 and len(bar.spans) == 2
    assert progress_bar(None, 4).plain == "····"


# -- highlighter -----------------------------------------------------------------------------


@given(st.text(alphabet=st.sampled_from('FROMPARAMETERSYTEMmessage "#\n é\t01.x'), max_size=200))
def test_highlights_stay_inside_their_lines(text: str) -> None:
    lines = text.split("\n")
    for index, marks in highlight_lines(lines).items():
        size = len(lines[index].encode("utf-8"))
        for start, end, name in marks:
            assert 0 <= start <= size and name
            assert end is None or start <= end <= size
