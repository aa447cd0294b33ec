"""Do the task scripts log what the contract lists, in the right store, from any folder?"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CODE_DIR, ROOT, SOLUTIONS_DIR, TASK_SCRIPTS, LabStore

from labkit import names
from labkit.models import SWEEP_CONFIGS, sweep_run_name


def runs_of(store: LabStore, experiment: str):
    client = store.client()
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None, f"no experiment {experiment!r}"
    return client.search_runs([exp.experiment_id], order_by=["attributes.start_time DESC"])


def artifact_names(store: LabStore, run) -> list[str]:
    return [a.path for a in store.client().list_artifacts(run.info.run_id)]


def assert_finite_metrics(run, keys):
    for key in keys:
        assert key in run.data.metrics, f"{run.info.run_name}: no metric {key}"
        assert math.isfinite(run.data.metrics[key])


def test_task1_logs_a_named_baseline_run_with_params_metrics_and_a_figure(solutions_store):
    (run,) = runs_of(solutions_store, names.EXPERIMENT_TASK1)
    assert run.info.status == "FINISHED" and run.info.run_name == names.RUN_BASELINE
    assert run.data.params == {
        names.PARAM_MODEL_TYPE: names.LINEAR_REGRESSION,
        names.PARAM_RANDOM_STATE: "42",
        names.PARAM_TEST_SIZE: "0.2",
    }
    assert_finite_metrics(run, names.TEST_METRICS)
    assert names.FIGURE_PRED_VS_ACTUAL in artifact_names(solutions_store, run)


def test_task2_logs_one_tagged_run_per_sweep_configuration(solutions_store):
    runs = runs_of(solutions_store, names.EXPERIMENT_TASK2)
    assert sorted(r.info.run_name for r in runs) == sorted(sweep_run_name(c) for c in SWEEP_CONFIGS)
    for run in runs:
        assert run.info.status == "FINISHED"
        assert {names.PARAM_N_ESTIMATORS, names.PARAM_MAX_DEPTH, names.PARAM_MIN_SAMPLES_LEAF,
                names.PARAM_RANDOM_STATE} <= set(run.data.params)
        assert_finite_metrics(run, [*names.TEST_METRICS, names.METRIC_TRAIN_TIME])
        for key, value in names.SWEEP_TAGS.items():
            assert run.data.tags.get(key) == value
    with_chart = [r for r in runs if names.FIGURE_SWEEP in artifact_names(solutions_store, r)]
    best = min(runs, key=lambda r: r.data.metrics[names.METRIC_RMSE])
    assert [r.info.run_id for r in with_chart] == [best.info.run_id]


def test_task3_logs_a_run_and_a_model_with_signature_per_model_type(solutions_store):
    import mlflow

    runs = runs_of(solutions_store, names.EXPERIMENT_TASK3)
    assert sorted(r.info.run_name for r in runs) == sorted(names.MODEL_TYPES)
    mlflow.set_tracking_uri(solutions_store.uri)
    for run in runs:
        assert run.info.status == "FINISHED"
        assert_finite_metrics(run, names.TEST_METRICS)
        models = mlflow.search_logged_models(
            experiment_ids=[run.info.experiment_id],
            filter_string=f"source_run_id = '{run.info.run_id}'",
            output_format="list",
        )
        assert [m.name for m in models] == [names.MODEL_NAME]
        info = mlflow.models.get_model_info(models[0].model_uri)
        assert info.signature is not None and info.signature.inputs is not None
    winner = max(runs, key=lambda r: r.data.metrics[names.METRIC_R2])
    assert winner.info.run_name == names.GRADIENT_BOOSTING
    assert names.FIGURE_COMPARISON in artifact_names(solutions_store, winner)


def test_task4_registers_the_best_model_and_checks_it_through_the_alias(solutions_store):
    client = solutions_store.client()
    version = client.get_model_version_by_alias(names.REGISTERED_MODEL, names.ALIAS)
    source_run = client.get_run(version.run_id)
    assert source_run.info.run_name == names.GRADIENT_BOOSTING
    (run,) = runs_of(solutions_store, names.EXPERIMENT_TASK4)
    assert run.info.run_name == names.RUN_REGISTRY and run.info.status == "FINISHED"
    assert run.data.params[names.PARAM_MODEL_URI] == names.STAGING_URI
    assert run.data.metrics[names.METRIC_STAGING_RMSE] == pytest.approx(
        source_run.data.metrics[names.METRIC_RMSE], rel=1e-9
    )


def test_artifacts_live_beside_the_database(solutions_store):
    artifacts = solutions_store.folder / "mlartifacts"
    figures = list(artifacts.rglob(names.FIGURE_PRED_VS_ACTUAL))
    assert len(figures) >= 4, "task 1 and each task-3 run log a figure under mlartifacts/"
    assert not (solutions_store.folder / "mlruns").exists()


@pytest.mark.parametrize("task", list(TASK_SCRIPTS))
def test_untouched_student_script_runs_to_the_end_and_lists_its_open_todos(lab_store, task):
    if task == "task4":
        lab_store.run_task("task3", folder=CODE_DIR)
    # Task 1 in a brand-new interpreter, exactly as a student runs it; the others warm.
    result = lab_store.run_task(task, folder=CODE_DIR, fresh=task == "task1")
    number = task[-1]
    assert f"Still open: TODO {number}.1" in result.stdout
    assert "Traceback" not in result.stderr
    assert f"python grader/check.py {task}" in result.stdout


def test_untouched_task1_logs_what_it_can_into_default(lab_store):
    lab_store.run_task("task1", folder=CODE_DIR)
    runs = runs_of(lab_store, names.DEFAULT_EXPERIMENT)
    assert len(runs) == 1 and runs[0].info.status == "FINISHED"
    assert names.FIGURE_PRED_VS_ACTUAL in artifact_names(lab_store, runs[0])


def copy_of_the_lab(tmp_path: Path) -> Path:
    """A copy of the lab in a temporary folder, to exercise the default store safely."""
    repo = tmp_path / "lab"
    shutil.copytree(ROOT / "labkit", repo / "labkit", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "solutions", repo / "solutions", ignore=shutil.ignore_patterns("*.ipynb"))
    (repo / "data").mkdir()
    shutil.copy(ROOT / "data" / "devops_metrics.csv", repo / "data")
    return repo


def lab_env(repo: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["PYTHONPATH"] = str(repo)
    return env


def test_a_script_run_from_another_folder_lands_in_the_lab_store(tmp_path):
    repo = copy_of_the_lab(tmp_path)
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    env = lab_env(repo)
    script = repo / "solutions" / TASK_SCRIPTS["task1"]
    for cwd in (elsewhere, repo / "solutions"):
        subprocess.run([sys.executable, str(script)], cwd=cwd, env=env, check=True,
                       capture_output=True, timeout=180)
    store = LabStore(repo)
    assert len(runs_of(store, names.EXPERIMENT_TASK1)) == 2
    assert (repo / "mlartifacts").is_dir()
    for cwd in (elsewhere, repo / "solutions"):
        assert not (cwd / "mlflow.db").exists() and not (cwd / "mlruns").exists()


def test_mlflow_tracking_uri_overrides_the_lab_store(tmp_path):
    repo = copy_of_the_lab(tmp_path)
    other = LabStore(tmp_path / "other")
    other.folder.mkdir()
    env = {**lab_env(repo), "MLFLOW_TRACKING_URI": other.uri}
    subprocess.run([sys.executable, str(repo / "solutions" / TASK_SCRIPTS["task1"])],
                   cwd=tmp_path, env=env, check=True, capture_output=True, timeout=180)
    assert len(runs_of(other, names.EXPERIMENT_TASK1)) == 1
    assert not (repo / "mlflow.db").exists()


def labkit_command(args, env, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labkit", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_reset_moves_the_store_into_a_backup_and_loses_nothing(tmp_path):
    repo = copy_of_the_lab(tmp_path)
    env = lab_env(repo)
    subprocess.run([sys.executable, str(repo / "solutions" / TASK_SCRIPTS["task1"])],
                   cwd=tmp_path, env=env, check=True, capture_output=True, timeout=180)
    db_bytes = (repo / "mlflow.db").read_bytes()
    result = labkit_command(["reset"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    (backup,) = (repo / "backups").iterdir()
    assert str(backup) in result.stdout
    assert (backup / "mlflow.db").read_bytes() == db_bytes
    assert list((backup / "mlartifacts").rglob(names.FIGURE_PRED_VS_ACTUAL))
    assert not (repo / "mlflow.db").exists() and not (repo / "mlartifacts").exists()
    again = labkit_command(["reset"], env, tmp_path)
    assert again.returncode == 0 and "Nothing to reset" in again.stdout
    assert len(list((repo / "backups").iterdir())) == 1


def test_reset_refuses_a_tracking_server(tmp_path):
    env = {**lab_env(ROOT), "MLFLOW_TRACKING_URI": "http://127.0.0.1:9"}
    result = labkit_command(["reset"], env, tmp_path)
    assert result.returncode == 2
    assert "tracking server" in result.stdout and "Traceback" not in result.stderr


def test_a_dead_tracking_server_is_one_line_that_names_the_fix(lab_store):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: nobody listens
    result = lab_store.run_task("task1", folder=CODE_DIR, check=False,
                                MLFLOW_TRACKING_URI=f"http://127.0.0.1:{port}")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"The tracking server at http://127.0.0.1:{port} does not answer" in result.stderr
    assert "Is it running" in result.stderr


def test_a_corrupt_store_is_one_line_that_names_the_fix(lab_store):
    lab_store.db.write_bytes(b"this is not a database at all")
    result = lab_store.run_task("task1", folder=CODE_DIR, check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "is not an SQLite database" in result.stderr and "labkit reset" in result.stderr
