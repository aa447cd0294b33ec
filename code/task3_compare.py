"""Task 3: compare three kinds of model and keep each one.

Train LinearRegression, RandomForest and GradientBoosting on the same split, one
run each, and log every fitted model so the best one can be registered in task 4.
"""

# This is your copy of the task: fill in the TODOs, run it, then grade it.
# (Generated from solutions/ by `python -m labkit generate`.)

# %% Step 0: point MLflow at the lab's tracking store
from labkit import names, plots, task
from labkit.data import split_data
from labkit.metrics import regression_metrics
from labkit.models import DEFAULT_HYPERPARAMS, make_model
from labkit.todo import todo
from labkit.tracking import SKLEARN_LOG_OPTIONS

import mlflow

task.start("Task 3: model comparison")
mlflow.set_experiment(names.EXPERIMENT_TASK3)
split = split_data()

# %% Step 1: one run per model
results, predictions, runs = {}, {}, {}
for model_name in names.MODEL_TYPES:
    hyperparams = DEFAULT_HYPERPARAMS[model_name]
    # TODO 3.1: Start one run per model, named after the model (model_name).
    #   Hint: with mlflow.start_run(run_name=...) as run:
    with todo("3.1") as run:
        mlflow.set_tag(names.PARAM_MODEL_TYPE, model_name)
        model = make_model(model_name, **hyperparams).fit(split.X_train, split.y_train)
        predictions[model_name] = model.predict(split.X_test)
        metrics = regression_metrics(split.y_test, predictions[model_name])

        # %% Step 2: the three test metrics at once
        # TODO 3.2: Log rmse, mae and r2 (the dict `metrics`) in ONE call.
        #   Hint: mlflow.log_metrics({...})
        todo("3.2")

        # %% Step 3: keep the fitted model, with an example input (it gives the signature)
        # TODO 3.3: Log the fitted model under the name names.MODEL_NAME, with
        #   split.X_test.head(5) as input example and the lab's SKLEARN_LOG_OPTIONS.
        #   Hint: mlflow.sklearn.log_model(model, name=..., input_example=..., **SKLEARN_LOG_OPTIONS)
        todo("3.3")

        figure = plots.pred_vs_actual(split.y_test, predictions[model_name], model_name)
        mlflow.log_figure(figure, names.FIGURE_PRED_VS_ACTUAL)
        plots.close(figure)
    results[model_name] = metrics
    runs[model_name] = run or mlflow.last_active_run()

# %% Step 4: the three models side by side, attached to the winner's run
winner = max(results, key=lambda name: results[name][names.METRIC_R2])
figure = plots.comparison_chart(results, split.y_test, predictions)
if runs[winner] is not None:
    with mlflow.start_run(run_id=runs[winner].info.run_id):  # reopen a finished run
        mlflow.log_figure(figure, names.FIGURE_COMPARISON)
plots.close(figure)

# %% Summary
print("\nLogged one run per model:")
for model_name in names.MODEL_TYPES:
    task.report_run(runs[model_name], results[model_name])
print(f"Highest r2: {winner}. In the UI, sort the runs by r2 to see it on top.")
task.finish("task3")
