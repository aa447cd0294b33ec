"""Task 2: a RandomForest hyperparameter sweep.

Train one RandomForest per configuration, each in its own run, and record the
configuration (params), the results (metrics) and labels (tags) to compare them.
"""

# %% Step 0: point MLflow at the lab's tracking store and load the data
import time

import mlflow
import pandas as pd
from mlflow.data.sources import LocalArtifactDatasetSource
from sklearn.ensemble import RandomForestRegressor
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.model_selection import train_test_split

import labkit
from labkit import todo

# The names the grader looks for: use these constants, the grader checks the strings.
EXPERIMENT_NAME = "task2-rf-sweep"
SWEEP_TAGS = {"task": "hyperparameter-sweep", "model_family": "RandomForest"}
# The configurations to try: number of trees, their depth (None: grow until pure) and
# the fewest training rows a leaf may hold.
SWEEP_CONFIGS = [
    {"n_estimators": 20, "max_depth": 3, "min_samples_leaf": 1},
    {"n_estimators": 50, "max_depth": 6, "min_samples_leaf": 1},
    {"n_estimators": 80, "max_depth": 10, "min_samples_leaf": 2},
    {"n_estimators": 100, "max_depth": None, "min_samples_leaf": 5},
]

# The lab's data and its split, the same in every task.
DATA_FILE = labkit.LAB_ROOT / "data" / "devops_metrics.csv"
FEATURES = ["cpu_usage_pct", "memory_usage_pct", "disk_io_mbps", "network_latency_ms",
            "concurrent_users"]
TARGET = "response_time_ms"
TEST_SIZE = 0.2
RANDOM_STATE = 42  # seeds the split and every forest, so each run can be reproduced

# One store for every task: mlflow.db at the repository root, or MLFLOW_TRACKING_URI.
mlflow.set_tracking_uri(labkit.start("Task 2: hyperparameter sweep"))
mlflow.set_experiment(EXPERIMENT_NAME)

data = pd.read_csv(DATA_FILE)
X = data[FEATURES].astype("float64")
y = data[TARGET]
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=TEST_SIZE, random_state=RANDOM_STATE
)
# The rows each run trains and is evaluated on, as MLflow datasets (the UI's Dataset column).
source = LocalArtifactDatasetSource(str(DATA_FILE))
train_dataset = mlflow.data.from_pandas(
    X_train.join(y_train), source=source, targets=TARGET, name="devops_metrics-train"
)
test_dataset = mlflow.data.from_pandas(
    X_test.join(y_test), source=source, targets=TARGET, name="devops_metrics-test"
)

# %% Step 1: one run per configuration
# From this task on, the TODOs say what to log and the names to use; the call is yours to
# write. Each hint names the MLflow function to use and a command that prints its
# documentation, offline: run it in a terminal (press q to leave the pager).
results = []
for config in SWEEP_CONFIGS:
    n_estimators = config["n_estimators"]
    # Everything but n_estimators, plus the seed that makes the forest reproducible.
    other_params = {
        "max_depth": config["max_depth"],
        "min_samples_leaf": config["min_samples_leaf"],
        "random_state": RANDOM_STATE,
    }
    depth = config["max_depth"] if config["max_depth"] is not None else "none"
    run_name = f"rf-n{n_estimators}-d{depth}-l{config['min_samples_leaf']}"
    with mlflow.start_run(run_name=run_name) as run:
        mlflow.log_input(train_dataset, context="training")
        mlflow.log_input(test_dataset, context="evaluation")

        # %% Step 2: log the configuration
        # TODO 2.1: Log the param "n_estimators" (the variable n_estimators) on its own.
        #   Hint: mlflow.log_param; python -c "import mlflow; help(mlflow.log_param)"
        todo("2.1")

        # TODO 2.2: Log the rest of the configuration in ONE call: the dict other_params
        #   ("max_depth", "min_samples_leaf" and "random_state").
        #   Hint: mlflow.log_params; python -c "import mlflow; help(mlflow.log_params)"
        todo("2.2")

        # %% Step 3: train, time it, and log the results
        model = RandomForestRegressor(n_estimators=n_estimators, **other_params)
        started = time.perf_counter()
        model.fit(X_train, y_train)
        train_time = time.perf_counter() - started
        predictions = model.predict(X_test)
        rmse = root_mean_squared_error(y_test, predictions)
        mae = mean_absolute_error(y_test, predictions)
        r2 = r2_score(y_test, predictions)

        # TODO 2.3: Log the metrics "rmse", "mae", "r2" and "train_time_s" (the
        #   variables rmse, mae, r2 and train_time) in ONE call.
        #   Hint: mlflow.log_metrics; python -c "import mlflow; help(mlflow.log_metrics)"
        todo("2.3")

        # %% Step 4: label the run so the sweep is easy to filter in the UI
        # TODO 2.4: Tag the run with every tag in SWEEP_TAGS, in one call.
        #   Hint: mlflow.set_tags; python -c "import mlflow; help(mlflow.set_tags)"
        todo("2.4")
    label = f"{n_estimators}/{depth}/{config['min_samples_leaf']}"
    results.append({"run": run, "label": label, "rmse": rmse, "mae": mae, "r2": r2})

# %% Step 5: a chart of the whole sweep, attached to the best run
best = min(results, key=lambda row: row["rmse"])
figure = labkit.plots.sweep_chart(results, "rmse")
with mlflow.start_run(run_id=best["run"].info.run_id):  # reopen a finished run
    mlflow.log_figure(figure, "sweep_rmse_vs_hyperparameters.png")

# %% Summary
print(f"\nLogged {len(results)} sweep runs:")
for row in results:
    labkit.report_run(row["run"], {key: row[key] for key in ("rmse", "mae", "r2")})
print(f"Best configuration: {best['run'].info.run_name} (the sweep chart is in its artifacts)")
labkit.finish("task2")
