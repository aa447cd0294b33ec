"""Task 3's checks: one run per model, its metrics, and a logged model that reproduces them."""

from __future__ import annotations

from dataclasses import dataclass, field

from grader import evidence as ev
from grader.models import ModelFiles, ModelNotLoadable, load_sklearn_model, read_mlmodel
from grader.registry import Fail, check
from labkit import names

TASK = "task3"


@dataclass
class Task3:
    runs: dict[str, object]  # model type -> its newest finished run
    generated: list[str] = field(default_factory=list)  # types found by tag, not by run name
    missing: list[str] = field(default_factory=list)
    crashed: list = field(default_factory=list)


def facts(ctx) -> Task3:
    return ctx.memo(TASK, lambda: _facts(ctx))


def _facts(ctx) -> Task3:
    """Per model type, the newest finished run named after it (or tagged with it)."""
    runs = ctx.store.runs(names.EXPERIMENT_TASK3)
    done = ev.finished(runs)
    task3 = Task3({})
    for model_type in names.MODEL_TYPES:
        named = next((r for r in done if r.info.run_name == model_type), None)
        tagged = next((r for r in done if r.data.tags.get(names.PARAM_MODEL_TYPE) == model_type), None)
        if named is not None:
            task3.runs[model_type] = named
        elif tagged is not None:
            task3.runs[model_type] = tagged
            task3.generated.append(model_type)
        else:
            task3.missing.append(model_type)
    graded = list(task3.runs.values())
    oldest = min(graded, key=lambda r: r.info.start_time) if graded else None
    task3.crashed = ev.unfinished_newer_than(runs, oldest)
    if graded and task3.crashed and not task3.missing:
        ctx.notes["3.1"] = ev.crash_note(task3.crashed[0], oldest, TASK)
    return task3


def _runs(ctx) -> Task3:
    task3 = facts(ctx)
    if task3.missing:
        what = f"a finished run for {', '.join(task3.missing)} in '{names.EXPERIMENT_TASK3}'"
        raise ev.no_run(what, TASK, task3.crashed)
    return task3


RUNS_HINT = "start one run per model: `with mlflow.start_run(run_name=model_name) as run:`"
METRICS_HINT = "inside the `with` block, in one call: mlflow.log_metrics(metrics)"
MODEL_HINT = ("mlflow.sklearn.log_model(model, name=names.MODEL_NAME, "
              "input_example=split.X_test.head(5), **SKLEARN_LOG_OPTIONS)")


@check("3.1", "one finished run per model, named " + ", ".join(names.MODEL_TYPES), RUNS_HINT)
def one_run_per_model(ctx):
    task3 = _runs(ctx)
    if task3.generated:
        found = ", ".join(f"'{task3.runs[m].info.run_name}' for {m}" for m in task3.generated)
        raise Fail(f"expected runs named {', '.join(task3.generated)}, found generated names: {found}",
                   "your runs have generated names: pass run_name=model_name to mlflow.start_run")


@check("3.2", "each task-3 run logs rmse, mae and r2", METRICS_HINT)
def metrics_logged(ctx):
    task3 = _runs(ctx)
    for run in task3.runs.values():
        ev.require_keys("metric", names.TEST_METRICS, run.data.metrics, ev.label(run), METRICS_HINT)
        ev.require_finite(run.data.metrics, names.TEST_METRICS, ev.label(run))


@check("3.3", "each task-3 run logs a model with a signature whose test predictions "
       "reproduce its metrics", MODEL_HINT, depends=("3.2",))
def models_reproduce_metrics(ctx):
    task3 = _runs(ctx)
    split = ctx.split()
    for run in task3.runs.values():
        model = logged_model(ctx, run, task3)
        test, train = ev.scores(estimator(ctx, model), split)
        ev.compare_to_refit(run.data.metrics, test, train, ev.label(run),
                            "the grader's score of the logged model")


def logged_model(ctx, run, task3: Task3 | None = None):
    """The run's newest model logged under names.MODEL_NAME, with a signature, or Fail."""
    models = ctx.store.logged_models(run)
    if not models:
        crashed = [r for r in (task3.crashed if task3 else [])
                   if "untrusted types" in r.data.tags.get(names.TAG_ERROR, "").lower()]
        raise Fail(f"expected a logged model in {ev.label(run)}, found none",
                   ev.SKOPS_HINT if crashed else MODEL_HINT)
    named = [m for m in models if m.name == names.MODEL_NAME]
    if not named:
        found = ", ".join(f"'{m.name}'" for m in models)
        raise Fail(f"expected a model named '{names.MODEL_NAME}' in {ev.label(run)}, found {found}",
                   "log it with name=names.MODEL_NAME")
    model = named[0]
    if not _has_signature(ctx, model):
        raise Fail(f"expected a signature on the model of {ev.label(run)}, found none",
                   "pass input_example=split.X_test.head(5) to log_model: MLflow infers the "
                   "signature from it")
    return model


def _has_signature(ctx, model) -> bool:
    def read():
        try:
            return bool((read_mlmodel(model_files(ctx, model)).get("signature") or {}).get("inputs"))
        except ModelNotLoadable:
            return False

    return ctx.memo(f"signature:{model.model_id}", read)


def estimator(ctx, model):
    """The model loaded by the safe loader (once per grading), or Fail with the reason."""
    def load():
        try:
            return load_sklearn_model(model, ctx.store.client, model_files(ctx, model))
        except ModelNotLoadable as exc:
            return exc

    loaded = ctx.memo(f"model:{model.model_id}", load)
    if isinstance(loaded, ModelNotLoadable):
        raise Fail(f"expected a model the grader can load, found one that is not: {loaded}",
                   "log it with mlflow.sklearn.log_model(..., **SKLEARN_LOG_OPTIONS): skops format, "
                   "not pickle")
    return loaded


def model_files(ctx, model) -> ModelFiles:
    """The model's files, fetched once per grading: the signature check and the loader share them."""
    return ctx.memo(f"files:{model.model_id}", lambda: ctx.closing(ModelFiles(model, ctx.store.client)))
