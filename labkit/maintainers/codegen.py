"""Generate the student scripts in code/ from the solutions in solutions/.

Each solution's TODO regions (``# BEGIN TODO 1.1: ...`` to ``# END TODO 1.1``:
labkit/maintainers/markers.py) become their stubs in the student's script.

``--lang es`` writes the Spanish scripts from the same solutions: their docstrings, comments,
TODO texts and printed lines come from solutions/locale/es.po (labkit/maintainers/translation.py),
everything else is the English scripts' own. code/ stays English; the Spanish goes to ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from labkit.maintainers.markers import MarkerError, student_version
from labkit.maintainers.translation import LANGUAGES, TranslationError, sources
from labkit.paths import CODE_DIR, SOLUTIONS_DIR


def scripts(solutions: Path = SOLUTIONS_DIR, lang: str = "en") -> dict[str, str]:
    """The student version of every solutions/task*.py in ``lang``, by file name."""
    return {path.name: student_version(source, str(path))
            for path, source in sources(solutions, lang).items()}


def generate(solutions: Path = SOLUTIONS_DIR, out: Path = CODE_DIR, lang: str = "en") -> list[Path]:
    """Write the student version of every solutions/task*.py into ``out``."""
    written = []
    texts = scripts(solutions, lang)  # all of them, or none when one fails
    out.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        target = out / name
        target.write_bytes(text.encode("utf-8"))
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate code/ from solutions/.")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default: code/)")
    parser.add_argument("--lang", choices=["en", *LANGUAGES], default="en",
                        help="the language of the docstrings, comments, TODOs and printed lines")
    args = parser.parse_args(argv)
    if args.lang != "en" and args.out is None:
        print(f"error: code/ stays English: give --out DIR for the {args.lang} scripts", file=sys.stderr)
        return 2
    try:
        written = generate(out=args.out or CODE_DIR, lang=args.lang)
    except (MarkerError, TranslationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
