"""Task 1: track a baseline experiment.

Fit a LinearRegression that predicts the API's response time from system metrics,
and record it in MLflow: an experiment, a named run, its params and its metrics.
"""

# %% Step 0: point MLflow at the lab's tracking store
import mlflow
import pandas as pd
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.model_selection import train_test_split

import labkit
from labkit import todo

# The names the grader looks for: use these constants, the grader checks the strings.
EXPERIMENT_NAME = "task1-baseline"
RUN_NAME = "baseline-linear-regression"
MODEL_TYPE = "LinearRegression"

# The lab's data: one row per minute of a web service, and the column to predict.
DATA_FILE = labkit.LAB_ROOT / "data" / "devops_metrics.csv"
FEATURES = ["cpu_usage_pct", "memory_usage_pct", "disk_io_mbps", "network_latency_ms",
            "concurrent_users"]
TARGET = "response_time_ms"
TEST_SIZE = 0.2  # 20 % of the minutes are kept aside to test the model
RANDOM_STATE = 42  # the same seed gives the same split in every task

# MLflow's default store is ./mlflow.db in whatever folder you run from. The lab keeps one
# store for all four tasks: mlflow.db at the repository root, or the tracking server named
# by MLFLOW_TRACKING_URI. labkit.start() checks that store, creates the lab's experiments
# the first time, and returns its URI.
mlflow.set_tracking_uri(labkit.start("Task 1: baseline experiment"))

# %% Step 1: choose where the run goes
# An experiment groups the runs of one question; without one, runs land in "Default".
# BEGIN TODO 1.1: Use the experiment named EXPERIMENT_NAME ("task1-baseline").
#   Hint: mlflow.set_experiment(name)
mlflow.set_experiment(EXPERIMENT_NAME)
# END TODO 1.1

# %% Step 2: load the data and split it
data = pd.read_csv(DATA_FILE)
# Integer columns become floats so the model's signature reads "double" for every column.
X = data[FEATURES].astype("float64")
y = data[TARGET]
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=TEST_SIZE, random_state=RANDOM_STATE
)
# The data each run used, as MLflow datasets: the UI's Dataset column shows their name and
# digest, so a run can be traced back to the exact rows it trained and was tested on.
train_data = mlflow.data.from_pandas(
    data.loc[X_train.index], source=str(DATA_FILE), targets=TARGET, name="devops_metrics-train"
)
test_data = mlflow.data.from_pandas(
    data.loc[X_test.index], source=str(DATA_FILE), targets=TARGET, name="devops_metrics-test"
)

# %% Step 3: train the baseline inside a named run
# BEGIN TODO 1.2: Start a run named RUN_NAME ("baseline-linear-regression") around
#   everything below.
#   Hint: with mlflow.start_run(run_name=...):
with mlflow.start_run(run_name=RUN_NAME):
# STUB
# with todo("1.2"):
# END TODO 1.2
    mlflow.log_input(train_data, context="training")
    mlflow.log_input(test_data, context="evaluation")
    model = LinearRegression()
    model.fit(X_train, y_train)
    predictions = model.predict(X_test)
    rmse = root_mean_squared_error(y_test, predictions)
    mae = mean_absolute_error(y_test, predictions)
    r2 = r2_score(y_test, predictions)

    # %% Step 4: log what defines the run (params) and how well it did (metrics)
    # BEGIN TODO 1.3: Log three params, one call each: "model_type" = MODEL_TYPE,
    #   "random_state" = RANDOM_STATE and "test_size" = TEST_SIZE.
    #   Hint: mlflow.log_param(key, value)
    mlflow.log_param("model_type", MODEL_TYPE)
    mlflow.log_param("random_state", RANDOM_STATE)
    mlflow.log_param("test_size", TEST_SIZE)
    # END TODO 1.3

    # BEGIN TODO 1.4: Log the test metrics "rmse", "mae" and "r2" (the variables rmse,
    #   mae and r2), one call each.
    #   Hint: mlflow.log_metric(key, value)
    mlflow.log_metric("rmse", rmse)
    mlflow.log_metric("mae", mae)
    mlflow.log_metric("r2", r2)
    # END TODO 1.4

    # %% Step 5: a figure for the UI (the run's Artifacts tab)
    figure = labkit.plots.pred_vs_actual(y_test, predictions, "Baseline: LinearRegression")
    mlflow.log_figure(figure, "pred_vs_actual.png")

# %% Summary
print("\nLogged the baseline run:")
labkit.report_run(mlflow.last_active_run(), {"rmse": rmse, "mae": mae, "r2": r2})
labkit.finish("task1")
