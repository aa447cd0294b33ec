"""Do the grader's verdicts follow its rules on honest work, re-runs, crashes and mistakes?

Each test is a student's completion run as a student runs it: the solution with one
TODO's lines changed (found by its markers), or a few lines of plain MLflow.
"""

from __future__ import annotations

import shutil

import pytest
from conftest import LabStore
from test_grader_support import (  # noqa: F401 - task3_* are fixtures
    failing, grade_results, run_snippet, run_with, task3_copy, task3_store,
)

from labkit import lab
from grader.core import FAIL, SKIP
from grader.registry import todo_ids


def true_metrics() -> dict[str, float]:
    """The baseline's metrics, as the solution computes them."""
    split = lab.split_data()
    model = lab.make_model(lab.LINEAR_REGRESSION).fit(split.X_train, split.y_train)
    return lab.regression_metrics(split.y_test, model.predict(split.X_test))


def shown(result) -> str:
    return " ".join(filter(None, [result.rationale, result.hint, result.note]))


# --- tolerance and feedback ---------------------------------------------------------


def test_metrics_rounded_to_3_decimals_pass(ready_store):
    run_with(ready_store, "task1", {"1.4": """
        mlflow.log_metric("rmse", round(rmse, 3))
        mlflow.log_metric("mae", round(mae, 4))
        mlflow.log_metric("r2", round(r2, 3))
    """})
    assert failing(grade_results(ready_store, "task1")) == {}


def test_a_typed_metric_fails_and_the_feedback_never_gives_the_value(ready_store):
    run_with(ready_store, "task1", {"1.4": """
        mlflow.log_metric("rmse", 14.0)
        mlflow.log_metric("mae", mae)
        mlflow.log_metric("r2", r2)
    """})
    result = grade_results(ready_store, "task1")["1.4"]
    assert result.status == FAIL
    assert "found 14 in run 'baseline-linear-regression'" in result.rationale
    assert "% below it" in result.rationale or "% above it" in result.rationale
    rmse = true_metrics()["rmse"]
    for shown_as in (f"{rmse:.6g}", f"{rmse:.4f}", f"{rmse:.3f}", f"{rmse:.2f}", f"{rmse:.1f}"):
        assert shown_as not in shown(result), shown_as


def test_metrics_of_the_training_split_are_called_that(ready_store):
    run_with(ready_store, "task1", {"1.4": """
        train_predictions = model.predict(X_train)
        mlflow.log_metric("rmse", root_mean_squared_error(y_train, train_predictions))
        mlflow.log_metric("mae", mean_absolute_error(y_train, train_predictions))
        mlflow.log_metric("r2", r2_score(y_train, train_predictions))
    """})
    result = grade_results(ready_store, "task1")["1.4"]
    assert result.status == FAIL
    assert "equal to the training-split rmse: the training split?" in result.rationale
    assert "X_test" in result.hint


# --- messages that name the real cause ----------------------------------------------


def test_an_experiment_one_letter_off_is_named(ready_store):
    run_with(ready_store, "task1", {"1.1": 'mlflow.set_experiment("task1-baselin")'})
    results = grade_results(ready_store, "task1")
    assert failing(results) == {"1.1": FAIL}
    assert "found run 'baseline-linear-regression' in 'task1-baselin'" in results["1.1"].rationale
    assert 'EXPERIMENT_NAME is "task1-baseline"' in results["1.1"].hint


def test_a_run_name_the_student_chose_is_never_called_generated(ready_store):
    run_with(ready_store, "task1", {"1.2": 'with mlflow.start_run(run_name="my-baseline-42"):'})
    results = grade_results(ready_store, "task1")
    assert failing(results) == {"1.2": FAIL}
    assert results["1.2"].rationale.endswith("found 'my-baseline-42'")
    assert "generate" not in shown(results["1.2"])


def test_metrics_logged_after_the_with_block_name_the_run_they_went_to(ready_store):
    run_with(ready_store, "task1", {"1.4": "pass"}, append="""
        mlflow.log_metric("rmse", rmse)
        mlflow.log_metric("mae", mae)
        mlflow.log_metric("r2", r2)
    """)
    results = grade_results(ready_store, "task1")
    assert failing(results) == {"1.4": FAIL}
    stray = next(r for r in ready_store.client().search_runs(
        [ready_store.client().get_experiment_by_name(lab.EXPERIMENT_TASK1).experiment_id])
        if r.info.run_name != lab.RUN_BASELINE)
    assert (f"your metric rmse, mae, r2 went to run '{stray.info.run_name}': it was logged after "
            "the `with` block ended") in results["1.4"].hint


# --- every number, in every run ------------------------------------------------------


@pytest.mark.slow
def test_a_typed_number_in_any_sweep_run_fails_and_names_that_run(ready_store):
    run_with(ready_store, "task2", {"2.3": """
        if n_estimators == 80:
            rmse = 11.5
        mlflow.log_metrics({"rmse": rmse, "mae": mae, "r2": r2, "train_time_s": train_time})
    """})
    results = grade_results(ready_store, "task2")
    assert failing(results) == {"2.3": FAIL}
    assert "found 11.5 in run 'rf-n80-d10-l2'" in results["2.3"].rationale


@pytest.mark.slow
def test_task3_models_trained_on_a_part_of_the_data_fail_with_their_honest_metrics(ready_store):
    run_with(ready_store, "task3", {"3.2": """
        model.fit(X_train[:300], y_train[:300])
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
    assert "trained on other rows?" in results["3.2"].rationale
    assert "the metrics of the model logged in this run" in results["3.3"].rationale
    assert "trained on other rows?" in results["3.3"].rationale
    assert "typed" not in shown(results["3.2"]) + shown(results["3.3"])


@pytest.mark.slow
def test_one_model_logged_in_every_run_is_named_not_called_typed(ready_store):
    run_with(ready_store, "task3", {"3.2": """
        model_info = mlflow.sklearn.log_model(
            MODELS["LinearRegression"], name=MODEL_NAME, input_example=X_test.head(5),
            serialization_format="skops", skops_trusted_types=SKOPS_TRUSTED_TYPES,
            pip_requirements=PIP_REQUIREMENTS,
        )
    """})
    results = grade_results(ready_store, "task3")
    assert failing(results) == {"3.2": FAIL}  # the metrics are those of each run's own model
    assert results["3.2"].rationale == (
        "expected a RandomForestRegressor in run 'RandomForest', found a LinearRegression")
    assert "typed" not in shown(results["3.2"])


# --- crashes ---------------------------------------------------------------------------


@pytest.mark.slow
def test_a_crash_in_3_2s_call_keeps_3_1_and_is_named(ready_store):
    crashed = run_with(ready_store, "task3", {"3.2": """
        model_info = mlflow.sklearn.log_model(
            model, name=MODEL_NAME, input_example=X_test.head(5), serialization_format="skops",
            skops_trusted_types=SKOPS_TRUSTED_TYPES if model_name != "GradientBoosting" else [],
            pip_requirements=PIP_REQUIREMENTS,
        )
    """}, check=False)
    assert crashed.returncode != 0
    results = grade_results(ready_store, "task3")
    assert failing(results) == {"3.2": FAIL, "3.3": SKIP}
    # the lab's one-line reading of MLflow's error, then the error itself, whole (errors.quote)
    crash = "run 'GradientBoosting' crashed with MlflowException: skops refused to save types it was not told to trust"
    assert crash in results["3.1"].note
    assert any("The saved sklearn model references untrusted" in e for e in results["3.1"].errors)
    assert "run 'GradientBoosting' (FAILED)" in results["3.2"].rationale
    assert "crashed with MlflowException: skops refused to save types" in results["3.2"].rationale
    assert any("The saved sklearn model references untrusted" in e for e in results["3.2"].errors)
    assert "SKOPS_TRUSTED_TYPES lists the trees' type" in results["3.2"].hint


CRASH_AT_50 = """
    if n_estimators == 50:
        mlflow.set_tags(SWEEP_TAGS.item())
    mlflow.set_tags(SWEEP_TAGS)
"""


@pytest.mark.slow
def test_a_crashed_re_run_never_mixes_silently_with_the_older_one(ready_store):
    ready_store.run_task("task2")
    assert run_with(ready_store, "task2", {"2.4": CRASH_AT_50}, check=False).returncode != 0
    results = grade_results(ready_store, "task2")
    assert failing(results) == {}
    crash = "run 'rf-n50-d6-l1' crashed with AttributeError: 'dict' object has no attribute 'item'"
    for result in results.values():
        assert crash in result.note and "'rf-n80-d10-l2'" in result.note, result.note


def test_a_crashed_first_run_is_named_in_the_verdict(ready_store):
    assert run_with(ready_store, "task2", {"2.4": "mlflow.set_tags(SWEEP_TAGS.item())"},
                    check=False).returncode != 0
    result = grade_results(ready_store, "task2")["2.1"]
    assert result.status == FAIL
    assert result.rationale.startswith("expected runs rf-n50-d6-l1, rf-n80-d10-l2, rf-n100-dnone-l5")
    assert result.rationale.endswith(
        "run 'rf-n20-d3-l1' crashed with AttributeError: 'dict' object has no attribute 'item'")


# --- task 4: best runs, URIs, re-runs -------------------------------------------------


@pytest.mark.slow
def test_any_uri_of_the_logged_model_is_the_same_model(task3_copy):
    run_with(task3_copy, "task4", {
        "4.2": 'version = mlflow.register_model(f"runs:/{best_run_id}/model", REGISTERED_MODEL)',
        "4.4": """
            uri = f"models:/{REGISTERED_MODEL}/{version.version}"
            staged_model = mlflow.pyfunc.load_model(uri)
            staging_rmse = root_mean_squared_error(y_test, staged_model.predict(X_test))
            mlflow.log_param("model_uri", uri)
            mlflow.log_metric("staging_rmse", staging_rmse)
        """})
    results = grade_results(task3_copy, "task4")
    assert failing(results) == {}
    assert "models:/api-response-time/1 is the staging model today" in results["4.4"].note
    run_with(task3_copy, "task4", {"4.2": """
        location = mlflow.get_logged_model(model_uri.split("/")[-1]).artifact_location
        version = mlflow.register_model(location, REGISTERED_MODEL)
    """}, name="by_location")
    versions = task3_copy.client().search_model_versions(f"name = '{lab.REGISTERED_MODEL}'")
    assert any(v.run_id is None for v in versions)  # MLflow keeps no run for a location
    assert failing(grade_results(task3_copy, "task4")) == {}


@pytest.mark.slow
def test_re_running_tasks_in_any_order_never_costs_points_and_runs_tied_on_the_best_r2_all_count_as_best(
        task3_copy):
    run_snippet(task3_copy, """
        import mlflow
        experiment = mlflow.get_experiment_by_name("task3-model-comparison")
        for model in mlflow.search_logged_models(experiment_ids=[experiment.experiment_id],
                                                 output_format="list"):
            mlflow.register_model(model.model_uri, "api-response-time")  # "registered in task 3"
    """)
    task3_copy.run_task("task4")
    task3_copy.run_task("task3")  # task 3 twice, the second after task 4
    task3_copy.run_task("task1")
    results = grade_results(task3_copy, "task1", "task3", "task4")
    assert failing(results) == {}
    # Task 3's two executions tie on the best r2 (the same metrics): a pick of either one passes.
    for order in ("ASC", "DESC"):  # pick the older, then the newer, of the tied runs
        run_with(task3_copy, "task4", {"4.1": f"""
            runs = mlflow.search_runs(
                experiment_names=[TASK3_EXPERIMENT],
                filter_string="attributes.status = 'FINISHED'",
                order_by=["metrics.r2 DESC", "attributes.start_time {order}"],
            )
            best_run_id = runs.iloc[0]["run_id"]
        """}, name=f"pick_{order}")
        assert failing(grade_results(task3_copy, "task4")) == {}, order


@pytest.mark.slow
def test_a_crashed_pick_is_never_named_as_both_expected_and_found(task3_copy):
    run_snippet(task3_copy, """
        import mlflow
        mlflow.set_experiment("task3-model-comparison")
        with mlflow.start_run(run_name="GradientBoosting") as run:
            mlflow.log_metrics({"rmse": 1.0, "mae": 1.0, "r2": 0.999})
        mlflow.MlflowClient().set_terminated(run.info.run_id, "FAILED")
    """)
    run_with(task3_copy, "task4", {"4.1": """
        runs = mlflow.search_runs(experiment_names=[TASK3_EXPERIMENT], order_by=["metrics.r2 DESC"])
        best_run_id = runs.iloc[0]["run_id"]
    """})
    result = grade_results(task3_copy, "task4")["4.1"]
    assert result.status == FAIL
    assert result.rationale.startswith("expected the pick to be the best task-3 run 'GradientBoosting' (r2")
    assert result.rationale.endswith("found run 'GradientBoosting' (FAILED)")
    assert "keep only the runs whose status is FINISHED" in result.hint


@pytest.mark.slow
def test_a_typed_staging_rmse_fails_without_the_value(task3_copy):
    run_with(task3_copy, "task4", {"4.4": """
        staged_model = mlflow.pyfunc.load_model(STAGING_URI)
        staging_rmse = 14.0
        mlflow.log_param("model_uri", STAGING_URI)
        mlflow.log_metric("staging_rmse", staging_rmse)
    """})
    results = grade_results(task3_copy, "task4")
    assert failing(results) == {"4.4": FAIL}
    assert results["4.4"].rationale.startswith("expected the test-split rmse of version 1")
    assert "found 14 in run 'registry-staging-check'" in results["4.4"].rationale


@pytest.mark.slow
def test_an_alias_moved_to_another_runs_model_fails_4_3(solutions_store, tmp_path):
    store = solutions_store.copy_to(tmp_path / "store")  # task 3, then task 4, as the solutions ran
    run_snippet(store, """
        import mlflow
        experiment = mlflow.get_experiment_by_name("task3-model-comparison")
        run = mlflow.search_runs([experiment.experiment_id], output_format="list",
                                 filter_string="attributes.run_name = 'LinearRegression'")[0]
        model = mlflow.search_logged_models(experiment_ids=[experiment.experiment_id], output_format="list",
                                            filter_string=f"source_run_id = '{run.info.run_id}'")[0]
        version = mlflow.register_model(model.model_uri, "api-response-time")
        mlflow.MlflowClient().set_registered_model_alias("api-response-time", "staging", version.version)
    """)
    results = grade_results(store, "task4")
    assert failing(results) == {"4.3": FAIL}  # 4.4's run scored the version the alias was on then
    assert "staging_rmse is the score of version 1" in results["4.4"].note
    assert results["4.3"].rationale == (
        "expected alias 'staging' on a version of 'api-response-time' made from the model of "
        "'GradientBoosting', found it on version 2, made from run 'LinearRegression'")


@pytest.mark.slow
def test_the_deprecated_stage_passes_with_a_note(task3_copy):
    run_with(task3_copy, "task4", {
        "4.3": 'client.transition_model_version_stage(REGISTERED_MODEL, version.version, "Staging")',
    }, append="""
        with mlflow.start_run(run_name=RUN_NAME):
            uri = f"models:/{REGISTERED_MODEL}/Staging"
            mlflow.log_param("model_uri", uri)
            mlflow.log_metric("staging_rmse", root_mean_squared_error(
                y_test, mlflow.pyfunc.load_model(uri).predict(X_test)))
    """)
    results = grade_results(task3_copy, "task4")
    assert failing(results) == {}
    assert "stages are deprecated and aliases replace them" in results["4.3"].note


# --- exploration and moved folders ------------------------------------------------------


@pytest.mark.slow
def test_runs_added_to_explore_never_cost_points(solutions_store, tmp_path):
    store = solutions_store.copy_to(tmp_path / "store")  # the four solutions, then exploring
    run_snippet(store, """
        import mlflow
        from sklearn.tree import DecisionTreeRegressor
        mlflow.set_experiment("scratch")
        with mlflow.start_run(run_name="baseline-linear-regression"):
            mlflow.log_metrics({"rmse": 1.0, "mae": 1.0, "r2": 0.99})
        mlflow.set_experiment("task1-baseline")
        with mlflow.start_run(run_name="try-ridge"):
            mlflow.log_params({"model_type": "Ridge", "random_state": 7, "test_size": 0.3})
            mlflow.log_metrics({"rmse": 1.0, "mae": 1.0, "r2": 0.99})
        mlflow.set_experiment("task2-rf-sweep")
        with mlflow.start_run(run_name="rf-n200-d8-l1"):
            mlflow.log_params({"n_estimators": 200, "max_depth": 8})
            mlflow.log_metrics({"rmse": 1.0, "r2": 0.99})
        mlflow.set_experiment("task3-model-comparison")
        with mlflow.start_run(run_name="DecisionTree"):
            model = DecisionTreeRegressor(max_depth=2).fit([[0.0], [1.0]], [0.0, 1.0])
            mlflow.log_metrics({"rmse": 1.0, "mae": 1.0, "r2": 0.999})  # "better" than all
            mlflow.sklearn.log_model(model, name="model", serialization_format="skops",
                                     skops_trusted_types=["sklearn.tree._tree.Tree"],
                                     pip_requirements=["scikit-learn"])
    """)
    results = grade_results(store, "all")
    assert failing(results) == {}, {i: r.rationale for i, r in results.items()}
    assert len(results) == len(todo_ids())


@pytest.mark.slow
def test_a_moved_lab_folder_still_grades_and_missing_files_are_named(store_template, tmp_path):
    before = store_template.copy_to(tmp_path / "lab")  # its artifacts beside it, as the lab's
    before.run_task("task3")
    before.run_task("task4")
    moved = tmp_path / "moved"
    shutil.move(before.folder, moved)
    store = LabStore(moved)
    assert failing(grade_results(store, "task3", "task4")) == {}
    shutil.rmtree(moved / "mlartifacts")
    results = grade_results(store, "task3")
    assert results["3.2"].status == FAIL
    assert "its files are missing: no MLmodel file at" in results["3.2"].rationale
    assert "signature" not in results["3.2"].rationale
