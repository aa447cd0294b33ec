"""Task 4: the model registry.

Find the best model of task 3, register it, promote it with the alias `staging`,
then load it back by that alias and check its predictions, as a deployment would.
"""

# This is your copy of the task: fill in the TODOs, run it, then grade it.
# (Generated from solutions/ by `python -m labkit generate`.)

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
    # TODO 4.1: Search the task-3 experiment (names.EXPERIMENT_TASK3) for its runs,
    #   best r2 first, and keep the first row's run_id in best_run_id.
    #   Hint: mlflow.search_runs(experiment_names=[...], order_by=["metrics.r2 DESC"])
    todo("4.1")

    # In MLflow 3 a logged model is its own object (models:/m-...), linked to its run.
    model_uri = task.logged_model_uri(best_run_id)

    # %% Step 2: register it
    version = None
    if model_uri is not None:
        # TODO 4.2: Register model_uri under the name names.REGISTERED_MODEL and
        #   keep the result (a ModelVersion) in `version`.
        #   Hint: mlflow.register_model(model_uri, name)
        todo("4.2")

    # %% Step 3: promote it. Aliases replace the deprecated stages (Staging, Production).
    if version is not None:
        # TODO 4.3: Point the alias names.ALIAS ("staging") at that version.
        #   Hint: client.set_registered_model_alias(name, alias, version.version)
        todo("4.3")

    # %% Step 4: load whatever `staging` points to, as a deployment would, and check it
    staging_rmse = None
    if task.alias_exists(client, names.REGISTERED_MODEL, names.ALIAS):
        # TODO 4.4: Load names.STAGING_URI with mlflow.pyfunc, predict split.X_test,
        #   then log the param model_uri (the URI you loaded) and the metric staging_rmse.
        #   Hint: mlflow.pyfunc.load_model(uri).predict(...); regression_metrics(...)
        todo("4.4")

# %% Summary
print()
task.report_registry(client, best_run_id, version, staging_rmse)
task.finish("task4")
