"""The config file: settings, per-host headers, keymap, clear errors with file/line/key."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ollama_tui.api.limits import MAX_CONFIG_BYTES
from ollama_tui.config import (
    ConfigError,
    default_config_path,
    find_key_line,
    load_config,
    save_theme,
)
from ollama_tui.files import FileRefused, atomic_write, read_bounded


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_full_config_is_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
host = "gpu-box"
interval = 5
read_only = true
theme = "nord"
max_transfers = 3

[keymap]
pull = "ctrl+p"
ops.confirm.yes = "Y"

[hosts."http://gpu-box:11434".headers]
Authorization = "Bearer s3cret"
""",
    )
    config = load_config(path)
    assert (config.host, config.interval, config.read_only) == ("gpu-box", 5.0, True)
    assert (config.theme, config.max_transfers) == ("nord", 3)
    assert config.keymap == {"pull": "ctrl+p", "ops.confirm.yes": "Y"}
    # Host keys compare in resolved form: "gpu-box" is http://gpu-box:11434.
    assert config.headers_for("http://gpu-box:11434") == {"Authorization": "Bearer s3cret"}
    assert config.headers_for("http://other:11434") == {}


def test_missing_file_is_empty_unless_required(tmp_path: Path) -> None:
    config = load_config(tmp_path / "nope.toml")
    assert config.host is None and config.keymap == {}
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml", must_exist=True)


@pytest.mark.parametrize(
    ("text", "line", "key", "message"),
    [
        ('host = "x"\ninterval = "fast"\n', 2, "interval", "number of seconds"),
        ("interval = 0\n", 1, "interval", "at least"),
        ('read_only = "yes"\n', 1, "read_only", "true or false"),
        ("max_transfers = 1.5\n", 1, "max_transfers", "whole number"),
        ("theme = 3\n", 1, "theme", "string"),
        ("\n\ncolour = 1\n", 3, "colour", "unknown setting"),
        ("[keymap]\npull = 1\n", 2, "keymap.pull", "non-empty string"),
        (
            '[hosts."http://a:1".headers]\n# c\nAuthorization = 5\n',
            3,
            'hosts."http://a:1".headers.Authorization',
            "must be a string",
        ),
        ('[hosts."http://a:1"]\nheader = {}\n', 2, 'hosts."http://a:1".header', "unknown"),
        ('[hosts."http://a:1".headers]\n"bad name" = "x"\n', 2, None, "header name"),
    ],
)
def test_type_errors_name_file_line_and_key(
    tmp_path: Path, text: str, line: int, key: str | None, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    error = caught.value
    assert error.line == line
    assert message in str(error)
    assert str(error).startswith(f"{path}, line {line}: ")
    if key is not None:
        assert error.key == key


def test_toml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, 'host = "a"\ninterval = = 2\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.line == 2
    assert "invalid TOML" in str(caught.value) and "column" in str(caught.value)


def test_find_key_line_handles_tables_and_quotes() -> None:
    text = '# top\nhost = "x"\n[keymap]\n"pull" = "p"\n[hosts."h:1".headers]\nA = "b"\n'
    assert find_key_line(text, ("host",)) == 2
    assert find_key_line(text, ("keymap", "pull")) == 4
    assert find_key_line(text, ("hosts", "h:1", "headers", "A")) == 6
    assert find_key_line(text, ("hosts", "h:1", "headers", "missing")) == 5


def test_save_theme_keeps_the_rest_of_the_file(tmp_path: Path) -> None:
    original = '# my settings\nhost = "x"  # comment kept\n\n[keymap]\npull = "P"\n'
    path = write(tmp_path, original)
    save_theme(path, "nord")
    assert path.read_text() == '# my settings\ntheme = "nord"\n' + original.split("\n", 1)[1]
    save_theme(path, "gruvbox")
    text = path.read_text()
    assert text.count("theme =") == 1 and 'theme = "gruvbox"' in text
    assert load_config(path).theme == "gruvbox"
    assert load_config(path).keymap == {"pull": "P"}


def test_save_theme_creates_the_file(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "config.toml"
    save_theme(path, "dracula")
    assert load_config(path).theme == "dracula"


def test_default_path_follows_xdg(tmp_path: Path) -> None:
    assert default_config_path({"XDG_CONFIG_HOME": str(tmp_path)}) == (
        tmp_path / "ollama-tui" / "config.toml"
    )
    assert default_config_path({}).parts[-3:] == (".config", "ollama-tui", "config.toml")
    # A relative XDG_CONFIG_HOME is invalid per the spec and ignored.
    assert default_config_path({"XDG_CONFIG_HOME": "rel"}).parts[-3] == ".config"


# --- files the app reads and writes (issue 9, group 7) -----------------------------------------

SECRET_CONFIG = '[hosts."http://gpu-box:11434".headers]\nAuthorization = "Bearer s3cret"\n'


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644])
def test_save_theme_keeps_the_files_mode(tmp_path: Path, mode: int) -> None:
    path = write(tmp_path, SECRET_CONFIG)
    path.chmod(mode)
    save_theme(path, "nord")
    assert path.stat().st_mode & 0o7777 == mode
    assert load_config(path).theme == "nord"
    assert not [p for p in tmp_path.iterdir() if p != path]  # no temporary file left


def test_a_new_config_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "config.toml"
    save_theme(path, "nord")
    assert path.stat().st_mode & 0o777 == 0o600


def test_save_theme_writes_through_a_symlink(tmp_path: Path) -> None:
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    target = dotfiles / "ollama-tui.toml"
    target.write_text(SECRET_CONFIG)
    target.chmod(0o600)
    link = tmp_path / "config.toml"
    link.symlink_to(target)
    save_theme(link, "nord")
    assert link.is_symlink() and link.resolve() == target
    assert load_config(target).theme == "nord"
    assert target.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in dotfiles.iterdir()) == ["ollama-tui.toml"]


def test_save_theme_through_a_dangling_symlink_creates_the_target(tmp_path: Path) -> None:
    target = tmp_path / "dotfiles" / "config.toml"
    link = tmp_path / "config.toml"
    link.symlink_to(target)
    save_theme(link, "nord")
    assert link.is_symlink() and load_config(target).theme == "nord"


def test_save_theme_refuses_a_fifo(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    os.mkfifo(path)
    with pytest.raises(OSError, match="not a regular file"):
        save_theme(path, "nord")
    assert stat.S_ISFIFO(path.stat().st_mode)


def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xef\xbb\xbf" + b'theme = "nord"\ninterval = 5\n')
    config = load_config(path)
    assert (config.theme, config.interval) == ("nord", 5.0)
    save_theme(path, "dracula")
    assert load_config(path).theme == "dracula"


@pytest.mark.parametrize("special", ["fifo", "/dev/zero", "/dev/null", "dir"])
def test_only_regular_files_are_read(tmp_path: Path, special: str) -> None:
    if special == "fifo":
        path = tmp_path / "fifo"
        os.mkfifo(path)
    elif special == "dir":
        path = tmp_path
    else:
        path = Path(special)
    with pytest.raises(ConfigError, match="not a regular file"):
        load_config(path, must_exist=True)


def test_a_huge_config_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"# " + b"x" * MAX_CONFIG_BYTES + b"\n")
    with pytest.raises(ConfigError, match="too big"):
        load_config(path)


def test_read_bounded_stops_at_the_limit_even_if_the_file_grows(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"a" * 10)
    assert read_bounded(path, 10) == b"a" * 10
    with pytest.raises(FileRefused, match="too big"):
        read_bounded(path, 9)


def test_atomic_write_new_files_follow_the_umask_unless_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "public", b"x")
        atomic_write(tmp_path / "private", b"x", private=True)
    finally:
        os.umask(old)
    assert (tmp_path / "public").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "private").stat().st_mode & 0o777 == 0o600


def test_a_read_only_folder_is_named_not_the_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, 'theme = "nord"\n')
    real_open = os.open

    def read_only_folder(name: object, flags: int, *args: object) -> int:
        if flags & os.O_CREAT:  # as in a folder without write permission (tests may be root)
            raise PermissionError(13, "Permission denied", str(name))
        return real_open(name, flags, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", read_only_folder)
    with pytest.raises(FileRefused, match="cannot create a file in this folder") as caught:
        save_theme(path, "dracula")
    assert ".tmp" not in str(caught.value)
    monkeypatch.undo()
    assert load_config(path).theme == "nord"


# --- [[servers]] (issue 10) -------------------------------------------------------------------

SERVERS = """\
interval = 3

[hosts."http://gpu-box:11434".headers]
Authorization = "Bearer from-hosts"
X-Shared = "hosts"

[[servers]]
name = "gpu"
url = "gpu-box"
headers = { x-shared = "server", X-Team = "ml" }

[[servers]]
url = "https://lab.example:8443/ollama/"
insecure = true

[[servers]]
name = "laptop"
url = "http://10.0.0.7:11434"
[servers.headers]
X-Token = "t"
"""


def test_servers_are_read_in_order_with_urls_resolved(tmp_path: Path) -> None:
    from ollama_tui.config import ServerSettings

    config = load_config(write(tmp_path, SERVERS))
    assert [(s.name, s.url, s.insecure) for s in config.servers] == [
        ("gpu", "http://gpu-box:11434", False),
        (None, "https://lab.example:8443/ollama", True),
        ("laptop", "http://10.0.0.7:11434", False),
    ]
    assert config.servers[2].headers == {"X-Token": "t"}
    # A server's own header wins over [hosts."URL".headers] for the same name, in any case.
    gpu = config.server_for("http://gpu-box:11434")
    assert gpu == ServerSettings(
        "gpu",
        "http://gpu-box:11434",
        {"Authorization": "Bearer from-hosts", "x-shared": "server", "X-Team": "ml"},
        False,
    )
    assert (
        gpu.title == "gpu" and config.server_for("http://x:1").title == "x:1"
    )  # as the dashboard shows it
    assert config.server_for("http://x:1") == ServerSettings(None, "http://x:1", {}, False)


@pytest.mark.parametrize(
    ("text", "line", "key", "message"),
    [
        ('[[servers]]\nname = "a"\n', 1, "servers[1]", "needs a url"),
        ('[[servers]]\nurl = "a"\n[[servers]]\nurl = 5\n', 4, "servers[2].url", "string"),
        ('[[servers]]\nurl = "a"\nport = 1\n', 3, "servers[1].port", "unknown setting"),
        ('[[servers]]\nurl = "ftp://a"\n', 2, "servers[1].url", "scheme"),
        ('[[servers]]\nurl = "a"\ninsecure = "yes"\n', 3, "servers[1].insecure", "true or false"),
        ('[[servers]]\nurl = "a"\nname = ""\n', 3, "servers[1].name", "1 to 64"),
        ('[[servers]]\nurl = "a"\nname = "x\\ty"\n', 3, "servers[1].name", "printable"),
        (
            '[[servers]]\nurl = "a"\nname = "GPU"\n\n[[servers]]\nurl = "b"\nname = "gpu"\n',
            7,
            "servers[2].name",
            "already the name of server 1",
        ),
        (
            '[[servers]]\nurl = "a"\n[[servers]]\nurl = "http://a:11434/"\n',
            4,
            "servers[2].url",
            "http://a:11434 is already server 1",
        ),
        ('[[servers]]\nurl = "a"\nheaders = "x"\n', 3, "servers[1].headers", "must be a table"),
        (
            '[[servers]]\nurl = "a"\n[servers.headers]\nA = "1"\nX-N = 2\n',
            5,
            "servers[1].headers.X-N",
            "must be a string",
        ),
        (
            '[[servers]]\nurl = "a"\nheaders = { A = "1", a = "2" }\n',
            3,
            "servers[1].headers.a",
            "set twice",
        ),
        ('host = "a"\n[[servers]]\nurl = "b"\n', 1, "host", "either host or [[servers]]"),
        ('servers = "a"\n', 1, "servers", "array of tables"),
        ('servers = [{ url = "a", nme = "x" }]\n', 1, "servers[1].nme", "unknown setting"),
    ],
)
def test_server_errors_name_file_line_and_key(
    tmp_path: Path, text: str, line: int, key: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    error = caught.value
    assert (error.line, error.key) == (line, key), str(error)
    assert message in str(error)
    assert str(error).startswith(f"{path}, line {line}: ")


@pytest.mark.parametrize(
    "value", ["Bearer s3cr3t\\u0001", "Bearer s3cr3t\\n", "Bearer s3cr3t\\u00e9"]
)
def test_a_bad_server_header_names_the_key_never_the_value(tmp_path: Path, value: str) -> None:
    path = write(
        tmp_path, f'[[servers]]\nurl = "a"\n[servers.headers]\nAuthorization = "{value}"\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.line == 4 and caught.value.key == "servers[1].headers.Authorization"
    assert "s3cr3t" not in str(caught.value)


def test_a_password_in_a_server_url_is_refused_and_hidden(tmp_path: Path) -> None:
    path = write(tmp_path, '[[servers]]\nname = "a"\nurl = "http://me:hunter2@box:11434"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.line == 3 and caught.value.key == "servers[1].url"
    assert "hunter2" not in str(caught.value) and "me:***@" in str(caught.value)


def test_server_settings_never_show_header_values(tmp_path: Path) -> None:
    from rich.pretty import pretty_repr

    config = load_config(write(tmp_path, '[[servers]]\nurl = "a"\nheaders = { A = "s3cr3t" }\n'))
    for value in (config, config.servers[0]):
        assert "s3cr3t" not in repr(value) and "s3cr3t" not in pretty_repr(value)


def test_settings_always_have_a_first_server_matching_host_and_headers() -> None:
    from ollama_tui.config import ServerSettings, Settings

    plain = Settings(host="http://a:1", headers={"X": "1"})
    assert plain.servers == (ServerSettings(None, "http://a:1", {"X": "1"}, False),)
    two = Settings(
        servers=(ServerSettings("a", "http://a:1", {"X": "1"}), ServerSettings(None, "http://b:1"))
    )
    assert (two.host, two.headers) == ("http://a:1", {"X": "1"})
    with pytest.raises(ValueError, match="first server"):
        Settings(host="http://other:1", servers=two.servers)
