"""Grade the lab's TODOs from the tracking store: ``grade(tasks) -> Report``.

The grader reads the store and never writes to it. It raises ``CannotGrade``, whose
message is one line that names the fix, when there is nothing it can grade. With
``as_of`` (a deadline, grader/deadline.py) it sees only what was made by then. Each
passing TODO names the runs it stood on, with where MLflow says they were logged from
(the tag ``mlflow.source.name``: the script's path as it was run).

Every text of a CheckResult is a plain ``str`` in the language chosen when it was made
(the lab's i18n module): descriptions and hints made at import (``N_``) are turned into text here.
"""

from __future__ import annotations

import traceback
import warnings
from dataclasses import dataclass, field
from datetime import datetime

from grader import evidence as ev
from grader import hint_levels
from grader.checks import Check, task_of
from grader.context import Context, Kept
from grader.deadline import to_millis
from grader.errors import CannotGrade, Fail, Waits, quote, quoted_in, quoting
from grader.registry import TASKS, checks_for, with_dependencies
from grader.store import cannot_grade_from, open_store
from labkit.i18n import Domain, text

_, N_, _n = Domain("grader").functions()

PASS, FAIL, SKIP = "pass", "fail", "skip"
SOURCE_TAG = "mlflow.source.name"  # what MLflow records as the script a run was logged from


@dataclass(frozen=True)
class Evidence:
    """A run a passing TODO stood on, and the script MLflow says logged it."""

    run_id: str
    run_name: str | None
    source: str | None

    @classmethod
    def of(cls, run) -> "Evidence":
        return cls(run.info.run_id, run.info.run_name, run.data.tags.get(SOURCE_TAG))


@dataclass
class CheckResult:
    id: str
    description: str
    points: int
    max_points: int
    status: str  # "pass", "fail" or "skip"
    rationale: str | None = None
    hint: str | None = None
    note: str | None = None
    depends: tuple[str, ...] = ()
    evidence: list[Evidence] = field(default_factory=list)  # the runs a pass stood on
    errors: list[str] = field(default_factory=list)  # the errors its texts read, each whole (errors.quote)
    hint_level: int = 0  # the level of help asked for with --hint (grader/hints.py)
    debug: str | None = field(default=None, repr=False)  # a traceback, for --debug only

    @property
    def task(self) -> str:
        return task_of(self.id)


@dataclass
class Report:
    tasks: list[str]
    tracking_uri: str
    results: list[CheckResult]
    as_of: datetime | None = None  # the deadline, when grading saw only what was made by then
    late_runs: int = 0  # runs the deadline left out (ended after it, or never)

    @property
    def score(self) -> int:
        return sum(r.points for r in self.results)

    @property
    def max_score(self) -> int:
        return sum(r.max_points for r in self.results)

    @property
    def all_passed(self) -> bool:
        return all(r.status == PASS for r in self.results)


def parse_tasks(names: list[str]) -> list[str]:
    """``["all"]`` or task names, checked; unknown names cannot be graded."""
    tasks: list[str] = []
    for name in names:
        if name == "all":
            tasks.extend(TASKS)
        elif name in TASKS:
            tasks.append(name)
        else:
            raise CannotGrade(_("Unknown task {name!r}. Did you mean one of {tasks} or all?", name=name,
                                tasks=", ".join(TASKS)))
    return [t for t in TASKS if t in tasks]


def grade(tasks: list[str], tracking_uri: str | None = None, as_of: datetime | None = None,
          kept: Kept | None = None) -> Report:
    """Grade the TODOs of ``tasks`` ("task1".."task4" or "all") in the lab's store; with
    ``as_of`` (time-zone aware), only what was made by then counts. ``kept`` carries what one
    grade can hand the next (grader/watch.py): the same verdicts, sooner."""
    tasks = parse_tasks(list(tasks))
    wanted = checks_for(tasks)
    deadline = to_millis(as_of) if as_of is not None else None
    snapshot = kept.snapshot if kept is not None else None
    with warnings.catch_warnings(), open_store(tracking_uri, deadline, snapshot) as store, quoting() as quotes:
        warnings.simplefilter("ignore")  # MLflow's deprecation notices are not the student's
        context = Context(store, kept)
        results: dict[str, CheckResult] = {}
        try:
            for check in with_dependencies(wanted):
                result = results[check.id] = evaluate(check, context, results)
                result.errors = quoted_in(quotes, result.rationale, result.hint, result.note)
            levels = hint_levels.read(store)
        finally:
            context.close()
    for check_id, level in levels.items():
        if check_id in results:
            results[check_id].hint_level = level
    return Report(tasks, store.uri, [results[c.id] for c in wanted], as_of, len(store.late))


def evaluate(check: Check, context: Context, done: dict[str, CheckResult]) -> CheckResult:
    """Run one check. It is skipped only when its evidence cannot exist without a TODO it
    needs (the check raises ``Waits``); otherwise it is graded on its own evidence, and a
    pass names in a note the TODOs it builds on that did not pass."""
    result = CheckResult(check.id, check.description, 0, 1, SKIP, depends=check.after)
    try:
        with ev.recording() as taken:
            note = check.run(context)
    except Waits as waiting:
        return skipped(result, check, context, [waiting.todo])
    except Fail as failure:
        result.status, result.rationale = FAIL, text(failure.rationale)
        result.hint = text(failure.hint) or check.hint
    except CannotGrade:
        raise
    except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
        cannot = cannot_grade_from(exc, context.store.uri)
        if cannot is not None:
            raise cannot from exc
        result.status = FAIL
        result.rationale = _("the grader could not check this ({error})",
                             error=quote(f"{type(exc).__name__}: {exc}"))
        result.hint = _("run the task again; if this stays, show this message to your instructor")
        result.debug = traceback.format_exc()
        return result
    else:
        result.status, result.points = PASS, 1
        result.evidence = list(dict.fromkeys(Evidence.of(run) for run in taken))
        behind = [d for d in check.after if done[d].status != PASS]  # a failure says enough
        notes = [text(note), behind_note(behind)]
        result.note = "; ".join(n for n in notes if n) or None
    return result


def behind_note(behind: list[str]) -> str | None:
    """``graded on its own evidence: TODO 1.3 did not pass`` (None when every one passed)."""
    if not behind:
        return None
    todos = behind[0] if len(behind) == 1 else _("{first} and {last}", first=", ".join(behind[:-1]),
                                                    last=behind[-1])
    return _n("graded on its own evidence: TODO {todos}, which it builds on, did not pass",
              "graded on its own evidence: TODOs {todos}, which it builds on, did not pass", len(behind),
              todos=todos)


def skipped(result: CheckResult, check: Check, context: Context, waiting: list[str]) -> CheckResult:
    """A skip says what it waits for, and whether this TODO's own evidence is in the store yet."""
    todos = waiting[0] if len(waiting) == 1 else _("{first} and {last}", first=", ".join(waiting[:-1]),
                                                      last=waiting[-1])
    result.rationale = _n("skipped until {todos} passes", "skipped until {todos} pass", len(waiting),
                          todos=todos)
    try:
        present = check.evidence(context) if check.evidence else None
    except Exception:  # noqa: BLE001 - a probe for a hint never stops the grading
        present = None
    if present:
        result.hint = _n("already in the store: {present}; it is checked once {todos} passes",
                         "already in the store: {present}; it is checked once {todos} pass", len(waiting),
                         present=present, todos=todos)
    else:
        result.hint = _("nothing of TODO {id} is in the store yet: finish {todos} first, then this one",
                        id=check.id, todos=todos)
    return result
