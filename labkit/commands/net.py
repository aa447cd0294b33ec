"""Small network and process helpers shared by the UI command and the model server.

A server the lab starts runs in its own process group (its own console group on
Windows): a Ctrl+C in the terminal reaches only the lab's command, which then stops
the whole group, the server and every process the server started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

HOST = "127.0.0.1"
WINDOWS = sys.platform == "win32"
STOP_GRACE_S = 5.0  # a server's time to stop on SIGTERM before it is killed


def port_is_free(port: int, host: str = HOST) -> bool:
    """True if a server could listen on the port now (as uvicorn does, with SO_REUSEADDR,
    so connections of a stopped server still closing do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        if not WINDOWS:  # on Windows this option would allow binding over a live server
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def start_group(command: list[str], **popen_options) -> subprocess.Popen:
    """Start ``command`` as the leader of a new process group (a new session on POSIX)."""
    if WINDOWS:
        popen_options["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
    else:
        popen_options["start_new_session"] = True
    return subprocess.Popen(command, **popen_options)


def stop_group(process: subprocess.Popen, grace: float = STOP_GRACE_S) -> None:
    """Stop the group led by ``process``: SIGTERM, ``grace`` seconds, then SIGKILL.

    Bounded whatever the group does: a process that ignores SIGTERM is killed, and so
    is any process of the group that outlives its leader. A second Ctrl+C while it
    runs does not cut it short. Safe to call twice.
    """
    with _signals_ignored():
        _stop_group(process, grace)


def _stop_group(process: subprocess.Popen, grace: float) -> None:
    if WINDOWS:
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(process.pid)],
                       capture_output=True, check=False)
        process.wait()
        return
    _signal_group(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    while group_alive(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    _signal_group(process.pid, signal.SIGKILL)
    process.wait()


def stop_on_signals() -> None:
    """Make Ctrl+C, SIGTERM, SIGHUP (and Ctrl+Break on Windows) raise KeyboardInterrupt.

    SIGINT is set explicitly: a process started in the background by a shell without
    job control (as CI runners do) inherits SIGINT ignored, and would never stop on it.
    A SIGHUP ignored on purpose (`nohup`) stays ignored.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    if hasattr(signal, "SIGHUP") and signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
        signal.signal(signal.SIGHUP, _interrupt)
    if hasattr(signal, "SIGBREAK"):
        signal.signal(signal.SIGBREAK, _interrupt)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


STOP_SIGNALS = [getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK")
                if hasattr(signal, name)]


@contextlib.contextmanager
def _signals_ignored():
    """Ignore the stop signals for a bounded clean-up (only the main thread may set them)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {sig: signal.signal(sig, signal.SIG_IGN) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def server_gone(pid: int, port: int, wait: float = 5.0, host: str = HOST) -> bool:
    """True once the port is free and no live process remains in the server's group."""
    deadline = time.monotonic() + wait
    while True:
        if port_is_free(port, host) and not group_alive(pid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def group_alive(pgid: int) -> bool:
    """True while a live (not zombie) process belongs to the process group ``pgid``."""
    if WINDOWS:
        found = subprocess.run(["tasklist", "/FI", f"PID eq {pgid}", "/NH"],
                               capture_output=True, text=True, check=False).stdout
        return str(pgid) in found
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for stat in proc.glob("[0-9]*/stat"):  # a zombie waiting for init to reap it is gone
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
