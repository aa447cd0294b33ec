"""The generated parts of the guides and the READMEs: the TODO blocks and the TODO counts.

``python -m labkit generate`` writes them from solutions/, after code/ and the notebooks.
Everything around them stays hand-written.

A TODO block is a marked region of LAB.md (quoting the English scripts) and LAB.es.md (the
Spanish ones, from solutions/locale/es.po)::

    <!-- TODO 2.1 -->
    ```python
    # TODO 2.1: ...the TODO's comment, as the student's script has it...
    ```
    <!-- /TODO 2.1 -->

A TODO of the solutions that has no region yet gets one after the region of the TODO before
it in the same task (or before the first region of the next task); a region whose TODO is
gone is removed. The markers name no command: the students' release keeps them, and names no
maintainers' command. The counts are the numbers in the sentences of ``COUNTS`` (``15 TODOs``,
``(15/15)``, the task table's ``2.1 – 2.4``): each sentence must still be found, or generation
stops and names it.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

from labkit.maintainers.markers import BEGIN, MarkerError
from labkit.paths import ROOT, SOLUTIONS_DIR

COMMAND = "python -m labkit generate"
GUIDES = {"LAB.md": "en", "LAB.es.md": "es"}  # each guide quotes the scripts in its language
REGION = re.compile(r"^<!-- TODO (?P<id>\d+\.\d+) -->\n"
                    r"(?P<body>.*?)^<!-- /TODO (?P=id) -->\n", re.M | re.S)
STRAY = re.compile(r"^<!-- /?TODO \d+\.\d+\b.*-->$", re.M)

# Where a document says how many TODOs there are: group "total" is the lab's count, group "last"
# the last TODO number of the task in group "task". Each pattern must match at least once.
TABLE_ROW = r"^\| (?P<task>\d) \| [^|\n]+ \| (?P=task)\.1 – (?P=task)\.(?P<last>\d+) \|"
COUNTS: dict[str, tuple[str, ...]] = {
    "README.md": (r"\b(?P<total>\d+) TODOs\b", r"\((?P<total>\d+)/(?P<total2>\d+)\)"),
    "README.es.md": (r"\b(?P<total>\d+) TODOs\b", r"\((?P<total>\d+)/(?P<total2>\d+)\)"),
    "LAB.md": (r"\b(?P<total>\d+) TODOs\b", r"\((?P<total>\d+) points\)", TABLE_ROW),
    "LAB.es.md": (r"\b(?P<total>\d+) TODOs\b", r"\((?P<total>\d+) puntos\)", TABLE_ROW),
    "INSTRUCTORS.md": (r"scores (?P<total>\d+)/(?P<total2>\d+)\b",),
}


def todo_comments(lang: str = "en", solutions: Path = SOLUTIONS_DIR) -> dict[str, str]:
    """TODO id -> its comment in the student's script in ``lang``, as a guide quotes it: the
    ``# TODO x.y:`` line and its ``#   `` continuation lines, unindented."""
    from labkit.maintainers import codegen

    found: dict[str, str] = {}
    for script in codegen.scripts(solutions, lang).values():
        lines = script.splitlines()
        for index, line in enumerate(lines):
            if re.match(r"^\s*# TODO \d+\.\d+: ", line):
                todo_id = line.split("# TODO ", 1)[1].split(":", 1)[0]
                comment = [line.strip()]
                for following in lines[index + 1:]:
                    if not following.strip().startswith("#   "):
                        break
                    comment.append(following.strip())
                found[todo_id] = "\n".join(comment)
    return found


def todo_ids(solutions: Path = SOLUTIONS_DIR) -> list[str]:
    """Every TODO id marked in the solutions, in order (what the grader's registry must check)."""
    ids = []
    for path in sorted(solutions.glob("task*.py")):
        ids += [m["id"] for line in path.read_text(encoding="utf-8").splitlines()
                if (m := BEGIN.match(line))]
    return ids


def region(todo_id: str, comment: str) -> str:
    return (f"<!-- TODO {todo_id} -->\n```python\n{comment}\n```\n"
            f"<!-- /TODO {todo_id} -->\n")


def _task(todo_id: str) -> int:
    return int(todo_id.split(".")[0])


def _key(todo_id: str) -> tuple[int, ...]:
    return tuple(int(p) for p in todo_id.split("."))


def with_todo_blocks(markdown: str, comments: dict[str, str], name: str) -> str:
    """The guide with every TODO region holding its TODO's comment, a region added for each
    TODO that had none and removed for each TODO that is gone."""
    present = [m["id"] for m in REGION.finditer(markdown)]
    twice = sorted(i for i, n in Counter(present).items() if n > 1)
    if twice:
        raise MarkerError(f"{name}: the region of TODO {', '.join(twice)} appears more than once")
    stray = len(STRAY.findall(markdown)) - 2 * len(present)
    if stray:
        raise MarkerError(f"{name}: a TODO region's marker is malformed or unpaired (markers look like "
                          f"`{region('1.1', '...').splitlines()[0]}` and `<!-- /TODO 1.1 -->`)")
    markdown = REGION.sub(lambda m: region(m["id"], comments[m["id"]]) if m["id"] in comments else "",
                          markdown)
    for todo_id in sorted(set(comments) - set(present), key=_key):
        markdown = _insert(markdown, todo_id, region(todo_id, comments[todo_id]), name)
    return markdown


def _insert(markdown: str, todo_id: str, block: str, name: str) -> str:
    spans = {m["id"]: m.span() for m in REGION.finditer(markdown)}
    before = [i for i in spans if _task(i) == _task(todo_id) and _key(i) < _key(todo_id)]
    if before:
        at = spans[max(before, key=_key)][1]
        return markdown[:at] + "\n" + block + markdown[at:]
    after = [i for i in spans if _key(i) > _key(todo_id)]
    if after:
        at = spans[min(after, key=_key)][0]
        return markdown[:at] + block + "\n" + markdown[at:]
    raise MarkerError(f"{name}: no TODO region to put TODO {todo_id} next to: add "
                      f"`{region(todo_id, '').splitlines()[0]}` and `<!-- /TODO {todo_id} -->` where it goes")


def with_counts(markdown: str, ids: list[str], name: str) -> str:
    """The document with every count of ``COUNTS`` set from the TODO ids."""
    per_task = Counter(_task(i) for i in ids)

    def fill(match: re.Match) -> str:
        text, start = match.group(0), match.start()
        pieces, cursor = [], 0
        for group, value in match.groupdict().items():
            if group == "task" or value is None:
                continue
            wanted = per_task[int(match["task"])] if group == "last" else len(ids)
            begin, end = match.span(group)
            pieces += [text[cursor:begin - start], str(wanted)]
            cursor = end - start
        return "".join(pieces) + text[cursor:]

    for pattern in COUNTS.get(name, ()):
        markdown, found = re.subn(pattern, fill, markdown, flags=re.M)
        if not found:
            raise MarkerError(f"{name} no longer says how many TODOs there are the way "
                              f"labkit/maintainers/guides.py looks for it ({pattern}): update COUNTS there")
    return markdown


def documents(root: Path = ROOT, solutions: Path = SOLUTIONS_DIR) -> dict[str, str]:
    """Document name -> its text as generation makes it (the guides and every file of COUNTS)."""
    ids = todo_ids(solutions)
    out = {}
    for name in sorted(set(GUIDES) | set(COUNTS)):
        text = (root / name).read_text(encoding="utf-8")
        if name in GUIDES:
            text = with_todo_blocks(text, todo_comments(GUIDES[name], solutions), name)
        out[name] = with_counts(text, ids, name)
    return out


def drifted(root: Path = ROOT, solutions: Path = SOLUTIONS_DIR) -> list[str]:
    """The documents whose generated parts differ from what generation makes now."""
    return [name for name, text in documents(root, solutions).items()
            if (root / name).read_text(encoding="utf-8") != text]


def generate(root: Path = ROOT, solutions: Path = SOLUTIONS_DIR) -> list[Path]:
    """Rewrite the generated parts of the guides and READMEs; the documents that changed."""
    written = []
    for name, text in documents(root, solutions).items():  # all of them, or none when one fails
        path = root / name
        if path.read_text(encoding="utf-8") != text:
            path.write_bytes(text.encode("utf-8"))
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    from labkit.maintainers.translation import TranslationError

    try:
        written = generate()
    except (MarkerError, TranslationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
