"""Task 3's checks: one run per model, its logged model and then its metrics (attached to that
model and to the test dataset), each checked against a re-fit of that model type with the
run's logged hyperparameters."""

from __future__ import annotations

import mlflow.data
import numpy as np
from mlflow.entities import LoggedModelStatus

from grader import evidence as ev
from grader.checks import check
from grader.errors import Fail, Waits
from grader.hints import nudge
from labkit.lab import (
    EXPERIMENT_TASK3, MODEL_NAME, MODEL_TYPES, PARAM_MODEL_TYPE, SCRIPTS, TEST_METRICS,
    TARGET, estimator_class, logged_hyperparams,
)
from grader.context import estimator_name
from grader.models import ModelNotLoadable
from labkit.i18n import Domain

_, N_, _n = Domain("grader").functions()

TASK = "task3"
RUNS_HINT = nudge("3.1")
METRICS_HINT = nudge("3.3")
LINK_HINT = N_("attach the metrics to the model you logged and to the test split: mlflow.log_metrics takes "
               "model_id and dataset arguments (help(mlflow.log_metrics))")
CONTEXT_TAG = "mlflow.data.context"  # what MLflow calls a dataset input's role in a run
MODEL_HINT = nudge("3.2")
SKOPS_FORMAT_HINT = N_("log it in skops format, which loads without running pickled code: log_model's "
                       "serialization_format and skops_trusted_types say so (SKOPS_TRUSTED_TYPES)")
PREDICTION_RTOL = 1e-6
PREDICTION_ATOL = 1e-6  # ms: a model and its re-fit predict the same numbers


def runs_of(ctx) -> dict[str, ev.Found]:
    """Per model type, its runs: named after it, else (no run_name given) tagged with it."""
    def find():
        return {m: ev.find_runs(ctx, EXPERIMENT_TASK3, m, lambda r, m=m: r.data.tags.get(PARAM_MODEL_TYPE) == m)
                for m in MODEL_TYPES}

    return ctx.memo(TASK, find)


def _every(ctx) -> list:
    return [r for found in runs_of(ctx).values() for r in found.runs]


def _each_model(ctx, test) -> str | None:
    """``test(run, model_type)`` holds for a run of every model type; else Fail, naming crashes."""
    by_type = runs_of(ctx)
    missing = [m for m, found in by_type.items() if not found.runs]
    if missing:
        every = ev.ordered(_every(ctx))
        crashed = [r for r in every if r.info.status != ev.FINISHED]
        rationale = _("expected a run for {models} in '{experiment}', found {found}",
                      models=", ".join(missing), experiment=EXPERIMENT_TASK3,
                      found=ev.names(every) or _("none"))
        if crashed:
            raise Fail(f"{rationale}: {ev.crash(crashed[0])}", ev.crash_hint(crashed[0], TASK))
        raise Fail(rationale, _("run {script}: its loop makes one run per model", script=SCRIPTS[TASK]))
    graded, failures = [], []
    for model_type, found in by_type.items():
        try:
            graded.append(ev.first_passing(found.runs, lambda r, m=model_type: test(r, m)))
        except Fail as failure:
            failures.append(failure)
    if failures:  # a wrong model type first; a wait for another TODO only when that is all there is
        raise next((f for f in failures if not isinstance(f, Waits)), failures[0])
    return ev.crash_note(graded, _every(ctx))


def refit(ctx, run, model_type: str):
    """A re-fit of the run's model type, with the hyperparameters it logged, on the lab's split."""
    return ctx.refit(model_type, logged_hyperparams(model_type, run.data.params), ev.label(run))


@check("3.1", N_("one run per model, named {models}", models=", ".join(MODEL_TYPES)), RUNS_HINT,
       evidence=lambda ctx: all(f.named for f in runs_of(ctx).values()) and _("a run named after each model"),
       quotes=(), names=("model_name",))
def one_run_per_model(ctx):
    note = _each_model(ctx, lambda run, model_type: None)
    unnamed = {m: f.runs[0] for m, f in runs_of(ctx).items() if not f.named}
    if unnamed:
        found = ", ".join(_("'{name}' for {model}", name=r.info.run_name, model=m) for m, r in unnamed.items())
        raise Fail(_("expected runs named {models}, found {found}", models=", ".join(unnamed), found=found),
                   _("give each run its model's name (the loop's model_name) when the run starts"))
    return note


def _has_model(ctx) -> str | None:
    held = [r for r in _every(ctx) if ctx.store.logged_models(r)]
    return held and _("logged models in {runs}", runs=ev.names(held))


@check("3.2", N_("each task-3 run logs a model with a signature that predicts like a re-fit of its "
                  "model type"), MODEL_HINT, depends=("3.1",), evidence=_has_model,
       quotes=("skops",), names=("model_info", "MODEL_NAME", "SKOPS_TRUSTED_TYPES", "PIP_REQUIREMENTS"))
def models_logged(ctx):
    def faithful(run, model_type) -> None:
        model = _model_of(ctx, run)
        where = ev.label(run)
        kind, differ = _unlike_run(run, model, model_type) or (None, None)
        if kind == "type":
            raise Fail(_("expected a {expected} in {run}, found a {found}", run=where, found=differ,
                         expected=estimator_class(model_type).__name__),
                       _("log `model`, the model this iteration of the loop trained"))
        if kind == "params":
            raise Fail(_("expected the model in {run} to have the params the run logged, found other {keys}",
                         run=where, keys=differ),
                       _("log the params and the model of the same estimator: the `model` this "
                         "iteration of the loop trained"))
        twin = refit(ctx, run, model_type)
        X_test = ctx.split().X_test
        if not np.allclose(model.predict(X_test), twin.predict(X_test),
                           rtol=PREDICTION_RTOL, atol=PREDICTION_ATOL):
            rmse, twin_rmse = ctx.scores(model)["rmse"], ctx.scores(twin)["rmse"]
            raise Fail(_("expected the model in {run} to predict like a {model} re-fit from its "
                         "params on the lab's training split, found other predictions (test rmse "
                         "{how_far} the re-fit's): trained on other rows?", run=where,
                         model=model_type, how_far=ev.how_far(rmse, twin_rmse)),
                       _("log the model fitted on X_train and y_train in this run, not another one"))

    return _each_model(ctx, faithful)


def _unlike_run(run, model, model_type: str) -> tuple[str, str] | None:
    """How the logged model differs from what its run says it is: ``("type", its class
    name)``, else ``("params", the hyperparameters that differ from the logged ones)``."""
    if estimator_name(model) != estimator_class(model_type).__name__:
        return "type", estimator_name(model)
    logged = logged_hyperparams(model_type, run.data.params)
    own = model.get_params()
    differ = sorted(k for k, v in logged.items() if k in own and own[k] != v)
    return ("params", ", ".join(differ)) if differ else None


def _has_metrics(ctx) -> str | None:
    held = [r for r in _every(ctx) if set(TEST_METRICS) <= set(r.data.metrics)]
    return held and _("metrics in {runs}", runs=ev.names(held))


@check("3.3", N_("each task-3 run logs rmse, mae and r2 equal to a re-fit of its model, attached to "
                  "its logged model and to the test dataset"),
       METRICS_HINT, needs=("3.2",), depends=("3.1",), evidence=_has_metrics,
       quotes=TEST_METRICS, names=("metrics", "model_info", "test_dataset"))
def metrics_logged(ctx):
    def honest(run, model_type) -> None:
        where, metrics = ev.label(run), run.data.metrics
        if not [m for m in ctx.store.logged_models(run) if m.status == LoggedModelStatus.READY]:
            raise Waits("3.2", _("expected a logged model in {run}, found none", run=where))  # nothing to attach to
        found = runs_of(ctx)[model_type]
        hint = ev.stray_hint(found.runs, found.others, "metrics", TEST_METRICS) or METRICS_HINT
        ev.require_keys("metric", TEST_METRICS, metrics, where, hint)
        ev.require_finite(metrics, TEST_METRICS, where)
        twin = refit(ctx, run, model_type)
        ev.compare_metrics(metrics, TEST_METRICS, ctx.scores(twin), lambda: ctx.scores(twin, "train"), where,
                           _("a {model} re-fit from the run's params", model=model_type),
                           _("log the dict `metrics` your code computed on X_test, not other numbers"),
                           guess=lambda key: _own_model_guess(ctx, run, model_type, key))
        _linked(ctx, run)

    return _each_model(ctx, honest)


def _linked(ctx, run) -> None:
    """Fail unless the run's metrics are attached to its logged model and to the test split."""
    where, models, metrics = ev.label(run), ctx.store.logged_models(run), run.data.metrics
    links = [m for model in models for m in (model.metrics or [])
             if m.run_id == run.info.run_id and m.key in TEST_METRICS and ev.same(m.value, metrics[m.key])]
    linked = {m.key for m in links}
    if linked < set(TEST_METRICS):
        raise Fail(_("expected {keys} of {run} attached to the model logged in it, found them on the run only",
                     keys=", ".join(k for k in TEST_METRICS if k not in linked), run=where), LINK_HINT)
    digests = _test_digests(ctx, run)
    on_test = {m.key for m in links if m.dataset_digest in digests}
    if on_test < set(TEST_METRICS):
        other = next(m for m in links if m.key not in on_test)
        found = (_("dataset '{name}'", name=other.dataset_name) if other.dataset_digest
                 else _("no dataset"))
        raise Fail(_("expected {keys} of {run} attached to the test dataset, found them attached to {found}",
                     keys=", ".join(k for k in TEST_METRICS if k not in on_test), run=where, found=found),
                   LINK_HINT)


def _test_digests(ctx, run) -> set:
    """The digests that stand for the test split: the grader's own, and the run's evaluation inputs."""
    own = ctx.memo("test-digest", lambda: mlflow.data.from_pandas(
        ctx.split().X_test.join(ctx.split().y_test), targets=TARGET).digest)
    inputs = run.inputs.dataset_inputs if run.inputs else []
    return {own} | {i.dataset.digest for i in inputs
                    if any(t.key == CONTEXT_TAG and t.value == "evaluation" for t in i.tags)}


def _own_model_guess(ctx, run, model_type: str, key: str):
    """When the metrics are honest for the model the run logged, the model is what is off:
    its type or params first, the rows it was trained on last."""
    try:
        model = _model_of(ctx, run)
    except Fail:
        return None
    if not ev.same(run.data.metrics[key], ctx.scores(model)[key]):
        return None
    kind, differ = _unlike_run(run, model, model_type) or (None, None)
    if kind == "type":
        return (_("they are the metrics of the model logged in this run, a {found}: the wrong type of "
                  "model for a {model_type} run", found=differ, model_type=model_type),
                _("fit, score and log `model`, the model this iteration of the loop trains"))
    if kind == "params":
        return (_("they are the metrics of the model logged in this run, whose {keys} differ from the "
                  "params the run logged", keys=differ),
                _("log the params of the model you fit and score: mlflow.log_params(model.get_params())"))
    return (_("they are the metrics of the model logged in this run, which was not fitted as "
              "the lab's split and params give: trained on other rows?"),
            _("fit the model on X_train and y_train, with the params the run logs"))


def _model_of(ctx, run):
    """The estimator the run logged under MODEL_NAME, with a signature, loaded safely; or Fail."""
    where = ev.label(run)
    models = ctx.store.logged_models(run)
    if not models:
        hint = MODEL_HINT
        if run.info.status != ev.FINISHED:
            hint = ev.crash_hint(run, TASK)
            where = _("{run}, which {happened}", run=where, happened=ev.what_happened(run))
        raise Fail(_("expected a logged model in {run}, found none", run=where), hint)
    named = [m for m in models if m.name == MODEL_NAME]
    if not named:
        raise Fail(_("expected a model named '{name}' in {run}, found {found}", name=MODEL_NAME, run=where,
                     found=", ".join(repr(m.name) for m in models)), _("log it under the name MODEL_NAME (log_model's name argument)"))
    logged = next((m for m in named if m.status == LoggedModelStatus.READY), named[0])
    if logged.status != LoggedModelStatus.READY:
        crashed = run.info.status != ev.FINISHED
        rationale = _("expected a logged model in {run}, found one whose logging never finished ({status})",
                      run=where, status=logged.status)
        raise Fail(rationale + (f": {ev.crash(run)}" if crashed else ""),
                   ev.crash_hint(run, TASK) if crashed else MODEL_HINT)
    try:
        signed = ctx.signed(logged)
    except ModelNotLoadable as exc:
        raise Fail(_("expected the model files of {run}, found that {problem}", run=where, problem=exc),
                   _("the lab's artifacts folder lost them: run {script} again", script=SCRIPTS[TASK])) from None
    if not signed:
        raise Fail(_("expected a signature on the model of {run}, found none", run=where),
                   _("give log_model an input example, a few rows of X_test: MLflow infers the signature from it"))
    try:
        return ctx.load(logged)
    except ModelNotLoadable as exc:
        raise Fail(_("expected a model the grader can load in {run}, found one that is not: {problem}",
                     run=where, problem=exc),
                   SKOPS_FORMAT_HINT) from None
