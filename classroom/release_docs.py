"""What a student release changes in the files it keeps: nothing may name what it left out.

The Makefile loses each rule that names a file left out, runs a command that needs one
(``GONE_COMMANDS``) or depends on a rule that went. A Markdown file loses its sections
named in ``DROPPED_SECTIONS``, then each sentence, list item, table row or code line that
names a file, a folder or a command that is gone (a paragraph or code block left empty
goes too), after the few exact ``REWRITES`` that keep a sentence worth keeping. A pointer to a
dropped section goes with it: a parenthesis that names the section (its title's first words)
and says where it is (``(runs of the solutions, below)``, ``(see "How it is tested")``).
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

GONE_COMMANDS = {  # commands of the lab that need what is left out
    "labkit demo": "it runs solutions/",
    "labkit generate": "it writes code/ from solutions/",
    "classroom release": "it copies the lab without solutions/: a release cannot make another",
}
DROPPED_SECTIONS = {"README.md": ("For maintainers",), "README.es.md": ("Para mantenedores",),
                    "INSTRUCTORS.md": ("Their copy of the lab", "Runs of the solutions are flagged",
                                       "How it is tested")}
REWRITES = {  # exact phrases that would otherwise name what is gone
    "README.md": {"`make demo` needs Python": "`make setup` needs Python",
                  "the serving bonus scripts and the test suite": "the serving bonus scripts"},
    "README.es.md": {"`make demo` necesita Python": "`make setup` necesita Python",
                     "los scripts del bonus de despliegue y las pruebas": "los scripts del bonus de despliegue"},
}


class Gone:
    """What the release leaves out: files, their folders, and the commands that need them."""

    def __init__(self, left_out: list[str], folders: tuple[str, ...]) -> None:
        self.files = set(left_out)
        self.folders = tuple(folders)
        self.commands = [re.compile(r"\b" + re.escape(c) + r"\b") for c in GONE_COMMANDS]
        self.targets: set[str] = set()  # the Makefile's targets that are gone (adapt_makefile)
        self.makefile: str | None = None  # the adapted Makefile

    PATH = re.compile(r"(?<![\w/.-])((?:\.?[\w*<>-]+/)+[\w.*<>-]*|[\w-]+\.(?:txt|py|md|toml|ipynb))")

    def named_in(self, text: str) -> bool:
        """Does ``text`` name a file, folder or command that is gone?"""
        for token in self.PATH.findall(text):
            token = token.rstrip(".")
            if token in self.files or token.startswith(self.folders):
                return True
        if any(c.search(text) for c in self.commands):
            return True
        return any(re.search(rf"\bmake {re.escape(t)}(?![\w-])", text) for t in self.targets)


def adapt(rel: str, path: Path, gone: Gone) -> str | None:
    """The adapted text of a Markdown file or the Makefile; None to copy the file as it is."""
    if rel == "Makefile":
        return gone.makefile
    if rel.endswith(".md"):
        text = path.read_text(encoding="utf-8")
        for old, new in REWRITES.get(rel, {}).items():
            text = text.replace(old, new)
        adapted = adapt_markdown(text, gone, DROPPED_SECTIONS.get(rel, ()))
        return adapted if adapted != path.read_text(encoding="utf-8") else None
    return None


RULE = re.compile(r"^(?P<target>[^\s:#=][^:=]*?):(?!=)(?P<deps>[^#]*)")


def adapt_makefile(text: str, gone: Gone) -> tuple[str, set[str]]:
    """The Makefile without the rules that run, read or depend on what is gone; and their targets."""
    blocks = re.split(r"\n\s*\n", text.strip("\n"))
    rules = {}
    for index, block in enumerate(blocks):
        first = next((line for line in block.splitlines() if RULE.match(line)), None)
        if first and not first.startswith(".PHONY"):
            match = RULE.match(first)
            rules[index] = (match["target"].strip(), match["deps"].split())
    dead: set[str] = set()
    changed = True
    while changed:
        changed = False
        for index, (target, deps) in rules.items():
            if target not in dead and (gone.named_in(blocks[index]) or dead & set(deps)):
                dead.add(target)
                changed = True
    kept = [b for i, b in enumerate(blocks) if i not in rules or rules[i][0] not in dead]
    kept = [re.sub(r"^(\.PHONY:)(.*)$", lambda m: m[1] + " " + " ".join(
        t for t in m[2].split() if t not in dead), b, flags=re.M) for b in kept]
    return "\n\n".join(kept) + "\n", {t for t in dead if not t.startswith("$")}


FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
ITEM = re.compile(r"^\s*(?:[-*+]|\d+\.)\s")
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-ZÁÉÍÓÚÑ¿¡`*\[(])")  # English and Spanish


def adapt_markdown(text: str, gone: Gone, sections=()) -> str:
    """``text`` without the named sections, and without each sentence, list item, table row
    or code line that names something gone (a paragraph or code block left empty goes too)."""
    out: list[str] = []
    unit: list[str] = []
    lines = drop_sections(text.splitlines(), sections)
    if sections:
        lines = drop_pointers("\n".join(lines), sections).splitlines()

    def flush():
        if unit and not gone.named_in(" ".join(unit)):
            out.extend(unit)
        elif unit and not ITEM.match(unit[0]):  # a paragraph keeps its other sentences
            kept = [s for s in SENTENCE.split(" ".join(line.strip() for line in unit)) if not gone.named_in(s)]
            out.extend(textwrap.wrap(" ".join(kept), width=max(len(line) for line in unit),
                                     break_long_words=False, break_on_hyphens=False))
        unit.clear()

    index = 0
    while index < len(lines):
        line = lines[index]
        if FENCE.match(line):
            flush()
            end = next((j for j in range(index + 1, len(lines)) if FENCE.match(lines[j])), len(lines) - 1)
            body = [b for b in lines[index + 1:end] if not gone.named_in(b)]
            if any(b.strip() for b in body):
                out.extend([line, *body, lines[end]])
            index = end + 1
            continue
        if not line.strip() or HEADING.match(line) or line.lstrip().startswith(("|", "<!--")):
            flush()
            if not (line.lstrip().startswith("|") and gone.named_in(line)):
                out.append(line)
        elif ITEM.match(line):
            flush()
            unit.append(line)
        else:
            unit.append(line)
        index += 1
    flush()
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip("\n") + "\n"


POINTER = re.compile(r" ?\(([^()\n]*)\)")


def drop_pointers(text: str, titles) -> str:
    """``text`` without the parentheses that point at a dropped section: they name its title's
    first three words and say where it is (below, above, see)."""
    keys = [" ".join(re.sub(r"^\d+\.\s*", "", t).lower().split()[:3]) for t in titles]

    def keep(match: re.Match) -> str:
        inside = " ".join(match[1].lower().split())
        points = re.search(r"\b(below|above|see)\b", inside)
        return "" if points and any(key in inside for key in keys) else match[0]

    return POINTER.sub(keep, text)


def drop_sections(lines: list[str], titles) -> list[str]:
    """The lines without each section whose heading starts with one of ``titles`` (its HTML
    comments, such as the guides' markers, stay)."""
    kept, level = [], None
    for line in lines:
        heading = HEADING.match(line)
        if heading:
            depth, title = len(heading[1]), re.sub(r"^\d+\.\s*", "", heading[2])
            if level is not None and depth <= level:
                level = None
            if level is None and title.startswith(tuple(titles)):
                level = depth
        if level is None or line.lstrip().startswith("<!--"):
            kept.append(line)
    return kept
