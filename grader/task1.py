"""Task 1's checks: the baseline run, its experiment, its params and honest metrics."""

from __future__ import annotations

from dataclasses import dataclass, field

from grader import evidence as ev
from grader.registry import Fail, check
from labkit import names
from labkit.data import SPLIT_SEED, TEST_SIZE

TASK = "task1"
SAME_SCRIPT_GAP_MS = 30_000  # two runs this close together came from one script run
EXPECTED_PARAMS = {
    names.PARAM_MODEL_TYPE: names.LINEAR_REGRESSION,
    names.PARAM_RANDOM_STATE: SPLIT_SEED,
    names.PARAM_TEST_SIZE: TEST_SIZE,
}


@dataclass
class Task1:
    run: object | None  # the run graded: the newest finished one (task-1 experiment or Default)
    experiment: str | None
    stray: object | None = None  # a second run the same script made by logging outside `with`
    crashed: list = field(default_factory=list)


def facts(ctx) -> Task1:
    return ctx.memo(TASK, lambda: _facts(ctx))


def _facts(ctx) -> Task1:
    store = ctx.store
    runs = store.runs(names.EXPERIMENT_TASK1) + store.runs(names.DEFAULT_EXPERIMENT)
    done = ev.finished(runs)
    run = done[0] if done else None
    stray = None
    if run is not None and run.info.run_name != names.RUN_BASELINE:
        partner = _named_partner(run, done[1:])
        if partner is not None:
            run, stray = partner, run
    crashed = ev.unfinished_newer_than(runs, run)
    facts = Task1(run, store.experiment_name(run.info.experiment_id) if run else None, stray, crashed)
    if run is not None and crashed:
        ctx.notes["1.2"] = ev.crash_note(crashed[0], run, TASK)
    return facts


def _named_partner(run, older):
    """The named baseline run the same script made just before ``run``, if any."""
    for other in older:
        if other.info.experiment_id != run.info.experiment_id:
            continue
        gap = (run.info.start_time or 0) - (other.info.end_time or 0)
        if other.info.run_name == names.RUN_BASELINE and -1000 <= gap <= SAME_SCRIPT_GAP_MS:
            return other
        return None
    return None


def _graded_run(ctx):
    task1 = facts(ctx)
    if task1.run is None:
        raise ev.no_run(f"a run in experiment '{names.EXPERIMENT_TASK1}'", TASK, task1.crashed)
    return task1


def _stray_hint(task1: Task1, kind: str) -> str | None:
    if task1.stray is None or not getattr(task1.stray.data, kind):
        return None
    return (f"your {kind} landed in a separate {ev.label(task1.stray)}: move the "
            f"mlflow.log_{kind[:-1]} calls inside the `with mlflow.start_run(...)` block")


@check("1.1", f"the newest task-1 run is in experiment '{names.EXPERIMENT_TASK1}'",
       "call mlflow.set_experiment(names.EXPERIMENT_TASK1) before the run starts")
def experiment_is_set(ctx):
    task1 = _graded_run(ctx)
    if task1.experiment != names.EXPERIMENT_TASK1:
        raise Fail(
            f"expected the newest task-1 run in experiment '{names.EXPERIMENT_TASK1}', "
            f"found {ev.label(task1.run)} in '{task1.experiment}'",
            "your run landed in Default: call mlflow.set_experiment(names.EXPERIMENT_TASK1) "
            "before the run starts, then run task 1 again",
        )


@check("1.2", f"the task-1 run is finished and named '{names.RUN_BASELINE}'",
       "wrap the training in `with mlflow.start_run(run_name=names.RUN_BASELINE):`")
def run_is_named(ctx):
    task1 = _graded_run(ctx)
    name = task1.run.info.run_name
    if name != names.RUN_BASELINE:
        raise Fail(f"expected run name '{names.RUN_BASELINE}', found '{name}' "
                   "(a name MLflow generated)")


PARAMS_HINT = "inside the `with` block: mlflow.log_param(names.PARAM_MODEL_TYPE, value), one call per param"
METRICS_HINT = ("inside the `with` block: mlflow.log_metric(names.METRIC_RMSE, metrics[names.METRIC_RMSE]), "
                "and the same for mae and r2")


@check("1.3", "the task-1 run logs params model_type, random_state and test_size with their values",
       PARAMS_HINT)
def params_are_logged(ctx):
    from labkit.models import parse_param

    task1 = _graded_run(ctx)
    params = task1.run.data.params
    ev.require_keys("param", EXPECTED_PARAMS, params, ev.label(task1.run),
                    _stray_hint(task1, "params") or PARAMS_HINT)
    for key, expected in EXPECTED_PARAMS.items():
        if parse_param(params[key]) != expected:
            raise Fail(f"expected param {key} = {expected}, found {params[key]!r}",
                       f"log {key} with the value the script uses ({expected!r})")


@check("1.4", "the task-1 run logs rmse, mae and r2 equal to a re-fit on the test split",
       METRICS_HINT, depends=("1.3",))
def metrics_are_honest(ctx):
    from labkit.models import parse_param

    task1 = _graded_run(ctx)
    run, where = task1.run, ev.label(task1.run)
    metrics = run.data.metrics
    hint = _stray_hint(task1, "metrics") or METRICS_HINT
    ev.require_keys("metric", names.TEST_METRICS, metrics, where, hint)
    ev.require_finite(metrics, names.TEST_METRICS, where)
    params = {k: parse_param(v) for k, v in run.data.params.items()}
    split = ctx.split(params[names.PARAM_TEST_SIZE], params[names.PARAM_RANDOM_STATE])
    model = _model(params[names.PARAM_MODEL_TYPE]).fit(split.X_train, split.y_train)
    test, train = ev.scores(model, split)
    ev.compare_to_refit(metrics, test, train, where, "a re-fit from the run's params")


def _model(model_type: str):
    """The estimator to re-fit; LinearRegression's NumPy twin needs no scikit-learn import."""
    from grader.without_sklearn import LinearFit
    from labkit.models import make_model

    return LinearFit() if model_type == names.LINEAR_REGRESSION else make_model(model_type)
