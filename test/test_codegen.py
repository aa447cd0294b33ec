"""Are the student scripts generated faithfully from the solutions, and are bad markers refused?"""

import pytest

from grader.registry import todo_ids
from labkit.maintainers import codegen, markers
from labkit.paths import CODE_DIR, SOLUTIONS_DIR


def solution_sources():
    return sorted(SOLUTIONS_DIR.glob("task*.py"))


def test_code_folder_matches_what_the_generator_makes(tmp_path):
    written = codegen.generate(out=tmp_path)
    assert [p.name for p in written] == [p.name for p in solution_sources()]
    for generated in written:
        committed = CODE_DIR / generated.name
        assert committed.exists(), f"code/{generated.name} is missing: run `python -m labkit generate`"
        assert committed.read_bytes() == generated.read_bytes(), (
            f"code/{generated.name} has drifted from solutions/: run `python -m labkit generate`"
        )


def test_the_todo_ids_are_exactly_those_the_grader_checks():
    ids = [i for path in solution_sources() for i in markers.todo_ids(path.read_text(encoding="utf-8"))]
    assert ids == todo_ids()


def test_student_scripts_keep_no_solution_markers_and_one_todo_comment_each():
    text = "".join(p.read_text(encoding="utf-8") for p in sorted(CODE_DIR.glob("task*.py")))
    assert "BEGIN TODO" not in text and "END TODO" not in text and "# STUB" not in text
    for todo_id in todo_ids():
        assert text.count(f"# TODO {todo_id}: ") == 1, todo_id
        assert f'todo("{todo_id}")' in text, f"TODO {todo_id} has no stub call"


def test_the_students_copy_says_it_is_theirs():
    """No "generated, do not edit" header: the maintainers' note lives in solutions/ and README."""
    for path in sorted(CODE_DIR.glob("task*.py")):
        head = path.read_text(encoding="utf-8")[:400].lower()
        assert "generated" not in head and "do not edit" not in head, path.name
        assert head.startswith('"""task '), f"{path.name} should open with the task's docstring"


def test_reverting_nothing_gives_the_solution_without_markers():
    source = (SOLUTIONS_DIR / "task1_baseline.py").read_text(encoding="utf-8")
    rendered = markers.render(source, revert=set())
    assert "BEGIN TODO" not in rendered and "todo(" not in rendered.replace("import todo", "")
    assert "mlflow.set_experiment(EXPERIMENT_NAME)" in rendered


def test_reverting_one_todo_touches_only_that_region():
    source = (SOLUTIONS_DIR / "task1_baseline.py").read_text(encoding="utf-8")
    rendered = markers.render(source, revert={"1.3"})
    assert 'todo("1.3")' in rendered
    assert 'mlflow.log_param("model_type", MODEL_TYPE)' not in rendered
    assert 'mlflow.log_metric("rmse", rmse)' in rendered  # 1.4 is still solved


GOOD = """x = 1
# BEGIN TODO 9.1: Do it.
#   Hint: it()
it()
# END TODO 9.1
"""


@pytest.mark.parametrize(
    "source, message",
    [
        ("# BEGIN TODO 9.1: a\nx()\n# BEGIN TODO 9.2: b\ny()\n# END TODO 9.2\n# END TODO 9.1\n",
         "BEGIN TODO 9.2 inside TODO 9.1"),
        ("# BEGIN TODO 9.1: a\nx()\n", "TODO 9.1 has no END"),
        ("x()\n# END TODO 9.1\n", "END TODO 9.1 without a BEGIN"),
        ("# BEGIN TODO 9.1: a\nx()\n# END TODO 9.2\n", "END TODO 9.2 closes TODO 9.1"),
        ("# STUB\n", "STUB outside a TODO region"),
        ("# BEGIN TODO 9.1: a\nx()\n# STUB\ny()\n# END TODO 9.1\n", "STUB lines must be commented out"),
        ("# BEGIN TODO 9.1: a\n# END TODO 9.1\n", "has no solution lines"),
        ("# BEGIN TODO 9.1 missing colon\nx()\n# END TODO 9.1\n", "malformed TODO marker"),
        (GOOD + GOOD, "TODO 9.1 appears more than once"),
    ],
)
def test_malformed_markers_stop_the_generator_with_the_line(source, message):
    with pytest.raises(markers.MarkerError, match=message):
        markers.render(source, name="bad.py")


def test_the_generator_command_fails_loudly_on_a_bad_solution(tmp_path, capsys):
    bad = tmp_path / "solutions"
    bad.mkdir()
    (bad / "task9_bad.py").write_text("# BEGIN TODO 9.1: a\nx()\n", encoding="utf-8")
    with pytest.raises(markers.MarkerError):
        codegen.generate(solutions=bad, out=tmp_path / "code")


def test_a_good_region_becomes_a_todo_comment_and_a_stub():
    assert markers.render(GOOD) == 'x = 1\n# TODO 9.1: Do it.\n#   Hint: it()\ntodo("9.1")\n'


# ------------------------------------------------------------------ the scripts in Spanish

import re  # noqa: E402
import shutil  # noqa: E402
from functools import cache  # noqa: E402

from labkit.maintainers import script_texts, translation  # noqa: E402

# The glossary of the lab's Spanish (the brief of issue 14): Spain-only or misleading words.
FORBIDDEN = ("corrector", "corregir", "corrige", "desviación típica", "pulsa", "intro",
             "sea cual sea", "otro sitio", "cabecera", "almacén", "vale", "fichero", "ordenador",
             "coger", "vosotros", "modelo registrado en el run")


@cache
def spanish() -> dict[str, str]:
    return codegen.scripts(lang="es")


@cache
def spanish_solutions() -> dict[str, str]:
    return {path.name: text for path, text in translation.sources(lang="es").items()}


def test_the_texts_of_the_solutions_all_have_their_spanish_and_none_is_stale():
    """Is solutions/locale/es.po in step with solutions/ (the generation refuses it otherwise)?"""
    found = translation.problems()
    assert not found, "\n".join(found) + f"\nRun `{translation.UPDATE}` and write the Spanish."


@pytest.mark.parametrize("script", [p.name for p in solution_sources()])
def test_a_spanish_script_is_the_english_program_with_spanish_texts(script):
    """Code, names, string constants and API calls are the English ones; only texts change."""
    english = (CODE_DIR / script).read_text(encoding="utf-8")
    english_solution = (SOLUTIONS_DIR / script).read_text(encoding="utf-8")
    assert script_texts.program(spanish()[script]) == script_texts.program(english)
    assert (script_texts.program(markers.render(spanish_solutions()[script], revert=set()))
            == script_texts.program(markers.render(english_solution, revert=set())))
    english_comments = {c for c in re.findall(r"#.*", english) if len(c) > 12}
    assert not english_comments & set(re.findall(r"#.*", spanish()[script])), "an English comment is left"


def test_a_figures_title_is_in_the_scripts_language():
    """Is every title a script gives a labkit.plots figure translated (the Spanish release's
    figures said "Baseline: LinearRegression")?"""
    import ast
    import inspect

    import labkit.plots

    def titles(source: str) -> list[str]:
        """The string given as a labkit.plots function's ``title`` parameter, by position or name."""
        found = []
        for node in ast.walk(ast.parse(source)):
            name = ast.unparse(node.func) if isinstance(node, ast.Call) else ""
            if not name.startswith("labkit.plots."):
                continue
            parameters = list(inspect.signature(getattr(labkit.plots, name.split(".")[-1])).parameters)
            given = dict(zip(parameters, node.args)) | {k.arg: k.value for k in node.keywords}
            title = given.get("title")
            if isinstance(title, ast.Constant) and isinstance(title.value, str):
                found.append(title.value)
        return found

    english = {name: titles((CODE_DIR / name).read_text(encoding="utf-8")) for name in spanish()}
    assert any(english.values()), "no script gives a figure a title of its own: nothing to check"
    for name, source in spanish().items():
        assert not set(english[name]) & set(titles(source)), f"{name}: a figure's title is still English"


def test_the_program_comparison_sees_a_changed_name_and_a_changed_field():
    source = (SOLUTIONS_DIR / "task4_registry.py").read_text(encoding="utf-8")
    same = script_texts.program(source)
    assert script_texts.program(source.replace('"task4-model-registry"', '"tarea4"')) != same
    assert script_texts.program(source.replace("{best_run_id}\")", "{best_run}\")")) != same
    assert script_texts.program(source.replace("Best task-3 run", "Mejor run")) == same


def test_the_spanish_todos_keep_their_ids_stubs_and_code_and_say_pista():
    text = "".join(spanish().values())
    for todo_id in todo_ids():
        assert text.count(f"# TODO {todo_id}: ") == 1, todo_id
        assert f'todo("{todo_id}")' in text
    assert "Hint:" not in text and text.count("#   Pista: ") == len(todo_ids())
    assert "BEGIN TODO" not in text and "# STUB" not in text


def test_the_spanish_uses_the_glossary():
    """No Spain-only word, and "registrar" only where the English registers (never for log)."""
    catalog = translation.read("es")
    for entry in catalog:
        if not entry.id:
            continue
        words = entry.string.lower()
        assert not [w for w in FORBIDDEN if re.search(rf"\b{w}\b", words)], entry.string
        if re.search(r"registr", words):
            assert re.search(r"regist", entry.id.lower()), (
                f"'registrar' is for the Model Registry only; this English logs: {entry.id!r}")


def copy_of_the_solutions(tmp_path):
    copy = tmp_path / "solutions"
    copy.mkdir()
    for path in solution_sources():
        shutil.copy(path, copy / path.name)
    (copy / "locale").mkdir()
    shutil.copy(translation.po_path("es"), copy / "locale" / "es.po")
    return copy


def edit_po(folder, old: str, new: str) -> None:
    po = folder / "locale" / "es.po"
    text = po.read_text(encoding="utf-8")
    assert old in text, old
    po.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_changed_english_text_stops_the_generation_until_its_spanish_is_updated(tmp_path):
    """Is an English edit without its Spanish found, and its old Spanish kept as fuzzy (stale)?"""
    folder = copy_of_the_solutions(tmp_path)
    script = folder / "task1_baseline.py"
    old = "# An experiment groups the runs of one question;"
    script.write_text(script.read_text(encoding="utf-8").replace(old, "# An experiment groups the runs of a question;"),
                      encoding="utf-8")
    with pytest.raises(translation.TranslationError, match=r"task1_baseline.py:38.*labkit.maintainers.translation update"):
        codegen.scripts(folder, lang="es")
    found = translation.problems(folder)
    assert any("no entry for 'An experiment groups the runs of a question;" in p for p in found), found
    assert any("'An experiment groups the runs of one question;" in p and "no longer" in p for p in found)
    translation.update(folder)
    found = translation.problems(folder)
    assert len(found) == 1 and "changed: update it and remove its fuzzy mark" in found[0], found
    with pytest.raises(translation.TranslationError):
        codegen.scripts(folder, lang="es")


@pytest.mark.parametrize("old, new, problem", [
    ('msgstr "Paso 1: elige adónde va el run"', 'msgstr ""', "has no translation"),
    ("Pista: mlflow.set_experiment(name)", "Hint: mlflow.set_experiment(name)", "its hint must be 'Pista:'"),
    ("Pista: mlflow.set_experiment(name)", "Pista: mlflow.set_experiment()", "its hint must be"),
    ('llamado EXPERIMENT_NAME (\\"task1-baseline\\")', "llamado EXPERIMENT_NAME", 'keep "task1-baseline"'),
    ("Inicia un run llamado RUN_NAME", "Inicia un run con nombre", "keep RUN_NAME"),
    ("Mejor run de la tarea 3: '{best_run.info.run_name}'", "Mejor run de la tarea 3: '{best_run}'", "its fields are"),
    ('"\\n"\n"Se guardó el run de referencia:"', '"Se guardó el run de referencia:"', "leading and trailing"),
    ('msgstr "reabre un run terminado"', 'msgstr "reabre\\nun run terminado"', "keep it on one line"),
])
def test_a_translation_that_breaks_a_rule_is_named(tmp_path, old, new, problem):
    """Does the check name a Spanish text that drops what its English must keep?"""
    folder = copy_of_the_solutions(tmp_path)
    edit_po(folder, old, new)
    found = translation.problems(folder)
    assert any(problem in p for p in found), found


def test_a_spanish_line_too_long_is_named(tmp_path):
    folder = copy_of_the_solutions(tmp_path)
    edit_po(folder, 'msgstr "Paso 1: un run por modelo"', 'msgstr "Paso 1: un run por modelo' + " x" * 50 + '"')
    found = translation.problems(folder)
    assert any("task3_compare.py (es solution)" in p and "more than 99" in p for p in found), found


def test_the_generator_writes_the_spanish_scripts_and_notebooks_elsewhere_only(tmp_path, capsys):
    """`--lang es --out DIR` writes the Spanish code/ there; without --out, one line says why not."""
    from labkit.maintainers import notebooks

    out = tmp_path / "code-es"
    for main in (codegen.main, notebooks.main):
        assert main(["--lang", "es", "--out", str(out)]) == 0
        capsys.readouterr()
        assert main(["--lang", "es"]) == 2
        refused = capsys.readouterr().err
        assert refused.count("\n") == 1 and "code/ stays English: give --out DIR" in refused
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([p.name for p in solution_sources()] + [p.stem + ".ipynb" for p in solution_sources()])
    for name, text in spanish().items():
        assert (out / name).read_text(encoding="utf-8") == text


def test_the_lab_command_generates_the_spanish_scripts_with_lang_and_out(tmp_path):
    """`python -m labkit generate --lang es --out DIR`, as README names it; LAB_LANG alone never
    turns the committed code/ Spanish."""
    import os
    import subprocess
    import sys

    from labkit.paths import ROOT

    out = tmp_path / "code-es"
    env = {**os.environ, "LAB_LANG": "es"}
    done = subprocess.run([sys.executable, "-m", "labkit", "generate", "--lang", "es", "--out", str(out)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for name, text in spanish().items():
        assert (out / name).read_text(encoding="utf-8") == text
    assert sorted(p.suffix for p in out.iterdir()).count(".ipynb") == len(solution_sources())
    refused = subprocess.run([sys.executable, "-m", "labkit", "generate", "--lang", "es"], cwd=ROOT,
                             env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "--out" in refused.stderr
