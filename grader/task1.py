"""Task 1's checks: the baseline run, its experiment, its params and honest metrics."""

from __future__ import annotations

from grader import evidence as ev
from grader.checks import check
from grader.errors import Fail
from grader.hints import nudge
from labkit.lab import (
    DEFAULT_EXPERIMENT, EXPERIMENT_TASK1, LINEAR_REGRESSION, PARAM_MODEL_TYPE, PARAM_RANDOM_STATE,
    PARAM_TEST_SIZE, RUN_BASELINE, SCRIPTS, SPLIT_SEED, TEST_METRICS, TEST_SIZE, parse_param,
)
from labkit.i18n import Domain

_, N_, _n = Domain("grader").functions()

TASK = "task1"
EXPECTED_PARAMS = {  # param -> (value, the script's constant that holds it)
    PARAM_MODEL_TYPE: (LINEAR_REGRESSION, "MODEL_TYPE"),
    PARAM_RANDOM_STATE: (SPLIT_SEED, "RANDOM_STATE"),
    PARAM_TEST_SIZE: (TEST_SIZE, "TEST_SIZE"),
}
EXPERIMENT_HINT = nudge("1.1")  # task 1 is a worked example: its hints give the calls
RUN_HINT = nudge("1.2")
PARAMS_HINT = nudge("1.3")
METRICS_HINT = nudge("1.4")
REFIT = N_("a LinearRegression re-fit on the lab's split")


def runs(ctx) -> ev.Found:
    """The baseline runs: named ones in the task-1 experiment first, else wherever they went."""
    return ctx.memo(TASK, lambda: ev.find_runs(ctx, EXPERIMENT_TASK1, RUN_BASELINE, elsewhere=True))


def _found(ctx) -> ev.Found:
    found = runs(ctx)
    if not found.runs:
        raise Fail(_("expected a run in experiment '{experiment}', found none", experiment=EXPERIMENT_TASK1),
                   _("run {script}, then grade again", script=SCRIPTS[TASK]))
    return found


def _note(found: ev.Found, run) -> str | None:
    return ev.crash_note([run], found.runs)


@check("1.1", N_("a task-1 run is in experiment '{experiment}'", experiment=EXPERIMENT_TASK1), EXPERIMENT_HINT,
       evidence=lambda ctx: runs(ctx).runs and _("runs in '{experiment}'", experiment=runs(ctx).experiment),
       quotes=(EXPERIMENT_TASK1,), names=("EXPERIMENT_NAME",))
def experiment_is_set(ctx):
    found = _found(ctx)
    run = ev.ordered(found.runs)[0]
    if found.experiment == EXPERIMENT_TASK1:
        return _note(found, run)
    if found.experiment == DEFAULT_EXPERIMENT:
        raise Fail(_("expected a task-1 run in experiment '{experiment}', found {run} in '{found}'",
                     experiment=EXPERIMENT_TASK1, run=ev.label(run), found=found.experiment),
                   _("your run landed in Default: {hint}, then run task 1 again", hint=EXPERIMENT_HINT))
    raise Fail(_("expected a task-1 run in experiment '{experiment}', found {run} in '{found}', "
                 "a name close to it", experiment=EXPERIMENT_TASK1, run=ev.label(run), found=found.experiment),
               _("the experiment's name is off: EXPERIMENT_NAME is \"{experiment}\"; "
                 "use mlflow.set_experiment(EXPERIMENT_NAME)", experiment=EXPERIMENT_TASK1))


@check("1.2", N_("the task-1 run is named '{name}'", name=RUN_BASELINE), RUN_HINT,
       evidence=lambda ctx: runs(ctx).named and _("run '{name}'", name=RUN_BASELINE),
       quotes=(RUN_BASELINE,), names=("RUN_NAME",))
def run_is_named(ctx):
    found = _found(ctx)
    run = ev.ordered(found.runs)[0]
    if found.named:
        return _note(found, run)
    raise Fail(_("expected a run named '{name}' in '{experiment}', found '{found}'",
                 name=RUN_BASELINE, experiment=found.experiment, found=run.info.run_name))


def _params_ok(run, hint) -> None:
    params = run.data.params
    ev.require_keys("param", EXPECTED_PARAMS, params, ev.label(run), hint)
    for key, (expected, constant) in EXPECTED_PARAMS.items():
        if parse_param(params[key]) != expected:
            raise Fail(_("expected param {key} = {expected!r} in {run}, found {found!r}",
                         key=key, expected=expected, run=ev.label(run), found=params[key]),
                       _('log the constant itself: mlflow.log_param("{key}", {constant})',
                         key=key, constant=constant))


def _has_params(ctx) -> str | None:
    held = [r for r in runs(ctx).runs if set(EXPECTED_PARAMS) <= set(r.data.params)]
    return held and _("params in {run}", run=ev.label(held[0]))


@check("1.3", N_("the task-1 run logs params model_type, random_state and test_size with their values"),
       PARAMS_HINT, depends=("1.2",), evidence=_has_params,
       quotes=(PARAM_MODEL_TYPE, PARAM_RANDOM_STATE, PARAM_TEST_SIZE), names=("MODEL_TYPE", "RANDOM_STATE", "TEST_SIZE"))
def params_are_logged(ctx):
    found = _found(ctx)
    hint = ev.stray_hint(found.runs, found.others, "params", EXPECTED_PARAMS) or PARAMS_HINT
    run = ev.first_passing(found.runs, lambda r: _params_ok(r, hint))
    return _note(found, run)


PARAMS_PART = ev.Part("1.3", lambda: _("TODO 1.3's params"),
                      lambda run: any(k in run.data.params for k in EXPECTED_PARAMS))


def _has_metrics(ctx) -> str | None:
    held = [r for r in runs(ctx).runs if set(TEST_METRICS) <= set(r.data.metrics)]
    return held and _("metrics in {run}", run=ev.label(held[0]))


@check("1.4", N_("the task-1 run logs rmse, mae and r2 equal to a re-fit on the test split"),
       METRICS_HINT, depends=("1.2", "1.3"), evidence=_has_metrics,
       quotes=TEST_METRICS, names=("rmse", "mae", "r2"))
def metrics_are_honest(ctx):
    found = _found(ctx)
    hint = ev.stray_hint(found.runs, found.others, "metrics", TEST_METRICS) or METRICS_HINT

    def honest(run) -> None:
        where = ev.label(run)
        ev.require_keys("metric", TEST_METRICS, run.data.metrics, where, hint)
        ev.require_finite(run.data.metrics, TEST_METRICS, where)
        model = ctx.refit(LINEAR_REGRESSION, {}, where)
        ev.compare_metrics(run.data.metrics, TEST_METRICS, ctx.scores(model),
                           lambda: ctx.scores(model, "train"), where, REFIT,
                           _("log the variables rmse, mae and r2 your code computed on X_test: {hint}",
                             hint=METRICS_HINT))

    run = ev.one_run(found.runs, honest, [PARAMS_PART], _("metrics rmse, mae and r2"))
    return _note(found, run)
