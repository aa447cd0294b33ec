"""Small helpers the checks share: naming runs, reading metrics, comparing numbers, crash hints."""

from __future__ import annotations

import math

from grader.registry import Fail
from labkit import names

REL_TOL = 1e-6
ABS_TOL = 1e-6
FINISHED = "FINISHED"
SCRIPTS = {
    "task1": "code/task1_baseline.py",
    "task2": "code/task2_sweep.py",
    "task3": "code/task3_compare.py",
    "task4": "code/task4_registry.py",
}
SKOPS_HINT = (
    "skops refused to save a tree model: pass **SKLEARN_LOG_OPTIONS to "
    "mlflow.sklearn.log_model (it trusts sklearn.tree._tree.Tree), then run task 3 again"
)


def label(run) -> str:
    return f"run '{run.info.run_name}'"


def newest_first(runs) -> list:
    return sorted(runs, key=lambda r: (r.info.start_time or 0, r.info.end_time or 0), reverse=True)


def finished(runs) -> list:
    return [r for r in newest_first(runs) if r.info.status == FINISHED]


def unfinished_newer_than(runs, graded) -> list:
    """Runs that crashed or still run, newer than the run being graded (all if None)."""
    start = graded.info.start_time if graded is not None else -1
    return [r for r in newest_first(runs)
            if r.info.status != FINISHED and (r.info.start_time or 0) > start]


def crash_hint(run, task: str) -> str:
    """The next step for a run that crashed or never ended."""
    error = run.data.tags.get(names.TAG_ERROR, "")
    if "untrusted types" in error.lower():
        return SKOPS_HINT
    if run.info.status == "RUNNING":
        return (f"{label(run)} is still RUNNING: let {SCRIPTS[task]} finish (or stop it), "
                f"then run it again")
    detail = f" with {error.splitlines()[0]}" if error else ""
    return f"{label(run)} ended {run.info.status}{detail}: fix that error, then run {SCRIPTS[task]} again"


def crash_note(run, graded, task: str) -> str:
    return f"your newest {label(run)} is {run.info.status}; graded the newest finished {label(graded)}"


def no_run(what: str, task: str, crashed: list) -> Fail:
    """The failure for a task whose runs are missing, with the crash hint if one crashed."""
    found = "no finished run"
    if crashed:
        found += f" ({label(crashed[0])} is {crashed[0].info.status})"
        return Fail(f"expected {what}, found {found}", crash_hint(crashed[0], task))
    return Fail(f"expected {what}, found {found}", f"run {SCRIPTS[task]}, then grade again")


def near_misses(wanted: str, present) -> list[str]:
    """Logged keys that look like ``wanted`` with another case, prefix or suffix (RMSE, test_rmse)."""
    wanted_lower = wanted.lower()
    return [k for k in present if k != wanted and wanted_lower in k.lower()]


def require_keys(kind: str, wanted, present: dict, where: str, hint: str) -> None:
    """Fail unless every key in ``wanted`` is logged; name look-alikes when there are some."""
    missing = [k for k in wanted if k not in present]
    if not missing:
        return
    found = ", ".join(sorted(present)) or "none"
    look_alikes = {k: near_misses(k, present) for k in missing}
    look_alikes = {k: v for k, v in look_alikes.items() if v}
    if look_alikes:
        pairs = ", ".join(f"{v[0]} for {k}" for k, v in look_alikes.items())
        hint = (f"you logged {pairs}: names are exact and case-sensitive, use the constants in "
                f"labkit.names ({', '.join(repr(k) for k in look_alikes)})")
    plural = "s" if len(missing) > 1 else ""
    raise Fail(f"expected {kind}{plural} {', '.join(missing)} in {where}, found: {found}", hint)


def require_finite(metrics: dict, keys, where: str) -> None:
    bad = [k for k in keys if not math.isfinite(metrics[k])]
    if bad:
        shown = ", ".join(f"{k}={metrics[k]}" for k in bad)
        raise Fail(f"expected finite numbers in {where}, found {shown}",
                   "log the values your code computed; check for a division by zero or NaN")


def same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def compare_to_refit(logged: dict, test: dict, train: dict, where: str, source: str) -> None:
    """Fail unless the logged metrics equal the grader's own numbers on the test split.

    ``source`` says where the grader's numbers come from ("a re-fit from its params").
    """
    for key in names.TEST_METRICS:
        if key not in logged or same(logged[key], test[key]):
            continue
        if same(logged[key], train[key]):
            raise Fail(
                f"expected {key} {test[key]:.6g} on the test split ({source}), found "
                f"{logged[key]:.6g}, the value on the training split",
                "compute the metrics on the test split: predict split.X_test and compare "
                "with split.y_test",
            )
        raise Fail(
            f"expected {key} {test[key]:.6g} ({source}), found {logged[key]:.6g} in {where}",
            "log the metrics your code computed on the test split (the dict `metrics`), "
            "not numbers typed by hand",
        )


def scores(model, split) -> tuple[dict, dict]:
    """The model's metrics on the test split and on the training split."""
    from labkit.metrics import regression_metrics

    test = regression_metrics(split.y_test, model.predict(split.X_test))
    train = regression_metrics(split.y_train, model.predict(split.X_train))
    return test, train
