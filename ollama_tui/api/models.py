"""Typed, immutable views of the server JSON; tolerant of missing fields and old shapes."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Self

import humanize

from ollama_tui.api import limits
from ollama_tui.api.limits import MAX_INT

if TYPE_CHECKING:
    from ollama_tui.modelfile import Message, ParamValue

UNKNOWN = "–"
"""How an unknown value reads in every cell and detail (the CLI's "Unknown" and "-" too)."""

_FRACTION_RE = re.compile(r"(\.\d{6})\d+")
_EMPTY_INFO: Mapping[str, Any] = MappingProxyType({})


def parse_time(value: object) -> datetime | None:
    """RFC 3339 (0-9 fraction digits, ``Z`` or offset) -> aware datetime; Go's zero time -> None."""
    if not isinstance(value, str) or not value:
        return None
    parsed: datetime | None
    try:
        # Python 3.11 reads RFC 3339 itself (``Z``, any number of fraction digits, cut to
        # microseconds): the usual case in one C call, thousands of times per model list.
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = _parse_time_slowly(value)
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if parsed.year <= 1:
        return None
    return parsed


def _parse_time_slowly(value: str) -> datetime | None:
    """What ``fromisoformat`` refuses as it stands: spaces around, a lower-case ``z``."""
    text = value.strip()
    # Nanoseconds: cut to microseconds ourselves rather than rely on the running Python's parser.
    match = _FRACTION_RE.search(text)  # (not .sub: expanding its template costs more)
    if match is not None:
        text = text[: match.start()] + match.group(1) + text[match.end() :]
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _str(value: object, default: str = "") -> str:
    """A one-line string from the server, cut to ``MAX_TEXT_CHARS`` (every widget shows it)."""
    if type(value) is str and len(value) <= limits.MAX_TEXT_CHARS:
        return value  # the usual case, without a call (thousands per model list)
    return limits.cut(value) if isinstance(value, str) else default


def _doc(value: object) -> str:
    """A multi-line text of /api/show (Modelfile, template...), cut to ``MAX_DOCUMENT_CHARS``."""
    return limits.cut(value, limits.MAX_DOCUMENT_CHARS) if isinstance(value, str) else ""


def _opt_str(value: object) -> str | None:
    return limits.cut(value) if isinstance(value, str) and value else None


def checked_int(value: object, low: int = 0, high: int = MAX_INT) -> int | None:
    """The one parser for every number the server sends: an int in ``[low, high]``, else None.

    None means "unknown" (shown as ``–``): bools, strings (even of digits), NaN/inf, and every
    value out of range, so no later arithmetic or formatting can overflow. Finite floats are
    taken (truncated), as JSON does not tell ``5`` from ``5.0``.
    """
    if type(value) is int:  # the usual case first, and never a bool
        return value if low <= value <= high else None
    if isinstance(value, float):
        if not low <= value <= high:  # NaN compares false: unknown too
            return None
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value) if low <= value <= high else None
    return None


def _positive(value: object) -> int | None:
    """A length or count where 0 means "not given" (context length, parameter count)."""
    return checked_int(value, 1)


_PARAM_SIZE_RE = re.compile(r"\s*([0-9]{1,30}(?:\.[0-9]{1,30})?)\s*([KMBT]?)\s*", re.IGNORECASE)
_PARAM_SCALE = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9, "T": 10**12}


def parse_parameter_size(text: object) -> int | None:
    """``details.parameter_size`` ("494.03M", "1.2B", "8B") as a checked count, else None."""
    if not isinstance(text, str):
        return None
    match = _PARAM_SIZE_RE.fullmatch(text)
    if match is None:
        return None
    number, suffix = match.groups()
    whole, _, fraction = number.partition(".")
    scale = _PARAM_SCALE[suffix.upper()]
    # Exact integer arithmetic: no float can overflow or round here.
    count = (int(whole) * 10 ** len(fraction) + int(fraction or "0")) * scale // 10 ** len(fraction)
    return _positive(count)


def _str_tuple(value: object) -> tuple[str, ...]:
    if isinstance(value, list | tuple):
        kept = value[: limits.MAX_LIST_ITEMS]
        return tuple(limits.cut(v) for v in kept if isinstance(v, str))
    return ()


def _digest(value: object) -> str:
    text = _str(value)
    return text[7:] if text.startswith(("sha256:", "sha256-")) else text


def _mapping(value: object) -> Mapping[str, Any]:
    if type(value) is dict:  # what JSON gives: no abstract-class check
        return value
    return value if isinstance(value, Mapping) else _EMPTY_INFO


_DETAILS_KEYS = ("parent_model", "format", "family", "parameter_size", "quantization_level")
_DETAILS_CACHE: dict[tuple[Any, ...], ModelDetails] = {}
_DETAILS_CACHE_SIZE = 4096


_PLAIN_TYPES = frozenset((str, int, float, type(None)))


def _details_key(d: object) -> tuple[Any, ...] | None:
    """A hashable key of a ``details`` object, else None (read it in full). C-level work
    only: this runs for every model of every list.

    Equal keys mean equal results: values must be plain (a bool, where ``True == 1``, reads
    otherwise than the number), and ``families`` items that are not strings are dropped by
    the reader whatever they are."""
    if type(d) is not dict:
        return None
    items = d.copy()
    families = items.pop("families", None)
    if type(families) is list:
        families = tuple(families)
    elif families is not None:
        return None
    if not _PLAIN_TYPES.issuperset(map(type, items.values())):
        return None
    return (tuple(items.items()), families)


def _complete(d: Mapping[str, Any]) -> bool:
    get = d.get
    return all(type(get(k)) is str for k in _DETAILS_KEYS)


@dataclass(frozen=True)
class ModelDetails:
    """The ``details`` object of tags/ps/show."""

    parent_model: str = ""
    format: str = ""
    family: str = ""
    families: tuple[str, ...] = ()
    parameter_size: str = ""
    quantization_level: str = ""
    context_length: int | None = None
    embedding_length: int | None = None
    parameter_count: int | None = None
    """``parameter_size`` as a number (None: missing, unreadable or out of range)."""

    @classmethod
    def from_json(cls, d: Mapping[str, Any], fallback: Mapping[str, Any] | None = None) -> Self:
        """Read ``d``; keys missing there are taken from ``fallback`` (old flat show shape).

        The models of one server share a handful of distinct ``details`` (same family, size,
        quantization): a complete one is read once and the same object reused, which halves
        the cost of reading a list of thousands."""
        key = _details_key(d)
        if key is not None:
            try:
                cached = _DETAILS_CACHE.get(key)
            except TypeError:  # a list or an object inside ``families``
                return cls._read(d, fallback)
            if cached is not None and type(cached) is cls:
                return cached
            if not _complete(d):
                return cls._read(d, fallback)
            made = cls._read(d, None)
            if len(_DETAILS_CACHE) >= _DETAILS_CACHE_SIZE:
                _DETAILS_CACHE.clear()
            _DETAILS_CACHE[key] = made
            return made
        return cls._read(d, fallback)

    @classmethod
    def _read(cls, d: Mapping[str, Any], fallback: Mapping[str, Any] | None) -> Self:
        d = _mapping(d)
        fb = _mapping(fallback)

        def get(key: str) -> Any:
            value = d.get(key)
            return fb.get(key) if value is None else value

        return cls(
            parent_model=_str(get("parent_model")),
            format=_str(get("format")),
            family=_str(get("family")),
            families=_str_tuple(get("families")),
            parameter_size=_str(get("parameter_size")),
            quantization_level=_str(get("quantization_level")),
            context_length=_positive(get("context_length")),
            embedding_length=_positive(get("embedding_length")),
            parameter_count=parse_parameter_size(get("parameter_size")),
        )


@dataclass(frozen=True)
class LocalModel:
    """One entry of ``GET /api/tags``."""

    name: str
    model: str
    modified_at: datetime | None
    size: int | None  # None: unknown (missing or out of range)
    digest: str
    details: ModelDetails
    capabilities: tuple[str, ...] = ()
    remote_model: str | None = None
    remote_host: str | None = None

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Self:
        get = d.get
        model = _str(get("model"))
        name = _str(get("name")) or model
        remote_model, remote_host = get("remote_model"), get("remote_host")
        # The dataclass's frozen __init__ sets each field through object.__setattr__: filling
        # the instance's dict at once reads a list of thousands a third faster (it is the same
        # object; ``replace`` and equality work as usual).
        self = object.__new__(cls)
        self.__dict__.update(
            name=name,
            model=model or name,
            modified_at=parse_time(get("modified_at")),
            size=checked_int(get("size")),
            digest=_digest(get("digest")),
            details=ModelDetails.from_json(_mapping(get("details")), d),
            capabilities=_str_tuple(get("capabilities")),
            remote_model=None if remote_model is None else _opt_str(remote_model),
            remote_host=None if remote_host is None else _opt_str(remote_host),
        )
        return self

    @property
    def short_id(self) -> str:
        """The CLI's ID column: the first 12 hex digits of the manifest digest."""
        return self.digest[:12]

    @property
    def is_remote(self) -> bool:
        """A cloud/remote stub (its size is not the model's)."""
        return bool(self.remote_model or self.remote_host)


def is_embedding_only(capabilities: Sequence[str]) -> bool:
    """An embedding-only model ("embedding" but not "completion"): the server refuses to load
    it through /api/generate, so it is loaded and unloaded through /api/embed."""
    caps = {c.lower() for c in capabilities}
    return "embedding" in caps and "completion" not in caps


@dataclass(frozen=True)
class RunningModel:
    """One entry of ``GET /api/ps`` (or of the old ``running`` list)."""

    name: str
    model: str
    size: int | None  # None: unknown (missing or out of range), like every number below
    size_vram: int | None
    digest: str
    details: ModelDetails
    expires_at: datetime | None
    context_length: int | None = None

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Self:
        name = _str(d.get("name")) or _str(d.get("model"))
        return cls(
            name=name,
            model=_str(d.get("model")) or name,
            size=checked_int(d.get("size")),
            size_vram=checked_int(d.get("size_vram")),
            digest=_digest(d.get("digest")),
            details=ModelDetails.from_json(_mapping(d.get("details")), d),
            expires_at=parse_time(d.get("expires_at")),
            context_length=_positive(d.get("context_length")),
        )

    @property
    def short_id(self) -> str:
        return self.digest[:12]

    @property
    def processor(self) -> str:
        """The CLI's PROCESSOR column, e.g. ``100% GPU``, ``48%/52% CPU/GPU``; ``–`` if unknown."""
        size, vram = self.size, self.size_vram
        if vram == 0:
            return "100% CPU"
        if size is None or vram is None:
            return UNKNOWN
        if vram == size:
            return "100% GPU"
        if vram > size or size == 0:
            return UNKNOWN
        # Go's math.Round rounds half away from zero; Python's round() would not.
        cpu = math.floor((size - vram) / size * 100 + 0.5)
        return f"{cpu}%/{100 - cpu}% CPU/GPU"

    def is_stopping(self, now: datetime | None = None) -> bool:
        """True once ``expires_at`` has passed (the runner is being released)."""
        if self.expires_at is None:
            return False
        return self.expires_at < (now or datetime.now(UTC))

    def until(self, now: datetime | None = None) -> str:
        """The CLI's UNTIL column: ``Forever``, ``Stopping...`` or e.g. ``4 minutes from now``."""
        if self.expires_at is None:
            return UNKNOWN
        now = now or datetime.now(UTC)
        try:
            ahead = self.expires_at - now
        except (OverflowError, TypeError):  # a naive clock, or one at the end of time
            return UNKNOWN
        if ahead < timedelta(0):
            return "Stopping..."
        # Go: int(delta.Hours())/24/365 < -20, i.e. at least 21 whole years ahead.
        if int(ahead.total_seconds() // 3600) // 24 // 365 > 20:
            return "Forever"
        return humanize.naturaltime(self.expires_at, when=now)


def _parse_parameters(text: str) -> dict[str, ParamValue]:
    """The show ``parameters`` block; modelfile's typed parser, else a tolerant fallback."""
    if not text.strip():
        return {}
    try:
        from ollama_tui.modelfile import parse_show_parameters

        return parse_show_parameters(text)
    except (ImportError, ValueError):
        pass
    result: dict[str, Any] = {}
    for line in text.splitlines():
        key, _, raw = line.strip().partition(" ")
        raw = raw.strip()
        if not key:
            continue
        value: Any = raw
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            value = raw[1:-1]
        else:
            for conv in (int, float):
                try:
                    value = conv(raw)
                    break
                except ValueError:
                    continue
            if raw in ("true", "false"):
                value = raw == "true"
        if key in result:
            prev = result[key]
            result[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
        elif key == "stop":
            result[key] = [value]
        else:
            result[key] = value
    return result


def _messages(value: object) -> tuple[Message, ...]:
    if not isinstance(value, list):
        return ()
    from ollama_tui.modelfile import Message

    return tuple(
        Message(_str(m.get("role")), _doc(m.get("content")))
        for m in value[: limits.MAX_LIST_ITEMS]
        if isinstance(m, Mapping)
    )


@dataclass(frozen=True)
class ModelShow:
    """``POST /api/show``: no name/size/digest here (take those from tags)."""

    modelfile: str = ""
    parameters: str = ""
    parameters_dict: Mapping[str, ParamValue] = field(default_factory=dict)
    template: str = ""
    system: str = ""
    license: str = ""
    details: ModelDetails = field(default_factory=ModelDetails)
    messages: tuple[Message, ...] = ()
    model_info: Mapping[str, Any] = field(default_factory=dict)
    capabilities: tuple[str, ...] = ()
    modified_at: datetime | None = None
    renderer: str = ""
    parser: str = ""
    requires: str = ""
    remote_model: str | None = None
    remote_host: str | None = None

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Self:
        parameters = _doc(d.get("parameters"))
        license_value = d.get("license")
        if isinstance(license_value, list):
            license_value = "\n".join(v for v in license_value if isinstance(v, str))
        return cls(
            modelfile=_doc(d.get("modelfile")) or _doc(d.get("model_file")),
            parameters=parameters,
            parameters_dict=MappingProxyType(_parse_parameters(parameters)),
            template=_doc(d.get("template")),
            system=_doc(d.get("system")),
            license=_doc(license_value),
            details=ModelDetails.from_json(_mapping(d.get("details")), d),
            messages=_messages(d.get("messages")),
            model_info=MappingProxyType(dict(_mapping(d.get("model_info")))),
            capabilities=_str_tuple(d.get("capabilities")),
            modified_at=parse_time(d.get("modified_at")),
            renderer=_str(d.get("renderer")),
            parser=_str(d.get("parser")),
            requires=_str(d.get("requires")),
            remote_model=_opt_str(d.get("remote_model")),
            remote_host=_opt_str(d.get("remote_host")),
        )

    @property
    def architecture(self) -> str | None:
        return _opt_str(self.model_info.get("general.architecture"))

    @property
    def parameter_count(self) -> int | None:
        return _positive(self.model_info.get("general.parameter_count"))

    def _arch_int(self, key: str) -> int | None:
        arch = self.architecture
        if arch is None:
            return None
        return _positive(self.model_info.get(f"{arch}.{key}"))

    @property
    def context_length(self) -> int | None:
        """``model_info[<arch>.context_length]`` like the CLI, else ``details``."""
        return self._arch_int("context_length") or self.details.context_length

    @property
    def embedding_length(self) -> int | None:
        return self._arch_int("embedding_length") or self.details.embedding_length


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """One line of a pull/push/create stream (or a client-side upload step).

    ``total`` and ``completed`` are checked like every number; 0 means unknown (a line without a
    bar, or a figure out of range), the meaning the stream's own lines give a missing one.
    """

    status: str
    digest: str | None = None
    total: int = 0
    completed: int = 0

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ProgressEvent:
        """Cheap: this runs once per streamed line, so well-typed lines take a fast path."""
        get = d.get
        status = get("status", "")
        digest = get("digest")
        total = get("total", 0)
        completed = get("completed", 0)
        if (
            type(status) is str
            and type(total) is int
            and type(completed) is int
            and 0 <= total <= MAX_INT
            and 0 <= completed <= MAX_INT
            and len(status) <= _TEXT_CAP
            and (digest is None or (type(digest) is str and len(digest) <= _TEXT_CAP))
        ):
            # Set the slots directly: the frozen __init__ (object.__setattr__ per field)
            # costs about three times as much, and a pull can stream 100,000s of lines.
            event = _new_object(cls)
            _set_status(event, status)
            _set_digest(event, digest)
            _set_total(event, total)
            _set_completed(event, completed)
            return event
        return cls(
            "" if status is None else limits.cut(status if type(status) is str else str(status)),
            None if digest is None else limits.cut(str(digest)),
            checked_int(total) or 0,
            checked_int(completed) or 0,
        )

    @property
    def is_layer(self) -> bool:
        """A progress bar line: it has a digest and a total."""
        return bool(self.digest) and self.total > 0


# Read once, at import: the fast path above runs once per streamed line, where even a module
# attribute look-up shows.
_TEXT_CAP = limits.MAX_TEXT_CHARS
_new_object = object.__new__
_slot_descriptors: dict[str, Any] = dict(vars(ProgressEvent))
_set_status = _slot_descriptors["status"].__set__
_set_digest = _slot_descriptors["digest"].__set__
_set_total = _slot_descriptors["total"].__set__
_set_completed = _slot_descriptors["completed"].__set__


@dataclass(frozen=True)
class GenerateStats:
    """The timing fields of a generate reply's last (``done: true``) line.

    Durations are integer nanoseconds, counts are tokens; each is checked like every number the
    server sends (None: missing, negative, not a number, out of range). Go omits a zero value
    (``omitempty``), so a missing count may mean 0: the caller decides what it needs.
    """

    total_duration: int | None = None
    load_duration: int | None = None
    prompt_eval_count: int | None = None
    prompt_eval_duration: int | None = None
    eval_count: int | None = None
    eval_duration: int | None = None
    done_reason: str = ""

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Self:
        get = d.get
        return cls(
            total_duration=checked_int(get("total_duration")),
            load_duration=checked_int(get("load_duration")),
            prompt_eval_count=checked_int(get("prompt_eval_count")),
            prompt_eval_duration=checked_int(get("prompt_eval_duration")),
            eval_count=checked_int(get("eval_count")),
            eval_duration=checked_int(get("eval_duration")),
            done_reason=_str(get("done_reason")),
        )


@dataclass(frozen=True)
class EmbedStats:
    """An ``/api/embed`` reply without its vectors: how many came back, and the timings
    (checked like :class:`GenerateStats`; ``embeddings`` is None when the list is missing or
    is not a list)."""

    embeddings: int | None = None
    total_duration: int | None = None
    load_duration: int | None = None
    prompt_eval_count: int | None = None

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Self:
        get = d.get
        vectors = get("embeddings")
        return cls(
            embeddings=len(vectors) if isinstance(vectors, list) else None,
            total_duration=checked_int(get("total_duration")),
            load_duration=checked_int(get("load_duration")),
            prompt_eval_count=checked_int(get("prompt_eval_count")),
        )
