"""What a check is, and the decorator a task module registers its checks with.

A check is a small function of the grading context, one per TODO. It returns None
(or a note) when what its description says is true, and raises ``Fail`` with a
rationale ("expected X, found Y") and, where it can tell the likely mistake, a
tailored hint. Its ``hint`` here is the generic next step, shown on a failure.
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
    depends: tuple[str, ...]
    run: Callable
    evidence: Callable | None = None
    quotes: tuple[str, ...] = ()
    names: tuple[str, ...] = ()

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
          evidence: Callable | None = None, quotes=(), names=()):
    """Register the decorated function as the check of TODO ``check_id``."""

    def register(func: Callable) -> Callable:
        if check_id in REGISTERED:
            raise ValueError(f"check {check_id} is registered twice")
        REGISTERED[check_id] = Check(check_id, description, hint, tuple(depends), func, evidence,
                                     tuple(quotes), tuple(names))
        return func

    return register
