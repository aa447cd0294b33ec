"""Task 4: the model registry.

Find the best model of task 3, register it, promote it with the alias `staging`,
then load it back by that alias and check its predictions, as a deployment would.
"""

# %% Step 0: point MLflow at the lab's tracking store
from labkit import names, task
from labkit.data import split_data
from labkit.metrics import regression_metrics
from labkit.todo import todo

import mlflow
from mlflow import MlflowClient

task.start("Task 4: model registry")
client = MlflowClient()
split = split_data()
mlflow.set_experiment(names.EXPERIMENT_TASK4)

with mlflow.start_run(run_name=names.RUN_REGISTRY):
    # %% Step 1: the best task-3 run, by test r2
    best_run_id = None
    # BEGIN TODO 4.1: Search the task-3 experiment (names.EXPERIMENT_TASK3) for its runs,
    #   best r2 first, and keep the first row's run_id in best_run_id.
    #   Hint: mlflow.search_runs(experiment_names=[...], order_by=["metrics.r2 DESC"])
    best = mlflow.search_runs(
        experiment_names=[names.EXPERIMENT_TASK3],
        filter_string="attributes.status = 'FINISHED'",
        order_by=[f"metrics.{names.METRIC_R2} DESC"],
        max_results=1,
    )
    best_run_id = best.iloc[0]["run_id"] if len(best) else None
    # STUB
    # todo("4.1")
    # END TODO 4.1

    # In MLflow 3 a logged model is its own object (models:/m-...), linked to its run.
    model_uri = task.logged_model_uri(best_run_id)

    # %% Step 2: register it
    version = None
    if model_uri is not None:
        # BEGIN TODO 4.2: Register model_uri under the name names.REGISTERED_MODEL and
        #   keep the result (a ModelVersion) in `version`.
        #   Hint: mlflow.register_model(model_uri, name)
        version = mlflow.register_model(model_uri, names.REGISTERED_MODEL)
        # STUB
        # todo("4.2")
        # END TODO 4.2

    # %% Step 3: promote it. Aliases replace the deprecated stages (Staging, Production).
    if version is not None:
        # BEGIN TODO 4.3: Point the alias names.ALIAS ("staging") at that version.
        #   Hint: client.set_registered_model_alias(name, alias, version.version)
        client.set_registered_model_alias(names.REGISTERED_MODEL, names.ALIAS, version.version)
        # STUB
        # todo("4.3")
        # END TODO 4.3

    # %% Step 4: load whatever `staging` points to, as a deployment would, and check it
    staging_rmse = None
    if task.alias_exists(client, names.REGISTERED_MODEL, names.ALIAS):
        # BEGIN TODO 4.4: Load names.STAGING_URI with mlflow.pyfunc, predict split.X_test,
        #   then log the param model_uri (the URI you loaded) and the metric staging_rmse.
        #   Hint: mlflow.pyfunc.load_model(uri).predict(...); regression_metrics(...)
        staged_model = mlflow.pyfunc.load_model(
            names.STAGING_URI,
            # Skips checking this environment against the model's requirements (~0.5 s):
            # this very environment logged the model.
            suppress_warnings=True,
        )
        staged = regression_metrics(split.y_test, staged_model.predict(split.X_test))
        staging_rmse = staged[names.METRIC_RMSE]
        mlflow.log_param(names.PARAM_MODEL_URI, names.STAGING_URI)
        mlflow.log_metric(names.METRIC_STAGING_RMSE, staging_rmse)
        # STUB
        # todo("4.4")
        # END TODO 4.4

# %% Summary
print()
task.report_registry(client, best_run_id, version, staging_rmse)
task.finish("task4")
