"""Does one run hold a TODO's evidence, does the diagnosis name the real fault, and does one
mistake cost one TODO (a TODO skipped only when its evidence cannot exist without another:
test_grader_loo, which also holds what the skip says)?

Each test is a student's completion run as a student runs it: the solution with one
TODO's lines changed (found by its markers), or a few lines of plain MLflow.
"""

from __future__ import annotations

import pytest
from test_grader_support import failing, grade_results, run_with

from labkit import lab
from grader.core import FAIL

SPLIT_RUN_HINT = "inside one `with mlflow.start_run(...)` block"


def run_ids(store, experiment: str, name: str) -> list[str]:
    client = store.client()
    found = client.get_experiment_by_name(experiment)
    return [r.info.run_id for r in client.search_runs([found.experiment_id])
            if r.info.run_name == name]


def shown(result) -> str:
    return " ".join(filter(None, [result.rationale, result.hint, result.note]))


# --- one run holds a TODO's evidence -------------------------------------------------


def test_metrics_in_a_second_run_of_the_same_name_fail_1_4_naming_both_runs(ready_store):
    run_with(ready_store, "task1", {"1.4": """
        mlflow.end_run()
        with mlflow.start_run(run_name=RUN_NAME):
            mlflow.log_metrics({"rmse": rmse, "mae": mae, "r2": r2})
    """})
    results = grade_results(ready_store, "task1")
    assert failing(results) == {"1.4": FAIL}
    rationale = results["1.4"].rationale
    ids = run_ids(ready_store, lab.EXPERIMENT_TASK1, lab.RUN_BASELINE)
    assert len(ids) == 2 and all(run_id[:8] in rationale for run_id in ids), rationale
    assert rationale.startswith("expected metrics rmse, mae and r2 in the run that holds TODO 1.3's params")
    assert rationale.endswith("which lacks TODO 1.3's params")
    assert SPLIT_RUN_HINT in results["1.4"].hint


@pytest.mark.slow
def test_params_and_metrics_in_two_sweep_runs_fail_2_3_naming_both(ready_store):
    run_with(ready_store, "task2", {"2.3": """
        mlflow.end_run()
        with mlflow.start_run(run_name=run_name):
            mlflow.log_metrics({"rmse": rmse, "mae": mae, "r2": r2, "train_time_s": train_time})
            mlflow.set_tags(SWEEP_TAGS)
        mlflow.start_run(run_id=run.info.run_id)  # back to the first run, for 2.4's tags
    """})
    results = grade_results(ready_store, "task2")
    assert failing(results) == {"2.3": FAIL}
    rationale = results["2.3"].rationale
    assert rationale.startswith("expected metrics rmse, mae, r2 and train_time_s in the run that holds "
                                "TODO 2.1's n_estimators, TODO 2.2's params")
    ids = run_ids(ready_store, lab.EXPERIMENT_TASK2, "rf-n20-d3-l1")
    assert len(ids) == 2 and all(run_id[:8] in rationale for run_id in ids), rationale
    assert SPLIT_RUN_HINT in results["2.3"].hint


# --- the diagnosis names the real fault ----------------------------------------------


@pytest.mark.slow
def test_one_gradient_boosting_model_in_every_run_is_called_the_wrong_type(ready_store):
    run_with(ready_store, "task3", {"3.2": """
        model = MODELS["GradientBoosting"].fit(X_train, y_train)
        predictions[model_name] = model.predict(X_test)
        metrics = {
            "rmse": root_mean_squared_error(y_test, predictions[model_name]),
            "mae": mean_absolute_error(y_test, predictions[model_name]),
            "r2": r2_score(y_test, predictions[model_name]),
        }
        model_info = mlflow.sklearn.log_model(
            model, name=MODEL_NAME, input_example=X_test.head(5), serialization_format="skops",
            skops_trusted_types=SKOPS_TRUSTED_TYPES, pip_requirements=PIP_REQUIREMENTS,
        )
    """})
    results = grade_results(ready_store, "task3")
    assert failing(results) == {"3.2": FAIL, "3.3": FAIL}
    assert results["3.2"].rationale == (
        "expected a LinearRegression in run 'LinearRegression', found a GradientBoostingRegressor")
    assert ("they are the metrics of the model logged in this run, a GradientBoostingRegressor: "
            "the wrong type of model for a LinearRegression run") in results["3.3"].rationale
    for check_id in ("3.2", "3.3"):
        assert "other rows" not in shown(results[check_id]) and "X_train" not in shown(results[check_id])


# --- the link of task 3's metrics to the model and the test dataset ---------------------


@pytest.mark.slow
def test_metrics_without_the_dataset_say_what_to_add_without_the_solution_line(ready_store):
    run_with(ready_store, "task3", {"3.3": "mlflow.log_metrics(metrics)"})
    results = grade_results(ready_store, "task3")
    # MLflow attaches metrics logged after the model to it: the dataset is what is missing.
    assert failing(results) == {"3.3": FAIL}
    assert results["3.3"].rationale == (
        "expected rmse, mae, r2 of run 'LinearRegression' attached to the test dataset, found them "
        "attached to no dataset")
    hint = results["3.3"].hint
    assert "model_id" in hint and "dataset" in hint and "help(mlflow.log_metrics)" in hint
    assert "test_dataset)" not in hint and "model_info.model_id" not in hint


# --- one mistake costs one TODO --------------------------------------------------------


def test_a_todo_graded_on_its_own_names_the_one_it_builds_on(ready_store):
    run_with(ready_store, "task1", {"1.3": "pass"})
    results = grade_results(ready_store, "task1")
    assert failing(results) == {"1.3": FAIL}
    assert results["1.4"].note == "graded on its own evidence: TODO 1.3, which it builds on, did not pass"


@pytest.mark.slow
def test_metrics_of_the_training_split_cost_task_3s_metrics_todo_alone(ready_store):
    store = ready_store
    run_with(store, "task3", {"3.3": """
        train_predictions = model.predict(X_train)
        mlflow.log_metrics({
            "rmse": root_mean_squared_error(y_train, train_predictions),
            "mae": mean_absolute_error(y_train, train_predictions),
            "r2": r2_score(y_train, train_predictions),
        }, model_id=model_info.model_id, dataset=test_dataset)
    """})
    store.run_task("task4")
    results = grade_results(store, "task3", "task4")
    assert failing(results) == {"3.3": FAIL}, {i: r.rationale for i, r in results.items()}
    assert "the training split?" in results["3.3"].rationale
    # 4.1 judges the pick against the r2 the runs logged, and names the TODO it builds on
    assert "TODO 3.3, which it builds on, did not pass" in results["4.1"].note
