"""Helpers and fixtures for the grader's tests (imported by the test_grader_* modules).

Task scripts run as subprocesses on real SQLite stores in temporary folders; the
grader runs in process (``grade``) or as the students run it (``grader/check.py``).
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SOLUTIONS_DIR, TASK_SCRIPTS, LabStore, run_python

from labkit.codegen import render

CHECK_PY = ROOT / "grader" / "check.py"


def grade_results(store: LabStore, *tasks: str) -> dict:
    """Grade ``tasks`` in process; the results keyed by TODO id."""
    from grader.core import grade

    report = grade(list(tasks), tracking_uri=store.uri)
    return {r.id: r for r in report.results}


def statuses(results: dict) -> dict[str, str]:
    return {check_id: r.status for check_id, r in results.items()}


def run_check(env: dict, *args: str, cwd: Path | None = None, timeout: float = 120,
              fresh: bool = False) -> subprocess.CompletedProcess:
    """``python grader/check.py ARGS``: in a new interpreter as a student runs it (``fresh``),
    or in a warm forked process (conftest.run_python), which is the same code, faster."""
    return run_python([str(CHECK_PY), *args], env, cwd or ROOT, timeout, fresh)


def run_modified(store: LabStore, task: str, replacements: list[tuple[str, str]],
                 check: bool = True) -> subprocess.CompletedProcess:
    """Run the solution of ``task`` with some of its lines replaced: a student's mistake."""
    source = render((SOLUTIONS_DIR / TASK_SCRIPTS[task]).read_text(encoding="utf-8"), set())
    for old, new in replacements:
        assert old in source, f"not in the {task} solution: {old!r}"
        source = source.replace(old, new)
    script = store.folder / f"mistake_{TASK_SCRIPTS[task]}"
    script.write_text(source, encoding="utf-8")
    return store.run(script, check=check)


def run_snippet(store: LabStore, code: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run a few lines of Python on the store (MLFLOW_TRACKING_URI points at it)."""
    script = store.folder / "snippet.py"
    script.write_text(code, encoding="utf-8")
    return store.run(script, check=check)


def copy_store(source: LabStore, folder: Path) -> LabStore:
    """A copy of a store's database; its artifacts stay where they are, shared with the source."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = LabStore(folder)
    with sqlite3.connect(source.db) as src, sqlite3.connect(copy.db) as dst:
        src.backup(dst)
    return copy


@pytest.fixture(scope="session")
def task3_store(tmp_path_factory) -> LabStore:
    """A store in which only the task-3 solution ran. Copy it (task3_copy) before writing."""
    store = LabStore(tmp_path_factory.mktemp("task3_store"))
    store.run_task("task3")
    return store


@pytest.fixture
def task3_copy(task3_store, tmp_path) -> LabStore:
    return copy_store(task3_store, tmp_path / "store")
