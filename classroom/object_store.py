"""The class's artifacts in S3-compatible object storage (MinIO, AWS S3, Ceph, ...).

``python -m classroom serve --artifacts s3://BUCKET/PREFIX`` keeps the artifacts proxied
(``mlflow server --serve-artifacts --artifacts-destination s3://BUCKET/PREFIX``): students
upload and download through the class server, with their own password, and never hold the
storage's keys. Only the server reads them, from its environment, as MLflow and boto3 do:
``MLFLOW_S3_ENDPOINT_URL`` (MinIO's address; unset for AWS S3), ``AWS_ACCESS_KEY_ID`` and
``AWS_SECRET_ACCESS_KEY`` (and ``AWS_DEFAULT_REGION`` where the storage wants one). They are
passed on to the server's environment only: never on a command line, in ``serve.json`` or a
log. Before the server starts, the bucket is checked, and created if missing; a storage that
does not answer, or refuses the keys, stops ``serve`` in one line.
"""

from __future__ import annotations

import os

from labkit.i18n import Domain

_, N_, _n = Domain("classroom").functions()

SCHEME = "s3://"
# What MLflow's S3 client reads beyond boto3's own AWS_* variables (the server's environment
# drops every other MLFLOW_ variable of the instructor's shell: classroom/server.py).
MLFLOW_S3_SETTINGS = ("MLFLOW_S3_ENDPOINT_URL", "MLFLOW_S3_IGNORE_TLS", "MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE")
# Storage credentials: no grading child, and no student, ever holds them (classroom/child.py).
CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
REGION = ("AWS_DEFAULT_REGION", "AWS_REGION")
TIMEOUT_S = 10


class StorageError(Exception):
    """The object storage cannot be used; the message is one line that names the fix."""


def is_object_store(location) -> bool:
    return str(location).startswith(SCHEME)


def artifact_location(text: str):
    """``--artifacts``'s value: an ``s3://`` URI as it is, else a folder (a Path)."""
    from pathlib import Path

    return text if is_object_store(text) else Path(text)


def bucket_and_prefix(uri: str) -> tuple[str, str]:
    bucket, _slash, prefix = uri[len(SCHEME):].partition("/")
    if not bucket:
        raise StorageError(_("--artifacts {uri} names no bucket: write s3://BUCKET or s3://BUCKET/FOLDER.", uri=uri))
    return bucket, prefix.strip("/")


def settings(environ=None) -> dict[str, str]:
    """The storage's settings in ``environ`` (default: this process's): its address, keys, region."""
    environ = os.environ if environ is None else environ
    return {key: environ[key] for key in (*MLFLOW_S3_SETTINGS, *CREDENTIALS, *REGION) if environ.get(key)}


def endpoint(storage: dict[str, str]) -> str:
    """Where the storage is, as said to the instructor (no key is in it)."""
    return storage.get("MLFLOW_S3_ENDPOINT_URL") or "AWS S3"


def client(storage: dict[str, str]):
    """A boto3 S3 client with ``storage``'s settings, failing fast (no retries)."""
    import boto3
    from botocore.config import Config

    style = storage.get("MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE") or "auto"
    ignore_tls = storage.get("MLFLOW_S3_IGNORE_TLS", "").lower() in ("1", "true", "yes")
    return boto3.client(
        "s3", endpoint_url=storage.get("MLFLOW_S3_ENDPOINT_URL") or None, verify=False if ignore_tls else None,
        aws_access_key_id=storage.get("AWS_ACCESS_KEY_ID"), aws_secret_access_key=storage.get("AWS_SECRET_ACCESS_KEY"),
        aws_session_token=storage.get("AWS_SESSION_TOKEN"),
        region_name=storage.get("AWS_DEFAULT_REGION") or storage.get("AWS_REGION"),
        config=Config(connect_timeout=TIMEOUT_S, read_timeout=TIMEOUT_S, retries={"max_attempts": 1},
                      s3={"addressing_style": style}))


def ensure_bucket(uri: str, storage: dict[str, str]) -> str:
    """Check the bucket of ``uri`` with ``storage``'s keys, creating it if missing:
    ``"exists"`` or ``"created"``; StorageError (one line) when that cannot be done."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    bucket, _prefix = bucket_and_prefix(uri)
    try:
        s3 = client(storage)
        try:
            s3.head_bucket(Bucket=bucket)
            return "exists"
        except ClientError as exc:
            if _status(exc) != 404:
                raise
        region = s3.meta.region_name
        options = ({"CreateBucketConfiguration": {"LocationConstraint": region}}
                   if region and region != "us-east-1" else {})
        try:
            s3.create_bucket(Bucket=bucket, **options)
        except ClientError as exc:
            if _code(exc) not in ("BucketAlreadyOwnedByYou",):  # a second server made it just now
                raise
        return "created"
    except NoCredentialsError:
        raise StorageError(_(
            "No keys for the object storage: export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
            "(for Docker: CLASS_S3_ACCESS_KEY and CLASS_S3_SECRET_KEY in deploy/class.env). "
            "See INSTRUCTORS.md, section 1.")) from None
    except ClientError as exc:
        if _status(exc) in (401, 403) or _code(exc) in ("InvalidAccessKeyId", "SignatureDoesNotMatch",
                                                          "AccessDenied"):
            raise StorageError(_(
                "The object storage at {endpoint} refused the keys for bucket '{bucket}' ({code}). Are "
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY right, and may they use that bucket?",
                endpoint=endpoint(storage), bucket=bucket, code=_code(exc) or _status(exc))) from None
        raise StorageError(_(
            "The object storage at {endpoint} answered {code} for bucket '{bucket}': {reason}",
            endpoint=endpoint(storage), code=_code(exc) or _status(exc), bucket=bucket, reason=_reason(exc))) from None
    except (BotoCoreError, ValueError) as exc:  # no connection, a timeout, a malformed endpoint
        raise StorageError(_(
            "The object storage at {endpoint} does not answer ({reason}). Is it running, and is "
            "MLFLOW_S3_ENDPOINT_URL right?", endpoint=endpoint(storage), reason=_reason(exc))) from None


def _status(exc) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def _code(exc) -> str:
    return str(exc.response.get("Error", {}).get("Code") or "")


def _reason(exc) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
