"""The two ways grading stops short of a pass: a TODO that fails, or a store that cannot be graded."""

from __future__ import annotations


class CannotGrade(Exception):
    """Nothing can be graded; the message is one line that names the fix."""


class Fail(Exception):
    """A check that failed: ``rationale`` says what was expected and found, ``hint`` what to do."""

    def __init__(self, rationale: str, hint: str | None = None) -> None:
        super().__init__(rationale)
        self.rationale = rationale
        self.hint = hint
