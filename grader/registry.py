"""The TODO registry: every check, one per TODO, and the one list of TODO ids.

Everything that counts or lists TODOs (the gradebook's columns, the tests, the bench,
the docs' checks) asks this module; only the task modules that hold a TODO's check
name its id. Each check carries how it stands to the others: ``needs`` (skipped while
their evidence is missing) and ``depends`` (graded anyway, a note on a pass names them);
grader/checks.py says how. A TODO ``depends`` on the TODOs whose things it expects in the same
run (1.4's metrics sit in the run with 1.3's params; each check declares them). The skips,
the rules a student sees most, per TODO:

    3.3: needs 3.2 (a model to attach the metrics to)
    4.1: needs 3.3 (r2 to judge the pick by)           4.2: needs 4.1 (a pick), 3.2 (its model)
    4.3: needs 4.2 (a version to alias)                4.4: needs 4.3 (a staging model to score)
"""

from __future__ import annotations

from grader import task1, task2, task3, task4  # noqa: F401 - each registers its checks
from grader.checks import REGISTERED, Check, sort_key, task_of

TASKS = ("task1", "task2", "task3", "task4")
CHECKS: dict[str, Check] = {i: REGISTERED[i] for i in sorted(REGISTERED, key=sort_key)}


def all_checks() -> list[Check]:
    """Every check, in TODO order."""
    return list(CHECKS.values())


def todo_ids(tasks=TASKS) -> list[str]:
    """The TODO ids of ``tasks`` (all of them by default), in order."""
    return [i for i in CHECKS if task_of(i) in tasks]


def checks_for(tasks: list[str]) -> list[Check]:
    return [CHECKS[i] for i in todo_ids(tasks)]


def with_dependencies(checks: list[Check], registry: dict[str, Check] = CHECKS) -> list[Check]:
    """The checks plus every check they depend on, directly or not, in TODO order."""
    wanted: set[str] = set()
    pending = [c.id for c in checks]
    while pending:
        check_id = pending.pop()
        if check_id not in wanted:
            wanted.add(check_id)
            pending.extend(registry[check_id].after)
    return [registry[i] for i in sorted(wanted, key=sort_key)]


def dependents_of(check_id: str, registry: dict[str, Check] = CHECKS) -> set[str]:
    """Every check graded after ``check_id`` because it builds on it or waits for it,
    directly or through another check."""
    found: set[str] = set()
    for other in registry.values():
        seen: set[str] = set()
        stack = list(other.after)
        while stack:
            dep = stack.pop()
            if dep in seen:
                continue
            seen.add(dep)
            if dep == check_id:
                found.add(other.id)
                break
            stack.extend(registry[dep].after)
    return found
