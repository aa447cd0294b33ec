"""What the checks share: finding the runs that hold a TODO's evidence, naming crashes and
stray runs, and comparing a logged number with the grader's own without giving it away."""

from __future__ import annotations

import difflib
import math
import re
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Callable

from grader.errors import Fail, Waits, quote
from labkit.lab import DEFAULT_EXPERIMENT, SCRIPTS, TAG_ERROR
from labkit.i18n import Domain

_, N_, _n = Domain("grader").functions()

FINISHED = "FINISHED"
# A value rounded to 3 decimals (as the scripts' summaries print them) is at most this far
# from the exact one: the student's rounding is accepted, a different number is not.
ABS_TOL = 0.0005 + 1e-9
REL_TOL = 1e-6
SAME_EXECUTION_MS = 60_000  # a stray run this soon after a graded run came from the same script run
SKOPS_HINT = N_("skops refused to save a tree model: it saves only the types it is told to trust, and "
                "SKOPS_TRUSTED_TYPES lists the trees' type: give that list to the model's logging call "
                "(its skops_trusted_types argument), then run task 3 again")
UNTRUSTED = re.compile(r"[Uu]ntrusted types found in the file: (?P<types>\[[^\]]*\])")
TRAIN_SPLIT_HINT = N_("compute the metrics on the test split: predict X_test and compare with y_test")


def label(run) -> str:
    """``run 'name'``, with its status when it did not finish."""
    status = run.info.status
    return f"run '{run.info.run_name}'" + ("" if status == FINISHED else f" ({status})")


def names(runs) -> str:
    """``'a', 'b'``: each run name once, with how many runs carry it when more than one."""
    counts: dict[str, int] = {}
    for run in runs:
        counts[run.info.run_name] = counts.get(run.info.run_name, 0) + 1
    return ", ".join(f"'{name}'" if count == 1 else _("'{name}' ({count} runs)", name=name, count=count)
                     for name, count in counts.items())


def start(run) -> int:
    return run.info.start_time or 0


def ordered(runs) -> list:
    """Finished runs first, then the others; newest first within each."""
    return sorted(runs, key=lambda r: (r.info.status == FINISHED, start(r)), reverse=True)


def _error(run) -> str:
    """The lab's one-line reading of the error the crash note saved on the run, or "" (the
    error itself is quoted whole under the verdict: grader/errors.py)."""
    error = (run.data.tags.get(TAG_ERROR) or "").strip()
    return quote(error, reading(error)) if error else ""


def reading(error: str) -> str | None:
    """The lab's reading of an error it knows (``Type: message``), else None."""
    untrusted = UNTRUSTED.search(error)
    if untrusted:
        return _("{error_type}: skops refused to save types it was not told to trust: {types}",
                 error_type=error.split(":", 1)[0], types=untrusted["types"])
    return None


def ended_plainly(run) -> bool:
    """A run that is not running and holds no error: its status says all there is."""
    return run.info.status != "RUNNING" and not _error(run)


def what_happened(run) -> str:
    """``crashed with KeyError: 'x'``, ``is still RUNNING …`` or ``ended KILLED``."""
    if run.info.status == "RUNNING":
        return _("is still RUNNING (or its script was killed)")
    error = _error(run)
    if error.rstrip(":") == "KeyboardInterrupt":  # Ctrl+C (older crash notes kept a colon)
        return _("was stopped with Ctrl+C")
    if error:
        return _("crashed with {error}", error=error)
    return _("ended {status}", status=run.info.status)


def crash(run) -> str:
    """What happened to a run that did not finish, in the student's words."""
    return _("run '{name}' {happened}", name=run.info.run_name, happened=what_happened(run))


def crash_hint(run, task: str) -> str:
    """The next step after a run that crashed or never ended."""
    if "untrusted types" in (run.data.tags.get(TAG_ERROR) or "").lower():
        return str(SKOPS_HINT)
    if run.info.status == "RUNNING":
        return _("let {script} finish (or stop it), then run it again", script=SCRIPTS[task])
    return _("fix that error, then run {script} again", script=SCRIPTS[task])


# The runs the verdicts in a ``recording()`` block were given (grader/core.py reports them).
_graded: ContextVar[list | None] = ContextVar("graded", default=None)


@contextmanager
def recording():
    """Collect the runs the verdicts of this block grade: every verdict on runs hands them
    to ``crash_note``, which notes them here."""
    taken: list = []
    token = _graded.set(taken)
    try:
        yield taken
    finally:
        _graded.reset(token)


def crash_note(graded, candidates) -> str | None:
    """Say when a verdict counts a crashed run, or uses runs older than a newer crash.
    ``graded`` are the runs the verdict stands on (noted for ``recording``)."""
    graded = list(graded)
    taken = _graded.get()
    if taken is not None:
        taken.extend(graded)
    notes = [_("{crash}; what it logged before counts", crash=crash(r)) for r in graded if r.info.status != FINISHED]
    crashed = [r for r in ordered(candidates) if r.info.status != FINISHED and r not in graded]
    if crashed:
        newest = max(crashed, key=start)
        older = [r for r in graded if start(r) < start(newest)]
        if older:
            notes.append(_("{crash}; graded the earlier {runs} from before it", crash=crash(newest),
                           runs=names(older)))
    return "; ".join(notes) or None


@dataclass
class Found:
    """The runs that stand for one expected run: by name where the TODO gives one."""

    runs: list  # newest first
    experiment: str | None  # where they are
    named: bool  # they carry the expected name
    others: list = field(default_factory=list)  # the other runs looked at (strays)


def find_runs(ctx, experiment: str, name: str | None, fallback: Callable | None = None,
              elsewhere: bool = False) -> Found:
    """The runs named ``name`` in ``experiment``; else the runs ``fallback`` accepts there
    (every run when it is None). With ``elsewhere``, then the same in Default and in
    experiments whose name is a letter or two off."""
    places = [experiment, DEFAULT_EXPERIMENT, *lookalikes(ctx, experiment)] if elsewhere else [experiment]
    for place in places:
        runs = ctx.store.runs(place)
        named = [r for r in runs if name is not None and r.info.run_name == name]
        if named:
            return Found(named, place, True, [r for r in runs if r not in named])
        rest = [r for r in runs if fallback is None or fallback(r)]
        if rest:
            return Found(rest, place, False, [r for r in runs if r not in rest])
    return Found([], None, False, [])


def lookalikes(ctx, experiment: str) -> list[str]:
    """Experiment names in the store that are close to ``experiment`` but not it."""
    found = [n for n in ctx.store.experiment_names() if n != experiment]
    return [n for n in found if n.lower() == experiment.lower()
            or difflib.SequenceMatcher(None, n.lower(), experiment.lower()).ratio() >= 0.85]


def first_passing(runs, test: Callable):
    """The first of ``runs`` (finished first, newest first) that passes ``test``; else the
    newest finished run's failure (a failure that waits for another TODO only when every
    run's does)."""
    failures = []
    for run in ordered(runs):
        try:
            test(run)
            return run
        except Fail as failure:
            failures.append(failure)
    raise next((f for f in failures if not isinstance(f, Waits)), failures[0])


@dataclass(frozen=True)
class Part:
    """What an earlier TODO put in a run (``held(run)``), which the run that holds a later
    TODO's evidence must hold too: ``what`` names it ("TODO 1.3's params")."""

    todo: str
    what: Callable[[], str]  # called when needed, in the language chosen then
    held: Callable


def one_run(runs, test: Callable, parts: list[Part], own: str):
    """The run that holds a TODO's evidence (``own`` names it) together with the ``parts``
    that earlier TODOs put in that run: the first run that passes ``test`` among those that
    hold every part some run holds (a part no run holds is graded by its own TODO). When only
    a run without those parts passes, Fail naming both runs and what the one lacks."""
    pool, asked = list(runs), []
    for part in parts:
        holding = [r for r in pool if part.held(r)]
        if holding:
            pool, asked = holding, [*asked, part]
    try:
        return first_passing(pool, test)
    except Waits:
        raise
    except Fail:
        for run in ordered([r for r in runs if r not in pool]):
            try:
                test(run)
            except Fail:
                continue
            holder = ordered(pool)[0]
            lacking = ", ".join(p.what() for p in asked if not p.held(run))
            found, expected = distinct(run, holder)
            raise Fail(_("expected {own} in the run that holds {parts}, {holder}; found them in {run}, "
                         "which lacks {parts}", own=own, parts=lacking, holder=expected, run=found),
                       _("log them in one run: everything of this run inside one `with mlflow.start_run(...)` "
                         "block (a second start_run, or end_run, in between splits it in two)")) from None
        raise


def distinct(a, b) -> tuple[str, str]:
    """Labels for two runs; with their ids when their names alone would read the same."""
    la, lb = label(a), label(b)
    if la == lb:
        la, lb = f"{la} ({a.info.run_id[:8]})", f"{lb} ({b.info.run_id[:8]})"
    return la, lb


def stray_hint(graded, others, kind: str, keys) -> str | None:
    """Where logged ``kind`` ("params" or "metrics") went when the graded runs lack them."""
    for other in ordered(others):
        held = [k for k in keys if k in getattr(other.data, kind)]
        if not held:
            continue
        after = any(r.info.end_time and 0 <= start(other) - r.info.end_time <= SAME_EXECUTION_MS
                    for r in graded)
        why = _("it was logged after the `with` block ended") if after else _("it was logged outside the run")
        values = dict(keys=", ".join(held), run=label(other), why=why)
        if kind == "params":
            return _("your param {keys} went to {run}: {why}; move the "
                     "mlflow.log_param calls inside `with mlflow.start_run(...)`", **values)
        return _("your metric {keys} went to {run}: {why}; move the "
                 "mlflow.log_metric calls inside `with mlflow.start_run(...)`", **values)
    return None


def near_misses(wanted: str, present) -> list[str]:
    """Logged keys that look like ``wanted`` with another case, prefix or suffix (RMSE, test_rmse)."""
    return [k for k in present if k != wanted and wanted.lower() in k.lower()]


def require_keys(kind: str, wanted, present: dict, where: str, hint: str) -> None:
    """Fail unless every key in ``wanted`` is logged; name look-alikes when there are some."""
    missing = [k for k in wanted if k not in present]
    if not missing:
        return
    found = ", ".join(sorted(present)) or _("none")
    look_alikes = {k: near_misses(k, present) for k in missing}
    pairs = ", ".join(_("{logged} for {key}", logged=v[0], key=k) for k, v in look_alikes.items() if v)
    if pairs:
        hint = _("you logged {pairs}: names are exact and case-sensitive, log them as the TODO spells them",
                 pairs=pairs)
    values = dict(keys=", ".join(missing), run=where, found=found)
    if kind == "param":
        rationale = _n("expected param {keys} in {run}, found: {found}",
                       "expected params {keys} in {run}, found: {found}", len(missing), **values)
    else:
        rationale = _n("expected metric {keys} in {run}, found: {found}",
                       "expected metrics {keys} in {run}, found: {found}", len(missing), **values)
    raise Fail(rationale, hint)


def require_finite(metrics: dict, keys, where: str) -> None:
    bad = [k for k in keys if not math.isfinite(metrics[k])]
    if bad:
        shown = ", ".join(f"{k}={metrics[k]}" for k in bad)
        raise Fail(_("expected finite numbers in {run}, found {found}", run=where, found=shown),
                   _("log the values your code computed; check for a division by zero or NaN"))


def same(a: float, b: float) -> bool:
    """Equal, up to the rounding of 3 decimals."""
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def how_far(found: float, expected: float) -> str:
    """``12 % above`` or ``less than 1 % below``: how far off, never the value itself."""
    above = found > expected
    if expected == 0:
        return _("above") if above else _("below")
    percent = abs(found - expected) / abs(expected) * 100
    if percent >= 1:
        return (_("{percent:.0f} % above", percent=percent) if above
                else _("{percent:.0f} % below", percent=percent))
    return _("less than 1 % above") if above else _("less than 1 % below")


def compare_metrics(logged: dict, keys, test: dict, train: Callable[[], dict], where: str, of: str,
                    hint: str, guess: Callable[[str], tuple[str, str] | None] | None = None) -> None:
    """Fail unless each logged metric equals the test-split metric of ``of`` (to 3 decimals).

    The rationale says how far off it is and what it was probably computed on (``train()``
    gives the metrics on the training split); it never prints the number to type. ``guess(key)`` may name a likelier cause (rationale tail, hint).
    """
    for key in keys:
        found, expected = logged[key], test[key]
        if same(found, expected):
            continue
        rationale = _("expected the test-split {key} of {of}, found {found:.6g} in {run}: {how_far} it",
                      key=key, of=of, found=found, run=where, how_far=how_far(found, expected))
        if same(found, train()[key]):
            raise Fail(rationale + _(", equal to the training-split {key}: the training split?", key=key),
                       str(TRAIN_SPLIT_HINT))
        cause = guess(key) if guess else None
        if cause:
            raise Fail(f"{rationale}; {cause[0]}", cause[1])
        raise Fail(rationale, hint)
