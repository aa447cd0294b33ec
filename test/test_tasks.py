"""Do the task scripts log what the contract lists, in the right store, from any folder?"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CODE_DIR, ROOT, TASK_SCRIPTS, LabStore, run_python

from labkit import lab

CONTEXT_TAG = "mlflow.data.context"  # the tag MLflow puts on a run's dataset input


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


def expected_digests() -> dict[str, str]:
    """The digest MLflow gives the lab's training and test rows (features and target)."""
    import mlflow

    split = lab.split_data()
    return {
        "training": mlflow.data.from_pandas(split.X_train.join(split.y_train)).digest,
        "evaluation": mlflow.data.from_pandas(split.X_test.join(split.y_test)).digest,
    }


def datasets_of(run) -> dict[str, object]:
    """Context ("training", "evaluation") -> the dataset a run logged with it."""
    found = {}
    for dataset_input in run.inputs.dataset_inputs:
        contexts = [tag.value for tag in dataset_input.tags if tag.key == CONTEXT_TAG]
        assert len(contexts) == 1, f"{run.info.run_name}: a dataset without a context"
        assert contexts[0] not in found, f"{run.info.run_name}: two {contexts[0]} datasets"
        found[contexts[0]] = dataset_input.dataset
    return found


def assert_logs_the_lab_data(run, contexts=("training", "evaluation")):
    datasets = datasets_of(run)
    assert sorted(datasets) == sorted(contexts), f"{run.info.run_name}: datasets {sorted(datasets)}"
    digests = expected_digests()
    for context, dataset in datasets.items():
        assert dataset.digest == digests[context], f"{run.info.run_name}: {context} rows differ"
        assert dataset.name == {"training": "devops_metrics-train",
                                "evaluation": "devops_metrics-test"}[context]
        assert dataset.source_type == "local"
        assert Path(json.loads(dataset.source)["uri"]) == lab.DATA_FILE
        assert json.loads(dataset.profile)["num_rows"] == len(
            lab.split_data().X_train if context == "training" else lab.split_data().X_test)


def test_task1_logs_a_named_baseline_run_with_params_metrics_and_a_figure(solutions_store):
    (run,) = runs_of(solutions_store, lab.EXPERIMENT_TASK1)
    assert run.info.status == "FINISHED" and run.info.run_name == lab.RUN_BASELINE
    assert run.data.params == {
        lab.PARAM_MODEL_TYPE: lab.LINEAR_REGRESSION,
        lab.PARAM_RANDOM_STATE: "42",
        lab.PARAM_TEST_SIZE: "0.2",
    }
    assert_finite_metrics(run, lab.TEST_METRICS)
    assert lab.FIGURE_PRED_VS_ACTUAL in artifact_names(solutions_store, run)


def test_every_run_logs_the_rows_it_trained_and_was_evaluated_on(solutions_store):
    for experiment in (lab.EXPERIMENT_TASK1, lab.EXPERIMENT_TASK2, lab.EXPERIMENT_TASK3):
        for run in runs_of(solutions_store, experiment):
            assert_logs_the_lab_data(run)
    (registry_run,) = runs_of(solutions_store, lab.EXPERIMENT_TASK4)
    assert_logs_the_lab_data(registry_run, contexts=("evaluation",))


def test_task2_logs_one_tagged_run_per_sweep_configuration(solutions_store):
    runs = runs_of(solutions_store, lab.EXPERIMENT_TASK2)
    assert sorted(r.info.run_name for r in runs) == sorted(lab.sweep_run_name(c) for c in lab.SWEEP_CONFIGS)
    for run in runs:
        config = next(c for c in lab.SWEEP_CONFIGS if lab.sweep_run_name(c) == run.info.run_name)
        assert run.info.status == "FINISHED"
        assert run.data.params == {
            **{key: str(value) for key, value in config.items()},
            lab.PARAM_RANDOM_STATE: str(lab.MODEL_SEED),
        }
        assert_finite_metrics(run, [*lab.TEST_METRICS, lab.METRIC_TRAIN_TIME])
        for key, value in lab.SWEEP_TAGS.items():
            assert run.data.tags.get(key) == value
    with_chart = [r for r in runs if lab.FIGURE_SWEEP in artifact_names(solutions_store, r)]
    best = min(runs, key=lambda r: r.data.metrics[lab.METRIC_RMSE])
    assert [r.info.run_id for r in with_chart] == [best.info.run_id]


def logged_models_of(store: LabStore, run):
    import mlflow

    mlflow.set_tracking_uri(store.uri)
    return mlflow.search_logged_models(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"source_run_id = '{run.info.run_id}'",
        output_format="list",
    )


def test_task3_logs_a_run_and_a_model_with_signature_per_model_type(solutions_store):
    import mlflow

    runs = runs_of(solutions_store, lab.EXPERIMENT_TASK3)
    assert sorted(r.info.run_name for r in runs) == sorted(lab.MODEL_TYPES)
    for run in runs:
        assert run.info.status == "FINISHED"
        assert run.data.tags.get(lab.PARAM_MODEL_TYPE) == run.info.run_name
        assert_finite_metrics(run, lab.TEST_METRICS)
        models = logged_models_of(solutions_store, run)
        assert [m.name for m in models] == [lab.MODEL_NAME]
        info = mlflow.models.get_model_info(models[0].model_uri)
        assert info.signature is not None and info.signature.inputs is not None
        assert info.signature.inputs.input_names() == lab.FEATURES
    winner = max(runs, key=lambda r: r.data.metrics[lab.METRIC_R2])
    assert winner.info.run_name == lab.GRADIENT_BOOSTING
    assert lab.FIGURE_COMPARISON in artifact_names(solutions_store, winner)


def test_task3_logs_every_hyperparameter_of_each_model(solutions_store):
    """A re-fit from the logged params alone builds the same model (issue 11's addition)."""
    for run in runs_of(solutions_store, lab.EXPERIMENT_TASK3):
        model = lab.make_model(run.info.run_name, **lab.DEFAULT_HYPERPARAMS[run.info.run_name])
        assert run.data.params == {key: str(value) for key, value in model.get_params().items()}
        refit = lab.make_model(run.info.run_name, **{
            key: lab.parse_param(value) for key, value in run.data.params.items()})
        assert refit.get_params() == model.get_params()


def test_task4_registers_the_best_model_and_checks_it_through_the_alias(solutions_store):
    client = solutions_store.client()
    version = client.get_model_version_by_alias(lab.REGISTERED_MODEL, lab.ALIAS)
    source_run = client.get_run(version.run_id)
    assert source_run.info.run_name == lab.GRADIENT_BOOSTING
    (logged_model,) = logged_models_of(solutions_store, source_run)
    assert version.source == logged_model.model_uri
    (run,) = runs_of(solutions_store, lab.EXPERIMENT_TASK4)
    assert run.info.run_name == lab.RUN_REGISTRY and run.info.status == "FINISHED"
    assert run.data.tags[lab.TAG_BEST_RUN] == source_run.info.run_id
    assert run.data.params == {lab.PARAM_MODEL_URI: lab.STAGING_URI}
    assert run.data.metrics[lab.METRIC_STAGING_RMSE] == pytest.approx(
        source_run.data.metrics[lab.METRIC_RMSE], rel=1e-9
    )


def test_task3_prints_the_uri_of_each_model_it_logged(solutions_store):
    """Outside TODO 3.2, so the student's own script prints it once the TODO is done."""
    runs = runs_of(solutions_store, lab.EXPERIMENT_TASK3)
    assert len(runs) == len(lab.MODEL_TYPES)
    for run in runs:
        (logged_model,) = logged_models_of(solutions_store, run)
        assert f"  {run.info.run_name}: logged {logged_model.model_uri}" in solutions_store.outputs["task3"]


def test_task4_names_the_run_it_picked_and_its_model_type(solutions_store):
    client = solutions_store.client()
    best = client.get_run(client.get_model_version_by_alias(lab.REGISTERED_MODEL, lab.ALIAS).run_id)
    expected = (f"Best task-3 run: '{best.info.run_name}', model_type "
                f"{best.data.tags[lab.PARAM_MODEL_TYPE]}, run id {best.info.run_id}")
    assert expected in solutions_store.outputs["task4"], solutions_store.outputs["task4"]


def test_artifacts_live_beside_the_database(solutions_store):
    artifacts = solutions_store.folder / "mlartifacts"
    figures = list(artifacts.rglob(lab.FIGURE_PRED_VS_ACTUAL))
    assert len(figures) >= 4, "task 1 and each task-3 run log a figure under mlartifacts/"
    assert not (solutions_store.folder / "mlruns").exists()


@pytest.mark.parametrize("task", list(TASK_SCRIPTS))
def test_untouched_student_script_runs_to_the_end_and_lists_its_open_todos(untouched_store, task):
    """The untouched scripts, run in order on one store (task 1 in a brand-new interpreter,
    exactly as a student runs it; conftest's untouched_store), each exit 0 (else the store is
    not built) and print their open TODOs."""
    printed, errors = untouched_store.outputs[task], untouched_store.errors[task]
    number = task[-1]
    assert f"Still open: TODO {number}.1" in printed
    assert ": logged models:/" not in printed  # task 3 prints a URI only once 3.2 logs a model
    assert "Traceback" not in errors
    assert f"python grader/check.py {task}" in printed


def test_untouched_task1_logs_what_it_can_into_default(untouched_store):
    runs = runs_of(untouched_store, lab.DEFAULT_EXPERIMENT)  # task 1's, and none of the later scripts'
    assert len(runs) == 1 and runs[0].info.status == "FINISHED"
    assert lab.FIGURE_PRED_VS_ACTUAL in artifact_names(untouched_store, runs[0])
    assert_logs_the_lab_data(runs[0])


def copy_of_the_lab(tmp_path: Path) -> Path:
    """A copy of the lab in a temporary folder, to exercise the default store safely."""
    repo = tmp_path / "lab"
    # labkit alone: the scripts need nothing of the grader (labkit/lab.py names the experiments)
    shutil.copytree(ROOT / "labkit", repo / "labkit", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "solutions", repo / "solutions", ignore=shutil.ignore_patterns("*.ipynb"))
    (repo / "data").mkdir()
    shutil.copy(ROOT / "data" / "devops_metrics.csv", repo / "data")
    return repo


def lab_env(repo: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["PYTHONPATH"] = str(repo)
    return env


def labkit_command(args, env, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labkit", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow  # fresh interpreters in a copy of the lab, as a student runs the scripts
def test_a_script_run_from_another_folder_lands_in_the_lab_store_unless_mlflow_tracking_uri_says(tmp_path,
                                                                                                store_template):
    """In a copy of the lab, run in a fresh interpreter (the lab's folder is where labkit is): task 1
    from another folder lands in the copy's store; with MLFLOW_TRACKING_URI set, from the scripts'
    folder, it lands there instead (forked warm: the URI, not where labkit sits, decides; the
    copy's store keeps its one run); `labkit reset` from another folder, fresh, backs up the copy's
    store (test_reset_backs_up_the_store_and_a_second_reset_has_nothing_to_do holds the rest of reset)."""
    repo = copy_of_the_lab(tmp_path)
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    env = lab_env(repo)
    script = repo / "solutions" / TASK_SCRIPTS["task1"]
    other = store_template.copy_to(tmp_path / "other")  # made already: the copy's store is the new one
    subprocess.run([sys.executable, str(script)], cwd=elsewhere, env=env, check=True,
                   capture_output=True, timeout=180)
    there = run_python([str(script)], {**env, "MLFLOW_TRACKING_URI": other.uri}, repo / "solutions")
    assert there.returncode == 0, there.stderr[-3000:]
    store = LabStore(repo)
    (run,) = runs_of(store, lab.EXPERIMENT_TASK1)
    assert len(runs_of(other, lab.EXPERIMENT_TASK1)) == 1
    csv = (repo / "data" / "devops_metrics.csv").resolve()
    for dataset in datasets_of(run).values():  # the data the run read is the copy's CSV, named in the dataset's source
        assert Path(json.loads(dataset.source)["uri"]).resolve() == csv
    assert (repo / "mlartifacts").is_dir()
    for cwd in (elsewhere, repo / "solutions"):
        assert not (cwd / "mlflow.db").exists() and not (cwd / "mlruns").exists()

    db_bytes = (repo / "mlflow.db").read_bytes()
    result = labkit_command(["reset"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    (backup,) = (repo / "backups").iterdir()
    assert str(backup) in result.stdout
    assert (backup / "mlflow.db").read_bytes() == db_bytes
    assert not (repo / "mlflow.db").exists() and not (repo / "mlartifacts").exists()


def test_reset_backs_up_the_store_and_a_second_reset_has_nothing_to_do(ready_store, tmp_path):
    """`labkit reset` on the store MLFLOW_TRACKING_URI names (forked warm): the store moves into a
    backup beside it, database and artifacts, nothing lost; a second reset has nothing to do."""
    ready_store.run_task("task1")
    db_bytes = ready_store.db.read_bytes()
    result = run_python(["-m", "labkit", "reset"], ready_store.env(), tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    (backup,) = (ready_store.folder / "backups").iterdir()
    assert str(backup) in result.stdout
    assert (backup / "mlflow.db").read_bytes() == db_bytes
    assert len(list((backup / "mlartifacts").rglob(lab.FIGURE_PRED_VS_ACTUAL))) == 1
    assert not ready_store.db.exists() and not (ready_store.folder / "mlartifacts").exists()
    again = run_python(["-m", "labkit", "reset"], ready_store.env(), tmp_path, timeout=120)
    assert again.returncode == 0 and "Nothing to reset" in again.stdout
    assert len(list((ready_store.folder / "backups").iterdir())) == 1


def test_reset_refuses_a_tracking_server(tmp_path):
    env = {**lab_env(ROOT), "MLFLOW_TRACKING_URI": "http://127.0.0.1:9"}
    result = run_python(["-m", "labkit", "reset"], env, tmp_path, timeout=120)  # the lab itself, forked warm
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
