"""Help on request, in levels, one entry per TODO (``python grader/check.py task3 --hint``).

Level 0 is the nudge of the default feedback, under the rationale: the idea and where to read
about it, never the call. Each ``--hint`` raises every TODO that does not pass by one level, up
to the last (grader/hint_levels.py records how far each went), and the report shows every level
reached:

1. the function(s) to use and their key arguments, and how to read their documentation offline;
2. the call's shape with placeholders (``<...>``), never the solution line with the lab's values.

Task 1 is a worked example: its calls are shown from level 0, and its last level is the line itself.
test/test_grader_hints.py holds that no level of tasks 2-4 shows a line of a solution.
"""

from __future__ import annotations

from labkit.i18n import Domain, Lazy

_, N_, _n = Domain("grader").functions()

LAST_LEVEL = 2

# Where to read: MLflow's documentation (the same pages in every language), and offline.
TRACKING = "https://mlflow.org/docs/latest/ml/tracking/"
LOGGING = "https://mlflow.org/docs/latest/ml/tracking/tracking-api/"
MODELS = "https://mlflow.org/docs/latest/ml/model/"
MLFLOW3 = "https://mlflow.org/docs/latest/ml/mlflow-3/"
SEARCH = "https://mlflow.org/docs/latest/ml/search/search-runs/"
REGISTRY = "https://mlflow.org/docs/latest/ml/model-registry/"


def offline(function: str) -> str:
    """The command that prints a function's documentation without a browser."""
    module = function.split(".")[0]
    return f'python -c "import {module}; help({function})"'


HINTS: dict[str, tuple[Lazy, Lazy, Lazy]] = {
    # Task 1: a worked example; the calls are given from the start.
    "1.1": (
        N_("call mlflow.set_experiment(EXPERIMENT_NAME) before the run starts"),
        N_("an experiment groups the runs of one question: mlflow.set_experiment(name) makes it the "
           "active one (creating it the first time) and every run started after it lands there; "
           "without it runs land in Default. Read {docs}, or offline: {help}",
           docs=TRACKING, help=offline("mlflow.set_experiment")),
        N_("at Step 1, before the run starts, the line: mlflow.set_experiment(EXPERIMENT_NAME)"),
    ),
    "1.2": (
        N_("wrap the training in `with mlflow.start_run(run_name=RUN_NAME):`"),
        N_("a run records one execution: used in a `with` block, mlflow.start_run starts it and ends it "
           "when the block ends (FINISHED, or FAILED on an error); run_name is the name the UI shows. "
           "Read {docs}, or offline: {help}", docs=TRACKING, help=offline("mlflow.start_run")),
        N_("in place of the stub: `with mlflow.start_run(run_name=RUN_NAME):`, with the lines of the "
           "next steps indented under it"),
    ),
    "1.3": (
        N_('inside the `with` block: mlflow.log_param("model_type", MODEL_TYPE), and the same '
           'for "random_state" (RANDOM_STATE) and "test_size" (TEST_SIZE)'),
        N_("a param is one input of the run, a name and a value: mlflow.log_param(key, value) logs one "
           "in the active run, so call it inside the `with` block, once per param. Read {docs}, "
           "or offline: {help}", docs=LOGGING, help=offline("mlflow.log_param")),
        N_('three lines inside the `with` block: mlflow.log_param("model_type", MODEL_TYPE), '
           'mlflow.log_param("random_state", RANDOM_STATE) and mlflow.log_param("test_size", TEST_SIZE)'),
    ),
    "1.4": (
        N_('inside the `with` block: mlflow.log_metric("rmse", rmse), and the same for "mae" and "r2"'),
        N_("a metric is one result of the run, a name and a number: mlflow.log_metric(key, value) logs "
           "one in the active run; the values are the variables rmse, mae and r2 computed on the test "
           "split. Read {docs}, or offline: {help}", docs=LOGGING, help=offline("mlflow.log_metric")),
        N_('three lines inside the `with` block, after the metrics are computed: '
           'mlflow.log_metric("rmse", rmse), mlflow.log_metric("mae", mae) and mlflow.log_metric("r2", r2)'),
    ),
    # Task 2: the idea, then the function, then the call's shape.
    "2.1": (
        N_('a param is one input of the run (here a hyperparameter), logged inside the run under its '
           'name, "n_estimators", with the value this configuration uses. Read "Logging functions" in {docs}',
           docs=LOGGING),
        N_("mlflow.log_param(key, value): key is the param's name, value the loop's variable; it logs to "
           "the active run. Offline: {help}", help=offline("mlflow.log_param")),
        N_('mlflow.log_param("<name>", <variable>), inside the `with mlflow.start_run(...)` block'),
    ),
    "2.2": (
        N_("MLflow logs several params in one call from a dict of names and values; the dict "
           "other_params holds the rest of this configuration. Read \"Logging functions\" in {docs}",
           docs=LOGGING),
        N_("mlflow.log_params(params): params is a dict of param names to values, all logged to the active "
           "run in one request. Offline: {help}", help=offline("mlflow.log_params")),
        N_("mlflow.log_params({<name>: <value>, ...}) inside the run: any dict of names and values, "
           "such as one the loop already has"),
    ),
    "2.3": (
        N_("metrics are the run's results, numbers logged by name, several at once from a dict: the "
           "test-split scores your code computed for this configuration and the seconds the fit took, "
           "under the names the TODO gives. Read \"Logging functions\" in {docs}", docs=LOGGING),
        N_("mlflow.log_metrics, whose first argument is a dict of metric names to numbers: it logs them "
           "all to the active run in one request. Offline: {help}", help=offline("mlflow.log_metrics")),
        N_('mlflow.log_metrics({"<name>": <variable>, "<name>": <variable>, ...}), one entry per metric '
           'the TODO names, inside the run'),
    ),
    "2.4": (
        N_("tags are labels on a run (names and text values) to filter and group runs in the UI and in "
           "searches; SWEEP_TAGS holds every tag a sweep run needs. Read \"Logging functions\" in {docs}",
           docs=LOGGING),
        N_("mlflow.set_tags(tags): tags is a dict of tag names to values, set on the active run in one "
           "call. Offline: {help}", help=offline("mlflow.set_tags")),
        N_("mlflow.set_tags({<tag>: <value>, ...}) inside the run: any dict of tags, such as one the "
           "script defines at its top"),
    ),
    # Task 3: the MLflow idea, then the functions, then the calls' shape.
    "3.1": (
        N_("each pass of the loop is one trial: record it as a run of its own, started inside the loop "
           "and named after its model (model_name), so the UI lists one run per model. Read \"Runs\" in "
           "{docs}", docs=TRACKING),
        N_("mlflow.start_run(run_name=...) used as a `with` block: the run ends FINISHED when the block "
           "does, and `as <name>` keeps the Run it returns. Offline: {help}", help=offline("mlflow.start_run")),
        N_("`with mlflow.start_run(run_name=<the run's name>) as <variable>:` with the lines of this "
           "iteration indented under it"),
    ),
    "3.2": (
        N_("a logged model is MLflow's copy of the fitted model, which you can load and serve later: give "
           "it a name (MODEL_NAME), an input example (a few test rows) from which MLflow infers its "
           "signature, and save it in skops format, which runs no pickled code when it is loaded (the "
           "trees need SKOPS_TRUSTED_TYPES; PIP_REQUIREMENTS spares MLflow working out the packages). "
           "Read {docs}", docs=MODELS),
        N_("mlflow.sklearn.log_model(sk_model, name=..., input_example=..., serialization_format=..., "
           "skops_trusted_types=..., pip_requirements=...) logs it and returns a ModelInfo: keep it in "
           "model_info (its model_id links metrics to the model). Offline: {help}",
           help=offline("mlflow.sklearn.log_model")),
        N_("mlflow.sklearn.log_model(<the fitted model>, name=<its name>, input_example=<a few rows of "
           "the test features>, serialization_format=<the safe format>, skops_trusted_types=<the types "
           "to trust>, pip_requirements=<the packages>) inside the run; what it returns goes in model_info"),
    ),
    "3.3": (
        N_("in MLflow 3 a metric can belong to a logged model and to the dataset it was computed on, not "
           "only to the run: that is what lists each model with its rmse, mae and r2 and its dataset in "
           "the UI's Models tab. Log the dict metrics once, after the model, linked to the model just "
           "logged and to test_dataset. Read {docs}", docs=MLFLOW3),
        N_("mlflow.log_metrics(metrics, model_id=..., dataset=...): model_id is the logged model's id "
           "(the ModelInfo's model_id), dataset the MLflow dataset the metrics were computed on. "
           "Offline: {help}", help=offline("mlflow.log_metrics")),
        N_("mlflow.log_metrics(<the dict of metrics>, model_id=<the logged model's id>, "
           "dataset=<the evaluation dataset>) inside the run, after the model is logged"),
    ),
    # Task 4: the outcome, then the functions, then the calls' shape.
    "4.1": (
        N_("MLflow searches the runs of an experiment: keep only the finished ones (a crashed run can "
           "hold metrics too) and sort them by r2, highest first; the first row is the best run, whose "
           "id goes in best_run_id. Read {docs}", docs=SEARCH),
        N_("mlflow.search_runs(experiment_names=[...], filter_string=..., order_by=[...]) returns a pandas "
           "DataFrame, one row per run, with a run_id column; filter on attributes.status and order by "
           "metrics.<name> DESC. Offline: {help}", help=offline("mlflow.search_runs")),
        N_("<runs> = mlflow.search_runs(experiment_names=[<experiment>], filter_string=\"attributes.status "
           "= '<status>'\", order_by=[\"metrics.<metric> DESC\"]), then best_run_id = the run_id of its "
           "first row (<runs>.iloc[0]), None when it is empty"),
    ),
    "4.2": (
        N_("the Model Registry keeps named, numbered versions of models: registering the best run's "
           "logged model (model_uri) under the name REGISTERED_MODEL makes a new version of it; keep the "
           "ModelVersion you get back in `version`. Read {docs}", docs=REGISTRY),
        N_("mlflow.register_model(model_uri, name) registers the model at that URI under that name and "
           "returns a ModelVersion (its .version is the number). Offline: {help}",
           help=offline("mlflow.register_model")),
        N_("<version> = mlflow.register_model(<the model's URI>, <the registered model's name>)"),
    ),
    "4.3": (
        N_("an alias is a movable name for one version of a registered model (a deployment loads "
           "models:/<name>@<alias>): aliases replace the deprecated stages. Point ALIAS at the version "
           "you registered. Read \"Aliases\" in {docs}", docs=REGISTRY),
        N_("MlflowClient.set_registered_model_alias(name, alias, version): the script's `client` has it; "
           "version is the version's number (the ModelVersion's .version). Offline: {help}",
           help=offline("mlflow.MlflowClient.set_registered_model_alias")),
        N_("client.set_registered_model_alias(<registered model's name>, <alias>, <version number>)"),
    ),
    "4.4": (
        N_("load the model the way a deployment would, by its alias URI (STAGING_URI), predict the test "
           "features, and log what you loaded and how it scored: the param \"model_uri\" and the metric "
           "\"staging_rmse\" against the test targets. Read \"Loading models\" in {docs}", docs=MODELS),
        N_("mlflow.pyfunc.load_model(model_uri) returns a model with .predict(X); root_mean_squared_error"
           "(y_true, y_pred) comes from scikit-learn; mlflow.log_param(key, value) and "
           "mlflow.log_metric(key, value) log them. Offline: {help}", help=offline("mlflow.pyfunc.load_model")),
        N_("<model> = mlflow.pyfunc.load_model(<the alias URI>); <rmse> = root_mean_squared_error(<true "
           "values>, <model>.predict(<features>)); mlflow.log_param(\"<name>\", <the alias URI>); "
           "mlflow.log_metric(\"<name>\", <rmse>)"),
    ),
}


def nudge(todo_id: str) -> Lazy:
    """Level 0: the idea and where to read (the default feedback's hint)."""
    return HINTS[todo_id][0]


def level_text(todo_id: str, level: int) -> str:
    """The text of one level of a TODO's help, in the language chosen now."""
    return str(HINTS[todo_id][level])


def shown_levels(todo_id: str, reached: int) -> list[tuple[int, str]]:
    """The levels past 0 a student has asked for, each with its text: ``[(1, ...), (2, ...)]``."""
    return [(level, level_text(todo_id, level)) for level in range(1, min(reached, LAST_LEVEL) + 1)]
