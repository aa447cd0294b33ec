"""Task 4's checks: the best run picked, registered, aliased, and its score logged honestly."""

from __future__ import annotations

from dataclasses import dataclass, field

from grader import evidence as ev
from grader import task3
from grader.models import ModelNotLoadable
from grader.registry import Fail, check
from labkit import names

TASK = "task4"
STAGE = "Staging"  # the deprecated stage an alias replaces
STAGE_URI = f"models:/{names.REGISTERED_MODEL}/{STAGE}"


@dataclass
class Task4:
    run: object | None  # the newest finished task-4 run
    versions: list = field(default_factory=list)  # newest first
    aliases: dict = field(default_factory=dict)
    crashed: list = field(default_factory=list)

    @property
    def newest(self):
        return self.versions[0] if self.versions else None


def facts(ctx) -> Task4:
    return ctx.memo(TASK, lambda: _facts(ctx))


def _facts(ctx) -> Task4:
    store = ctx.store
    runs = store.runs(names.EXPERIMENT_TASK4)
    done = ev.finished(runs)
    run = done[0] if done else None
    task4 = Task4(run, store.versions(names.REGISTERED_MODEL), store.aliases(names.REGISTERED_MODEL),
                  ev.unfinished_newer_than(runs, run))
    if run is not None and task4.crashed:
        ctx.notes["4.1"] = ev.crash_note(task4.crashed[0], run, TASK)
    return task4


def _task4_run(ctx) -> Task4:
    task4 = facts(ctx)
    if task4.run is None:
        raise ev.no_run(f"a run in experiment '{names.EXPERIMENT_TASK4}'", TASK, task4.crashed)
    return task4


def best_task3_run(ctx):
    """The task-3 run with the highest logged r2 (3.2 passed, so every run has one)."""
    runs = task3.facts(ctx).runs.values()
    return max(runs, key=lambda r: r.data.metrics[names.METRIC_R2])


def _r2(run) -> str:
    value = run.data.metrics.get(names.METRIC_R2)
    return f"r2 {value:.3f}" if value is not None else "no r2"


def picked_run(ctx):
    """The task-3 run the task-4 script picked (recorded on its run), or None."""
    task4 = _task4_run(ctx)
    run_id = task4.run.data.tags.get(names.TAG_BEST_RUN)
    if run_id is None and task4.newest is not None:
        run_id = task4.newest.run_id
    return ctx.store.run(run_id) if run_id else None


PICK_HINT = ("mlflow.search_runs(experiment_names=[names.EXPERIMENT_TASK3], "
             "order_by=[\"metrics.r2 DESC\"]), then keep the first row's run_id")
REGISTER_HINT = "version = mlflow.register_model(model_uri, names.REGISTERED_MODEL)"
ALIAS_HINT = ("client.set_registered_model_alias(names.REGISTERED_MODEL, names.ALIAS, "
              "version.version)")
STAGING_HINT = ("load names.STAGING_URI with mlflow.pyfunc.load_model, then log the param "
                "model_uri and the metric staging_rmse of its test predictions")


@check("4.1", "the task-4 run picks the task-3 run with the highest r2", PICK_HINT, depends=("3.2",))
def picks_best_run(ctx):
    best = best_task3_run(ctx)
    picked = picked_run(ctx)
    if picked is None:
        raise Fail(f"expected the task-4 run to pick the best task-3 {ev.label(best)}, found no pick")
    best_r2 = best.data.metrics[names.METRIC_R2]
    picked_r2 = picked.data.metrics.get(names.METRIC_R2)
    task3_experiment = ctx.store.experiment(names.EXPERIMENT_TASK3).experiment_id
    if picked.info.experiment_id == task3_experiment and picked_r2 is not None and ev.same(picked_r2, best_r2):
        return None
    raise Fail(f"expected the best task-3 {ev.label(best)} ({_r2(best)}), "
               f"found {ev.label(picked)} ({_r2(picked)}) picked",
               "the best run has the HIGHEST r2: order_by=[\"metrics.r2 DESC\"] puts it first")


@check("4.2", f"the registered model '{names.REGISTERED_MODEL}' has a newest version made "
       "from that run's model", REGISTER_HINT, depends=("4.1", "3.3"))
def best_model_registered(ctx):
    task4 = facts(ctx)
    picked = picked_run(ctx)
    if task4.newest is None:
        others = [n for n in ctx.store.registered_model_names() if n != names.REGISTERED_MODEL]
        hint = (f"you registered '{others[0]}': use names.REGISTERED_MODEL"
                if others else None)
        raise Fail(f"expected a registered model '{names.REGISTERED_MODEL}' with a version, "
                   "found none", hint)
    source = ctx.store.run(task4.newest.run_id) if task4.newest.run_id else None
    if source is None or source.info.run_id != picked.info.run_id:
        found = ev.label(source) if source is not None else f"source {task4.newest.source!r}"
        raise Fail(f"expected version {task4.newest.version} to come from {ev.label(picked)}, "
                   f"found {found}",
                   "register model_uri, the model of best_run_id, then run task 4 again")


@check("4.3", f"the alias '{names.ALIAS}' points to that version", ALIAS_HINT, depends=("4.2",))
def alias_set(ctx):
    task4 = facts(ctx)
    newest = task4.newest
    aliased = task4.aliases.get(names.ALIAS)
    if aliased == str(newest.version):
        return None
    if aliased is None and newest.current_stage == STAGE:
        return (f"version {newest.version} is in the stage {STAGE}: that passes, but stages are "
                f"deprecated and aliases replace them; next time use {ALIAS_HINT}")
    found = f"it on version {aliased}" if aliased else "no such alias"
    raise Fail(f"expected alias '{names.ALIAS}' on version {newest.version}, found {found}",
               "point the alias at the version you just registered: " + ALIAS_HINT)


@check("4.4", "the task-4 run logs model_uri and a staging_rmse equal to the grader's score "
       "of the staging model", STAGING_HINT, depends=("4.3",))
def staging_scored(ctx):
    task4 = _task4_run(ctx)
    run, where = task4.run, ev.label(task4.run)
    ev.require_keys("param", [names.PARAM_MODEL_URI], run.data.params, where, STAGING_HINT)
    uri = run.data.params[names.PARAM_MODEL_URI]
    version, accepted = _staging_version(task4)
    if uri not in accepted:
        raise Fail(f"expected param model_uri = '{names.STAGING_URI}', found {uri!r}",
                   "load the model by its alias, names.STAGING_URI, and log that URI")
    ev.require_keys("metric", [names.METRIC_STAGING_RMSE], run.data.metrics, where, STAGING_HINT)
    ev.require_finite(run.data.metrics, [names.METRIC_STAGING_RMSE], where)
    logged = run.data.metrics[names.METRIC_STAGING_RMSE]
    test, train = ev.scores(_load(ctx, version), ctx.split())
    rmse = names.METRIC_RMSE
    if ev.same(logged, test[rmse]):
        return None
    source = f"the grader's score of version {version.version}"
    if ev.same(logged, train[rmse]):
        raise Fail(f"expected staging_rmse {test[rmse]:.6g} on the test split ({source}), found "
                   f"{logged:.6g}, the value on the training split",
                   "predict split.X_test with the loaded model and compare with split.y_test")
    raise Fail(f"expected staging_rmse {test[rmse]:.6g} ({source}), found {logged:.6g} in {where}",
               "log the RMSE of the loaded model's test predictions, not a number typed by hand")


def _staging_version(task4: Task4):
    """The version behind the alias (or, without one, the newest in stage Staging) and its URIs."""
    number = task4.aliases.get(names.ALIAS)
    if number is None:
        return task4.newest, {names.STAGING_URI, STAGE_URI}
    version = next(v for v in task4.versions if str(v.version) == number)
    return version, {names.STAGING_URI}


def _load(ctx, version):
    from grader.models import logged_model_of_version

    try:
        model = logged_model_of_version(version, ctx.store)
    except ModelNotLoadable as exc:
        raise Fail(f"expected a model the grader can load behind '{names.ALIAS}', found: {exc}",
                   "log models with mlflow.sklearn.log_model(..., **SKLEARN_LOG_OPTIONS)") from None
    return task3.estimator(ctx, model)
