"""Does the grader's own SQLite reader answer exactly as MlflowClient does?

The grader reads a local store with sqlite3 (grader/sqlite_store.py) and a server with
MlflowClient (grader/store.py). Both readers get the same real stores here: the
solutions' store, and a messier one (a deleted run, a failed run, NaN and infinite
metrics, a deleted model version, a stage, two aliases, a second registered model).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys

import pytest
from test_grader_support import copy_store, run_snippet

from grader.core import grade
from grader.store import GRADE_THROUGH_MLFLOW_ENV, open_store
from labkit import names

MESS = """
import math, mlflow
from mlflow import MlflowClient
from labkit import names
client = MlflowClient()
sweep = client.get_experiment_by_name(names.EXPERIMENT_TASK2)
runs = client.search_runs([sweep.experiment_id], order_by=["attributes.start_time DESC"])
client.delete_run(runs[-1].info.run_id)
mlflow.set_experiment(names.EXPERIMENT_TASK1)
with mlflow.start_run(run_name="odd numbers"):
    mlflow.log_metric("rmse", float("nan"))
    mlflow.log_metric("mae", float("inf"))
    mlflow.log_metric("r2", 0.1, step=0)
    mlflow.log_metric("r2", 0.3, step=2)
    mlflow.log_metric("r2", 0.2, step=1)
    mlflow.log_param("note", "x" * 300)
    mlflow.set_tag("lab.extra", "yes")
run = mlflow.start_run(run_name="crashed")
mlflow.end_run(status="FAILED")
task3 = client.get_experiment_by_name(names.EXPERIMENT_TASK3)
models = [o.model_id for r in client.search_runs([task3.experiment_id]) for o in r.outputs.model_outputs]
v2 = mlflow.register_model("models:/" + models[0], names.REGISTERED_MODEL)
v3 = mlflow.register_model("models:/" + models[1], names.REGISTERED_MODEL)
client.set_registered_model_alias(names.REGISTERED_MODEL, "champion", v2.version)
client.transition_model_version_stage(names.REGISTERED_MODEL, v2.version, "Staging")
client.delete_model_version(names.REGISTERED_MODEL, v3.version)
mlflow.register_model("models:/" + models[2], "another-model")
"""


@pytest.fixture(scope="module")
def messy_store(solutions_store, tmp_path_factory):
    store = copy_store(solutions_store, tmp_path_factory.mktemp("messy"))
    run_snippet(store, MESS)
    return store


def number(value):
    return "nan" if isinstance(value, float) and math.isnan(value) else value


def run_facts(run) -> dict | None:
    if run is None:
        return None
    info = run.info
    return {
        "info": (info.run_id, info.run_name, str(info.experiment_id), info.status,
                 info.start_time, info.end_time, info.artifact_uri, info.lifecycle_stage),
        "metrics": {k: number(v) for k, v in run.data.metrics.items()},
        "params": dict(run.data.params),
        "tags": dict(run.data.tags),
        "outputs": sorted((o.model_id, o.step) for o in run.outputs.model_outputs),
    }


def model_facts(model) -> tuple | None:
    if model is None:
        return None
    return (model.model_id, model.name, str(model.experiment_id), model.artifact_location,
            model.creation_timestamp, model.source_run_id, model.model_type)


def everything(store) -> dict:
    """What the checks can ask a store, as plain data."""
    from grader.models import model_id_of_version

    facts: dict = {}
    for experiment in [names.DEFAULT_EXPERIMENT, *names.EXPERIMENTS.values(), "no such experiment"]:
        found = store.experiment(experiment)
        facts[f"experiment {experiment}"] = (
            None if found is None else (found.experiment_id, found.name, found.lifecycle_stage))
        if found is not None:
            facts[f"name of {found.experiment_id}"] = store.experiment_name(found.experiment_id)
        runs = store.runs(experiment)
        facts[f"runs {experiment}"] = [run_facts(r) for r in runs]
        for run in runs:
            facts[f"run {run.info.run_id}"] = run_facts(store.run(run.info.run_id))
            facts[f"models of {run.info.run_id}"] = [model_facts(m) for m in store.logged_models(run)]
    facts["missing run"] = run_facts(store.run("0" * 32))
    facts["missing model"] = model_facts(store.logged_model("m-" + "0" * 32))
    for model_name in [names.REGISTERED_MODEL, "another-model", "no-such-model"]:
        versions = store.versions(model_name)
        facts[f"versions {model_name}"] = [
            (str(v.version), v.current_stage, v.source, v.run_id, v.status,
             sorted(v.aliases), model_id_of_version(v)) for v in versions]
        facts[f"aliases {model_name}"] = store.aliases(model_name)
    facts["registered models"] = store.registered_model_names()
    return facts


def both_readers(lab_store, monkeypatch) -> tuple[dict, dict]:
    with open_store(lab_store.uri) as fast:
        assert type(fast).__name__ == "SqliteStore"
        direct = everything(fast)
    monkeypatch.setenv(GRADE_THROUGH_MLFLOW_ENV, "1")
    with open_store(lab_store.uri) as slow:
        assert type(slow).__name__ == "Store"
        through_mlflow = everything(slow)
    return direct, through_mlflow


@pytest.mark.parametrize("which", ["solutions", "messy"])
def test_the_sqlite_reader_answers_as_mlflowclient(which, solutions_store, messy_store, monkeypatch):
    store = solutions_store if which == "solutions" else messy_store
    direct, through_mlflow = both_readers(store, monkeypatch)
    assert direct.keys() == through_mlflow.keys()
    for key in direct:
        assert direct[key] == through_mlflow[key], key
    if which == "messy":  # the mess is really there, so the comparison covers it
        assert any(f and f["info"][3] == "FAILED" for k, v in direct.items()
                   if k.startswith("runs ") for f in v)
        assert direct[f"aliases {names.REGISTERED_MODEL}"] == {names.ALIAS: "1", "champion": "2"}
        assert [v[0] for v in direct[f"versions {names.REGISTERED_MODEL}"]] == ["2", "1"]
        assert direct["registered models"] == ["another-model", names.REGISTERED_MODEL]


@pytest.mark.parametrize("which", ["solutions", "messy"])
def test_grading_gives_the_same_report_through_either_reader(which, solutions_store, messy_store,
                                                              monkeypatch):
    store = solutions_store if which == "solutions" else messy_store
    direct = grade(["all"], store.uri)
    monkeypatch.setenv(GRADE_THROUGH_MLFLOW_ENV, "1")
    through_mlflow = grade(["all"], store.uri)
    assert [vars(r) for r in direct.results] == [vars(r) for r in through_mlflow.results]
    if which == "solutions":
        assert direct.score == direct.max_score == 15


def test_grading_a_local_store_imports_neither_mlflow_nor_sklearn(solutions_store):
    """Tasks 1, 3 and 4 grade with sqlite3 and NumPy alone: that is where their speed comes from."""
    code = (
        "import sys\n"
        "from grader.core import grade\n"
        "report = grade(['task1', 'task3', 'task4'])\n"
        "assert report.score == report.max_score, [(r.id, r.rationale) for r in report.results]\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'mlflow', 'sklearn', 'skops', 'sqlalchemy'})\n"
        "print(heavy)\n"
    )
    env = solutions_store.env()
    env.pop(GRADE_THROUGH_MLFLOW_ENV, None)
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                            timeout=120, cwd=solutions_store.folder)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_store_whose_tables_are_not_mlflows_cannot_be_graded(lab_store):
    import sqlite3

    from grader.core import CannotGrade

    connection = sqlite3.connect(lab_store.db)
    connection.executescript("create table experiments (experiment_id integer, name text);"
                             "create table runs (run_uuid text); create table alembic_version (v text);")
    connection.close()
    with pytest.raises(CannotGrade, match="Was it made by another MLflow version"):
        grade(["task1"], lab_store.uri)
    assert os.environ.get(GRADE_THROUGH_MLFLOW_ENV) is None
