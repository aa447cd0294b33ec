"""The lab's facts: its scripts, the names the grader looks for in the store, the data, the
split and the models, and how to rebuild them.

The task scripts hold these names as plain constants at their top (``EXPERIMENT_NAME =
"task1-baseline"``); ``test/test_contract.py`` holds the scripts' constants equal to this
module, so this is the one source of truth. Every package of the lab takes its facts from
here (the student's commands, the grader, the classroom, the tools, the tests); this
module imports nothing of the lab. Everything here is plain scikit-learn and pandas: the
grader re-fits with the same libraries the students use.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any


# Experiments, one per task.
EXPERIMENT_TASK1 = "task1-baseline"
EXPERIMENT_TASK2 = "task2-rf-sweep"
EXPERIMENT_TASK3 = "task3-model-comparison"
EXPERIMENT_TASK4 = "task4-model-registry"
EXPERIMENTS = {
    "task1": EXPERIMENT_TASK1,
    "task2": EXPERIMENT_TASK2,
    "task3": EXPERIMENT_TASK3,
    "task4": EXPERIMENT_TASK4,
}
DEFAULT_EXPERIMENT = "Default"

# The one task -> script map: the file name of each task's script, in solutions/ (its
# source) and in code/ (what students run), in the order the tasks are done.
SCRIPT_FILES = {
    "task1": "task1_baseline.py",
    "task2": "task2_sweep.py",
    "task3": "task3_compare.py",
    "task4": "task4_registry.py",
}
# The scripts students run, per task, as a hint names them: "code/task1_baseline.py".
SCRIPTS = {task: f"code/{name}" for task, name in SCRIPT_FILES.items()}

# Run names.
RUN_BASELINE = "baseline-linear-regression"
RUN_REGISTRY = "registry-staging-check"

# Model types (task 3 names its runs after them).
LINEAR_REGRESSION = "LinearRegression"
RANDOM_FOREST = "RandomForest"
GRADIENT_BOOSTING = "GradientBoosting"
MODEL_TYPES = (LINEAR_REGRESSION, RANDOM_FOREST, GRADIENT_BOOSTING)

# Params.
PARAM_MODEL_TYPE = "model_type"
PARAM_RANDOM_STATE = "random_state"
PARAM_TEST_SIZE = "test_size"
PARAM_N_ESTIMATORS = "n_estimators"
PARAM_MAX_DEPTH = "max_depth"
PARAM_MIN_SAMPLES_LEAF = "min_samples_leaf"
PARAM_MODEL_URI = "model_uri"

# Metrics.
METRIC_RMSE = "rmse"
METRIC_MAE = "mae"
METRIC_R2 = "r2"
METRIC_TRAIN_TIME = "train_time_s"
METRIC_STAGING_RMSE = "staging_rmse"
TEST_METRICS = (METRIC_RMSE, METRIC_MAE, METRIC_R2)

# Tags every task-2 sweep run carries (TODO 2.4).
SWEEP_TAGS = {"task": "hyperparameter-sweep", "model_family": RANDOM_FOREST}

# Logged model and registry.
MODEL_NAME = "model"  # the name= given to mlflow.sklearn.log_model
# The only types the grader lets skops rebuild beyond its defaults, whatever a model's own
# MLmodel file says it trusts: the trees of RandomForest and GradientBoosting.
SKOPS_TRUSTED_TYPES = ["sklearn.tree._tree.Tree"]
REGISTERED_MODEL = "api-response-time"
ALIAS = "staging"
STAGING_URI = f"models:/{REGISTERED_MODEL}@{ALIAS}"

# Figures logged as artifacts.
FIGURE_PRED_VS_ACTUAL = "pred_vs_actual.png"
FIGURE_SWEEP = "sweep_rmse_vs_hyperparameters.png"
FIGURE_COMPARISON = "model_comparison.png"

# Set by labkit.start()'s crash note on a run that crashed: the exception, for the hint.
TAG_ERROR = "lab.error"
# Set by task 4 on its run: the task-3 run the student picked as best (TODO 4.1), so 4.1
# can be graded even when nothing got registered.
TAG_BEST_RUN = "lab.best_run_id"

# The data and the split.
DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "devops_metrics.csv"
FEATURES = [
    "cpu_usage_pct",
    "memory_usage_pct",
    "disk_io_mbps",
    "network_latency_ms",
    "concurrent_users",
]
TARGET = "response_time_ms"
TEST_SIZE = 0.2
SPLIT_SEED = 42
MODEL_SEED = 42
NOISE_SD_MS = 14.0  # the generator's noise: no model can beat this RMSE on average

# Task 3's models: with these, test R² ranks LinearRegression < RandomForest <
# GradientBoosting for every split seed 0-9 (test/test_data.py).
DEFAULT_HYPERPARAMS: dict[str, dict[str, Any]] = {
    LINEAR_REGRESSION: {},
    RANDOM_FOREST: {"n_estimators": 50, "max_depth": 4, "random_state": MODEL_SEED},
    GRADIENT_BOOSTING: {
        "n_estimators": 75,
        "max_depth": 3,
        "learning_rate": 0.2,
        "random_state": MODEL_SEED,
    },
}

# Task 2's sweep over RandomForest configurations.
SWEEP_CONFIGS: list[dict[str, Any]] = [
    {"n_estimators": 20, "max_depth": 3, "min_samples_leaf": 1},
    {"n_estimators": 50, "max_depth": 6, "min_samples_leaf": 1},
    {"n_estimators": 80, "max_depth": 10, "min_samples_leaf": 2},
    {"n_estimators": 100, "max_depth": None, "min_samples_leaf": 5},
]


def sweep_run_name(config: dict[str, Any]) -> str:
    """The run name of one sweep configuration, e.g. ``rf-n50-d6-l1``."""
    depth = config["max_depth"] if config["max_depth"] is not None else "none"
    return f"rf-n{config['n_estimators']}-d{depth}-l{config['min_samples_leaf']}"


# model type -> (module, class) of its scikit-learn estimator. scikit-learn and pandas are
# imported by the functions that need them, so that reading a fact (a name, a path) costs no
# scikit-learn: the class commands (`python -m classroom status`) take their names from here.
ESTIMATORS = {
    LINEAR_REGRESSION: ("sklearn.linear_model", "LinearRegression"),
    RANDOM_FOREST: ("sklearn.ensemble", "RandomForestRegressor"),
    GRADIENT_BOOSTING: ("sklearn.ensemble", "GradientBoostingRegressor"),
}


def estimator_class(model_type: str):
    """The scikit-learn class of a lab model type."""
    try:
        module, name = ESTIMATORS[model_type]
    except KeyError:
        known = ", ".join(ESTIMATORS)
        raise ValueError(f"unknown model_type {model_type!r}; expected one of {known}") from None
    return getattr(importlib.import_module(module), name)


def make_model(model_type: str, **hyperparams: Any):
    """A fresh, unfitted estimator of the given lab model type."""
    return estimator_class(model_type)(**hyperparams)


def logged_hyperparams(model_type: str, params: dict[str, str]) -> dict[str, Any]:
    """The hyperparameters a run logged (``model.get_params()``) that its estimator knows,
    parsed back from strings; the lab's defaults when the run logged none of them."""
    known = estimator_class(model_type)().get_params()
    logged = {k: parse_param(v) for k, v in params.items() if k in known}
    return logged or dict(DEFAULT_HYPERPARAMS[model_type])


def parse_param(value: str) -> Any:
    """Turn a logged param (always a string) back into a Python value."""
    if value == "None":
        return None
    if value in ("True", "False"):
        return value == "True"
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


@dataclass(frozen=True)
class Split:
    X_train: Any
    X_test: Any
    y_train: Any
    y_test: Any


def load_data():
    import pandas as pd

    return pd.read_csv(DATA_FILE)


def split_data(test_size: float = TEST_SIZE, random_state: int = SPLIT_SEED) -> Split:
    """The lab's train/test split, made as the task scripts make it."""
    from sklearn.model_selection import train_test_split

    data = load_data()
    X = data[FEATURES].astype("float64")
    y = data[TARGET]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=float(test_size), random_state=int(random_state)
    )
    return Split(X_train, X_test, y_train, y_test)


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    """rmse, mae and r2 of predictions, computed with sklearn.metrics as the scripts do."""
    from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

    return {
        METRIC_RMSE: float(root_mean_squared_error(y_true, y_pred)),
        METRIC_MAE: float(mean_absolute_error(y_true, y_pred)),
        METRIC_R2: float(r2_score(y_true, y_pred)),
    }
