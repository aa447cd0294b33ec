"""Task 4: the model registry.

Find the best model of task 3, register it, promote it with the alias `staging`,
then load it back by that alias and check its predictions, as a deployment would.
"""

# %% Step 0: point MLflow at the lab's tracking store and load the data
import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.data.sources import LocalArtifactDatasetSource
from sklearn.metrics import root_mean_squared_error
from sklearn.model_selection import train_test_split

import labkit
from labkit import todo

# The names the grader looks for: use these constants, the grader checks the strings.
TASK3_EXPERIMENT = "task3-model-comparison"
EXPERIMENT_NAME = "task4-model-registry"
RUN_NAME = "registry-staging-check"
REGISTERED_MODEL = "api-response-time"
ALIAS = "staging"
STAGING_URI = f"models:/{REGISTERED_MODEL}@{ALIAS}"  # "the version the alias points to"
BEST_RUN_TAG = "lab.best_run_id"  # records which task-3 run this run picked

# The lab's data and its split, the same in every task.
DATA_FILE = labkit.LAB_ROOT / "data" / "devops_metrics.csv"
FEATURES = ["cpu_usage_pct", "memory_usage_pct", "disk_io_mbps", "network_latency_ms",
            "concurrent_users"]
TARGET = "response_time_ms"
TEST_SIZE = 0.2
RANDOM_STATE = 42

# One store for every task: mlflow.db at the repository root, or MLFLOW_TRACKING_URI.
mlflow.set_tracking_uri(labkit.start("Task 4: model registry"))
client = MlflowClient()  # the lower-level API: registry operations such as aliases
mlflow.set_experiment(EXPERIMENT_NAME)

data = pd.read_csv(DATA_FILE)
X = data[FEATURES].astype("float64")
y = data[TARGET]
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=TEST_SIZE, random_state=RANDOM_STATE
)
# The rows the staged model is checked on, as an MLflow dataset (the UI's Dataset column).
test_dataset = mlflow.data.from_pandas(
    X_test.join(y_test), source=LocalArtifactDatasetSource(str(DATA_FILE)), targets=TARGET,
    name="devops_metrics-test",
)

with mlflow.start_run(run_name=RUN_NAME):
    mlflow.log_input(test_dataset, context="evaluation")

    # %% Step 1: the best task-3 run, by test r2
    best_run_id = None
    # TODO 4.1: Put in best_run_id the id of task 3's best run: of the FINISHED runs of
    #   TASK3_EXPERIMENT (a crashed run can hold metrics too), the one with the highest "r2",
    #   however many runs the experiment holds (leave None when it holds none).
    #   Hint: https://mlflow.org/docs/latest/ml/search/search-runs/
    todo("4.1")

    # In MLflow 3 a logged model is its own object (models:/m-...), linked to its run.
    model_uri = None
    if best_run_id is not None:
        mlflow.set_tag(BEST_RUN_TAG, best_run_id)
        best_run = mlflow.get_run(best_run_id)
        best_model_type = best_run.data.tags.get("model_type")  # the tag task 3 sets on each run
        logged_models = mlflow.search_logged_models(
            experiment_ids=[best_run.info.experiment_id],
            filter_string=f"source_run_id = '{best_run_id}'",
            output_format="list",
        )
        if logged_models:
            model_uri = logged_models[0].model_uri
        else:
            print(f"Run '{best_run.info.run_name}' has no logged model: finish TODO 3.2 "
                  "and run task 3 again.")

    # %% Step 2: register it
    version = None
    if model_uri is not None:
        # TODO 4.2: Register the model at model_uri under the name REGISTERED_MODEL;
        #   keep the new version (a ModelVersion) in `version`.
        #   Hint: https://mlflow.org/docs/latest/ml/model-registry/
        todo("4.2")

    # %% Step 3: promote it. Aliases replace the deprecated stages (Staging, Production).
    if version is not None:
        # TODO 4.3: Promote that version: the alias ALIAS ("staging") of
        #   REGISTERED_MODEL points at it.
        #   Hint: https://mlflow.org/docs/latest/ml/model-registry/
        todo("4.3")

    # %% Step 4: load whatever `staging` points to, as a deployment would, and check it
    staging_rmse = None
    if version is not None and ALIAS in client.get_registered_model(REGISTERED_MODEL).aliases:
        # TODO 4.4: Load the model STAGING_URI names, as a deployment would; put in
        #   staging_rmse the RMSE of its predictions for X_test against y_test, and log the
        #   param "model_uri" (STAGING_URI) and the metric "staging_rmse".
        #   Hint: https://mlflow.org/docs/latest/ml/model/
        todo("4.4")

# %% Summary
print()
if best_run_id is not None:
    print(f"Best task-3 run: '{best_run.info.run_name}', model_type {best_model_type}, run id {best_run_id}")
if version is not None:
    print(f"Registered '{REGISTERED_MODEL}' version {version.version}")
if staging_rmse is not None:
    print(f"Loaded {STAGING_URI}: test rmse {staging_rmse:.3f} ms")
labkit.finish("task4")
