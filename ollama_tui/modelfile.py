"""Parse and render Ollama Modelfiles, following the grammar of Ollama's ``parser/parser.go``.

The parser reproduces what ``ollama create`` would send to the server: the same value rules
(quotes, multi-line values, trimming, non-printable characters dropped), the same parameter
types, and the server's wording for errors, with line and column added so an editor can point
at the problem. Checks the Go client makes later (parameter names and types, REQUIRES semver)
are made here too, so one parse finds every error ``ollama create`` would report.

Deliberate differences from the Go parser (the tests pin each one):
- CRLF and a lone CR are one line break and come out as LF in values.
- Several blanks between ``PARAMETER``/``MESSAGE`` and the name/role are accepted.
- An instruction with nothing after it (``SYSTEM`` alone, or only blanks) is an error;
  write ``SYSTEM ""`` for an empty value.
- ``nan``/``inf`` float parameters are rejected (the server cannot store them); floats keep
  double precision (the server rounds to float32).
- FROM and DRAFT: last one wins (Go merges several local weight paths); ADAPTER accumulates.
"""

from __future__ import annotations

import difflib
import re
import struct
from dataclasses import dataclass, field
from typing import Final, TypeAlias

__all__ = [
    "COMMANDS",
    "DEPRECATED_PARAMETERS",
    "MESSAGE_ROLES",
    "PARAMETER_TYPES",
    "Instruction",
    "Message",
    "Modelfile",
    "ModelfileError",
    "ParamValue",
    "parse",
    "parse_parameter_value",
    "parse_show_parameters",
    "quote_value",
    "render",
]

ParamValue: TypeAlias = int | float | bool | str | list[str]

# Current `api.Options` fields a Modelfile may set (Ollama's api/types.go).
PARAMETER_TYPES: Final[dict[str, type]] = {
    "num_ctx": int,
    "num_batch": int,
    "num_gpu": int,
    "main_gpu": int,
    "num_thread": int,
    "num_keep": int,
    "seed": int,
    "num_predict": int,
    "top_k": int,
    "repeat_last_n": int,
    "draft_num_predict": int,
    "temperature": float,
    "top_p": float,
    "min_p": float,
    "typical_p": float,
    "repeat_penalty": float,
    "presence_penalty": float,
    "frequency_penalty": float,
    "use_mmap": bool,
    "stop": list,
}

DEPRECATED_PARAMETERS: Final[frozenset[str]] = frozenset(
    {
        "penalize_newline",
        "low_vram",
        "f16_kv",
        "logits_all",
        "vocab_only",
        "use_mlock",
        "mirostat",
        "mirostat_tau",
        "mirostat_eta",
    }
)

# In the order the server lists them in its error message.
COMMANDS: Final[tuple[str, ...]] = (
    "from",
    "license",
    "template",
    "system",
    "adapter",
    "draft",
    "renderer",
    "parser",
    "parameter",
    "message",
    "requires",
)
MESSAGE_ROLES: Final[tuple[str, ...]] = ("system", "user", "assistant")

_INVALID_COMMAND: Final = (
    'command must be one of "from", "license", "template", "system", "adapter", "draft", '
    '"renderer", "parser", "parameter", "message", or "requires"'
)
_INVALID_ROLE: Final = 'message role must be one of "system", "user", or "assistant"'
_INVALID_REQUIRES: Final = "requires must be a valid semver (e.g. 0.14.0)"

_EXPECTED_VALUE: Final[dict[str, str]] = {
    "from": "a model name or a path to model weights",
    "adapter": "a path to adapter weights",
    "template": 'the prompt template (write "" for an empty one)',
    "system": 'the system message (write "" for an empty one)',
    "license": "the license text",
    "renderer": "a renderer name",
    "parser": "a parser name",
    "requires": "the minimum Ollama version, e.g. 0.14.0",
    "draft": "a draft model name or a path to its weights",
    "parameter": "a parameter name and a value, e.g. PARAMETER temperature 0.7",
    "message": "a role (system, user or assistant) and the message text",
}
_TYPE_HINT: Final[dict[type, str]] = {
    int: "a whole number, e.g. 4096",
    float: "a number, e.g. 0.7",
    bool: "true or false",
    list: "a stop sequence",
}

_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_INT_RE: Final = re.compile(r"[+-]?[0-9]+")
_DEC_FLOAT_RE: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_HEX_FLOAT_RE: Final = re.compile(
    r"([+-]?)0[xX]((?:[0-9a-fA-F]+(?:\.[0-9a-fA-F]*)?|\.[0-9a-fA-F]+)[pP][+-]?[0-9]+)"
)
_SPECIAL_FLOAT_RE: Final = re.compile(r"[+-]?(?:inf|infinity|nan)", re.IGNORECASE)
_BOOLS: Final[dict[str, bool]] = {
    "1": True,
    "t": True,
    "T": True,
    "true": True,
    "TRUE": True,
    "True": True,
    "0": False,
    "f": False,
    "F": False,
    "false": False,
    "FALSE": False,
    "False": False,
}
_PARAM_NAME_RE: Final = re.compile(r"[A-Za-z0-9_]+")
# golang.org/x/mod/semver: vMAJOR[.MINOR[.PATCH[-PRERELEASE][+BUILD]]]
_NUM: Final = r"(?:0|[1-9][0-9]*)"
_PRE_IDENT: Final = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_SEMVER_RE: Final = re.compile(
    rf"v{_NUM}(?:\.{_NUM}(?:\.{_NUM}(?:-{_PRE_IDENT}(?:\.{_PRE_IDENT})*)?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)?)?"
)
_BLANK: Final = " \t"


@dataclass(frozen=True)
class Message:
    """One MESSAGE line: a conversation turn stored with the model."""

    role: str
    content: str


@dataclass(frozen=True)
class Instruction:
    """One instruction as written, with the position of its keyword (1-based)."""

    command: str  # lower-case: "from", "parameter", ...
    name: str | None  # PARAMETER name or MESSAGE role
    value: str  # quotes removed
    line: int
    column: int


@dataclass(frozen=True)
class Modelfile:
    """What a Modelfile means. Equality ignores `instructions` and `warnings`."""

    from_: str | None
    adapters: tuple[str, ...] = ()
    template: str | None = None
    system: str | None = None
    license: tuple[str, ...] = ()
    parameters: tuple[tuple[str, ParamValue], ...] = ()
    messages: tuple[Message, ...] = ()
    renderer: str | None = None
    parser: str | None = None
    requires: str | None = None
    draft: str | None = None
    instructions: tuple[Instruction, ...] = field(default=(), compare=False)
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def parameters_dict(self) -> dict[str, ParamValue]:
        """The parameters as a new dict (lists copied, so callers may change them)."""
        return {k: list(v) if isinstance(v, list) else v for k, v in self.parameters}


class ModelfileError(ValueError):
    """A Modelfile that Ollama would reject; `line`/`column` are 1-based."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"line {line}, column {column}: {message}")
        self.message = message
        self.line = line
        self.column = column

    def __reduce__(self) -> tuple[type[ModelfileError], tuple[str, int, int]]:
        return (type(self), (self.message, self.line, self.column))


# ---------------------------------------------------------------------------------------------
# parameters


def _did_you_mean(word: str, choices: tuple[str, ...] | list[str]) -> str:
    match = difflib.get_close_matches(word.lower(), choices, n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _go_float(raw: str) -> float | None:
    """Parse like Go's strconv.ParseFloat (decimal or hex form); None if not a float."""
    if _DEC_FLOAT_RE.fullmatch(raw):
        return float(raw)
    hex_match = _HEX_FLOAT_RE.fullmatch(raw)
    if hex_match:
        value = float.fromhex("0x" + hex_match.group(2))
        return -value if hex_match.group(1) == "-" else value
    return None


def _fits_float32(value: float) -> bool:
    try:
        struct.pack("<f", value)
    except OverflowError:
        return False
    return True


def parse_parameter_value(name: str, raw: str) -> ParamValue:
    """Type one PARAMETER value as the server does (`stop` gives a one-item list)."""
    if name in DEPRECATED_PARAMETERS:
        raise ValueError(f"parameter '{name}' is deprecated; ollama ignores it")
    kind = PARAMETER_TYPES.get(name)
    if kind is None:
        raise ValueError(f"unknown parameter '{name}'{_did_you_mean(name, list(PARAMETER_TYPES))}")
    if kind is list:
        return [raw]
    if kind is int:
        if _INT_RE.fullmatch(raw):
            value = int(raw)
            if _INT64_MIN <= value <= _INT64_MAX:
                return value
            raise ValueError(
                f"invalid int value {raw!r} for parameter '{name}': out of range "
                "for a 64-bit integer"
            )
        raise ValueError(
            f"invalid int value {raw!r} for parameter '{name}': expected {_TYPE_HINT[int]}"
        )
    if kind is float:
        if _SPECIAL_FLOAT_RE.fullmatch(raw):
            raise ValueError(
                f"invalid float value {raw!r} for parameter '{name}': must be a finite number"
            )
        number = _go_float(raw)
        if number is None:
            raise ValueError(
                f"invalid float value {raw!r} for parameter '{name}': expected {_TYPE_HINT[float]}"
            )
        if not _fits_float32(number):
            raise ValueError(
                f"invalid float value {raw!r} for parameter '{name}': out of range "
                "for a 32-bit float"
            )
        return number
    if raw in _BOOLS:
        return _BOOLS[raw]
    raise ValueError(f"invalid bool value {raw!r} for parameter '{name}': expected true or false")


# ---------------------------------------------------------------------------------------------
# parsing


def _keep(ch: str) -> bool:
    """Go keeps only printable runes (plus the spaces/newlines it writes itself)."""
    return ch.isprintable() or ch == "\t"


def _unquote(text: str) -> tuple[str, bool]:
    """parser.go's unquote: strip \"\"\"/\" pairs; False while the closing quote is missing."""
    if text.startswith('"""'):
        if len(text) >= 6 and text.endswith('"""'):
            return text[3:-3], True
        return "", False
    if text.startswith('"'):
        if len(text) >= 2 and text.endswith('"'):
            return text[1:-1], True
        return "", False
    return text, True


@dataclass
class _Value:
    text: str
    line: int  # position of the value's first character (the opening quote, if any)
    column: int
    last_line_index: int  # 0-based index of the line the value ends on
    dropped: int  # non-printable characters removed
    first_dropped: tuple[int, int, str] | None


def _skip_blank(line: str, pos: int) -> int:
    while pos < len(line) and line[pos] in _BLANK:
        pos += 1
    return pos


def _scan_value(lines: list[str], index: int, start: int) -> _Value | None:
    """Read a value that starts at lines[index][start:]; None if the line has nothing.

    Mirrors parser.go: text accumulates line by line until, at a line end, the trimmed text so
    far is complete (plain, or opened and closed by the same quotes).
    """
    dropped = 0
    first_dropped: tuple[int, int, str] | None = None
    chunks: list[str] = []
    value_col = -1
    i = index
    offset = start
    last_content = ""  # the last chunk with non-blank text, right-stripped
    spans_lines = False  # whether that chunk is a later line than the opening one
    while True:
        raw = lines[i][offset:]
        kept: list[str] = []
        for n, ch in enumerate(raw):
            if _keep(ch):
                kept.append(ch)
            else:
                dropped += 1
                if first_dropped is None:
                    first_dropped = (i + 1, offset + n + 1, ch)
        chunk = "".join(kept)
        if i == index:
            if not chunk.strip(_BLANK):
                return None
            value_col = next(
                offset + n + 1 for n, ch in enumerate(raw) if _keep(ch) and ch not in _BLANK
            )
        chunks.append(chunk)
        stripped = chunk.rstrip(_BLANK)
        if stripped:
            last_content = stripped
            spans_lines = i > index
        # The trimmed text is complete once it ends with the quotes it starts with; opening and
        # closing quotes may not overlap (a lone """ or " is still open).
        first = chunks[0].strip(_BLANK)
        quote = '"""' if first.startswith('"""') else '"' if first.startswith('"') else ""
        complete = not quote or (
            last_content.endswith(quote) and (spans_lines or len(first) >= 2 * len(quote))
        )
        if complete:
            text, ok = _unquote("\n".join(chunks).strip(" \t\n"))
            assert ok
            return _Value(text, index + 1, value_col, i, dropped, first_dropped)
        i += 1
        offset = 0
        if i == len(lines):
            raise _unclosed(index, value_col, chunks)


def _unclosed(index: int, value_col: int, chunks: list[str]) -> ModelfileError:
    quote = '"""' if chunks[0].lstrip(_BLANK).startswith('"""') else '"'
    hint = ""
    # Find a closing quote followed by more text: the usual cause of a value that never ends.
    for n, chunk in enumerate(chunks):
        body = chunk.lstrip(_BLANK)[len(quote) :] if n == 0 else chunk
        at = body.find(quote)
        if at >= 0 and body[at + len(quote) :].strip(_BLANK):
            hint = (
                f"; the {quote} on line {index + 1 + n} is followed by more text, "
                "but the closing quotes must end the value"
            )
            break
    return ModelfileError(
        f"unexpected end of file: the {quote} opened on line {index + 1} is never closed{hint}",
        index + 1,
        value_col,
    )


class _Warnings:
    """Warnings collected while parsing, reported in file order."""

    def __init__(self) -> None:
        self._items: list[tuple[int, int, str]] = []

    def append(self, line: int, column: int, message: str) -> None:
        self._items.append((line, column, message))

    def sorted(self) -> tuple[str, ...]:
        return tuple(f"line {ln}, column {col}: {msg}" for ln, col, msg in sorted(self._items))


def _normalize(text: str) -> list[str]:
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _parse_instructions(
    lines: list[str], warnings: _Warnings
) -> list[tuple[Instruction, int, int]]:
    """The instructions, each with the line and column where its value starts."""
    out: list[tuple[Instruction, int, int]] = []
    i = 0
    previous_plain = False
    while i < len(lines):
        line = lines[i]
        lineno = i + 1
        j = _skip_blank(line, 0)
        if j == len(line) or line[j] == "#":
            i += 1
            continue
        k = j
        while k < len(line) and line[k] not in _BLANK:
            k += 1
        word = line[j:k]
        a = j
        while a < k and line[a].isascii() and line[a].isalpha():
            a += 1
        command = line[j:a].lower()
        if command not in COMMANDS:
            close = difflib.get_close_matches(word.lower(), COMMANDS, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0].upper()}?)" if close else ""
            if not hint and previous_plain:
                hint = (
                    " (if this line belongs to the value above, put that value in "
                    '"""triple quotes""")'
                )
            raise ModelfileError(
                f"unknown instruction {word!r}{hint}; {_INVALID_COMMAND}", lineno, j + 1
            )
        keyword = command.upper()
        if a < k:
            raise ModelfileError(
                f"expected a space or tab after {keyword}, found {line[a]!r}", lineno, a + 1
            )
        name: str | None = None
        pos = k
        if command in ("parameter", "message"):
            p = _skip_blank(line, k)
            if p == len(line):
                raise ModelfileError(
                    f"{keyword} has no value; expected {_EXPECTED_VALUE[command]}", lineno, k + 1
                )
            q = p
            while q < len(line) and line[q] not in _BLANK:
                q += 1
            name = line[p:q]
            if command == "parameter":
                bad = next(
                    (n for n, ch in enumerate(name) if not _PARAM_NAME_RE.fullmatch(ch)), None
                )
                if bad is not None:
                    raise ModelfileError(
                        f"invalid parameter name {name!r}: found {name[bad]!r}, but a name may "
                        "only contain letters, digits and '_' (then a space and the value)",
                        lineno,
                        p + 1 + bad,
                    )
                if name not in PARAMETER_TYPES and name not in DEPRECATED_PARAMETERS:
                    raise ModelfileError(
                        f"unknown parameter '{name}'{_did_you_mean(name, list(PARAMETER_TYPES))}",
                        lineno,
                        p + 1,
                    )
            elif name not in MESSAGE_ROLES:
                hint = ""
                if name.rstrip(":") in MESSAGE_ROLES:
                    hint = f" (write the role without ':', e.g. MESSAGE {name.rstrip(':')} Hi)"
                elif name.lower().rstrip(":") in MESSAGE_ROLES:
                    hint = " (roles are lower-case)"
                raise ModelfileError(f"{_INVALID_ROLE}, not {name!r}{hint}", lineno, p + 1)
            pos = q
        value = _scan_value(lines, i, pos)
        if value is None:
            if command == "parameter":
                kind = PARAMETER_TYPES.get(name or "", str)
                expected = _TYPE_HINT.get(kind, "a value")
                message = f"PARAMETER {name} has no value; expected {expected}"
            elif command == "message":
                message = f"MESSAGE {name} has no text; expected the message after the role"
            else:
                message = f"{keyword} has no value; expected {_EXPECTED_VALUE[command]}"
            raise ModelfileError(message, lineno, pos + 1)
        if value.dropped and value.first_dropped is not None:
            d_line, d_col, ch = value.first_dropped
            warnings.append(
                d_line,
                d_col,
                f"removed {value.dropped} non-printable "
                f"character(s) from the {keyword} value (first U+{ord(ch):04X}); "
                "ollama ignores them",
            )
        out.append(
            (Instruction(command, name, value.text, lineno, j + 1), value.line, value.column)
        )
        previous_plain = not lines[value.line - 1][value.column - 1 :].startswith('"')
        i = value.last_line_index + 1
    return out


def _normalize_requires(value: str) -> str | None:
    candidate = value if value.startswith("v") else "v" + value
    return candidate[1:] if _SEMVER_RE.fullmatch(candidate) else None


def parse(text: str, *, require_from: bool = True) -> Modelfile:
    """Parse Modelfile text; raise ModelfileError (with line and column) if Ollama would not.

    `require_from=False` accepts a file without FROM (while it is being edited).
    """
    warnings = _Warnings()
    lines = _normalize(text)
    parsed = _parse_instructions(lines, warnings)

    from_: str | None = None
    singles: dict[str, str] = {}
    single_lines: dict[str, int] = {}
    adapters: list[str] = []
    licenses: list[str] = []
    messages: list[Message] = []
    params: dict[str, ParamValue] = {}
    param_lines: dict[str, int] = {}
    for ins, v_line, v_col in parsed:
        cmd = ins.command
        if cmd == "parameter":
            assert ins.name is not None
            if ins.name in DEPRECATED_PARAMETERS:
                warnings.append(
                    ins.line, ins.column, f"parameter {ins.name} is deprecated and was ignored"
                )
                continue
            try:
                typed = parse_parameter_value(ins.name, ins.value)
            except ValueError as exc:
                raise ModelfileError(str(exc), v_line, v_col) from None
            existing = params.get(ins.name)
            if isinstance(existing, list) and isinstance(typed, list):
                existing.extend(typed)
            else:
                if ins.name in params:
                    warnings.append(
                        ins.line,
                        ins.column,
                        f"PARAMETER {ins.name} replaces "
                        f"the value set on line {param_lines[ins.name]}",
                    )
                params[ins.name] = typed
                param_lines[ins.name] = ins.line
        elif cmd == "message":
            assert ins.name is not None
            messages.append(Message(ins.name, ins.value))
        elif cmd == "adapter":
            adapters.append(ins.value)
        elif cmd == "license":
            licenses.append(ins.value)
        else:
            value = ins.value
            if cmd == "requires":
                normalized = _normalize_requires(value)
                if normalized is None:
                    raise ModelfileError(f"{_INVALID_REQUIRES}, not {value!r}", v_line, v_col)
                value = normalized
            if cmd in single_lines:
                warnings.append(
                    ins.line,
                    ins.column,
                    f"{cmd.upper()} replaces the one on line {single_lines[cmd]}",
                )
            single_lines[cmd] = ins.line
            if cmd == "from":
                from_ = value
            else:
                singles[cmd] = value

    if require_from and from_ is None:
        raise ModelfileError(
            "no FROM line: a Modelfile must name its base model or weights, e.g. FROM llama3.2",
            1,
            1,
        )
    return Modelfile(
        from_=from_,
        adapters=tuple(adapters),
        template=singles.get("template"),
        system=singles.get("system"),
        license=tuple(licenses),
        parameters=tuple(params.items()),
        messages=tuple(messages),
        renderer=singles.get("renderer"),
        parser=singles.get("parser"),
        requires=singles.get("requires"),
        draft=singles.get("draft"),
        instructions=tuple(ins for ins, _, _ in parsed),
        warnings=warnings.sorted(),
    )


# ---------------------------------------------------------------------------------------------
# rendering


def quote_value(value: str, what: str = "value") -> str:
    """Write `value` so that the Modelfile grammar reads back exactly `value`.

    Plain when that is unambiguous, `"..."` for one line with edge spaces or a leading quote,
    `\"\"\"...\"\"\"` for several lines. Raises ValueError for the values no quoting can carry:
    non-printable characters other than tab and newline (the parser drops them, and `\\r`
    becomes a line break), and several lines where a line other than the last ends with
    `\"\"\"` (the value would end there).
    """
    bad = next((ch for ch in value if not (_keep(ch) or ch == "\n")), None)
    if bad is not None:
        raise ValueError(
            f"{what} cannot be written in a Modelfile: it contains the non-printable character "
            f"U+{ord(bad):04X}, which the Modelfile parser drops"
        )
    if value == "":
        return '""'
    if "\n" not in value:
        if value.strip(_BLANK) == value and not value.startswith('"'):
            return value
        return f'"{value}"' if '"' not in value else f'"""{value}"""'
    for n, line in enumerate(value.split("\n")[:-1], start=1):
        if line.rstrip(_BLANK).endswith('"""'):
            raise ValueError(
                f'{what} cannot be written in a Modelfile: its line {n} ends with """, which '
                "would end a quoted value early, and a value of several lines must be quoted"
            )
    return f'"""{value}"""'


def _render_parameter(name: str, value: object) -> list[str]:
    if name in DEPRECATED_PARAMETERS:
        raise ValueError(f"parameter '{name}' is deprecated; parsing would drop it")
    kind = PARAMETER_TYPES.get(name)
    if kind is None:
        raise ValueError(f"unknown parameter '{name}'")
    what = f"parameter '{name}'"
    if kind is list:
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{what} must be a non-empty list of strings")
        return [f"PARAMETER {name} {quote_value(v, what)}" for v in value]
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{what} must be a bool, not {type(value).__name__}")
        return [f"PARAMETER {name} {'true' if value else 'false'}"]
    if kind is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{what} must be an int, not {type(value).__name__}")
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(f"{what} is out of range for a 64-bit integer")
        return [f"PARAMETER {name} {value}"]
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ValueError(f"{what} must be a float, not {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:
        number = float("inf")
    if number != number or number in (float("inf"), float("-inf")) or not _fits_float32(number):
        raise ValueError(f"{what} must be a finite number within the 32-bit float range")
    return [f"PARAMETER {name} {number!r}"]


def render(mf: Modelfile) -> str:
    """Canonical Modelfile text; `parse(render(mf))` equals `mf`.

    Use `parse(..., require_from=False)` to read it back when `mf.from_` is None.
    Raises ValueError for what a Modelfile cannot express (see `quote_value`), unknown or
    deprecated or mistyped parameters, a parameter given twice, an invalid message role, or a
    `requires` that is not a semver without a leading "v".
    """
    out: list[str] = []

    def put(keyword: str, value: str, what: str) -> None:
        out.append(f"{keyword} {quote_value(value, what)}")

    if mf.from_ is not None:
        put("FROM", mf.from_, "FROM")
    if mf.draft is not None:
        put("DRAFT", mf.draft, "DRAFT")
    for adapter in mf.adapters:
        put("ADAPTER", adapter, "ADAPTER")
    if mf.template is not None:
        put("TEMPLATE", mf.template, "TEMPLATE")
    if mf.system is not None:
        put("SYSTEM", mf.system, "SYSTEM")
    if mf.renderer is not None:
        put("RENDERER", mf.renderer, "RENDERER")
    if mf.parser is not None:
        put("PARSER", mf.parser, "PARSER")
    if mf.requires is not None:
        if _normalize_requires(mf.requires) != mf.requires:
            raise ValueError(
                f"{_INVALID_REQUIRES}, written without a leading 'v', not {mf.requires!r}"
            )
        put("REQUIRES", mf.requires, "REQUIRES")
    seen: set[str] = set()
    for name, value in mf.parameters:
        if name in seen:
            raise ValueError(f"parameter '{name}' appears twice; give it once")
        seen.add(name)
        out.extend(_render_parameter(name, value))
    for message in mf.messages:
        if message.role not in MESSAGE_ROLES:
            raise ValueError(f"{_INVALID_ROLE}, not {message.role!r}")
        put(f"MESSAGE {message.role}", message.content, f"MESSAGE {message.role}")
    for text in mf.license:
        put("LICENSE", text, "LICENSE")
    return "".join(line + "\n" for line in out)


# ---------------------------------------------------------------------------------------------
# /api/show "parameters"

_GO_ESCAPES: Final[dict[str, str]] = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    '"': '"',
    "'": "'",
}
_GO_ESCAPE_RE: Final = re.compile(
    r"\\(?:([abfnrtv\\\"'])|x([0-9a-fA-F]{2})|([0-7]{3})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8}))"
)


def _go_unquote(literal: str) -> str | None:
    """Decode a Go string literal as `%#v` writes it; None if it is not one."""
    if len(literal) >= 2 and literal[0] == literal[-1] == "`":
        body = literal[1:-1]
        return None if "`" in body else body.replace("\r", "")
    if len(literal) < 2 or literal[0] != '"' or literal[-1] != '"':
        return None
    body = literal[1:-1]
    out = bytearray()
    pos = 0
    while pos < len(body):
        ch = body[pos]
        if ch == '"' or ch == "\n":
            return None
        if ch != "\\":
            out += ch.encode("utf-8", "surrogatepass")
            pos += 1
            continue
        match = _GO_ESCAPE_RE.match(body, pos)
        if match is None:
            return None
        simple, hex_byte, octal, u4, u8 = match.groups()
        if simple is not None:
            out += _GO_ESCAPES[simple].encode()
        elif hex_byte is not None:
            out.append(int(hex_byte, 16))  # Go's \x is a byte, not a character
        elif octal is not None:
            if int(octal, 8) > 255:
                return None
            out.append(int(octal, 8))
        else:
            code = int(u4 or u8, 16)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                return None
            out += chr(code).encode()
        pos = match.end()
    return out.decode("utf-8", "replace")


def _show_literal(name: str, literal: str) -> ParamValue:
    kind = PARAMETER_TYPES.get(name)
    text = _go_unquote(literal)
    if text is not None:
        return text
    if literal in ("true", "false"):
        return literal == "true"
    number = _go_float(literal)
    if number is None and _SPECIAL_FLOAT_RE.fullmatch(literal):
        number = float(literal)
    if number is not None:
        if kind is float:
            return number
        if (kind is int or _INT_RE.fullmatch(literal)) and number.is_integer():
            return int(literal) if _INT_RE.fullmatch(literal) else int(number)
        return number
    return literal  # not a Go literal: keep the text rather than fail a whole show


def parse_show_parameters(text: str) -> dict[str, ParamValue]:
    """Parse /api/show's "parameters": `key<padding> <Go literal>` per line.

    A repeated key (e.g. `stop`) becomes a list; `stop` is always a list. Known parameters get
    their Modelfile type (the server prints all numbers as float64, e.g. `1e+06`). Never raises:
    text that is not a Go literal is kept as a string.
    """
    result: dict[str, ParamValue] = {}
    for line in text.replace("\r\n", "\n").split("\n"):
        parts = line.strip().split(None, 1)
        if len(parts) != 2:
            continue
        name, literal = parts[0], parts[1].strip()
        value = _show_literal(name, literal)
        previous = result.get(name)
        if isinstance(previous, list):
            previous.append(value if isinstance(value, str) else literal)
        elif previous is not None or PARAMETER_TYPES.get(name) is list:
            items = [] if previous is None else [_as_text(previous)]
            items.append(value if isinstance(value, str) else literal)
            result[name] = items
        else:
            result[name] = value
    return result


def _as_text(value: ParamValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)
