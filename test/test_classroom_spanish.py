"""The class commands in Spanish (issue 14): `--lang es`, LAB_LANG=es or a Spanish LANG.

Cheap first: commands that stop at once with a named problem print their one line in
Spanish when asked, and in English by default; every Spanish text of the board's page reads
as Spanish (the suite's English checker, test/english.py; test_english.py reads the catalogs).
Then, on the shared class (test/classroom_world.py, no class of its own): the gradebook
with --lang es carries the language to its grading children (their Gradescope files and the
`problems` column are the grader's Spanish), and the board with --lang es serves its page in
Spanish, in a real browser.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import zygote
from classroom_world import ROOT, write_roster
from english import english_words

from labkit import i18n

# --- commands that stop at once, in each way of asking for Spanish -----------------------

def classroom_command(*args: str, tmp: Path, **env: str) -> subprocess.CompletedProcess:
    """``python -m classroom ARGS`` with no class settings, no admin credentials, and ``env``
    (forked warm, test/zygote.py: the same command without a new interpreter's imports)."""
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("MLFLOW_", "CLASS_")) and k not in ("LAB_LANG", *i18n.GETTEXT_VARIABLES)}
    return zygote.run(["-m", "classroom", *args], {**base, "PYTHONUTF8": "1", **env}, ROOT, timeout=120)


def fast_failures(tmp: Path) -> dict[str, tuple[list[str], int, str, str]]:
    """name -> (arguments, exit code, the English line's start, the Spanish line's start)."""
    roster = tmp / "roster.csv"
    write_roster(roster, ["ana", "beto"])
    bad = tmp / "bad.csv"
    bad.write_text("username\nAna Pérez\n", encoding="utf-8")
    return {
        "serve without CLASS_DATABASE_URI": (["serve", "--state", str(tmp / "state")], 2,
                                             "CLASS_DATABASE_URI is not set", "CLASS_DATABASE_URI no está definida"),
        "a roster that is not there": (["provision", "--roster", str(tmp / "nope.csv"), "--server",
                                        "http://127.0.0.1:9"], 2, "No roster at", "No hay lista de clase"),
        "a bad username": (["provision", "--roster", str(bad), "--server", "http://127.0.0.1:9"], 2,
                           f"{bad}, line 2: 'Ana Pérez' cannot be a username",
                           f"{bad}, línea 2: 'Ana Pérez' no puede ser un nombre de usuario"),
        "no admin password": (["gradebook", "--roster", str(roster), "--server", "http://127.0.0.1:9", "--out",
                               str(tmp / "grades")], 2, "No admin password in the environment",
                              "No hay contraseña de admin en el entorno"),
        "status with nothing running": (["status", "--state", str(tmp / "state")], 1,
                                        "No class server is running", "No hay ningún servidor de la clase"),
    }


def one_line(result: subprocess.CompletedProcess, code: int) -> str:
    line = (result.stdout + result.stderr).strip()
    assert result.returncode == code, line
    assert "\n" not in line and "Traceback" not in line, line
    return line


@pytest.mark.parametrize("name", ["serve without CLASS_DATABASE_URI", "a roster that is not there",
                                  "a bad username", "no admin password", "status with nothing running"])
def test_a_command_that_stops_at_once_says_why_in_spanish_with_lang_es(tmp_path, name):
    """Does each command that stops on a named problem print its one line in Spanish with
    --lang es (which wins over LAB_LANG=en), and nothing in English?"""
    args, code, _english, spanish = fast_failures(tmp_path)[name]
    line = one_line(classroom_command(*args, "--lang", "es", tmp=tmp_path, LAB_LANG="en"), code)
    assert line.startswith(spanish), line
    assert english_words(line) == [], line
    assert not (tmp_path / "grades").exists()


def test_lang_before_the_command_works_too(tmp_path):
    """`python -m classroom --lang es status` as well as `status --lang es`, as labkit's commands."""
    args, code, _english, spanish = fast_failures(tmp_path)["status with nothing running"]
    line = one_line(classroom_command("--lang", "es", *args, tmp=tmp_path, LAB_LANG="en"), code)
    assert line.startswith(spanish), line


HOW = {  # how the language is asked for without --lang: environment, Spanish?
    "LAB_LANG=es": ({"LAB_LANG": "es", "LANG": "en_US.UTF-8"}, True),  # Windows' only switch; before LANG
    "LANG=es_MX": ({"LANG": "es_MX.UTF-8"}, True),
    "English by default": ({}, False),
}


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("name", ["a roster that is not there", "status with nothing running"])
def test_the_environment_chooses_the_language_english_by_default(tmp_path, how, name):
    """Does LAB_LANG=es, or a Spanish LANG, give the Spanish line, and nothing the English one?"""
    env, spanish = HOW[how]
    args, code, english_start, spanish_start = fast_failures(tmp_path)[name]
    line = one_line(classroom_command(*args, tmp=tmp_path, **env), code)
    assert line.startswith(spanish_start if spanish else english_start), line


def test_the_help_is_in_the_language_asked_for(tmp_path):
    """Does `--help --lang es` explain the options in Spanish (argparse's own words stay English)?"""
    shown = classroom_command("board", "--help", "--lang", "es", tmp=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "segundos entre actualizaciones" in shown.stdout and "--lang {en,es}" in shown.stdout
    english = classroom_command("board", "--help", tmp=tmp_path)
    assert "seconds between refreshes" in english.stdout


def test_a_language_the_lab_lacks_is_refused_by_the_option(tmp_path):
    result = classroom_command("status", "--lang", "fr", tmp=tmp_path)
    assert result.returncode == 2 and "--lang" in result.stderr and "es" in result.stderr


def test_release_lang_es_writes_a_spanish_code_folder_and_says_so_in_spanish(tmp_path):
    """Does `python -m classroom release DIR --lang es` write the Spanish code/ (as
    `labkit.maintainers.codegen` generates it) and report in Spanish?"""
    from labkit.maintainers import codegen

    out = tmp_path / "mlflow-lab"
    result = classroom_command("release", str(out), "--lang", "es", tmp=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith(f"Se escribió la versión para estudiantes en {out}") and "Habla español: su code/" in lines[1]
    assert [english_words(line) for line in lines] == [[]] * len(lines), lines
    spanish = codegen.scripts(lang="es")
    assert (out / "code" / "task1_baseline.py").read_text(encoding="utf-8") == spanish["task1_baseline.py"]
    assert not (out / "solutions").exists()

# --- the board's page ----------------------------------------------------------------------

def page_keys() -> set[str]:
    """The words board.html asks for: data-word="key", WORDS.key, say("key", ...) and the
    named states and statuses (WORDS[`${kind}_${value}`])."""
    from classroom.board_server import PAGE

    html = PAGE.read_text(encoding="utf-8")
    keys = set(re.findall(r'data-word="(\w+)"', html)) | set(re.findall(r"WORDS\.(\w+)", html))
    keys |= {key for pair in re.findall(r'say\([^"]*?"(\w+)"(?: : "(\w+)")?', html) for key in pair if key}
    return keys


def served(code: str) -> tuple[str, dict]:
    from classroom.board_server import page

    i18n.set_language(code)
    try:
        html = page().decode("utf-8")
    finally:
        i18n.set_language(None)
    words = json.loads(re.search(r'<script id="words" type="application/json">(.*?)</script>', html, re.S).group(1))
    return html, words


def test_the_board_page_has_every_word_it_asks_for_in_each_language():
    """Is every word board.html uses served, in Spanish with --lang es, in English by default?"""
    from classroom.board import FAIL, NOT_STARTED, PASS, SKIP
    from classroom.gradebook import NOT_GRADED
    from classroom.isolation import CANNOT_GRADE, CRASHED, TIMED_OUT

    html, spanish = served("es")
    assert '<html lang="es">' in html and "__WORDS__" not in html
    assert page_keys() <= set(spanish), page_keys() - set(spanish)
    assert {"stuck_one", "stuck_many"} <= page_keys()
    shown = {f"state_{s}" for s in (PASS, FAIL, SKIP, NOT_STARTED)}
    shown |= {f"status_{s}" for s in ("waiting", NOT_GRADED, CANNOT_GRADE, TIMED_OUT, CRASHED)}
    assert shown <= set(spanish), "every cell state and row status has its word"
    assert spanish["title"] == "Tablero de avance de la clase"
    assert {key: english_words(text) for key, text in spanish.items() if english_words(text)} == {}
    html, english = served("en")
    assert '<html lang="en">' in html and english["title"] == "Class progress board"
    assert english["state_not-started"] == NOT_STARTED, "English shows the states as they are"


def test_a_cells_own_words_follow_the_language():
    """Does a cell say "pista:" and "nota:" in Spanish around the grader's words?"""
    from classroom.board import cells
    from grader.registry import todo_ids

    report = {"results": [{"id": t, "status": "pass", "rationale": None, "hint": None, "note": None}
                          for t in todo_ids()]}
    report["results"][0].update(status="fail", rationale="se esperaba un run", hint="llama a mlflow.start_run()",
                                note="un run")
    i18n.set_language("es")
    try:
        shown = {c["id"]: c for c in cells(report, frozenset({"task1"}))}
    finally:
        i18n.set_language(None)
    first = todo_ids()[0]
    assert shown[first]["text"] == "se esperaba un run\npista: llama a mlflow.start_run()\nnota: un run"
    assert shown[todo_ids()[1]]["text"] == "aprobado"


def test_a_plural_message_can_have_a_count_placeholder():
    """Does `_n(..., n, count=n)`, as labkit/i18n.py documents it, fill {count} (not clash with n)?"""
    from labkit.i18n import Domain

    _, _lazy, _n = Domain("classroom").functions()
    i18n.set_language("es")
    try:
        assert _n("{count} created", "{count} created", 3, count=3) == "3 creados"
        assert _n("{count} created", "{count} created", 1, count=1) == "1 creado"
    finally:
        i18n.set_language(None)


# --- on the shared class ------------------------------------------------------------------

@pytest.mark.postgres
@pytest.mark.xdist_group("classroom-s3")
def test_the_gradebook_in_spanish_grades_in_spanish(classroom, tmp_path):
    """With --lang es, are the gradebook's own lines Spanish, and do its grading children speak
    Spanish (their Gradescope files; the `problems` column is the grader's own Spanish, as
    `grader/check.py all --json` gives it with LAB_LANG=es), the column names still English?"""
    from classroom.gradebook import COLUMNS, problems

    students = ["untouched", "typed"]
    roster = tmp_path / "roster.csv"
    write_roster(roster, students)
    out = tmp_path / "grades"
    book = classroom.classroom("gradebook", "--roster", str(roster), "--server", classroom.url, "--out", str(out),
                               "--jobs", "2", "--state", str(classroom.state), "--lang", "es")
    assert book.returncode == 0, book.stderr
    summary = next(line for line in book.stderr.splitlines() if not line.startswith("["))
    assert summary.startswith("Se calificó a 2 de 2 estudiantes en "), book.stderr
    assert all(english_words(line) == [] for line in book.stderr.splitlines()), book.stderr
    with open(out / "gradebook.csv", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == COLUMNS, "the column names stay English"
        rows = {row["student"]: row for row in reader}
    for username in students:
        gradescope = json.loads((out / "gradescope" / username / "results.json").read_text(encoding="utf-8"))
        assert gradescope["output"].startswith("Puntaje: "), gradescope["output"]
        report = json.loads(zygote.run([str(ROOT / "grader" / "check.py"), "all", "--json"],
                                       {**classroom.student_env(username), "LAB_LANG": "es"}, tmp_path,
                                       timeout=300).stdout)
        assert rows[username]["problems"] == problems(report), username
    assert all(english_words(rows[u]["problems"]) == [] for u in students)


@pytest.mark.postgres
@pytest.mark.browser
@pytest.mark.xdist_group("classroom-s3")
def test_the_board_in_spanish_shows_its_page_in_spanish(classroom):
    """With --lang es, does the board announce itself, serve its page and show it in a real
    browser in Spanish (headings, legend, last refresh, the stuck TODO), and say it stopped?"""
    from playwright.sync_api import sync_playwright
    from test_classroom_board import RunningBoard, chromium

    roster = classroom.folder / "roster_board_es.csv"
    write_roster(roster, ["typed", "empty"])
    board = RunningBoard(classroom, roster, "--every", "600", "--lang", "es")
    try:
        assert board.banner.startswith("El tablero: "), board.banner
        first = board.wait_for(lambda s: s["refreshes"] >= 1)
        cell = next(c for r in first["rows"] if r["student"] == "typed" for c in r["cells"] if c["id"] == "1.4")
        assert cell["state"] == "fail" and "\npista: " in cell["text"], cell
        with urllib.request.urlopen(board.url, timeout=60) as answer:
            assert '<html lang="es">' in answer.read().decode("utf-8")
        executable, args = chromium()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=args)
            try:
                page = browser.new_page()
                page.goto(board.url)
                page.wait_for_selector("td.cell[data-student='typed'][data-todo='1.4']")
                assert page.title() == page.text_content("h1") == "Tablero de avance de la clase"
                assert page.text_content("#refresh") == "Actualizar ahora"
                assert "Última actualización a las " in page.text_content("#refreshed")
                stuck = page.text_content("#stuck")
                assert stuck.startswith("Donde más se atasca la clase es en el TODO 1.4 ("), stuck
                described = stuck.replace(first["stuck"]["description"], "")  # the grader's words
                own = [described, page.inner_text(".legend"), page.text_content("#refreshed"),
                       page.text_content("#detail")]
                assert [english_words(text) for text in own] == [[]] * len(own), own
                heads = page.eval_on_selector_all("#grid thead th", "ths => ths.map(th => th.textContent)")
                assert [heads[0], heads[1], heads[-1]] == ["Estudiante", "Puntaje", "Marcas"]
            finally:
                browser.close()
        code, output = board.interrupt()
        assert code == 0 and "Tablero detenido." in output, output
    finally:
        board.stop()

