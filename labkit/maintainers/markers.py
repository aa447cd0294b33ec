"""The TODO markers of a solution, and the student's version they give.

A TODO region in a solution looks like this::

    # BEGIN TODO 1.1: One-line instruction.
    #   Hint: the API to use
    <solution lines>
    # STUB
    # <stub lines, commented out>
    # END TODO 1.1

The student version keeps the instruction and hint as ``# TODO 1.1: ...`` and
replaces the solution lines with the stub (``todo("1.1")`` when there is none).
Nested, unterminated or mismatched markers stop the generator with an error.

Every maintainers' tool reads the markers here (codegen.py writes code/ with them,
script_texts.py and translation.py find the texts to translate, notebooks.py builds the
notebooks); this module imports none of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BEGIN = re.compile(r"^(?P<indent>\s*)# BEGIN TODO (?P<id>\d+\.\d+): (?P<text>.+)$")
END = re.compile(r"^\s*# END TODO (?P<id>\d+\.\d+)\s*$")
STUB = re.compile(r"^\s*# STUB\s*$")
ANY_MARKER = re.compile(r"#\s*(BEGIN|END) TODO|^\s*# STUB\s*$")

class MarkerError(Exception):
    """A malformed TODO marker: the message names the file and line."""


@dataclass
class Region:
    todo_id: str
    begin: int  # index of the BEGIN line
    end: int  # index of the END line
    guidance: list[str]  # the instruction's continuation and hint lines
    solution: list[str]
    stub: list[str] | None


def parse(lines: list[str], source: str = "<solution>") -> list[Region]:
    """Find the TODO regions of a solution, checking that markers are well formed."""
    regions: list[Region] = []
    current: dict | None = None
    for index, line in enumerate(lines):
        where = f"{source}:{index + 1}"
        begin, end, stub = BEGIN.match(line), END.match(line), STUB.match(line)
        if begin:
            if current is not None:
                raise MarkerError(f"{where}: BEGIN TODO {begin['id']} inside TODO {current['id']}")
            current = {"id": begin["id"], "begin": index, "body": [], "stub": None}
        elif end:
            if current is None:
                raise MarkerError(f"{where}: END TODO {end['id']} without a BEGIN")
            if end["id"] != current["id"]:
                raise MarkerError(f"{where}: END TODO {end['id']} closes TODO {current['id']}")
            regions.append(_close(current, index, where))
            current = None
        elif stub:
            if current is None:
                raise MarkerError(f"{where}: STUB outside a TODO region")
            if current["stub"] is not None:
                raise MarkerError(f"{where}: a second STUB in TODO {current['id']}")
            current["stub"] = []
        elif ANY_MARKER.search(line):
            raise MarkerError(f"{where}: malformed TODO marker: {line.strip()}")
        elif current is not None:
            (current["stub"] if current["stub"] is not None else current["body"]).append(line)
    if current is not None:
        raise MarkerError(f"{source}:{current['begin'] + 1}: TODO {current['id']} has no END")
    ids = [r.todo_id for r in regions]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise MarkerError(f"{source}: TODO {', '.join(duplicates)} appears more than once")
    return regions


def _close(current: dict, end_index: int, where: str) -> Region:
    body = current["body"]
    guidance = []
    while body and body[0].lstrip().startswith("#"):
        guidance.append(body.pop(0))
    if not any(line.strip() for line in body):
        raise MarkerError(f"{where}: TODO {current['id']} has no solution lines")
    stub = current["stub"]
    if stub is not None:
        for line in stub:
            if not line.lstrip().startswith("#"):
                raise MarkerError(f"{where}: STUB lines must be commented out: {line.strip()}")
        stub = [re.sub(r"^(\s*)# ?", r"\1", line, count=1) for line in stub]
    return Region(current["id"], current["begin"], end_index, guidance, body, stub)


def todo_ids(source: str) -> list[str]:
    return [r.todo_id for r in parse(source.splitlines(keepends=True))]


def render(source: str, revert: set[str] | None = None, name: str = "<solution>") -> str:
    """The script with the TODOs in ``revert`` turned into stubs (all of them if None).

    Reverting none of them gives back the solution without its markers.
    """
    lines = source.splitlines(keepends=True)
    regions = parse(lines, name)
    out: list[str] = []
    cursor = 0
    for region in regions:
        out.extend(lines[cursor : region.begin])
        student = revert is None or region.todo_id in revert
        if student:
            match = BEGIN.match(lines[region.begin])
            indent = match["indent"]
            out.append(f"{indent}# TODO {region.todo_id}: {match['text']}\n")
            out.extend(region.guidance)
            stub = region.stub if region.stub is not None else [f'{indent}todo("{region.todo_id}")\n']
            out.extend(stub)
        else:
            out.extend(region.solution)
        cursor = region.end + 1
    out.extend(lines[cursor:])
    return "".join(out)


def student_version(source: str, name: str = "<solution>") -> str:
    """The student's copy: every TODO turned into its stub."""
    return render(source, None, name)
