"""Wire models: real and old shapes (section 16), times, the CLI ps columns (section 15)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ollama_tui.api import (
    LocalModel,
    ModelDetails,
    ModelShow,
    ProgressEvent,
    RunningModel,
    parse_time,
)

PDT = timezone(timedelta(hours=-7))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "2025-05-10T08:06:48.639712648-07:00",
            datetime(2025, 5, 10, 8, 6, 48, 639712, tzinfo=PDT),
        ),
        ("2024-06-04T14:38:31.83753-07:00", datetime(2024, 6, 4, 14, 38, 31, 837530, tzinfo=PDT)),
        ("2023-08-04T19:22:45.499127Z", datetime(2023, 8, 4, 19, 22, 45, 499127, tzinfo=UTC)),
        ("2023-08-04T19:22:45Z", datetime(2023, 8, 4, 19, 22, 45, tzinfo=UTC)),
        ("2023-08-04T19:22:45.1+02:00", datetime(2023, 8, 4, 17, 22, 45, 100000, tzinfo=UTC)),
        ("2023-08-04T19:22:45.123456789Z", datetime(2023, 8, 4, 19, 22, 45, 123456, tzinfo=UTC)),
        ("2317-09-10T01:02:03.999999999Z", datetime(2317, 9, 10, 1, 2, 3, 999999, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", None),
        ("", None),
        (None, None),
        (42, None),
        ("yesterday", None),
    ],
)
def test_parse_time(text: object, expected: datetime | None) -> None:
    parsed = parse_time(text)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo is not None


TAGS_ITEM = {
    "name": "llama3.2:latest",
    "model": "llama3.2:latest",
    "modified_at": "2025-05-04T17:37:44.706015396-07:00",
    "size": 2019393189,
    "digest": "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
    "details": {
        "parent_model": "",
        "format": "gguf",
        "family": "llama",
        "families": ["llama"],
        "parameter_size": "3.2B",
        "quantization_level": "Q4_K_M",
        "context_length": 131072,
        "embedding_length": 3072,
    },
    "capabilities": ["completion", "tools"],
    "some_future_field": {"x": 1},
}


def test_local_model_real_shape() -> None:
    m = LocalModel.from_json(TAGS_ITEM)
    assert m.name == m.model == "llama3.2:latest"
    assert m.size == 2019393189
    assert m.short_id == "a80c4f17acd5"
    assert m.modified_at == datetime(2025, 5, 4, 17, 37, 44, 706015, tzinfo=PDT)
    assert m.details == ModelDetails(
        "", "gguf", "llama", ("llama",), "3.2B", "Q4_K_M", 131072, 3072
    )
    assert m.capabilities == ("completion", "tools")
    assert not m.is_remote


def test_local_model_tolerant() -> None:
    m = LocalModel.from_json({"model": "x:latest", "digest": "sha256:" + "b" * 64})
    assert m.name == "x:latest"
    assert m.digest == "b" * 64
    assert m.modified_at is None
    assert m.size == 0
    assert m.details == ModelDetails()
    assert m.capabilities == ()
    null_families = LocalModel.from_json({"name": "y", "details": {"families": None}})
    assert null_families.details.families == ()
    assert null_families.model == "y"


def test_local_model_remote() -> None:
    m = LocalModel.from_json(
        {"name": "gpt-oss:120b-cloud", "size": 384, "remote_model": "gpt-oss:120b"}
    )
    assert m.is_remote
    assert m.remote_model == "gpt-oss:120b"
    assert m.remote_host is None


PS_ITEM = {
    "name": "mistral:latest",
    "model": "mistral:latest",
    "size": 5137025024,
    "size_vram": 5137025024,
    "digest": "2ae6f6dd7a3dd734790bbbf58b8909a606e0e7e97e94b7604e0aa7ae4490e6d8",
    "details": {"parent_model": "", "format": "gguf", "family": "llama", "families": None},
    "expires_at": "2024-06-04T14:38:31.83753-07:00",
    "context_length": 4096,
}


def test_running_model_real_shape() -> None:
    m = RunningModel.from_json(PS_ITEM)
    assert m.name == "mistral:latest"
    assert m.short_id == "2ae6f6dd7a3d"
    assert m.processor == "100% GPU"
    assert m.context_length == 4096
    assert m.expires_at == datetime(2024, 6, 4, 14, 38, 31, 837530, tzinfo=PDT)
    assert m.details.families == ()


def test_running_model_old_shape() -> None:
    # The seed document's {"running":[{name,status,pid}]} items.
    m = RunningModel.from_json({"name": "llama3", "status": "loaded", "pid": 1234})
    assert m.name == m.model == "llama3"
    assert m.expires_at is None
    assert m.until() == "-"
    assert not m.is_stopping()
    assert m.context_length is None


@pytest.mark.parametrize(
    ("size", "vram", "expected"),
    [
        (100, 0, "100% CPU"),
        (0, 0, "100% CPU"),
        (100, 100, "100% GPU"),
        (100, 101, "Unknown"),
        (0, 5, "Unknown"),
        (100, 52, "48%/52% CPU/GPU"),
        (1000, 525, "48%/52% CPU/GPU"),  # 47.5 rounds half away from zero like Go
        (1000, 515, "49%/51% CPU/GPU"),  # 48.5 -> 49 (Python's round would give 48)
        (3, 1, "67%/33% CPU/GPU"),
        (1000, 999, "0%/100% CPU/GPU"),
    ],
)
def test_processor(size: int, vram: int, expected: str) -> None:
    m = RunningModel.from_json({"name": "m", "size": size, "size_vram": vram})
    assert m.processor == expected


NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(minutes=4, seconds=10), "4 minutes from now"),
        (timedelta(seconds=30), "30 seconds from now"),
        (timedelta(hours=2), "2 hours from now"),
        (timedelta(seconds=-1), "Stopping..."),
        (timedelta(days=-3), "Stopping..."),
        (timedelta(days=365 * 292), "Forever"),
        (timedelta(days=365 * 21 + 10), "Forever"),
        (timedelta(days=365 * 5), "5 years from now"),
    ],
)
def test_until(delta: timedelta, expected: str) -> None:
    m = RunningModel.from_json({"name": "m", "expires_at": (NOW + delta).isoformat()})
    assert m.until(NOW) == expected
    assert m.is_stopping(NOW) is (delta < timedelta(0))


def test_until_with_other_zone() -> None:
    expires = (NOW + timedelta(minutes=10)).astimezone(PDT).isoformat()
    m = RunningModel.from_json({"name": "m", "expires_at": expires})
    assert m.until(NOW) == "10 minutes from now"


SHOW = {
    "modelfile": '# Modelfile generated by "ollama show"\nFROM /blobs/sha256-abc\n',
    "parameters": "\n".join(
        [
            "num_ctx                        4096",
            'stop                           "<|eot_id|>"',
            'stop                           "<|end|>"',
            "temperature                    0.7",
        ]
    ),
    "template": "{{ .Prompt }}",
    "system": "You are Mario.",
    "license": "MIT\nApache",
    "details": {"format": "gguf", "family": "llama", "parameter_size": "3.2B"},
    "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
    "model_info": {
        "general.architecture": "llama",
        "general.parameter_count": 3212749888,
        "llama.context_length": 131072,
        "llama.embedding_length": 3072,
    },
    "capabilities": ["completion", "tools"],
    "modified_at": "2025-05-04T17:37:44.706015396-07:00",
    "tensors": [{"name": "x"}],
}


def test_show_real_shape() -> None:
    s = ModelShow.from_json(SHOW)
    assert s.modelfile.startswith("# Modelfile")
    assert s.parameters_dict == {
        "num_ctx": 4096,
        "stop": ["<|eot_id|>", "<|end|>"],
        "temperature": 0.7,
    }
    assert s.system == "You are Mario."
    assert s.license == "MIT\nApache"
    assert [(m.role, m.content) for m in s.messages] == [("user", "hi"), ("assistant", "hello")]
    assert s.architecture == "llama"
    assert s.parameter_count == 3212749888
    assert s.context_length == 131072
    assert s.embedding_length == 3072
    assert s.capabilities == ("completion", "tools")
    assert s.details.parameter_size == "3.2B"
    assert s.modified_at is not None


def test_show_old_flat_shape() -> None:
    s = ModelShow.from_json(
        {
            "name": "llama2",
            "modified_at": "2023-08-04T19:22:45.499127Z",
            "size": 1,
            "digest": "x",
            "format": "gguf",
            "family": "llama",
            "parameter_size": "7B",
            "quantization_level": "Q4_0",
            "model_file": "FROM llama2\n",
        }
    )
    assert s.modelfile == "FROM llama2\n"
    assert s.details.format == "gguf"
    assert s.details.family == "llama"
    assert s.details.parameter_size == "7B"
    assert s.details.quantization_level == "Q4_0"
    assert s.model_info == {}
    assert s.parameters_dict == {}
    assert s.architecture is None
    assert s.context_length is None


def test_show_minimal_and_context_from_details() -> None:
    s = ModelShow.from_json({"model_info": None, "details": {"context_length": 8192}})
    assert s.context_length == 8192
    assert s.capabilities == ()
    assert s.messages == ()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ({"status": "pulling manifest"}, ProgressEvent("pulling manifest")),
        (
            {"status": "pulling dde5aa3fc5ff", "digest": "sha256:dd", "total": 10, "completed": 5},
            ProgressEvent("pulling dde5aa3fc5ff", "sha256:dd", 10, 5),
        ),
        (
            {"status": "pulling dde5aa3fc5ff", "digest": "sha256:dd"},
            ProgressEvent("pulling dde5aa3fc5ff", "sha256:dd", 0, 0),
        ),
        ({"status": "x", "total": 3.0, "completed": None}, ProgressEvent("x", None, 3, 0)),
        ({"unexpected": True}, ProgressEvent("")),
    ],
)
def test_progress_event(line: dict[str, object], expected: ProgressEvent) -> None:
    assert ProgressEvent.from_json(line) == expected


def test_progress_is_layer() -> None:
    assert ProgressEvent("pulling a", "sha256:a", 10, 0).is_layer
    assert not ProgressEvent("pulling a", "sha256:a", 0, 0).is_layer
    assert not ProgressEvent("verifying sha256 digest").is_layer
