"""The task scripts in Spanish, from the one source: solutions/ and its catalog solutions/locale/es.po.

Each English text of a solution (labkit/maintainers/script_texts.py) is the ``msgid`` of an
entry in ``solutions/locale/es.po`` (gettext's format, read and written with Babel) and its
Spanish is the ``msgstr``:

- the docstring (its first line is the notebook's title);
- each block of comment lines, each comment after code, each ``# %%`` cell title;
- each TODO's text and hint (the ``# BEGIN TODO`` line and the comment lines under it);
- the strings the script prints or gives ``labkit.start``: ``{expressions}`` stay as they are;
- the notebooks' introductions (labkit/maintainers/notebooks.py).

``translate(source, "es")`` puts the Spanish into a solution, markers and all, before codegen
turns it into the student's script: code, names, string constants and API calls are the
English script's own, so the two languages cannot drift apart in anything but those texts.
A text without Spanish, or whose English changed since it was translated (``#, fuzzy``),
stops the generation with the line to fix.

    python -m labkit.maintainers.translation update   # new texts in, gone ones out of es.po
    python -m labkit.maintainers.translation check    # what test/test_codegen.py checks

After ``update``, write the Spanish of each entry without one. A text whose English changed
keeps its old Spanish, marked ``#, fuzzy`` with the old English beside it (``#| msgid``):
bring the Spanish up to date and delete the ``#, fuzzy`` line.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
from pathlib import Path

from labkit.maintainers.markers import student_version
from labkit.maintainers.script_texts import WIDTH, TranslationError, fields, texts
from labkit.paths import ROOT, SOLUTIONS_DIR

LANGUAGES = ("es",)  # besides English, the language the solutions are written in
LANGUAGE_NAMES = {"es": "Spanish (Latin America)"}
UPDATE = "python -m labkit.maintainers.translation update"
HINT = {"en": "Hint:", "es": "Pista:"}

# The notebooks' introductions (labkit/maintainers/notebooks.py shows them), translated by
# the same catalog as the scripts' texts: here, so that the catalog needs nothing of the notebooks.
STUDENT_INTRO = (
    "This is your copy of the task as a notebook: fill in the TODOs, run the cells "
    "from the top (Run All), then grade from a terminal at the repository root:\n\n"
    "```\npython grader/check.py {task}\n```\n\n"
    "The notebook logs to the lab's store wherever Jupyter was started. "
    "The script `code/{script}` is the same task."
)
SOLUTION_INTRO = (
    "The solution of the task as a notebook, generated from `solutions/{script}` "
    "by `{command}`. Grade with `python grader/check.py {task}`."
)

NOTES = {  # the translator's note on each kind of text (the catalog's "#." lines)
    "docstring": "the script's docstring; its first line is the notebook's title",
    "comment": "comment lines: each line of the Spanish becomes a '# ' line (at most 99 in all)",
    "inline": "a comment after code, on the same line",
    "title": "a notebook cell's title (# %%)",
    "todo": ("a TODO: the first line follows '# TODO N.N: ', the next ones '#   '. Keep every "
             "\"quoted string\", CONSTANT and code word; the hint starts 'Pista:' followed by the "
             "English code"),
    "string": "a line the script prints: keep every {expression} and the leading/trailing spaces",
    "notebook": "a notebook's introduction (markdown): keep every {placeholder}",
}


# ------------------------------------------------------------------ putting the Spanish in

def translate(source: str, language: str, name: str = "<solution>",
              catalog: dict[str, str] | None = None, solutions: Path = SOLUTIONS_DIR) -> str:
    """The solution with every text in ``language`` ("en": as it is)."""
    if language == "en":
        return source
    catalog = load(language, solutions) if catalog is None else catalog
    found = texts(source, name)
    missing = [t for t in found if t.english not in catalog]
    if missing:
        where = ", ".join(f"{Path(name).name}:{t.line}" for t in missing[:5])
        raise TranslationError(f"{len(missing)} text(s) of {Path(name).name} have no "
                               f"{language} translation ({where}): run `{UPDATE}`, then write them "
                               f"in {_rel(po_path(language, solutions))}")
    out = source
    for text in reversed(found):
        out = out[:text.start] + text.put(catalog[text.english]) + out[text.end:]
    return out


def sources(solutions: Path = SOLUTIONS_DIR, lang: str = "en") -> dict[Path, str]:
    """Each solutions/task*.py, markers kept, with its texts in ``lang``."""
    catalog = None if lang == "en" else load(lang, solutions)
    return {path: translate(path.read_text(encoding="utf-8"), lang, str(path), catalog, solutions)
            for path in sorted(solutions.glob("task*.py"))}


def message(english: str, language: str, solutions: Path = SOLUTIONS_DIR) -> str:
    """One extra text (a notebook's introduction) in ``language``."""
    if language == "en":
        return english
    catalog = load(language, solutions)
    if english not in catalog:
        raise TranslationError(f"no {language} translation of {english[:40]!r}...: run `{UPDATE}`, "
                               f"then write it in {_rel(po_path(language, solutions))}")
    return catalog[english]


def po_path(language: str, solutions: Path = SOLUTIONS_DIR) -> Path:
    return solutions / "locale" / f"{language}.po"


def _rel(path: Path) -> str:
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def load(language: str, solutions: Path = SOLUTIONS_DIR) -> dict[str, str]:
    """English -> translation, for the entries that have one and are not marked fuzzy."""
    if language not in LANGUAGES:
        raise TranslationError(f"unknown language {language!r}: the solutions speak en and "
                               f"{', '.join(LANGUAGES)}")
    return {m.id: m.string for m in read(language, solutions) if m.id and m.string and not m.fuzzy}


def read(language: str, solutions: Path = SOLUTIONS_DIR):
    try:
        from babel.messages.catalog import Catalog
        from babel.messages.pofile import read_po
    except ImportError:
        raise TranslationError("the Spanish scripts are read with Babel: "
                               "python -m pip install -r requirements-class.txt") from None
    path = po_path(language, solutions)
    if not path.exists():
        return Catalog(locale=language, project="mlflow-tracking-lab solutions")
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


# ------------------------------------------------------------------ keeping the catalog in step

def extract(solutions: Path = SOLUTIONS_DIR):
    """Every text of the solutions (and the notebooks' introductions) as a Babel template."""
    from babel.messages.catalog import Catalog

    template = Catalog(project="mlflow-tracking-lab solutions")
    for path in sorted(solutions.glob("task*.py")):
        for text in texts(path.read_text(encoding="utf-8"), str(path)):
            template.add(text.english, locations=[(f"{solutions.name}/{path.name}", text.line)],
                         auto_comments=[NOTES[text.kind]])
    for intro in (STUDENT_INTRO, SOLUTION_INTRO):  # located where the notebooks show them
        template.add(intro, auto_comments=[NOTES["notebook"]],
                     locations=[("labkit/maintainers/notebooks.py", 0)])
    return template


def update(solutions: Path = SOLUTIONS_DIR) -> list[Path]:
    """Merge the solutions' texts into each catalog: new ones empty, changed ones fuzzy, gone ones out."""
    from babel.messages.pofile import write_po

    template = extract(solutions)
    written = []
    for language in LANGUAGES:
        catalog = read(language, solutions)
        catalog.update(template, no_fuzzy_matching=False, update_creation_date=False)
        catalog.obsolete.clear()
        catalog.fuzzy = False
        catalog.project, catalog.version = "mlflow-tracking-lab solutions", "1"
        catalog.last_translator = "the lab's maintainers"
        catalog.language_team = LANGUAGE_NAMES[language]
        catalog.msgid_bugs_address = ""
        catalog.header_comment = (f"# The task scripts' texts in {LANGUAGE_NAMES[language]} "
                                  "(labkit/maintainers/translation.py).\n# Write each msgstr; "
                                  f"`{UPDATE}` after editing solutions/.")
        path = po_path(language, solutions)
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        write_po(buffer, catalog, width=100, ignore_obsolete=True, include_previous=True,
                 omit_header=False)
        path.write_bytes(_stable(buffer.getvalue()))
        written.append(path)
    return written


def _stable(po: bytes) -> bytes:
    """Without the dates Babel stamps, so that an update changes only what changed."""
    return re.sub(rb'"(POT-Creation-Date|PO-Revision-Date): [^"\\]*\\n"\n', b"", po)


QUOTED = re.compile(r"\"[^\"\n]*\"|'[^'\s]*'|`[^`\n]*`")
CODE_WORD = re.compile(r"\b[A-Z][A-Z0-9_]{2,}\b|\b\w+(?:\.\w+)+\(?|\b\w+\(")
EMPHASIS = {"ONE", "ALL", "NOT", "ONLY"}  # English capitals that are no code word


def problems(solutions: Path = SOLUTIONS_DIR) -> list[str]:
    """Every way a catalog is out of step with the solutions, or a translation breaks a rule."""
    template = {m.id: m for m in extract(solutions) if m.id}
    found = []
    for language in LANGUAGES:
        where = _rel(po_path(language, solutions))
        have = {m.id: m for m in read(language, solutions) if m.id}
        for english in template.keys() - have.keys():
            found.append(f"{where}: no entry for {_short(english)} (run `{UPDATE}`)")
        for english in have.keys() - template.keys():
            found.append(f"{where}: {_short(english)} is no longer in solutions/ (run `{UPDATE}`)")
        for english, entry in have.items():
            if english not in template:
                continue
            if not entry.string:
                found.append(f"{where}: {_short(english)} has no translation")
            elif entry.fuzzy:
                found.append(f"{where}: the English of {_short(entry.string)} changed: update it "
                             "and remove its fuzzy mark")
            else:
                kinds = {k for k, note in NOTES.items() if note in template[english].auto_comments}
                found.extend(f"{where}: {_short(english)}: {p}"
                             for p in rule_breaks(english, entry.string, kinds, language))
        if not found:
            found.extend(long_lines(solutions, language))
    return found


def long_lines(solutions: Path, language: str) -> list[str]:
    """The lines of the translated solutions and student scripts longer than the English allow."""
    found = []
    for path, source in sources(solutions, language).items():
        for form, text in (("solution", source), ("student script", student_version(source, str(path)))):
            found.extend(f"{path.name} ({language} {form}):{number}: {len(line)} characters, more than "
                         f"{WIDTH}: wrap its text in {_rel(po_path(language, solutions))}"
                         for number, line in enumerate(text.splitlines(), 1) if len(line) > WIDTH)
    return found


def rule_breaks(english: str, translated: str, kinds: set[str], language: str) -> list[str]:
    """What a translation must keep of its English: code, quotes, placeholders, line shapes."""
    out = []
    if "string" in kinds or "notebook" in kinds:
        mine, theirs = _fields_of(english), _fields_of(translated)
        if mine != theirs:
            out.append(f"its fields are {theirs}, not {mine}")
        if (english[:len(english) - len(english.lstrip())] != translated[:len(translated) - len(translated.lstrip())]
                or english[len(english.rstrip()):] != translated[len(translated.rstrip()):]):
            out.append("keep the English's leading and trailing spaces and line breaks")
    if "todo" in kinds:
        out.extend(_todo_breaks(english, translated, language))
    if "docstring" in kinds and ('"""' in translated or "\\" in translated):
        out.append('no """ or backslash in a docstring')
    if kinds & {"inline", "title"} and "\n" in translated:
        out.append("keep it on one line")
    return out


def _fields_of(text: str) -> list[str]:
    try:
        return sorted(part for kind, part in fields(text, True) if kind == "field")
    except ValueError as exc:
        return [f"<unreadable: {exc}>"]


def _todo_breaks(english: str, translated: str, language: str) -> list[str]:
    out = []
    if "" in translated.split("\n"):
        out.append("no empty line inside a TODO")
    english_text, _, english_hint = english.partition(HINT["en"])
    text, _, hint = translated.partition(HINT[language])
    if bool(english_hint) != bool(hint) or " ".join(english_hint.split()) != " ".join(hint.split()):
        out.append(f"its hint must be {HINT[language]!r} and then the English hint's code as it is")
    for token in QUOTED.findall(english_text) + CODE_WORD.findall(english_text):
        if token not in text and token not in EMPHASIS:
            out.append(f"keep {token} as the English has it")
    return out


def _short(text: str) -> str:
    first = text.split("\n")[0]
    return repr(first if len(first) <= 60 else first[:57] + "...")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labkit.maintainers.translation",
                                     description="Keep solutions/locale/*.po in step with solutions/.")
    parser.add_argument("action", choices=["update", "check"])
    args = parser.parse_args(argv)
    try:
        if args.action == "update":
            for path in update():
                print(f"updated {_rel(path)}")
            return 0
        found = problems()
    except TranslationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for line in found:
        print(line)
    print(f"{len(found)} problem(s)" if found else "the solutions' translations are in step")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
