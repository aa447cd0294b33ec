"""Task 3: compare three kinds of model and keep each one.

Train LinearRegression, RandomForest and GradientBoosting on the same split, one
run each, and log every fitted model so the best one can be registered in task 4.
"""

# %% Step 0: point MLflow at the lab's tracking store and load the data
from importlib.metadata import version

import mlflow
import mlflow.sklearn
import pandas as pd
from mlflow.data.sources import LocalArtifactDatasetSource
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.model_selection import train_test_split

import labkit
from labkit import todo

# The names the grader looks for: use these constants, the grader checks the strings.
EXPERIMENT_NAME = "task3-model-comparison"
MODEL_NAME = "model"  # the name each logged model gets inside its run

# The lab's data and its split, the same in every task.
DATA_FILE = labkit.LAB_ROOT / "data" / "devops_metrics.csv"
FEATURES = ["cpu_usage_pct", "memory_usage_pct", "disk_io_mbps", "network_latency_ms",
            "concurrent_users"]
TARGET = "response_time_ms"
TEST_SIZE = 0.2
RANDOM_STATE = 42

# The three models, each named after its kind (the run names the grader looks for).
MODELS = {
    "LinearRegression": LinearRegression(),
    "RandomForest": RandomForestRegressor(n_estimators=50, max_depth=4, random_state=RANDOM_STATE),
    "GradientBoosting": GradientBoostingRegressor(
        n_estimators=75, max_depth=3, learning_rate=0.2, random_state=RANDOM_STATE
    ),
}

# How the models are saved (TODO 3.2):
# - skops, MLflow's safe format for scikit-learn, refuses to save or load a type it was not
#   told to trust, such as the trees inside RandomForest and GradientBoosting. The types it
#   may trust here:
SKOPS_TRUSTED_TYPES = ["sklearn.tree._tree.Tree"]
# - the packages a deployment of the model installs. Given, logging a model takes a fraction
#   of a second; left out, MLflow works them out in a subprocess (about 5 s per model).
PIP_REQUIREMENTS = [f"{name}=={version(name)}" for name in ("mlflow", "scikit-learn", "skops")]

# One store for every task: mlflow.db at the repository root, or MLFLOW_TRACKING_URI.
mlflow.set_tracking_uri(labkit.start("Task 3: model comparison"))
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

# %% Step 1: one run per model
results, predictions, runs = {}, {}, {}
for model_name, model in MODELS.items():
    # BEGIN TODO 3.1: Start one run per model, named after the model (model_name), around
    #   the lines below: all they log belongs to that model's run.
    #   Hint: TODO 1.2 (code/task1_baseline.py)
    with mlflow.start_run(run_name=model_name) as run:
    # STUB
    # with todo("3.1") as run:
    # END TODO 3.1
        mlflow.set_tag("model_type", model_name)
        mlflow.log_params(model.get_params())  # every hyperparameter, as autolog would
        mlflow.log_input(train_dataset, context="training")
        mlflow.log_input(test_dataset, context="evaluation")
        model.fit(X_train, y_train)
        predictions[model_name] = model.predict(X_test)
        metrics = {
            "rmse": root_mean_squared_error(y_test, predictions[model_name]),
            "mae": mean_absolute_error(y_test, predictions[model_name]),
            "r2": r2_score(y_test, predictions[model_name]),
        }

        # %% Step 2: keep the fitted model, with an example input (it gives the signature)
        # BEGIN TODO 3.2: Log the fitted model as an MLflow model named MODEL_NAME, one that
        #   task 4 and a model server can load later, and keep what MLflow returns in
        #   model_info. Give it an input example (X_test.head(5)): MLflow infers the model's
        #   signature from it. Save it in the "skops" format, which loads without running
        #   pickled code, trusting SKOPS_TRUSTED_TYPES, with PIP_REQUIREMENTS as its
        #   requirements.
        #   Hint: https://mlflow.org/docs/latest/ml/model/
        model_info = mlflow.sklearn.log_model(
            model,
            name=MODEL_NAME,
            input_example=X_test.head(5),  # MLflow infers the signature from it
            serialization_format="skops",  # loading a skops file runs no pickled code
            skops_trusted_types=SKOPS_TRUSTED_TYPES,  # the tree type skops must accept
            pip_requirements=PIP_REQUIREMENTS,  # given, so MLflow need not infer them
        )
        # STUB
        # model_info = todo("3.2")
        # END TODO 3.2
        if model_info.model_id is not None:  # None until TODO 3.2 logs the model
            print(f"  {model_name}: logged {model_info.model_uri}")

        # %% Step 3: the three test metrics at once, attached to the model and the test split
        # BEGIN TODO 3.3: Log the dict `metrics` ("rmse", "mae" and "r2" of this model on the
        #   test split) in ONE call, attached to the model you logged (model_info) and to
        #   test_dataset: MLflow then lists them with the model and the data they measure.
        #   Hint: https://mlflow.org/docs/latest/ml/mlflow-3/deep-learning/
        mlflow.log_metrics(metrics, model_id=model_info.model_id, dataset=test_dataset)
        # END TODO 3.3

        figure = labkit.plots.pred_vs_actual(y_test, predictions[model_name], model_name)
        mlflow.log_figure(figure, "pred_vs_actual.png")
    results[model_name] = metrics
    runs[model_name] = mlflow.last_active_run()  # the run that just ended

# %% Step 4: the three models side by side, attached to the winner's run
winner = max(results, key=lambda name: results[name]["r2"])
figure = labkit.plots.comparison_chart(results, y_test, predictions)
if runs[winner] is not None:
    with mlflow.start_run(run_id=runs[winner].info.run_id):  # reopen a finished run
        mlflow.log_figure(figure, "model_comparison.png")

# %% Summary
print("\nLogged one run per model:")
for model_name in MODELS:
    labkit.report_run(runs[model_name], results[model_name])
print(f"Highest r2: {winner}. In the UI, sort the runs by r2 to see it on top.")
labkit.finish("task3")
