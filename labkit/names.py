"""Every name the lab promises: the task scripts log these and the grader looks for them.

The TODO comments tell students which constant to use; never retype the strings.
"""

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
REGISTERED_MODEL = "api-response-time"
ALIAS = "staging"
STAGING_URI = f"models:/{REGISTERED_MODEL}@{ALIAS}"

# Figures logged as artifacts.
FIGURE_PRED_VS_ACTUAL = "pred_vs_actual.png"
FIGURE_SWEEP = "sweep_rmse_vs_hyperparameters.png"
FIGURE_COMPARISON = "model_comparison.png"

# Set by the task scripts on a run that crashed: the exception, for the grader's hint.
TAG_ERROR = "lab.error"

# Set by task 4 on its run: the task-3 run the student picked as best (TODO 4.1), so the
# grader can check 4.1 even when nothing got registered.
TAG_BEST_RUN = "lab.best_run_id"
