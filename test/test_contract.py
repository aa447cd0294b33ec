"""Do the task scripts keep the contract the grader relies on, and read like MLflow's examples?

- the constants at the top of each solution hold what labkit/lab.py looks for;
- every TODO's text, in English and in Spanish, names the exact strings and constants it needs;
- the lab's own package stays small in a script: few calls into it, none that logs to
  MLflow on the student's behalf (the crash note aside);
- the lab's import rules hold (import-linter's contracts in pyproject.toml: dependencies one
  way, what a script loads apart from the commands and tools, no import circle);
- nothing in the lab tunes the interpreter (garbage collector, import order).
"""

from __future__ import annotations

import ast
import functools
import operator
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
from grader.registry import all_checks, todo_ids

import labkit
from labkit import lab
from labkit.maintainers import codegen
from labkit.paths import CODE_DIR, ROOT, SOLUTIONS_DIR
from test_fading import todo_texts as comments_of  # the one reader of a script's TODO comments

SCRIPTS = lab.SCRIPT_FILES
LAB_PACKAGE = "labkit"
LIBRARIES = ("mlflow", "sklearn", "pandas")
MAX_LAB_CALLS = 5  # per student script, besides the TODO stubs (issue 11)
MIN_LIBRARY_RATIO = 3  # calls into mlflow/sklearn/pandas per call into the lab, in solutions/
LANGUAGES = ("en", "es")  # of the student scripts: code/, and the Spanish generation (--lang es)


# ------------------------------------------------------------ reading a script's constants

class NotAConstant(Exception):
    pass


_OPERATORS = {ast.Div: operator.truediv, ast.Add: operator.add}


def value_of(node: ast.AST, known: dict):
    """The value of a constant's expression, built only from literals and earlier constants.

    A call such as ``RandomForestRegressor(n_estimators=50)`` reads as
    ``("RandomForestRegressor", {"n_estimators": 50})``; ``labkit.X`` is the lab's attribute.
    """
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        return [value_of(item, known) for item in node.elts]
    if isinstance(node, ast.Dict):
        return {value_of(k, known): value_of(v, known) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.Name) and node.id in known:
        return known[node.id]
    if isinstance(node, ast.Attribute) and ast.unparse(node.value) == LAB_PACKAGE:
        return getattr(labkit, node.attr)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](value_of(node.left, known), value_of(node.right, known))
    if isinstance(node, ast.JoinedStr):
        return "".join(str(value_of(part.value, known)) if isinstance(part, ast.FormattedValue)
                       else part.value for part in node.values)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.args:
        return (node.func.id, {kw.arg: value_of(kw.value, known) for kw in node.keywords})
    raise NotAConstant(ast.unparse(node))


def constants(script: str) -> dict:
    """The UPPER_CASE names a solution assigns at its top level, with their values."""
    tree = ast.parse((SOLUTIONS_DIR / script).read_text(encoding="utf-8"))
    known: dict = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id.isupper():
                try:
                    known[target.id] = value_of(node.value, known)
                except NotAConstant:
                    known[target.id] = NotAConstant
    return known


DATA_CONSTANTS = {
    "DATA_FILE": lab.DATA_FILE,
    "FEATURES": lab.FEATURES,
    "TARGET": lab.TARGET,
    "TEST_SIZE": lab.TEST_SIZE,
    "RANDOM_STATE": lab.SPLIT_SEED,
}

EXPECTED_CONSTANTS = {
    "task1": {
        "EXPERIMENT_NAME": lab.EXPERIMENT_TASK1,
        "RUN_NAME": lab.RUN_BASELINE,
        "MODEL_TYPE": lab.LINEAR_REGRESSION,
    },
    "task2": {
        "EXPERIMENT_NAME": lab.EXPERIMENT_TASK2,
        "SWEEP_TAGS": lab.SWEEP_TAGS,
        "SWEEP_CONFIGS": lab.SWEEP_CONFIGS,
        "RANDOM_STATE": lab.MODEL_SEED,  # the sweep's forests are seeded with it too
    },
    "task3": {
        "EXPERIMENT_NAME": lab.EXPERIMENT_TASK3,
        "MODEL_NAME": lab.MODEL_NAME,
        "MODELS": {model_type: (lab.estimator_class(model_type).__name__, hyperparams)
                   for model_type, hyperparams in lab.DEFAULT_HYPERPARAMS.items()},
        "RANDOM_STATE": lab.MODEL_SEED,
    },
    "task4": {
        "TASK3_EXPERIMENT": lab.EXPERIMENT_TASK3,
        "EXPERIMENT_NAME": lab.EXPERIMENT_TASK4,
        "RUN_NAME": lab.RUN_REGISTRY,
        "REGISTERED_MODEL": lab.REGISTERED_MODEL,
        "ALIAS": lab.ALIAS,
        "STAGING_URI": lab.STAGING_URI,
        "BEST_RUN_TAG": lab.TAG_BEST_RUN,
    },
}


@pytest.mark.parametrize("task", list(SCRIPTS))
def test_the_scripts_constants_are_the_names_the_grader_looks_for(task):
    found = constants(SCRIPTS[task])
    for name, expected in {**DATA_CONSTANTS, **EXPECTED_CONSTANTS[task]}.items():
        assert name in found, f"{SCRIPTS[task]} has no constant {name} at its top"
        assert found[name] == expected, (
            f"{SCRIPTS[task]}: {name} = {found[name]!r}, but labkit/lab.py expects {expected!r}")


def test_the_task3_models_are_named_after_their_model_types_in_the_graders_order():
    assert list(constants(SCRIPTS["task3"])["MODELS"]) == list(lab.MODEL_TYPES)


def logged_figures(script: str) -> set[str]:
    tree = ast.parse((SOLUTIONS_DIR / script).read_text(encoding="utf-8"))
    return {node.args[1].value for node in ast.walk(tree)
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "mlflow.log_figure"}


def test_the_figures_carry_the_names_the_grader_and_the_guides_use():
    assert logged_figures(SCRIPTS["task1"]) == {lab.FIGURE_PRED_VS_ACTUAL}
    assert logged_figures(SCRIPTS["task2"]) == {lab.FIGURE_SWEEP}
    assert logged_figures(SCRIPTS["task3"]) == {lab.FIGURE_PRED_VS_ACTUAL, lab.FIGURE_COMPARISON}


def test_the_constant_reader_fails_on_a_wrong_value(tmp_path):
    """Would the constants test notice a typo? (it reads the same way a broken script would)"""
    tree = ast.parse('EXPERIMENT_NAME = "task1-basline"\nRUN_NAME = f"{EXPERIMENT_NAME}-x"\n')
    known: dict = {}
    for node in tree.body:
        known[node.targets[0].id] = value_of(node.value, known)
    assert known["EXPERIMENT_NAME"] != lab.EXPERIMENT_TASK1
    assert known["RUN_NAME"] == "task1-basline-x"


# ------------------------------------------------------------ what each TODO's text names

# What each TODO's text must show is declared with its check in the grader (quotes: the
# strings the check looks for; names: the script's constants or variables that hold them).
CHECKS = {check.id: check for check in all_checks()}


@functools.cache
def student_scripts(lang: str) -> tuple[str, ...]:
    """The student scripts: code/ in English, generated from the same solutions in Spanish."""
    if lang == "en":
        return tuple(path.read_text(encoding="utf-8") for path in sorted(CODE_DIR.glob("task*.py")))
    return tuple(codegen.scripts(lang=lang).values())


def todo_texts(lang: str = "en") -> dict[str, str]:
    """TODO id -> its whole comment in the student scripts (instruction and hint)."""
    return {todo_id: text for script in student_scripts(lang) for todo_id, text in comments_of(script).items()}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_todo_needs_cover_every_todo(lang):
    assert sorted(todo_texts(lang)) == sorted(todo_ids())
    assert all(CHECKS[i].quotes or CHECKS[i].names for i in todo_ids())


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("todo_id", todo_ids())
def test_each_todo_names_the_exact_strings_and_constants_it_needs(todo_id, lang):
    """In English and in Spanish: a translated TODO shows what the grader looks for, too."""
    text = todo_texts(lang)[todo_id]
    strings, words = CHECKS[todo_id].quotes, CHECKS[todo_id].names
    for value in strings:
        assert f'"{value}"' in text or f"'{value}'" in text, (
            f"TODO {todo_id} never quotes \"{value}\", which the grader looks for:\n{text}")
    for word in words:
        assert re.search(rf"(?<![\w.]){re.escape(word)}(?!\w)", text), (
            f"TODO {todo_id} never names {word}:\n{text}")


def test_a_reader_of_task3_sees_scikit_learn_and_mlflow_in_plain_sight():
    """The student's script shows the libraries around the TODOs; the finished one, the calls
    the TODOs teach (a TODO's text states the goal, not the call: test_fading.py)."""
    text = (CODE_DIR / SCRIPTS["task3"]).read_text(encoding="utf-8")
    for needed in ("RandomForestRegressor(", "GradientBoostingRegressor(", "train_test_split(",
                   "mlflow.set_tracking_uri(", "mlflow.log_input(", "mlflow.data.from_pandas(",
                   "pd.read_csv(", "SKOPS_TRUSTED_TYPES =", "PIP_REQUIREMENTS ="):
        assert needed in text, f"code/task3_compare.py never shows {needed}"
    finished = (SOLUTIONS_DIR / SCRIPTS["task3"]).read_text(encoding="utf-8")
    for needed in ("mlflow.sklearn.log_model(", "serialization_format", "skops_trusted_types",
                   "pip_requirements", "model_id=model_info.model_id", "dataset=test_dataset"):
        assert needed in finished, f"solutions/task3_compare.py never shows {needed}"


# ------------------------------------------------------------ calls into the lab's package

def imported_roots(tree: ast.Module, packages: tuple[str, ...]) -> set[str]:
    """The names a module binds to anything imported from ``packages`` (aliases included)."""
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in packages:
                    roots.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] in packages:
                roots.update(alias.asname or alias.name for alias in node.names)
    return roots


def call_root(call: ast.Call) -> str | None:
    """The name a call starts from: ``todo`` in todo(...), ``labkit`` in labkit.plots.f(...)."""
    func = call.func
    while isinstance(func, ast.Attribute):
        func = func.value
    return func.id if isinstance(func, ast.Name) else None


def is_todo_stub(call: ast.Call) -> bool:
    if not (isinstance(call.func, ast.Name) and call.func.id == "todo" and len(call.args) == 1):
        return False
    argument = call.args[0]
    return isinstance(argument, ast.Constant) and bool(re.fullmatch(r"\d+\.\d+", str(argument.value)))


def calls_into(source: str, packages: tuple[str, ...]) -> list[str]:
    """Every call of a name imported from ``packages``, TODO stubs left out."""
    tree = ast.parse(source)
    roots = imported_roots(tree, packages)
    return [ast.unparse(node.func) for node in ast.walk(tree)
            if isinstance(node, ast.Call) and call_root(node) in roots and not is_todo_stub(node)]


def test_the_call_counter_sees_aliases_attribute_calls_and_leaves_out_stubs():
    source = textwrap.dedent("""
        import labkit as lk
        import mlflow
        from labkit import todo
        from labkit.plots import pred_vs_actual as pva
        lk.start("x"); lk.plots.sweep_chart([], "rmse"); pva(1, 2, "t")
        todo("1.1")
        with todo("1.2"):
            mlflow.log_metric("rmse", 1.0)
        todo(note)
    """)
    lab_calls = sorted(calls_into(source, (LAB_PACKAGE,)))
    assert lab_calls == ["lk.plots.sweep_chart", "lk.start", "pva", "todo"]
    assert calls_into(source, LIBRARIES) == ["mlflow.log_metric"]


@pytest.mark.parametrize("script", list(SCRIPTS.values()))
def test_a_student_script_makes_few_calls_into_the_lab(script):
    lab_calls = calls_into((CODE_DIR / script).read_text(encoding="utf-8"), (LAB_PACKAGE,))
    assert len(lab_calls) <= MAX_LAB_CALLS, (
        f"code/{script} calls the lab {len(lab_calls)} times: {lab_calls}")


@pytest.mark.parametrize("script", list(SCRIPTS.values()))
def test_a_solution_calls_mlflow_sklearn_and_pandas_far_more_than_the_lab(script):
    source = (SOLUTIONS_DIR / script).read_text(encoding="utf-8")
    lab_calls, library_calls = calls_into(source, (LAB_PACKAGE,)), calls_into(source, LIBRARIES)
    assert len(library_calls) >= MIN_LIBRARY_RATIO * len(lab_calls), (
        f"solutions/{script}: {len(library_calls)} library calls for "
        f"{len(lab_calls)} lab calls {lab_calls}")


@pytest.mark.parametrize("script", list(SCRIPTS.values()))
def test_a_script_imports_the_libraries_first_and_the_lab_last(script):
    """Plain imports: nothing of the lab is imported ahead of MLflow to change how it loads."""
    tree = ast.parse((SOLUTIONS_DIR / script).read_text(encoding="utf-8"))
    imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    packages = [(node.names[0].name if isinstance(node, ast.Import) else node.module).split(".")[0]
                for node in imports]
    first_lab = packages.index(LAB_PACKAGE)
    assert {"mlflow", "pandas", "sklearn"} <= set(packages[:first_lab]), packages
    assert set(packages[first_lab:]) == {LAB_PACKAGE}, packages
    head = tree.body[:len(imports) + 1]  # the docstring, then every import, together
    assert all(isinstance(node, (ast.Import, ast.ImportFrom, ast.Expr)) for node in head)


# ------------------------------------------------------------ what the lab's calls may do

def import_contract(contract_id: str) -> dict:
    """One of import-linter's contracts, as pyproject.toml writes it."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return next(c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == contract_id)


def test_the_import_rules_hold():
    """import-linter's contracts: classroom -> grader -> labkit one way, a script loads nothing of
    the commands or the maintainers' tools, labkit/lab.py imports nothing of the lab, no import
    circle between the modules of a package (imports inside functions too)."""
    lint = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    result = subprocess.run([sys.executable, "-c", lint, "--no-cache", "--no-logo"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


# What a script loads: every module of labkit but its commands (its subpackages and __main__).
STUDENT_PART = {module.split(".")[1] + ".py" for module in import_contract("student-part")["source_modules"]}


def test_the_student_part_is_every_module_of_labkit_outside_its_commands_and_tools():
    """A new module of labkit is either the student's (in the contract's list, so held apart from
    the commands and checked below for writes to MLflow) or a command's (in labkit/commands/)."""
    files = {path.name for path in (ROOT / LAB_PACKAGE).glob("*.py")} - {"__init__.py", "__main__.py"}
    assert STUDENT_PART == files


LOGGING = re.compile(r"^(log_\w+|set_tags?|start_run|create_run|register_model|"
                     r"set_registered_model_alias|set_terminated|delete_\w+)$")


def test_the_maintainers_tools_live_apart_from_what_a_script_imports():
    package = ROOT / LAB_PACKAGE
    for tool in ("codegen.py", "notebooks.py", "generate_data.py"):
        assert (package / "maintainers" / tool).is_file() and not (package / tool).exists(), tool


@pytest.mark.parametrize("module", sorted(STUDENT_PART - {"crash.py"} | {"__init__.py"}))
def test_no_lab_function_a_script_calls_logs_to_mlflow(module):
    """The crash note (crash.py) is the one lab code that writes to a run."""
    tree = ast.parse((ROOT / LAB_PACKAGE / module).read_text(encoding="utf-8"))
    writes = [ast.unparse(node) for node in ast.walk(tree)
              if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and LOGGING.match(node.func.attr)]
    assert not writes, f"labkit/{module} writes to MLflow: {writes}"


PROBE = """
import mlflow
import labkit
from labkit import todo

mlflow.set_tracking_uri(labkit.start("probe"))
mlflow.set_experiment("probe")
with mlflow.start_run(run_name="probe") as run:
    labkit.plots.pred_vs_actual([1.0, 2.0], [1.5, 2.5], "probe")
    labkit.plots.sweep_chart([{"label": "a", "rmse": 20.0}], "rmse")
    labkit.plots.comparison_chart({"A": {"r2": 0.5, "rmse": 20.0}}, [1.0, 2.0], {"A": [1.0, 2.0]})
    todo("9.9")
labkit.report_run(run, {"rmse": 20.0})
labkit.finish("task1")
print("run id", run.info.run_id)
"""


def test_the_lab_calls_of_a_script_leave_the_run_as_the_script_made_it(ready_store):
    script = ready_store.folder / "probe.py"
    script.write_text(PROBE, encoding="utf-8")
    result = ready_store.run(script)
    assert "Still open: TODO 9.9" in result.stdout
    client = ready_store.client()
    experiment = client.get_experiment_by_name("probe")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.data.params == {} and run.data.metrics == {}
    assert {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")} == {}
    assert client.list_artifacts(run.info.run_id) == [] and run.inputs.dataset_inputs == []


# ------------------------------------------------------------ no interpreter tuning

TUNING_CALLS = {"gc.set_threshold", "gc.freeze", "gc.disable", "gc.set_debug"}


def python_files() -> list[Path]:
    return sorted(path for path in ROOT.rglob("*.py")
                  if not any(part.startswith(".") or part == "__pycache__"
                             for part in path.relative_to(ROOT).parts))


def is_sys_modules(node: ast.AST) -> bool:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        node = node.func.value  # sys.modules.items() and the like
    return ast.unparse(node) == "sys.modules"


def tuning_in(source: str) -> list[str]:
    """Garbage-collector settings and scans over every loaded module, found by ast."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and ast.unparse(node.func) in TUNING_CALLS:
            found.append(ast.unparse(node))
        elif isinstance(node, (ast.For, ast.comprehension)) and is_sys_modules(node.iter):
            found.append(f"a loop over {ast.unparse(node.iter)}")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in {"list", "set", "sorted", "tuple", "dict"}
              and node.args and is_sys_modules(node.args[0])):
            found.append(ast.unparse(node))
    return found


def test_the_tuning_finder_finds_what_it_looks_for():
    source = ("import gc, sys\ngc.set_threshold(10_000)\ngc.freeze()\n"
              "names = [m for m in sys.modules]\nfor m, mod in sys.modules.items(): pass\n"
              "print(sorted(sys.modules))\nsys.modules['x'] = None\n")
    assert len(tuning_in(source)) == 5


def test_nothing_in_the_lab_tunes_the_garbage_collector_or_scans_loaded_modules():
    found = {path.relative_to(ROOT).as_posix(): hits for path in python_files()
             if (hits := tuning_in(path.read_text(encoding="utf-8")))}
    assert not found, f"interpreter tuning: {found}"


def test_importing_the_lab_leaves_the_interpreter_as_python_set_it():
    # Registered before the import, this handler runs after any the lab would register.
    probe = ("import atexit, gc\n"
             "atexit.register(lambda: print('frozen at exit:', gc.get_freeze_count()))\n"
             "before = gc.get_threshold()\n"
             "import labkit\n"
             "print('collector as before:', gc.get_threshold() == before and gc.isenabled())\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            timeout=120, check=True)
    assert result.stdout.splitlines() == ["collector as before: True", "frozen at exit: 0"], result.stdout
