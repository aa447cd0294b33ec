"""Can the suite's one English checker (test/english.py) fail, and does every Spanish text of
the lab's catalogs pass it? (The grader's, labkit's and the classroom's Spanish output are read
by the same checker in their own tests.)"""

from __future__ import annotations

import pytest
from english import english_words

from labkit.maintainers import catalogs


def test_the_checker_catches_english_and_lets_spanish_with_code_quotes_and_glosses_through():
    for english, expected in (
        ("       expected a run in experiment 'task1-baseline', found none", {"expected", "found"}),
        ("pista: fix that error, then run code/task2_sweep.py again", {"fix", "then", "again", "run again"}),
        ("un LinearRegression re-fit on the lab's split 'x'", {"the"}),  # an apostrophe is no quote
        ("The class server at http://127.0.0.1:5000 does not answer. Is it running (`classroom status`)?",
         {"The", "does", "not", "answer", "Is", "it", "running"}),
        ("Could not grade 1 of 2 students: typed (their rows in grades/gradebook.csv say why).",
         {"Could", "not", "grade", "of", "students", "their", "in", "why"}),
        ("The tracking server at http://127.0.0.1:5000 stopped answering.", {"The", "tracking", "stopped"}),
    ):
        assert expected <= set(english_words(english)), (english, english_words(english))
    assert english_words("FAIL 1.1  a task-1 run is in experiment 'task1-baseline'  [0/1]") == ["is", "in"]
    assert english_words("Siguen pendientes: TODO 1.1. Search your script for 'TODO'.") == ["Search", "your", "for"]
    for spanish in (
        "FAIL 1.3  el run de la tarea 1 guarda los parámetros model_type, random_state y test_size  [0/1]",
        '       pista: dentro del bloque `with`: mlflow.log_param("model_type", MODEL_TYPE), y lo mismo '
        'para "random_state" (RANDOM_STATE)',
        "Calificando task1, task2 en sqlite:////tmp/x/mlflow.db",
        "       se omite hasta que pase el TODO 1.3",
        'CLASS_DATABASE_URI no está definida. Expórtala (INSTRUCTORS.md, sección 1, "Without Docker"): '
        "CLASS_DATABASE_URI=postgresql+psycopg2://mlflow:PASSWORD@HOST:5432/mlflow; "
        "o usa --throwaway-postgres. El run 'the run' del workspace: 1.4 fail, pass, skip, log.",
        "El servidor de seguimiento (tracking server) en http://x:1/y no responde. Ejecuta "
        "`python -m labkit reset` para 'the run' en /tmp/pytest-of-me/test_0 y luego python "
        "grader/check.py task1; rmse=27.089, MLFLOW_TRACKING_URI",
        "Regístralo en el Model Registry; el log del servidor está en {log}: {hint}",
    ):
        assert english_words(spanish) == [], spanish


@pytest.mark.parametrize("domain", ["grader", "labkit", "classroom"])
def test_every_spanish_text_of_the_catalogs_reads_as_spanish(domain):
    """Every msgstr (its {placeholders} are code; the catalog tests check that each exists)."""
    english = {}
    for message in catalogs.read(domain):
        if message.id:
            for text in message.string if isinstance(message.string, tuple) else (message.string,):
                if english_words(text):
                    english[text] = english_words(text)
    assert english == {}
