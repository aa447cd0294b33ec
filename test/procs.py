"""What a test needs to check that a command left no process behind, and to make sure of it.

On psutil (through ``labkit.net``), so it reads processes on every OS; the tests that send
POSIX signals (a terminal's Ctrl+C to a process group, SIGHUP) skip where there are none.
"""

from __future__ import annotations

import contextlib
import os
import subprocess

import psutil

from labkit.net import family, stop_tree, wait_until

POSIX = hasattr(os, "killpg")  # process groups and the signals a terminal sends


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def descendants(pid: int) -> list[int]:
    """Every live process started, directly or not, by ``pid``."""
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []
    return [child.pid for child in children if alive(child.pid)]


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    """The pids still alive after ``timeout`` seconds (an empty list once all are gone)."""
    wait_until(lambda: not any(alive(pid) for pid in pids), timeout, every=0.1)
    return [pid for pid in pids if alive(pid)]


def kill_everything(process: subprocess.Popen, pids: list[int]) -> None:
    """Stop ``process`` and ``pids``, with everything they started, at once (no grace)."""
    for pid in pids:
        if family(pid):
            stop_tree(pid, grace=0)
    stop_tree(process, grace=0)


def command_lines(processes) -> list[str]:
    """The command lines of ``processes`` (psutil's), without those that exited between their
    listing and the reading of their command line (a zombie's cannot be read)."""
    lines = []
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):  # ZombieProcess too
            lines.append(" ".join(process.cmdline()))
    return lines


def describe(pids: list[int]) -> str:
    lines = []
    for pid in pids:
        try:
            command = " ".join(psutil.Process(pid).cmdline())
        except psutil.Error:
            command = "?"
        lines.append(f"  {pid}: {command[:150]}")
    return "\n".join(lines)
