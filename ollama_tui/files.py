"""Reading and writing the user's files safely: the config file, Modelfiles, the keymap, and
the app's own state files (``StateFile``).

- ``read_bounded`` reads only a regular file, and only up to a limit: a FIFO given by mistake
  does not hang (it is opened without blocking and refused), ``/dev/zero`` does not fill memory.
- ``atomic_write`` replaces a file in one step (a temporary file in the same folder, then
  ``os.replace``), writing through symlinks to their target (a dotfiles link stays a link), and
  keeping the target's mode (a 0600 file that holds an Authorization header stays 0600).

No UI here: callers turn ``FileRefused`` (an ``OSError``) into their own messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import stat
from pathlib import Path
from typing import Any

__all__ = [
    "FileRefused",
    "StateFile",
    "atomic_write",
    "read_bounded",
    "read_text_bounded",
    "write_target",
]

# Not blocking: opening a FIFO for reading would otherwise wait for a writer, forever.
_READ_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
_CHUNK = 64 * 1024


class FileRefused(OSError):
    """A file the app will not read or replace; ``str()`` names the path and ``reason``."""

    def __init__(self, path: Path | str, reason: str, *, size: int | None = None) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
        self.size = size  # of a file refused for its size, when known


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MB" if limit % (1024 * 1024) == 0 else f"{limit:,} bytes"


def _refuse_special(path: Path | str, mode: int, doing: str) -> None:
    if not stat.S_ISREG(mode):
        raise FileRefused(path, f"not a regular file ({_kind(mode)}); will not {doing} it")


def read_bounded(path: Path | str, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (symlinks are followed).

    Raises ``FileNotFoundError`` and other ``OSError``s as ``open`` does, and ``FileRefused``
    for anything that is not a regular file or is larger than ``limit``.
    """
    fd = os.open(path, _READ_FLAGS)
    try:
        info = os.fstat(fd)  # of what was opened: no race with a swapped path
        _refuse_special(path, info.st_mode, "read")
        if info.st_size > limit:
            raise FileRefused(
                path, f"too big (over {_size(limit)}); will not read it", size=info.st_size
            )
        chunks: list[bytes] = []
        total = 0
        while total <= limit:  # the file may grow after fstat: read at most limit + 1
            chunk = os.read(fd, min(_CHUNK, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:  # grew since fstat
            raise FileRefused(path, f"too big (over {_size(limit)}); will not read it")
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_text_bounded(path: Path | str, limit: int) -> str:
    """``read_bounded`` decoded as UTF-8; a leading byte order mark is dropped."""
    return read_bounded(path, limit).decode("utf-8-sig")


def _write_target(path: Path | str) -> tuple[Path, os.stat_result | None]:
    target = Path(os.path.realpath(path))  # through every symlink, even to a missing file
    try:
        info = os.stat(target)
    except FileNotFoundError:
        return target, None
    _refuse_special(path, info.st_mode, "replace")
    return target, info


def write_target(path: Path | str) -> tuple[Path, bool]:
    """Where ``atomic_write(path, ...)`` would write (symlinks resolved) and whether that file
    exists; ``FileRefused`` for a target that is not a regular file. For asking first."""
    target, info = _write_target(path)
    return target, info is not None


def atomic_write(
    path: Path | str, data: bytes, *, private: bool = False, make_dirs: bool = False
) -> Path:
    """Replace the file at ``path`` (its symlinks' target) with ``data`` in one step.

    An existing target keeps its mode (and its owner and group where allowed); a new file is
    0600 when ``private`` (it may hold secrets), else 0666 less the umask. Refuses a target
    that exists and is not a regular file (FIFO, device, folder) with ``FileRefused``.
    ``make_dirs`` creates missing folders (0700). Returns the path actually written.
    """
    target, info = _write_target(path)
    if make_dirs:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Replacing: 0600 until fchmod sets the target's mode exactly (fchmod ignores the umask).
    # New: 0600 for secrets, else 0666 less the umask.
    create_mode = 0o600 if info is not None or private else 0o666
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_NOFOLLOW", 0)
    for _ in range(100):
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, flags, create_mode)
            break
        except FileExistsError:
            continue
        except PermissionError:
            # Not the temporary file's name: the folder is what the user can act on.
            raise FileRefused(
                target.parent, "cannot create a file in this folder (permission denied)"
            ) from None
    else:  # pragma: no cover - 100 random names taken
        raise FileRefused(target.parent, "cannot make a temporary file")
    try:
        with os.fdopen(fd, "wb") as file:
            if info is not None:
                os.fchmod(file.fileno(), stat.S_IMODE(info.st_mode))
                with contextlib.suppress(OSError):  # only root may give a file away
                    os.fchown(file.fileno(), info.st_uid, info.st_gid)
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _sync_dir(target.parent)
    return target


def _sync_dir(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every system can open a folder)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class StateFile:
    """A JSON file of the app's own making (last-used times, probe results), kept by a store.

    ``path`` None keeps everything in memory (tests, apps built in tests). A file that cannot
    be read is never overwritten: the store goes on in memory. A corrupt or foreign one is set
    aside as ``<name>.corrupt`` and the store starts afresh. Writes are atomic, mode 0600.
    ``warning`` says the last problem, for the user; nothing here raises. A subclass names
    what it keeps (``WHAT``) and turns its data to and from JSON (``_to_json``, ``_take``).
    """

    WHAT = "state"
    """What the file keeps, for messages ("last-used times")."""
    MAX_BYTES = 16 * 1024 * 1024

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.warning: str | None = None
        self._dirty = False

    def _take(self, data: Any) -> None:
        """Take the file's JSON; ValueError, TypeError, KeyError... for what is not the
        store's (the file is then set aside)."""
        raise NotImplementedError

    def _to_json(self) -> Any:
        raise NotImplementedError

    def _read(self) -> str | None:
        """Read the file into the store (a missing one is no problem); the problem, if any."""
        if self.path is None:
            return None
        try:
            raw = read_bounded(self.path, self.MAX_BYTES)
        except FileNotFoundError:
            return None
        except OSError as error:
            path, self.path = self.path, None  # never overwrite what could not be read
            return self._warn(f"Could not read {path}: {error}; {self.WHAT} start afresh.")
        try:
            self._take(json.loads(raw))
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as error:
            return self._set_aside(f"{type(error).__name__}: {str(error)[:200]}")
        return None

    def read_saved(self) -> Any:
        """The file's JSON as saved now (another process may have written it since), or None
        when it cannot be read or parsed; any thread, no warning."""
        if self.path is None:
            return None
        try:
            return json.loads(read_bounded(self.path, self.MAX_BYTES))
        except (OSError, ValueError, RecursionError):
            return None

    def merge_saved(self, data: Any) -> None:
        """Take from what :meth:`read_saved` returned what is newer than this store's (two
        processes keep one file: the dashboard and the exporter); JSON that is not the
        store's gives nothing."""
        if data is None:
            return
        with contextlib.suppress(ValueError, TypeError, KeyError, AttributeError):
            self._merge(data)

    def _merge(self, data: Any) -> None:
        """Take the newer part of the file's JSON (what another process saved)."""

    @property
    def changed(self) -> bool:
        """There is something to save."""
        return self.path is not None and self._dirty

    def _warn(self, text: str) -> str:
        self.warning = text
        return text

    def _set_aside(self, why: str) -> str:
        assert self.path is not None
        aside = self.path.with_name(self.path.name + ".corrupt")
        try:
            os.replace(self.path, aside)
        except OSError as error:
            path, self.path = self.path, None  # not overwritten: it may be someone's file
            return self._warn(
                f"{path} is corrupt ({why}) and could not be set aside: {error}; "
                f"{self.WHAT} are kept in memory only."
            )
        self._dirty = True  # what the store holds now replaces it
        return self._warn(f"{self.path} was corrupt ({why}); set aside as {aside.name}.")

    def save(self) -> None:
        """Write the file if anything changed, with what another process saved meanwhile; a
        failure is kept as the warning."""
        if not self.changed:
            return
        self.merge_saved(self.read_saved())
        data = self.dump()
        if data is not None:
            self.write(data)

    async def save_in_background(self) -> None:
        """:meth:`save` from an event loop that owns the store: the file is read and written on
        a thread, the store is touched only on the loop."""
        if not self.changed:
            return
        self.merge_saved(await asyncio.to_thread(self.read_saved))
        data = self.dump()
        if data is not None:
            await asyncio.to_thread(self.write, data)

    def dump(self) -> bytes | None:
        """What :meth:`save` writes, or None when nothing changed; the store counts as saved
        from here on (:meth:`write` marks it changed again if writing fails). An app encodes
        on its event loop and writes on a thread: the data never crosses threads unencoded."""
        if self.path is None or not self._dirty:
            return None
        self._dirty = False
        return json.dumps(self._to_json()).encode()

    def write(self, data: bytes) -> None:
        """Write what :meth:`dump` returned (any thread); a failure becomes the warning."""
        if self.path is None:
            return
        try:
            atomic_write(self.path, data, private=True, make_dirs=True)
        except OSError as error:
            self._dirty = True
            self.warning = f"Could not save {self.WHAT} to {self.path}: {error}"
