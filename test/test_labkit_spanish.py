"""Does labkit speak Spanish to a Spanish class, and English to everyone else (issue 14)?

Real parts: the task scripts run as a student runs them, on a real SQLite store in a
temporary folder; `python -m labkit` as a command. (The Spanish line of a real `mlflow server`
that stops mid-run is checked beside the English one, on the same server: test_dead_server.py.)
Only labkit's own lines are read here: a script's title and its own prints belong to
the script (solutions/ and code/ are made bilingual on their own).
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from conftest import CODE_DIR, ROOT, SOLUTIONS_DIR, TASK_SCRIPTS, free_port, run_python
from english import assert_spanish
from test_dead_server import one_line

from labkit import i18n
from labkit.commands import cli
from labkit.tracking import UI_RECORD

LANGUAGE_VARIABLES = ("LAB_LANG", *i18n.GETTEXT_VARIABLES)


def language_env(lab_store, **language: str) -> dict[str, str]:
    """The store's environment with only the given language variables set."""
    env = {k: v for k, v in lab_store.env().items() if k not in LANGUAGE_VARIABLES}
    return {**env, **language}


def labkit_lines(stdout: str) -> list[str]:
    """labkit's lines of a task script: the store line, then the summary from report_run on."""
    lines = stdout.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith(("  run '", "  (")))
    return [lines[1]] + [line for line in lines[first:] if line.strip()]


def run_task1(lab_store, folder, **language: str) -> subprocess.CompletedProcess:
    result = run_python([folder / TASK_SCRIPTS["task1"]], language_env(lab_store, **language),
                        lab_store.folder)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-3000:]
    return result


@pytest.mark.parametrize("language", [{"LAB_LANG": "es"}, {"LANG": "es_MX.UTF-8"}],
                         ids=["LAB_LANG=es", "LANG=es_MX"])
def test_a_solution_says_its_start_and_summary_in_spanish(ready_store, language):
    """With LAB_LANG=es (Windows) or a Spanish LANG (LAB_LANG unset), labkit speaks Spanish."""
    # The UI noted for the store answers no more: the script says to open one, whatever serves
    # 127.0.0.1:5000 on this machine (where it looks when no UI is noted).
    (ready_store.folder / UI_RECORD).write_text(f"http://127.0.0.1:{free_port()}\n", encoding="utf-8")
    result = run_task1(ready_store, SOLUTIONS_DIR, **language)
    lines = labkit_lines(result.stdout)
    assert lines[0] == f"Almacenamiento de seguimiento (tracking store): {ready_store.uri}", result.stdout
    assert "Error irreducible de los datos: RMSE de unos 14 ms" in result.stdout
    assert "Abre la interfaz con `python -m labkit ui` y luego califica con:" in result.stdout
    assert lines[-1] == "No queda ningún TODO pendiente en este script.", result.stdout
    assert_spanish(lines)


def test_with_no_language_set_a_solution_speaks_english(ready_store):
    result = run_task1(ready_store, SOLUTIONS_DIR)
    lines = labkit_lines(result.stdout)
    assert lines[0] == f"Tracking store: {ready_store.uri}", result.stdout
    assert lines[-1] == "No TODO left open in this script.", result.stdout
    assert "Irreducible error of the data" in result.stdout


def test_an_untouched_script_says_in_spanish_which_todos_are_open(ready_store):
    result = run_task1(ready_store, CODE_DIR, LAB_LANG="es")
    lines = labkit_lines(result.stdout)
    assert lines[-1] == "Siguen pendientes: TODO 1.1, 1.2, 1.3, 1.4. Busca 'TODO' en tu script.", result.stdout
    assert "Still open" not in result.stdout
    assert_spanish(lines)


def test_a_tracking_server_that_does_not_answer_at_the_start_is_one_spanish_line(lab_store):
    port = free_port()  # nobody listens on it
    env = language_env(lab_store, LAB_LANG="es", MLFLOW_TRACKING_URI=f"http://127.0.0.1:{port}")
    result = run_python([CODE_DIR / TASK_SCRIPTS["task1"]], env, lab_store.folder)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    line = one_line(result.stderr)
    assert line.startswith(f"El servidor de seguimiento (tracking server) en http://127.0.0.1:{port} "
                           "no responde ("), line
    assert line.endswith("¿Está en marcha, y es correcta MLFLOW_TRACKING_URI?"), line
    assert_spanish([re.sub(r"\(\[Errno [^)]*\)", "", line)])  # the OS's own words stay as they are


def labkit_command(args: list[str], env: dict[str, str], cwd) -> subprocess.CompletedProcess:
    """``python -m labkit ARGS`` (forked warm: conftest.run_python)."""
    return run_python(["-m", "labkit", *args], env, cwd, timeout=120)


def test_lang_es_makes_a_labkit_command_speak_spanish_whatever_the_environment(lab_store):
    """--lang wins over LAB_LANG both ways (the suite's environment says LAB_LANG=en)."""
    spanish = labkit_command(["reset", "--lang", "es"], language_env(lab_store, LAB_LANG="en"),
                             lab_store.folder)
    assert spanish.returncode == 0, spanish.stderr
    assert spanish.stdout.strip() == ("No hay nada que reiniciar: todavía no hay un almacenamiento "
                                      f"de seguimiento en {lab_store.db}."), spanish.stdout
    assert_spanish(spanish.stdout.splitlines())
    english = labkit_command(["--lang", "en", "reset"], language_env(lab_store, LAB_LANG="es"),
                             lab_store.folder)
    assert english.stdout.startswith("Nothing to reset"), english.stdout


def test_the_scripts_the_demo_runs_speak_the_demos_language(monkeypatch):
    monkeypatch.setenv("LAB_LANG", "en")
    try:
        i18n.set_language("es")  # what `python -m labkit demo --lang es` does once parsed
        assert cli.child_env()["LAB_LANG"] == "es"
        assert cli.child_env()["PATH"] == os.environ["PATH"]
    finally:
        i18n.set_language(None)


@pytest.mark.parametrize("args", [["-m", "labkit", "bogus"], [str(ROOT / "test" / "serve_model.py"), "--bogus"],
                                  [str(ROOT / "test" / "test_requests.py"), "--port"]])
def test_argparse_says_its_own_words_in_spanish_and_english_by_language(args, tmp_path):
    """usage:, options: and argparse's errors follow the lab's language (issue 19)."""
    base = {k: v for k, v in os.environ.items() if k not in LANGUAGE_VARIABLES}
    spanish = run_python(args, {**base, "LAB_LANG": "es"}, tmp_path, timeout=120)
    assert spanish.returncode == 2 and spanish.stderr.startswith("uso: "), spanish.stderr
    assert re.search(r": error: (argumento command: valor no válido|argumentos no reconocidos)", spanish.stderr)
    english = run_python(args, {**base, "LAB_LANG": "en"}, tmp_path, timeout=120)
    assert english.stderr.startswith("usage: ") and ": error: " in english.stderr, english.stderr
    assert "uso:" not in english.stderr
