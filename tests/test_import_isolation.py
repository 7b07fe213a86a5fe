"""The data layer never imports the UI toolkit (checked in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys

CODE = """
import json, sys
import ollama_tui.api, ollama_tui.modelfile, ollama_tui.simulator, ollama_tui.session
import ollama_tui.api.keep_alive, ollama_tui.modelfile_checks, ollama_tui.rename, ollama_tui.jobs
import ollama_tui.probe, ollama_tui.probe_cli, ollama_tui.exporter
from ollama_tui.api import OllamaClient
from ollama_tui.session import ServerSession
OllamaClient("127.0.0.1:1")
ServerSession("a server", "127.0.0.1:1")
ui = sorted(m for m in sys.modules if m.split(".")[0] in ("textual", "rich"))
print(json.dumps(ui))
"""


def test_api_modelfile_simulator_session_do_not_import_textual_or_rich() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
