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


def test_a_due_column_gives_a_student_their_own_deadline(tmp_path):
    """Does the roster's `due` give a student their own (aware) deadline, empty meaning the class's,
    and is a due that is not a time refused naming its row?"""
    from datetime import datetime, timezone

    roster = tmp_path / "roster.csv"
    roster.write_text("username,name,email,due\nalice,Alice,alice@school.example,2025-03-16T23:59Z\n"
                      "bob,Bob,bob@school.example,\n", encoding="utf-8")
    alice, bob = read_roster(roster)
    assert alice.due == datetime(2025, 3, 16, 23, 59, tzinfo=timezone.utc) and bob.due is None
    roster.write_text("username,due\nalice,next monday\n", encoding="utf-8")
    with pytest.raises(RosterError) as refused:
        read_roster(roster)
    assert f"{roster}, line 2: due 'next monday' is not a time" in str(refused.value)


def test_the_gradebook_grades_a_student_with_an_extension_as_of_their_own_deadline(tmp_path):
    """Is a student's own deadline (roster `due`) the one their grading uses, over the class's --as-of?"""
    from datetime import datetime, timezone

    from classroom.gradebook import Gradebook

    class_deadline = datetime(2025, 3, 14, 23, 59, tzinfo=timezone.utc)
    extension = datetime(2025, 3, 21, 23, 59, tzinfo=timezone.utc)
    book = Gradebook("http://127.0.0.1:9", {}, tmp_path, as_of=class_deadline)
    assert book.deadline_of(Student("alice", due=extension)) == extension
    assert book.deadline_of(Student("bob")) == class_deadline


def test_a_removed_student_is_shown_as_removed_not_graded(tmp_path):
    """Is a student `remove` noted shown as removed (no grade, where the work is), without grading
    a workspace that is gone; and does `provision` or `restore` taking the note away end it?"""
    from classroom import inactive
    from classroom.gradebook import Gradebook
    from classroom.lms import write_lms_files

    state = tmp_path / "state"
    inactive.mark(state, "leaver", inactive.REMOVED)
    inactive.mark(state, "paused", inactive.DEACTIVATED)
    assert (state / inactive.FILE).stat().st_mode & 0o077 == 0, "private"
    book = Gradebook("http://127.0.0.1:9", {}, tmp_path / "grades", state=state)
    student = Student("leaver", "Lee", "lee@school.example")
    row, _outcome = book.grade_student(student)
    assert row["status"] == "removed" and row["problems"].startswith("removed on ")
    assert "python -m classroom restore" in row["problems"]
    write_lms_files(tmp_path / "grades", [student], [row])
    moodle = (tmp_path / "grades" / "moodle.csv").read_text(encoding="utf-8").splitlines()
    assert moodle[1].startswith("lee@school.example,,"), "no grade, never a zero"
    inactive.clear(state, "leaver")
    assert set(inactive.read(state)) == {"paused"}


def test_a_note_changes_the_boards_fingerprint():
    """Does a deactivation (or its end) make the board grade the student again, though their
    workspace did not change?"""
    from classroom.board import noted
    from classroom.board_changes import Fingerprint

    seen = Fingerprint("abc")
    assert noted(seen, None) == seen
    assert noted(seen, {"status": "deactivated", "since": "2025-03-14 10:00"}).digest != seen.digest
