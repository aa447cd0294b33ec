"""Helpers and fixtures for the grader's tests (imported by the test_grader_* modules).

Task scripts run as subprocesses on real SQLite stores in temporary folders; the
grader runs in process (``grade``) or as the students run it (``grader/check.py``).
A student's mistake is the solution with one TODO's lines replaced (``run_with``,
found by the TODO markers, so the tests do not depend on the solutions' other lines)
or a few lines of plain MLflow (``run_snippet``).
"""

from __future__ import annotations

import re
import subprocess
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT, SOLUTIONS_DIR, TASK_SCRIPTS, LabStore, built_once, from_template, run_python

from labkit.maintainers.markers import render

CHECK_PY = ROOT / "grader" / "check.py"
BEGIN = re.compile(r"^(?P<indent>\s*)# BEGIN TODO (?P<id>\d+\.\d+):")
END = re.compile(r"^\s*# END TODO (?P<id>\d+\.\d+)\s*$")


# The lab's split and the re-fits the grades of this process made, by key (grader/context.py: each
# a pure function of its key, the data file's state included), handed to every grade_results: a
# re-fit costs seconds, and most tests' grades ask for the same few. That a grade handed them gives
# the verdicts of one that fits its own is test_grader_warm.py's subject; the class server grades so.
# (Measured side by side under the same load: test_grader_mistakes' slow tests and three of
# test_grader_loo's, 59.4 -> 55.5 CPU s.)
REFITS: dict = {}


def grade_results(store: LabStore, *tasks: str) -> dict:
    """Grade ``tasks`` in process (the re-fits shared with this process's other grades, REFITS;
    the store's snapshot and what was read off its models are this grade's own); the results
    keyed by TODO id."""
    from grader.context import Kept
    from grader.core import grade

    kept = Kept(REFITS)
    try:
        report = grade(list(tasks), tracking_uri=store.uri, kept=kept)
        kept_now = [(key, value) for key, value in kept._items.items() if key[0] in ("split", "refit")]
        REFITS.clear()  # what Kept kept (its least recently used dropped past Kept.SIZE), not more
        REFITS.update(kept_now)
    finally:
        kept.close()
    return {r.id: r for r in report.results}


def statuses(results: dict) -> dict[str, str]:
    return {check_id: r.status for check_id, r in results.items()}


def failing(results: dict) -> dict[str, str]:
    return {i: r.status for i, r in results.items() if r.status != "pass"}


def run_check(env: dict, *args: str, cwd: Path | None = None, timeout: float = 120,
              fresh: bool = False) -> subprocess.CompletedProcess:
    """``python grader/check.py ARGS``: in a new interpreter as a student runs it (``fresh``),
    or in a warm forked process (conftest.run_python), which is the same code, faster."""
    return run_python([str(CHECK_PY), *args], env, cwd or ROOT, timeout, fresh)


def with_todo(source: str, todo_id: str, code: str) -> str:
    """``source`` with the solution lines of TODO ``todo_id`` replaced by ``code``
    (indented as the TODO), markers and stub kept for ``render``."""
    lines = source.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines)
                 if (m := BEGIN.match(line)) and m["id"] == todo_id)
    indent = BEGIN.match(lines[start])["indent"]
    body = start + 1
    while lines[body].lstrip().startswith("#") and not lines[body].strip() == "# STUB":
        body += 1
    stop = body
    while not (lines[stop].strip() == "# STUB" or END.match(lines[stop])):
        stop += 1
    new = textwrap.indent(textwrap.dedent(code).strip("\n") + "\n", indent)
    return "".join(lines[:body]) + new + "".join(lines[stop:])


def run_with(store: LabStore, task: str, todos: dict[str, str] | None = None, append: str = "",
             check: bool = True, name: str = "mistake") -> subprocess.CompletedProcess:
    """Run the solution of ``task`` with some TODOs' lines replaced (and ``append`` at its end)."""
    source = (SOLUTIONS_DIR / TASK_SCRIPTS[task]).read_text(encoding="utf-8")
    for todo_id, code in (todos or {}).items():
        source = with_todo(source, todo_id, code)
    script = store.folder / f"{name}_{TASK_SCRIPTS[task]}"
    script.write_text(render(source, set()) + textwrap.dedent(append), encoding="utf-8")
    return store.run(script, check=check)


def run_snippet(store: LabStore, code: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run a few lines of plain MLflow on the store (MLFLOW_TRACKING_URI points at it)."""
    script = store.folder / "snippet.py"
    script.write_text(textwrap.dedent(code), encoding="utf-8")
    return store.run(script, check=check)


@pytest.fixture(scope="session")
def task3_store(store_template, tmp_path_factory) -> LabStore:
    """A store in which only the task-3 solution ran, on a copy of store_template, once per session
    (conftest.built_once). Copy it (task3_copy) before writing."""
    return built_once(tmp_path_factory, "task3_store", lambda store: {
        "task3": from_template(store_template, store).run_task("task3")})


@pytest.fixture
def task3_copy(task3_store, tmp_path) -> LabStore:
    """A copy of task3_store to write to (LabStore.copy_to: its own artifacts)."""
    return task3_store.copy_to(tmp_path / "store")


def todo_of_line(source: str, needle: str) -> str:
    """The TODO of the solution whose BEGIN/END block holds the line containing ``needle``."""
    current = None
    for line in source.splitlines():
        if match := re.match(r"\s*# BEGIN TODO (\d+\.\d+):", line):
            current = match[1]
        elif re.match(r"\s*# END TODO", line):
            current = None
        elif needle in line:
            return current
    raise AssertionError(f"no line with {needle!r}")


def finished_copy(solution: str) -> str:
    """A student's finished script: each TODO's comment kept above their code, stubs gone."""
    out, in_stub = [], False
    for line in solution.splitlines():
        if match := re.match(r"(\s*)# BEGIN TODO (.*)$", line):
            out.append(f"{match[1]}# TODO {match[2]}")
        elif re.match(r"\s*# END TODO", line):
            in_stub = False
        elif re.match(r"\s*# STUB\b", line) or in_stub:
            in_stub = True
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def untrusting_task3() -> tuple[str, str]:
    """Task 3 as a student finished it, with skops told to trust nothing; and the TODO of that call."""
    source = (SOLUTIONS_DIR / TASK_SCRIPTS["task3"]).read_text(encoding="utf-8")
    expected = todo_of_line(source, "skops_trusted_types=")
    finished = finished_copy(source)
    assert "skops_trusted_types=SKOPS_TRUSTED_TYPES" in finished and "BEGIN TODO" not in finished
    return finished.replace("skops_trusted_types=SKOPS_TRUSTED_TYPES", "skops_trusted_types=[]"), expected


@pytest.fixture(scope="session")
def untrusting_store(store_template, tmp_path_factory) -> LabStore:
    """A copy of store_template where task 3, as a student finished it with skops told to trust
    nothing (``untrusting_task3``), ran once as ``task3_compare.py`` and crashed at the RandomForest's
    log_model (exit code 1; ``errors["task3"]``: what it printed). Once per session (built_once):
    read-only, copy it (``LabStore.copy_to``) before writing."""
    def build(store: LabStore) -> dict:
        from_template(store_template, store)
        script = store.folder / TASK_SCRIPTS["task3"]
        script.write_text(untrusting_task3()[0], encoding="utf-8")
        crashed = store.run(script, check=False)
        assert crashed.returncode == 1, crashed.stderr[-4000:]
        return {"task3": crashed}

    return built_once(tmp_path_factory, "untrusting_store", build)
