"""One class per bucket folder: ``serve --artifacts s3://BUCKET/FOLDER`` refuses a folder that holds
another class's artifacts.

MLflow keeps an experiment's files under ``FOLDER/workspaces/<student>/<experiment id>/`` and
numbers experiments from 1 in each new database. A new class (or the same class after its
database was made again, e.g. ``--throwaway-postgres`` started twice) pointed at a folder an
earlier class used gives a student with an earlier student's username the same experiment
folders: the old runs' files sit among theirs, and listing their experiment's artifacts through
the server shows, and lets them download, the earlier student's models and figures. Nothing in
MLflow's database says which objects are whose.

So the first server of a class writes ``FOLDER/classroom-class.json``, naming its database (when
MLflow created it: the ``Default`` experiment's creation time, kept by a dump and its restore),
and every later start compares: the same database goes on (a restart, the second of two
servers); another one is refused in one line that names the fix (a folder of its own for the new
class, or the old folder emptied). A folder of a class served before this check existed (objects,
no record) is taken over when the database holds runs, and refused when it holds none (a new
class on an old folder).
"""

from __future__ import annotations

import json
import time

from classroom import object_store
from classroom.object_store import StorageError
from labkit.i18n import Domain

_, N_, _n = Domain("classroom").functions()

RECORD = "classroom-class.json"


def database_identity(database_uri: str) -> tuple[int | None, int]:
    """(when MLflow created this database, in ms since the epoch; how many runs it holds)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(database_uri, poolclass=NullPool, connect_args={"connect_timeout": 10})
    try:
        with engine.connect() as connection:
            created = connection.execute(text("SELECT creation_time FROM experiments WHERE experiment_id = 0")).scalar()
            runs = connection.execute(text("SELECT count(*) FROM runs")).scalar()
    finally:
        engine.dispose()
    return (int(created) if created is not None else None), int(runs or 0)


def claim(uri: str, storage: dict[str, str], database_uri: str, database_shown: str) -> str:
    """Make sure the folder of ``uri`` is this database's class: ``"recorded"`` (first start),
    ``"same"`` (its record names this database), ``"taken over"`` (a class from before the record),
    ``"no files"`` (recorded for a database with runs: the wrong folder?); StorageError (one line)
    when it holds another class's artifacts."""
    from botocore.exceptions import BotoCoreError, ClientError
    from sqlalchemy.exc import SQLAlchemyError

    try:
        created, runs = database_identity(database_uri)
    except SQLAlchemyError as exc:
        raise StorageError(_("Could not read the class's database to check that {uri} is this class's "
                             "({reason}). Is CLASS_DATABASE_URI right?", uri=uri,
                             reason=(str(exc).strip().splitlines() or [type(exc).__name__])[0][:200])) from None
    try:
        return _claim(uri, object_store.client(storage), created, runs, database_shown)
    except ClientError as exc:
        raise StorageError(_(
            "The object storage at {endpoint} answered {code} for bucket '{bucket}': {reason}",
            endpoint=object_store.endpoint(storage), code=object_store._code(exc) or object_store._status(exc),
            bucket=object_store.bucket_and_prefix(uri)[0], reason=object_store._reason(exc))) from None
    except BotoCoreError as exc:
        raise StorageError(_(
            "The object storage at {endpoint} does not answer ({reason}). Is it running, and is "
            "MLFLOW_S3_ENDPOINT_URL right?", endpoint=object_store.endpoint(storage),
            reason=object_store._reason(exc))) from None


def _claim(uri: str, s3, created: int | None, runs: int, database_shown: str) -> str:
    bucket, prefix = object_store.bucket_and_prefix(uri)
    key = f"{prefix}/{RECORD}" if prefix else RECORD
    record = _read(s3, bucket, key)
    mine = {"database_created": created, "database": database_shown,
            "first_served": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    if record is not None:
        if record.get("database_created") == created:
            return "same"
        raise StorageError(_(
            "{uri} holds the artifacts of another class (its database was made {then}; this server's, {now}): "
            "a student with an earlier student's username would see their files. Give this class a folder "
            "of its own (--artifacts {suggestion}), or empty {uri} once you have kept what you need. "
            "See INSTRUCTORS.md, section 1.", uri=uri, then=_when(record.get("database_created")),
            now=_when(created), suggestion=_suggestion(uri)))
    held = _holds_objects(s3, bucket, prefix)
    if held and runs == 0:
        raise StorageError(_(
            "{uri} already holds artifacts, and this server's database holds no run: a new class there "
            "would mix its files with an earlier class's, and a student with an earlier student's "
            "username would see their files. Give this class a folder of its own (--artifacts "
            "{suggestion}), or empty {uri} once you have kept what you need. See INSTRUCTORS.md, "
            "section 1.", uri=uri, suggestion=_suggestion(uri)))
    s3.put_object(Bucket=bucket, Key=key, Body=(json.dumps(mine, indent=2) + "\n").encode("utf-8"),
                  ContentType="application/json")
    if held:
        return "taken over"
    return "recorded" if runs == 0 else "no files"  # a class with runs, none of their files here


def no_files_warning(uri: str) -> str:
    """What ``serve`` says when a class with runs starts on an empty folder (``claim``'s "no files")."""
    return _("Warning: this class's database holds runs, but {uri} holds none of their files: is --artifacts "
             "the folder the class was started with (with two servers, the other server's)? Models logged "
             "before would not load.", uri=uri)


def _read(s3, bucket: str, key: str) -> dict | None:
    from botocore.exceptions import ClientError

    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if object_store._status(exc) == 404 or object_store._code(exc) in ("NoSuchKey", "404"):
            return None
        raise
    try:
        record = json.loads(body)
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def _holds_objects(s3, bucket: str, prefix: str) -> bool:
    """Any student's object in the folder (MLflow's ``workspaces/<student>/...``), where a new class's
    files would land among them."""
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/workspaces/" if prefix else "workspaces/", MaxKeys=1)
    return bool(listed.get("Contents"))


def _when(created) -> str:
    if not isinstance(created, (int, float)):
        return _("at an unknown time")
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(created / 1000))


def _suggestion(uri: str) -> str:
    """A folder of its own for the new class: FOLDER-<today>, or class-<today> in a bare bucket."""
    bucket, prefix = object_store.bucket_and_prefix(uri)
    today = time.strftime("%Y%m%d")
    return f"{object_store.SCHEME}{bucket}/{prefix}-{today}" if prefix else f"{object_store.SCHEME}{bucket}/class-{today}"
