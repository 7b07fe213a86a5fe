"""Every limit on what a server may send, in one place.

Each is set generously above real use (a real server has tens to hundreds of models, a manifest
tens of layers, progress lines of a few hundred bytes), so that only a broken or hostile server
meets one. Past a limit the client raises a clear error or cuts the value; it never hangs and
never grows without bound.
"""

from __future__ import annotations

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_CONFIG_BYTES",
    "MAX_INT",
    "MAX_LAYERS",
    "MAX_LINE_BYTES",
    "MAX_MODELFILE_BYTES",
    "MAX_MODELS",
    "MAX_TEXT_CHARS",
    "STREAM_READ_TIMEOUT",
]

# A JSON reply (tags, ps, show...). /api/show of a big model with its tensors is a few MB.
MAX_BODY_BYTES = 64 * 1024 * 1024
# One NDJSON line of a pull/push/create stream.
MAX_LINE_BYTES = 1024 * 1024
# Models in one /api/tags or /api/ps reply.
MAX_MODELS = 20_000
# Distinct layer digests tracked for one pull or push.
MAX_LAYERS = 1_000
# A string shown in a cell, a title or a notification: longer ones are cut with "…".
MAX_TEXT_CHARS = 1_000
# Largest integer taken from the server (sizes, counts, durations): 2**63 - 1, Go's int64.
MAX_INT = 2**63 - 1
# Seconds a stream may send nothing before it fails.
STREAM_READ_TIMEOUT = 300.0

# Files the app reads (ollama_tui/files.py): only regular files up to these sizes. Real config
# files and Modelfiles are a few KB; a FIFO or /dev/zero given by mistake must not hang or fill
# memory.
MAX_CONFIG_BYTES = 1024 * 1024
MAX_MODELFILE_BYTES = 1024 * 1024
