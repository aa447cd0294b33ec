"""Does the grader speak Spanish when asked (LANG, LAB_LANG or --lang es), and only Spanish,
in every format, while English stays the default? (issue 14)

The Spanish output is read by the suite's English checker (test/english.py), which drops what
stays English on purpose (quoted and backticked text, code, URIs, numbers, PASS/FAIL/SKIP,
TODO) and fails on any common English word left over.
"""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
from conftest import LabStore
from english import assert_spanish, english_words
from test_grader import load_schema
from test_grader_support import run_check

from grader.registry import all_checks, todo_ids
from labkit import i18n

LANGUAGE_VARIABLES = ("LAB_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

def env_for(store: LabStore, **language: str) -> dict[str, str]:
    """The store's environment with no language variable but ``language``'s."""
    env = {k: v for k, v in store.env().items() if k not in LANGUAGE_VARIABLES}
    env.update(language)
    return env


def test_a_spanish_run_of_the_lab_shows_only_spanish_by_lang_or_by_the_option(untouched_store, solutions_store):
    todos = len(todo_ids())
    for store, score in ((untouched_store, 0), (solutions_store, todos)):
        # Forked warm (test/zygote.py): the child reads its own environment's LANG, as a new
        # interpreter does (test_grader.py keeps the grader's one run in a fresh interpreter).
        by_lang = run_check(env_for(store, LANG="es_MX.UTF-8"), "all")
        if store is untouched_store:  # the two ways ask for the same language, whatever the store
            by_option = run_check(store.env(), "all", "--lang", "es")  # the suite's LAB_LANG=en: --lang wins
            assert by_lang.stdout == by_option.stdout, (by_lang.stdout, by_option.stdout)
            assert "Traceback" not in by_option.stderr
        assert by_lang.returncode == (0 if score else 1), by_lang.stderr
        assert "Traceback" not in by_lang.stderr
        lines = by_lang.stdout.splitlines()
        assert lines[0].startswith("Calificando ") and lines[-1] == f"Puntaje: {score}/{todos}"
        verdicts = [i for i, line in enumerate(lines) if re.match(r"(PASS|FAIL|SKIP) ", line)]
        assert len(verdicts) == todos
        for i in verdicts:
            if not lines[i].startswith("PASS"):  # what was expected, then a pista
                assert lines[i + 1].startswith("       se ") and lines[i + 2].startswith("       pista: "), lines[i]
        assert_spanish(by_lang.stdout)


def test_json_and_gradescope_carry_the_spanish_and_match_their_schemas(untouched_store, tmp_path):
    target = tmp_path / "results.json"
    result = run_check(untouched_store.env(), "all", "--json", "--gradescope", str(target), "--lang", "es")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    jsonschema.validate(report, load_schema("report.schema.json"))
    assert report["language"] == "es"
    for item in report["results"]:
        assert item["rationale"] and item["hint"], item
        assert_spanish("\n".join([item["description"], item["rationale"], item["hint"]]))
    data = json.loads(target.read_text(encoding="utf-8"))
    jsonschema.validate(data, load_schema("gradescope.schema.json"))
    assert data["output"].startswith("Puntaje: 0/")
    assert_spanish("\n".join([data["output"], *(t["name"] + "\n" + t["output"] for t in data["tests"])]))


@pytest.mark.parametrize("language", [{}, {"LANG": "C.UTF-8"}])
def test_english_stays_the_default(untouched_store, language):
    result = run_check(env_for(untouched_store, **language), "all")
    assert result.stdout.startswith("Grading ") and result.stdout.rstrip().endswith(f"Score: 0/{len(todo_ids())}")
    assert "expected" in english_words(result.stdout.splitlines()[2])  # the checker sees it: English


def test_cannot_grade_says_so_in_spanish(tmp_path):
    store = LabStore(tmp_path)  # nothing ran: no store
    result = run_check(store.env(), "all", "--lang", "es")
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("No se puede calificar: No hay un almacenamiento de seguimiento"), line
    assert line.endswith("¿Ya ejecutaste code/task1_baseline.py?"), line


def test_every_check_and_every_result_has_its_spanish_text(untouched_store):
    from grader.core import grade

    english = {c.id: (c.description, c.hint) for c in all_checks()}
    try:
        i18n.set_language("es")
        for check in all_checks():
            for spanish, original in zip((check.description, check.hint), english[check.id]):
                assert type(spanish) is str and spanish != original, (check.id, original)
                assert english_words(spanish) == [], (check.id, spanish)
        results = grade(["all"], tracking_uri=untouched_store.uri).results
    finally:
        i18n.set_language(None)
    for result in results:
        texts = (result.description, result.rationale, result.hint)
        assert all(type(t) is str for t in texts), result  # plain text, not a lazy message
        assert english_words(" ".join(texts)) == [], result
    assert [c.description for c in all_checks()] == [d for d, _hint in english.values()]  # English again
