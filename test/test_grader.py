"""Does the grader give the solutions full marks, the untouched code 0 with a hint everywhere,
output that matches its schemas, and leave the store exactly as it found it?"""

from __future__ import annotations

import hashlib
import json
import re

import jsonschema
import pytest
from conftest import LabStore
from test_grader_support import grade_results, run_check

from grader.registry import CHECKS, all_checks, dependents_of, todo_ids

TODOS = len(todo_ids())

def load_schema(name: str) -> dict:
    from labkit.paths import ROOT

    return json.loads((ROOT / "grader" / "schemas" / name).read_text(encoding="utf-8"))


def test_every_check_has_a_lowercase_description_a_hint_and_known_dependencies():
    for check in all_checks():
        assert check.description[0].islower(), check.id
        assert check.hint, check.id
        for dep in check.after:  # needs and depends
            assert dep in CHECKS and dep != check.id
        assert check.id not in dependents_of(check.id)  # no cycles


@pytest.mark.slow  # the suite's one grade in a new interpreter (~12 CPU s): `make test`, not the everyday tier
def test_the_solutions_score_full_marks_and_exit_0_from_any_folder_writing_nothing(solutions_store, tmp_path):
    """`python grader/check.py all` in a new interpreter, as a student runs it, from a folder
    that is not the lab's; the store (database and artifacts) is exactly as it was. (The everyday
    tier grades the solutions forked warm: test_json_and_gradescope_output_of_the_solutions_match_their_schemas.)"""
    before = store_fingerprint(solutions_store)
    assert any(name.endswith("mlflow.db") for name in before)
    assert any("models" in name for name in before)
    result = run_check(solutions_store.env(), "all", cwd=tmp_path, fresh=True)
    assert store_fingerprint(solutions_store) == before
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith(f"Score: {TODOS}/{TODOS}")
    assert re.search(r"PASS 1\.1", result.stdout)
    assert "\033[" not in result.stdout  # no colour when not on a terminal
    assert "Traceback" not in result.stderr


def test_untouched_code_scores_0_with_a_hint_on_every_todo_in_every_format(untouched_store, tmp_path):
    result = run_check(untouched_store.env(), "all", "--json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    jsonschema.validate(report, load_schema("report.schema.json"))
    assert (report["score"], report["max_score"]) == (0, TODOS)
    assert len(report["results"]) == TODOS
    for item in report["results"]:
        assert item["status"] in ("fail", "skip")
        assert item["rationale"] and item["hint"], item

    target = tmp_path / "results.json"
    result = run_check(untouched_store.env(), "task3", "--gradescope", str(target))
    assert result.returncode == 1
    data = json.loads(target.read_text(encoding="utf-8"))
    jsonschema.validate(data, load_schema("gradescope.schema.json"))
    assert data["score"] == 0 and [t["number"] for t in data["tests"]] == todo_ids(["task3"])
    assert all(t["status"] == "failed" and t["output"] for t in data["tests"])
    assert f"FAIL {todo_ids(['task3'])[0]}" in result.stdout  # the terminal report still shows


def test_json_and_gradescope_output_of_the_solutions_match_their_schemas(solutions_store, tmp_path):
    target = tmp_path / "results.json"
    result = run_check(solutions_store.env(), "all", "--json", "--gradescope", str(target))
    assert result.returncode == 0
    report = json.loads(result.stdout)
    jsonschema.validate(report, load_schema("report.schema.json"))
    assert report["score"] == report["max_score"] == TODOS
    data = json.loads(target.read_text(encoding="utf-8"))
    jsonschema.validate(data, load_schema("gradescope.schema.json"))
    assert data["score"] == TODOS and all(t["status"] == "passed" for t in data["tests"])


def test_the_schemas_reject_a_malformed_report():
    bad = {"score": "1", "tests": [{"name": "1.1", "score": 1}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, load_schema("gradescope.schema.json"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"score": 1, "results": [{"id": "1.1", "status": "ok"}]},
                            load_schema("report.schema.json"))


def store_fingerprint(store: LabStore) -> dict[str, str]:
    """A hash of every file of the store: the database and the artifact tree beside it."""
    files = [store.db, *sorted((store.folder / "mlartifacts").rglob("*"))]
    return {str(p.relative_to(store.folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in files if p.is_file()}


def test_colour_only_on_a_terminal_and_never_with_no_color(solutions_store):
    from grader import render
    from grader.core import grade

    report = grade(["task1"], tracking_uri=solutions_store.uri)

    class Terminal:
        def isatty(self):
            return True

    assert "\033[32mPASS" in render.to_text(report, render.use_colour(Terminal()))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NO_COLOR", "1")
        assert not render.use_colour(Terminal())
