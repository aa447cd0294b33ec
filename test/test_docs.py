"""Do LAB.md and LAB.es.md agree with each other, with code/, with the UI and with the files?

The readers below (headings, code blocks, commands, TODO blocks, images, links) are
shared with test_docs_commands.py, which runs every command a student is told to type.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from labkit.paths import CODE_DIR, ROOT

GUIDES = (ROOT / "LAB.md", ROOT / "LAB.es.md")
LANGUAGE = {"LAB.md": "en", "LAB.es.md": "es"}  # the language of the scripts each guide quotes
FENCE = re.compile(r"^```(?P<lang>[\w-]*)\n(?P<body>.*?)^```$", re.M | re.S)
HEADING = re.compile(r"^(?P<level>#{1,6}) (?P<text>.+)$", re.M)
TODO_LINE = re.compile(r"^\s*# TODO (?P<id>\d+\.\d+):")
ALTERNATIVE = re.compile(r"#\s*(?:or|o):\s*(?P<command>.+)$")  # "o:" in LAB.es.md
IMAGE = re.compile(r"!\[[^\]]*\]\((?P<target>[^)]+)\)")
LINK = re.compile(r"(?<!!)\[[^\]]*\]\((?P<target>[^)#]+)(#[^)]*)?\)")
INLINE = re.compile(r"`(?P<code>[^`\n]+)`")


@dataclass(frozen=True)
class Block:
    lang: str
    body: str


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def blocks(markdown: str) -> list[Block]:
    return [Block(m["lang"], m["body"]) for m in FENCE.finditer(markdown)]


def prose(markdown: str) -> str:
    """The guide without its fenced blocks."""
    return FENCE.sub("", markdown)


def heading_levels(markdown: str) -> list[int]:
    return [len(m["level"]) for m in HEADING.finditer(prose(markdown))]


def commands(markdown: str, langs: tuple[str, ...] = ("bash",)) -> list[str]:
    """Every command of the given blocks, plus the `# or: <command>` alternatives."""
    found = []
    for block in blocks(markdown):
        if block.lang not in langs:
            continue
        for line in block.body.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("curl "):
                found.append(line)  # the serving test runs these verbatim
                continue
            command, _, comment = line.partition("  #")
            found.append(command.strip())
            if alternative := ALTERNATIVE.search("#" + comment):
                found.append(alternative["command"].strip())
    return found


def inline_commands(markdown: str) -> list[str]:
    """Commands quoted inline in the prose (`python ...`, `make ...`)."""
    return [m["code"] for m in INLINE.finditer(prose(markdown))
            if m["code"].startswith(("python ", "make "))]


def todo_blocks(markdown: str) -> dict[str, str]:
    """TODO id -> the ```python block that quotes it."""
    out = {}
    for block in blocks(markdown):
        if block.lang == "python" and (match := TODO_LINE.match(block.body)):
            out[match["id"]] = block.body.rstrip("\n")
    return out


@functools.cache
def student_scripts(lang: str = "en") -> tuple[str, ...]:
    """The student scripts in ``lang``: code/ (English), or generated from the same solutions."""
    if lang == "en":
        return tuple(text(path) for path in sorted(CODE_DIR.glob("task*.py")))
    from labkit.maintainers import codegen

    return tuple(codegen.scripts(lang=lang).values())


def code_todo_comments(lang: str = "en") -> dict[str, str]:
    """TODO id -> its comment in the student scripts (the TODO line and its indented continuation)."""
    out = {}
    for script in student_scripts(lang):
        lines = script.splitlines()
        for index, line in enumerate(lines):
            if match := TODO_LINE.match(line):
                comment = [line.strip()]
                for following in lines[index + 1:]:
                    if not following.strip().startswith("#   "):
                        break
                    comment.append(following.strip())
                out[match["id"]] = "\n".join(comment)
    return out


def images(markdown: str) -> list[str]:
    return [m["target"] for m in IMAGE.finditer(markdown)]


def uncommented(body: str) -> list[str]:
    """A block's lines without their comments, but with their `# or:` (`# o:`) alternatives."""
    kept = []
    for line in body.splitlines():
        code, _, comment = line.partition("  #")
        alternative = ALTERNATIVE.search("#" + comment)
        kept.append(code.rstrip() + (f"  # or: {alternative['command']}" if alternative else ""))
    return kept


def local_links(markdown: str) -> list[str]:
    return [m["target"] for m in LINK.finditer(markdown) if "://" not in m["target"]]


# ---------------------------------------------------------------- the tests

import importlib.util  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402

from labkit.paths import SOLUTIONS_DIR  # noqa: E402
from grader.registry import todo_ids

ENGLISH, SPANISH = GUIDES
README = ROOT / "README.md"


def screenshots_tool():
    spec = importlib.util.spec_from_file_location("screenshots", ROOT / "tools" / "screenshots.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_both_guides_have_the_same_sections():
    english, spanish = heading_levels(text(ENGLISH)), heading_levels(text(SPANISH))
    assert english == spanish, "LAB.md and LAB.es.md have different sections"
    numbered = [re.match(r"## (\d+)\.", h) for h in re.findall(r"^## .+$", prose(text(ENGLISH)), re.M)]
    assert [int(m[1]) for m in numbered if m] == list(range(1, 13))


def test_both_guides_give_the_same_commands_and_code():
    """The same commands; the same code, quoted from the scripts in each guide's language."""
    from labkit.maintainers.script_texts import program

    english, spanish = blocks(text(ENGLISH)), blocks(text(SPANISH))
    assert [b.lang for b in english] == [b.lang for b in spanish]
    for mine, theirs in zip(english, spanish):
        if mine.lang == "python":
            todo = TODO_LINE.match(mine.body)
            assert (todo and todo["id"]) == ((match := TODO_LINE.match(theirs.body)) and match["id"])
            if not todo:
                assert program(mine.body) == program(theirs.body), f"{mine.body}\n---\n{theirs.body}"
        elif mine.lang != "text":  # the same commands; their comments are in each guide's language
            assert uncommented(mine.body) == uncommented(theirs.body), (
                f"a {mine.lang} block differs:\n{mine.body}\n---\n{theirs.body}")
    assert inline_commands(text(ENGLISH)) and set(inline_commands(text(ENGLISH))) == set(
        inline_commands(text(SPANISH)))


def test_both_guides_show_the_same_images():
    assert images(text(ENGLISH)) == images(text(SPANISH))


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: p.name)
def test_the_guide_quotes_every_todo_exactly_as_code_has_it(guide):
    """LAB.md quotes code/; LAB.es.md the Spanish scripts (`python -m labkit generate --lang es`)."""
    in_code = code_todo_comments(LANGUAGE[guide.name])
    assert len(in_code) == len(todo_ids())
    assert todo_blocks(text(guide)) == in_code, (
        f"{guide.name}'s TODO blocks differ from the TODO comments of the {LANGUAGE[guide.name]} "
        "scripts: run `python -m labkit generate`")


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: p.name)
def test_the_guide_names_what_the_ui_shows(guide):
    tool = screenshots_tool()
    markdown = text(guide)
    promised = [*tool.UI_LABELS.values()] + [t for s in tool.SHOTS.values() for t in s.expected]
    missing = sorted({word for phrase in promised for word in phrase.split() if word not in markdown})
    assert not missing, f"{guide.name} never mentions {missing}, which the UI test looks for"
    assert f"`{tool.SWEEP_FILTER}`" in markdown, "the guide's tag filter is not the one the UI test types"


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: p.name)
def test_the_guide_shows_every_screenshot_and_every_file_it_names_exists(guide):
    tool = screenshots_tool()
    shown = images(text(guide))
    assert {f"docs/img/{s.file}" for s in tool.SHOTS.values()} <= set(shown)
    for target in shown + local_links(text(guide)):
        assert (ROOT / target).exists(), f"{guide.name} points to {target}, which does not exist"


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: p.name)
def test_the_bonus_quotes_the_readme_serving_commands_verbatim(guide):
    readme = text(README)
    serving = readme[readme.index("<!-- serving:begin -->"):readme.index("<!-- serving:end -->")]
    guide_serving = [c for c in commands(text(guide)) if c.startswith(("curl ", "python test/"))]
    readme_lines = [line.strip() for block in blocks(serving) if block.lang == "bash"
                    for line in block.body.splitlines() if line.strip()]
    for command in guide_serving:
        assert any(line == command or line.startswith(command + " ") for line in readme_lines) or (
            command in serving), f"{guide.name}: {command!r} is not in README's serving section"
    assert [c for c in guide_serving if c.startswith("curl ")] == [
        line for line in readme_lines if line.startswith("curl ")]


def test_the_guide_names_the_files_students_work_in():
    markdown = text(ENGLISH)
    for path in sorted(SOLUTIONS_DIR.glob("task*.py")):
        assert f"code/{path.name}" in markdown
    assert "code/task1_baseline.ipynb" in markdown


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: p.name)
def test_the_port_the_guide_suggests_for_the_ui_is_free_of_the_serving_bonus(guide):
    from labkit.commands.serving import DEFAULT_PORT

    markdown = text(guide)
    ports = [int(port) for port in re.findall(r"labkit ui --port (\d+)", markdown)]
    assert ports, f"{guide.name} suggests no other port for the UI"
    assert DEFAULT_PORT not in ports and 5000 not in ports, ports


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: p.name)
def test_the_guide_quotes_script_lines_as_code_has_them(guide):
    """Python blocks other than TODOs are excerpts of the scripts (in the guide's language):
    each line is in a script."""
    lines = {line.strip() for script in student_scripts(LANGUAGE[guide.name])
             for line in script.splitlines()}
    for block in blocks(text(guide)):
        if block.lang == "python" and not TODO_LINE.match(block.body):
            for line in block.body.splitlines():
                assert line.strip() in lines, f"{guide.name} quotes a line no script has: {line}"


def dataset_names() -> set[str]:
    """The names the scripts give the datasets they log (name= of mlflow.data.from_pandas)."""
    import ast

    names = set()
    for path in SOLUTIONS_DIR.glob("task*.py"):
        for node in ast.walk(ast.parse(text(path))):
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "mlflow.data.from_pandas":
                names.update(kw.value.value for kw in node.keywords if kw.arg == "name")
    return names


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: p.name)
def test_the_guide_says_what_the_dataset_column_shows(guide):
    markdown = text(guide)
    assert dataset_names() == {"devops_metrics-train", "devops_metrics-test"}
    for word in [*dataset_names(), "**Dataset**", "digest", "`training`", "`evaluation`",
                 "data/devops_metrics.csv"]:
        assert word in markdown, f"{guide.name} never mentions {word}"


# The Spanish of LAB.es.md: neutral Latin-American, the lab's glossary (issue 14). Each pattern
# is a word or phrase a Latin-American student misreads, or one the glossary replaced.
NOT_IN_THE_SPANISH_GUIDE = {
    r"desviaci[oó]n t[ií]pica": "desviación estándar",
    r"\bpulsa": "presiona Enter",
    r"\bintro\b": "Enter",
    r"\bcorrector": "calificador",
    r"\bcorreg|\bcorrig|\bcorrij": "calificar (and arreglar for a fix)",
    r"modelos? registrados? en el run": "modelo guardado en el run (logged model)",
    r"sea cual sea": "desde cualquier carpeta, sin importar",
    r"otro sitio": "otra carpeta",
    r"cabecera": "encabezado",
    r"almac[eé]n\b": "almacenamiento de seguimiento (tracking store)",
    r"\bvale\b": "está bien",
    r"fichero": "archivo",
    r"ordenador": "computadora",
    r"\bcog(e|er|ido)\b": "tomar",
    r"\bvosotros|\b\w+(?:áis|éis)\b": "tú",
    r"\blanz(a|as|ar|ó|ado)\b|l[aá]nza": "ejecutar, iniciar",
}


@pytest.mark.parametrize("pattern", list(NOT_IN_THE_SPANISH_GUIDE))
def test_the_spanish_guide_speaks_neutral_latin_american_spanish(pattern):
    found = re.findall(rf".{{0,30}}(?:{pattern}).{{0,30}}", prose(text(SPANISH)), re.I)
    assert not found, f"LAB.es.md: use {NOT_IN_THE_SPANISH_GUIDE[pattern]!r} instead of {found}"


def test_the_spanish_guide_glosses_the_english_words_of_the_api_and_the_ui():
    markdown = text(SPANISH)
    for term in ("guardar (log)", "modelo guardado en el run (logged model)", "etapas (stages)",
                 "firma (signature)", "servidor de seguimiento (tracking server)",
                 "registro de modelos (Model Registry)", "almacenamiento de seguimiento (tracking store)",
                 "modelo registrado (registered model)"):
        assert term in " ".join(markdown.split()), f"LAB.es.md never says {term!r}"
    glossary = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert any(row.startswith("| firma (signature) |") for row in glossary), "no glossary row for firma"
    assert any(row.startswith("| modelo guardado en el run (logged model) |") for row in glossary)


def test_registrar_means_the_model_registry_only_in_the_spanish_guide():
    """Every sentence that says "registrar" (or "registra", "registrado") is about the Model
    Registry: it names it, or register_model, a registered model, a version or an alias."""
    sentences = re.split(r"(?<=[.:;])\s+", " ".join(prose(text(SPANISH)).split()))
    about = re.compile(r"Model Registry|register_model|registro de modelos|REGISTERED_MODEL|"
                       r"registered|versi[oó]n|alias|Model registry", re.I)
    wrong = [s for s in sentences if re.search(r"\bregistr[aeoó]", s, re.I) and not about.search(s)]
    assert not wrong, "registrar is for the Model Registry; say guardar (log) for the rest:\n" + "\n".join(wrong)


@pytest.mark.parametrize("document", [ENGLISH, SPANISH, README], ids=lambda p: p.name)
def test_the_guides_and_readme_say_how_to_get_feedback_in_spanish(document):
    """LAB_LANG for a terminal (Linux/macOS, cmd, PowerShell), --lang for one command, a locale."""
    markdown = text(document)
    for way in ("export LAB_LANG=es", "set LAB_LANG=es", '$env:LAB_LANG="es"', "--lang es",
                "LANG=es_MX.UTF-8"):
        assert way in markdown, f"{document.name} never says {way!r}"


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: p.name)
def test_the_start_up_times_the_guide_gives_are_the_measured_ones_the_commands_print(guide):
    """The seconds the UI command and the model server say they take (measured, labkit/commands)."""
    from labkit.commands.cli import UI_START_S
    from labkit.commands.serving import SERVE_START_S

    said = " ".join(text(guide).split())
    words = ("up to {} seconds", "hasta {} segundos")[guide.name == "LAB.es.md"]
    for seconds in (UI_START_S, SERVE_START_S):
        assert words.format(seconds) in said, f"{guide.name} does not say {words.format(seconds)!r}"
    assert f"up to {SERVE_START_S} s" in " ".join(text(README).split())


# ------------------------------------------------------------- "see it in the UI" answers

DETAILS = re.compile(r"<details>\s*<summary>[^<]+</summary>(?P<body>.*?)</details>", re.S)


def ui_answers(guide: Path) -> dict[int, str]:
    """Task number -> the text of the collapsed answer that ends its section (6-9: tasks 1-4)."""
    markdown = text(guide)
    sections = re.split(r"^## (?=\d+\. )", markdown, flags=re.M)
    found = {}
    for section in sections:
        number = re.match(r"(\d+)\. ", section)
        if number and 6 <= int(number[1]) <= 9:
            (answer,) = [m["body"] for m in DETAILS.finditer(section)]
            found[int(number[1]) - 5] = " ".join(answer.split())
    return found


def newest(client, experiment: str, **search):
    exp = client.get_experiment_by_name(experiment)
    return client.search_runs([exp.experiment_id], "attributes.status = 'FINISHED'", **search)


def test_each_task_ends_with_a_ui_question_whose_answer_is_true_of_the_labs_data(solutions_store):
    """The four answers under <details> of each guide quote what MLflow holds after the solutions ran
    (numbers, names), and each shows its screenshot. (Both guides in one test: one wait for the
    session's solutions_store, which another worker may be building.)"""
    from sklearn.linear_model import LinearRegression

    from labkit import lab

    client = solutions_store.client()
    split = lab.split_data()
    under = split.y_test - LinearRegression().fit(split.X_train, split.y_train).predict(split.X_test)
    slow = split.y_test > 250
    (task1,) = newest(client, lab.EXPERIMENT_TASK1, max_results=1)
    sweep = sorted(newest(client, lab.EXPERIMENT_TASK2), key=lambda r: r.data.metrics["rmse"])
    models = newest(client, lab.EXPERIMENT_TASK3, order_by=["metrics.r2 DESC"])
    logged = {}
    for run in models:
        (logged[run.info.run_id],) = client.search_logged_models(
            [run.info.experiment_id], filter_string=f"source_run_id = '{run.info.run_id}'")
    version = client.get_model_version_by_alias(lab.REGISTERED_MODEL, lab.ALIAS)
    source = client.get_run(version.run_id)
    (check,) = newest(client, lab.EXPERIMENT_TASK4, max_results=1)

    for guide in GUIDES:
        answers = ui_answers(guide)
        assert sorted(answers) == [1, 2, 3, 4], f"{guide.name}: a task's section has no <details> answer"
        for task, answer in answers.items():
            assert images(answer), f"{guide.name}: the answer of task {task} shows no screenshot"

        # Task 1: params, metrics, the datasets' rows and the figure's slow minutes.
        run = task1
        for value in (*run.data.params.values(), f"{run.data.metrics['rmse']:.2f}",
                      f"{run.data.metrics['mae']:.2f}", f"{run.data.metrics['r2']:.3f}",
                      f"{len(split.X_train)} ", f"{len(split.X_test)} "):
            assert value in answers[1], f"{guide.name}, task 1: {value!r} is not in {answers[1]!r}"
        for value in (f"{int((under[slow] > 0).sum())} ", f"{int(slow.sum())} ", f"{under.max():.0f} ms"):
            assert value in answers[1], f"{guide.name}, task 1's figure: {value!r} is not in {answers[1]!r}"

        # Task 2: the configuration with the lowest rmse comes first, each run with its rmse.
        best = sweep[0]
        assert answers[2].startswith(f"`{best.info.run_name}`"), answers[2]
        for run in sweep:
            assert f"`{run.info.run_name}`" in answers[2] and f"{run.data.metrics['rmse']:.2f} ms" in answers[2]
        for key in ("n_estimators", "max_depth", "min_samples_leaf"):
            assert f"{best.data.params[key]}" in answers[2]

        # Task 3: each model's r2 and rmse; the metrics sit on the models, with the test dataset.
        winner = models[0].info.run_name
        assert answers[3].index(f"`{winner}`") < min(answers[3].index(f"`{r.info.run_name}`") for r in models[1:])
        for run in models:
            for value in (f"`r2` {run.data.metrics['r2']:.3f}", f"`rmse` {run.data.metrics['rmse']:.2f} ms"):
                assert value in answers[3], f"{guide.name}, task 3: {value!r} is not in {answers[3]!r}"
            assert {m.dataset_name for m in logged[run.info.run_id].metrics} == {"devops_metrics-test"}
        assert "`devops_metrics-test`" in answers[3]

        # Task 4: the alias, the run the version came from, staging_rmse equal to its rmse.
        staging = f"{check.data.metrics['staging_rmse']:.2f} ms"
        assert f"**Version {version.version}**" in text(guide)
        assert f"`{lab.ALIAS}`" in answers[4] and f"`{source.info.run_name}`" in answers[4]
        assert staging in answers[4] and staging == f"{source.data.metrics['rmse']:.2f} ms"


# ---------------------------------------------------------------- README.es.md (issue 19)

README_ES = ROOT / "README.es.md"


def code_lines(markdown: str) -> list[str]:
    """Every line of the fenced blocks, without its comment (a translation changes only those)."""
    return [line.partition("  #")[0].rstrip() for block in blocks(markdown)
            for line in block.body.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_the_spanish_readme_has_the_english_ones_commands_and_sections():
    """README.es.md follows README.md: the same commands in its blocks, one heading for each of its
    headings, the same links (a Spanish release ships it as its README.md)."""
    english, spanish = text(README), text(README_ES)
    assert code_lines(spanish) == code_lines(english), "README.es.md's commands differ from README.md's"
    assert heading_levels(spanish) == heading_levels(english)
    assert spanish.count("<!-- serving:begin -->") == spanish.count("<!-- serving:end -->") == 1
    links = lambda markdown: sorted(set(local_links(markdown)) - {"README.md", "README.es.md", "LAB.md", "LAB.es.md"})
    assert links(spanish) == links(english)
    for target in local_links(spanish):
        assert (ROOT / target.split("#")[0]).exists(), target
    assert "[README.es.md](README.es.md)" in english and "[README.md](README.md)" in spanish
    counts = {int(n) for n in re.findall(r"\b(\d+) TODOs\b", spanish)}
    assert counts == {len(todo_ids())}


NEUTRAL_COMMENTS = {"Windows;  Linux/macOS: source .venv/bin/activate"}  # names and a command: no language


def test_the_spanish_guides_code_comments_are_spanish():
    """A comment in a command block of LAB.es.md or README.es.md is never the English guide's own
    (issue 19): the commands are the same, their comments in each guide's language."""
    for english, spanish in ((ENGLISH, SPANISH), (README, README_ES)):
        ours = {line.partition("  #")[2].strip() for block in blocks(text(english)) if block.lang in ("bash", "powershell")
                for line in block.body.splitlines() if "  #" in line}
        theirs = [line.strip() for block in blocks(text(spanish)) if block.lang in ("bash", "powershell")
                  for line in block.body.splitlines() if "  #" in line]
        same = [line for line in theirs if line.partition("  #")[2].strip() in ours - NEUTRAL_COMMENTS
                and re.search(r"[a-z]{3}", ALTERNATIVE.sub("", "#" + line.partition("  #")[2]))]
        assert not same, f"{spanish.name} keeps English comments: {same}"
