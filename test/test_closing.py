"""Does a task script end by saying what MLflow stored, point to the UI only when none
answers, and end a crash with one line in the student's language?"""

from __future__ import annotations

import re
import subprocess

import pytest
from conftest import TASK_SCRIPTS, run_python
from test_grader_support import untrusting_store, untrusting_task3  # noqa: F401 - untrusting_store: a fixture

from labkit.crash import todo_at
from labkit.tracking import UI_RECORD

# A script like a task's end: logs rmse=23.75 in a run, but its own variable says 25.102.
WRONG_LOG = """
import mlflow
import labkit

mlflow.set_tracking_uri(labkit.start("Task 2: hyperparameter sweep"))
mlflow.set_experiment("task2-rf-sweep")
rmse, mae = 25.102, 11.5
with mlflow.start_run(run_name="rf-50") as run:
    mlflow.log_metric("rmse", 23.75)  # not the variable: the summary must show what was stored
labkit.report_run(run, {"rmse": rmse, "mae": mae})
labkit.finish("task2")
"""


def run_script(store, source: str, name: str = "task2_sweep.py", **env) -> subprocess.CompletedProcess:
    """The script run as ``python NAME`` in the store's folder (forked warm: conftest.run_python;
    the crash line comes from the excepthook labkit installs, which the fork runs as python does)."""
    script = store.folder / name
    script.write_text(source, encoding="utf-8")
    return run_python([script], store.env(**env), store.folder)


def test_the_summary_prints_the_metric_the_run_holds_not_the_scripts_variable(ready_store):
    result = run_script(ready_store, WRONG_LOG)
    assert result.returncode == 0, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if "run 'rf-50'" in line]
    assert "rmse=23.750" in line and "(the script computed 25.102)" in line, line
    assert "mae: not logged" in line and "11.5" not in line, line


def test_the_summary_speaks_spanish(ready_store):
    result = run_script(ready_store, WRONG_LOG, LAB_LANG="es")
    (line,) = [line for line in result.stdout.splitlines() if "'rf-50'" in line]
    assert "rmse=23.750 (el script calculó 25.102)" in line and "mae: no guardada" in line, line


def test_open_the_ui_only_when_no_ui_answers_for_the_store(ready_store):
    """A UI noted for this store that no longer answers (killed without cleaning up): the script
    says to open one. (A UI that answers, whose address the script then gives and links its run to:
    test_ui_command.py's, on the store it serves.)"""
    from labkit.net import free_port

    (ready_store.folder / UI_RECORD).write_text(f"http://127.0.0.1:{free_port()}\n", encoding="utf-8")
    closed = run_script(ready_store, WRONG_LOG)
    assert closed.returncode == 0, closed.stderr
    assert "Open the UI with `python -m labkit ui`" in closed.stdout, closed.stdout
    assert "See your runs at" not in closed.stdout, closed.stdout


# ------------------------------------------------------------------- a crash


@pytest.mark.parametrize("lang", ["en", "es"])
def test_a_crash_ends_with_one_line_naming_the_todo_and_the_next_step(untrusting_store, ready_store, lang):
    """Task 3 as a student finished it, skops told to trust nothing: in English, the session's run of
    it (test_grader_support.untrusting_store, whose exit code 1 its build holds; the grader's tests
    read its store); in Spanish, a run of its own."""
    source, todo_id = untrusting_task3()
    if lang == "en":
        stderr = untrusting_store.errors["task3"]
    else:
        result = run_script(ready_store, source, name=TASK_SCRIPTS["task3"], LAB_LANG=lang)
        assert result.returncode == 1
        stderr = result.stderr
    lines = stderr.rstrip().splitlines()
    assert "Traceback (most recent call last):" in stderr  # MLflow's own, first
    assert any("untrusted" in line for line in lines[:-1])
    last = lines[-1]
    if lang == "en":
        assert last.startswith(f"task3_compare.py stopped at line "), last
        assert f", in TODO {todo_id}, on MlflowException:" in last, last
        assert "skops refused to save a type it was not told to trust" in last, last
        assert last.endswith("Then run the script again and `python grader/check.py task3`."), last
    else:
        assert last.startswith("task3_compare.py se detuvo en la línea "), last
        assert f", en el TODO {todo_id}, por MlflowException:" in last, last
        assert "skops se negó a guardar tipos" in last, last
        assert last.endswith("`python grader/check.py task3`."), last
    line_number = int(re.search(r"(?:line|línea) (\d+)", last)[1])
    assert "log_model" in "".join(source.splitlines()[line_number - 1: line_number + 1])


def test_a_crash_outside_the_todos_says_so(ready_store):
    source = "import mlflow\nimport labkit\nmlflow.set_tracking_uri(labkit.start('t'))\n\n{}['rmse']\n"
    result = run_script(ready_store, source, name="task1_baseline.py")
    last = result.stderr.rstrip().splitlines()[-1]
    assert last == ("task1_baseline.py stopped at line 5, outside the TODOs, on KeyError: 'rmse'. "
                    "Fix that line. Then run the script again; `python grader/check.py task1` says "
                    "which TODO is still open."), last


def test_a_todo_block_runs_to_a_blank_line_a_step_or_a_dedent():
    source = "\n".join([
        "for x in y:",                          # 1
        "    # TODO 3.1: Start a run.",         # 2
        "    with run():",                      # 3
        "        fit()",                        # 4
        "        # %% Step 2",                  # 5
        "        # TODO 3.2: Log the model.",   # 6
        "        #   Hint: none",               # 7
        "        info = log(",                  # 8
        "            model)",                   # 9
        "",                                     # 10
        "        figure()",                     # 11
        "    after()",                          # 12
    ])
    assert [todo_at(source, n) for n in range(1, 13)] == [
        None, "3.1", "3.1", "3.1", None, "3.2", "3.2", "3.2", "3.2", None, None, None]


def test_ctrl_c_in_a_run_is_noted_as_python_prints_it_and_read_as_ctrl_c(ready_store):
    lab_store = ready_store  # its tables made: the script does not spend seconds making them
    source = ("import mlflow\nimport labkit\nmlflow.set_tracking_uri(labkit.start('t'))\n"
              "mlflow.set_experiment('task1-baseline')\n"
              "with mlflow.start_run(run_name='baseline'):\n    raise KeyboardInterrupt\n")
    from conftest import run_python

    script = lab_store.folder / "task1_baseline.py"
    script.write_text(source, encoding="utf-8")
    result = run_python([script], lab_store.env(), lab_store.folder)  # forked warm: the subject is the note
    assert result.returncode != 0 and "KeyboardInterrupt" in result.stderr
    from grader.evidence import what_happened

    (run,) = lab_store.client().search_runs(
        [lab_store.client().get_experiment_by_name("task1-baseline").experiment_id])
    assert run.data.tags["lab.error"] == "KeyboardInterrupt"  # no empty message after a colon
    assert what_happened(run) == "was stopped with Ctrl+C"
