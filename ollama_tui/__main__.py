"""Command line -> settings (flags > config file > defaults) -> app."""

from __future__ import annotations

import argparse
import contextlib
import gc
import math
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ollama_tui import __version__
from ollama_tui.config import (
    DEFAULT_INTERVAL,
    DEFAULT_LOAD_TIMEOUT,
    DEFAULT_MAX_TRANSFERS,
    DEFAULT_RECONNECT_TIMEOUT,
    MIN_INTERVAL,
    ConfigError,
    ConfigFile,
    Settings,
    default_config_path,
    load_config,
)

if TYPE_CHECKING:
    from ollama_tui.app import OllamaTuiApp

__all__ = ["build_app", "build_parser", "main", "resolve_settings"]

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ollama-tui",
        description="A keyboard-driven terminal dashboard for an Ollama server.",
        epilog=(
            "The server is --host, else $OLLAMA_HOST, else `host` in the config file, else "
            "http://127.0.0.1:11434. Settings are read from "
            "$XDG_CONFIG_HOME/ollama-tui/config.toml (default ~/.config/ollama-tui/config.toml); "
            "flags win over the file. In the app, ? lists the keys."
        ),
    )
    parser.add_argument("--host", metavar="URL", help="Ollama server (like OLLAMA_HOST)")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="start a simulated Ollama server in-process and connect to it",
    )
    parser.add_argument(
        "--interval",
        type=_interval,
        metavar="SECONDS",
        help=f"seconds between refreshes (default {DEFAULT_INTERVAL:g})",
    )
    parser.add_argument(
        "--read-only",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="hide and refuse every action that changes the server",
    )
    parser.add_argument("--theme", metavar="NAME", help="Textual theme, e.g. nord, gruvbox")
    parser.add_argument("--config", metavar="PATH", type=Path, help="config file to use")
    parser.add_argument("--version", action="version", version=f"ollama-tui {__version__}")
    return parser


def _interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= MIN_INTERVAL:
        raise argparse.ArgumentTypeError(f"must be at least {MIN_INTERVAL} seconds")
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError("must be a finite number of seconds")
    return value


def resolve_settings(
    args: argparse.Namespace, config: ConfigFile, environ: Mapping[str, str] | None = None
) -> Settings:
    """Flags win over the config file, which wins over defaults (and $OLLAMA_HOST for host)."""
    env = os.environ if environ is None else environ
    host = args.host or (None if env.get("OLLAMA_HOST", "").strip() else config.host)
    from ollama_tui.api import resolve_host

    resolved = resolve_host(host, env)  # InvalidInput (a ValueError) for a bad host
    return Settings(
        host=resolved,
        interval=args.interval
        if args.interval is not None
        else (config.interval or DEFAULT_INTERVAL),
        read_only=bool(args.read_only if args.read_only is not None else config.read_only),
        theme=args.theme or config.theme,
        max_transfers=config.max_transfers or DEFAULT_MAX_TRANSFERS,
        load_timeout=config.load_timeout or DEFAULT_LOAD_TIMEOUT,
        reconnect_timeout=config.reconnect_timeout or DEFAULT_RECONNECT_TIMEOUT,
        keymap=dict(config.keymap),
        headers=config.headers_for(resolved),
        config_path=config.path,
        demo=bool(args.demo),
    )


# Priority bindings of the app win over any screen's, so a keymap entry using them would leave
# its action without a working key.
RESERVED_KEYS = frozenset({"ctrl+p", "ctrl+q"})


def check_keymap(config: ConfigFile) -> None:
    """Every keymap id must name a binding of the app; say which line is wrong."""
    if not config.keymap:
        return  # without a keymap, start-up need not import the UI to check it
    from ollama_tui.screens.help import known_binding_ids

    known = known_binding_ids()
    for binding_id, keys in config.keymap.items():
        line = config.line_of("keymap", *binding_id.split(".")) or config.line_of("keymap")
        if binding_id not in known:
            raise ConfigError(
                config.path,
                f"no key binding has this id (known: {', '.join(sorted(known))})",
                line=line,
                key=f"keymap.{binding_id}",
            )
        taken = sorted(RESERVED_KEYS & {key.strip() for key in keys.split(",")})
        if taken:
            raise ConfigError(
                config.path,
                f"{', '.join(taken)} is kept by the app (command palette, quit): "
                "choose another key",
                line=line,
                key=f"keymap.{binding_id}",
            )


def check_theme(name: str | None, source: str) -> str | None:
    """The error message for an unknown theme, or None."""
    if name is None:
        return None
    from textual.theme import BUILTIN_THEMES

    if name in BUILTIN_THEMES:
        return None
    known = ", ".join(sorted(BUILTIN_THEMES))
    return (
        f"{source}: unknown theme {name!r} (known: {known})"
        if source
        else (f"theme: unknown theme {name!r} (known: {known})")
    )


@contextlib.contextmanager
def _demo_server() -> Iterator[str]:
    from ollama_tui.simulator import serve_in_thread

    # A current server version, so the demo shows capabilities; a bandwidth that lets a
    # person watch a pull progress.
    with serve_in_thread(version="0.31.0", bandwidth=40e6) as simulator:
        yield str(simulator.url)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    explicit = args.config is not None
    path: Path = args.config if explicit else default_config_path()
    try:
        config = load_config(path, must_exist=explicit)
        check_keymap(config)
    except ConfigError as error:
        print(f"ollama-tui: bad config: {error}", file=sys.stderr)
        return EXIT_USAGE
    if not args.theme and (problem := check_theme(config.theme, "")):
        error = ConfigError(path, problem.removeprefix(": "), line=config.line_of("theme"))
        print(f"ollama-tui: bad config: {error}", file=sys.stderr)
        return EXIT_USAGE
    problem = check_theme(args.theme, "--theme")
    if problem:
        print(f"ollama-tui: {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        with contextlib.ExitStack() as stack:
            if args.demo:
                args.host = stack.enter_context(_demo_server())
            try:
                settings = resolve_settings(args, config)
            except ValueError as error:
                print(f"ollama-tui: bad host: {error}", file=sys.stderr)
                return EXIT_USAGE
            return _run(settings)
    except KeyboardInterrupt:
        return 130
    except OSError as error:  # e.g. the demo server could not listen
        print(f"ollama-tui: {error}", file=sys.stderr)
        return 1


def build_app(settings: Settings) -> OllamaTuiApp:
    """The app, with its first fetch sent before Textual is even imported.

    The round trip to the server then overlaps with importing and building the UI (a few
    hundred milliseconds), so the tables are filled in the first frames. Raises ``InvalidInput``
    for a host the client rejects.
    """
    # Importing Textual and building the UI allocates hundreds of thousands of objects, and
    # the collector's passes over them add about a tenth to the time to the first frame. The
    # app turns it back on (after freezing what start-up made) once the first poll is shown.
    collecting = gc.isenabled()
    gc.disable()
    try:
        from ollama_tui.poller import Poller

        poller = Poller(settings.host, headers=settings.headers)
        poller.prefetch()
        from ollama_tui.app import OllamaTuiApp

        return OllamaTuiApp(settings, poller=poller, resume_gc=collecting)
    except BaseException:
        if collecting:
            gc.enable()
        raise


def _run(settings: Settings) -> int:
    from ollama_tui.api import InvalidInput

    try:
        app = build_app(settings)
    except InvalidInput as error:  # the client rejects the host
        print(f"ollama-tui: bad host {settings.host!r}: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        app.run()
    finally:
        app.end_startup()
    return app.return_code or 0


def _entry() -> Any:  # pragma: no cover - `python -m ollama_tui`
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    _entry()
