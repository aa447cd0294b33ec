"""Leave one out: with only one TODO of the solutions reverted to its stub, does the grader
fail that TODO, skip exactly the TODOs whose evidence cannot exist without it (the table
below), and pass all the others, and say so without a line of a solution of tasks 2-4
(test/solution_lines.py)?"""

from __future__ import annotations

import pytest
from solution_lines import leaks
from test_grader_support import grade_results, task3_copy, task3_store  # noqa: F401 - fixtures

from grader.checks import task_of
from grader.core import FAIL, PASS, SKIP
from grader.registry import dependents_of, todo_ids

TODO_IDS = todo_ids()


def store_with_one_todo_reverted(todo_id: str, request):
    """Run as little as the TODO needs: its task alone, or tasks 3 and 4 together, on a store
    whose tables exist already (conftest's ready_store) or where task 3 ran (task3_copy)."""
    task = task_of(todo_id)
    if task in ("task1", "task2", "task3"):
        store = request.getfixturevalue("ready_store")
        store.run_variant(task, {todo_id})
        if task in ("task1", "task2"):
            return store, [task]
        store.run_task("task4")
        return store, ["task3", "task4"]
    store = request.getfixturevalue("task3_copy")
    store.run_variant("task4", {todo_id})
    return store, ["task3", "task4"]


# For each TODO reverted alone, the other TODOs that do not pass (graded: its task, or tasks 3
# and 4 together). One mistake costs one TODO, except where the others' evidence cannot exist
# without it (grader/checks.py, ``needs``): no model to attach metrics to or register (3.2),
# no r2 to judge a pick by (3.3), no pick (4.1), no version (4.2), no alias (4.3). A TODO not
# in the table costs itself alone.
EXPECTED = {
    "3.2": {"3.3": SKIP, "4.2": SKIP, "4.3": SKIP, "4.4": SKIP},
    "3.3": {"4.1": SKIP},
    "4.1": {"4.2": SKIP, "4.3": SKIP, "4.4": SKIP},
    "4.2": {"4.3": SKIP, "4.4": SKIP},
    "4.3": {"4.4": SKIP},
}


# What a skip says: why, and what of the skipped TODO's evidence is already in the store.
SKIPS_SAY = {
    "3.2": {"3.3": ("skipped until 3.2 passes", "already in the store: metrics in 'LinearRegression'")},
}


def test_the_expected_table_names_real_todos_and_skips_only_what_waits():
    assert set(EXPECTED) <= set(TODO_IDS)
    for todo_id, others in EXPECTED.items():
        assert set(others) <= dependents_of(todo_id), todo_id


@pytest.mark.slow
@pytest.mark.parametrize("todo_id", TODO_IDS)
def test_reverting_one_todo_fails_it_and_exactly_the_expected_others(todo_id, request):
    store, tasks = store_with_one_todo_reverted(todo_id, request)
    results = grade_results(store, *tasks)
    shown = {i: (r.status, r.rationale) for i, r in results.items() if r.status != PASS}
    assert results[todo_id].status == FAIL, shown
    assert results[todo_id].rationale and results[todo_id].hint
    others = {i: r.status for i, r in results.items() if i != todo_id and r.status != PASS}
    assert others == EXPECTED.get(todo_id, {}), shown
    for other, (rationale, hint) in SKIPS_SAY.get(todo_id, {}).items():
        assert results[other].rationale == rationale and results[other].hint.startswith(hint), shown
    for other, result in results.items():  # the default feedback names the idea, never a solution line
        said = "\n".join(filter(None, [result.rationale, result.hint, result.note]))
        assert result.status == PASS or not leaks(said), (other, leaks(said), said)
