"""Is an error said once, whole, after the lab's reading of it, in every format and language?

The store is real: task 3 run twice as a student would, with skops told to trust nothing
(test_grader_support.untrusting_store: the session's run, copied), then with `skops_trusted_types`
left out of log_model, so skops refuses the RandomForest each time and MLflow's long error lands on
the crashed run (labkit's crash note).
"""

from __future__ import annotations

import json
import re

import pytest
from conftest import SOLUTIONS_DIR, TASK_SCRIPTS, LabStore
from test_grader_support import run_check, untrusting_store  # noqa: F401 - untrusting_store: a fixture

from grader.core import FAIL, PASS, SKIP, CheckResult, Report
from grader.errors import first_sentence, quote, quoted_in, quoting
from labkit.maintainers.markers import render

TRUSTED_LINE = re.compile(r"^\s*skops_trusted_types=SKOPS_TRUSTED_TYPES,.*\n", re.MULTILINE)
MLFLOW_START = "The saved sklearn model references untrusted types"


def flat(text: str) -> str:
    """``text`` with every run of white space made one space (wrapping undone)."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def refused(untrusting_store, tmp_path_factory) -> LabStore:
    """Task 3 trusting nothing (a copy of untrusting_store), then without skops_trusted_types: the
    RandomForest run crashes each time."""
    store = untrusting_store.copy_to(tmp_path_factory.mktemp("skops_refused"))
    source = (SOLUTIONS_DIR / TASK_SCRIPTS["task3"]).read_text(encoding="utf-8")
    variant, count = TRUSTED_LINE.subn("", source)
    assert count == 1, "the task-3 solution no longer passes skops_trusted_types on a line of its own"
    script = store.folder / "no_trusted_types.py"
    script.write_text(render(variant, set()), encoding="utf-8")
    crashed = store.run(script, check=False)
    assert crashed.returncode != 0 and "untrusted types" in crashed.stderr
    return store


@pytest.fixture(scope="module")
def said(refused, tmp_path_factory) -> dict:
    """What `check.py task3` says on that store, once per module (the store is only read): the
    terminal report in English and in Spanish, and one run's --json report and Gradescope file."""
    target = tmp_path_factory.mktemp("gradescope") / "results.json"
    as_json = run_check(refused.env(), "task3", "--json", "--gradescope", str(target))
    return {"text": run_check(refused.env(), "task3").stdout,
            "es": run_check(refused.env(LAB_LANG="es"), "task3").stdout,
            "json": json.loads(as_json.stdout),
            "gradescope": json.loads(target.read_text(encoding="utf-8"))}


def whole_error(store: LabStore) -> str:
    """MLflow's error as the crash note saved it on the newest crashed run."""
    runs = store.client().search_runs(
        [store.client().get_experiment_by_name("task3-model-comparison").experiment_id],
        filter_string="attributes.status = 'FAILED'", order_by=["attributes.start_time DESC"])
    error = runs[0].data.tags["lab.error"]
    assert MLFLOW_START in error and error.rstrip().endswith("just to make a file load.")  # saved whole
    return error


def test_a_cause_shared_by_todos_is_said_once_naming_them_with_the_error_whole(refused, said):
    error = whole_error(refused)
    report = said["json"]
    carrying = [r["id"] for r in report["results"] if r["errors"]]
    assert carrying, "no verdict quotes MLflow's error"
    for item in report["results"]:
        assert item["errors"] in ([], [error]), item  # whole, as raised
    text = said["text"]
    assert text.count(MLFLOW_START) == 1, text  # quoted once, however many TODOs it affects
    assert flat(error) in flat(text), text  # whole: wrapped, never cut
    assert "skops refused to save types it was not told to trust" in text  # the lab's reading...
    assert text.index("skops refused to save types") < text.index(MLFLOW_START)  # ...comes first
    if len(carrying) > 1:
        assert f"{', '.join(carrying)}: " in text, text  # the TODOs it affects, named together
    words = set(flat(error).split())
    for line in text.splitlines():  # every wrapped line ends on a whole word of the error
        if line.startswith(" " * 9) and line.strip():
            assert line.split()[-1] in words, line


def test_a_name_shared_by_several_runs_is_said_once_with_their_count(said):
    text = said["text"]
    assert "'LinearRegression', 'LinearRegression'" not in text
    assert "'LinearRegression' (2 runs)" in text


def test_json_and_gradescope_keep_one_entry_per_todo_each_with_the_whole_error(refused, said):
    error = whole_error(refused)
    report = said["json"]
    tests = {t["number"]: t for t in said["gradescope"]["tests"]}
    assert list(tests) == [r["id"] for r in report["results"]]
    for item in report["results"]:
        output = tests[item["id"]]["output"]
        assert item["rationale"] in output
        assert (error in output) == bool(item["errors"])


def test_in_spanish_the_reading_is_spanish_and_the_error_stays_as_raised(said):
    text = said["es"]
    assert "skops se negó a guardar tipos en los que no se le dijo que confiara" in text
    assert "el error completo, tal como se produjo:" in text
    assert text.count(MLFLOW_START) == 1


def result(check_id: str, status: str, rationale: str | None, hint: str | None = None,
           errors=()) -> CheckResult:
    return CheckResult(check_id, f"what {check_id} checks", int(status == PASS), 1, status,
                       rationale, hint, errors=list(errors))


def test_causes_apart_are_said_at_the_first_and_referred_to_after():
    from grader import render

    same = dict(rationale="expected X, found Y: run 'a' crashed with E: short", hint="fix E",
                errors=["E: short reading of a long error. More of it."])
    report = Report(["task3"], "sqlite:///x.db", [
        result("3.1", FAIL, **same), result("3.2", PASS, None), result("3.3", FAIL, **same),
        result("3.4", SKIP, "skipped until 3.1 passes", "finish 3.1 first"),
    ])
    text = render.to_text(report)
    assert text.count("expected X, found Y") == 1 and "3.1, 3.3: expected X, found Y" in text
    assert text.count("More of it.") == 1
    assert "same cause as 3.1, above" in text.split("3.3  what 3.3")[1]
    assert "skipped until 3.1 passes" in text  # its own cause, said under it


def test_a_long_error_is_read_in_whole_words_and_kept_whole():
    long = "MlflowException: " + "word " * 60 + "end. Second sentence.\nMore lines."
    with quoting() as found:
        short = quote(long)
        quote("KeyError: 'x'")  # short already: nothing more to quote
    assert short.endswith(" …") and len(short) <= 122
    assert all(word in ("MlflowException:", "word", "…") for word in short.split())
    assert quoted_in(found, f"crashed with {short}") == [long.strip()]
    assert quoted_in(found, "crashed with KeyError: 'x'") == []
    assert first_sentence("ValueError: bad value. Details follow.") == "ValueError: bad value."
