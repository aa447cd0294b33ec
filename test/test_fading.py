"""Does the guidance fade from task to task, in English and in Spanish (issue 19, point 1)?

Task 1 is a worked example; from task 2 on, what a student sees by default (a TODO's text and
its hint lines, in code/ and in the Spanish scripts) never holds a line of that TODO's
solution; task 2's hints name the function and how to read its documentation offline;
the TODO texts of tasks 3 and 4 name no MLflow function at all.

``python test/test_fading.py [SOLUTIONS_DIR]`` prints the counts per task (the figure the
issue asks for); run it on another checkout's solutions/ to compare.
"""

from __future__ import annotations

import functools
import os
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from solution_lines import solution_bodies  # the one reader of the solutions' TODO bodies

from labkit.maintainers import codegen, markers, translation
from labkit.paths import CODE_DIR, SOLUTIONS_DIR

FADED_TASKS = ("2", "3", "4")  # task 1 is the worked example: its texts show the calls' shapes
NO_FUNCTION_TASKS = ("3", "4")  # their texts state the goal and the idea, or the outcome only
LANGUAGES = ("en", "es")
TODO_LINE = re.compile(r"^\s*# TODO (?P<id>\d+\.\d+):")
URL = re.compile(r"https?://\S+")
HELP = re.compile(r'python -c "import mlflow; help\((?P<function>mlflow(?:\.\w+)+)\)"')


# ------------------------------------------------------------ what a student sees

def todo_texts(script: str) -> dict[str, str]:
    """TODO id -> its comment in a student script: the TODO line and the '#   ' lines under it."""
    out = {}
    lines = script.splitlines()
    for index, line in enumerate(lines):
        if match := TODO_LINE.match(line):
            comment = [line]
            for following in lines[index + 1:]:
                if not following.strip().startswith("#   "):
                    break
                comment.append(following)
            out[match["id"]] = "\n".join(comment)
    return out


def shown(solutions: Path = SOLUTIONS_DIR, lang: str = "en", code: Path | None = CODE_DIR) -> dict[str, str]:
    """TODO id -> what the student reads: code/ in English (when given), else generated."""
    if lang == "en" and code is not None:
        scripts = [path.read_text(encoding="utf-8") for path in sorted(code.glob("task*.py"))]
    else:
        scripts = list(codegen.scripts(solutions, lang=lang).values())
    return {todo_id: text for script in scripts for todo_id, text in todo_texts(script).items()}


def student_script_texts(lang: str, solutions: Path = SOLUTIONS_DIR) -> dict[str, str]:
    """File name -> the student script: code/ in English, generated in another language."""
    if lang == "en":
        return {path.name: path.read_text(encoding="utf-8") for path in sorted(CODE_DIR.glob("task*.py"))}
    return codegen.scripts(solutions, lang=lang)


# ------------------------------------------------------------ comparing lines with texts

TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"'           # a "string"
                   r"|(?<!\w)'(?:[^'\\\n]|\\.)*'"      # a 'string' (not the ' of "row's")
                   r"|\d+(?:\.\d+)?|\w+|[^\w\s]")


def tokens(code: str) -> list[str]:
    """The tokens of a line of code, or of a comment's prose, its own comment left out:
    `name = MODEL_NAME` and `name=MODEL_NAME` read the same, and so do 'x' and "x".
    One reader for both (not Python's tokenize, which stops at a line's open bracket)."""
    out = []
    for token in TOKEN.findall(code):
        if token == "#":
            break
        out.append(repr(token[1:-1]) if token[:1] in "'\"" and len(token) > 1 else token)
    return out


def meaningful(line: str) -> list[str] | None:
    """The tokens of a solution line worth looking for, or None for a trivial line.

    Trivial, because it gives no call away wherever it appears: a line of closing brackets
    (`)`, `],`), and a line of a single name or literal (`model,` as a call's first argument:
    the word "model" is in every sentence about the model). A trailing comma is the layout of
    a call split over lines, not part of what the line says. Every other line counts, `with`
    openers included: task 3.1's whole solution is one.
    """
    found = tokens(line)
    while found and found[-1] == ",":
        found.pop()
    if not found or all(re.fullmatch(r"[)\]}:,]", t) for t in found) or len(found) == 1:
        return None
    return found


def contains(haystack: list[str], needle: list[str]) -> bool:
    return any(haystack[i:i + len(needle)] == needle for i in range(len(haystack) - len(needle) + 1))


def text_tokens(text: str) -> list[str]:
    """The tokens of a TODO's comment, its '#' marks left out, its lines read as one."""
    body = " ".join(re.sub(r"^\s*#\s?", "", line) for line in text.splitlines())
    return tokens(body)


@dataclass(frozen=True)
class Leak:
    todo_id: str
    lang: str
    line: str


def leaks(solutions: Path = SOLUTIONS_DIR, code: Path | None = CODE_DIR,
          tasks: tuple[str, ...] = FADED_TASKS) -> list[Leak]:
    """Each solution line (of a TODO of ``tasks``) that its TODO's text shows, per language."""
    bodies = solution_bodies(solutions)
    out = []
    for lang in LANGUAGES:
        texts = shown(solutions, lang, code)
        for todo_id, body in bodies.items():
            if todo_id.split(".")[0] not in tasks:
                continue
            seen = text_tokens(texts[todo_id])
            out.extend(Leak(todo_id, lang, line.strip()) for line in body
                       if (needle := meaningful(line)) and contains(seen, needle))
    return out


@functools.cache
def mlflow_functions() -> frozenset[str]:
    """The names of MLflow's functions a task uses, as a student would write them: the public
    callables of mlflow, mlflow.sklearn, mlflow.pyfunc and MlflowClient whose name has an
    underscore (`log_metrics`, `set_registered_model_alias`; plain words such as `evaluate`
    are prose too)."""
    import mlflow
    import mlflow.pyfunc
    import mlflow.sklearn
    from mlflow import MlflowClient

    names = set()
    for owner in (mlflow, mlflow.sklearn, mlflow.pyfunc, MlflowClient):
        for name in dir(owner):
            if "_" in name.strip("_") and not name.startswith("_") and not name.isupper() \
                    and callable(getattr(owner, name, None)):
                names.add(name)
    return frozenset(names)


def functions_named(text: str) -> list[str]:
    """The MLflow functions a text names: anything written `mlflow.x`, or a function's name
    (a link to MLflow's documentation is where to read, and names nothing)."""
    return [name for name in re.findall(r"(?<![\w.])\w+(?:\.\w+)*", URL.sub("", text))
            if name.startswith("mlflow.") or name.split(".")[-1] in mlflow_functions()]


def named_functions(solutions: Path = SOLUTIONS_DIR, code: Path | None = CODE_DIR,
                    tasks: tuple[str, ...] = NO_FUNCTION_TASKS) -> list[tuple[str, str, str]]:
    """(TODO id, language, function) for each MLflow function the texts of ``tasks`` name."""
    out = []
    for lang in LANGUAGES:
        for todo_id, text in shown(solutions, lang, code).items():
            if todo_id.split(".")[0] in tasks:
                out.extend((todo_id, lang, name) for name in functions_named(text))
    return out


def call_shapes(text: str) -> list[str]:
    """The MLflow calls a text shows with their brackets: `mlflow.log_params({...})`."""
    return [name for name in re.findall(r"(?<![\w.])(\w+(?:\.\w+)*)\(", text)
            if name.startswith("mlflow.") or name.split(".")[-1] in mlflow_functions()]


def counts(solutions: Path = SOLUTIONS_DIR, code: Path | None = CODE_DIR) -> dict[str, tuple[int, ...]]:
    """Per task, both languages together: (solution lines shown, MLflow functions named,
    MLflow calls shown with their brackets)."""
    every = ("1", "2", "3", "4")
    shown_lines, names = leaks(solutions, code, every), named_functions(solutions, code, every)
    shapes = [(todo_id, call) for lang in LANGUAGES for todo_id, text in shown(solutions, lang, code).items()
              for call in call_shapes(text)]
    return {task: (sum(leak.todo_id.startswith(task + ".") for leak in shown_lines),
                   sum(todo_id.startswith(task + ".") for todo_id, _, _ in names),
                   sum(todo_id.startswith(task + ".") for todo_id, _ in shapes))
            for task in every}


# ------------------------------------------------------------ the tests

@pytest.mark.parametrize("task", FADED_TASKS)
def test_no_todo_text_of_tasks_2_to_4_shows_a_line_of_its_solution(task):
    found = [leak for leak in leaks() if leak.todo_id.startswith(task + ".")]
    assert not found, "TODO texts that give their solution away:\n" + "\n".join(
        f"  {leak.todo_id} ({leak.lang}): {leak.line}" for leak in found)


@pytest.mark.parametrize("task", NO_FUNCTION_TASKS)
def test_the_todo_texts_of_tasks_3_and_4_name_no_mlflow_function(task):
    found = [item for item in named_functions() if item[0].startswith(task + ".")]
    assert not found, f"task {task}'s TODO texts name MLflow functions: {found}"


def solution_calls(task: str) -> set[str]:
    """The functions the solutions of a task's TODOs call (the last part of each name)."""
    import ast

    calls = set()
    for todo_id, body in solution_bodies().items():
        if todo_id.startswith(task + "."):
            code = textwrap.dedent("".join(body))
            if code.rstrip().endswith(":"):  # a `with ... as run:` opener: its block is below
                code += "    pass\n"
            tree = ast.parse(code)
            calls |= {ast.unparse(node.func).split(".")[-1] for node in ast.walk(tree)
                      if isinstance(node, ast.Call)}
    return calls & mlflow_functions()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_comment_of_the_task3_script_names_the_functions_its_todos_call(lang):
    """Not in a TODO's text, not in the comments around it (a constant's explanation included)."""
    script = next(text for name, text in student_script_texts(lang).items() if name.startswith("task3"))
    comments = [line.split("#", 1)[1] for line in script.splitlines() if "#" in line
                and not TODO_LINE.match(line)]
    needles = solution_calls("3")
    assert {"log_model", "log_metrics", "start_run"} <= needles, needles
    named = [comment.strip() for comment in comments
             if set(re.findall(r"\w+", URL.sub("", comment))) & needles]
    assert not named, f"task 3's comments name what its TODOs call ({sorted(needles)}): {named}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_constant_a_task3_todo_needs_is_given_and_explained(lang):
    """What the call needs and the idea does not say stays in the script: each CONSTANT a task-3
    TODO names is assigned at the top, with a comment on its line or just above it."""
    script = next(text for name, text in student_script_texts(lang).items() if name.startswith("task3"))
    lines = script.splitlines()
    texts = " ".join(text for todo_id, text in shown(lang=lang).items() if todo_id.startswith("3."))
    needed = set(re.findall(r"\b[A-Z][A-Z0-9_]{2,}\b", texts)) - {"ONE", "UNA", "TODO"}  # emphasis, ids
    assert {"MODEL_NAME", "SKOPS_TRUSTED_TYPES", "PIP_REQUIREMENTS"} <= needed, needed
    for name in sorted(needed):
        (index,) = [i for i, line in enumerate(lines) if line.startswith(f"{name} = ")]
        explained = "#" in lines[index] or lines[index - 1].lstrip().startswith("#")
        assert explained, f"{name} is given with no comment saying what it is for:\n{lines[index]}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_task2_hint_names_one_mlflow_function_and_the_command_that_documents_it(lang):
    """The function without its arguments, and `python -c "import mlflow; help(...)"` for it."""
    import mlflow

    texts = {i: t for i, t in shown(lang=lang).items() if i.startswith("2.")}
    assert sorted(texts) == markers.todo_ids((SOLUTIONS_DIR / "task2_sweep.py").read_text(encoding="utf-8"))
    for todo_id, text in texts.items():
        hint = text.split("Hint:" if lang == "en" else "Pista:", 1)[1]
        documented = HELP.findall(hint)
        assert len(documented) == 1, f"TODO {todo_id}'s hint gives no help(...) command: {hint}"
        function = documented[0]
        named = re.sub(HELP, "", hint)
        assert re.search(rf"{re.escape(function)}(?!\w)", named), f"TODO {todo_id} never names {function}"
        assert f"{function}(" not in named, f"TODO {todo_id}'s hint shows {function}'s arguments"
        target = mlflow
        for part in function.split(".")[1:]:
            target = getattr(target, part)
        assert callable(target) and target.__doc__, f"help({function}) would show nothing"


def test_a_task2_hint_command_prints_the_functions_documentation():
    """The command as a student types it (python meaning this environment's), with no network."""
    hint = shown()["2.2"].split("Hint:", 1)[1]
    command = re.search(r'python -c "(?P<code>[^"]+)"', hint)["code"]
    from conftest import ROOT, run_python  # here: `python test/test_fading.py` runs without pytest

    result = run_python(["-c", command], {**os.environ, "PAGER": "cat"}, ROOT)  # forked warm
    assert result.returncode == 0, result.stderr
    assert "log_params" in result.stdout and "params" in result.stdout.split("log_params", 1)[1]


def test_task1_is_still_a_worked_example_that_shows_each_calls_shape():
    texts = shown()
    for todo_id in ("1.1", "1.2", "1.3", "1.4"):
        assert re.search(r"mlflow\.\w+\(", texts[todo_id]), f"TODO {todo_id} shows no call's shape"


def test_the_measure_finds_a_solution_line_a_text_gives_away(tmp_path):
    """Would the measure notice a hint that is its solution, in another layout and quoting?"""
    folder = tmp_path / "solutions"
    folder.mkdir()
    (folder / "task9_probe.py").write_text(
        "import mlflow\n"
        "# BEGIN TODO 9.1: Log the params.\n"
        "#   Hint: mlflow.log_params( {'a' : 1}\n"
        "#         )\n"
        'mlflow.log_params({"a": 1})\n'
        "# END TODO 9.1\n"
        "# BEGIN TODO 9.2: Log the model, named MODEL_NAME.\n"
        "model_info = mlflow.sklearn.log_model(\n"
        "    model,\n"
        "    name=MODEL_NAME,  # the name the grader looks for\n"
        ")\n"
        "# END TODO 9.2\n", encoding="utf-8")
    bodies = solution_bodies(folder)
    texts = {i: t for i, t in todo_texts(markers.student_version(
        (folder / "task9_probe.py").read_text(encoding="utf-8"))).items()}
    gave = [line for line in bodies["9.1"] if (n := meaningful(line)) and contains(text_tokens(texts["9.1"]), n)]
    assert gave == ['mlflow.log_params({"a": 1})\n']
    kept = [line for line in bodies["9.2"] if (n := meaningful(line)) and contains(text_tokens(texts["9.2"]), n)]
    assert kept == []  # "model," and ")" are trivial; "named MODEL_NAME" is not name=MODEL_NAME
    assert functions_named("Log it with mlflow.sklearn.log_model(...)") == ["mlflow.sklearn.log_model"]
    assert functions_named("Point it: client.set_registered_model_alias, or set_registered_model_alias") == [
        "client.set_registered_model_alias", "set_registered_model_alias"]
    assert functions_named("Log the fitted model as model_info, named MODEL_NAME") == []
    assert functions_named("Hint: https://mlflow.org/docs/latest/ml/search/search-runs/") == []


def test_the_spanish_catalog_is_read_for_the_spanish_texts():
    """The Spanish texts come from the same catalog the generator uses."""
    assert translation.po_path("es").is_file()
    assert shown(lang="es").keys() == shown(lang="en").keys()


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else SOLUTIONS_DIR
    code = folder.parent / "code" if (folder.parent / "code").is_dir() else None
    print("task  solution lines shown  MLflow functions named  calls shown with brackets"
          "  (English + Spanish)")
    for task, (lines, functions, shapes) in counts(folder, code).items():
        print(f"{task:>4}  {lines:>20}  {functions:>22}  {shapes:>25}")
