"""The suite's one reader of "is this English?": the common English words left in a text meant
to be Spanish (the grader's, labkit's and the classroom's Spanish are all read by it; its
self-test is test_catalogs.py's test_the_english_checker_*).

What stays English on purpose is dropped first: `code`, "quoted" and 'quoted' names (not the
' of "lab's"), URLs and URIs, the glossary's English glosses in parentheses ("servidor de
seguimiento (tracking server)"), tokens that are code (a dot, an underscore, a slash, a
bracket, an = or a digit: paths, options, rmse=27.1, lab.py), --options, and UPPER-CASE
names (PASS/FAIL/SKIP, TODO, MLFLOW_TRACKING_URI). "run", "log", "workspace" and the other
English words the glossary keeps in Spanish are not in the list.
"""

from __future__ import annotations

import re

# Common English words that no Spanish sentence of the lab uses.
ENGLISH = frozenset("""
    the of in on to at for from by with without and or but then than is are was were be been
    has have had it its this that these those which when where what who why how not your you
    they their yet still already again until once first before after since because inside
    outside into out up about also just only now here there will would could should must can
    cannot need needs did does do so if an expected found nothing nobody anyone missing call
    logs logged finish finished skipped passes failing grade grading graded hint note
    score named every each fix less more equal same other another one wrap use keep move point
    load register fit compute predict start started let see ask left search open store server
    tracking model answer answers answering stopped running refresh refreshed deleted kept
    students student folder file files password click hover below above
""".split())
PHRASES = ("run again", "run it", "run the", "run task")  # "run" alone is the glossary's Spanish

GLOSS = re.compile(r"\bModel Registry\b|\((?:tracking server|tracking store|workspace|logged model|registered model|"
                   r"Model Registry|signature|stages)\)")
QUOTED = re.compile(r"`[^`\n]*`|\"[^\"\n]*\"|“[^”\n]*”|(?<![\w])'[^'\n]*'(?!\w)")
URI = re.compile(r"\b[a-z][a-z0-9+.-]*:/+\S*")
EDGES = ".,;:!?¿¡'’\"()[]…·«»—–"  # not {}: a {placeholder} is code
CODE = re.compile(r"[._()/\\=\[\]{}<>@\d]")


def english_words(text: str) -> list[str]:
    """The English words (and phrases) of ``text`` once what stays English on purpose is dropped."""
    kept = []
    for token in URI.sub(" ", QUOTED.sub(" ", GLOSS.sub(" ", text))).split():
        core = token.strip(EDGES)
        if not core or CODE.search(core) or core.startswith("-") or (core.isupper() and len(core) > 1):
            continue
        kept.append(core)
    words = " ".join(kept)
    found = [w for w in re.split(r"[\s'’]+", words) if w.lower() in ENGLISH]  # static-files is a name
    return found + [p for p in PHRASES if re.search(rf"\b{p}\b", words.lower())]


def assert_spanish(text: str | list[str]) -> None:
    """Every line of ``text`` (a string or its lines) reads as Spanish."""
    lines = text.splitlines() if isinstance(text, str) else text
    bad = {line: english_words(line) for line in lines if english_words(line)}
    assert not bad, "English in lines meant to be Spanish:\n" + "\n".join(f"{w}: {line}" for line, w in bad.items())
