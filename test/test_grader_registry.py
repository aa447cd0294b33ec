"""Is the TODO registry the one list of TODOs, and does the grader's code keep its promises
(dependencies without cycles, hints that quote the scripts, no private formats read)?"""

from __future__ import annotations

import ast
import re

from conftest import ROOT

from grader.checks import Check
from grader.registry import CHECKS, TASKS, all_checks, dependents_of, todo_ids, with_dependencies

GRADER = ROOT / "grader"


def fake(depends: dict[str, tuple[str, ...]]) -> dict[str, Check]:
    return {i: Check(i, "a check", "a hint", d, lambda ctx: None) for i, d in depends.items()}


def test_the_dependency_walk_ends_on_a_cycle_and_reports_it():
    cyclic = fake({"1.1": ("1.2",), "1.2": ("1.3",), "1.3": ("1.1",), "2.1": ()})
    assert "1.1" in dependents_of("1.1", cyclic)  # what the no-cycle test below asserts against
    assert [c.id for c in with_dependencies([cyclic["1.1"]], cyclic)] == ["1.1", "1.2", "1.3"]
    assert dependents_of("2.1", cyclic) == set()


def test_no_check_waits_for_itself_and_every_dependency_exists():
    for check in all_checks():
        assert check.description[0].islower(), check.id
        assert check.hint, check.id
        assert all(dep in CHECKS and dep != check.id for dep in check.after)
        assert not set(check.needs) & set(check.depends), check.id  # one rule per pair
        assert check.id not in dependents_of(check.id)


def test_the_todo_ids_come_in_order_and_cover_every_task():
    ids = todo_ids()
    assert ids == [c.id for c in all_checks()]
    assert ids == sorted(ids, key=lambda i: tuple(int(p) for p in i.split(".")))
    assert {f"task{i.split('.')[0]}" for i in ids} == set(TASKS)


def test_the_readme_counts_the_todos_of_the_registry():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    counts = {int(n) for n in re.findall(r"\b(\d+) TODOs\b", readme)}
    assert counts == {len(todo_ids())}


def test_the_gradebook_has_a_column_per_todo_of_the_registry():
    from classroom.gradebook import COLUMNS

    assert [c for c in COLUMNS if re.fullmatch(r"\d+\.\d+", c)] == todo_ids()


def grader_modules() -> dict[str, ast.Module]:
    return {p.name: ast.parse(p.read_text(encoding="utf-8")) for p in sorted(GRADER.glob("*.py"))}


def imported(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module == "labkit":  # from labkit import lab
            names.update(f"labkit.{a.name}" for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_grader_uses_only_its_own_lab_facts_and_no_private_format():
    for name, tree in grader_modules().items():
        modules = imported(tree)
        # the lab's facts (labkit/lab.py), opening a store, the student's language, the lab's process
        # rules (labkit/net.py: the watcher stops on Ctrl+C); nothing else of labkit
        allowed = {"labkit.lab", "labkit.store", "labkit.i18n", "labkit.net"}
        assert not {m for m in modules if m.startswith("labkit")} - allowed, name
        assert not modules & {"yaml", "zipfile", "pickle", "cloudpickle"}, name
        if name != "store.py":  # the snapshot of a local store: SQLite's own backup API
            assert "sqlite3" not in modules, name


def test_no_import_hides_inside_a_function_of_the_grader():
    for name, tree in grader_modules().items():
        for func in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
            inner = [n for n in ast.walk(func) if isinstance(n, (ast.Import, ast.ImportFrom))]
            assert not inner, f"{name}: {func.name} imports inside a function"


def test_hints_quote_the_scripts_as_students_read_them():
    old = re.compile(r"names\.[A-Z_]+|SKLEARN_LOG_OPTIONS|split\.[Xy]_|labkit\.")
    for name, tree in grader_modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert not old.search(node.value), f"{name}: {node.value[:80]}"


def test_the_registry_states_each_todos_rule_as_its_checks_hold_it():
    """Is the table of needs in grader/registry.py's docstring the registry's own (the skips;
    what a TODO depends on is declared with its check alone)?"""
    import grader.registry

    doc = grader.registry.__doc__.split("per TODO:", 1)[1]
    tokens = re.findall(r"\d\.\d:?", re.sub(r"\([^)]*\)", "", doc))
    stated: dict[str, set] = {}
    subject = None
    for token in tokens:
        if token.endswith(":"):
            subject = token[:-1]
            stated[subject] = set()
        elif subject is not None:
            stated[subject].add(token)
    held = {c.id: set(c.needs) for c in all_checks() if c.needs}
    assert stated == held
