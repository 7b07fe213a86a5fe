"""Command line -> settings (flags > config file > defaults) -> app."""

from __future__ import annotations

import os
import sys
from types import TracebackType


def _interrupted_while_loading(
    kind: type[BaseException], value: BaseException, traceback: TracebackType | None
) -> None:
    """Ctrl-C while the modules below load, before ``main`` can catch it: end quietly."""
    if issubclass(kind, KeyboardInterrupt):
        os._exit(130)  # nothing written yet that could need flushing
    sys.__excepthook__(kind, value, traceback)


sys.excepthook = _interrupted_while_loading

import argparse  # noqa: E402 - after the hook: Ctrl-C while importing prints no traceback
import contextlib  # noqa: E402
import dataclasses  # noqa: E402
import gc  # noqa: E402
import math  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Iterator, Mapping, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

from ollama_tui import __version__  # noqa: E402
from ollama_tui.config import (  # noqa: E402
    DEFAULT_INTERVAL,
    DEFAULT_LOAD_TIMEOUT,
    DEFAULT_MAX_TRANSFERS,
    DEFAULT_RECONNECT_TIMEOUT,
    MIN_INTERVAL,
    ConfigError,
    ConfigFile,
    ServerSettings,
    Settings,
    default_config_path,
    load_config,
)

if TYPE_CHECKING:
    from ollama_tui.app import OllamaTuiApp

__all__ = ["build_app", "build_parser", "main", "resolve_settings"]

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a command ended by Ctrl-C


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ollama-tui",
        description="A keyboard-driven terminal dashboard for an Ollama server.",
        epilog=(
            "The servers are the --host flags, else [[servers]] in the config file, else one: "
            "$OLLAMA_HOST, else `host` in the config file, else http://127.0.0.1:11434; the "
            "dashboard shows the first. "
            "Settings are read from "
            "$XDG_CONFIG_HOME/ollama-tui/config.toml (default ~/.config/ollama-tui/config.toml); "
            "flags win over the file. In the app, ? lists the keys."
        ),
    )
    parser.add_argument(
        "--host",
        metavar="URL",
        action="append",
        help="Ollama server (like OLLAMA_HOST); repeat for several",
    )
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
    """Flags win over the config file, which wins over defaults.

    The servers: every ``--host``, else the config file's ``[[servers]]``, else one server:
    ``$OLLAMA_HOST``, else the file's ``host``, else the default. A server given by URL takes
    the name, headers and ``insecure`` of a ``[[servers]]`` entry with that URL, and the
    headers of ``[hosts."URL".headers]``. Raises ``InvalidInput`` (a ValueError) for a bad or
    repeated host and ``HeaderError`` for a header that cannot be sent.
    """
    env = os.environ if environ is None else environ
    from ollama_tui.api import InvalidInput, resolve_host

    hosts: list[str] = list(args.host or [])
    if hosts:
        urls = [resolve_host(host, env) for host in hosts]
    elif config.servers:
        # A fleet written down on purpose; $OLLAMA_HOST is often set for the ollama CLI.
        urls = [server.url for server in config.servers]
    elif env.get("OLLAMA_HOST", "").strip():
        urls = [resolve_host(None, env)]
    else:
        urls = [resolve_host(config.host, env)]
    for index, url in enumerate(urls):
        if url in urls[:index]:
            raise InvalidInput(f"{url} is given twice (each server once)")
    servers = tuple(config.server_for(url) for url in urls)
    from ollama_tui.api.headers import request_headers

    for server in servers:
        # Checked now, with the same builder the client uses: HeaderError names the header
        # (or OLLAMA_API_KEY), never its value.
        request_headers(server.headers, env)
    first = servers[0]
    from ollama_tui.last_used import default_state_path

    return Settings(
        host=first.url,
        interval=args.interval
        if args.interval is not None
        else (config.interval or DEFAULT_INTERVAL),
        read_only=bool(args.read_only if args.read_only is not None else config.read_only),
        theme=args.theme or config.theme,
        max_transfers=config.max_transfers or DEFAULT_MAX_TRANSFERS,
        load_timeout=config.load_timeout or DEFAULT_LOAD_TIMEOUT,
        reconnect_timeout=config.reconnect_timeout or DEFAULT_RECONNECT_TIMEOUT,
        insecure_registries=config.insecure_registries,
        registry_urls=dict(config.registry_urls),
        check_interval=config.check_interval or 0.0,
        keymap=dict(config.keymap),
        headers=dict(first.headers),
        config_path=config.path,
        demo=bool(args.demo),
        servers=servers,
        state_path=default_state_path(env),
    )


# Priority bindings of the app win over any screen's, so a keymap entry using them would leave
# its action without a working key.
RESERVED_KEYS = frozenset({"ctrl+p", "ctrl+q"})


def check_keymap(config: ConfigFile) -> dict[str, str]:
    """Every keymap id must name a binding of the app, and no key may do two things on one
    screen; say which line is wrong. Returns the keymap with its keys in Textual's names
    ("?" -> "question_mark", no spaces), which is what Textual matches key presses against."""
    if not config.keymap:
        return {}  # without a keymap, start-up need not import the UI to check it
    from textual.keys import _character_to_key

    from ollama_tui.screens.help import known_binding_ids

    known = known_binding_ids()
    keymap: dict[str, str] = {}
    for binding_id, keys in config.keymap.items():
        line = _keymap_line(config, binding_id)
        if binding_id not in known:
            raise ConfigError(
                config.path,
                f"no key binding has this id (known: {', '.join(sorted(known))})",
                line=line,
                key=f"keymap.{binding_id}",
            )
        names = [key.strip() for key in keys.split(",") if key.strip()]
        names = [_character_to_key(key) if len(key) == 1 else key for key in names]
        taken = sorted(RESERVED_KEYS & set(names))
        if taken:
            raise ConfigError(
                config.path,
                f"{', '.join(taken)} is kept by the app (command palette, quit): "
                "choose another key",
                line=line,
                key=f"keymap.{binding_id}",
            )
        keymap[binding_id] = ",".join(dict.fromkeys(names))
    _check_clashes(config, keymap)
    return keymap


def _keymap_line(config: ConfigFile, binding_id: str) -> int | None:
    # "ops.jobs.cancel" = ... (one quoted key) or [keymap.ops.jobs] cancel = ... (tables)
    return (
        config.line_of("keymap", binding_id, exact=True)
        or config.line_of("keymap", *binding_id.split("."), exact=True)
        or config.line_of("keymap")
    )


def _check_clashes(config: ConfigFile, keymap: Mapping[str, str]) -> None:
    """A key the keymap gives to two actions that are active together is an error.

    Active together: the app's bindings, a screen's, and those of one widget in it (a widget's
    bindings apply while it has the focus; the widgets of a screen are the ones its module
    uses). Clashes already in the defaults (e.g. escape on the filter bar and the dashboard)
    are the app's design, not the user's doing.
    """
    scopes = _binding_scopes()

    def clashes(mapping: Mapping[str, str]) -> dict[tuple[str, frozenset[str]], str]:
        found: dict[tuple[str, frozenset[str]], str] = {}
        for screen, bindings in scopes:
            by_key: dict[str, list[str]] = {}
            for binding_id, default_keys in bindings:
                for key in mapping.get(binding_id, default_keys).split(","):
                    ids = by_key.setdefault(key.strip(), [])
                    if binding_id not in ids:
                        ids.append(binding_id)
            for key, ids in by_key.items():
                if len(ids) > 1:
                    found.setdefault((key, frozenset(ids)), screen)
        return found

    designed = clashes({})
    for (key, ids), screen in clashes(keymap).items():
        if (key, ids) in designed:
            continue
        mapped = sorted((i for i in ids if i in keymap), key=lambda i: _keymap_line(config, i) or 0)
        if not mapped:
            continue
        culprit = mapped[-1]
        names = sorted(ids)
        both = ", ".join(names[:-1]) + " and " + names[-1]
        raise ConfigError(
            config.path,
            f"{key!r} would do two things on the {screen} screen: {both} "
            "(give one of them another key)",
            line=_keymap_line(config, culprit),
            key=f"keymap.{culprit}",
        )


def _binding_scopes() -> list[tuple[str, list[tuple[str, str]]]]:
    """(screen name, [(binding, default keys)]) for each set of bindings active together.

    A binding is named by its id, or, for one without (Textual's own: a focused button's
    enter, an input's ctrl+a...), as "Button's press".
    """
    from textual.app import App
    from textual.binding import Binding
    from textual.screen import Screen
    from textual.widget import Widget

    def ours(base: type) -> list[type]:
        found: list[type] = []
        pending = [base]
        while pending:
            cls = pending.pop()
            pending.extend(cls.__subclasses__())
            if cls.__module__.startswith("ollama_tui"):
                found.append(cls)
        return found

    def bindings(cls: type) -> list[tuple[str, str]]:
        result: dict[str, str] = {}
        for klass in reversed(cls.__mro__):  # a subclass's binding of an id wins
            for binding in vars(klass).get("BINDINGS", []):
                if not isinstance(binding, Binding):
                    continue
                name = binding.id or f"{klass.__name__}'s {binding.action}"
                # make_bindings names keys as Textual matches them ("?" -> question_mark).
                keys = [b.key for b in Binding.make_bindings([binding])]
                result[name] = ",".join(keys)
        return list(result.items())

    app_bindings = [b for app in ours(App) for b in bindings(app)]
    scopes: list[tuple[str, list[tuple[str, str]]]] = []
    for screen in ours(Screen):
        name = getattr(screen, "HELP_SECTION", screen.__name__.removesuffix("Screen"))
        base = app_bindings + bindings(screen)
        scopes.append((name, base))
        # The widgets a screen's module uses, ours and Textual's (a Button, an Input...).
        module = vars(sys.modules[screen.__module__])
        widgets = {
            value
            for value in module.values()
            if isinstance(value, type)
            and issubclass(value, Widget)
            and not issubclass(value, Screen)
            and value.__module__.startswith(("ollama_tui", "textual"))
        }
        widgets |= {
            sub
            for widget in list(widgets)
            if widget.__module__.startswith("ollama_tui")
            for sub in ours(widget)
        }
        for widget in sorted(widgets, key=lambda w: w.__qualname__):
            own = bindings(widget)
            if own:
                scopes.append((name, base + own))
    return scopes


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
def _demo_fleet(
    count: int = 3, history: Path | None = None
) -> Iterator[tuple[ServerSettings, ...]]:
    """A fleet of simulated servers in-process (the simulator's fleet preset), as servers
    named after their plans ("workstation", "gpu-box", "laptop"), for ``Settings.servers``:
    what ``--demo`` shows. ``history``: a last-used file to write a made-up past into.
    """
    from ollama_tui.simulator import serve_fleet_in_thread

    with serve_fleet_in_thread(count, bandwidth=40e6) as fleet:
        servers = tuple(
            ServerSettings(plan.label, url)
            for plan, url in zip(fleet.plans, fleet.urls, strict=True)
        )
        if history is not None:
            ages = [[(m.name, m.age.total_seconds()) for m in plan.models] for plan in fleet.plans]
            _demo_history(history, list(zip(fleet.urls, ages, strict=True)))
        yield servers


def _demo_history(path: Path, servers: Sequence[tuple[str, Sequence[tuple[str, float]]]]) -> None:
    """The demo's last-used file: watched for two months; most models last used halfway
    between their pull and now, every third never (so `L` has stale ones to show)."""
    import time

    from ollama_tui.last_used import LastUsedStore

    now = time.time()
    store = LastUsedStore(path)
    for url, models in servers:
        store.observe(url, [], None, now - 60 * 24 * 3600.0)
        for index, (name, age) in enumerate(models):
            if index % 3 != 2:
                store.observe(url, [name], None, now - age / 2)
    store.save()


def main(argv: Sequence[str] | None = None) -> int:
    """The console script: an exit code, and never a traceback for Ctrl-C."""
    # From here on KeyboardInterrupt is caught below: the import-time hook (which ends the
    # process without any clean-up) is no longer needed.
    if sys.excepthook is _interrupted_while_loading:
        sys.excepthook = sys.__excepthook__
    try:
        return _main(argv)
    except KeyboardInterrupt:
        # At any point: reading the config, importing the UI, waiting for the first fetch.
        return EXIT_INTERRUPTED


def _server_arguments(parser: argparse.ArgumentParser) -> None:
    """The servers and the config file, as every subcommand takes them."""
    parser.add_argument(
        "--host", metavar="URL", action="append", help="Ollama server; repeat for several"
    )
    parser.add_argument("--config", metavar="PATH", type=Path, help="config file to use")


def build_outdated_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ollama-tui outdated",
        description=(
            "List the installed models whose registry has another version (one HEAD request "
            "per model, sent from this machine; nothing is pulled)."
        ),
        epilog=(
            "Exit code: 0 nothing outdated, 1 something outdated, 2 usage or config error, "
            "3 a server could not be listed. Registries in insecure_registries (config) are "
            "reached over http."
        ),
    )
    _server_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print a JSON list instead")
    parser.set_defaults(demo=False, interval=None, read_only=None, theme=None)
    return parser


def build_probe_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ollama-tui probe",
        description=(
            "Measure the speed of MODEL on every configured server that has it, one server at "
            "a time: a short fixed generation (64 tokens; embedding models: a fixed batch "
            "through /api/embed), timed by the server's own figures. This loads the model on "
            "each server and leaves it loaded for the server's default keep-alive (or "
            "--keep-alive)."
        ),
        epilog=(
            "Exit code: 0 done, 2 usage or config error (also: refused in read-only mode), "
            "3 a server failed, 4 no server has the model. Results are kept in probes.json "
            "beside the last-used file ($XDG_STATE_HOME/ollama-tui/)."
        ),
    )
    parser.add_argument("model", metavar="MODEL", help="model name, e.g. llama3.2")
    _server_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print a JSON list instead")
    parser.add_argument(
        "--keep-alive",
        metavar="DUR",
        help="how long the model stays loaded after the probe (e.g. 10m, 0, -1 = forever)",
    )
    parser.add_argument(
        "--read-only",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="refuse to probe (as the config's read_only does)",
    )
    parser.add_argument(
        "--demo", action="store_true", help="probe the simulated demo fleet (as --demo)"
    )
    parser.set_defaults(interval=None, theme=None)
    return parser


def build_export_parser() -> argparse.ArgumentParser:
    from ollama_tui.exporter import DEFAULT_LISTEN, DEFAULT_MAX_MODEL_SERIES

    parser = argparse.ArgumentParser(
        prog="ollama-tui export",
        description=(
            "Serve the servers' state as Prometheus metrics (/metrics; /health answers 200 "
            "while it runs), polling them as the dashboard does. No UI."
        ),
        epilog=(
            "A server that does not answer exports only ollama_up 0 and the time of its last "
            "successful poll. Per-model series of installed models: the largest "
            "--max-model-series per server (totals always count every model)."
        ),
    )
    parser.add_argument(
        "--listen",
        metavar="HOST:PORT",
        type=_listen,
        default=DEFAULT_LISTEN,
        help=f"address to serve on (default {DEFAULT_LISTEN}; port 0: any free port)",
    )
    _server_arguments(parser)
    parser.add_argument(
        "--interval",
        type=_interval,
        metavar="SECONDS",
        help=f"seconds between polls (default: the config's interval, else {DEFAULT_INTERVAL:g})",
    )
    parser.add_argument(
        "--max-model-series",
        type=_count,
        metavar="N",
        default=DEFAULT_MAX_MODEL_SERIES,
        help=(
            "installed models with series of their own, per server, largest first "
            f"(default {DEFAULT_MAX_MODEL_SERIES}; 0: server totals only)"
        ),
    )
    parser.set_defaults(demo=False, read_only=None, theme=None)
    return parser


def _listen(text: str) -> tuple[str, int]:
    from ollama_tui.exporter import parse_listen

    try:
        return parse_listen(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


COMMANDS = ("outdated", "probe", "export")


def _main(argv: Sequence[str] | None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    command = arguments[0] if arguments and arguments[0] in COMMANDS else None
    if command == "outdated":
        args = build_outdated_parser().parse_args(arguments[1:])
    elif command == "probe":
        args = build_probe_parser().parse_args(arguments[1:])
    elif command == "export":
        args = build_export_parser().parse_args(arguments[1:])
    else:
        args = build_parser().parse_args(arguments)
    explicit = args.config is not None
    path: Path = args.config if explicit else default_config_path()
    try:
        config = load_config(path, must_exist=explicit)
        if command != "export":  # keys mean nothing there (and checking them imports the UI)
            config = dataclasses.replace(config, keymap=check_keymap(config))
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
            demo: tuple[ServerSettings, ...] = ()
            history: Path | None = None
            if args.demo:
                # Its own last-used file, gone at exit: never the user's.
                folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="ollama-tui-"))
                history = Path(folder) / "last-used.json"
                demo = stack.enter_context(_demo_fleet(history=history))
                args.host = [server.url for server in demo]
            from ollama_tui.api.headers import HeaderError

            try:
                settings = resolve_settings(args, config)
                if demo:  # the simulated servers by their names; the first is the registry
                    settings = dataclasses.replace(
                        settings,
                        headers={},
                        servers=demo,
                        registry_urls={"registry.ollama.ai": demo[0].url},
                        state_path=history,
                    )
            except HeaderError as error:  # names the header (or OLLAMA_API_KEY), not the value
                print(f"ollama-tui: bad header: {error}", file=sys.stderr)
                return EXIT_USAGE
            except ValueError as error:
                print(f"ollama-tui: bad host: {error}", file=sys.stderr)
                return EXIT_USAGE
            if command == "outdated":
                from ollama_tui.outdated import run as run_outdated

                return run_outdated(settings, as_json=args.json)
            if command == "probe":
                from ollama_tui.probe_cli import run as run_probe

                return run_probe(
                    settings, args.model, as_json=args.json, keep_alive=args.keep_alive
                )
            if command == "export":
                from ollama_tui.exporter import run as run_export

                return run_export(
                    settings, listen=args.listen, max_model_series=args.max_model_series
                )
            return _run(settings)
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

        poller = Poller(
            settings.host, headers=settings.headers, insecure=settings.servers[0].insecure
        )
        # Every server's first fetch, before Textual is imported: the round trips overlap with
        # importing and building the UI (the app finds them by URL and headers). With four
        # servers or more, all but the first are read in a child forked before any thread
        # starts (``Poller.prefetch_many``); the first server's is read here, on threads.
        targets = [poller.add(s.url, s.headers, s.insecure) for s in settings.servers]
        poller.prefetch_many(targets)
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
