"""ollama-tui: a keyboard-driven terminal dashboard for an Ollama server."""

__version__ = "0.1.0"
