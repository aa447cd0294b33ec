"""The Spanish catalogs hold every message the code marks, and nothing else (issue 14).

Fails when a message has no Spanish text, when a catalog keeps a message the code no
longer has, when a translation's {placeholders} differ from the English ones, when a .mo
is older than its .po, or when a message is written as an f-string (Babel cannot extract it).
"""

from __future__ import annotations

import pytest

from labkit import i18n
from labkit.maintainers import catalogs


def test_every_message_is_a_plain_string_with_named_placeholders():
    assert catalogs.f_string_messages() == []


def test_the_catalogs_are_in_step_with_the_code():
    assert catalogs.problems() == []


@pytest.mark.parametrize("domain", ["grader", "labkit", "classroom"])
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
