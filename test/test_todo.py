"""Does a script list exactly the TODOs still open in it, and stand in for a missing run?"""

import os

from conftest import run_python


def open_todos_of(tmp_path, body: str) -> str:
    """What ``open_todos()`` says at the end of a script run as ``python script.py`` (forked warm)."""
    script = tmp_path / "script.py"
    script.write_text("from labkit.todo import todo, open_todos\n" + body
                      + "print(open_todos())\n", encoding="utf-8")
    result = run_python([script], dict(os.environ), tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_stub_calls_count_and_commented_ones_do_not(tmp_path):
    body = '# STUB\n# todo("4.1")\nif False:\n    todo("4.2")\ntodo("1.1")\n'
    assert open_todos_of(tmp_path, body) == "['1.1', '4.2']"


def test_a_finished_script_has_none_open(tmp_path):
    assert open_todos_of(tmp_path, "x = 1  # TODO 1.1 done: the comment stays\n") == "[]"


def test_a_todo_block_ends_the_run_mlflow_started_inside_it(ready_store):
    import mlflow

    mlflow.set_tracking_uri(ready_store.uri)
    from labkit.todo import todo

    with todo("1.2"):
        mlflow.log_param("p", 1)  # no run yet: MLflow starts one
        started = mlflow.active_run().info.run_id
    assert mlflow.active_run() is None
    assert mlflow.get_run(started).info.status == "FINISHED"


def test_after_a_todo_block_the_last_active_run_is_the_one_mlflow_started_in_it(ready_store):
    """Task 3 keeps `mlflow.last_active_run()` after each block, done or still a stub."""
    import mlflow

    mlflow.set_tracking_uri(ready_store.uri)
    from labkit.todo import todo

    with todo("3.1") as run:
        assert run is None  # the stub of `with mlflow.start_run(...) as run:`
        mlflow.set_tag("model_type", "LinearRegression")
        started = mlflow.active_run().info.run_id
    assert mlflow.last_active_run().info.run_id == started


def test_a_stub_alone_starts_no_run(ready_store):
    import mlflow

    mlflow.set_tracking_uri(ready_store.uri)
    from labkit.todo import todo

    todo("4.1")
    with todo("4.2"):
        pass
    assert mlflow.active_run() is None
    client = ready_store.client()
    assert client.search_runs([e.experiment_id for e in client.search_experiments()]) == []
