"""`python -m classroom`'s command line: help that answers at once, and arguments checked before
anything is done (no server needed)."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import pytest

from classroom_world import ROOT, clean_env

COMMANDS = ["serve", "status", "provision", "gradebook", "board", "release", "reset", "deactivate",
            "remove", "restore", "audit"]


def classroom(*args: str, **options) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *options.pop("python", []), "-m", "classroom", *args], cwd=ROOT,
                          env=clean_env(LAB_LANG="en"), capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_imports_no_mlflow(command):
    """Does `COMMAND --help` answer without importing MLflow or scikit-learn (seconds of imports)?"""
    shown = classroom(command, "--help", python=["-X", "importtime"])
    assert shown.returncode == 0 and "usage:" in shown.stdout, shown.stderr[-2000:]
    imported = set(re.findall(r"\|\s+(\S+)$", shown.stderr, re.M))
    assert imported and not {m for m in imported if m.split(".")[0] in ("mlflow", "sklearn", "pandas")}


def test_status_imports_no_scikit_learn(tmp_path):
    """Does `status` answer without importing scikit-learn, pandas or MLflow? The class commands take
    the lab's names from labkit/lab.py, which imports scikit-learn only to re-fit (seconds of imports)."""
    shown = classroom("status", "--state", str(tmp_path / ".classroom"), python=["-X", "importtime"])
    assert "No class server is running" in shown.stdout + shown.stderr, shown.stderr[-2000:]
    imported = set(re.findall(r"\|\s+(\S+)$", shown.stderr, re.M))
    assert "labkit.lab" in imported
    assert not {m for m in imported if m.split(".")[0] in ("mlflow", "sklearn", "pandas")}


def test_serve_and_roster_options_say_what_they_are_and_their_default():
    """Do `serve --help`'s --host, --port, --workers, --artifacts and each --roster have a description
    and (for serve's) their default?"""
    shown = options_of("serve")
    for option, default in (("--host", "127.0.0.1"), ("--port", "5000"), ("--workers", "2"),
                            ("--artifacts", "class-artifacts")):
        described = re.search(re.escape(option) + r" \S+ (.*?)(?= --|$)", shown)
        assert described and f"default: {default}" in described.group(1), option
    for command in ("provision", "gradebook", "board"):
        text = options_of(command)
        assert re.search(r"--roster ROSTER \w", text) and "username" in text, command


def options_of(command: str) -> str:
    """The options part of `COMMAND --help`, on one line."""
    shown = " ".join(classroom(command, "--help").stdout.split())
    return shown[shown.index("options:"):]


@pytest.mark.parametrize("command", ["gradebook", "provision", "board", "reset"])
def test_a_server_without_its_scheme_is_named(command, tmp_path):
    """Is `--server 127.0.0.1:31989` (no http://) refused in one line that names the missing scheme?"""
    roster = tmp_path / "roster.csv"
    roster.write_text("username\nalice\n", encoding="utf-8")
    args = {"gradebook": ["--roster", str(roster), "--out", str(tmp_path / "grades")],
            "provision": ["--roster", str(roster)], "board": ["--roster", str(roster)],
            "reset": ["alice"]}[command]
    args = [*args, "--server", "127.0.0.1:31989"]
    done = classroom(command, *args)
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0, done.stderr
    assert "http://127.0.0.1:31989" in done.stderr and "does not answer" not in done.stderr


def test_every_option_of_every_command_says_what_it_is():
    """Has each option of each command a help text (argparse shows a bare `--out OUT` otherwise)?"""
    from classroom.cli import build_parser

    parser = build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert sorted(commands.choices) == sorted(COMMANDS)
    bare = [f"{name} {'/'.join(action.option_strings) or action.dest}"
            for name, command in commands.choices.items() for action in command._actions
            if not action.help]
    assert bare == [], bare
