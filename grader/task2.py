"""Task 2's checks: the sweep runs' params, metrics (one re-fitted) and tags."""

from __future__ import annotations

from dataclasses import dataclass, field

from grader import evidence as ev
from grader.registry import Fail, check
from labkit import names

TASK = "task2"
CONFIG_PARAMS = (names.PARAM_MAX_DEPTH, names.PARAM_MIN_SAMPLES_LEAF, names.PARAM_RANDOM_STATE)
SWEEP_METRICS = (*names.TEST_METRICS, names.METRIC_TRAIN_TIME)


@dataclass
class SweepRun:
    run: object
    config: dict | None  # the expected config when the run carries its expected name


@dataclass
class Task2:
    runs: list[SweepRun]
    generated_names: list[str] = field(default_factory=list)
    crashed: list = field(default_factory=list)


def facts(ctx) -> Task2:
    return ctx.memo(TASK, lambda: _facts(ctx))


def _facts(ctx) -> Task2:
    """Per expected run name the newest finished run; unnamed runs stand in for missing names."""
    from labkit.models import SWEEP_CONFIGS, sweep_run_name

    runs = ctx.store.runs(names.EXPERIMENT_TASK2)
    done = ev.finished(runs)
    expected = {sweep_run_name(c): c for c in SWEEP_CONFIGS}
    sweep = []
    for name, config in expected.items():
        match = next((r for r in done if r.info.run_name == name), None)
        if match is not None:
            sweep.append(SweepRun(match, config))
    missing = len(expected) - len(sweep)
    others = [r for r in done if r.info.run_name not in expected][:missing]
    sweep.extend(SweepRun(r, None) for r in others)
    newest = sweep[0].run if sweep else None
    for item in sweep:
        if newest is None or item.run.info.start_time > newest.info.start_time:
            newest = item.run
    crashed = ev.unfinished_newer_than(runs, newest)
    task2 = Task2(sweep, [r.info.run_name for r in others], crashed)
    if sweep and crashed:
        ctx.notes["2.1"] = ev.crash_note(crashed[0], newest, TASK)
    if others:
        ctx.notes.setdefault("2.1", f"your runs have generated names ({', '.join(task2.generated_names)}); "
                                    "graded them in place of the sweep's names")
    return task2


def _sweep(ctx) -> Task2:
    task2 = facts(ctx)
    if not task2.runs:
        raise ev.no_run(f"sweep runs in experiment '{names.EXPERIMENT_TASK2}'", TASK, task2.crashed)
    return task2


def _require_in_every_run(task2: Task2, keys, hint: str) -> None:
    for item in task2.runs:
        ev.require_keys("param", keys, item.run.data.params, ev.label(item.run), hint)


def _require_values(task2: Task2, keys) -> None:
    from labkit.models import MODEL_SEED, parse_param

    for item in task2.runs:
        if item.config is None:
            continue
        expected = {**item.config, names.PARAM_RANDOM_STATE: MODEL_SEED}
        for key in keys:
            found = parse_param(item.run.data.params[key])
            if found != expected[key]:
                raise Fail(f"expected param {key} = {expected[key]} in {ev.label(item.run)}, "
                           f"found {item.run.data.params[key]!r}",
                           "log the value of this configuration, not a fixed number")


N_ESTIMATORS_HINT = "inside the `with` block: mlflow.log_param(names.PARAM_N_ESTIMATORS, n_estimators)"
CONFIG_HINT = "log the rest in one call inside the `with` block: mlflow.log_params(other_params)"
METRICS_HINT = ("inside the `with` block: mlflow.log_metrics({**metrics, "
                "names.METRIC_TRAIN_TIME: train_time})")
TAGS_HINT = "inside the `with` block: mlflow.set_tags(names.SWEEP_TAGS)"


@check("2.1", "every sweep run logs n_estimators", N_ESTIMATORS_HINT)
def n_estimators_logged(ctx):
    task2 = _sweep(ctx)
    _require_in_every_run(task2, [names.PARAM_N_ESTIMATORS], N_ESTIMATORS_HINT)
    _require_values(task2, [names.PARAM_N_ESTIMATORS])


@check("2.2", "every sweep run logs max_depth, min_samples_leaf and random_state; "
       "at least 3 distinct configs", CONFIG_HINT)
def config_logged(ctx):
    task2 = _sweep(ctx)
    _require_in_every_run(task2, CONFIG_PARAMS, CONFIG_HINT)
    _require_values(task2, CONFIG_PARAMS)
    configs = {tuple(sorted((k, v) for k, v in item.run.data.params.items()
                            if k in (*CONFIG_PARAMS, names.PARAM_N_ESTIMATORS)))
               for item in task2.runs}
    if len(configs) < 3:
        raise Fail(f"expected at least 3 distinct configurations in '{names.EXPERIMENT_TASK2}', "
                   f"found {len(configs)}",
                   "run the whole sweep: one run per entry of SWEEP_CONFIGS")


@check("2.3", "every sweep run logs rmse, mae, r2 and train_time_s; a re-fit reproduces them",
       METRICS_HINT, depends=("2.1", "2.2"))
def metrics_logged(ctx):
    task2 = _sweep(ctx)
    for item in task2.runs:
        where = ev.label(item.run)
        ev.require_keys("metric", SWEEP_METRICS, item.run.data.metrics, where, METRICS_HINT)
        ev.require_finite(item.run.data.metrics, SWEEP_METRICS, where)
        if item.run.data.metrics[names.METRIC_TRAIN_TIME] <= 0:
            raise Fail(f"expected a positive {names.METRIC_TRAIN_TIME} in {where}, "
                       f"found {item.run.data.metrics[names.METRIC_TRAIN_TIME]}",
                       "log the seconds the fit took: time.perf_counter() after minus before")
    _refit_cheapest(ctx, task2)


def _refit_cheapest(ctx, task2: Task2) -> None:
    """Re-fit the quickest sweep run from its logged params and compare its metrics."""
    from labkit.models import make_model, parse_param

    def params(item):
        return {k: parse_param(item.run.data.params[k])
                for k in (names.PARAM_N_ESTIMATORS, *CONFIG_PARAMS)}

    def cost(item):
        p = params(item)
        return p[names.PARAM_N_ESTIMATORS] * (p[names.PARAM_MAX_DEPTH] or 30)

    item = min(task2.runs, key=cost)
    split = ctx.split()
    model = make_model(names.RANDOM_FOREST, **params(item)).fit(split.X_train, split.y_train)
    test, train = ev.scores(model, split)
    ev.compare_to_refit(item.run.data.metrics, test, train, ev.label(item.run),
                        f"a re-fit of {ev.label(item.run)} from its params")


@check("2.4", "every sweep run carries the tags task and model_family", TAGS_HINT)
def tags_set(ctx):
    task2 = _sweep(ctx)
    for item in task2.runs:
        tags = item.run.data.tags
        for key, value in names.SWEEP_TAGS.items():
            if tags.get(key) != value:
                found = f"{tags[key]!r}" if key in tags else "no such tag"
                raise Fail(f"expected tag {key} = {value!r} in {ev.label(item.run)}, found {found}")
