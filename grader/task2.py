"""Task 2's checks: every sweep run's params, metrics (each one re-fitted) and tags."""

from __future__ import annotations

from typing import Callable

from grader import evidence as ev
from grader.checks import check
from grader.errors import Fail
from grader.hints import nudge
from labkit.lab import (
    EXPERIMENT_TASK2, METRIC_TRAIN_TIME, MODEL_SEED, PARAM_MAX_DEPTH, PARAM_MIN_SAMPLES_LEAF,
    PARAM_N_ESTIMATORS, PARAM_RANDOM_STATE, RANDOM_FOREST, SCRIPTS, SWEEP_CONFIGS, SWEEP_TAGS,
    TEST_METRICS, parse_param, sweep_run_name,
)
from labkit.i18n import Domain

_, N_, _n = Domain("grader").functions()

TASK = "task2"
OTHER_PARAMS = (PARAM_MAX_DEPTH, PARAM_MIN_SAMPLES_LEAF, PARAM_RANDOM_STATE)
SWEEP_METRICS = (*TEST_METRICS, METRIC_TRAIN_TIME)
N_ESTIMATORS_HINT = nudge("2.1")
OTHER_PARAMS_HINT = nudge("2.2")
METRICS_HINT = nudge("2.3")
TAGS_HINT = nudge("2.4")


def sweep(ctx) -> dict[str, tuple[dict, ev.Found]]:
    """Per expected run name: its configuration and the runs of that name."""
    def find():
        return {sweep_run_name(c): ({**c, PARAM_RANDOM_STATE: MODEL_SEED},
                                    ev.find_runs(ctx, EXPERIMENT_TASK2, sweep_run_name(c), lambda r: False))
                for c in SWEEP_CONFIGS}

    return ctx.memo(TASK, find)


def _each_run(ctx, test, parts=(), own: str = "") -> str | None:
    """``test(run, config)`` holds for a run of every expected name, the one run of that name
    that also holds the ``parts`` earlier TODOs put there (``ev.one_run``); else Fail, naming crashes."""
    by_name = sweep(ctx)
    every = [r for _config, found in by_name.values() for r in found.runs]
    missing = [name for name, (_, found) in by_name.items() if not found.runs]
    if missing:
        crashed = [r for r in ev.ordered(every) if r.info.status != ev.FINISHED]
        found = ev.names(ev.ordered(every)) or _("none of them")
        rationale = _("expected runs {names} in '{experiment}', found {found}",
                      names=", ".join(missing), experiment=EXPERIMENT_TASK2, found=found)
        if crashed:
            raise Fail(f"{rationale}: {ev.crash(crashed[0])}", ev.crash_hint(crashed[0], TASK))
        raise Fail(rationale, _("run the whole sweep: {script}, one run per entry of SWEEP_CONFIGS",
                                script=SCRIPTS[TASK]))
    graded = [ev.one_run(found.runs, lambda r, c=config: test(r, c), list(parts), own)
              for config, found in by_name.values()]
    return ev.crash_note(graded, every)


def _values(run, config: dict, keys, hint) -> None:
    ev.require_keys("param", keys, run.data.params, ev.label(run), hint)
    for key in keys:
        if parse_param(run.data.params[key]) != config[key]:
            raise Fail(_("expected param {key} = {expected} in {run}, found {found!r}", key=key,
                         expected=config[key], run=ev.label(run), found=run.data.params[key]),
                       _("log the value of this configuration (the loop's variables), not a fixed number"))


def _part(todo: str, what: Callable[[], str], kind: str, keys) -> ev.Part:
    return ev.Part(todo, what, lambda run: any(k in getattr(run.data, kind) for k in keys))


N_ESTIMATORS_PART = _part("2.1", lambda: _("TODO 2.1's n_estimators"), "params", [PARAM_N_ESTIMATORS])
OTHER_PARAMS_PART = _part("2.2", lambda: _("TODO 2.2's params"), "params", OTHER_PARAMS)
METRICS_PART = _part("2.3", lambda: _("TODO 2.3's metrics"), "metrics", SWEEP_METRICS)


def _runs_holding(ctx, kind: str, keys) -> str | None:
    held = [r for _config, found in sweep(ctx).values() for r in found.runs
            if set(keys) <= set(getattr(r.data, kind))]
    if not held:
        return None
    if kind == "params":
        return _n("params in {count} sweep run", "params in {count} sweep runs", len(held), count=len(held))
    if kind == "metrics":
        return _n("metrics in {count} sweep run", "metrics in {count} sweep runs", len(held), count=len(held))
    return _n("tags in {count} sweep run", "tags in {count} sweep runs", len(held), count=len(held))


@check("2.1", N_("every sweep run logs n_estimators"), N_ESTIMATORS_HINT,
       evidence=lambda ctx: _runs_holding(ctx, "params", [PARAM_N_ESTIMATORS]),
       quotes=(PARAM_N_ESTIMATORS,), names=("n_estimators",))
def n_estimators_logged(ctx):
    return _each_run(ctx, lambda run, config: _values(run, config, [PARAM_N_ESTIMATORS], N_ESTIMATORS_HINT))


@check("2.2", N_("every sweep run logs max_depth, min_samples_leaf and random_state"), OTHER_PARAMS_HINT,
       depends=("2.1",), evidence=lambda ctx: _runs_holding(ctx, "params", OTHER_PARAMS),
       quotes=OTHER_PARAMS, names=("other_params",))
def other_params_logged(ctx):
    return _each_run(ctx, lambda run, config: _values(run, config, OTHER_PARAMS, OTHER_PARAMS_HINT),
                     [N_ESTIMATORS_PART], _("params max_depth, min_samples_leaf and random_state"))


@check("2.3", N_("every sweep run logs rmse, mae, r2 and train_time_s; a re-fit of each reproduces them"),
       METRICS_HINT, depends=("2.1", "2.2"), evidence=lambda ctx: _runs_holding(ctx, "metrics", SWEEP_METRICS),
       quotes=SWEEP_METRICS, names=("train_time",))
def metrics_logged(ctx):
    def honest(run, config) -> None:
        where, metrics = ev.label(run), run.data.metrics
        ev.require_keys("metric", SWEEP_METRICS, metrics, where, METRICS_HINT)
        ev.require_finite(metrics, SWEEP_METRICS, where)
        if metrics[METRIC_TRAIN_TIME] <= 0:
            raise Fail(_("expected a positive {metric} in {run}, found {found}", metric=METRIC_TRAIN_TIME,
                         run=where, found=metrics[METRIC_TRAIN_TIME]),
                       _("log the seconds the fit took: time.perf_counter() after minus before"))
        params = {k: config[k] for k in (PARAM_N_ESTIMATORS, *OTHER_PARAMS)}
        model = ctx.refit(RANDOM_FOREST, params, where)
        ev.compare_metrics(metrics, TEST_METRICS, ctx.scores(model), lambda: ctx.scores(model, "train"), where,
                           _("a re-fit of {run} from its params", run=ev.label(run)),
                           _("log the variables rmse, mae and r2 your code computed on the test split "
                             "for this configuration, after its fit"))

    return _each_run(ctx, honest, [N_ESTIMATORS_PART, OTHER_PARAMS_PART],
                     _("metrics rmse, mae, r2 and train_time_s"))


@check("2.4", N_("every sweep run carries the tags task and model_family"), TAGS_HINT,
       depends=("2.1", "2.2", "2.3"), evidence=lambda ctx: _runs_holding(ctx, "tags", SWEEP_TAGS),
       quotes=(), names=("SWEEP_TAGS",))
def tags_set(ctx):
    def tagged(run, config) -> None:
        tags = run.data.tags
        for key, value in SWEEP_TAGS.items():
            if tags.get(key) != value:
                found = repr(tags[key]) if key in tags else _("no such tag")
                raise Fail(_("expected tag {key} = {expected!r} in {run}, found {found}",
                             key=key, expected=value, run=ev.label(run), found=found))

    return _each_run(ctx, tagged, [N_ESTIMATORS_PART, OTHER_PARAMS_PART, METRICS_PART],
                     _("tags task and model_family"))
