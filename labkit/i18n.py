"""The lab's own messages in English (the default) or Spanish, with the standard gettext.

Each package of the lab has its own catalog (a gettext *domain*): ``labkit``, ``grader``
and ``classroom``, in ``locale/es/LC_MESSAGES/DOMAIN.po`` (compiled next to it as ``.mo``).
A module takes the functions of its domain and marks its messages with them::

    from labkit.i18n import Domain
    _, N_, _n = Domain("grader").functions()

    print(_("Grading {tasks} in {uri}", tasks=names, uri=uri))      # translated now
    HINT = N_("call mlflow.set_experiment(EXPERIMENT_NAME)")          # translated when shown
    _n("{count} run not counted", "{count} runs not counted", late, count=late)

Messages use named ``{placeholders}`` filled after translation, never f-strings, so that
``python -m labkit.maintainers.catalogs update`` can extract them (test/test_catalogs.py
fails when a message has no Spanish text, or a catalog keeps one the code no longer has).

The language, first found wins:

1. ``set_language()``: a command's ``--lang es|en``;
2. ``LAB_LANG`` (Windows sets none of the next ones);
3. gettext's own ``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES`` and ``LANG``, the first one set, when
   it names a language of the lab (``es_MX.UTF-8`` means Spanish, ``en_US.UTF-8`` English);
   ``C``, ``POSIX`` or a language the lab lacks choose nothing;
4. the lab's own default: the language a student release was written in
   (``python -m classroom release DIR --lang es`` records it in ``locale/default-language``);
5. English.
"""

from __future__ import annotations

import gettext
import os
import sys
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LANGUAGES = ("en", "es")
DEFAULT = "en"
DEFAULT_FILE = LOCALE_DIR / "default-language"  # a release's language (classroom/release.py)
GETTEXT_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

_chosen: str | None = None
_warned: set[str] = set()
_catalogs: dict[tuple[str, str], gettext.NullTranslations] = {}
_defaults: dict[Path, str] = {}


def normalise(value: str) -> str | None:
    """``es_MX.UTF-8`` -> ``es``; ``C``, ``POSIX`` -> ``en``; a language the lab lacks -> None."""
    code = value.strip().split(".")[0].split("@")[0].replace("-", "_").split("_")[0].lower()
    if code in ("c", "posix"):
        return DEFAULT
    return code if code in LANGUAGES else None


def lab_default(path: Path | None = None) -> str:
    """The language this copy of the lab speaks when nothing else is asked: a release's, else English."""
    if path is None:
        if DEFAULT_FILE not in _defaults:  # read once: every message asks
            _defaults[DEFAULT_FILE] = lab_default(DEFAULT_FILE)
        return _defaults[DEFAULT_FILE]
    try:
        code = normalise(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return DEFAULT
    return code or DEFAULT


def from_environment(env=None, default: str | None = None) -> str:
    """The language the environment asks for: LAB_LANG, else gettext's variables, else ``default``
    (the lab's own default, ``lab_default()``, when not given)."""
    env = os.environ if env is None else env
    default = lab_default() if default is None else default
    lab = env.get("LAB_LANG", "").strip()
    if lab:
        code = normalise(lab)
        if code is None and lab not in _warned:
            _warned.add(lab)
            print(f"LAB_LANG={lab} is not a language of the lab ({' or '.join(LANGUAGES)}): "
                  f"using {default}; set LAB_LANG=es for Spanish", file=sys.stderr)
        return code or default
    for variable in GETTEXT_VARIABLES:
        value = env.get(variable, "").strip()
        if value:  # the first one set wins, as in gettext; LANGUAGE may list several
            for part in value.split(":"):
                if part.strip().split(".")[0].lower() in ("c", "posix"):
                    continue  # the C locale names no language
                code = normalise(part)
                if code:
                    return code
            return default
    return default


def set_language(code: str | None) -> None:
    """Speak ``code`` from now on (``--lang``); None goes back to the environment's choice."""
    global _chosen
    if code is not None and code not in LANGUAGES:
        raise ValueError(f"unknown language {code!r}: use one of {', '.join(LANGUAGES)}")
    _chosen = code


def language() -> str:
    return _chosen or from_environment()


def environment_for(language_code: str | None = None) -> dict[str, str]:
    """The variables a child process needs to speak the same language as this one."""
    return {"LAB_LANG": language_code or language()}


def catalog(domain: str, code: str | None = None) -> gettext.NullTranslations:
    code = code or language()
    key = (domain, code)
    if key not in _catalogs:
        if code == DEFAULT:
            _catalogs[key] = gettext.NullTranslations()
        else:
            _catalogs[key] = gettext.translation(domain, LOCALE_DIR, languages=[code], fallback=True)
    return _catalogs[key]


def _fill(text: str, values: dict) -> str:
    return text.format(**{k: str(v) if isinstance(v, Lazy) else v for k, v in values.items()}) if values else text


class Lazy:
    """A message translated when it is shown (``str()``), for texts made at import time."""

    __slots__ = ("domain", "message", "values")

    def __init__(self, domain: str, message: str, values: dict):
        self.domain, self.message, self.values = domain, message, values

    def __str__(self) -> str:
        return _fill(catalog(self.domain).gettext(self.message), self.values)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __add__(self, other) -> str:
        return str(self) + str(other)

    def __radd__(self, other) -> str:
        return str(other) + str(self)

    def __repr__(self) -> str:
        return f"Lazy({self.message!r})"

    def english(self) -> str:
        return _fill(self.message, self.values)


class Domain:
    """The gettext domain of one package of the lab."""

    def __init__(self, name: str):
        self.name = name

    # Positional-only (/): a message's own {count} or {message} is a placeholder like any other.
    def gettext(self, message: str, /, **values) -> str:
        return _fill(catalog(self.name).gettext(message), values)

    def lazy(self, message: str, /, **values) -> Lazy:
        return Lazy(self.name, message, values)

    def ngettext(self, singular: str, plural: str, count: int, /, **values) -> str:
        return _fill(catalog(self.name).ngettext(singular, plural, count), values)

    def functions(self):
        """``_`` (now), ``N_`` (when shown) and ``_n`` (with a plural) for this domain."""
        return self.gettext, self.lazy, self.ngettext


def text(value) -> str | None:
    """A message as shown now: a Lazy translated, a str or None as it is."""
    return None if value is None else str(value)


def speak_argparse() -> None:
    """argparse's own words (``usage:``, ``options:``, ``show this help message and exit``, its
    errors) in the lab's language, from the lab's ``argparse`` catalog
    (``locale/es/LC_MESSAGES/argparse.po``).

    argparse looks its words up with gettext's functions, bound as its module's ``_`` and
    ``ngettext``, each time it shows one, in gettext's global domain and the environment's
    locale; the lab's commands choose their language as above instead, so they point those two
    names at the lab's catalog (English: the words unchanged). Call it before building a parser.
    """
    import argparse

    argparse._ = _argparse_gettext
    argparse.ngettext = _argparse_ngettext


def early_language(argv: list[str] | None = None) -> None:
    """Speak the command line's ``--lang`` (``--lang es``, ``--lang=es``, before or after a
    command) from now on, read before the command's parser is made so that its help texts speak
    it too (``ui --lang es --help``), and argparse's own words (``usage:``, ``options:``, its
    errors). No ``--lang``, or a missing or wrong value: the environment's language (the full
    parser reports a wrong value). Every command of the lab reads its ``--lang`` early here.
    """
    import argparse

    speak_argparse()
    early = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    early.add_argument("--lang", nargs="?")  # a missing value: the real parser says so
    known, _rest = early.parse_known_args(argv)
    set_language(known.lang if known.lang in LANGUAGES else None)


def _argparse_gettext(message: str) -> str:
    return catalog("argparse").gettext(message)


def _argparse_ngettext(singular: str, plural: str, count: int) -> str:
    return catalog("argparse").ngettext(singular, plural, count)
