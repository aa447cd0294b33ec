"""What runs inside a grading child (light to import: the instructor's process imports it too)."""

from __future__ import annotations

import os


def grade_and_send(env: dict[str, str], sender, as_of=None) -> None:
    """Grade all tasks with only ``env``'s MLflow settings (as of the deadline ``as_of``, an
    aware datetime, if given), then send one plain dict back."""
    from labkit.i18n import set_language

    # Nothing of the instructor's: no MLflow setting, and no key of the artifacts' storage.
    for key in [k for k in os.environ if k.startswith(("MLFLOW_", "AWS_"))]:
        del os.environ[key]
    os.environ.update(env)
    set_language(None)  # speak what env says: LAB_LANG, the instructor's language (Gradebook.student_env)
    sender.send(_grade(as_of))
    sender.close()


def _grade(as_of=None) -> dict:
    from grader.core import grade
    from grader.errors import CannotGrade
    from grader.render import to_gradescope, to_json

    try:
        report = grade(["all"], as_of=as_of)
    except CannotGrade as exc:
        return {"status": "cannot-grade", "error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - the instructor's row says what broke
        return {"status": "crashed", "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"status": "graded", "report": to_json(report), "gradescope": to_gradescope(report)}
