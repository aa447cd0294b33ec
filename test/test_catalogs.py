"""The Spanish catalogs hold every message the code marks, and nothing else (issue 14).

Fails when a message has no Spanish text, when a catalog keeps a message the code no
longer has, when a translation's {placeholders} differ from the English ones, when a .mo
is older than its .po, or when a message is written as an f-string (Babel cannot extract it).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from labkit import i18n
from labkit.maintainers import catalogs
from labkit.paths import ROOT


def test_every_message_is_a_plain_string_with_named_placeholders():
    assert catalogs.f_string_messages() == []


def test_the_catalogs_are_in_step_with_the_code():
    assert catalogs.problems() == []


@pytest.mark.parametrize("domain", ["grader", "labkit", "classroom", "argparse"])
def test_each_domain_has_messages_to_translate(domain):
    assert len(catalogs.extract(domain)) > 0, domain


@pytest.mark.parametrize("env, expected", [
    ({}, "en"),
    ({"LANG": "es_MX.UTF-8"}, "es"),
    ({"LANG": "C.UTF-8"}, "en"),
    ({"LANGUAGE": "es:en", "LANG": "en_US.UTF-8"}, "es"),     # LANGUAGE comes first
    ({"LANGUAGE": "fr:es"}, "es"),                            # the first one the lab speaks
    ({"LC_ALL": "en_GB.UTF-8", "LANG": "es_AR.UTF-8"}, "en"),  # the first set wins
    ({"LC_MESSAGES": "es_CO.UTF-8", "LANG": "en_US.UTF-8"}, "es"),
    ({"LAB_LANG": "es", "LANG": "en_US.UTF-8"}, "es"),        # Windows: only LAB_LANG
    ({"LAB_LANG": "en", "LANGUAGE": "es"}, "en"),
])
def test_the_language_is_chosen_as_gettext_does_with_lab_lang_first(env, expected):
    assert i18n.from_environment(env) == expected


def test_an_unknown_lab_lang_says_so_in_one_line_and_speaks_english(capsys):
    assert i18n.from_environment({"LAB_LANG": "klingon"}) == "en"
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "LAB_LANG=es" in err[0]


def test_set_language_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("LAB_LANG", "en")
    try:
        i18n.set_language("es")
        assert i18n.language() == "es"
    finally:
        i18n.set_language(None)
    assert i18n.language() == "en"
    with pytest.raises(ValueError):
        i18n.set_language("fr")


# ------------------------------------------------------------------ the release's own language

@pytest.mark.parametrize("recorded, env, expected", [
    ("es\n", {}, "es"),                                        # a Spanish release, nothing set
    ("es\n", {"LANG": "C.UTF-8"}, "es"),                       # C names no language
    ("es\n", {"LANG": "fr_FR.UTF-8"}, "es"),                   # nor does one the lab lacks
    ("es\n", {"LANG": "en_US.UTF-8"}, "en"),                   # a locale that names one wins
    ("es\n", {"LAB_LANG": "en"}, "en"),
    ("es\n", {"LAB_LANG": "en", "LANG": "es_MX.UTF-8"}, "en"),
    ("en\n", {"LANG": "es_MX.UTF-8"}, "es"),
    ("klingon\n", {}, "en"),                                   # a broken record: English
    (None, {"LANG": "C.UTF-8"}, "en"),                         # the full repository: no record
])
def test_the_release_language_comes_after_lang_lab_lang_and_a_locale_that_names_one(tmp_path, recorded, env,
                                                                                   expected):
    record = tmp_path / "default-language"
    if recorded is not None:
        record.write_text(recorded, encoding="utf-8")
    assert i18n.from_environment(env, default=i18n.lab_default(record)) == expected


def test_lang_wins_over_the_release_language(monkeypatch):
    monkeypatch.setitem(i18n._defaults, i18n.DEFAULT_FILE, "es")
    monkeypatch.delenv("LAB_LANG", raising=False)
    for variable in i18n.GETTEXT_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    assert i18n.language() == "es"
    try:
        i18n.set_language("en")
        assert i18n.language() == "en"
    finally:
        i18n.set_language(None)


def test_the_full_repository_records_no_language():
    """Only a release records one (classroom/release.py): the repository speaks English."""
    assert not i18n.DEFAULT_FILE.exists()


# ------------------------------------------------------------------ argparse's own words

def test_argparse_speaks_every_word_it_can_show_in_spanish():
    """Every message of this Python's argparse.py has its Spanish in locale/es/LC_MESSAGES/argparse.po."""
    wanted = {m.id for m in catalogs.extract("argparse") if m.id}
    have = {m.id: m.string for m in catalogs.read("argparse") if m.id}
    assert wanted and wanted <= have.keys()
    assert all(have[m] for m in wanted)


def test_the_placeholder_check_sees_a_lost_percent_placeholder():
    assert catalogs.placeholders("argparse", "invalid choice: %(value)r (choose from %(choices)s)") == [
        "choices", "value"]
    assert catalogs.placeholders("argparse", "valor no válido: %(value)r") != catalogs.placeholders(
        "argparse", "invalid choice: %(value)r (choose from %(choices)s)")
    assert catalogs.placeholders("argparse", "unrecognized arguments: %s") == ["%"]


# ------------------------------------------------------------------ the Spanish glossary (issue 19)

# Each pattern is a form a native reader replaced (issue 19), with the lab's one word for it.
GLOSSARY = {
    r"suelo de ruido|piso de ruido|ruido irreducible|\bsuelo\b": "error irreducible (one term for the noise floor)",
    r"\bes hoy el\b": "es ahora el",
    r"se le indicó como": "se le indicaron como confiables",
    r"primero [\d.{}a-z]+; después": "termina primero el 1.3 y luego este",
    r"\bañad": "Agrega / agregar",
    r"versión en (?:es|\{lang\})\b": "versión en español",
    r"\blab\b": "laboratorio",
    r"(?<!\()\b(?-i:UI)\b(?!\))": "interfaz",
    r"por omisión|predeterminad|por default": "por defecto",
    r"conjunto de test|\bde test\b|\ben test\b|split de prueba|partición de prueba|datos de test": "conjunto de prueba",
}
SPANISH_DOCUMENTS = ("LAB.es.md", "README.es.md")
INLINE_CODE = re.compile(r"`[^`\n]*`|<https?://[^>]*>|\]\([^)]*\)")


def spanish_texts() -> list[tuple[str, str]]:
    """(where, text) for every Spanish text a student reads: the msgstr of each catalog (the lab's
    and the scripts'), and the Spanish documents' prose and code-block comments, without code."""
    from labkit.maintainers import translation

    found = []
    for domain in catalogs.LAB_DOMAINS:
        for entry in catalogs.read(domain):
            strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
            found += [(f"{domain}.po: {catalogs._ids(entry.id)[0]!r}", s) for s in strings if entry.id and s]
    found += [(f"solutions/locale/es.po: {entry.id!r}", entry.string)
              for entry in translation.read("es") if entry.id and entry.string]
    for name in SPANISH_DOCUMENTS:
        in_code = False
        for number, line in enumerate((ROOT / name).read_text(encoding="utf-8").splitlines(), 1):
            if line.lstrip().startswith(("```", "~~~")):
                in_code = not in_code
                continue
            kept = line.partition("#")[2] if in_code and "#" in line else ("" if in_code else line)
            found.append((f"{name}:{number}", INLINE_CODE.sub(" ", kept)))
    return found


@pytest.mark.parametrize("pattern", list(GLOSSARY))
def test_the_spanish_keeps_the_glossary(pattern):
    """The catalogs, LAB.es.md and README.es.md use the lab's one word for each idea (issue 19)."""
    texts = spanish_texts()
    assert len(texts) > 500
    found = [f"{where}: {text.strip()[:120]}" for where, text in texts
             if re.search(pattern, re.sub(r"\S*[/_=.]\S*", " ", INLINE_CODE.sub(" ", text)), re.I)]
    assert not found, f"say {GLOSSARY[pattern]!r}:\n" + "\n".join(found)


def test_the_glossary_check_finds_each_banned_form():
    for pattern, sample in zip(GLOSSARY, ["el suelo de ruido de 14 ms", "es hoy el modelo", "que no se le indicó como",
                                          "termina primero 1.3; después, este", "Añade un modelo",
                                          "Una versión en es", "los TODO del lab", "abre la UI",
                                          "por omisión", "las métricas de test"]):
        assert re.search(pattern, sample, re.I), (pattern, sample)
    assert not re.search(list(GLOSSARY)[7], "la interfaz (UI) de MLflow: python -m labkit ui", re.I)


# ------------------------------------------------------------------ merging two branches' catalogs

def test_two_branches_catalogs_merge_entry_by_entry(tmp_path):
    """Each side's new messages and its changed Spanish survive; a text both changed is fuzzy."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po, write_po

    def po(name: str, entries: dict[str, str]) -> Path:
        catalog = Catalog(locale="es", domain="grader")
        for message, spanish in entries.items():
            catalog.add(message, spanish, [("grader/core.py", len(message))])
        path = tmp_path / name
        with path.open("wb") as handle:
            write_po(handle, catalog)
        return path

    base = po("base.po", {"a": "uno", "b": "dos", "c": "tres"})
    ours = po("ours.po", {"a": "uno", "b": "DOS", "c": "tres (nuestro)", "mine": "mío"})
    theirs = po("theirs.po", {"a": "UNO", "b": "dos", "c": "tres (suyo)", "yours": "tuyo"})
    clashes = catalogs.merge(base, ours, theirs)
    with ours.open("rb") as handle:
        merged = {m.id: m for m in read_po(handle) if m.id}
    assert {k: m.string for k, m in merged.items()} == {
        "a": "UNO", "b": "DOS", "c": "tres (nuestro)", "mine": "mío", "yours": "tuyo"}
    assert merged["c"].fuzzy and not merged["a"].fuzzy
    assert len(clashes) == 1 and "'c'" in clashes[0]
