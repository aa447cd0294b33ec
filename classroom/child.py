"""What runs inside a grading child (light to import: the instructor's process imports it too)."""

from __future__ import annotations

import os

# The lab's split and the re-fits grading a student who logged what the lab's scripts log asks for,
# made once in the fork server before any child is forked (``warm``, PRELOAD in classroom/isolation.py):
# each child starts with its own copy (a re-fit is a pure function of its key: the same verdicts),
# and nothing a child does reaches the fork server or another child.
WARM: dict = {}


def grade_and_send(env: dict[str, str], sender, as_of=None, known: dict | None = None) -> None:
    """Grade all tasks with only ``env``'s MLflow settings (as of the deadline ``as_of``, an
    aware datetime, if given), then send one plain dict back. ``known``: what this student's last
    grade read off their logged models (grader/context.py ``ModelFacts``, by model key), handed back
    (``models``) with what this grade read, so that a model that did not change is not loaded again."""
    from labkit.i18n import set_language

    # Nothing of the instructor's: no MLflow setting, and no key of the artifacts' storage.
    for key in [k for k in os.environ if k.startswith(("MLFLOW_", "AWS_"))]:
        del os.environ[key]
    os.environ.update(env)
    set_language(None)  # speak what env says: LAB_LANG, the instructor's language (Gradebook.student_env)
    sender.send(_grade(as_of, known))
    sender.close()


def warm() -> None:
    """Make ``WARM`` (in the fork server, before any grading): on any error it stays empty, and
    each child re-fits what it needs, as without it."""
    from grader.context import solutions_refits, warm as made

    try:
        WARM.update(made(solutions_refits()))
    except Exception:  # noqa: BLE001 - a fork server that cannot warm up still grades
        WARM.clear()


def _grade(as_of=None, known: dict | None = None) -> dict:
    from grader.context import Kept, handed_back
    from grader.core import grade
    from grader.errors import CannotGrade
    from grader.render import to_gradescope, to_json

    kept = Kept(WARM, known)
    try:
        report = grade(["all"], as_of=as_of, kept=kept)
        models = handed_back(kept)
    except CannotGrade as exc:
        return {"status": "cannot-grade", "error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - the instructor's row says what broke
        return {"status": "crashed", "error": f"{type(exc).__name__}: {exc}"[:300]}
    finally:
        kept.close()
    return {"status": "graded", "report": to_json(report), "gradescope": to_gradescope(report), "models": models}
