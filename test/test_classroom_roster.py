"""The class roster (classroom/roster.py): every row that cannot be used is refused in one line
that names the row and the fix, before anything is done on the server."""

from __future__ import annotations

import subprocess
import sys

import pytest

from classroom.roster import RosterError, Student, read_roster
from classroom_world import ROOT, clean_env

GOOD = "alice,Alice Adams,alice@school.example\n"
BAD_ROSTERS = {
    "a duplicate username": (GOOD + "alice,Alice Again,other@school.example\n", 3, "appears twice"),
    "a duplicate e-mail (any case)": (GOOD + "bob,Bob,ALICE@school.example\n", 3, "as alice on line 2"),
    "an unclosed quote": (GOOD + 'bob,"Bob Brown,bob@school.example\ncarol,Carol,carol@school.example\n', 3,
                          "never closed"),
    "an invalid e-mail": (GOOD + "bob,Bob,bob.school.example\n", 3, "is not an e-mail address"),
    "an e-mail without a domain": (GOOD + "bob,Bob,bob@school\n", 3, "is not an e-mail address"),
    "a comma in an unquoted name": (GOOD + "bob,Brown, Bob,bob@school.example\n", 3, "double quotes"),
    "a quote inside a quoted cell": (GOOD + 'bob,"Bob "B" Brown",bob@school.example\n', 3, "double quotes"),
    "a bad username": (GOOD + "Bob Brown,Bob,bob@school.example\n", 3, "cannot be a username"),
}


@pytest.mark.parametrize("text, line, words", BAD_ROSTERS.values(), ids=list(BAD_ROSTERS))
def test_a_bad_row_is_refused_naming_its_line(tmp_path, text, line, words):
    """Is a roster with a row that cannot be used refused in one line naming that row and the fix?"""
    roster = tmp_path / "roster.csv"
    roster.write_text("username,name,email\n" + text, encoding="utf-8")
    with pytest.raises(RosterError) as refused:
        read_roster(roster)
    message = str(refused.value)
    assert f"{roster}, line {line}" in message and words in message and "\n" not in message


def test_a_good_roster_reads_quoted_names_blank_lines_and_missing_emails(tmp_path):
    """Are quoted names (a comma, doubled quotes), blank lines and an empty e-mail all fine?"""
    roster = tmp_path / "roster.csv"
    roster.write_text('username,name,email\n"alice","Adams, Alice",alice@school.example\n\n'
                      'bob,"Bob ""B"" Brown",\ncarol,Carol\n', encoding="utf-8")
    assert read_roster(roster) == [Student("alice", "Adams, Alice", "alice@school.example"),
                                   Student("bob", 'Bob "B" Brown', ""), Student("carol", "Carol", "")]


def test_the_commands_refuse_a_bad_roster_before_the_server(tmp_path):
    """Does `provision` with a duplicate e-mail say so in one line (exit 2), before it signs in?"""
    roster = tmp_path / "roster.csv"
    roster.write_text("username,name,email\n" + GOOD + "bob,Bob,alice@school.example\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "classroom", "provision", "--roster", str(roster),
                           "--server", "http://127.0.0.1:9"], cwd=ROOT, env=clean_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0, done.stderr
    assert "line 3" in done.stderr and "alice@school.example" in done.stderr
