"""Denied requests, per student: ``python -m classroom audit``.

MLflow's access log says that a request got 403, not who sent it. So the class server's sign-in
(classroom/auth_guard.py) writes one more line to the server log for each request it signed in
and that was answered 403, after the answer is made::

    classroom-denied {"time": "2025-03-14T10:02:03+00:00", "user": "bob", "workspace": "alice",
                      "method": "GET", "path": "/api/2.0/mlflow/experiments/get-by-name",
                      "query": "experiment_name=task1-baseline", "status": 403}

(one line of JSON after the marker: a path cannot break it). A POST, PATCH or DELETE without a
query notes the ids and name its JSON body names instead (``run_id=...&experiment_id=...``). ``audit`` reads those lines back,
groups them per user, and prints each attempt with its time, method, path and workspace.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from labkit.i18n import Domain

_, N_, _n = Domain("classroom").functions()

MARKER = "classroom-denied "
LOG_FILE = "server.log"  # in the state folder `serve` was given (classroom/server.py)
# uvicorn's access line: 127.0.0.1:55530 - "GET /api/2.0/mlflow/runs/get?run_id=... HTTP/1.1" 403 Forbidden
ACCESS_403 = re.compile(r'"[A-Z]+ \S+ HTTP/[0-9.]+" 403\b')
# MLflow answers 403, not 404, when a registered model looked up by name does not exist: the
# grader and the task scripts look one up before task 4 made it. Such a lookup in the user's own
# workspace, or by the gradebook's read-only user, aims at nobody else: not listed as an attempt.
MODEL_LOOKUPS = {"/api/2.0/mlflow/registered-models/get", "/api/2.0/mlflow/registered-models/alias",
                 "/ajax-api/2.0/mlflow/registered-models/get", "/ajax-api/2.0/mlflow/registered-models/alias"}
GRADER_USERNAME = "grader"  # classroom/grading_user.py (not imported: audit needs no MLflow)


def denial_line(user: str, workspace: str | None, method: str, path: str, query: str, status: int,
                when: datetime | None = None) -> str:
    """The log line for one denied request (without its newline)."""
    moment = (when or datetime.now(timezone.utc)).astimezone(timezone.utc)
    record = {"time": moment.isoformat(timespec="seconds"), "user": user, "workspace": workspace,
              "method": method, "path": path, "query": query, "status": status}
    return MARKER + json.dumps(record, ensure_ascii=True)


@dataclass(frozen=True)
class Denial:
    time: datetime
    user: str
    workspace: str | None
    method: str
    path: str
    query: str

    @property
    def missing_model(self) -> bool:
        """A lookup of a registered model in one's own workspace (or by the grader): MLflow's 403
        for a model that does not exist yet, not an attempt on another student's work."""
        return (self.method == "GET" and self.path in MODEL_LOOKUPS
                and (self.user == GRADER_USERNAME or self.workspace in (None, self.user)))

    @property
    def tried(self) -> str:
        return f"{self.method} {self.path}" + (f"?{self.query}" if self.query else "")


def read_denials(log: Path, since: datetime | None = None) -> list[Denial]:
    """Every denial the log records (at or after ``since``), oldest first."""
    found = []
    with open(log, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            at = line.find(MARKER)
            if at < 0:
                continue
            try:
                record = json.loads(line[at + len(MARKER):])
                denial = Denial(datetime.fromisoformat(record["time"]), str(record["user"]),
                                record.get("workspace"), str(record["method"]), str(record["path"]),
                                str(record.get("query") or ""))
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short when the server stopped
            if since is None or denial.time >= since:
                found.append(denial)
    return sorted(found, key=lambda d: d.time)


def by_user(denials: list[Denial]) -> dict[str, list[Denial]]:
    """The denials grouped per user: the users with the most first, then by name."""
    groups: dict[str, list[Denial]] = {}
    for denial in denials:
        groups.setdefault(denial.user, []).append(denial)
    return dict(sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])))


def server_logs(states: list[Path]) -> list[Path]:
    """The logs of every class server started from ``states``: each folder's ``server.log`` and
    those of its subfolders (two servers on one machine: ``.classroom/server-a``, ``server-b``)."""
    found = []
    for state in states:
        found += [log for log in [state / LOG_FILE, *sorted(state.glob(f"*/{LOG_FILE}"))] if log.is_file()]
    return list(dict.fromkeys(found)) or [states[0] / LOG_FILE]


def report(logs: Path | list[Path], since: datetime | None = None) -> str:
    """What ``audit`` prints: one line when there is nothing to show, else a block per user. With
    several logs (two servers behind one address), their denials together, in time order."""
    logs = list(dict.fromkeys([logs] if isinstance(logs, Path) else logs))
    missing = [log for log in logs if not log.is_file()]
    if missing:
        return _("No server log at {log}: give --state the folder `serve` was given, or --log the log "
                 "itself.", log=missing[0])
    log = ", ".join(map(str, logs))  # what the messages name
    found = sorted((d for one in logs for d in read_denials(one, since)), key=lambda d: d.time)
    denials = [denial for denial in found if not denial.missing_model]
    lookups = len(found) - len(denials)
    left_out = _n("Not listed: {count} lookup of a registered model in the user's own workspace, or by the "
                  "grader, that MLflow answered 403 because the model does not exist yet.",
                  "Not listed: {count} lookups of a registered model in the user's own workspace, or by the "
                  "grader, that MLflow answered 403 because the model does not exist yet.",
                  lookups, count=lookups) if lookups else ""
    if not denials:
        if since is not None:
            return " ".join(filter(None, [_("No denied request in {log} since {since}.", log=log,
                                            since=_local(since)), left_out]))
        if lookups:
            return _("No denied request in {log}.", log=log) + " " + left_out
        unnamed = sum(_access_denials(one) for one in logs)
        if unnamed:
            return _n("No denied request in {log} says who sent it, but it holds {count} answer 403 from a "
                      "server started before this version of the lab: restart it (`serve`) to record who.",
                      "No denied request in {log} says who sent it, but it holds {count} answers 403 from a "
                      "server started before this version of the lab: restart it (`serve`) to record who.",
                      unnamed, log=log, count=unnamed)
        return _("No denied request in {log}.", log=log)
    groups = by_user(denials)
    lines = [_n("{count} denied request from {users} user(s) in {log}:",
                "{count} denied requests from {users} user(s) in {log}:",
                len(denials), count=len(denials), users=len(groups), log=log)]
    for user, attempts in groups.items():
        lines.append("")
        lines.append(_n("{user}: {count} denied request", "{user}: {count} denied requests",
                        len(attempts), user=user, count=len(attempts)))
        for denial in attempts:
            if denial.workspace:
                lines.append("  " + _("{time}  {tried}  (workspace {workspace})", time=_local(denial.time),
                                      tried=denial.tried, workspace=denial.workspace))
            else:
                lines.append("  " + "  ".join([_local(denial.time), denial.tried]))
    if left_out:
        lines += ["", left_out]
    return "\n".join(lines)


def _access_denials(log: Path) -> int:
    """How many requests MLflow's access log (no user) says were answered 403."""
    with open(log, encoding="utf-8", errors="replace") as handle:
        return sum(1 for line in handle if ACCESS_403.search(line))


def _local(moment: datetime) -> str:
    """A time as the instructor reads it: this computer's time zone, to the second."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %z")
