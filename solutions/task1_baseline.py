"""Task 1: track a baseline experiment.

Fit a LinearRegression that predicts the API's response time from system metrics,
and record it in MLflow: an experiment, a named run, its params and its metrics.
"""

# %% Step 0: point MLflow at the lab's tracking store
from labkit import names, plots, task
from labkit.data import SPLIT_SEED, TEST_SIZE, split_data
from labkit.metrics import regression_metrics
from labkit.models import make_model
from labkit.todo import todo

import mlflow

task.start("Task 1: baseline experiment")

# %% Step 1: choose where the run goes
# An experiment groups the runs of one question; without one, runs land in "Default".
# BEGIN TODO 1.1: Use the task-1 experiment, names.EXPERIMENT_TASK1.
#   Hint: mlflow.set_experiment(name)
mlflow.set_experiment(names.EXPERIMENT_TASK1)
# STUB
# todo("1.1")
# END TODO 1.1

# %% Step 2: train the baseline inside a named run
# The split is the lab's: 80 % of the minutes to train, 20 % to test, a fixed seed.
split = split_data(test_size=TEST_SIZE, random_state=SPLIT_SEED)
model = make_model(names.LINEAR_REGRESSION)

# BEGIN TODO 1.2: Start a run named names.RUN_BASELINE around everything below.
#   Hint: with mlflow.start_run(run_name=...):
with mlflow.start_run(run_name=names.RUN_BASELINE):
# STUB
# with todo("1.2"):
# END TODO 1.2
    model.fit(split.X_train, split.y_train)
    predictions = model.predict(split.X_test)
    metrics = regression_metrics(split.y_test, predictions)

    # %% Step 3: log what defines the run (params) and how well it did (metrics)
    # BEGIN TODO 1.3: Log the params model_type (names.LINEAR_REGRESSION),
    #   random_state (SPLIT_SEED) and test_size (TEST_SIZE), one call each.
    #   Hint: mlflow.log_param(names.PARAM_MODEL_TYPE, value)
    mlflow.log_param(names.PARAM_MODEL_TYPE, names.LINEAR_REGRESSION)
    mlflow.log_param(names.PARAM_RANDOM_STATE, SPLIT_SEED)
    mlflow.log_param(names.PARAM_TEST_SIZE, TEST_SIZE)
    # END TODO 1.3

    # BEGIN TODO 1.4: Log the test metrics rmse, mae and r2 from the dict `metrics`.
    #   Hint: mlflow.log_metric(names.METRIC_RMSE, metrics[names.METRIC_RMSE])
    mlflow.log_metric(names.METRIC_RMSE, metrics[names.METRIC_RMSE])
    mlflow.log_metric(names.METRIC_MAE, metrics[names.METRIC_MAE])
    mlflow.log_metric(names.METRIC_R2, metrics[names.METRIC_R2])
    # END TODO 1.4

    # %% Step 4: a figure for the UI (artifacts tab of the run)
    figure = plots.pred_vs_actual(split.y_test, predictions, "Baseline: LinearRegression")
    mlflow.log_figure(figure, names.FIGURE_PRED_VS_ACTUAL)
    plots.close(figure)

# %% Summary
print("\nLogged the baseline run:")
task.report_run(mlflow.last_active_run(), metrics)
task.finish("task1")
