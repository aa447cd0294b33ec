"""Are the student scripts generated faithfully from the solutions, and are bad markers refused?"""

import pytest

from grader.registry import todo_ids
from labkit.maintainers import codegen
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
    ids = [i for path in solution_sources() for i in codegen.todo_ids(path.read_text(encoding="utf-8"))]
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
    rendered = codegen.render(source, revert=set())
    assert "BEGIN TODO" not in rendered and "todo(" not in rendered.replace("import todo", "")
    assert "mlflow.set_experiment(EXPERIMENT_NAME)" in rendered


def test_reverting_one_todo_touches_only_that_region():
    source = (SOLUTIONS_DIR / "task1_baseline.py").read_text(encoding="utf-8")
    rendered = codegen.render(source, revert={"1.3"})
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
    with pytest.raises(codegen.MarkerError, match=message):
        codegen.render(source, name="bad.py")


def test_the_generator_command_fails_loudly_on_a_bad_solution(tmp_path, capsys):
    bad = tmp_path / "solutions"
    bad.mkdir()
    (bad / "task9_bad.py").write_text("# BEGIN TODO 9.1: a\nx()\n", encoding="utf-8")
    with pytest.raises(codegen.MarkerError):
        codegen.generate(solutions=bad, out=tmp_path / "code")


def test_a_good_region_becomes_a_todo_comment_and_a_stub():
    assert codegen.render(GOOD) == 'x = 1\n# TODO 9.1: Do it.\n#   Hint: it()\ntodo("9.1")\n'
