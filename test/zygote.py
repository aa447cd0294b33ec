"""Run Python scripts in forked children of a process that has already imported the lab.

Each task script spends most of its seconds importing MLflow, scikit-learn, pandas and
matplotlib. The tests run hundreds of them, so a "zygote" process imports all that once
and forks a child per script. The child is a real, separate process: it gets the
script's environment, folder, argv and output files, runs the script as ``__main__``
(uncaught exceptions go through ``sys.excepthook``, atexit handlers run), and its exit
code comes back as a subprocess's would. Nothing in the zygote touches a store before
it forks, so no connection or MLflow state is shared with a child.

POSIX only (os.fork); the test suite runs on Linux. Protocol: one JSON request per line
on stdin, one JSON answer per line on stdout.
"""

from __future__ import annotations

import atexit
import json
import os
import runpy
import signal
import sys
import time

PRELOAD = [
    "scipy.special", "mlflow", "mlflow.sklearn", "mlflow.pyfunc", "mlflow.models", "mlflow.tracking",
    "mlflow.store.tracking.sqlalchemy_store", "mlflow.store.model_registry.sqlalchemy_store",
    "sklearn.ensemble", "sklearn.linear_model", "sklearn.model_selection", "skops.io",
    "pandas", "matplotlib.figure",
    "labkit.data", "labkit.models", "labkit.metrics", "labkit.plots", "labkit.task",
    "labkit.tracking", "labkit.todo", "labkit.store", "grader.core", "grader.check",
]


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def _child(request: dict) -> None:
    """In the forked child: become the script's process, run it, and never return."""
    code = 1
    try:
        os.setsid()
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
            target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(target, fd)
            os.close(target)
        sys.stdin = open(os.devnull, encoding="utf-8")
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False, buffering=1)
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False, buffering=1)
        script = request["argv"][0]
        sys.argv = list(request["argv"])
        sys.path[0] = os.path.dirname(os.path.abspath(script))
        try:
            runpy.run_path(script, run_name="__main__")
            code = 0
        except SystemExit as exc:
            code = _exit_code(exc)
        except BaseException:  # noqa: BLE001 - what the interpreter itself would do
            sys.excepthook(*sys.exc_info())
            code = 1
        atexit._run_exitfuncs()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _serve_one(request: dict) -> dict:
    pid = os.fork()
    if pid == 0:
        _child(request)
    deadline = time.monotonic() + request["timeout"]
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return {"returncode": os.waitstatus_to_exitcode(status), "timed_out": False}
        if time.monotonic() > deadline:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
            return {"returncode": -9, "timed_out": True}
        time.sleep(0.02)


def main() -> None:
    import importlib

    import matplotlib

    matplotlib.use("Agg")
    for name in PRELOAD:
        importlib.import_module(name)
    sys.stdout.write(json.dumps({"ready": True}) + "\n")
    sys.stdout.flush()
    for line in sys.stdin:
        answer = _serve_one(json.loads(line))
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
