"""The lines of each TODO's solution body, as a student must work them out: read from
solutions/ between ``# BEGIN TODO`` (after its instruction and hint lines) and
``# END TODO`` or ``# STUB``, each with its comment and trailing comma dropped and its
whitespace removed, so ``mlflow.log_params( other_params )`` and
``mlflow.log_params(other_params)`` read the same. Lines with no name in them (``)``) say
nothing and are left out, and so are bare names (``model``, an argument on its own line).

``leaks(text, todo_id)`` names the solution lines of a TODO that a text shows.
"""

from __future__ import annotations

import io
import re
import tokenize
from functools import lru_cache
from pathlib import Path

from labkit.maintainers.markers import parse
from labkit.paths import SOLUTIONS_DIR

CODE = re.compile(r"[A-Za-z_]\w*\s*[=(.\[]")  # a line worth counting does something: a call, an assignment...


def squeeze(text: str) -> str:
    """``text`` with every whitespace character removed."""
    return re.sub(r"\s+", "", text)


def code_of(line: str) -> str:
    """A source line without its comment (strings may hold a #)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(line.strip() + "\n").readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return line.split("  #")[0]
    comments = [t for t in tokens if t.type == tokenize.COMMENT]
    return line.strip()[: comments[0].start[1]] if comments else line.strip()


def solution_bodies(solutions: Path = SOLUTIONS_DIR) -> dict[str, list[str]]:
    """TODO id -> the source lines of its solution body, as written (the lines the stub replaces):
    the suite's one reader of them (test_fading compares them with the TODO texts)."""
    out = {}
    for script in sorted(solutions.glob("task*.py")):
        for region in parse(script.read_text(encoding="utf-8").splitlines(keepends=True), str(script)):
            out[region.todo_id] = region.solution
    return out


@lru_cache(maxsize=None)
def solution_lines() -> dict[str, tuple[str, ...]]:
    """TODO id -> the normalised lines of its solution body (every task)."""
    found: dict[str, tuple[str, ...]] = {}
    for todo_id, body in solution_bodies().items():
        lines = (squeeze(code_of(line)).rstrip(",") for line in body)
        found[todo_id] = tuple(dict.fromkeys(line for line in lines if CODE.search(line)))
    return found


def leaks(text: str, todo_id: str | None = None) -> list[str]:
    """The solution lines (of ``todo_id``, or of any TODO of tasks 2-4) that ``text`` shows."""
    shown = squeeze(text)
    ids = [todo_id] if todo_id else [i for i in solution_lines() if not i.startswith("1.")]
    return [line for i in ids for line in solution_lines()[i] if line in shown]
