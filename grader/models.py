"""Find a logged model's files and load it without ever unpickling it.

The one place where the grader turns stored bytes into a model. MLflow reads the
model's MLmodel file (``mlflow.models.Model.load``); skops rebuilds the estimator
with the lab's own short list of trusted types (``SKOPS_TRUSTED_TYPES`` in labkit/lab.py):
whatever the MLmodel file says it trusts is ignored, since a crafted model controls
that file. A model saved with pickle or cloudpickle is refused: unpickling runs
arbitrary code. skops warns that a crafted tree can still crash the process when it
predicts; the class gradebook grades each student in a process of its own.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import mlflow.artifacts
import skops.io
from mlflow.exceptions import MlflowException
from mlflow.models import Model
from skops.io.exceptions import UntrustedTypesFoundException

from grader.errors import quote
from labkit.lab import SKOPS_TRUSTED_TYPES
from labkit.i18n import Domain

_, N_, _n = Domain("grader").functions()

SKLEARN_FLAVOR = "sklearn"
MLMODEL = "MLmodel"


class ModelNotLoadable(Exception):
    """A model the grader will not or cannot load; the message is the rationale."""


class ModelFiles:
    """A logged model's files: read in place on this disk, else each one downloaded once.

    ``folder`` is the local store's folder: when the stored path of a local model no
    longer exists (the lab was moved or copied), the same path is looked for beside it.
    """

    def __init__(self, logged, tracking_uri: str | None = None, folder: Path | None = None) -> None:
        self.location = logged.artifact_location
        self.tracking_uri = tracking_uri
        self.local = local_path(self.location)
        if self.local is not None and not self.local.is_dir() and folder is not None:
            self.local = moved(self.local, folder) or self.local
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._mlmodel: Model | None = None

    def path(self, name: str) -> Path | None:
        """The model file ``name`` on this disk (None if absent, or not a plain file name)."""
        if not name or Path(name).name != name or name in (".", ".."):
            return None
        if self.local is not None:
            path = self.local / name
            return path if path.is_file() else None
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="lab-grader-model-", ignore_cleanup_errors=True)
        target = Path(self._tmp.name) / name
        if not target.exists():
            try:
                mlflow.artifacts.download_artifacts(
                    artifact_uri=f"{self.location.rstrip('/')}/{name}", dst_path=self._tmp.name,
                    tracking_uri=self.tracking_uri)
            except (MlflowException, OSError):
                return None
        return target if target.is_file() else None

    def mlmodel(self) -> Model:
        """The model's MLmodel file, read by MLflow; ModelNotLoadable when its files are missing."""
        if self._mlmodel is None:
            path = self.path(MLMODEL)
            if path is None:
                where = self.local if self.local is not None else self.location
                raise ModelNotLoadable(_("its files are missing: no {file} file at {where}", file=MLMODEL,
                                         where=where))
            self._mlmodel = Model.load(path)
        return self._mlmodel

    def stamp(self) -> tuple:
        """The state of the files on this disk (name, size, modification time); () for remote ones,
        which MLflow never rewrites under the same model id."""
        if self.local is None or not self.local.is_dir():
            return ()
        return tuple(sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns)
                            for p in self.local.iterdir() if p.is_file()))

    def has_signature(self) -> bool:
        signature = self.mlmodel().signature
        return signature is not None and signature.inputs is not None

    def load(self):
        """The estimator, rebuilt by skops with the lab's trusted types."""
        flavor = self.mlmodel().flavors.get(SKLEARN_FLAVOR)
        if flavor is None:
            found = ", ".join(self.mlmodel().flavors) or _("none")
            raise ModelNotLoadable(_("expected an sklearn model, found flavors: {found}", found=found))
        serialization = flavor.get("serialization_format") or "pickle"
        if serialization != "skops":
            raise ModelNotLoadable(_("logged with {format}; the grader only loads skops", format=serialization))
        filename = flavor.get("pickled_model", "")
        path = self.path(filename)
        if path is None:
            raise ModelNotLoadable(_("expected the skops file named in {file}, found no {name!r}", file=MLMODEL,
                                     name=filename))
        try:
            return skops.io.load(path, trusted=SKOPS_TRUSTED_TYPES)
        except UntrustedTypesFoundException as exc:
            raise ModelNotLoadable(_("the model holds types the grader does not trust ({error})",
                                     error=quote(str(exc)))) from None
        except Exception as exc:  # noqa: BLE001 - a broken file is the student's, not a crash
            raise ModelNotLoadable(_("its skops file cannot be loaded ({error})",
                                     error=quote(f"{type(exc).__name__}: {exc}"))) from None

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()


def local_path(location: str) -> Path | None:
    """The folder a ``file:`` URI (or a plain path) names on this disk, None for a remote one."""
    parsed = urlparse(location)
    if parsed.scheme == "file":
        return Path(url2pathname(parsed.path))
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and location[1:3] in (":/", ":\\")):
        return Path(location)  # a bare path, a Windows drive included ("C:/...")
    return None


def moved(path: Path, folder: Path) -> Path | None:
    """``path`` found beside the store's ``folder``: the longest tail of it that exists there."""
    parts = path.parts[1:]
    for start in range(len(parts)):
        candidate = folder.joinpath(*parts[start:])
        if candidate.is_dir():
            return candidate
    return None


def same_location(a: str, b: str) -> bool:
    """Two storage locations of a model that name the same folder."""
    pa, pb = local_path(a), local_path(b)
    if pa is not None and pb is not None:
        return pa.resolve() == pb.resolve()
    return a.rstrip("/") == b.rstrip("/")
