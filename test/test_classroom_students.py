"""One student at a time on the class server: reset, restore, deactivate, remove.

Real PostgreSQL and a real `mlflow server` (the class of test/classroom_world.py), the
instructor's commands as they type them, and what MlflowClient sees before and after. The
class of the xdist group "classroom-s3": its artifacts are in a bucket of moto's S3 server, so
every backup downloads them from the storage and every restore uploads them back (the same
client calls through the server's proxy as on a folder's class, where the other class tests run).
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from classroom_world import environment, log_one_model, write_roster
from grader.registry import todo_ids

TODOS = len(todo_ids())

pytestmark = [pytest.mark.xdist_group("classroom-s3"), pytest.mark.postgres]


def workspace_view(classroom, workspace: str) -> dict:
    """Everything MlflowClient shows of a workspace, with run and model ids replaced by what
    names them (a restore gives new ids; nothing else may change)."""
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    with environment(classroom.admin_env(MLFLOW_WORKSPACE=workspace)):
        client = MlflowClient(tracking_uri=classroom.url)
        labels, experiments = {}, {}
        for experiment in client.search_experiments(view_type=ViewType.ALL):
            runs = client.search_runs([experiment.experiment_id], run_view_type=ViewType.ALL)
            models = client.search_logged_models([experiment.experiment_id])
            for run in runs:
                labels[run.info.run_id] = f"run:{experiment.name}/{run.info.run_name}/{run.info.start_time}"
            for model in models:
                labels[model.model_id] = f"model:{labels.get(model.source_run_id)}/{model.name}"
            experiments[experiment.name] = (experiment, runs, models)

        def named(value):
            for old, new in labels.items():
                value = value.replace(old, new)
            return value

        def files(list_dir, path=None, seen=None):
            seen = [] if seen is None else seen
            for info in list_dir(path):
                if info.is_dir:
                    files(list_dir, info.path, seen)
                else:
                    seen.append((info.path, info.file_size))
            return sorted(seen)

        view = {"experiments": {}, "registered_models": {}}
        for name, (experiment, runs, models) in experiments.items():
            view["experiments"][name] = {
                "tags": experiment.tags, "stage": experiment.lifecycle_stage,
                "runs": {labels[r.info.run_id]: {
                    "status": r.info.status, "end": r.info.end_time, "stage": r.info.lifecycle_stage,
                    "params": {k: named(v) for k, v in r.data.params.items()},
                    "tags": {k: named(v) for k, v in r.data.tags.items()},
                    "metrics": {k: [(m.value, m.step, m.timestamp) for m in client.get_metric_history(
                        r.info.run_id, k)] for k in r.data.metrics},
                    "datasets": sorted((d.dataset.name, d.dataset.digest, d.dataset.source,
                                        tuple((t.key, t.value) for t in d.tags))
                                       for d in r.inputs.dataset_inputs),
                    "outputs": sorted((labels[o.model_id], o.step) for o in r.outputs.model_outputs),
                    "artifacts": files(lambda path, r=r: client.list_artifacts(r.info.run_id, path)),
                } for r in runs},
                "logged_models": {labels[m.model_id]: {
                    "status": str(m.status), "type": m.model_type, "params": m.params,
                    "tags": {k: named(v) for k, v in m.tags.items() if k != "mlflow.modelVersions"},
                    "metrics": sorted((x.key, x.value, x.step, x.timestamp, labels[x.run_id])
                                      for x in m.metrics or []),
                    "artifacts": files(lambda path, m=m: client.list_logged_model_artifacts(m.model_id, path)),
                } for m in models},
            }
        for model in client.search_registered_models():
            versions = client.search_model_versions(f"name = '{model.name}'")
            view["registered_models"][model.name] = {
                "tags": model.tags, "description": model.description, "aliases": model.aliases,
                "versions": sorted((v.version, named(v.source), labels.get(v.run_id), v.tags, v.status)
                                   for v in versions),
            }
    return view


def backup_folder(output: str) -> Path:
    return Path(re.search(r"Backup: (\S+)", output).group(1))


def grade_as_the_board_does(classroom, username: str) -> dict:
    """The board's grading of one student now (Gradebook.grade_student, as the read-only grading
    user the board signed in once: no gradebook run in between)."""
    from classroom.connection import read_env_file
    from classroom.gradebook import Gradebook
    from classroom.roster import Student

    grader = read_env_file(classroom.state / "grading.env")
    book = Gradebook(classroom.url, {**grader, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"},
                     classroom.folder / "board-after-reset")
    row, _outcome = book.grade_student(Student(username))
    return row


def test_reset_then_restore_brings_a_student_back_whole_and_refuses_a_workspace_that_is_not_empty(
        classroom, gradebook, tmp_path):
    """Does reset back up and empty a workspace past task 3, with the default (relative) state and
    backups folders; can the board grade the student right after it; does restore bring back
    exactly what MlflowClient saw; and does restore then refuse to mix the same backup into the
    workspace, which holds work again, in one line and changing nothing?"""
    before = workspace_view(classroom, "complete")
    assert len(before["experiments"]) == 5 and before["registered_models"], "a whole lab to round-trip"
    assert any(e["logged_models"] for e in before["experiments"].values()), "past task 3: logged models"
    assert gradebook[1]["complete"]["status"] == "graded"  # as the class's gradebook found them
    # As INSTRUCTORS.md types it: no --state, no --backups (.classroom/backups, relative to here).
    reset = classroom.classroom("reset", "complete", "--server", classroom.url, cwd=tmp_path)
    assert reset.returncode == 0, reset.stderr
    assert (tmp_path / backup_folder(reset.stdout)).is_dir()
    assert backup_folder(reset.stdout).parts[:2] == (".classroom", "backups")
    emptied = workspace_view(classroom, "complete")
    assert list(emptied["experiments"]) == ["Default"] and not emptied["registered_models"]
    assert not emptied["experiments"]["Default"]["runs"]
    graded = classroom.grade("complete")  # same password, nothing left to grade
    assert graded.returncode == 1 and f"Score: 0/{TODOS}" in graded.stdout, graded.stderr
    row = grade_as_the_board_does(classroom, "complete")  # the grading user's role came back too
    assert row["status"] == "graded" and row["total"] == 0, row

    restore = classroom.classroom("restore", "complete", "--server", classroom.url, cwd=tmp_path)
    assert restore.returncode == 0, restore.stderr
    assert workspace_view(classroom, "complete") == before
    graded = classroom.grade("complete")
    assert graded.returncode == 0 and f"Score: {TODOS}/{TODOS}" in graded.stdout, graded.stdout + graded.stderr

    # The same backup again, into the workspace that holds the work now (a test of its own made a
    # student's backup and work again for this: a reset, a script, two views).
    refused = classroom.classroom("restore", "complete", "--server", classroom.url,
                                  "--backup", str(backup_folder(reset.stdout)), cwd=tmp_path)
    assert refused.returncode == 2 and "not empty" in refused.stderr, refused.stdout + refused.stderr
    assert refused.stderr.strip().count("\n") == 0
    assert experiment_names(classroom, "complete") == list(before["experiments"])


def experiment_names(classroom, workspace: str) -> list[str]:
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    with environment(classroom.admin_env(MLFLOW_WORKSPACE=workspace)):
        return [e.name for e in MlflowClient(tracking_uri=classroom.url).search_experiments(view_type=ViewType.ALL)]


def _log_a_run(classroom, username: str) -> None:
    from mlflow import MlflowClient

    with environment(classroom.student_env(username)):
        client = MlflowClient(tracking_uri=classroom.url)
        run = client.create_run(client.create_experiment("notes"), run_name="first-try")
        client.log_metric(run.info.run_id, "rmse", 21.5)
        client.set_terminated(run.info.run_id)


def _can_read(classroom, env: dict) -> bool:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    with environment(env):
        try:
            return MlflowClient(tracking_uri=classroom.url).get_experiment_by_name("notes") is not None
        except MlflowException as exc:
            assert exc.get_http_status_code() in (401, 403), exc
            return False


def test_deactivate_keeps_a_students_runs_and_provision_makes_them_and_the_grading_user_again(classroom, gradebook):
    """Does deactivate lock a student out while keeping their runs, and provision let them back in?
    And (the same test: one gradebook grades both, the deactivated student and one whose grading
    user the server lost): a server started again on a new database (a throwaway one, a restored
    dump) has lost the grading user: a running board then answered every student "did not accept
    user 'grader'", and the next gradebook gave the grader a new password the board does not hold.
    Provision, run as the guide says after such a restart, makes the grader again with the password
    grading.env keeps, and the gradebook keeps that password: a board that runs grades again."""
    from mlflow import MlflowClient
    from mlflow.server import get_app_client

    from classroom.connection import read_env_file
    from classroom.server import signed_in_user
    from labkit.net import request, wait_until

    # Deactivate.
    roster = classroom.folder / "roster_paused.csv"
    write_roster(roster, ["paused"])
    provision = ["provision", "--roster", str(roster), "--server", classroom.url, "--out", str(classroom.connections)]
    assert classroom.classroom(*provision).returncode == 0
    _log_a_run(classroom, "paused")
    old = classroom.student_env("paused")
    assert _can_read(classroom, old)

    result = classroom.classroom("deactivate", "paused", "--server", classroom.url,
                                 "--state", str(classroom.state), "--connections", str(classroom.connections))
    assert result.returncode == 0, result.stderr
    assert not (classroom.connections / "paused.env").exists(), "the file's password is dead"
    assert not (classroom.connections / "messages" / "paused.txt").exists(), "and so is its message's"
    assert not _can_read(classroom, old)
    kept_runs = workspace_view(classroom, "paused")["experiments"]["notes"]["runs"]
    assert [run["metrics"]["rmse"][0][0] for run in kept_runs.values()] == [21.5], "their work is kept"

    # The grading user lost by the server.
    kept = read_env_file(classroom.state / "grading.env")["MLFLOW_TRACKING_PASSWORD"]
    with environment(classroom.admin_env()):
        get_app_client("basic-auth", tracking_uri=classroom.url).delete_user("grader")  # the server lost it
    provisioned = classroom.classroom("provision", "--roster", str(classroom.roster), "--server", classroom.url,
                                      "--out", str(classroom.connections), "--state", str(classroom.state))
    assert provisioned.returncode == 0, provisioned.stderr
    assert signed_in_user(classroom.url, "grader", kept) is not None
    with environment({"MLFLOW_TRACKING_USERNAME": "grader", "MLFLOW_TRACKING_PASSWORD": kept,
                      "MLFLOW_WORKSPACE": "complete"}):
        assert MlflowClient(tracking_uri=classroom.url).get_experiment_by_name("task1-baseline") is not None

    with environment(classroom.admin_env()):
        get_app_client("basic-auth", tracking_uri=classroom.url).delete_user("grader")
    # A worker that still holds the deleted user's sign-in answers 404 "not found", not 401: refused all the
    # same, never "the server has no sign-in".
    assert signed_in_user(classroom.url, "grader", kept) is None
    # A worker's sign-in cache (60 s) forgets the deleted user: then the server answers as a new one would.
    current = classroom.url + "/api/2.0/mlflow/users/current"
    assert wait_until(lambda: request("GET", current, auth=("grader", kept)).status_code == 401, 90)
    # A board that runs holds the kept password: until provision, its rows name the instructor's fix.
    from classroom.gradebook import Gradebook
    from classroom.roster import Student

    board_like = Gradebook(classroom.url, {"MLFLOW_TRACKING_USERNAME": "grader", "MLFLOW_TRACKING_PASSWORD": kept},
                           classroom.folder / "refused", state=classroom.state)
    row, _outcome = board_like.grade_student(Student("complete"))
    assert row["status"] == "cannot-grade", row
    assert "grading user 'grader'" in row["problems"] and "python -m classroom provision" in row["problems"], row
    assert "connection file" not in row["problems"], "the student's words, not the instructor's"

    # One gradebook: the grading user made again with its kept password, and the deactivated student graded.
    both = classroom.folder / "roster_grading_again.csv"
    write_roster(both, ["complete", "paused"])
    out = classroom.folder / "gradebook-again"
    book = classroom.classroom("gradebook", "--roster", str(both), "--server", classroom.url,
                               "--out", str(out), "--state", str(classroom.state))
    assert book.returncode == 0, book.stderr
    assert read_env_file(classroom.state / "grading.env")["MLFLOW_TRACKING_PASSWORD"] == kept
    rows = {row["student"]: row for row in csv.DictReader(open(out / "gradebook.csv", encoding="utf-8"))}
    assert rows["complete"]["status"] == "graded", rows  # read as the kept grader (a refused one: cannot-grade)
    row = rows["paused"]
    assert row["status"] == "graded" and row["flags"].startswith("deactivated on "), row
    summary = next(line for line in book.stderr.splitlines() if line.startswith("Graded "))
    flagged = re.search(r"solutions/: (.*) \(column flags\)", summary)
    assert flagged and flagged.group(1) == "complete", \
        f"a deactivation is not a run of the solutions (complete's are): {summary}"

    # Provision run again for the roster (a student added later) leaves them out, in one line...
    kept_out = classroom.classroom(*provision, "--state", str(classroom.state))
    assert kept_out.returncode == 0, kept_out.stderr
    assert "paused: not let back in (deactivated): `--reset-password paused` lets them back in" in kept_out.stdout
    assert not (classroom.connections / "paused.env").exists()
    assert "paused" in json.loads((classroom.state / "inactive.json").read_text()), "still deactivated"
    # ... and --reset-password lets them back in.
    again = classroom.classroom(*provision, "--state", str(classroom.state), "--reset-password", "paused")
    assert again.returncode == 0 and "paused: reactivated" in again.stdout, again.stdout
    assert "paused" not in json.loads((classroom.state / "inactive.json").read_text()), "no longer deactivated"
    new = classroom.student_env("paused")
    assert new["MLFLOW_TRACKING_PASSWORD"] != old["MLFLOW_TRACKING_PASSWORD"]
    assert _can_read(classroom, new)


def test_remove_backs_up_then_deletes_the_user_and_workspace_and_nothing_when_the_backup_cannot_be_written(
        classroom, tmp_path):
    """If the backup fails, does reset (or remove) stop before deleting anything? Does remove delete
    user, workspace and file after a backup (past task 3, default relative folders), and restore
    bring the work back?"""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException
    from mlflow.server import get_app_client

    roster = classroom.folder / "roster_leaver.csv"
    write_roster(roster, ["leaver"])
    assert classroom.classroom("provision", "--roster", str(roster), "--server", classroom.url,
                               "--out", str(classroom.connections)).returncode == 0
    log_one_model(classroom, "leaver")  # past task 3: a logged model
    before = workspace_view(classroom, "leaver")
    assert any(e["logged_models"] for e in before["experiments"].values())
    # The default (relative) state and backups folders, as INSTRUCTORS.md types the command.
    state = ["--server", classroom.url, "--connections", str(classroom.connections)]

    not_a_folder = tmp_path / "backups"
    not_a_folder.write_text("a file where the backups should go")
    for command in ("reset", "remove"):
        result = classroom.classroom(command, "leaver", *state, "--backups", str(not_a_folder), cwd=tmp_path)
        assert result.returncode == 2 and "nothing was deleted" in result.stderr, result.stderr
    assert workspace_view(classroom, "leaver") == before
    assert (classroom.connections / "leaver.env").exists()

    removed = classroom.classroom("remove", "leaver", *state, cwd=tmp_path)
    assert removed.returncode == 0, removed.stderr
    assert (tmp_path / backup_folder(removed.stdout)).is_dir()
    assert not (classroom.connections / "leaver.env").exists()
    assert not (classroom.connections / "messages" / "leaver.txt").exists()
    noted = json.loads((tmp_path / ".classroom" / "inactive.json").read_text())
    assert noted["leaver"]["status"] == "removed", "the gradebook and the board show them as removed"
    with environment(classroom.admin_env()):
        assert "leaver" not in {w.name for w in MlflowClient(tracking_uri=classroom.url).list_workspaces()}
        with pytest.raises(MlflowException):
            get_app_client("basic-auth", tracking_uri=classroom.url).get_user("leaver")

    provisioned = classroom.classroom("provision", "--roster", str(roster), "--server", classroom.url,
                                      "--out", str(classroom.connections), cwd=tmp_path)
    assert provisioned.returncode == 0, provisioned.stderr
    assert "leaver: not let back in (removed on " in provisioned.stdout, "a roster re-run makes no one removed again"
    with environment(classroom.admin_env()):
        assert "leaver" not in {w.name for w in MlflowClient(tracking_uri=classroom.url).list_workspaces()}

    restored = classroom.classroom("restore", "leaver", *state, cwd=tmp_path)
    assert restored.returncode == 0, restored.stderr
    assert "has no user on the server" in restored.stdout
    assert "leaver" not in json.loads((tmp_path / ".classroom" / "inactive.json").read_text())
    assert workspace_view(classroom, "leaver") == before


def test_a_student_deactivated_before_a_new_database_is_not_let_back_in(classroom):
    """A class started again on a new database (a throwaway one, say) has lost every user: does
    provision still leave out a student the instructor deactivated (the walk-through's `erin` was
    given a new password and message), as it leaves out one removed?"""
    from classroom import inactive

    roster = classroom.folder / "roster_gone.csv"
    write_roster(roster, ["gone"])
    inactive.mark(classroom.state, "gone", inactive.DEACTIVATED)  # as `deactivate` left it; no such user now
    try:
        done = classroom.classroom("provision", "--roster", str(roster), "--server", classroom.url,
                                   "--out", str(classroom.connections), "--state", str(classroom.state))
        assert done.returncode == 0, done.stderr
        assert "gone: not let back in (deactivated): `--reset-password gone` lets them back in" in done.stdout
        assert not (classroom.connections / "gone.env").exists(), "no password for a deactivated student"
    finally:
        inactive.clear(classroom.state, "gone")
