"""The ways grading stops short of a pass: a TODO that fails, a TODO that waits for another,
or a store that cannot be graded."""

from __future__ import annotations


class CannotGrade(Exception):
    """Nothing can be graded; the message is one line that names the fix."""


class Fail(Exception):
    """A check that failed: ``rationale`` says what was expected and found, ``hint`` what to do."""

    def __init__(self, rationale: str, hint: str | None = None) -> None:
        super().__init__(rationale)
        self.rationale = rationale
        self.hint = hint


class Waits(Fail):
    """A check whose evidence cannot exist without another TODO's, which is not in the store
    (no model to link metrics to, no pick, no registered version): the TODO is skipped until
    ``todo`` passes. ``todo`` is one of the check's ``needs``; ``rationale`` says what is missing."""

    def __init__(self, todo: str, rationale: str) -> None:
        super().__init__(rationale)
        self.todo = todo
