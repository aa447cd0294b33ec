"""Are the notebooks the same tasks as the scripts, committed up to date, and do they run?"""

from __future__ import annotations

import ast
import subprocess
import sys

import nbformat
import pytest
from conftest import run_python
from nbclient import NotebookClient

from labkit.maintainers import codegen, markers, notebooks
from labkit.paths import CODE_DIR, ROOT, SOLUTIONS_DIR
from grader.registry import todo_ids

SCRIPTS = sorted(p.name for p in SOLUTIONS_DIR.glob("task*.py"))


def read(path):
    return nbformat.read(path, as_version=4)


def code_of(nb) -> str:
    return "\n\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")


def program(text: str) -> str:
    """The program a text runs, without its docstring and comments."""
    tree = ast.parse(text)
    if tree.body and isinstance(tree.body[0], ast.Expr) and isinstance(tree.body[0].value, ast.Constant):
        tree.body = tree.body[1:]
    return ast.dump(tree)


def comments(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith("#")]


def execute(nb, cwd, env, timeout=240):
    client = NotebookClient(nb, kernel_name="python3", timeout=timeout,
                            resources={"metadata": {"path": str(cwd)}})
    client.execute(env=env)
    return nb


def test_committed_notebooks_match_what_the_generator_makes():
    stale = notebooks.drifted(ROOT)
    assert not stale, f"{', '.join(stale)} drifted from solutions/: run `{notebooks.COMMAND}`"


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_notebooks_written_without_nbformat_are_valid_and_as_nbformat_writes_them(lang):
    """The generator writes JSON with the standard library (a release needs no nbformat)."""
    made = notebooks.notebooks(lang=lang) if lang == "en" else notebooks.student_notebooks(lang=lang)
    assert made
    for name, data in made.items():
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        nbformat.validate(nb)
        assert (nbformat.writes(nb) + "\n").encode("utf-8") == data, name


def test_the_drift_check_runs_from_any_folder(tmp_path):
    assert len(notebooks.drifted(tmp_path)) == 2 * len(SCRIPTS)  # an empty folder has none
    result = subprocess.run([sys.executable, "-m", "labkit.maintainers.notebooks", "--check"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_generation_is_deterministic():
    assert notebooks.notebooks() == notebooks.notebooks()


@pytest.mark.parametrize("script", SCRIPTS)
def test_each_notebook_runs_the_same_program_as_its_script(script):
    stem = script.removesuffix(".py")
    solution = markers.render((SOLUTIONS_DIR / script).read_text(encoding="utf-8"), revert=set())
    student = (CODE_DIR / script).read_text(encoding="utf-8")
    assert program(code_of(read(SOLUTIONS_DIR / f"{stem}.ipynb"))) == program(solution)
    assert program(code_of(read(CODE_DIR / f"{stem}.ipynb"))) == program(student)


@pytest.mark.parametrize("script", SCRIPTS)
def test_student_notebooks_keep_every_todo_comment_of_the_script(script):
    nb = read(CODE_DIR / script.replace(".py", ".ipynb"))
    script_todos = [c for c in comments((CODE_DIR / script).read_text(encoding="utf-8"))
                    if c.startswith(("# TODO", "#   Hint", "#   "))]
    assert script_todos
    notebook_comments = comments(code_of(nb))
    assert [c for c in notebook_comments if c in script_todos] == script_todos


def test_notebooks_are_stored_without_outputs_and_with_fixed_ids():
    for path in sorted(CODE_DIR.glob("*.ipynb")) + sorted(SOLUTIONS_DIR.glob("*.ipynb")):
        nb = read(path)
        assert nb.metadata.kernelspec.name == "python3"
        for cell in nb.cells:
            assert cell.id.startswith(path.stem.replace("_", "-")), path
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path


def test_a_notebook_uses_the_lab_store_whatever_folder_jupyter_starts_in(tmp_path, lab_store):
    env = {k: v for k, v in lab_store.env().items() if k != "MLFLOW_TRACKING_URI"}
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("from labkit.store import tracking_uri\nprint(tracking_uri())"))
    execute(nb, tmp_path, env, timeout=60)
    printed = nb.cells[0].outputs[0]["text"].strip()
    assert printed == "sqlite:///" + (ROOT / "mlflow.db").resolve().as_posix()


def test_the_solution_notebooks_run_from_another_folder_and_score_full_marks(tmp_path, ready_store):
    """The four solution notebooks, in order, in a Jupyter started in another folder, then the
    grader: full marks. They run in one kernel, each after `%reset -f` (every name of the one
    before gone, so none leans on another's variables): a kernel per notebook, as a student
    opens them, would only import MLflow, scikit-learn and pandas again each time. The store is
    conftest's ready_store (MLflow's tables made: a script's start makes them, test_tasks.py)."""
    lab_store = ready_store
    workdir = tmp_path / "jupyter-started-here"
    workdir.mkdir()
    together = nbformat.v4.new_notebook(metadata=read(SOLUTIONS_DIR / SCRIPTS[0].replace(".py", ".ipynb")).metadata)
    last_cell = {}
    for script in SCRIPTS:
        nb = read(SOLUTIONS_DIR / script.replace(".py", ".ipynb"))
        together.cells += [nbformat.v4.new_code_cell("%reset -f"), *nb.cells]
        last_cell[script] = len(together.cells) - 1
    execute(together, workdir, lab_store.env())
    for script, index in last_cell.items():
        assert "No TODO left open" in "".join(
            out.get("text", "") for out in together.cells[index].outputs), script
    assert list(workdir.iterdir()) == [], "a notebook wrote files into Jupyter's folder"
    assert_full_marks(lab_store)


def assert_full_marks(store):
    """The grader's verdict, forked warm (conftest.run_python; test_grader.py runs it fresh)."""
    result = run_python([str(ROOT / "grader" / "check.py"), "all"], store.env(), ROOT, timeout=300)
    todos = len(todo_ids())
    assert result.returncode == 0 and f"Score: {todos}/{todos}" in result.stdout, result.stdout + result.stderr


def test_the_spanish_notebooks_are_the_english_ones_with_spanish_texts():
    """The student notebooks in Spanish (--lang es): the same program, the Spanish TODOs and intro."""
    from labkit.maintainers.script_texts import program

    spanish_scripts = codegen.scripts(lang="es")
    for name, data in notebooks.student_notebooks(lang="es").items():
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        english = read(CODE_DIR / name)
        script = name.replace(".ipynb", ".py")
        assert program(code_of(nb)) == program(code_of(english))
        todos = [c for c in comments(spanish_scripts[script]) if c.startswith(("# TODO", "#   "))]
        assert todos and [c for c in comments(code_of(nb)) if c in todos] == todos
        assert nb.cells[0].source.startswith("# Tarea ") and "Esta es tu copia" in nb.cells[0].source
        assert [c.source.split("\n")[0] for c in nb.cells if c.source.startswith("## ")][-1] == "## Resumen"
