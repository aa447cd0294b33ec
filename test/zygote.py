"""Run Python scripts (or ``-m MODULE``, ``-c CODE``) in processes forked from one that has
already imported the lab's libraries.

Each task script spends most of its seconds importing MLflow, scikit-learn, pandas and
matplotlib, and the tests run hundreds of them. multiprocessing's ``forkserver``
imports those once (``set_forkserver_preload``) and forks a child per script. The
child is a real, separate process: it gets the script's environment, folder, argv and
output files, runs the script as ``__main__`` (uncaught exceptions go through
``sys.excepthook``, atexit handlers run, as in an interpreter of its own), and its
exit code comes back as a subprocess's would. The fork server touches no store, so no
connection or MLflow state is shared with a child. POSIX only (the suite runs on Linux).
"""

from __future__ import annotations

import atexit
import multiprocessing
import multiprocessing.util
import os
import runpy
import signal
import subprocess
import sys
import tempfile
import threading
import time
import types
from pathlib import Path

PRELOAD = [
    "mlflow", "mlflow.sklearn", "mlflow.pyfunc", "mlflow.models", "mlflow.tracking",
    "mlflow.store.tracking.sqlalchemy_store", "mlflow.store.model_registry.sqlalchemy_store",
    "sklearn.ensemble", "sklearn.linear_model", "sklearn.model_selection", "sklearn.metrics",
    "skops.io", "pandas", "matplotlib.figure", "labkit", "grader.core", "grader.render",
    # What the class's grading fork server preloads (classroom/isolation.py): a fork server a forked
    # `python -m classroom` starts is forked from here (_fork_server). Its warm-up and the class
    # commands' own imports come in CLASS_PRELOAD, only in a session with class tests.
    "classroom.child",
    "zygote_warmup",  # last: makes what each forked script would make again (test/zygote_warmup.py)
]
# What every forked class command but `status` and `audit` imports (~2 CPU s: MLflow's server and
# its auth client), and the grading fork server's warm-up (~2 CPU s a gradebook or board): preloaded
# only in a session that runs class tests (conftest: ``for_class_commands``), not the everyday tier.
CLASS_PRELOAD = ["mlflow.server", "mlflow.server.auth.client", "classroom.warm_grader"]


def for_class_commands() -> None:
    """Preload CLASS_PRELOAD too (before the fork server starts: the first script run)."""
    if _context is None and CLASS_PRELOAD[0] not in PRELOAD:
        PRELOAD[-1:-1] = CLASS_PRELOAD

_context = None
_starting = threading.Lock()


def context():
    """The forkserver context every script's process comes from (its server started once, here:
    with this folder on its PYTHONPATH, for test/zygote_warmup.py; Python 3.11's fork server
    ignores the sys.path it is handed)."""
    global _context
    with _starting:
        if _context is None:
            from multiprocessing import forkserver

            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
            saved = os.environ.get("PYTHONPATH")
            os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).parent), saved]))
            try:
                forkserver.ensure_running()
            finally:
                if saved is None:
                    del os.environ["PYTHONPATH"]
                else:
                    os.environ["PYTHONPATH"] = saved
            _context = context
    return _context


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


_FORK_SERVER_MAIN = "from multiprocessing.forkserver import main;"


def _fork_server(spawnv_passfds):
    """multiprocessing's ``spawnv_passfds`` for a script's process: a fork server it starts (the
    class's grading children come from one: classroom/isolation.py) is this process forked, not a
    new interpreter that imports MLflow, the grader and their warm-up again (~10 CPU s a gradebook
    or board). The child runs the very command the new interpreter would (multiprocessing's
    ``forkserver.main``, its preload already imported), with only the descriptors it is passed,
    as after exec. Anything else, or a process with threads (forking one is unsafe), is spawned."""
    def spawn(path, args, passfds):
        if not (args and args[-1].startswith(_FORK_SERVER_MAIN)) or threading.active_count() > 1:
            return spawnv_passfds(path, args, passfds)
        pid = os.fork()
        if pid:
            return pid
        try:
            keep = sorted({0, 1, 2, *passfds})
            for low, high in zip(keep, [*keep[1:], os.sysconf("SC_OPEN_MAX")]):
                os.closerange(low + 1, high)
            exec(compile(args[-1], "<fork server>", "exec"), {"__name__": "__forkserver__"})
        finally:
            os._exit(0)
    return spawn


def _child(request: dict) -> None:
    """In the forked child: become the script's process, run it, and never return."""
    code = 1
    try:
        multiprocessing.util.spawnv_passfds = _fork_server(multiprocessing.util.spawnv_passfds)
        os.setsid()  # its own process group: a timeout kills whatever it started too
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        time.tzset()  # the local time zone of this environment's TZ, as a new interpreter reads it
        if request["umask"] is not None:
            os.umask(request["umask"])
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if request["append"] else os.O_TRUNC)
        for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
            target = os.open(path, flags, 0o644)
            os.dup2(target, fd)
            os.close(target)
        sys.stdin = open(os.devnull, encoding="utf-8")
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False, buffering=1)
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False, buffering=1)
        argv = list(request["argv"])
        # A new, empty __main__ that stays __main__ to the end, as in a new interpreter: the
        # excepthook and atexit handlers see the script as __main__ (labkit's crash line does).
        main = sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            if argv[0] == "-m":  # python -m MODULE ARGS: the folder first on sys.path, as python does
                sys.argv = [argv[1], *argv[2:]]
                sys.path[0] = os.getcwd()
                runpy._run_module_as_main(argv[1])  # what `python -m` itself calls
            elif argv[0] == "-c":  # python -c CODE ARGS: "" first on sys.path, argv[0] "-c"
                sys.argv = ["-c", *argv[2:]]
                sys.path[0] = ""
                exec(compile(argv[1], "<string>", "exec"), main.__dict__)
            else:
                sys.argv = argv
                sys.path[0] = os.path.dirname(os.path.abspath(argv[0]))
                main.__file__ = argv[0]
                with open(argv[0], "rb") as source:
                    script = compile(source.read(), argv[0], "exec")
                exec(script, main.__dict__)
            code = 0
        except SystemExit as exc:
            code = _exit_code(exc)
        except BaseException:  # noqa: BLE001 - what the interpreter itself would do
            exc_type, exc, tb = sys.exc_info()
            sys.excepthook(exc_type, exc, tb.tb_next)  # from the script's frames on, not this one's
            code = 1
        atexit._run_exitfuncs()  # a multiprocessing child skips them; a script's process runs them
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def start(argv: list, env: dict[str, str], cwd, stdout, stderr, append: bool = False,
          umask: int | None = None) -> multiprocessing.Process:
    """``python ARGV`` in a child forked from the fork server, started (its pid is its process
    group), its output in the files ``stdout`` and ``stderr`` (written afresh, or appended to; they
    may be one file), with ``umask`` if given; the caller joins it."""
    request = {"argv": [str(a) for a in argv], "env": env, "cwd": str(cwd),
               "stdout": str(stdout), "stderr": str(stderr), "append": append, "umask": umask}
    child = context().Process(target=_child, args=(request,))
    child.start()
    return child


def run(argv: list[str], env: dict[str, str], cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    """``python ARGV`` in a forked child; TimeoutExpired (and the child killed) after ``timeout``."""
    with tempfile.TemporaryDirectory() as tmp:
        out, err = Path(tmp) / "stdout", Path(tmp) / "stderr"
        child = start(argv, env, cwd, out, err)
        child.join(timeout)
        timed_out = child.exitcode is None
        if timed_out:
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            child.join()
        stdout = out.read_text(encoding="utf-8", errors="replace") if out.exists() else ""
        stderr = err.read_text(encoding="utf-8", errors="replace") if err.exists() else ""
    if timed_out:
        raise subprocess.TimeoutExpired(argv, timeout, stdout, stderr)
    return subprocess.CompletedProcess(argv, child.exitcode, stdout, stderr)
