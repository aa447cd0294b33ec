"""Grade one student in a process of its own, with a time limit.

Students' models are untrusted. The grader already loads them with skops and a short
list of trusted types, and refuses pickle formats (grader/models.py); this is the
second wall: whatever a student's store makes the grader do, it happens in a child
process that holds only that student's settings, dies at the time limit, and shares
nothing with the instructor's process or with another student's grading.

Children are forked from a server process that imported MLflow and the grader once
(``forkserver``), so a student costs the grading, not another 3 s of imports.
Where ``forkserver`` does not exist (Windows), each child is a fresh interpreter.
"""

from __future__ import annotations

import multiprocessing
import sys
from dataclasses import dataclass, field
from pathlib import Path

from labkit.i18n import Domain

_, N_, _n = Domain("classroom").functions()

ROOT = Path(__file__).resolve().parents[1]
# Imported once by the fork server, so each grading child starts with what grading imports, and
# with the re-fits every student's grading asks for (classroom/warm_grader.py).
PRELOAD = ["grader.core", "grader.render", "classroom.child", "classroom.warm_grader"]
GRADED, CANNOT_GRADE, TIMED_OUT, CRASHED = "graded", "cannot-grade", "timed-out", "crashed"


@dataclass
class Outcome:
    status: str  # one of GRADED, CANNOT_GRADE, TIMED_OUT, CRASHED
    report: dict | None = None  # grader.render.to_json(report)
    gradescope: dict | None = None  # grader.render.to_gradescope(report)
    error: str = ""
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)
    models: dict | None = None  # what the grade read off the student's logged models (classroom/child.py)


_context = None


def context():
    """The multiprocessing context every grading child comes from (made once)."""
    global _context
    if _context is None:
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        methods = multiprocessing.get_all_start_methods()
        _context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        if _context.get_start_method() == "forkserver":
            _context.set_forkserver_preload(PRELOAD)
    return _context


def start_fork_server() -> None:
    """Start the grading children's fork server now, deaf to Ctrl+C, as the children it forks: its
    imports and warm-up (PRELOAD) then run while the caller does other work (signing the grading
    user in), not before the first student's grading; a Ctrl+C while it imports would print its
    traceback, and the caller ends the grading it started itself. Nothing where there is no fork server."""
    import signal

    if context().get_start_method() != "forkserver":
        return
    from multiprocessing import forkserver

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # inherited by the fork server
    try:
        forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, previous)


def grade_isolated(env: dict[str, str], timeout: float, as_of=None, known: dict | None = None) -> Outcome:
    """Grade every task with ``env`` (tracking URI, workspace, credentials) in a child process;
    with ``as_of`` (an aware datetime), only what was made by that deadline counts. ``known``: the
    facts the same student's last grade read off their logged models (``Outcome.models``), never
    another student's."""
    import time

    from classroom.child import grade_and_send

    started = time.monotonic()
    ctx = context()
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(target=grade_and_send, args=(env, sender, as_of, known), daemon=True)
    child.start()
    sender.close()
    outcome = _receive(receiver, child, timeout)
    receiver.close()
    outcome.seconds = time.monotonic() - started
    return outcome


def _receive(receiver, child, timeout: float) -> Outcome:
    if not receiver.poll(timeout):
        alive = child.is_alive()
        _end(child)
        if alive:
            return Outcome(TIMED_OUT, error=_("grading took longer than {seconds:.0f} s and was stopped",
                                              seconds=timeout))
        return Outcome(CRASHED, error=_("the grading process died (exit code {code})", code=child.exitcode))
    try:
        message = receiver.recv()
    except (EOFError, OSError):
        _end(child)
        return Outcome(CRASHED, error=_("the grading process died (exit code {code})", code=child.exitcode))
    child.join(5)
    _end(child)
    return Outcome(**message)


def _end(child) -> None:
    if child.is_alive():
        child.kill()
    child.join(5)
