"""Generate the task notebooks from the same single source as the scripts.

Each ``solutions/taskN_*.py`` becomes two notebooks: the student's, beside the
student script (``code/taskN_*.ipynb``, TODOs turned into stubs), and the solution
(``solutions/taskN_*.ipynb``). A top-level ``# %% Title`` line starts a new cell; its
title and the comment lines that open the cell become a markdown cell above the code.
``# %%`` lines inside an indented block stay in their cell as plain comments.

The output is deterministic (fixed cell ids, no outputs, stable metadata), so a test
can compare the committed notebooks byte for byte with freshly generated ones. A notebook is
JSON (nbformat 4.5, written as nbformat writes it), so the standard ``json`` module writes it
and a release needs no nbformat; test/test_notebooks.py validates them with nbformat.

    python -m labkit generate                        # code/ and the eight notebooks
    python -m labkit.maintainers.notebooks           # only the eight notebooks
    python -m labkit.maintainers.notebooks --check   # exit 1 if a committed notebook drifted
    python -m labkit.maintainers.notebooks --lang es --out DIR   # the student notebooks in Spanish

In another language the notebooks come from the translated solutions, and their
introductions from the same catalog (labkit/maintainers/translation.py).
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from pathlib import Path

from labkit.maintainers.markers import MarkerError, render, student_version
from labkit.maintainers.translation import (
    LANGUAGES,
    SOLUTION_INTRO,
    STUDENT_INTRO,
    TranslationError,
    message,
    sources,
)
from labkit.paths import CODE_DIR, SOLUTIONS_DIR

COMMAND = "python -m labkit generate"  # writes code/ and these notebooks
CELL_MARKER = re.compile(r"^# %%(?P<title>.*)$")
INNER_MARKER = re.compile(r"^(?P<indent>\s+)# %% ?")

METADATA = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def split_cells(text: str) -> tuple[str, list[tuple[str, str]]]:
    """The module docstring, and (title, code) for each top-level ``# %%`` cell."""
    docstring = ast.get_docstring(ast.parse(text)) or ""
    cells: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        marker = CELL_MARKER.match(line)
        if marker:
            cells.append((marker["title"].strip(), []))
        elif cells:
            cells[-1][1].append(INNER_MARKER.sub(r"\g<indent># ", line))
    return docstring, [(title, "\n".join(lines).strip("\n")) for title, lines in cells]


def leading_comments(code: str) -> tuple[list[str], str]:
    """Move the comment lines that open a cell (not TODO comments) out of the code."""
    lines = code.splitlines()
    prose = []
    while lines and lines[0].startswith("# ") and not lines[0].startswith("# TODO"):
        prose.append(lines.pop(0)[2:])
    return prose, "\n".join(lines).strip("\n")


def markdown_cell(source: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": source}


def code_cell(source: str) -> dict:
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}


def build(text: str, stem: str, intro: str) -> dict:
    """A notebook (nbformat 4.5, as a dict) from a task script's text (in student or solution form)."""
    docstring, cells = split_cells(text)
    title, _, body = docstring.partition("\n")
    nb = {"cells": [], "metadata": METADATA, "nbformat": 4, "nbformat_minor": 5}
    nb["cells"].append(markdown_cell(f"# {title.rstrip('.')}\n\n{body.strip()}\n\n{intro}".strip()))
    for title, code in cells:
        prose, code = leading_comments(code)
        markdown = "\n".join([f"## {title}", *([""] + [" ".join(prose)] if prose else [])])
        nb["cells"].append(markdown_cell(markdown))
        if code:
            nb["cells"].append(code_cell(code))
    for index, cell in enumerate(nb["cells"]):
        cell["id"] = f"{stem.replace('_', '-')}-{index:02d}"
    return nb


def to_bytes(nb: dict) -> bytes:
    """The notebook as nbformat writes it: sources as lists of lines, keys sorted, indent 1."""
    cells = [{**cell, "source": cell["source"].splitlines(keepends=True)} for cell in nb["cells"]]
    text = json.dumps({**nb, "cells": cells}, indent=1, sort_keys=True, separators=(",", ": "),
                      ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def notebooks(solutions: Path = SOLUTIONS_DIR, lang: str = "en") -> dict[str, bytes]:
    """Every notebook to write, keyed by its path relative to the repository root."""
    out = {}
    student_intro, solution_intro = (message(STUDENT_INTRO, lang, solutions),
                                     message(SOLUTION_INTRO, lang, solutions))
    for path, source in sources(solutions, lang).items():
        task = path.stem.split("_")[0]
        fill = {"task": task, "script": path.name, "command": COMMAND}
        student = student_version(source, str(path))
        solution = render(source, revert=set(), name=str(path))
        out[f"{CODE_DIR.name}/{path.stem}.ipynb"] = to_bytes(
            build(student, path.stem, student_intro.format(**fill)))
        out[f"{SOLUTIONS_DIR.name}/{path.stem}.ipynb"] = to_bytes(
            build(solution, path.stem, solution_intro.format(**fill)))
    return out


def student_notebooks(solutions: Path = SOLUTIONS_DIR, lang: str = "en") -> dict[str, bytes]:
    """The notebooks that go beside the student scripts, by file name."""
    prefix = f"{CODE_DIR.name}/"
    return {rel.removeprefix(prefix): data for rel, data in notebooks(solutions, lang).items()
            if rel.startswith(prefix)}


def drifted(root: Path) -> list[str]:
    """The notebooks under ``root`` that are missing or differ from freshly generated ones."""
    return [rel for rel, data in notebooks().items()
            if not (root / rel).exists() or (root / rel).read_bytes() != data]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labkit.maintainers.notebooks",
                                     description="Write the task notebooks.")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a committed notebook has drifted")
    parser.add_argument("--out", type=Path, default=None,
                        help="write only the student notebooks, into this folder")
    parser.add_argument("--lang", choices=["en", *LANGUAGES], default="en",
                        help="the language of their texts (code/ stays English: needs --out)")
    args = parser.parse_args(argv)
    if args.lang != "en" and args.out is None:
        print(f"error: code/ stays English: give --out DIR for the {args.lang} notebooks", file=sys.stderr)
        return 2
    root = SOLUTIONS_DIR.parent
    try:
        if args.check:
            stale = drifted(root)
            for rel in stale:
                print(f"{rel} has drifted from solutions/. Run `{COMMAND}`.")
            return 1 if stale else 0
        if args.out is not None:
            args.out.mkdir(parents=True, exist_ok=True)
            for name, data in student_notebooks(lang=args.lang).items():
                (args.out / name).write_bytes(data)
                print(f"wrote {args.out / name}")
            return 0
        for rel, data in notebooks().items():
            (root / rel).write_bytes(data)
            print(f"wrote {rel}")
    except (MarkerError, TranslationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
