"""What a check is, and the decorator a task module registers its checks with.

A check is a small function of the grading context, one per TODO. It returns None
(or a note) when what its description says is true, and raises ``Fail`` with a
rationale ("expected X, found Y") and, where it can tell the likely mistake, a
tailored hint. Its ``hint`` here is the generic next step, shown on a failure.

How a TODO stands to the others (one mistake costs one TODO):

- ``needs``: the TODOs without whose evidence this TODO's evidence cannot exist (no
  model to link metrics to, no pick to register, no version to alias). The check raises
  ``Waits(todo, ...)`` when it meets that absence, and the TODO is skipped until that
  TODO passes. This is the only way a TODO is skipped.
- ``depends``: the TODOs it builds on: the earlier TODOs whose evidence sits in the same
  run (1.4's metrics in the run that holds 1.3's params: ``grader.evidence.one_run``),
  and a ``needs`` TODO that left evidence but did not pass. The TODO is still graded
  on its own evidence; when it passes while one of them did not, a note names it.

Both are walked (``after``) to grade the TODOs a task's TODOs build on first.
``evidence`` says, for a TODO that is skipped, whether what it asks for is already
in the store (a short phrase, or None when it is not). ``quotes`` and ``names`` are what
the TODO's text in the script must show: the strings the check looks for (quoted) and
the script's constants or variables that hold them (test/test_contract.py holds both).

Descriptions and hints are made at import with ``N_`` (the lab's i18n module), since
``--lang`` is parsed after the import: ``Check.description`` and ``Check.hint`` give
them in the language chosen at the moment they are read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from labkit.i18n import Lazy


@dataclass(frozen=True)
class Check:
    id: str
    description_message: Lazy | str  # N_("..."): translated each time it is read
    hint_message: Lazy | str
    depends: tuple[str, ...]  # built on: graded anyway, a note names them when they did not pass
    run: Callable
    evidence: Callable | None = None
    quotes: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()  # waited for: skipped (Waits) when their evidence is not there

    @property
    def after(self) -> tuple[str, ...]:
        """Every TODO this one builds on or waits for: graded before it."""
        return tuple(dict.fromkeys((*self.needs, *self.depends)))

    @property
    def description(self) -> str:
        """What is true when the check passes, in the language chosen now."""
        return str(self.description_message)

    @property
    def hint(self) -> str:
        """The generic next step shown on a failure, in the language chosen now."""
        return str(self.hint_message)

    @property
    def task(self) -> str:
        return task_of(self.id)


def task_of(check_id: str) -> str:
    return "task" + check_id.split(".")[0]


def sort_key(check_id: str) -> tuple[int, ...]:
    return tuple(int(part) for part in check_id.split("."))


REGISTERED: dict[str, Check] = {}


def check(check_id: str, description: Lazy | str, hint: Lazy | str, depends: tuple[str, ...] = (),
          evidence: Callable | None = None, quotes=(), names=(), needs: tuple[str, ...] = ()):
    """Register the decorated function as the check of TODO ``check_id``."""

    def register(func: Callable) -> Callable:
        if check_id in REGISTERED:
            raise ValueError(f"check {check_id} is registered twice")
        REGISTERED[check_id] = Check(check_id, description, hint, tuple(depends), func, evidence,
                                     tuple(quotes), tuple(names), tuple(needs))
        return func

    return register
