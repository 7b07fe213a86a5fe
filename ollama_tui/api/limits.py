"""Every limit on what a server may send, in one place.

Each is set generously above real use (a real server has tens to hundreds of models, a manifest
tens of layers, progress lines of a few hundred bytes), so that only a broken or hostile server
meets one. Past a limit the client raises a clear error or cuts the value; it never hangs and
never grows without bound.

Code reads these as ``limits.NAME`` when it needs them (not ``from ... import NAME``), so a test
can lower one with ``monkeypatch.setattr``.
"""

from __future__ import annotations

__all__ = [
    "ELLIPSIS",
    "MAX_BODY_BYTES",
    "MAX_CONFIG_BYTES",
    "MAX_DOCUMENT_CHARS",
    "MAX_GENERATE_LINES",
    "MAX_INT",
    "MAX_LABEL_CHARS",
    "MAX_LAYERS",
    "MAX_LINE_BYTES",
    "MAX_LIST_ITEMS",
    "MAX_MODELFILE_BYTES",
    "MAX_MODELS",
    "MAX_PROBE_RESULTS",
    "MAX_TEXT_CHARS",
    "NAME_CACHE_SIZE",
    "STREAM_READ_TIMEOUT",
    "bytes_text",
    "cut",
    "seconds_text",
]

# A JSON reply (tags, ps, show, version, an error...), after decompression, read incrementally
# and refused past this. /api/tags at MAX_MODELS models of ~600 bytes each is about 12 MB;
# /api/show (no tensors: the client never asks for them) is tens of KB.
MAX_BODY_BYTES = 32 * 1024 * 1024
# One NDJSON line of a pull/push/create stream (real ones: under 300 bytes).
MAX_LINE_BYTES = 1024 * 1024
# Models in one /api/tags or /api/ps reply; the rest are left out with a note to the user.
MAX_MODELS = 20_000
# Progress bars tracked for one pull, push or create (a real manifest has under 20 layers);
# bytes of further layers still count in the job's totals.
MAX_LAYERS = 1_000
# A one-line string (a name, a status, an error, a digest, a family...): longer ones are cut
# with "…" at the client boundary, before any widget sees them.
MAX_TEXT_CHARS = 1_000
# A Prometheus label value made of server text (a model name, a version) in the exporter: one
# scrape writes each name in several series, and 1,000 characters each would bloat every scrape.
MAX_LABEL_CHARS = 200
# A multi-line text of /api/show (Modelfile, template, system prompt, license, parameters).
# Real licenses are the longest, at tens of KB.
MAX_DOCUMENT_CHARS = 256 * 1024
# Items of a short list in a reply (capabilities, families, messages of a model).
MAX_LIST_ITEMS = 1_000
# Names whose parse is remembered (each at most MAX_TEXT_CHARS): a fleet's lists read every
# name at each change (disk counting, copies, marks), the same names again and again.
NAME_CACHE_SIZE = 16_384
# Largest integer taken from the server (sizes, counts, durations): 2**63 - 1, Go's int64.
MAX_INT = 2**63 - 1
# Lines of one generate stream (one per token: the probe asks for 64); a server that streams on
# past this without its done line is refused rather than read forever.
MAX_GENERATE_LINES = 100_000
# Speed probe results kept in the probe file (one per server and model digest, the latest);
# past this the oldest are dropped. A fleet of 20 servers x 500 models probed once each fits.
MAX_PROBE_RESULTS = 10_000
# Files the app reads (ollama_tui/files.py): only regular files up to these sizes. Real config
# files and Modelfiles are a few KB; a FIFO or /dev/zero given by mistake must not hang or fill
# memory.
MAX_CONFIG_BYTES = 1024 * 1024
MAX_MODELFILE_BYTES = 1024 * 1024
# Seconds a pull/push/create stream may send nothing before it fails. Not a few minutes: a real
# server is legitimately silent while it checks what it has (a pull's "verifying sha256
# digest" hashes each blob with no progress lines, and the largest single blobs are about
# 400 GB: 7-15 minutes on an SSD), and while it converts a safetensors folder ("converting
# model"). Half an hour is past those; anything longer is a wedged server, and `x` cancels
# sooner. Loading a model (no stream) has no read timeout at all.
STREAM_READ_TIMEOUT = 30 * 60.0

ELLIPSIS = "…"


def cut(text: str, limit: int | None = None) -> str:
    """``text`` if it has at most ``limit`` characters (MAX_TEXT_CHARS), else cut with "…"."""
    if limit is None:
        limit = MAX_TEXT_CHARS
    if len(text) <= limit:
        return text
    return text[: limit - 1] + ELLIPSIS


def bytes_text(size: int) -> str:
    """A limit in bytes as the messages say it: ``1 MB``, ``32 MB``, ``512 KB``, ``100 bytes``.

    Not ``formatting.human_bytes`` (sizes of data, decimal units like the CLI): the limits are
    powers of two, and "1 MB" reads better in an error than the CLI's "1.0 MB" for 2**20.
    """
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} bytes"


def seconds_text(seconds: float) -> str:
    """A limit in seconds as the messages say it: ``30 minutes``, ``90 s``, ``0.2 s``.

    Every "gave up after ..." message says its time with this (``formatting.format_eta`` is
    for a time left, rounded to the second).
    """
    if seconds >= 120 and seconds % 60 == 0:
        return f"{seconds / 60:g} minutes"
    return f"{seconds:g} s"
