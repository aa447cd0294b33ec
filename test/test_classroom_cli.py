"""`python -m classroom`'s command line: help that answers at once, and arguments checked before
anything is done (no server needed)."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import pytest
import zygote

from classroom_world import ROOT, clean_env

COMMANDS = ["serve", "status", "provision", "gradebook", "board", "release", "reset", "deactivate",
            "remove", "restore", "audit"]


def classroom(*args: str, python: list[str] | None = None) -> subprocess.CompletedProcess:
    """``python -m classroom ARGS``: forked warm (test/zygote.py), or with interpreter options
    ``python`` (-X importtime: what a new interpreter imports is the subject) in a new interpreter."""
    env = clean_env(LAB_LANG="en")
    if python is None:
        return zygote.run(["-m", "classroom", *args], env, ROOT, timeout=120)
    return subprocess.run([sys.executable, *python, "-m", "classroom", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


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
    # ...and, when it has a default, that default (issue 21: `--timeout` and `--roster` said none)
    silent = [f"{name} {'/'.join(action.option_strings)}"
              for name, command in commands.choices.items() for action in command._actions
              if action.option_strings and action.nargs != 0 and action.default not in (None, [], "", argparse.SUPPRESS)
              and "default" not in action.help]
    assert silent == [], silent
def test_audit_reads_the_logs_of_both_servers_behind_one_address(tmp_path):
    """Two servers on one machine (INSTRUCTORS.md, "Two servers"): does `audit --state .classroom`
    list the denials of both servers' logs (.classroom/server-a, server-b) together, in time order,
    and does `--log` taken twice, or `--state` taken twice, do the same?"""
    from datetime import datetime, timedelta, timezone

    from classroom.audit import denial_line

    state = tmp_path / ".classroom"
    start = datetime(2026, 3, 14, 9, 0, tzinfo=timezone.utc)
    lines = {"server-a": [denial_line("eve", "ana", "GET", "/api/2.0/mlflow/runs/get", "run_id=a1", 403, start)],
             "server-b": [denial_line("eve", "ben", "GET", "/api/2.0/mlflow/runs/get", "run_id=b1",
                                      403, start + timedelta(minutes=1)),
                          denial_line("bob", "ana", "GET", "/api/2.0/mlflow/runs/get", "run_id=b2",
                                      403, start + timedelta(minutes=2))]}
    for server, denials in lines.items():
        (state / server).mkdir(parents=True)
        (state / server / "server.log").write_text("\n".join(denials) + "\n", encoding="utf-8")
    logs = [str(state / server / "server.log") for server in lines]
    for args in (["--state", str(state)], ["--log", logs[0], "--log", logs[1]],
                 ["--state", str(state / "server-a"), "--state", str(state / "server-b")]):
        done = classroom("audit", *args)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("3 denied requests from 2 user(s) in ") and all(log in done.stdout for log in logs)
        eve = done.stdout.split("eve: 2 denied requests", 1)[1].split("\n\n", 1)[0]
        assert eve.index("run_id=a1") < eve.index("run_id=b1"), done.stdout  # both servers, in time order
        assert "bob: 1 denied request" in done.stdout and "run_id=b2" in done.stdout
    missing = classroom("audit", "--log", logs[0], "--log", str(tmp_path / "nowhere.log"))
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1 and "nowhere.log" in missing.stderr


def test_status_lists_every_server_of_the_class(tmp_path):
    """Two servers' state folders under .classroom: does `status --state .classroom` describe both,
    say how many run, and exit 1 while one is down (one stopped cleanly, one that died)?"""
    import json

    state = tmp_path / ".classroom"
    (state / "server-a").mkdir(parents=True)  # stopped with Ctrl-C: serve.json gone, its config kept
    (state / "server-a" / "basic_auth.ini").write_text("[mlflow]\n", encoding="utf-8")
    (state / "server-b").mkdir()  # died: its record left behind, its process gone
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (state / "server-b" / "serve.json").write_text(json.dumps(
        {"url": "http://127.0.0.1:9", "server_pid": dead.pid, "started": 1.0, "log": "server.log"}), encoding="utf-8")
    (state / "connections").mkdir()  # not a server's folder
    for folder in (state, *state.iterdir()):
        folder.chmod(0o700)
    shown = classroom("status", "--state", str(state))
    assert shown.returncode == 1, shown.stderr
    assert shown.stdout.startswith(f"0 of 2 class servers recorded in {state} are running."), shown.stdout
    assert f"{state / 'server-a'}:\n  No class server is running from" in shown.stdout
    assert f"{state / 'server-b'}:\n  The class server recorded in" in shown.stdout and str(dead.pid) in shown.stdout
    assert "connections" not in shown.stdout
    one = classroom("status", "--state", str(state / "server-b"))
    assert one.returncode == 1 and one.stdout.startswith("The class server recorded in"), one.stdout


def test_a_bucket_folder_serves_one_class_only():
    """On moto's S3 server: is a bucket folder recorded as its first class's, accepted again for the
    same database (a restart, a second server), and refused in one line, naming a folder of its own,
    for another database (a new class, a database made again); is a folder with an earlier class's
    objects and no record refused for a database with no run, and taken over by one with runs?"""
    from classroom.bucket_owner import RECORD, _claim
    from classroom.object_store import StorageError
    from s3_storage import MotoS3

    with MotoS3() as s3:
        client = s3.client()
        client.create_bucket(Bucket="art")
        assert _claim("s3://art/class", client, 1000, 0, "db") == "recorded"
        assert f"class/{RECORD}" in s3.keys("art")
        assert _claim("s3://art/class", client, 1000, 7, "db") == "same"
        for created, runs in ((2000, 0), (2000, 9), (None, 0)):
            with pytest.raises(StorageError) as refused:
                _claim("s3://art/class", client, created, runs, "db")
            line = str(refused.value)
            assert "\n" not in line and "holds the artifacts of another class" in line, line
            assert re.search(r"--artifacts s3://art/class-\d{8}\)", line), line
        client.put_object(Bucket="art", Key="old/workspaces/alice/2/0123/artifacts/notes.txt", Body=b"old")
        with pytest.raises(StorageError) as refused:
            _claim("s3://art/old", client, 3000, 0, "db")
        assert "already holds artifacts" in str(refused.value) and f"old/{RECORD}" not in s3.keys("art")
        assert _claim("s3://art/old", client, 3000, 12, "db") == "taken over"
        assert _claim("s3://art/old", client, 3000, 12, "db") == "same"
        assert _claim("s3://art/elsewhere", client, 3000, 12, "db") == "no files"  # a class's runs, none here
        assert _claim("s3://art", client, 4000, 0, "db") == "recorded"  # other folders are not in the way
        assert RECORD in s3.keys("art")
