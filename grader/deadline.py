"""The deadline of ``--as-of TIME``: grade only what was in the store by then.

TIME is ISO 8601: ``2025-03-14T23:59``, ``2025-03-14 23:59:30``, ``2025-03-14`` (midnight),
or with an offset, ``2025-03-14T23:59:00+01:00`` / ``2025-03-14T22:59Z``. Without an offset
it is read in this computer's local time zone (the ``TZ`` environment variable, else the
system's), as an instructor typing their own deadline means it; give the offset to make
it mean the same instant on every computer.

What counts (grader/store.py applies it, so every check sees the same world):

- a run counts when it ended at or before the deadline (MLflow's ``end_time``); a run
  started after it, or still running at it, does not;
- a logged model counts with the run that logged it;
- a registered model's version counts when it was created by then
  (``ModelVersion.creation_timestamp``); its stage counts only if the version was not
  changed after the deadline (``last_updated_timestamp``), since MLflow keeps no history
  of stages;
- MLflow 3.17 records no time for an alias (the ``registered_model_aliases`` table holds
  name, alias and version only): an alias counts when the version it points to counts.
  An alias moved after the deadline between two versions made before it is seen where
  it points now.

Run times come from the computer that logged the run (the student's clock); registry times
from the tracking server's. Nothing stops a student from logging a run with a made-up
time (``MlflowClient.create_run(start_time=...)``): the deadline makes grades repeatable,
it is not a lock.
"""

from __future__ import annotations

from datetime import datetime

from labkit.i18n import Domain

_, N_, _n = Domain("grader").functions()

FORMAT = N_("ISO 8601, e.g. 2025-03-14T23:59 (this computer's time zone) "
            "or 2025-03-14T23:59:00+01:00")  # a help text made at import: translated when shown


class BadDeadline(ValueError):
    """A value of --as-of that is not an ISO 8601 time; the message names the format."""


def parse_deadline(text: str) -> datetime:
    """The instant ``text`` names, time-zone aware (local time when it names no offset)."""
    value = text.strip()
    if value[-1:] in ("Z", "z"):  # Python 3.10's fromisoformat does not read "Z"
        value = value[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadDeadline(_("--as-of {value!r} is not a time. Use {format}.", value=text, format=FORMAT)) from None
    return moment.astimezone() if moment.tzinfo is None else moment


def to_millis(moment: datetime) -> int:
    """MLflow's unit for times: milliseconds since the epoch."""
    return int(moment.timestamp() * 1000)


def shown(moment: datetime) -> str:
    """``2025-03-14T23:59:00+01:00``: the deadline as it is reported, offset included."""
    return moment.isoformat(timespec="seconds")
