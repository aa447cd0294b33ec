"""An S3-compatible object storage for the tests: moto's standalone server, a real process
speaking the S3 API over HTTP on loopback (MinIO's server does not install from the package
registries; deploy/compose.yaml runs MinIO itself).

``with MotoS3() as s3: s3.storage`` gives the settings the class server reads
(MLFLOW_S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION).
With ``check_keys=True`` the server refuses every key it does not know (moto's IAM checks on
from the first request), as a MinIO given the wrong keys does.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

from labkit.net import answers, free_port, start_group, stop_tree, wait_until


class MotoS3:
    def __init__(self, check_keys: bool = False) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.check_keys = check_keys
        self.process: subprocess.Popen | None = None
        self.storage = {
            "MLFLOW_S3_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": "class" + secrets.token_hex(6),
            "AWS_SECRET_ACCESS_KEY": "storage-secret-" + secrets.token_urlsafe(18),
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def start(self) -> "MotoS3":
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MLFLOW_"))}
        if self.check_keys:
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"
        self.process = start_group([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   stdin=subprocess.DEVNULL)
        if wait_until(lambda: answers(self.url + "/moto-api/", timeout=2), 120,
                      unless=lambda: self.process.poll() is not None):
            return self
        assert self.process.poll() is None, "moto's server exited"
        self.stop()
        raise AssertionError("moto's server did not answer in 120 s")

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.url, aws_access_key_id=self.storage["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=self.storage["AWS_SECRET_ACCESS_KEY"], region_name="us-east-1")

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every object's key in the bucket under ``prefix``."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def stop(self) -> None:
        if self.process is not None:
            stop_tree(self.process)
            self.process = None

    def __enter__(self) -> "MotoS3":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
