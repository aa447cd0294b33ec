"""Which TODO does a task-4 pick without a model wait for?

A student whose task-4 run picks a crashed task-3 run (no model: it crashed before logging it)
has a wrong pick (4.1) while 3.2 may pass; 4.2 then waits for 4.1, not for 3.2 (it said "skipped
until 3.2 passes" while 3.2 passed).
"""

from __future__ import annotations

from test_grader_support import grade_results, run_snippet, task3_copy, task3_store  # noqa: F401 - fixtures

from grader.core import FAIL, PASS, SKIP


def test_a_pick_of_a_crashed_run_without_a_model_waits_for_4_1_not_3_2(task3_copy):
    run_snippet(task3_copy, """
        import mlflow

        mlflow.set_experiment("task3-model-comparison")
        with mlflow.start_run(run_name="GradientBoosting") as crashed:
            mlflow.log_metric("r2", 0.999)  # logged before the crash: the highest r2 of all
        mlflow.MlflowClient().set_terminated(crashed.info.run_id, "FAILED")

        mlflow.set_experiment("task4-model-registry")
        with mlflow.start_run(run_name="register-best"):
            mlflow.set_tag("lab.best_run_id", crashed.info.run_id)  # the pick forgot status = FINISHED
    """)
    results = grade_results(task3_copy, "task3", "task4")
    assert results["3.2"].status == PASS, results["3.2"].rationale
    assert results["4.1"].status == FAIL and "FINISHED" in results["4.1"].hint, results["4.1"]
    assert results["4.2"].status == SKIP, results["4.2"]
    assert results["4.2"].rationale == "skipped until 4.1 passes", results["4.2"].rationale
