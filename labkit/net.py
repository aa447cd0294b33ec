"""Processes and HTTP for the lab's commands, on psutil and requests.

- ``free_port()`` and ``port_is_free()``: where a server may listen.
- ``wait_until(condition, timeout)``: the one wait loop (a health answer, a process gone).
- ``answers(url)``: does a server answer 200 there now; ``request()`` and ``signed_in()``:
  HTTP calls, signed in with ``auth=(user, password)`` when the server wants it.
- ``FAIL_FAST``: how long any request of the lab waits for a server, and
  ``fail_fast()``: the same for MLflow's own client (no retries).
- ``start_group()`` and ``stop_tree()``: a server the lab starts runs in its own process
  group (its own console group on Windows), so a Ctrl+C in the terminal reaches only the
  lab's command, which then stops the server and every process it started, on every OS.
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
from collections.abc import Callable, MutableMapping
from typing import TypeVar

import psutil
import requests

HOST = "127.0.0.1"
WINDOWS = sys.platform == "win32"
STOP_GRACE_S = 5.0  # a server's time to stop on SIGTERM before it is killed
PROBE_S = 2.0  # one look at a server that is starting: did it answer yet?

# A request of the lab's (or of MLflow's client for the lab) that gets no answer for
# FAIL_FAST seconds gives up, and MLflow does not retry it: a hung tracking server costs
# the hung call and MLflow's end of run, about 20 s (test/test_dead_server.py), instead of
# MLflow's defaults (120 s a request, retried for about 4 minutes). Every request the lab
# makes is one small API call that answers in well under a second, even on a class server
# grading with several jobs.
FAIL_FAST = 10
FAIL_FAST_ENV = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": str(FAIL_FAST)}
# Once a script has said the server failed, what MLflow still sends at exit gives up at once.
GIVE_UP_ENV = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "1"}

T = TypeVar("T")


# ------------------------------------------------------------------------- HTTP

def fail_fast(environ: MutableMapping[str, str] = os.environ) -> None:
    """Make MLflow's client fail in seconds, not minutes, on a server that is down or hung
    (``FAIL_FAST_ENV``), unless the environment already says otherwise."""
    for name, value in FAIL_FAST_ENV.items():
        environ.setdefault(name, value)


def give_up_at_once() -> None:
    """Whatever MLflow still sends to a server that failed (the end of a run) gives up at once."""
    os.environ.update(GIVE_UP_ENV)


def request(method: str, url: str, *, auth: tuple[str, str] | None = None,
            timeout: float = FAIL_FAST, **options) -> requests.Response:
    """One HTTP call (``auth=(user, password)`` signs it in); raises requests' exceptions."""
    return requests.request(method, url, auth=auth, timeout=timeout, **options)


def refused(response: requests.Response, user: str | None) -> bool:
    """True when the server refuses this sign-in: 401, or the 404 "User with username=<user> not
    found" that a server worker still holding a deleted user's sign-in (MLflow's 60 s cache of
    checked passwords) answers to every call."""
    if response.status_code == 401:
        return True
    return bool(user) and response.status_code == 404 and f"username={user} not found" in response.text


def signed_in(user: str, password: str) -> requests.Session:
    """A session whose every call is signed in as ``user`` (HTTP basic auth)."""
    session = requests.Session()
    session.auth = (user, password)
    return session


def answers(url: str, timeout: float = PROBE_S, **options) -> bool:
    """True when a server answers ``url`` with 200 now (False on any other answer or none)."""
    try:
        return request("GET", url, timeout=timeout, **options).status_code == 200
    except (requests.RequestException, ValueError):
        return False


# ------------------------------------------------------------------ ports, waiting

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
    """A port no one listens on now (the system's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_until(condition: Callable[[], T], timeout: float, *, every: float = 0.25,
               unless: Callable[[], object] | None = None) -> T | None:
    """``condition()``'s first truthy value, asked every ``every`` seconds; None once
    ``timeout`` seconds have passed, or as soon as ``unless()`` is truthy (asked first:
    a server that exited cannot be waited for)."""
    deadline = time.monotonic() + timeout
    while True:
        if unless is not None and unless():
            return None
        if value := condition():
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(every)


def server_gone(pid: int, port: int, wait: float = 5.0, host: str = HOST) -> bool:
    """True once the port is free and no process of the server ``pid`` started is alive."""
    return bool(wait_until(lambda: port_is_free(port, host) and not family(pid), wait, every=0.1))


# --------------------------------------------------------------------- processes

def start_group(command: list[str], **popen_options) -> subprocess.Popen:
    """Start ``command`` as the leader of a new process group (a new session on POSIX)."""
    if WINDOWS:
        popen_options["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
    else:
        popen_options["start_new_session"] = True
    return subprocess.Popen(command, **popen_options)


def _live(process: psutil.Process) -> bool:
    """Running and not a zombie (a zombie's parent has only to read its exit code)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def process_group(pgid: int) -> list[psutil.Process]:
    """The live processes of the POSIX process group ``pgid`` (none on Windows)."""
    if not hasattr(os, "getpgid"):
        return []
    found = []
    for process in psutil.process_iter():
        with contextlib.suppress(OSError, psutil.Error):
            if os.getpgid(process.pid) == pgid and _live(process):
                found.append(process)
    return found


def family(pid: int) -> list[psutil.Process]:
    """The live process ``pid``, every process it started, and (on POSIX) the rest of the
    process group it leads: workers whose parent died are no longer its children."""
    found: dict[int, psutil.Process] = {}
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        found[pid] = root
        for child in root.children(recursive=True):
            found[child.pid] = child
    for member in process_group(pid):
        found.setdefault(member.pid, member)
    return [process for process in found.values() if _live(process)]


def stop_tree(process: subprocess.Popen | int, grace: float = STOP_GRACE_S) -> None:
    """Stop ``process`` and every process it started: terminate them all, wait up to ``grace``
    seconds, kill what remains, on every OS.

    Bounded whatever they do: a process that ignores SIGTERM is killed, and so is any
    process of its group that outlives it. A second Ctrl+C while it runs does not cut
    it short. Safe to call twice.
    """
    with _signals_ignored():
        pid = process if isinstance(process, int) else process.pid
        if isinstance(process, int) or process.poll() is None:
            members = family(pid)
        else:  # reaped already: its pid may be another process's now, its group's members not
            members = process_group(pid)
        for member in members:
            with contextlib.suppress(psutil.Error):
                member.terminate()
        wait_until(lambda: not any(_live(member) for member in members), grace, every=0.1)
        for member in [*members, *_started_meanwhile(members, pid)]:
            with contextlib.suppress(psutil.Error):
                if _live(member):
                    member.kill()
        if not isinstance(process, int):
            process.wait()  # reaped by its parent: its exit code stays readable
        wait_until(lambda: not any(_live(member) for member in members), grace, every=0.05)


def _started_meanwhile(members: list[psutil.Process], pid: int) -> list[psutil.Process]:
    """Processes that the survivors started while they were asked to stop."""
    found = process_group(pid)
    for member in members:
        with contextlib.suppress(psutil.Error):
            if _live(member):
                found.extend(member.children(recursive=True))
    return found


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
