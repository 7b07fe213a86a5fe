"""Wire models: real and old shapes, times, the CLI ps columns."""

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
from ollama_tui.api.limits import MAX_INT
from ollama_tui.api.models import checked_int, parse_parameter_size
from ollama_tui.formatting import human_bytes, human_number

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
        "", "gguf", "llama", ("llama",), "3.2B", "Q4_K_M", 131072, 3072, 3_200_000_000
    )
    assert m.capabilities == ("completion", "tools")
    assert not m.is_remote


def test_local_model_tolerant() -> None:
    m = LocalModel.from_json({"model": "x:latest", "digest": "sha256:" + "b" * 64})
    assert m.name == "x:latest"
    assert m.digest == "b" * 64
    assert m.modified_at is None
    assert m.size is None  # missing: unknown, not 0
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
    assert m.until() == "–"
    assert not m.is_stopping()
    assert m.context_length is None


@pytest.mark.parametrize(
    ("size", "vram", "expected"),
    [
        (100, 0, "100% CPU"),
        (0, 0, "100% CPU"),
        (100, 100, "100% GPU"),
        (100, 101, "–"),
        (0, 5, "–"),
        (None, 5, "–"),
        (100, None, "–"),
        (100, -1e308, "–"),
        (10**400, 5, "–"),
        (100, 52, "48%/52% CPU/GPU"),
        (1000, 525, "48%/52% CPU/GPU"),  # 47.5 rounds half away from zero like Go
        (1000, 515, "49%/51% CPU/GPU"),  # 48.5 -> 49 (Python's round would give 48)
        (3, 1, "67%/33% CPU/GPU"),
        (1000, 999, "0%/100% CPU/GPU"),
    ],
)
def test_processor(size: object, vram: object, expected: str) -> None:
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


# --- numbers: one checked parser, out of range = unknown (issue #9, group 3) ------------------

# What a broken or hostile server may put where a number belongs: none of it is a number we use.
OUT_OF_RANGE: list[object] = [
    -1,
    -1e308,
    1e308,
    10**400,
    -(10**400),
    MAX_INT + 1,
    float("nan"),
    float("inf"),
    float("-inf"),
    True,
    False,
    "123",
    "1e3",
    None,
    [1],
    {"n": 1},
]


@pytest.mark.parametrize("value", OUT_OF_RANGE, ids=repr)
def test_checked_int_out_of_range_is_unknown(value: object) -> None:
    assert checked_int(value) is None


@pytest.mark.parametrize(
    ("value", "expected"), [(0, 0), (5, 5), (5.0, 5), (2.9, 2), (MAX_INT, MAX_INT), (1e18, 10**18)]
)
def test_checked_int_in_range(value: object, expected: int) -> None:
    assert checked_int(value) == expected
    assert type(checked_int(value)) is int


@pytest.mark.parametrize("value", OUT_OF_RANGE, ids=repr)
def test_every_wire_number_is_checked(value: object) -> None:
    """Each numeric field of each wire model: out of range reads as unknown, never as itself."""
    details = {"context_length": value, "embedding_length": value, "parameter_size": "1B"}
    local = LocalModel.from_json({"name": "m", "size": value, "details": details})
    assert local.size is None
    assert (local.details.context_length, local.details.embedding_length) == (None, None)
    running = RunningModel.from_json(
        {"name": "m", "size": value, "size_vram": value, "context_length": value}
    )
    assert (running.size, running.size_vram, running.context_length) == (None, None, None)
    assert running.processor in ("–", "100% CPU")  # size_vram False is not 0
    info = {
        "general.architecture": "llama",
        "general.parameter_count": value,
        "llama.context_length": value,
        "llama.embedding_length": value,
    }
    show = ModelShow.from_json({"model_info": info, "details": details})
    assert (show.parameter_count, show.context_length, show.embedding_length) == (None,) * 3
    event = ProgressEvent.from_json({"status": "pulling a", "digest": "a", "total": value})
    assert event.total == 0 and not event.is_layer
    event = ProgressEvent.from_json({"status": "pulling a", "total": 10, "completed": value})
    assert (event.total, event.completed) == (10, 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("494.03M", 494_030_000),
        ("1.2B", 1_200_000_000),
        ("8B", 8_000_000_000),
        ("137M", 137_000_000),
        (" 7.6 b ", 7_600_000_000),
        ("23", 23),
        ("0.5K", 500),
        ("0B", None),
        ("9" * 30 + "T", None),  # beyond MAX_INT
        ("9" * 400 + "B", None),  # not even parsed as a number: too many digits
        ("1e400B", None),
        ("nanB", None),
        ("-1B", None),
        ("[/]", None),
        ("", None),
        (12, None),
    ],
)
def test_parameter_size_is_a_checked_count(text: object, expected: int | None) -> None:
    assert parse_parameter_size(text) == expected
    assert ModelDetails.from_json({"parameter_size": text}).parameter_count == expected


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (494_030_000, "494M"),
        (494_032_768, "494M"),
        (1_200_000_000, "1.2B"),
        (3_212_749_888, "3.2B"),
        (20_900_000_000, "20.9B"),
        (23_500_000, "23.5M"),
        (99_960_000, "100M"),
        (8_000_000_000, "8B"),
        (137_000_000, "137M"),
        (23_000_000, "23M"),
        (999_890_000, "1B"),  # not "1000M"
        (9_960_000_000, "10B"),
        (1_500, "1.5K"),
        (999, "999"),
        (0, "0"),
        (None, "–"),
        (-5, "–"),
        (10**400, "–"),
    ],
)
def test_human_number_reads_alike(count: int | None, expected: str) -> None:
    """PARAMS in one style: "494.03M" beside "1.2B" was two styles (issue #9, group 9)."""
    assert human_number(count) == expected


@pytest.mark.parametrize("size", [None, -1, -(10**400), 10**400])
def test_human_bytes_unknown_is_a_dash(size: int | None) -> None:
    assert human_bytes(size) == "–"


def test_shared_details_are_read_once_and_never_confused() -> None:
    """Equal ``details`` objects give one shared ModelDetails; values that compare equal but
    differ in type (True and 1) or need the flat fallback are never mixed up."""
    from ollama_tui.api.models import LocalModel

    details = {
        "parent_model": "",
        "format": "gguf",
        "family": "llama",
        "families": ["llama"],
        "parameter_size": "3.2B",
        "quantization_level": "Q4_K_M",
        "context_length": 1,
    }
    a = LocalModel.from_json({"name": "a", "details": dict(details)})
    b = LocalModel.from_json({"name": "b", "details": dict(details)})
    assert a.details is b.details and a.details.context_length == 1
    odd = LocalModel.from_json({"name": "c", "details": {**details, "context_length": True}})
    assert odd.details.context_length is None
    flat = LocalModel.from_json(
        {"name": "d", "family": "qwen2", "details": {**details, "family": None}}
    )
    assert flat.details.family == "qwen2"


def test_details_that_cannot_be_a_key_are_read_in_full() -> None:
    """A nested list in ``families``, or an object among the values, is read (never cached,
    never a crash); a ``details`` that is not an object reads as empty."""
    from ollama_tui.api.models import LocalModel

    nested = LocalModel.from_json({"name": "a", "details": {"families": [["x"], "llama"]}})
    assert nested.details.families == ("llama",)
    inner = LocalModel.from_json({"name": "b", "details": {"family": {"x": 1}, "format": "gguf"}})
    assert inner.details.family == "" and inner.details.format == "gguf"
    assert LocalModel.from_json({"name": "c", "details": ["gguf"]}).details.format == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T12:00:00.123456789Z", "2024-05-01T12:00:00.123456+00:00"),
        (" 2024-05-01T12:00:00.1z ", "2024-05-01T12:00:00.100000+00:00"),
        ("2024-05-01T12:00:00-07:00", "2024-05-01T12:00:00-07:00"),
        ("2024-05-01T12:00:00", "2024-05-01T12:00:00+00:00"),
        ("0001-01-01T00:00:00Z", None),
        ("yesterday", None),
    ],
)
def test_times_read_as_rfc_3339(text: str, expected: str | None) -> None:
    from ollama_tui.api.models import parse_time

    parsed = parse_time(text)
    assert (parsed.isoformat() if parsed else None) == expected
