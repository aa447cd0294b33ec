"""Are the guides' TODO blocks and the TODO counts generated from solutions/, and does README's
"Adding a TODO" hold: a throwaway TODO 2.5, added by touching only the files it names and
running its commands, is graded, shown in both guides and counted?"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_release import WHERE, run_warm

from grader.registry import todo_ids
from labkit.maintainers import guides
from labkit.maintainers.markers import MarkerError, render
from labkit.paths import ROOT

GENERATE = guides.COMMAND


def test_the_guides_todo_blocks_and_the_todo_counts_are_what_generation_makes():
    """Generated into memory from solutions/ and compared with the committed documents."""
    assert guides.todo_ids() == todo_ids(), "the solutions' TODO markers and the grader's checks differ"
    stale = guides.drifted()
    assert not stale, f"{', '.join(stale)} drifted from solutions/: run `{GENERATE}`"


def test_every_todo_has_its_region_in_both_guides_in_order():
    for name in guides.GUIDES:
        ids = [m["id"] for m in guides.REGION.finditer((ROOT / name).read_text(encoding="utf-8"))]
        assert ids == todo_ids(), name


GUIDE = """# Task 2

Some prose.

<!-- TODO 2.1 -->
```python
# TODO 2.1: an old text, edited by hand
```
<!-- /TODO 2.1 -->

Prose about 2.1.

<!-- TODO 2.9 -->
```python
# TODO 2.9: a TODO the solutions no longer have
```
<!-- /TODO 2.9 -->

| task | what | TODOs | time |
| --- | --- | --- | --- |
| 2 | sweep | 2.1 – 2.4 | 15 min |

Four tasks, 15 TODOs; all of them (15 points).
"""


def test_generation_rewrites_a_block_adds_a_new_todo_after_its_neighbour_and_drops_a_gone_one():
    comments = {"2.1": "# TODO 2.1: Log it.\n#   Hint: mlflow.log_param", "2.2": "# TODO 2.2: Log the rest."}
    made = guides.with_todo_blocks(GUIDE, comments, "LAB.md")
    assert "an old text" not in made and "2.9" not in made
    assert made.index("# TODO 2.1: Log it.\n#   Hint: mlflow.log_param\n```") < made.index("# TODO 2.2: Log the rest.")
    assert made.index("<!-- /TODO 2.2 -->") < made.index("Prose about 2.1."), "2.2 goes right after 2.1"
    assert guides.with_todo_blocks(made, comments, "LAB.md") == made


def test_generation_sets_the_counts_and_stops_when_a_counted_sentence_is_gone():
    made = guides.with_counts(GUIDE, ["1.1", "2.1", "2.2", "2.3", "2.4", "2.5"], "LAB.md")
    assert "| 2.1 – 2.5 |" in made and "6 TODOs" in made and "(6 points)" in made
    with pytest.raises(MarkerError, match="update COUNTS"):
        guides.with_counts(GUIDE.replace("15 TODOs", "fifteen TODOs"), ["2.1"], "LAB.md")


def test_a_broken_marker_is_refused_with_its_fix():
    with pytest.raises(MarkerError, match="malformed or unpaired"):
        guides.with_todo_blocks(GUIDE.replace("<!-- /TODO 2.1 -->\n", ""), {"2.1": "# TODO 2.1: x"}, "LAB.md")


# ------------------------------------------------------------ adding a throwaway TODO 2.5

# What a contributor writes, one file each: README.md's "Adding a TODO" names these five.
BY_HAND = ("solutions/task2_sweep.py", "grader/task2.py", "grader/hints.py",
           "solutions/locale/es.po", "locale/es/LC_MESSAGES/grader.po")
# What the commands write.
GENERATED = ("code/task2_sweep.py", "code/task2_sweep.ipynb", "solutions/task2_sweep.ipynb",
             "locale/es/LC_MESSAGES/grader.mo", "LAB.md", "LAB.es.md", "README.md", "README.es.md",
             "INSTRUCTORS.md")

SOLUTION = '''
        # BEGIN TODO 2.5: Log the metric "train_rows" (the number of rows of X_train).
        #   Hint: mlflow.log_metric; python -c "import mlflow; help(mlflow.log_metric)"
        mlflow.log_metric("train_rows", len(X_train))
        # END TODO 2.5
'''
CHECK = '''

@check("2.5", N_("every sweep run logs train_rows, the number of training rows"), N_("log len(X_train)"),
       quotes=("train_rows",), names=("X_train",))
def train_rows_logged(ctx):
    def counted(run, config) -> None:
        found = run.data.metrics.get("train_rows")
        if found != len(ctx.split().X_train):
            raise Fail(_("expected metric train_rows in {run}, found {found}", run=ev.label(run), found=found))

    return _each_run(ctx, counted)
'''
HINTS = '''    "2.5": (
        N_("a metric is a number logged by name: here how many rows the model trained on"),
        N_("mlflow.log_metric(key, value). Offline: {help}", help=offline("mlflow.log_metric")),
        N_('mlflow.log_metric("<name>", <number>), inside the run'),
    ),
'''
SPANISH_TODO = {
    'Log the metric "train_rows" (the number of rows of X_train).\n'
    'Hint: mlflow.log_metric; python -c "import mlflow; help(mlflow.log_metric)"':
    'Guarda la métrica "train_rows" (el número de filas de X_train).\n'
    'Pista: mlflow.log_metric; python -c "import mlflow; help(mlflow.log_metric)"',
}
SPANISH_CHECK = {
    "every sweep run logs train_rows, the number of training rows":
        "cada ejecución del barrido guarda train_rows, el número de filas de entrenamiento",
    "log len(X_train)": "guarda len(X_train)",
    "expected metric train_rows in {run}, found {found}": "se esperaba la métrica train_rows en {run}, "
                                                          "se encontró {found}",
    "a metric is a number logged by name: here how many rows the model trained on":
        "una métrica es un número guardado con un nombre: aquí cuántas filas entrenaron el modelo",
    "mlflow.log_metric(key, value). Offline: {help}": "mlflow.log_metric(key, value). Sin conexión: {help}",
    'mlflow.log_metric("<name>", <number>), inside the run':
        'mlflow.log_metric("<nombre>", <número>), dentro del run',
}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path}: {old!r}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def write_spanish(po: Path, entries: dict[str, str]) -> None:
    """Write the msgstr of each entry, as a translator does in an editor."""
    from babel.messages.pofile import read_po, write_po

    with po.open("rb") as handle:
        catalog = read_po(handle)
    for msgid, msgstr in entries.items():
        message = catalog.get(msgid)
        assert message is not None, f"{po}: no entry for {msgid!r} after the update"
        message.string, message.previous_id = msgstr, []
        message.flags.discard("fuzzy")
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, ignore_obsolete=True, include_previous=True)
    po.write_bytes(buffer.getvalue())


def digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def in_copy(copy: Path, *argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """``python ARGV`` in the copy, importing the copy's labkit and grader."""
    env = {**os.environ, **(env or {}), "PYTHONPATH": str(copy), "PYTHONUTF8": "1"}
    done = subprocess.run([sys.executable, *argv], cwd=copy, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode in (0, 1), f"{' '.join(argv)}: {done.stdout}\n{done.stderr[-3000:]}"
    return done


GRADE = """
import json, sys
from grader.core import grade
print(json.dumps({uri: {r.id: r.status for r in grade(["task2"], tracking_uri=uri).results}
                  for uri in sys.argv[1:]}))
"""


def without_stub(source: str, todo_id: str) -> str:
    """The syntax tree (ast.dump) of ``source`` without the statement ``todo(TODO_ID)``, which must be there."""
    tree = ast.parse(source)
    stub = ast.dump(ast.Expr(ast.Call(ast.Name("todo", ast.Load()), [ast.Constant(todo_id)], [])))
    dropped = 0
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            statements = getattr(node, field, None)
            if isinstance(statements, list):
                kept = [statement for statement in statements if ast.dump(statement) != stub]
                dropped += len(statements) - len(kept)
                setattr(node, field, kept)
    assert dropped == 1, f"{dropped} todo({todo_id!r}) stubs"
    return ast.dump(tree)


def grade_task2(copy: Path, script: Path, folder: Path, template, ran_already) -> dict[str, dict[str, str]]:
    """Run ``script`` on a store of its own (a copy of conftest's store_template: MLflow's tables
    made already), then grade it ("right") and the read-only store ``ran_already`` ("wrong": a store in
    which the same program without TODO 2.5 ran) with the copy's grader; the statuses of task 2's TODOs
    per key. The script and the grade are forked in turn from one interpreter that imported the copy's
    labkit and grader once (test_release.run_warm: a new __main__, environment and exit code each),
    not fresh ones that import MLflow and scikit-learn again each."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(PYTHONPATH=str(copy), PYTHONUTF8="1")
    uris = {"right": template.copy_to(folder / "right").uri, "wrong": ran_already.uri}
    where, ran, graded = run_warm(sys.executable, copy, env, [
        (["-c", WHERE], {}),
        ([str(script)], {"MLFLOW_TRACKING_URI": uris["right"]}),
        (["-c", GRADE, *uris.values()], {})])
    assert where.stdout.count(str(copy)) == 2, f"the copy's labkit and grader must be the ones imported: {where}"
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert graded.returncode == 0, graded.stderr[-3000:]
    statuses = json.loads(graded.stdout)
    return {key: statuses[uri] for key, uri in uris.items()}


@pytest.mark.slow
def test_a_throwaway_todo_2_5_touches_five_files_by_hand_and_is_graded_shown_and_counted(store_template, solutions_store,
                                                                                          tmp_path):
    copy = tmp_path / "lab"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(
        ".git", ".venv", "__pycache__", "mlflow.db*", "mlartifacts", "backups", "hint_levels.json"))
    before = digests(copy)

    # 1. the solution lines and the TODO's text
    edit(copy / "solutions/task2_sweep.py", "        mlflow.set_tags(SWEEP_TAGS)\n        # END TODO 2.4\n",
         "        mlflow.set_tags(SWEEP_TAGS)\n        # END TODO 2.4\n" + SOLUTION)
    # 2. its check and its levels of help
    (copy / "grader/task2.py").write_text((copy / "grader/task2.py").read_text(encoding="utf-8") + CHECK,
                                          encoding="utf-8")
    edit(copy / "grader/hints.py", "    # Task 3: the MLflow idea", HINTS + "    # Task 3: the MLflow idea")
    # 3. the Spanish: update both catalogs, write the new entries, compile
    in_copy(copy, "-m", "labkit.maintainers.translation", "update")
    in_copy(copy, "-m", "labkit.maintainers.catalogs", "update")
    write_spanish(copy / "solutions/locale/es.po", SPANISH_TODO)
    write_spanish(copy / "locale/es/LC_MESSAGES/grader.po", SPANISH_CHECK)
    in_copy(copy, "-m", "labkit.maintainers.catalogs", "compile")
    # 4. generate code/, the notebooks, the guides' TODO blocks and the counts
    generated = in_copy(copy, "-m", "labkit", "generate")
    assert generated.returncode == 0, generated.stderr

    changed = {rel for rel, digest in digests(copy).items() if before.get(rel) != digest}
    assert changed - set(GENERATED) == set(BY_HAND), "files touched beyond the five written by hand"
    assert changed >= {"code/task2_sweep.py", "LAB.md", "LAB.es.md", "README.md"}

    # The guides show it, in their languages, after TODO 2.4; every count says 16.
    lab, lab_es = (copy / "LAB.md").read_text(encoding="utf-8"), (copy / "LAB.es.md").read_text(encoding="utf-8")
    assert lab.index("<!-- /TODO 2.4 -->") < lab.index('# TODO 2.5: Log the metric "train_rows"') < lab.index("TODO 3.1")
    assert '# TODO 2.5: Guarda la métrica "train_rows"' in lab_es
    assert "16 TODOs" in lab and "(16 points)" in lab and "| 2.1 – 2.5 |" in lab
    assert "16 TODOs" in lab_es and "(16 puntos)" in lab_es and "| 2.1 – 2.5 |" in lab_es
    for readme in ("README.md", "README.es.md"):
        text = (copy / readme).read_text(encoding="utf-8")
        assert "16 TODOs" in text and "(16/16)" in text and "15" not in re.findall(r"\d+(?= TODOs)", text)
    assert "scores 16/16" in (copy / "INSTRUCTORS.md").read_text(encoding="utf-8")
    assert guides.drifted(copy, copy / "solutions") == []

    # The grader grades it: right on the solution, wrong with only 2.5 reverted. The solution with
    # 2.5 reverted is the lab's own task-2 solution plus the stub `todo("2.5")` (which only notes the
    # TODO as open, to print it at the end): conftest's solutions_store ran that solution (read-only:
    # grading records nothing), and it is the "wrong" store, not a second sweep.
    reverted = render((copy / "solutions/task2_sweep.py").read_text(encoding="utf-8"), {"2.5"})
    lab_solution = (ROOT / "solutions/task2_sweep.py").read_text(encoding="utf-8")
    assert without_stub(reverted, "2.5") == ast.dump(ast.parse(lab_solution)), "not the lab's task-2 program"
    graded = grade_task2(copy, copy / "solutions/task2_sweep.py", tmp_path, store_template, solutions_store)
    assert graded["right"] == dict.fromkeys(["2.1", "2.2", "2.3", "2.4", "2.5"], "pass"), graded
    assert graded["wrong"] == {**graded["right"], "2.5": "fail"}, graded
