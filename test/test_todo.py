"""Does a script list exactly the TODOs still open in it, and stand in for a missing run?"""

import subprocess
import sys


def open_todos_of(tmp_path, body: str) -> str:
    script = tmp_path / "script.py"
    script.write_text("from labkit.todo import todo, open_todos\n" + body
                      + "print(open_todos())\n", encoding="utf-8")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            check=True, timeout=60)
    return result.stdout.strip()


def test_stub_calls_count_and_commented_ones_do_not(tmp_path):
    body = '# STUB\n# todo("4.1")\nif False:\n    todo("4.2")\ntodo("1.1")\n'
    assert open_todos_of(tmp_path, body) == "['1.1', '4.2']"


def test_a_finished_script_has_none_open(tmp_path):
    assert open_todos_of(tmp_path, "x = 1  # TODO 1.1 done: the comment stays\n") == "[]"


def test_a_todo_block_ends_the_run_mlflow_started_inside_it(lab_store):
    import mlflow

    mlflow.set_tracking_uri(lab_store.uri)
    from labkit.todo import todo

    with todo("1.2"):
        mlflow.log_param("p", 1)  # no run yet: MLflow starts one
        started = mlflow.active_run().info.run_id
    assert mlflow.active_run() is None
    assert mlflow.get_run(started).info.status == "FINISHED"
