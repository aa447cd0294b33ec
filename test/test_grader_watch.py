"""Does `check.py --watch` grade again when the store changes, as a fresh `check.py` would?

The watcher runs as a student runs it, from the repository root with SIGINT ignored (as a
background job starts it), in a process forked warm (test/forked.py), on a real SQLite store
or a real `mlflow server`, while task scripts (or a few lines of MLflow) write to that store;
Ctrl+C (SIGINT) ends it.
"""

from __future__ import annotations

import hashlib
import os
import queue
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT, SOLUTIONS_DIR, LabStore
from forked import Forked, as_main
from test_dead_server import sqlite_server  # noqa: F401 - a fixture: a real `mlflow server`
from test_grader_support import run_check, run_snippet, task3_copy, task3_store  # noqa: F401 - fixtures

CHECK_PY = ROOT / "grader" / "check.py"
WAIT_S = 240  # a report on a loaded machine; never a timing assertion, only a give-up

pytestmark = pytest.mark.skipif(os.name == "nt", reason="Ctrl+C is sent as SIGINT (POSIX)")


def watch_argv(task: str, *args: str) -> list[str]:
    """The watcher's argv after `python` (test_docs_commands holds the guide's command to it)."""
    return [*as_main(str(CHECK_PY), ignore_sigint=True), "--watch", task, *args]


class Watcher:
    """``python grader/check.py --watch TASK`` on a store, from the repository root; its reports as
    they are printed. Started with SIGINT ignored, as a background job of a script (or a CI runner)
    starts it: Ctrl+C stops it all the same. Forked warm (forked.Forked: the watcher's start is not
    the subject; its stdout is a FIFO read line by line)."""

    def __init__(self, store: LabStore, task: str, *args: str, env: dict | None = None) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="watcher-"))
        self.stdout, self.stderr = self.folder / "stdout", self.folder / "stderr"
        os.mkfifo(self.stdout)
        self.proc = Forked(watch_argv(task, *args), env or store.env(), ROOT, self.stdout, self.stderr)
        self.reports: queue.Queue[str] = queue.Queue()
        self.rest: list[str] = []  # every line that is not part of a report
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        """Each report whole: from ``Grading`` to ``Score``, or a line that says it cannot grade."""
        block: list[str] = []
        with open(self.stdout, encoding="utf-8") as stdout:  # once the watcher opens its end
            for line in stdout:
                if line.startswith(("Cannot grade yet:", "Todavía no se puede calificar:")):
                    self.reports.put(line)
                elif line.startswith(("Grading ", "Calificando ")) or block:
                    block.append(line)
                    if line.startswith(("Score: ", "Puntaje: ")):
                        self.reports.put("".join(block))
                        block = []
                else:
                    self.rest.append(line)

    def next_report(self, seconds: float = WAIT_S) -> str:
        try:
            return self.reports.get(timeout=seconds)
        except queue.Empty:
            raise AssertionError(f"no report from the watcher in {seconds} s") from None

    def report_after(self, action, env: dict, task: str) -> str:
        """The watcher's report of the store as ``action()`` left it: once the action is done, the
        reports until one is what a fresh `check.py TASK` prints with ``env`` (a report graded
        halfway through the action is followed by another); AssertionError if none is, within
        WAIT_S. (That the watcher grades nothing more while the store holds still:
        test_a_regrade_after_a_new_run_reuses_nothing_that_changed.)"""
        action()
        expected = run_check(env, task).stdout
        seen = []
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                report = self.reports.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no report as a fresh grade's in {WAIT_S} s; a fresh grade:\n"
                                     f"{expected}\nthe watcher's last:\n{seen[-1] if seen else '(none)'}") from None
            if report == expected:
                return report
            seen.append(report)

    def stop(self) -> tuple[int, str, str]:
        """Ctrl+C: the exit code, the lines outside reports, and stderr."""
        os.kill(self.proc.pid, signal.SIGINT)
        try:
            code = self.proc.wait(timeout=60)
        finally:
            self.proc.kill()  # whatever is left of it, if it did not stop
        self.reader.join(timeout=10)
        err = self.stderr.read_text(encoding="utf-8", errors="replace")
        shutil.rmtree(self.folder, ignore_errors=True)
        return code, "".join(self.rest), err


def fresh(store: LabStore, task: str) -> str:
    """What a fresh `check.py TASK` prints on the store now."""
    return run_check(store.env(), task).stdout


def fingerprint(folder) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_watcher_grades_each_change_as_a_fresh_grade_and_stops_on_ctrl_c(lab_store, untouched_store, tmp_path):
    watcher = Watcher(lab_store, "task1")
    try:
        first = watcher.next_report()
        assert first.startswith("Cannot grade yet: No tracking store at"), first  # no store yet: it waits
        report = watcher.report_after(lambda: lab_store.run_task("task1"), lab_store.env(), "task1")
        assert report.rstrip().endswith("Score: 4/4")

        # The store reset: another store's file put in its place (untouched code: 0/4).
        replaced = untouched_store.copy_to(tmp_path / "replacement")
        report = watcher.report_after(lambda: os.replace(replaced.db, lab_store.db), lab_store.env(), "task1")
        assert report.rstrip().endswith("Score: 0/4"), report
    finally:
        code, rest, err = watcher.stop()
    assert code == 0, err
    assert "Stopped watching." in rest
    assert "Traceback" not in err and "KeyboardInterrupt" not in err


@pytest.mark.slow  # a watcher in a fresh interpreter; the fast tier keeps the one that grades each change
def test_a_regrade_after_a_new_run_reuses_nothing_that_changed(task3_copy):
    store = task3_copy  # a store in which the task-3 solution ran: task 3 grades 3/3
    watcher = Watcher(store, "task3")
    try:
        report = watcher.next_report()
        assert report == fresh(store, "task3") and report.rstrip().endswith("Score: 3/3")
        before = fingerprint(store.folder)
        time.sleep(2)  # the watcher idles: it must not write (nor grade again)
        assert fingerprint(store.folder) == before
        assert watcher.reports.empty()

        # A newer RandomForest run that crashed after logging other params: the re-grade names it.
        report = watcher.report_after(lambda: run_snippet(store, """
            import mlflow
            mlflow.set_experiment("task3-model-comparison")
            mlflow.start_run(run_name="RandomForest")
            mlflow.set_tag("model_type", "RandomForest")
            mlflow.log_params({"n_estimators": 10, "max_depth": 2, "random_state": 42})
            mlflow.end_run(status="FAILED")
        """), store.env(), "task3")
        assert "run 'RandomForest' ended FAILED" in report, report
    finally:
        code, _, err = watcher.stop()
    assert code == 0 and "Traceback" not in err


def test_watch_refuses_json_and_one_shot_needs_a_task(lab_store):
    result = run_check(lab_store.env(), "--watch", "--json")
    assert result.returncode == 2 and "--watch prints the terminal report" in result.stderr
    result = run_check(lab_store.env())
    assert result.returncode == 2 and "which task?" in result.stderr


@pytest.mark.slow  # a watcher in a fresh interpreter; the fast tier reads the catalog in test_grader_spanish
def test_the_watcher_speaks_spanish(lab_store):
    watcher = Watcher(lab_store, "task1", "--lang", "es")
    try:
        line = watcher.next_report()
        assert line.startswith("Todavía no se puede calificar: "), line
    finally:
        code, rest, err = watcher.stop()
    assert code == 0 and "Se dejó de vigilar el almacenamiento." in rest, rest + err


@pytest.mark.slow
def test_the_watcher_polls_a_tracking_server_and_grades_what_it_holds(sqlite_server, lab_store):
    env = {**lab_store.env(), "MLFLOW_TRACKING_URI": sqlite_server.url}
    watcher = Watcher(lab_store, "task1", env=env)
    try:
        first = watcher.next_report()
        assert first.rstrip().endswith("Score: 0/4"), first  # an empty server: every TODO fails
        report = watcher.report_after(
            lambda: lab_store.run(SOLUTIONS_DIR / "task1_baseline.py", MLFLOW_TRACKING_URI=sqlite_server.url),
            env, "task1")
        assert report.rstrip().endswith("Score: 4/4"), report
    finally:
        code, _, err = watcher.stop()
    assert code == 0 and "Traceback" not in err
