"""Model names: parsing, validation, display form like types/model/name.go."""

from __future__ import annotations

import pytest

from ollama_tui.api import (
    InvalidInput,
    ModelName,
    names_equal,
    normalize_model_name,
    parse_model_name,
    validate_model_name,
)

VALID = [
    # (input, host, namespace, model, tag, display)
    ("llama3.2", "registry.ollama.ai", "library", "llama3.2", "latest", "llama3.2:latest"),
    ("llama3.2:1b", "registry.ollama.ai", "library", "llama3.2", "1b", "llama3.2:1b"),
    ("user/model:7b", "registry.ollama.ai", "user", "model", "7b", "user/model:7b"),
    ("library/llama3.2", "registry.ollama.ai", "library", "llama3.2", "latest", "llama3.2:latest"),
    (
        "registry.ollama.ai/library/llama3.2:3b",
        "registry.ollama.ai",
        "library",
        "llama3.2",
        "3b",
        "llama3.2:3b",
    ),
    (
        "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M",
        "hf.co",
        "bartowski",
        "Llama-3.2-1B-Instruct-GGUF",
        "Q4_K_M",
        "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M",
    ),
    ("hf.co/org/repo:Q4_K_M", "hf.co", "org", "repo", "Q4_K_M", "hf.co/org/repo:Q4_K_M"),
    (
        "example.com:5000/ns/m",
        "example.com:5000",
        "ns",
        "m",
        "latest",
        "example.com:5000/ns/m:latest",
    ),
    (
        "example.com:5000/ns/m:v1",
        "example.com:5000",
        "ns",
        "m",
        "v1",
        "example.com:5000/ns/m:v1",
    ),
    ("http://example.com/ns/m", "example.com", "ns", "m", "latest", "example.com/ns/m:latest"),
    ("Mistral:Latest", "registry.ollama.ai", "library", "Mistral", "Latest", "Mistral:Latest"),
    ("_private/_m:_t", "registry.ollama.ai", "_private", "_m", "_t", "_private/_m:_t"),
    ("qwen2.5:0.5b", "registry.ollama.ai", "library", "qwen2.5", "0.5b", "qwen2.5:0.5b"),
    ("gpt-oss:120b-cloud", "registry.ollama.ai", "library", "gpt-oss", "120b-cloud", None),
    ("m:local", "registry.ollama.ai", "library", "m", "local", "m:local"),
    ("REGISTRY.OLLAMA.AI/LIBRARY/m", "REGISTRY.OLLAMA.AI", "LIBRARY", "m", "latest", "m:latest"),
    ("a" * 80, "registry.ollama.ai", "library", "a" * 80, "latest", "a" * 80 + ":latest"),
    ("m:" + "t" * 80, "registry.ollama.ai", "library", "m", "t" * 80, None),
    ("n" * 80 + "/m", "registry.ollama.ai", "n" * 80, "m", "latest", None),
    ("h" * 350 + "/n/m", "h" * 350, "n", "m", "latest", None),
    ("0model", "registry.ollama.ai", "library", "0model", "latest", "0model:latest"),
]


@pytest.mark.parametrize(("text", "host", "namespace", "model", "tag", "display"), VALID)
def test_valid_names(
    text: str, host: str, namespace: str, model: str, tag: str, display: str | None
) -> None:
    name = parse_model_name(text)
    assert name == ModelName(host, namespace, model, tag)
    assert validate_model_name(text) is None
    if display is not None:
        assert name.display == display
        assert normalize_model_name(text) == display
        assert str(name) == display


INVALID = [
    # (input, fragment of the reason)
    ("", "empty"),
    ("foo:", "tag after ':' is empty"),
    (":foo", "before ':' is empty"),
    ("/foo", "namespace before '/' is empty"),
    ("foo/", "after '/' is empty"),
    ("a//b", "namespace before '/' is empty"),
    ("/a/b", "host before '/' is empty"),
    ("a/b/c/d", "too many '/' parts"),
    ("a/b/c/d/e", "too many '/' parts"),
    ("llama 3", "spaces"),
    (" llama3", "spaces"),
    ("llama3 ", "spaces"),
    ("llama3\t", "spaces"),
    ("llama3@sha256:" + "a" * 64, "@digest"),
    ("llama3:latest@sha256:abc", "@digest"),
    ("-llama", "part 'model' must start with a letter, digit or '_'"),
    (".llama", "part 'model' must start"),
    ("m:-tag", "part 'tag' must start"),
    ("ns.x/m", "part 'namespace' may only contain letters, digits, '_', '-'"),
    ("m:t:x", "part 'model' may only contain"),
    ("m:ta+g", "part 'tag' may only contain letters, digits, '_', '-', '.'"),
    ("mo$del", "part 'model' may only contain letters, digits, '_', '-', '.'"),
    ("ex!ample.com/ns/m", "part 'host' may only contain"),
    ("llamä", "part 'model' may only contain"),
    ("a" * 81, "part 'model' is too long (81 characters; at most 80)"),
    ("m:" + "t" * 81, "part 'tag' is too long"),
    ("n" * 81 + "/m", "part 'namespace' is too long"),
    ("h" * 351 + "/n/m", "part 'host' is too long"),
    ("http://m", "namespace before '/' is empty"),
]


@pytest.mark.parametrize(("text", "fragment"), INVALID)
def test_invalid_names(text: str, fragment: str) -> None:
    reason = validate_model_name(text)
    assert reason is not None
    assert fragment in reason
    with pytest.raises(InvalidInput) as info:
        parse_model_name(text)
    assert fragment in str(info.value)
    assert repr(text) in str(info.value)
    assert isinstance(info.value, ValueError)
    with pytest.raises(InvalidInput):
        normalize_model_name(text)


def test_full_form() -> None:
    assert parse_model_name("llama3.2").full == "registry.ollama.ai/library/llama3.2:latest"


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        ("llama3.2", "llama3.2:latest", True),
        ("Llama3.2", "llama3.2:LATEST", True),
        ("library/llama3.2", "registry.ollama.ai/library/llama3.2:latest", True),
        ("llama3.2:1b", "llama3.2:3b", False),
        ("user/m", "m", False),
        ("hf.co/org/repo:Q4_K_M", "HF.CO/org/repo:q4_k_m", True),
        ("bad name", "BAD NAME", True),
        ("bad name", "llama3.2", False),
    ],
)
def test_names_equal(a: str, b: str, equal: bool) -> None:
    assert names_equal(a, b) is equal
    assert names_equal(b, a) is equal
