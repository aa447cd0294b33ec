"""Keep the Spanish message catalogs in step with the code (Babel, a development dependency).

    python -m labkit.maintainers.catalogs update    # new messages in, gone ones out of the .po
    python -m labkit.maintainers.catalogs compile   # .po -> .mo, what the lab reads at run time
    python -m labkit.maintainers.catalogs check     # what test/test_catalogs.py checks
    python -m labkit.maintainers.catalogs merge BASE OURS THEIRS   # git's merge driver for .po files

Merging branches that both changed a catalog: ``.gitattributes`` names the drivers ``lab-po``
and ``lab-mo``; give them once (the commands are in ``.gitattributes``; without them git merges
as usual), then after the merge run ``update``, ``python -m labkit.maintainers.translation
update`` and ``compile``, and commit the ``.po`` and ``.mo`` files.

After ``update``, write the Spanish of every new entry (``msgstr``) in
``locale/es/LC_MESSAGES/DOMAIN.po``, then ``compile``. Messages are found by the names the
code marks them with: ``_("...")``, ``N_("...")`` and ``_n("...", "...", count)``.

One more domain, ``argparse``, holds the Spanish of argparse's own words (``usage:``,
``options:``, its errors), which the lab's commands show (labkit/i18n.py, ``speak_argparse``):
its messages come from the running Python's ``argparse.py``, and ``update`` adds new ones
without dropping those of other Python versions (run it under each Python the lab supports).
"""

from __future__ import annotations

import argparse
import ast
import gettext
import io
import re
import sys
from datetime import datetime, timezone
from pathlib import Path

from labkit.i18n import LOCALE_DIR
from labkit.paths import ROOT

DOMAINS = {"labkit": ROOT / "labkit", "grader": ROOT / "grader", "classroom": ROOT / "classroom",
           "argparse": Path(argparse.__file__)}  # the standard library's words the commands show
LAB_DOMAINS = ("labkit", "grader", "classroom")
TRANSLATED = ("es",)
KEYWORDS = {"_": None, "N_": None, "_n": (1, 2)}
ARGPARSE_KEYWORDS = {"_": None, "ngettext": (1, 2)}
PLACEHOLDER = re.compile(r"(?<!\{)\{([a-zA-Z_][a-zA-Z0-9_]*)(?:[!:][^}]*)?\}")
PERCENT = re.compile(r"%(?:\((\w+)\))?[sdr]")  # argparse's %-placeholders
PROJECT = "mlflow-tracking-lab"
STABLE_DATE = datetime(2026, 12, 1, tzinfo=timezone.utc)  # no date churn in the .po diffs
HEADER_COMMENT = ("# Spanish (Latin America) messages of the lab, domain {domain}.\n"
                  "# Edit the msgstr lines; python -m labkit.maintainers.catalogs update|compile.")


def po_path(domain: str, language: str = "es") -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po"


def sources(domain: str) -> list[Path]:
    if DOMAINS[domain].is_file():
        return [DOMAINS[domain]]
    return sorted(p for p in DOMAINS[domain].rglob("*.py") if "__pycache__" not in p.parts)


def keywords(domain: str) -> dict:
    return ARGPARSE_KEYWORDS if domain == "argparse" else KEYWORDS


def placeholders(domain: str, text: str) -> list[str]:
    """A message's placeholders, sorted: ``{named}`` in the lab's, ``%(named)s``/``%s`` in argparse's."""
    if domain == "argparse":
        return sorted(name or "%" for name in PERCENT.findall(text))
    return sorted(set(PLACEHOLDER.findall(text)))


def _location(path: Path) -> str:
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:  # argparse.py, in the standard library
        return path.name


def extract(domain: str):
    """The messages the code of ``domain`` marks, as a Babel catalog (a template)."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_python

    template = Catalog(domain=domain, project=PROJECT)
    for path in sources(domain):
        with path.open("rb") as handle:
            for lineno, _funcname, message, comments in extract_python(handle, keywords(domain).keys(), [], {}):
                message = _pick(_funcname, message, keywords(domain))
                if message is None:
                    continue
                template.add(message, None, [(_location(path), lineno)],
                             auto_comments=comments, flags=_flags(message, domain))
    return template


def _pick(funcname: str, message, specs=KEYWORDS):
    """Babel gives every argument of the call; keep the message ones (``_n``: the first two)."""
    spec = specs[funcname]
    parts = message if isinstance(message, tuple) else (message,)
    if spec is None:
        return parts[0] if parts and isinstance(parts[0], str) else None
    chosen = tuple(parts[i - 1] for i in spec if i - 1 < len(parts))
    return chosen if len(chosen) == len(spec) and all(isinstance(p, str) for p in chosen) else None


def _flags(message, domain: str = "labkit") -> tuple[str, ...]:
    texts = message if isinstance(message, tuple) else (message,)
    if domain == "argparse":
        return ("python-format",) if any(PERCENT.search(t) for t in texts) else ()
    return ("python-brace-format",) if any(PLACEHOLDER.search(t) for t in texts) else ()


def read(domain: str, language: str = "es"):
    from babel.messages.pofile import read_po

    path = po_path(domain, language)
    if not path.exists():
        from babel.messages.catalog import Catalog

        return Catalog(locale=language, domain=domain, project=PROJECT)
    with path.open("rb") as handle:
        return read_po(handle, locale=language, domain=domain)


def update() -> list[Path]:
    from babel.messages.pofile import write_po

    written = []
    for domain in DOMAINS:
        template = extract(domain)
        for language in TRANSLATED:
            catalog = read(domain, language)
            if domain == "argparse":  # keep the words of the other Python versions
                template = _union(template, catalog)
            catalog.update(template, no_fuzzy_matching=True)
            catalog.obsolete.clear()  # a message the code no longer has leaves the catalog
            _stable_header(catalog, domain)
            path = po_path(domain, language)
            path.parent.mkdir(parents=True, exist_ok=True)
            buffer = io.BytesIO()
            write_po(buffer, catalog, width=100, ignore_obsolete=True, include_previous=False)
            path.write_bytes(buffer.getvalue())
            written.append(path)
    return written


def _union(template, catalog):
    """``template`` plus the messages ``catalog`` has (argparse's of other Python versions)."""
    for entry in catalog:
        if entry.id and entry.id not in template:
            template.add(entry.id, None, list(entry.locations), flags=_flags(entry.id, "argparse"))
    return template


def _stable_header(catalog, domain: str) -> None:
    catalog.fuzzy = False
    catalog.project, catalog.version = PROJECT, "1"
    catalog.creation_date = catalog.revision_date = STABLE_DATE
    catalog.last_translator = "the lab's maintainers"
    catalog.language_team = "Spanish (Latin America)"
    catalog.msgid_bugs_address = ""
    catalog.header_comment = HEADER_COMMENT.format(domain=domain)


def compile_all() -> list[Path]:
    from babel.messages.mofile import write_mo

    written = []
    for domain in DOMAINS:
        for language in TRANSLATED:
            catalog = read(domain, language)
            target = po_path(domain, language).with_suffix(".mo")
            buffer = io.BytesIO()
            write_mo(buffer, catalog, use_fuzzy=False)
            target.write_bytes(buffer.getvalue())
            written.append(target)
    return written


def _ids(message) -> tuple[str, ...]:
    return message if isinstance(message, tuple) else (message,)


def problems() -> list[str]:
    """Every way the catalogs are out of step with the code, one line each."""
    found: list[str] = []
    for domain in DOMAINS:
        wanted = {m.id: m for m in extract(domain) if m.id}
        for language in TRANSLATED:
            where = po_path(domain, language).relative_to(ROOT).as_posix()
            catalog = read(domain, language)
            have = {m.id: m for m in catalog if m.id}
            for message_id in wanted.keys() - have.keys():
                found.append(f"{where}: no entry for {_ids(message_id)[0]!r} (run catalogs update)")
            for message_id in have.keys() - wanted.keys():
                if domain != "argparse":  # argparse's: another Python version may show it
                    found.append(f"{where}: {_ids(message_id)[0]!r} is no longer in the code (run catalogs update)")
            for message_id, entry in have.items():
                strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
                if entry.fuzzy or not all(strings):
                    found.append(f"{where}: {_ids(message_id)[0]!r} has no Spanish text")
                    continue
                expected = (placeholders(domain, _ids(message_id)[-1]) if domain == "argparse" else
                            sorted({p for t in _ids(message_id) for p in PLACEHOLDER.findall(t)}))
                for string in strings:
                    if placeholders(domain, string) != expected:
                        found.append(f"{where}: the Spanish of {_ids(message_id)[0]!r} has placeholders "
                                     f"{placeholders(domain, string)}, not {expected}")
            found.extend(_compiled_problems(domain, language, have))
    return found


def _compiled_problems(domain: str, language: str, have: dict) -> list[str]:
    mo = po_path(domain, language).with_suffix(".mo")
    where = mo.relative_to(ROOT).as_posix()
    if not mo.exists():
        return [f"{where} is missing (run catalogs compile)"]
    with mo.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for message_id, entry in have.items():
        if isinstance(message_id, tuple):
            got = tuple(compiled.ngettext(message_id[0], message_id[1], n) for n in (1, 2))
            want = (entry.string[0], entry.string[1]) if isinstance(entry.string, tuple) else None
        else:
            got, want = compiled.gettext(message_id), entry.string
        if want and got != want:
            return [f"{where} is older than its .po (run catalogs compile)"]
    return []


def f_string_messages() -> list[str]:
    """Calls of ``_``/``N_``/``_n`` whose message is not a plain string literal (not extractable)."""
    found = []
    for domain in LAB_DOMAINS:
        for path in sources(domain):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in KEYWORDS):
                    count = 2 if node.func.id == "_n" else 1
                    literal = all(isinstance(a, ast.Constant) and isinstance(a.value, str)
                                  for a in node.args[:count]) and len(node.args) >= count
                    if not literal:
                        found.append(f"{path.relative_to(ROOT).as_posix()}:{node.lineno}: "
                                     f"{node.func.id}() needs a plain string with {{named}} placeholders")
    return found


def merge(base: Path, ours: Path, theirs: Path) -> list[str]:
    """Merge two branches' versions of a catalog entry by entry, into ``ours`` (git's merge driver,
    ``%O %A %B``): every message of either side, and each Spanish text as the side that changed it
    has it. A text both sides changed differently keeps ours, marked fuzzy (test/test_catalogs.py
    then fails on it until someone chooses); the msgids that changed, one line each, are returned.
    Run ``update`` (or ``translation update``) and ``compile`` afterwards: they drop what the
    merged code no longer has and rewrite the references."""
    from babel.messages.pofile import read_po, write_po

    def load(path: Path):
        with path.open("rb") as handle:
            return read_po(handle)

    old, mine, other = load(base), load(ours), load(theirs)
    clashes = []
    for entry in other:
        if not entry.id:
            continue
        if entry.id not in mine:
            mine[entry.id] = entry
            continue
        before = old[entry.id].string if entry.id in old else None
        if mine[entry.id].string == entry.string or entry.string == before:
            continue
        if mine[entry.id].string == before:
            mine[entry.id].string = entry.string
            mine[entry.id].flags = set(entry.flags)
        else:
            mine[entry.id].flags.add("fuzzy")
            clashes.append(f"{ours}: both sides changed the Spanish of {_ids(entry.id)[0]!r}")
    buffer = io.BytesIO()
    write_po(buffer, mine, width=100, ignore_obsolete=True, include_previous=False)
    ours.write_bytes(buffer.getvalue())
    return clashes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Keep locale/ in step with the lab's messages.")
    parser.add_argument("action", choices=["update", "compile", "check", "merge"])
    parser.add_argument("files", nargs="*", type=Path,
                        help="merge: BASE OURS THEIRS, as git gives a merge driver (%%O %%A %%B)")
    args = parser.parse_args(argv)
    if args.action == "merge":
        if len(args.files) != 3:
            parser.error("merge takes BASE OURS THEIRS")
        clashes = merge(*args.files)
        for line in clashes:
            print(line, file=sys.stderr)
        return 1 if clashes else 0
    if args.action == "update":
        for path in update():
            print(f"updated {path.relative_to(ROOT).as_posix()}")
        return 0
    if args.action == "compile":
        for path in compile_all():
            print(f"wrote {path.relative_to(ROOT).as_posix()}")
        return 0
    found = f_string_messages() + problems()
    for line in found:
        print(line)
    print(f"{len(found)} problem(s)" if found else "the catalogs are in step with the code")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
