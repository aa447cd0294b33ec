"""The registry of checks: one per TODO, each with its id, description, dependencies and hint.

A check is a small function of the grading context. It returns None (or a note) when
what its description says is true, and raises ``Fail`` with a rationale ("expected X,
found Y") and, where it can tell the likely mistake, a tailored hint. Its ``hint`` in
the registry is the generic next step, shown when the check fails or is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


class Fail(Exception):
    """A check that failed: ``rationale`` says what was expected and found."""

    def __init__(self, rationale: str, hint: str | None = None) -> None:
        super().__init__(rationale)
        self.rationale = rationale
        self.hint = hint


@dataclass(frozen=True)
class Check:
    id: str
    description: str
    hint: str
    depends: tuple[str, ...]
    run: Callable

    @property
    def task(self) -> str:
        return "task" + self.id.split(".")[0]


CHECKS: dict[str, Check] = {}


def check(check_id: str, description: str, hint: str, depends: tuple[str, ...] = ()):
    """Register the decorated function as the check of TODO ``check_id``."""

    def register(func: Callable) -> Callable:
        if check_id in CHECKS:
            raise ValueError(f"check {check_id} is registered twice")
        CHECKS[check_id] = Check(check_id, description, hint, tuple(depends), func)
        return func

    return register


def sort_key(check_id: str) -> tuple[int, ...]:
    return tuple(int(part) for part in check_id.split("."))


def all_checks() -> list[Check]:
    """Every check, in TODO order (importing the task modules registers them)."""
    from grader import task1, task2, task3, task4  # noqa: F401 - they register on import

    return [CHECKS[i] for i in sorted(CHECKS, key=sort_key)]


def checks_for(tasks: list[str]) -> list[Check]:
    return [c for c in all_checks() if c.task in tasks]


def with_dependencies(checks: list[Check]) -> list[Check]:
    """The checks plus every check they depend on, directly or not, in TODO order."""
    wanted: set[str] = set()
    pending = [c.id for c in checks]
    while pending:
        check_id = pending.pop()
        if check_id not in wanted:
            wanted.add(check_id)
            pending.extend(CHECKS[check_id].depends)
    return [CHECKS[i] for i in sorted(wanted, key=sort_key)]


def dependents_of(check_id: str) -> set[str]:
    """Every check that waits for ``check_id``, directly or through another check."""
    found: set[str] = set()
    for check in all_checks():
        stack = list(check.depends)
        while stack:
            dep = stack.pop()
            if dep == check_id:
                found.add(check.id)
                break
            stack.extend(CHECKS[dep].depends)
    return found
