"""Task 2: a RandomForest hyperparameter sweep.

Train one RandomForest per configuration, each in its own run, and record the
configuration (params), the results (metrics) and labels (tags) to compare them.
"""

# This is your copy of the task: fill in the TODOs, run it, then grade it.
# (Generated from solutions/ by `python -m labkit generate`.)

# %% Step 0: point MLflow at the lab's tracking store
import time

from labkit import names, plots, task
from labkit.data import NOISE_SD_MS, split_data
from labkit.metrics import regression_metrics
from labkit.models import MODEL_SEED, SWEEP_CONFIGS, make_model, sweep_run_name
from labkit.todo import todo

import mlflow

task.start("Task 2: hyperparameter sweep")
mlflow.set_experiment(names.EXPERIMENT_TASK2)
split = split_data()

# %% Step 1: one run per configuration
results = []
for config in SWEEP_CONFIGS:
    n_estimators = config["n_estimators"]
    # Everything but n_estimators, plus the seed that makes the forest reproducible.
    other_params = {
        names.PARAM_MAX_DEPTH: config["max_depth"],
        names.PARAM_MIN_SAMPLES_LEAF: config["min_samples_leaf"],
        names.PARAM_RANDOM_STATE: MODEL_SEED,
    }
    with mlflow.start_run(run_name=sweep_run_name(config)) as run:
        # %% Step 2: log the configuration
        # TODO 2.1: Log n_estimators on its own.
        #   Hint: mlflow.log_param(names.PARAM_N_ESTIMATORS, n_estimators)
        todo("2.1")

        # TODO 2.2: Log the rest of the configuration, other_params, in ONE call.
        #   Hint: mlflow.log_params({...})
        todo("2.2")

        # %% Step 3: train, time it, and log the results
        model = make_model(names.RANDOM_FOREST, n_estimators=n_estimators, **other_params)
        started = time.perf_counter()
        model.fit(split.X_train, split.y_train)
        train_time = time.perf_counter() - started
        metrics = regression_metrics(split.y_test, model.predict(split.X_test))

        # TODO 2.3: Log rmse, mae and r2 from `metrics`, and the training time
        #   under names.METRIC_TRAIN_TIME.
        #   Hint: mlflow.log_metric(key, value), or mlflow.log_metrics({key: value, ...})
        todo("2.3")

        # %% Step 4: label the run so the sweep is easy to filter in the UI
        # TODO 2.4: Tag the run with every tag in names.SWEEP_TAGS.
        #   Hint: mlflow.set_tags({...})
        todo("2.4")
    label = f"{n_estimators}/{config['max_depth']}/{config['min_samples_leaf']}"
    results.append({"run": run, "label": label, **metrics, "train_time_s": train_time})

# %% Step 5: a chart of the whole sweep, attached to the best run
best = min(results, key=lambda row: row[names.METRIC_RMSE])
figure = plots.sweep_chart(results, names.METRIC_RMSE, NOISE_SD_MS)
with mlflow.start_run(run_id=best["run"].info.run_id):  # reopen a finished run
    mlflow.log_figure(figure, names.FIGURE_SWEEP)
plots.close(figure)

# %% Summary
print(f"\nLogged {len(results)} sweep runs:")
for row in results:
    task.report_run(row["run"], {k: row[k] for k in names.TEST_METRICS})
print(f"Best configuration: {best['run'].info.run_name} (the sweep chart is in its artifacts)")
task.finish("task2")
