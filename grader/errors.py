"""The ways grading stops short of a pass: a TODO that fails, a TODO that waits for another,
or a store that cannot be graded; and how a library's error is said: once, whole, after the
lab's one-line reading of it.

A verdict's text shows the short reading (``quote``); the error itself, whole, is kept beside
it (``quoting``), and the renderers quote it under the verdict, once however many TODOs it affects.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

SHORT_ERROR = 120  # characters: a reading longer than this is cut at a word, and the rest quoted


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


# The errors read in the current ``quoting()`` block: short reading -> the whole error.
_quotes: ContextVar[dict[str, str] | None] = ContextVar("quotes", default=None)


@contextmanager
def quoting():
    """Collect the errors ``quote`` reads in this block (short reading -> whole error)."""
    found: dict[str, str] = {}
    token = _quotes.set(found)
    try:
        yield found
    finally:
        _quotes.reset(token)


def quote(error: str, reading: str | None = None) -> str:
    """What a verdict says of ``error`` (a library's message, as it was raised): ``reading``, the
    lab's one-line reading of it, else its first sentence in whole words. When that is not the
    whole error, the error is kept to be quoted whole under the verdict."""
    error = str(error).strip()
    short = reading or first_sentence(error)
    if short != error:
        found = _quotes.get()
        if found is not None:
            found[short] = error
    return short


def quoted_in(found: dict[str, str], *texts: str | None) -> list[str]:
    """The whole errors whose reading one of ``texts`` shows, in the order they were read."""
    shown = "\n".join(t for t in texts if t)
    return list(dict.fromkeys(whole for short, whole in found.items() if short in shown))


def first_sentence(error: str, limit: int = SHORT_ERROR) -> str:
    """The first line of ``error`` up to its first full stop, cut at a word (``…``) when longer
    than ``limit``."""
    line = (error.splitlines() or [""])[0].strip()
    end = line.find(". ")
    if end != -1:
        line = line[:end + 1]
    if len(line) <= limit:
        return line
    cut = line.rfind(" ", 0, limit)
    return line if cut <= 0 else line[:cut].rstrip(" ,;:") + " …"  # one long word stays whole
