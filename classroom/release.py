"""A student release: the lab without its solutions, for instructors to hand out.

``python -m classroom release DIR`` copies the lab into DIR, a new or empty folder, and
leaves out every file that holds the solutions' code or needs it to work:

- ``solutions/``: the solved scripts, the solution notebooks, and the scripts' Spanish catalog
  (``solutions/locale/es.po``: it quotes the comments and printed lines of the solved TODOs);
- the test suite (``test/``, but for the serving bonus students run: ``serve_model.py``,
  ``test_requests.py`` and ``test_model_deployment.py``, which import nothing else of it):
  its tests run the solutions and quote their lines;
- ``bench/`` (it runs the solutions; ``bench_classroom.py`` logs what they log),
  ``tools/`` (the screenshots run the solutions), ``.ci/`` (it runs the suite) and
  ``requirements-dev.txt`` (the suite's tools).

Files that point at what is left out are adapted, never left dangling
(classroom/release_docs.py): the Makefile loses the targets that need it (``demo``,
``generate``, ``test``, ``bench``, ...), and every Markdown file the sentences, list items,
table rows and code lines that name a file or a command that is gone (README.md also its
"For maintainers" section, INSTRUCTORS.md its sections on the release, the flags and the tests).
The grader stays whole: its hints show a call after a failure, as a TODO's own hint does.

``--lang es`` writes a release that speaks Spanish:

- a Spanish ``code/``: the student scripts and notebooks generated from ``solutions/`` with
  their docstrings, comments, TODO texts and printed lines in Spanish
  (labkit/maintainers/translation.py), the same program as the English ones;
- its language, recorded in ``locale/default-language``: the grader, the scripts, their figures
  and the lab's commands speak it when nothing else asks (``--lang``, ``LAB_LANG`` and a locale
  that names a language still win: labkit/i18n.py);
- its README in Spanish: ``README.md`` is the adapted ``README.es.md``, and the English one
  ships as ``README.en.md`` (the links between the two follow).

It needs ``requirements-class.txt`` only (Babel reads the scripts' catalog; the notebooks are
JSON, written with the standard library). Both guides ship either way; LAB.es.md quotes the
Spanish TODOs.

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
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

from classroom.release_docs import Gone, adapt, adapt_makefile
from labkit.i18n import DEFAULT_FILE, Domain

_, N_, _n = Domain("classroom").functions()

ROOT = Path(__file__).resolve().parents[1]

GONE_FOLDERS = ("solutions/", "bench/", "tools/", ".ci/")
LANGUAGE_NAMES = {"es": N_("Spanish")}
GONE_FILES = ("requirements-dev.txt",)
SERVING_BONUS = ("test/serve_model.py", "test/test_requests.py",  # what the guides tell students to run
                 "test/test_model_deployment.py")


class ReleaseError(Exception):
    """The release cannot be written; the message is one line that names the fix."""


@dataclass
class Release:
    out: Path
    copied: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    adapted: list[str] = field(default_factory=list)
    translated: list[str] = field(default_factory=list)  # code/ files generated in the release's language
    language: str = "en"


def readme_names(files: list[str], lang: str) -> dict[str, str]:
    """Where a README goes in a release in ``lang``: README.<lang>.md becomes README.md, and the
    English README.md becomes README.en.md (nothing moves in English, or without README.<lang>.md)."""
    if lang == "en" or f"README.{lang}.md" not in files:
        return {}
    return {f"README.{lang}.md": "README.md", "README.md": "README.en.md"}


README_LINK = re.compile(r"\[(?P<label>[^\]]*)\]\((?P<target>README(?:\.\w+)?\.md)\)")


def relink(text: str, names: dict[str, str]) -> str:
    """``text`` with its Markdown links to the moved READMEs following them (a link that shows
    the file's name, ``[README.md](README.md)``, shows the new one)."""
    def follow(link: re.Match) -> str:
        target = names.get(link["target"], link["target"])
        label = target if link["label"] == link["target"] else link["label"]
        return f"[{label}]({target})"

    return README_LINK.sub(follow, text)


def write_release(out: Path, root: Path = ROOT, lang: str = "en") -> Release:
    """Write the student release of the lab at ``root`` into ``out`` (new, or empty), with its
    code/ in ``lang``."""
    if not (root / "solutions").is_dir():
        raise ReleaseError(_("{root} has no solutions/: is it already a student release? "
                             "Run the command in the lab's full repository.", root=root))
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ReleaseError(_("{out} exists and is not empty. Give a new folder, or empty that one first.",
                             out=out))
    code = student_code(root, lang)  # before anything is written: it may refuse
    existed = out.exists()
    files = lab_files(root)
    release = Release(out, language=lang)
    moved = readme_names(files, lang)
    gone = Gone([f for f in files if is_left_out(f)], GONE_FOLDERS)
    if "Makefile" in files:  # first: the Markdown files must not name the targets it loses
        gone.makefile, gone.targets = adapt_makefile((root / "Makefile").read_text(encoding="utf-8"), gone)
    for rel in files:
        if is_left_out(rel):
            release.left_out.append(rel)
            continue
        target = out / moved.get(rel, rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = adapt(rel, root / rel, gone)
        if moved and rel.endswith(".md"):  # the links to the moved READMEs follow them
            base = text if text is not None else (root / rel).read_text(encoding="utf-8")
            linked = relink(base, moved)
            text = linked if linked != base or rel in moved else text
        if text is None:
            shutil.copy2(root / rel, target)
        else:
            target.write_text(text, encoding="utf-8")
            shutil.copymode(root / rel, target)
            release.adapted.append(rel)
        release.copied.append(moved.get(rel, rel))
    if lang != "en":  # what the release's commands speak when nothing else asks (labkit/i18n.py)
        (out / "locale").mkdir(parents=True, exist_ok=True)
        (out / "locale" / DEFAULT_FILE.name).write_text(lang + "\n", encoding="utf-8")
        release.copied.append(f"locale/{DEFAULT_FILE.name}")
    for rel, data in code.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(data)
        release.translated.append(rel)
        if rel not in release.copied:
            release.copied.append(rel)
    found = leaks(out, root, lang)
    if found:  # take back what was written: DIR was new or empty
        shutil.rmtree(out)
        if existed:
            out.mkdir()
        where = ", ".join(f"{rel}:{number}" for rel, number, _ in found[:5])
        raise ReleaseError(_("Not released: a solution's line is in {where}. Leave that file out "
                             "(classroom/release.py, GONE_FOLDERS or GONE_FILES) and run it again.",
                             where=where))
    return release


def student_code(root: Path, lang: str) -> dict[str, bytes]:
    """The student scripts and notebooks of code/ in ``lang``, by path; none for English (code/
    is English, copied as it is)."""
    if lang == "en":
        return {}
    try:
        import babel.messages.pofile  # noqa: F401 - reads solutions/locale/<lang>.po
        from labkit.maintainers import codegen, markers, notebooks
        from labkit.maintainers.translation import TranslationError
    except ImportError as exc:
        raise ReleaseError(_("A release in {language} writes its code/ with Babel ({module} is missing): "
                             "python -m pip install -r requirements-class.txt",
                             language=LANGUAGE_NAMES.get(lang, lang), module=(exc.name or "babel").split(".")[0])) from None
    solutions = root / "solutions"
    try:
        scripts = {f"code/{name}": text.encode("utf-8") for name, text in codegen.scripts(solutions, lang).items()}
        books = {f"code/{name}": data for name, data in notebooks.student_notebooks(solutions, lang).items()}
    except (TranslationError, markers.MarkerError) as exc:
        raise ReleaseError(_("Not released: {problem}", problem=exc)) from None
    return {**scripts, **books}


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


# The release's own check.

def solution_lines(root: Path = ROOT, lang: str = "en") -> set[str]:
    """Every code line of a TODO's solution in ``solutions/`` that ``code/`` does not hold, in
    English and, for a release in another language, in that language too."""
    from labkit.maintainers.markers import parse, student_version

    sources = {script: script.read_text(encoding="utf-8") for script in sorted((root / "solutions").glob("task*.py"))}
    held = {normal(line) for script in (root / "code").glob("*.py")
            for line in script.read_text(encoding="utf-8").splitlines()}
    versions = [sources]
    if lang != "en":
        from labkit.maintainers.translation import sources as translated

        versions.append(translated(root / "solutions", lang))
        held |= {normal(line) for script, text in versions[-1].items()
                 for line in student_version(text, str(script)).splitlines()}
    lines: set[str] = set()
    for version in versions:
        for script, text in version.items():
            for region in parse(text.splitlines(keepends=True), str(script)):
                lines |= {normal(line) for line in region.solution if not line.strip().startswith("#")}
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


def leaks(folder: Path, root: Path = ROOT, lang: str = "en") -> list[tuple[str, int, str]]:
    """(file, line number, line) for each line under ``folder`` that is a solution's line."""
    wanted = solution_lines(root, lang)
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        for number, line in enumerate(text_lines(path), 1):
            if normal(line) in wanted:
                found.append((path.relative_to(folder).as_posix(), number, line.strip()))
    return found
