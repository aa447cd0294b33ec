"""Do LAB.md and LAB.es.md agree with each other, with code/, with the UI and with the files?

The readers below (headings, code blocks, commands, TODO blocks, images, links) are
shared with test_docs_commands.py, which runs every command a student is told to type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from labkit.paths import CODE_DIR, ROOT

GUIDES = (ROOT / "LAB.md", ROOT / "LAB.es.md")
FENCE = re.compile(r"^```(?P<lang>[\w-]*)\n(?P<body>.*?)^```$", re.M | re.S)
HEADING = re.compile(r"^(?P<level>#{1,6}) (?P<text>.+)$", re.M)
TODO_LINE = re.compile(r"^\s*# TODO (?P<id>\d+\.\d+):")
ALTERNATIVE = re.compile(r"#\s*or:\s*(?P<command>.+)$")
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


def code_todo_comments() -> dict[str, str]:
    """TODO id -> its comment in code/ (the TODO line and its indented continuation)."""
    out = {}
    for path in sorted(CODE_DIR.glob("task*.py")):
        lines = text(path).splitlines()
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
    english, spanish = blocks(text(ENGLISH)), blocks(text(SPANISH))
    assert [b.lang for b in english] == [b.lang for b in spanish]
    for mine, theirs in zip(english, spanish):
        if mine.lang != "text":
            assert mine == theirs, f"a {mine.lang} block differs:\n{mine.body}\n---\n{theirs.body}"
    assert inline_commands(text(ENGLISH)) and set(inline_commands(text(ENGLISH))) == set(
        inline_commands(text(SPANISH)))


def test_both_guides_show_the_same_images():
    assert images(text(ENGLISH)) == images(text(SPANISH))


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: p.name)
def test_the_guide_quotes_every_todo_exactly_as_code_has_it(guide):
    in_code = code_todo_comments()
    assert len(in_code) == len(todo_ids())
    assert todo_blocks(text(guide)) == in_code, (
        f"{guide.name}'s TODO blocks differ from the TODO comments in code/: copy them again")


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
    """Python blocks other than TODOs are excerpts of code/: each line is in a script."""
    lines = {line.strip() for path in CODE_DIR.glob("task*.py")
             for line in text(path).splitlines()}
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
