"""Does the grader name the usual mistakes, with a hint that fits each one?

Each mistake is the solution with one TODO's lines changed (found by its markers), or a
few lines of plain MLflow, run as a student would run it.
"""

from __future__ import annotations

import pytest
from test_grader_support import (  # noqa: F401 - task3_* and untrusting_store are fixtures
    failing, grade_results, run_snippet, run_with, statuses, task3_copy, task3_store, untrusting_store,
)

from grader.core import FAIL, SKIP

LOG_MODEL = """
    model_info = mlflow.sklearn.log_model(
        model, name={name}, {example}serialization_format="skops",
        skops_trusted_types={trusted}, pip_requirements=PIP_REQUIREMENTS,
    )
"""


def log_model(name="MODEL_NAME", example="input_example=X_test.head(5), ",
              trusted="SKOPS_TRUSTED_TYPES") -> str:
    return LOG_MODEL.format(name=name, example=example, trusted=trusted)


# --- task 1 -------------------------------------------------------------------------


def test_a_run_in_default_is_named_with_the_fix(ready_store):
    ready_store.run_variant("task1", {"1.1"})
    results = grade_results(ready_store, "task1")
    assert failing(results) == {"1.1": FAIL}
    assert "found run 'baseline-linear-regression' in 'Default'" in results["1.1"].rationale
    assert "landed in Default" in results["1.1"].hint
    assert "mlflow.set_experiment(EXPERIMENT_NAME)" in results["1.1"].hint


def test_metric_names_with_another_case_or_a_prefix_are_pointed_out(ready_store):
    run_with(ready_store, "task1", {"1.4": """
        mlflow.log_metric("RMSE", rmse)
        mlflow.log_metric("test_mae", mae)
        mlflow.log_metric("r2", r2)
    """})
    result = grade_results(ready_store, "task1")["1.4"]
    assert result.status == FAIL
    assert result.rationale == (
        "expected metrics rmse, mae in run 'baseline-linear-regression', found: RMSE, r2, test_mae")
    assert "you logged RMSE for rmse, test_mae for mae" in result.hint
    assert "case-sensitive" in result.hint


def test_a_param_with_another_value_names_the_constant(ready_store):
    run_with(ready_store, "task1", {"1.3": """
        mlflow.log_param("model_type", MODEL_TYPE)
        mlflow.log_param("random_state", 7)
        mlflow.log_param("test_size", TEST_SIZE)
    """})
    results = grade_results(ready_store, "task1")
    assert failing(results) == {"1.3": FAIL}
    assert results["1.3"].rationale == (
        "expected param random_state = 42 in run 'baseline-linear-regression', found '7'")
    assert 'mlflow.log_param("random_state", RANDOM_STATE)' in results["1.3"].hint


def test_a_run_still_running_is_named_with_the_next_step(ready_store):
    run_snippet(ready_store, """
        import os, mlflow
        mlflow.set_experiment("task1-baseline")
        mlflow.start_run(run_name="baseline-linear-regression")
        mlflow.log_param("model_type", "LinearRegression")
        os._exit(0)  # the process dies: the run stays RUNNING
    """)
    results = grade_results(ready_store, "task1")
    assert "is still RUNNING" in results["1.1"].note
    assert results["1.3"].status == FAIL
    assert "expected params random_state, test_size in run 'baseline-linear-regression' (RUNNING)" in (
        results["1.3"].rationale)


# --- task 3 -------------------------------------------------------------------------


def test_a_tree_model_that_skops_refused_gets_the_skops_hint(untrusting_store):
    """Task 3 with skops told to trust nothing (test_grader_support.untrusting_store: the session's
    run, whose one line test_closing reads): the RandomForest's log_model crashed."""
    assert "untrusted types" in untrusting_store.errors["task3"]
    results = grade_results(untrusting_store, "task3")
    assert results["3.1"].status == FAIL
    assert results["3.1"].rationale.startswith("expected a run for GradientBoosting")
    assert "run 'RandomForest' crashed with MlflowException" in results["3.1"].rationale
    assert "SKOPS_TRUSTED_TYPES lists the trees' type" in results["3.1"].hint


@pytest.mark.slow
def test_a_model_without_a_signature_fails_3_2(ready_store):
    run_with(ready_store, "task3", {"3.2": log_model(example="")})
    results = grade_results(ready_store, "task3")
    assert failing(results) == {"3.2": FAIL}
    assert "expected a signature on the model of run 'LinearRegression'" in results["3.2"].rationale
    assert "an input example, a few rows of X_test" in results["3.2"].hint


@pytest.mark.slow
def test_a_model_logged_under_another_name_fails_3_2(ready_store):
    run_with(ready_store, "task3", {"3.2": log_model(name='"rf_model"')})
    results = grade_results(ready_store, "task3")
    assert failing(results) == {"3.2": FAIL}
    assert results["3.2"].rationale == (
        "expected a model named 'model' in run 'LinearRegression', found 'rf_model'")


@pytest.mark.slow
def test_a_typed_task3_metric_fails_against_the_refit(ready_store):
    run_with(ready_store, "task3", {"3.3": """
        mlflow.log_metrics({**metrics, "r2": 0.99}, model_id=model_info.model_id, dataset=test_dataset)
    """})
    results = grade_results(ready_store, "task3")
    assert failing(results) == {"3.3": FAIL}
    assert ("expected the test-split r2 of a LinearRegression re-fit from the run's params, "
            "found 0.99 in run 'LinearRegression'") in results["3.3"].rationale
    assert "log the dict `metrics` your code computed on X_test" in results["3.3"].hint


# --- task 4 -------------------------------------------------------------------------


@pytest.mark.slow
def test_registering_the_worst_run_names_both_runs(task3_copy):
    run_with(task3_copy, "task4", {"4.1": """
        runs = mlflow.search_runs(experiment_names=[TASK3_EXPERIMENT],
                                  filter_string="attributes.status = 'FINISHED'",
                                  order_by=["metrics.r2 ASC"])
        best_run_id = runs.iloc[0]["run_id"]
    """})
    results = grade_results(task3_copy, "task4")
    # 4.2-4.4 follow the pick: registering, aliasing and scoring its model is done right
    assert statuses(results) == {"4.1": FAIL, "4.2": "pass", "4.3": "pass", "4.4": "pass"}
    assert "TODO 4.1" in results["4.2"].note
    assert "expected the pick to be the best task-3 run 'GradientBoosting'" in results["4.1"].rationale
    assert "found run 'LinearRegression' (r2" in results["4.1"].rationale
    assert "HIGHEST r2" in results["4.1"].hint


@pytest.mark.slow
def test_a_model_registered_under_another_name_is_named(task3_copy):
    run_with(task3_copy, "task4", {"4.2": 'version = mlflow.register_model(model_uri, "api_response_time")'},
             check=False)  # then TODO 4.3 stops it: "api-response-time" does not exist
    results = grade_results(task3_copy, "task4")
    assert statuses(results) == {"4.1": "pass", "4.2": FAIL, "4.3": SKIP, "4.4": SKIP}
    assert "you registered 'api_response_time'" in results["4.2"].hint


@pytest.mark.slow
def test_the_wrong_run_registered_fails_4_2_naming_both(task3_copy):
    run_with(task3_copy, "task4", {"4.2": """
        worst = mlflow.search_runs(experiment_names=[TASK3_EXPERIMENT], order_by=["metrics.r2 ASC"])
        worst_model = mlflow.search_logged_models(
            experiment_ids=[mlflow.get_experiment_by_name(TASK3_EXPERIMENT).experiment_id],
            filter_string=f"source_run_id = '{worst.iloc[0]['run_id']}'", output_format="list")[0]
        version = mlflow.register_model(worst_model.model_uri, REGISTERED_MODEL)
    """})
    results = grade_results(task3_copy, "task4")
    # the alias on the version registered, and its score, are right: one mistake, one TODO
    assert statuses(results) == {"4.1": "pass", "4.2": FAIL, "4.3": "pass", "4.4": "pass"}
    assert results["4.2"].rationale == (
        "expected a version of 'api-response-time' made from the model of 'GradientBoosting', "
        "found version 1, made from run 'LinearRegression'")
