"""Work done in a forked child process, its results sent back through a pipe.

At start-up with a fleet, reading every server's first lists (decoding and parsing JSON, about
5 ms of CPU per 500 models) on the app's threads competes for the interpreter's one lock with
importing and building the UI. A child forked before any thread exists does that work with an
interpreter of its own, on another core, and sends each result back pickled: loading a pickled
list costs the app about a fifth of reading it from JSON.

Only where ``fork`` without ``exec`` is safe to use: Linux (macOS system libraries may not
survive it), and a process with one thread (a lock held by another thread at the fork would
stay held in the child for good). Anything else, and the caller does the work itself.
No Textual here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import select
import signal
import struct
import sys
import threading
import time
from collections.abc import Callable

__all__ = ["MAX_FRAME_BYTES", "can_fork", "run_forked"]

log = logging.getLogger(__name__)

_HEADER = struct.Struct("<II")  # (item index, payload length)
MAX_FRAME_BYTES = 1 << 30
"""A result larger than this (pickled) is not sent: the caller does that item itself."""


def can_fork() -> bool:
    """Whether :func:`run_forked` may be used here and now: Linux, and one thread (as the
    kernel counts them: a thread started from C is not in ``threading``'s count)."""
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return False
    if threading.active_count() != 1:
        return False
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


def run_forked(
    count: int,
    work: Callable[[int], object],
    deliver: Callable[[int, object | None], None],
    timeout: float,
) -> bool:
    """Run ``work(0)`` ... ``work(count - 1)`` side by side in a forked child; False (and
    nothing done) where :func:`can_fork` says no.

    A thread of this process then calls ``deliver(i, result)`` as each result arrives, and
    ``deliver(i, None)`` for each item that failed, could not be sent, or had not arrived
    within ``timeout`` seconds (the child is then killed). Every item is delivered once.
    """
    if count <= 0 or not can_fork():
        return False
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return False
    if pid == 0:  # pragma: no cover - the child (tested through its results)
        os.close(read_end)
        _child(count, work, write_end, timeout)
    os.close(write_end)
    reader = threading.Thread(
        target=_read_results,
        args=(pid, read_end, count, deliver, time.monotonic() + timeout),
        name="ollama-tui-forked-results",
        daemon=True,
    )
    try:
        reader.start()
    except RuntimeError:  # no thread to be had: undone, and the caller does the work itself
        _reap(pid)
        os.close(read_end)
        return False
    return True


def _child(count: int, work: Callable[[int], object], out: int, timeout: float) -> None:
    """The forked child: never returns, never runs the parent's clean-up (``os._exit``)."""
    try:
        # Ctrl+C in the terminal reaches the whole process group: it is the app's to handle.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        # An app that has gone (quit, or a start-up error) leaves no child behind: the next
        # write to the pipe ends it at once, without a word.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        # Nothing of the child may reach the terminal (a traceback would land in the app's
        # screen), nor keep the app's standard streams open after it has ended.
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        lock = threading.Lock()

        def one(index: int) -> None:
            try:
                result: object | None = work(index)
                payload = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException:
                payload = pickle.dumps(None)
            if len(payload) > MAX_FRAME_BYTES:
                payload = pickle.dumps(None)
            frame = memoryview(_HEADER.pack(index, len(payload)) + payload)
            with lock:  # a frame larger than the pipe's buffer is written in parts
                try:
                    while frame:
                        frame = frame[os.write(out, frame) :]
                except OSError:  # the app stopped listening: nothing more to do
                    os._exit(0)

        threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(count)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
    finally:
        os._exit(0)


def _read_results(
    pid: int,
    fd: int,
    count: int,
    deliver: Callable[[int, object | None], None],
    deadline: float,
) -> None:
    """The parent's reader: each frame as it arrives, the missing ones at the end, then the
    child reaped (killed first if it outlived the deadline)."""
    delivered: set[int] = set()

    def hand_over(index: int, result: object | None) -> None:
        if index in delivered or not 0 <= index < count:
            return
        delivered.add(index)
        try:
            deliver(index, result)
        except Exception:  # one item's trouble must not lose the others
            log.exception("delivering a forked result failed")

    buffer = bytearray()
    try:
        while len(delivered) < count:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                break  # too late: what has not come is done by the caller
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break  # the child ended
            buffer += chunk
            while len(buffer) >= _HEADER.size:
                index, size = _HEADER.unpack_from(buffer)
                if size > MAX_FRAME_BYTES:
                    raise ValueError("a forked result frame is too large")
                if len(buffer) < _HEADER.size + size:
                    break
                payload = bytes(buffer[_HEADER.size : _HEADER.size + size])
                del buffer[: _HEADER.size + size]
                # Our own child's bytes, through a pipe only it and we hold.
                hand_over(index, pickle.loads(payload))
    except Exception:
        log.exception("reading the forked results failed")
    finally:
        _reap(pid)  # before the pipe closes: no write of it meets a closed pipe
        os.close(fd)
        for index in range(count):
            hand_over(index, None)


def _reap(pid: int) -> None:
    """Wait for the child, killing it first if it is still running."""
    with contextlib.suppress(ChildProcessError):
        done, _status = os.waitpid(pid, os.WNOHANG)
        if done == 0:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
