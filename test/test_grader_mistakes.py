"""Does the grader name the usual mistakes and cheats, with a hint that fits each one?

Each mistake is the solution with a few lines changed, run as a student would run it.
"""

from __future__ import annotations

from test_grader_support import (  # noqa: F401 - task3_* are fixtures
    grade_results, run_modified, run_snippet, statuses, task3_copy, task3_store,
)

from grader.core import FAIL, PASS, SKIP
from labkit import names

METRIC_LINES = (
    "    mlflow.log_metric(names.METRIC_RMSE, metrics[names.METRIC_RMSE])\n"
    "    mlflow.log_metric(names.METRIC_MAE, metrics[names.METRIC_MAE])\n"
    "    mlflow.log_metric(names.METRIC_R2, metrics[names.METRIC_R2])\n"
)
SUMMARY = "# %% Summary\n"
FIGURE_STEP = "    # %% Step 4: a figure for the UI"
SORT_BEST_FIRST = 'order_by=[f"metrics.{names.METRIC_R2} DESC"]'
SET_ALIAS = "client.set_registered_model_alias(names.REGISTERED_MODEL, names.ALIAS, version.version)"
LOG_STAGING_RMSE = "mlflow.log_metric(names.METRIC_STAGING_RMSE, staging_rmse)"
INPUT_EXAMPLE = "            input_example=split.X_test.head(5),\n"
LOG_OPTIONS = "            **SKLEARN_LOG_OPTIONS,\n"

REGISTER_TASK3_MODEL = """
import mlflow
from labkit import names
client = mlflow.MlflowClient()
experiment = client.get_experiment_by_name(names.EXPERIMENT_TASK3)
runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time DESC"])
run = next(r for r in runs if r.info.run_name == {model!r})
mlflow.register_model("models:/" + run.outputs.model_outputs[0].model_id, names.REGISTERED_MODEL)
"""


def failing(results: dict) -> dict[str, str]:
    return {i: r.status for i, r in results.items() if r.status != PASS}


# --- task 1 -------------------------------------------------------------------------


def test_a_run_in_default_is_named_with_the_fix(lab_store):
    lab_store.run_variant("task1", {"1.1"})
    result = grade_results(lab_store, "task1")["1.1"]
    assert result.status == FAIL
    assert "found run 'baseline-linear-regression' in 'Default'" in result.rationale
    assert "landed in Default" in result.hint and "set_experiment" in result.hint


def test_metrics_logged_outside_the_with_block_are_found_in_their_separate_run(lab_store):
    unindented = METRIC_LINES.replace("    mlflow", "mlflow")
    run_modified(lab_store, "task1", [(METRIC_LINES, "    pass\n"), (SUMMARY, unindented + SUMMARY)])
    results = grade_results(lab_store, "task1")
    assert failing(results) == {"1.4": FAIL}
    assert "in run 'baseline-linear-regression', found: none" in results["1.4"].rationale
    assert "metrics landed in a separate run" in results["1.4"].hint
    assert "inside the `with mlflow.start_run(...)` block" in results["1.4"].hint


def test_metric_names_with_another_case_or_a_prefix_are_pointed_out(lab_store):
    run_modified(lab_store, "task1", [
        ("mlflow.log_metric(names.METRIC_RMSE,", 'mlflow.log_metric("RMSE",'),
        ("mlflow.log_metric(names.METRIC_MAE,", 'mlflow.log_metric("test_mae",'),
    ])
    result = grade_results(lab_store, "task1")["1.4"]
    assert result.status == FAIL
    assert result.rationale == (
        "expected metrics rmse, mae in run 'baseline-linear-regression', found: RMSE, r2, test_mae")
    assert "you logged RMSE for rmse, test_mae for mae" in result.hint
    assert "case-sensitive" in result.hint


def test_a_metric_typed_by_hand_fails_against_the_refit(lab_store):
    run_modified(lab_store, "task1", [("metrics[names.METRIC_RMSE])", "14.0)")])
    result = grade_results(lab_store, "task1")["1.4"]
    assert result.status == FAIL
    assert "re-fit from the run's params), found 14 in run" in result.rationale
    assert "typed by hand" in result.hint


def test_a_metric_computed_on_the_training_split_is_called_that(lab_store):
    run_modified(lab_store, "task1", [(
        "metrics = regression_metrics(split.y_test, predictions)",
        "metrics = regression_metrics(split.y_train, model.predict(split.X_train))",
    )])
    result = grade_results(lab_store, "task1")["1.4"]
    assert result.status == FAIL
    assert "the value on the training split" in result.rationale
    assert "split.X_test" in result.hint


def test_a_newest_run_that_crashed_is_noted_and_the_last_finished_one_graded(lab_store):
    lab_store.run_task("task1")
    crashed = run_modified(lab_store, "task1",
                           [(FIGURE_STEP, '    raise RuntimeError("the disk is full")\n' + FIGURE_STEP)],
                           check=False)
    assert crashed.returncode != 0
    results = grade_results(lab_store, "task1")
    assert failing(results) == {}
    assert "is FAILED; graded the newest finished run" in results["1.2"].note


def test_a_run_still_running_is_named_with_the_next_step(lab_store):
    run_snippet(lab_store, (
        "import os, mlflow\nfrom labkit import names\nfrom labkit.store import use_lab_store\n"
        "use_lab_store()\nmlflow.set_experiment(names.EXPERIMENT_TASK1)\n"
        "mlflow.start_run(run_name=names.RUN_BASELINE)\nmlflow.log_param('model_type', 'x')\n"
        "os._exit(0)  # the process dies: the run stays RUNNING\n"
    ))
    result = grade_results(lab_store, "task1")["1.1"]
    assert result.status == FAIL
    assert "found no finished run (run 'baseline-linear-regression' is RUNNING)" in result.rationale
    assert "is still RUNNING" in result.hint


# --- task 3 -------------------------------------------------------------------------


def test_a_tree_model_that_skops_refused_gets_the_skops_hint(lab_store):
    crashed = run_modified(lab_store, "task3", [(LOG_OPTIONS, "")], check=False)
    assert crashed.returncode != 0 and "untrusted types" in crashed.stderr
    results = grade_results(lab_store, "task3")
    assert results["3.1"].status == FAIL
    assert "run 'RandomForest' is FAILED" in results["3.1"].rationale
    assert "pass **SKLEARN_LOG_OPTIONS" in results["3.1"].hint


def test_a_model_without_a_signature_fails_3_3(lab_store):
    run_modified(lab_store, "task3", [(INPUT_EXAMPLE, "")])
    results = grade_results(lab_store, "task3")
    assert failing(results) == {"3.3": FAIL}
    assert "expected a signature on the model of run 'LinearRegression'" in results["3.3"].rationale
    assert "input_example" in results["3.3"].hint


def test_a_model_logged_under_another_name_fails_3_3(lab_store):
    run_modified(lab_store, "task3", [("name=names.MODEL_NAME,", 'name="rf_model",')])
    results = grade_results(lab_store, "task3")
    assert failing(results) == {"3.3": FAIL}
    assert "expected a model named 'model' in run 'LinearRegression', found 'rf_model'" == (
        results["3.3"].rationale)


def test_a_typed_task3_metric_fails_against_the_logged_model(lab_store):
    run_modified(lab_store, "task3", [
        ("mlflow.log_metrics(metrics)", "mlflow.log_metrics({**metrics, names.METRIC_R2: 0.99})"),
    ])
    result = grade_results(lab_store, "task3")["3.3"]
    assert result.status == FAIL
    assert "(the grader's score of the logged model), found 0.99" in result.rationale


# --- task 4 -------------------------------------------------------------------------


def test_registering_the_linear_regression_run_names_both_runs(task3_copy):
    run_modified(task3_copy, "task4", [(SORT_BEST_FIRST, SORT_BEST_FIRST.replace("DESC", "ASC"))])
    results = grade_results(task3_copy, "task4")
    assert results["4.1"].status == FAIL
    assert "expected the best task-3 run 'GradientBoosting'" in results["4.1"].rationale
    assert "found run 'LinearRegression'" in results["4.1"].rationale
    assert "HIGHEST r2" in results["4.1"].hint
    assert statuses(results) == {"4.1": FAIL, "4.2": SKIP, "4.3": SKIP, "4.4": SKIP}


def test_a_wrong_model_registered_afterwards_fails_4_2(task3_copy):
    task3_copy.run_task("task4")
    run_snippet(task3_copy, REGISTER_TASK3_MODEL.format(model=names.LINEAR_REGRESSION))
    results = grade_results(task3_copy, "task4")
    assert failing(results) == {"4.2": FAIL, "4.3": SKIP, "4.4": SKIP}
    assert results["4.2"].rationale == (
        "expected version 2 to come from run 'GradientBoosting', found run 'LinearRegression'")


def test_an_alias_on_an_older_version_fails_4_3(task3_copy):
    task3_copy.run_task("task4")
    run_snippet(task3_copy, REGISTER_TASK3_MODEL.format(model=names.GRADIENT_BOOSTING))
    results = grade_results(task3_copy, "task4")
    assert failing(results) == {"4.3": FAIL, "4.4": SKIP}
    assert results["4.3"].rationale == "expected alias 'staging' on version 2, found it on version 1"


def test_the_deprecated_stage_passes_with_a_note(task3_copy):
    stage_uri = f'"models:/{names.REGISTERED_MODEL}/Staging"'
    run_modified(task3_copy, "task4", [
        (SET_ALIAS, "client.transition_model_version_stage(names.REGISTERED_MODEL, "
                    'version.version, "Staging")'),
        ("if task.alias_exists(client, names.REGISTERED_MODEL, names.ALIAS):", "if True:"),
        ("mlflow.pyfunc.load_model(\n            names.STAGING_URI,",
         f"mlflow.pyfunc.load_model(\n            {stage_uri},"),
        ("mlflow.log_param(names.PARAM_MODEL_URI, names.STAGING_URI)",
         f"mlflow.log_param(names.PARAM_MODEL_URI, {stage_uri})"),
    ])
    results = grade_results(task3_copy, "task4")
    assert failing(results) == {}
    assert "stages are deprecated and aliases replace them" in results["4.3"].note


def test_a_typed_staging_rmse_fails_4_4(task3_copy):
    run_modified(task3_copy, "task4", [(LOG_STAGING_RMSE, LOG_STAGING_RMSE.replace("staging_rmse)", "14.0)"))])
    results = grade_results(task3_copy, "task4")
    assert failing(results) == {"4.4": FAIL}
    assert "(the grader's score of version 1), found 14 in run 'registry-staging-check'" in (
        results["4.4"].rationale)
    assert "typed by hand" in results["4.4"].hint
