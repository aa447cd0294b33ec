"""Does the grader give help in levels, only on request, without ever showing a line of a
solution of tasks 2-4, and keep the level each student reached where their work is?"""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
from conftest import ROOT, run_python
from english import english_words
from solution_lines import leaks, solution_lines
from test_grader import load_schema
from test_grader_support import run_check

from grader.core import FAIL, SKIP, CheckResult, Report
from grader.hints import HINTS, LAST_LEVEL, level_text
from grader.registry import CHECKS, todo_ids
from labkit.i18n import LOCALE_DIR, set_language

LANGUAGES = ("en", "es")
LATER_TODOS = todo_ids(["task2", "task3", "task4"])  # past the worked example: no solution line, ever
LEVEL_LINE = re.compile(r"^\s+(hint|pista), (level|nivel) (\d) (of|de) \d: ")


def in_language(code: str, function, *args):
    set_language(code)
    try:
        return function(*args)
    finally:
        set_language(None)


# --- the levels themselves -------------------------------------------------------------

def test_the_measure_finds_a_solution_line_whatever_its_spacing():
    """The measure must be able to fail: a solution line, spaced otherwise, is found."""
    assert "mlflow.log_params(other_params)" in solution_lines()["2.2"]
    assert leaks("hint: mlflow.log_params( other_params ) inside the run", "2.2")
    assert leaks('try filter_string = "attributes.status = \'FINISHED\'"')  # a line of 4.1's call
    assert not leaks("mlflow.log_params({<name>: <value>, ...})")


def test_every_todo_has_every_level():
    assert list(HINTS) == todo_ids()
    assert all(len(levels) == LAST_LEVEL + 1 for levels in HINTS.values())


@pytest.mark.parametrize("todo_id", todo_ids())
def test_every_level_renders_in_english_and_in_spanish(todo_id):
    for level in range(LAST_LEVEL + 1):
        english, spanish = (in_language(code, level_text, todo_id, level) for code in LANGUAGES)
        for text in (english, spanish):
            assert text.strip(), (todo_id, level)
            assert not re.search(r"\{[a-z_]+\}", text), f"{todo_id} level {level}: a placeholder left: {text}"
        assert english != spanish, f"{todo_id} level {level} has no Spanish"
        assert not english_words(spanish), f"{todo_id} level {level}: English in {spanish}"


@pytest.mark.parametrize("todo_id", LATER_TODOS)
def test_no_level_of_tasks_2_to_4_shows_a_line_of_a_solution(todo_id):
    for code in LANGUAGES:
        for level in range(LAST_LEVEL + 1):
            text = in_language(code, level_text, todo_id, level)
            assert not leaks(text), f"{todo_id} level {level} ({code}) shows {leaks(text)}: {text}"


def test_no_message_of_the_grader_shows_a_line_of_a_solution_of_tasks_2_to_4():
    """Every message the grader can say, in both languages (its catalog): a tailored hint too."""
    from babel.messages.pofile import read_po

    with open(LOCALE_DIR / "es" / "LC_MESSAGES" / "grader.po", "rb") as handle:
        catalog = read_po(handle)
    shown = [(m.id, m.string) for m in catalog if m.id]
    assert len(shown) > 100
    for english, spanish in shown:
        for text in (english, spanish) if isinstance(english, str) else (*english, *spanish):
            assert not leaks(text), f"{leaks(text)} in: {text}"


def report_with_levels(level: int) -> Report:
    results = [CheckResult(c.id, c.description, 0, 1, FAIL if c.id.endswith(".1") else SKIP,
                           rationale="expected X, found Y", hint=c.hint, hint_level=level)
               for c in CHECKS.values()]
    return Report(["task1", "task2", "task3", "task4"], "sqlite:///x/mlflow.db", results)


@pytest.mark.parametrize("code", LANGUAGES)
def test_the_report_shows_every_level_reached_and_says_when_more_is_left(code):
    from grader import render

    def text(level):
        return in_language(code, render.to_text, report_with_levels(level))

    more = {"en": "--hint` shows the next hint level", "es": "--hint` muestra el siguiente nivel"}[code]
    assert more in text(0) and more in text(1) and more not in text(LAST_LEVEL)
    assert not LEVEL_LINE.search(text(0))
    full = text(LAST_LEVEL)
    for todo_id in todo_ids():
        for level in range(1, LAST_LEVEL + 1):
            assert in_language(code, level_text, todo_id, level) in full, (todo_id, level)


# --- untouched code: the default feedback, --hint, the record, reset -------------------

def feedback_lines(output: str) -> dict[str, list[str]]:
    """The lines under each TODO of a terminal report."""
    lines: dict[str, list[str]] = {}
    todo = None
    for line in output.splitlines():
        head = line.split()
        if head and head[0] in ("PASS", "FAIL", "SKIP"):
            todo = head[1]
            lines[todo] = []
        elif todo and line.startswith(" "):
            lines[todo].append(line)
    return lines


@pytest.mark.parametrize("code", LANGUAGES)
def test_untouched_code_gets_no_solution_line_by_default_and_is_told_of_hint(untouched_store, code):
    result = run_check(untouched_store.env(LAB_LANG=code), "all")
    assert result.returncode == 1, result.stderr
    lines = feedback_lines(result.stdout)
    assert list(lines) == todo_ids()
    for todo_id in LATER_TODOS:
        assert lines[todo_id], todo_id
        shown = [line for line in lines[todo_id] if leaks(line)]
        assert not shown, f"{todo_id} shows a solution line by default: {shown}"
        assert not any(LEVEL_LINE.search(line) for line in lines[todo_id])
    assert "python grader/check.py all --hint" in result.stdout.splitlines()[-2]  # then the score
    assert not (untouched_store.folder / "hint_levels.json").exists(), "grading alone records nothing"


def levels_in(report: dict) -> dict[str, int]:
    return {r["id"]: r["hint_level"] for r in report["results"]}


def test_hint_raises_each_level_by_one_up_to_the_last_and_records_it(untouched_store, tmp_path):
    store = untouched_store.copy_to(tmp_path / "store")
    record = store.folder / "hint_levels.json"
    task3 = todo_ids(["task3"])
    for expected in (1, 2, LAST_LEVEL):
        result = run_check(store.env(), "task3", "--hint", "--json")
        assert result.returncode == 1, result.stderr
        report = json.loads(result.stdout)
        jsonschema.validate(report, load_schema("report.schema.json"))
        assert levels_in(report) == dict.fromkeys(task3, expected)
        assert json.loads(record.read_text(encoding="utf-8")) == {"levels": dict.fromkeys(task3, expected)}

    # Read back by a plain run: the levels reached show, the other tasks' stay at 0.
    result = run_check(store.env(), "all", "--json")
    assert levels_in(json.loads(result.stdout)) == {i: LAST_LEVEL if i in task3 else 0 for i in todo_ids()}
    text = run_check(store.env(), "task3").stdout
    for todo_id, lines in feedback_lines(text).items():
        assert [int(LEVEL_LINE.search(line)[3]) for line in lines if LEVEL_LINE.search(line)][-1] == LAST_LEVEL
        assert not [line for line in lines if leaks(line)], todo_id
    assert "--hint" not in text, "nothing more to ask for: no 'More help' line"

    target = tmp_path / "results.json"
    run_check(store.env(), "task3", "--gradescope", str(target))
    data = json.loads(target.read_text(encoding="utf-8"))
    jsonschema.validate(data, load_schema("gradescope.schema.json"))
    assert {t["number"]: t["extra_data"]["hint_level"] for t in data["tests"]} == dict.fromkeys(task3, LAST_LEVEL)


def test_asking_for_one_tasks_hints_keeps_the_levels_of_the_others(untouched_store, tmp_path):
    """The record holds every task's levels: --hint on task 1 after task 3 loses none of task 3's."""
    store = untouched_store.copy_to(tmp_path / "store")
    record = store.folder / "hint_levels.json"
    task1, task3 = todo_ids(["task1"]), todo_ids(["task3"])
    for _ in range(2):
        assert run_check(store.env(), "task3", "--hint").returncode == 1
    assert run_check(store.env(), "task1", "--hint").returncode == 1
    expected = {**dict.fromkeys(task3, 2), **dict.fromkeys(task1, 1)}
    assert json.loads(record.read_text(encoding="utf-8"))["levels"] == dict(sorted(expected.items()))
    report = json.loads(run_check(store.env(), "all", "--json").stdout)
    assert {i: n for i, n in levels_in(report).items() if n} == expected


def test_reset_starts_the_levels_afresh_and_keeps_them_in_the_backup(untouched_store, tmp_path):
    store = untouched_store.copy_to(tmp_path / "store")
    assert run_check(store.env(), "task1", "--hint").returncode == 1
    record = store.folder / "hint_levels.json"
    assert record.exists()
    reset = run_python(["-m", "labkit", "reset"], store.env(), ROOT)
    assert reset.returncode == 0, reset.stdout + reset.stderr
    assert not record.exists()
    backup = list((store.folder / "backups").glob("store-*/hint_levels.json"))
    assert backup and json.loads(backup[0].read_text(encoding="utf-8"))["levels"]["1.1"] == 1
    untouched_store.copy_to(store.folder)  # the lab again, on the fresh store
    report = json.loads(run_check(store.env(), "all", "--json").stdout)
    assert set(levels_in(report).values()) == {0}


def test_a_broken_record_is_read_as_no_hints_and_replaced(untouched_store, tmp_path):
    store = untouched_store.copy_to(tmp_path / "store")
    record = store.folder / "hint_levels.json"
    record.write_text("{not json", encoding="utf-8")
    result = run_check(store.env(), "task2", "--hint", "--json")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert set(levels_in(json.loads(result.stdout)).values()) == {1}
    assert json.loads(record.read_text(encoding="utf-8"))["levels"]["2.1"] == 1


# On a class server (a tag in the student's workspace, read by the gradebook's grading user):
# test_classroom.py, test_grading_uses_a_read_only_user_not_the_admin_and_shows_the_hints_a_student_asked_for.

def test_the_board_and_the_gradebook_show_the_hints_used():
    from classroom.board import cells
    from classroom.gradebook import COLUMNS, hints_used

    results = [{"id": i, "status": "fail", "rationale": "expected X, found Y", "hint": "h", "note": None,
                "hint_level": {"3.2": 2, "3.3": 1}.get(i, 0)} for i in todo_ids()]
    report = {"results": results, "score": 0, "max_score": len(results)}
    assert "hints_used" in COLUMNS
    assert hints_used(report) == "3.2:2; 3.3:1"
    shown = {c["id"]: c for c in cells(report, frozenset({"task3"}))}
    assert (shown["3.2"]["hints"], shown["3.3"]["hints"], shown["3.1"]["hints"]) == (2, 1, 0)
    assert shown["3.2"]["text"].endswith("hints used: level 2 of 2")
    assert "hints used" not in shown["3.1"]["text"]
