"""A student release: the lab without its solutions, for instructors to hand out.

``python -m classroom release DIR`` copies the lab into DIR, a new or empty folder, and
leaves out every file that holds the solutions' code or needs it to work:

- ``solutions/``: the solved scripts and the solution notebooks;
- the test suite (``test/``, but for the serving bonus students run: ``serve_model.py``,
  ``test_requests.py``, ``test_model_deployment.py`` and the ``procs.py`` it imports):
  its tests run the solutions and quote their lines;
- ``bench/`` (it runs the solutions; ``bench_classroom.py`` logs what they log),
  ``tools/`` (the screenshots run the solutions), ``.ci/`` (it runs the suite) and
  ``requirements-dev.txt`` (the suite's tools).

Files that point at what is left out are adapted, never left dangling: the Makefile
loses the targets that need it (``demo``, ``generate``, ``test``, ``bench``, ...; found
from what each rule runs and depends on), and every Markdown file loses the paragraphs,
list items, table rows and code lines that name a file or a command that is gone
(README.md also its "For maintainers" section, INSTRUCTORS.md its sections on the release,
the flags and the tests).
The grader stays whole: its hints show a call after a failure, as a TODO's own hint does.

Only the files git tracks or would track are copied (``git ls-files``), so no store,
connection file, roster or grade goes out; without git, the folder's files minus the
``.gitignore`` patterns. The release checks itself before it reports success: no file may
hold a line of a TODO's solution that ``code/`` does not also hold.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import textwrap
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

GONE_FOLDERS = ("solutions/", "bench/", "tools/", ".ci/")
GONE_FILES = ("requirements-dev.txt",)
SERVING_BONUS = ("test/serve_model.py", "test/test_requests.py", "test/test_model_deployment.py",
                 "test/procs.py")  # what the guides tell students to run, and what it imports
GONE_COMMANDS = {  # commands of the lab that need what is left out
    "labkit demo": "it runs solutions/",
    "labkit generate": "it writes code/ from solutions/",
}
DROPPED_SECTIONS = {"README.md": ("For maintainers",),
                    "INSTRUCTORS.md": ("Their copy of the lab", "Runs of the solutions are flagged",
                                       "How it is tested")}
REWRITES = {  # exact phrases that would otherwise name what is gone
    "README.md": {"`make demo` needs Python": "`make setup` needs Python",
                  "the serving bonus scripts and the test suite": "the serving bonus scripts"},
}


class ReleaseError(Exception):
    """The release cannot be written; the message is one line that names the fix."""


@dataclass
class Release:
    out: Path
    copied: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    adapted: list[str] = field(default_factory=list)


def write_release(out: Path, root: Path = ROOT) -> Release:
    """Write the student release of the lab at ``root`` into ``out`` (new, or empty)."""
    if not (root / "solutions").is_dir():
        raise ReleaseError(f"{root} has no solutions/: is it already a student release? "
                           "Run the command in the lab's full repository.")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ReleaseError(f"{out} exists and is not empty. Give a new folder, or empty that one first.")
    files = lab_files(root)
    release = Release(out)
    gone = Gone([f for f in files if is_left_out(f)])
    if "Makefile" in files:  # first: the Markdown files must not name the targets it loses
        gone.makefile, gone.targets = adapt_makefile((root / "Makefile").read_text(encoding="utf-8"), gone)
    for rel in files:
        if is_left_out(rel):
            release.left_out.append(rel)
            continue
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        text = adapt(rel, root / rel, gone)
        if text is None:
            shutil.copy2(root / rel, target)
        else:
            target.write_text(text, encoding="utf-8")
            shutil.copymode(root / rel, target)
            release.adapted.append(rel)
        release.copied.append(rel)
    found = leaks(out, root)
    if found:
        shutil.rmtree(out)
        out.mkdir()
        where = ", ".join(f"{rel}:{number}" for rel, number, _ in found[:5])
        raise ReleaseError(f"Not released: a solution's line is in {where}. Leave that file out "
                           "(classroom/release.py, GONE_FOLDERS or GONE_FILES) and run it again.")
    return release


def is_left_out(rel: str) -> bool:
    if rel.startswith(GONE_FOLDERS) or rel in GONE_FILES:
        return True
    return rel.startswith("test/") and rel not in SERVING_BONUS


# Which files: git's list, or the folder minus .gitignore's patterns.

def lab_files(root: Path) -> list[str]:
    """The lab's files (relative, POSIX), as git lists them, or walked when there is no git."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                cwd=root, capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        listed = None
    if listed is not None and listed.returncode == 0:
        names = [n for n in listed.stdout.decode("utf-8").split("\0") if n]
        return sorted(n for n in set(names) if (root / n).is_file())
    return walk(root)


def walk(root: Path) -> list[str]:
    """Every file under ``root`` that ``.gitignore``'s patterns (the simple forms this lab uses:
    names, globs, a leading or inner ``/`` to anchor, a trailing ``/`` for folders) do not ignore."""
    ignore = root / ".gitignore"
    patterns = [p.strip() for p in ignore.read_text(encoding="utf-8").splitlines()] if ignore.exists() else []
    patterns = [p for p in patterns if p and not p.startswith(("#", "!"))] + [".git/"]
    found = []
    for path in root.rglob("*"):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not any(ignored(rel, p) for p in patterns):
            found.append(rel)
    return sorted(found)


def ignored(rel: str, pattern: str) -> bool:
    parts = rel.split("/")
    folder_only = pattern.endswith("/")
    core = pattern.strip("/")
    anchored = "/" in pattern.rstrip("/")
    for depth in range(1, len(parts) + 1):
        if folder_only and depth == len(parts):
            break
        subject = "/".join(parts[:depth]) if anchored else parts[depth - 1]
        if fnmatch(subject, core):
            return True
    return False


# Adapting what names the files and commands left out.

class Gone:
    """What the release leaves out: files, their folders, and the commands that need them."""

    def __init__(self, left_out: list[str]) -> None:
        self.files = set(left_out)
        self.folders = tuple(GONE_FOLDERS)
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
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z`*\[(])")


def adapt_markdown(text: str, gone: Gone, sections=()) -> str:
    """``text`` without the named sections, and without each sentence, list item, table row
    or code line that names something gone (a paragraph or code block left empty goes too)."""
    out: list[str] = []
    unit: list[str] = []
    lines = drop_sections(text.splitlines(), sections)

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


# The release's own check.

def solution_lines(root: Path = ROOT) -> set[str]:
    """Every code line of a TODO's solution in ``solutions/`` that ``code/`` does not hold."""
    from labkit.maintainers.codegen import parse

    lines: set[str] = set()
    for script in sorted((root / "solutions").glob("task*.py")):
        for region in parse(script.read_text(encoding="utf-8").splitlines(keepends=True), str(script)):
            lines |= {normal(line) for line in region.solution if not line.strip().startswith("#")}
    held = {normal(line) for script in (root / "code").glob("*.py")
            for line in script.read_text(encoding="utf-8").splitlines()}
    return lines - held - {""}


def normal(line: str) -> str:
    """A line as compared for leaks: without indentation, and without a comment mark before it
    (a commented-out solution line is still the solution)."""
    return line.strip().lstrip("#").strip()


def text_lines(path: Path) -> list[str]:
    """A file's lines (a notebook's cell sources), or none for a file that is not text."""
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return []
    if path.suffix == ".ipynb":
        text = "\n".join("".join(cell.get("source", "")) for cell in json.loads(text).get("cells", []))
    return text.splitlines()


def leaks(folder: Path, root: Path = ROOT) -> list[tuple[str, int, str]]:
    """(file, line number, line) for each line under ``folder`` that is a solution's line."""
    wanted = solution_lines(root)
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        for number, line in enumerate(text_lines(path), 1):
            if normal(line) in wanted:
                found.append((path.relative_to(folder).as_posix(), number, line.strip()))
    return found
