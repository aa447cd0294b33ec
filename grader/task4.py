"""Task 4's checks: the best task-3 run picked, its model registered and aliased, and the
staging model's score logged honestly."""

from __future__ import annotations

from grader import evidence as ev
from grader import task3
from grader.checks import check
from grader.errors import Fail, Waits
from grader.hints import nudge
from labkit.lab import (
    ALIAS, EXPERIMENT_TASK3, EXPERIMENT_TASK4, METRIC_R2, METRIC_RMSE, METRIC_STAGING_RMSE,
    PARAM_MODEL_URI, REGISTERED_MODEL, RUN_REGISTRY, SCRIPTS, STAGING_URI, TAG_BEST_RUN,
)
from grader.models import ModelNotLoadable, same_location
from labkit.i18n import Domain

_, N_, _n = Domain("grader").functions()

TASK = "task4"
STAGE = "Staging"  # the deprecated stage an alias replaces
STAGE_URI = f"models:/{REGISTERED_MODEL}/{STAGE}"
PICK_HINT = nudge("4.1")
REGISTER_HINT = nudge("4.2")
ALIAS_HINT = nudge("4.3")
STAGING_HINT = nudge("4.4")


def runs(ctx) -> ev.Found:
    return ctx.memo(TASK, lambda: ev.find_runs(ctx, EXPERIMENT_TASK4, RUN_REGISTRY))


def _found(ctx) -> ev.Found:
    found = runs(ctx)
    if not found.runs:
        raise Fail(_("expected a run in experiment '{experiment}', found none", experiment=EXPERIMENT_TASK4),
                   _("run {script}, then grade again", script=SCRIPTS[TASK]))
    return found


def best_runs(ctx, before: int) -> list:
    """The finished task-3 runs with the highest r2 among those started before ``before``
    (a run logged later could not have been picked); only runs that hold a logged model
    count, unless none does. Runs tied on r2 are all best."""
    done = [r for r in ctx.store.runs(EXPERIMENT_TASK3) if r.info.status == ev.FINISHED
            and METRIC_R2 in r.data.metrics and ev.start(r) < before]
    done = [r for r in done if ctx.store.logged_models(r)] or done
    if not done:
        return []
    top = max(r.data.metrics[METRIC_R2] for r in done)
    return [r for r in done if ev.same(r.data.metrics[METRIC_R2], top)]


def _r2(run) -> str:
    value = run.data.metrics.get(METRIC_R2)
    return f"r2 {value:.3f}" if value is not None else _("no r2")


def _check_pick(ctx, run) -> None:
    run_id = run.data.tags.get(TAG_BEST_RUN)
    if not run_id:
        raise Fail(_("expected {run} to record the task-3 run it picked (tag {tag}), found no pick",
                     run=ev.label(run), tag=TAG_BEST_RUN), PICK_HINT)
    picked = ctx.store.run(run_id)
    best = best_runs(ctx, ev.start(run))
    if not best:  # nothing to judge the pick against
        raise Waits("3.3", _("expected a finished task-3 run with r2 to pick from, found none"))
    if picked is None:
        raise Fail(_("expected the pick in {run} to be a run of the store, found run id {run_id!r}",
                     run=ev.label(run), run_id=run_id), PICK_HINT)
    if any(picked.info.run_id == b.info.run_id for b in best):
        return
    expected, found = ev.distinct(best[0], picked)
    if ctx.store.experiment_name(picked.info.experiment_id) != EXPERIMENT_TASK3:
        why = _(" of another experiment")
        hint = _("search the runs of the experiment TASK3_EXPERIMENT, the task-3 runs")
    elif picked.info.status != ev.FINISHED:
        # its label has the status: a run that merely ended needs no more words
        why = "" if ev.ended_plainly(picked) else _(", which {happened}", happened=ev.what_happened(picked))
        hint = _("keep only the runs whose status is FINISHED: a crashed run can hold metrics too")
    elif not ctx.store.logged_models(picked) and ctx.store.logged_models(best[0]):
        why, hint = _(" ({r2}), which holds no logged model", r2=_r2(picked)), PICK_HINT
    else:
        why = f" ({_r2(picked)})"
        hint = _("the best run has the HIGHEST r2: sort by the metric r2 in descending order to get it first")
    raise Fail(_("expected the pick to be the best task-3 {expected} ({r2}), found {found}{why}",
                 expected=expected, r2=_r2(best[0]), found=found, why=why), hint)


def accepted(ctx) -> list:
    """The task-3 runs whose model 4.2-4.4 accept: the best runs a task-4 run picked; when no
    pick is the best (4.1 fails or waits), the runs the task-4 runs picked, so that a wrong
    pick costs 4.1 alone."""
    return _picks(ctx)[0]


def _picks(ctx) -> tuple[list, bool]:
    """(the runs ``accepted`` gives, whether they are best runs some task-4 run picked)."""
    def find():
        best, picked = [], []
        for run in runs(ctx).runs:
            pick = ctx.store.run(run.data.tags.get(TAG_BEST_RUN) or "")
            if pick is not None and all(pick.info.run_id != p.info.run_id for p in picked):
                picked.append(pick)
            try:
                _check_pick(ctx, run)
            except Fail:
                continue
            best.extend(b for b in best_runs(ctx, ev.start(run)) if b not in best)
        return (best, True) if best else (picked, False)

    return ctx.memo("accepted", find)


@check("4.1", N_("the task-4 run picks the task-3 run with the highest r2"), PICK_HINT, needs=("3.3",),
       evidence=lambda ctx: [r for r in runs(ctx).runs if r.data.tags.get(TAG_BEST_RUN)] and _("a pick"),
       quotes=(METRIC_R2,), names=("TASK3_EXPERIMENT", "FINISHED", "best_run_id"))
def picks_best_run(ctx):
    found = _found(ctx)
    run = ev.first_passing(found.runs, lambda r: _check_pick(ctx, r))
    return ev.crash_note([run], found.runs)


def version_model(ctx, version):
    """The logged model a registered version was made from, whatever URI registered it."""
    return resolve_uri(ctx, f"models:/{version.model_id}" if version.model_id else version.source)


def resolve_uri(ctx, uri: str):
    """The logged model behind a model URI (runs:/, models:/m-…, models:/name@alias,
    models:/name/version or /stage, or a storage location), or None."""
    store = ctx.store
    if uri.startswith("models:/"):
        target = uri[len("models:/"):].strip("/")
        if target.startswith("m-") and "/" not in target:
            return store.logged_model(target)
        if "@" in target:
            name, key = target.split("@", 1)
        else:
            name, _slash, key = target.rpartition("/")
        version = _version_by(ctx, name, key, alias="@" in target)
        return version_model(ctx, version) if version is not None else None
    if uri.startswith("runs:/"):
        run_id, _slash, path = uri[len("runs:/"):].partition("/")
        run = store.run(run_id)
        models = [m for m in store.logged_models(run) if m.name == path.strip("/")] if run else []
        return models[0] if models else None
    for experiment in (EXPERIMENT_TASK3, EXPERIMENT_TASK4):
        found = store.experiment(experiment)
        for model in store.models_of_experiment(found.experiment_id) if found else ():
            if same_location(model.artifact_location, uri):
                return model
    return None


def _version_by(ctx, name: str, key: str, alias: bool):
    versions = ctx.store.versions(name)
    if alias:
        number = ctx.store.aliases(name).get(key)
        return next((v for v in versions if str(v.version) == number), None)
    if key.isdigit():
        return next((v for v in versions if str(v.version) == key), None)
    return next((v for v in versions if (v.current_stage or "").lower() == key.lower()), None)


def version_run(ctx, version):
    model = version_model(ctx, version)
    run_id = version.run_id or (model.source_run_id if model is not None else None)
    return ctx.store.run(run_id) if run_id else None


def _made_from_best(ctx, version) -> bool:
    run = version_run(ctx, version)
    return run is not None and any(run.info.run_id == b.info.run_id for b in accepted(ctx))


def _describe(ctx, version) -> str:
    run = version_run(ctx, version)
    source = ev.label(run) if run is not None else _("source {source!r}", source=version.source)
    return _("version {version}, made from {source}", version=version.version, source=source)


def _expected_version(ctx) -> str:
    return _("a version of '{name}' made from the model of {runs}", name=REGISTERED_MODEL,
             runs=ev.names(accepted(ctx)))


@check("4.2", N_("the registered model '{name}' has a version made from that run's model", name=REGISTERED_MODEL),
       REGISTER_HINT, needs=("4.1", "3.2"),
       evidence=lambda ctx: ctx.store.versions(REGISTERED_MODEL) and _("versions of '{name}'", name=REGISTERED_MODEL),
       quotes=(), names=("model_uri", "REGISTERED_MODEL", "version"))
def best_model_registered(ctx):
    versions = ctx.store.versions(REGISTERED_MODEL)
    if any(_made_from_best(ctx, v) for v in versions):
        return None
    targets = accepted(ctx)
    if not targets:  # no pick, no model to register
        raise Waits("4.1", _("expected a task-4 run that records its pick, found none"))
    if not any(ctx.store.logged_models(r) for r in targets):
        # A wrong pick without a model (a crashed run, say) is 4.1's to fix, not 3.2's (3.2 may pass).
        todo = "3.2" if _picks(ctx)[1] else "4.1"
        raise Waits(todo, _("expected a logged model in {runs}, found none", runs=ev.names(targets)))
    if not versions:
        others = [n for n in ctx.store.registered_model_names() if n != REGISTERED_MODEL]
        hint = (_("you registered '{found}': register under REGISTERED_MODEL (\"{name}\")",
                  found=others[0], name=REGISTERED_MODEL) if others else REGISTER_HINT)
        raise Fail(_("expected a registered model '{name}' with a version, found none", name=REGISTERED_MODEL),
                   hint)
    raise Fail(_("expected {expected}, found {found}", expected=_expected_version(ctx),
                 found=_describe(ctx, versions[0])),
               _("register model_uri, the logged model of best_run_id, and no other"))


def staging_version(ctx):
    """The version behind the alias; without one, a version in the deprecated stage Staging."""
    versions = ctx.store.versions(REGISTERED_MODEL)
    number = ctx.store.aliases(REGISTERED_MODEL).get(ALIAS)
    if number is not None:
        return next((v for v in versions if str(v.version) == number), None), False
    staged = [v for v in versions if v.current_stage == STAGE and _made_from_best(ctx, v)]
    return (staged[0], True) if staged else (None, False)


@check("4.3", N_("the alias '{alias}' points to a version of that run's model", alias=ALIAS), ALIAS_HINT,
       needs=("4.2",),
       evidence=lambda ctx: ALIAS in ctx.store.aliases(REGISTERED_MODEL) and _("the alias '{alias}'", alias=ALIAS),
       quotes=(ALIAS,), names=("ALIAS", "REGISTERED_MODEL"))
def alias_set(ctx):
    versions = ctx.store.versions(REGISTERED_MODEL)
    if not versions:  # nothing to point an alias at
        raise Waits("4.2", _("expected a registered model '{name}' with a version, found none", name=REGISTERED_MODEL))
    version, by_stage = staging_version(ctx)
    # When no version is made from that run's model (4.2 failed), the alias goes on the newest.
    made = any(_made_from_best(ctx, v) for v in versions)
    newest = version is not None and str(version.version) == str(versions[0].version)
    if version is not None and (_made_from_best(ctx, version) or (not made and newest)):
        if by_stage:
            return _("version {version} is in the stage {stage}: that passes, but stages are "
                     "deprecated and aliases replace them; next time set the alias {alias} instead",
                     version=version.version, stage=STAGE, alias=ALIAS)
        return None
    found = (_("it on {version}", version=_describe(ctx, version)) if version is not None
             else _("no such alias"))
    raise Fail(_("expected alias '{alias}' on {expected}, found {found}", alias=ALIAS,
                 expected=_expected_version(ctx), found=found),
               _("point the alias at the version you registered: its number is the version's .version"))


@check("4.4", N_("the task-4 run logs model_uri and a staging_rmse equal to the grader's score "
                  "of the staging model"), STAGING_HINT, needs=("4.3",),
       evidence=lambda ctx: [r for r in runs(ctx).runs if METRIC_STAGING_RMSE in r.data.metrics]
       and _("{metric} in a task-4 run", metric=METRIC_STAGING_RMSE),
       quotes=(PARAM_MODEL_URI, METRIC_STAGING_RMSE), names=("STAGING_URI", "X_test", "y_test"))
def staging_scored(ctx):
    found = _found(ctx)
    version, by_stage = staging_version(ctx)
    if version is None:  # no staging model to score
        raise Waits("4.3", _("expected the alias '{alias}' on a version, found no such alias", alias=ALIAS))
    logged = version_model(ctx, version)
    moved: list[str] = []  # the version the run scored, when the alias has moved since
    if logged is None:
        raise Fail(_("expected a logged model behind version {version}, found source {source!r}",
                     version=version.version, source=version.source),
                   _("register the model_uri of the best run's logged model, as TODO 4.2 says"))
    try:
        model = ctx.load(logged)
    except ModelNotLoadable as exc:
        raise Fail(_("expected a model the grader can load behind '{alias}', found: {problem}",
                     alias=ALIAS, problem=exc),
                   _("log it in task 3 as TODO 3.2 says: {hint}", hint=task3.SKOPS_FORMAT_HINT)) from None

    def scored(run) -> None:
        where, params = ev.label(run), run.data.params
        hint = ev.stray_hint(found.runs, found.others, "params", [PARAM_MODEL_URI]) or STAGING_HINT
        ev.require_keys("param", [PARAM_MODEL_URI], params, where, hint)
        uri = params[PARAM_MODEL_URI]
        if uri != STAGING_URI and not (by_stage and uri == STAGE_URI):
            target = resolve_uri(ctx, uri)
            if target is None or target.model_id != logged.model_id:
                raise Fail(_("expected param model_uri = '{expected}' in {run}, found {found!r}",
                             expected=STAGING_URI, run=where, found=uri),
                           _("load the model by its alias, STAGING_URI, and log that URI"))
        hint = ev.stray_hint(found.runs, found.others, "metrics", [METRIC_STAGING_RMSE]) or STAGING_HINT
        ev.require_keys("metric", [METRIC_STAGING_RMSE], run.data.metrics, where, hint)
        ev.require_finite(run.data.metrics, [METRIC_STAGING_RMSE], where)
        value = run.data.metrics[METRIC_STAGING_RMSE]
        try:
            ev.compare_metrics({METRIC_RMSE: value}, [METRIC_RMSE], ctx.scores(model),
                               lambda: ctx.scores(model, "train"),
                               where, _("version {version} (its RMSE, as {metric})", version=version.version,
                                        metric=METRIC_STAGING_RMSE),
                               _("log the RMSE of the loaded model's predictions on X_test, against y_test"))
        except Fail:
            earlier = [v for v in ctx.store.versions(REGISTERED_MODEL)
                       if v.version != version.version and _made_from_best(ctx, v) and _scores(ctx, v, value)]
            if not earlier:
                raise
            moved.append(str(earlier[0].version))

    run = ev.first_passing(found.runs, scored)
    uri = run.data.params[PARAM_MODEL_URI]
    notes = [ev.crash_note([run], found.runs)]
    if moved:
        notes.insert(0, _("{metric} is the score of version {scored}, where the alias pointed when the run "
                          "loaded it; it points to version {version} now", metric=METRIC_STAGING_RMSE,
                          scored=moved[-1], version=version.version))
    if uri not in (STAGING_URI, STAGE_URI):
        notes.insert(0, _("{uri} is the staging model today; STAGING_URI follows the alias when it moves", uri=uri))
    return "; ".join(n for n in notes if n) or None


def _scores(ctx, version, rmse: float) -> bool:
    """Whether ``rmse`` is the test RMSE of the model behind ``version``."""
    logged = version_model(ctx, version)
    try:
        model = ctx.load(logged) if logged is not None else None
    except ModelNotLoadable:
        return False
    return model is not None and ev.same(rmse, ctx.scores(model)[METRIC_RMSE])
