"""Load a student's logged scikit-learn model without ever unpickling it.

The one place where the grader turns stored bytes into a model. It reads the skops
file named in the model's MLmodel and loads it with the grader's own short list of
trusted types (whatever the MLmodel file says it trusts is ignored). A model saved
with pickle or cloudpickle is refused: unpickling runs arbitrary code.

skops warns that a crafted tree can still crash the process when it predicts; a
caller grading untrusted students can run the grader in a subprocess.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

# What the lab's three models need beyond skops' defaults: LinearRegression needs
# nothing, RandomForest and GradientBoosting need the tree structure.
TRUSTED_TYPES = ["sklearn.tree._tree.Tree"]
SKLEARN_FLAVOR = "sklearn"


class ModelNotLoadable(Exception):
    """A model the grader will not or cannot load; the message is the rationale."""


def load_sklearn_model(model, client=None, files: "ModelFiles | None" = None):
    """The estimator behind ``model``, loaded with skops and the grader's trusted types.

    ``model`` is a LoggedModel, a ModelVersion, or a URI: ``models:/m-<id>``,
    ``models:/<name>@<alias>`` or ``models:/<name>/<version>``. ``files`` are the
    model's files when the caller already opened them (they stay open).
    """
    if files is None:
        with ModelFiles(resolve_logged_model(model, client), client) as files:
            return load_sklearn_model(model, client, files)
    mlmodel = read_mlmodel(files)
    flavor = mlmodel.get("flavors", {}).get(SKLEARN_FLAVOR)
    if flavor is None:
        found = ", ".join(mlmodel.get("flavors", {})) or "none"
        raise ModelNotLoadable(f"expected an sklearn model, found flavors: {found}")
    serialization = flavor.get("serialization_format") or "pickle"
    if serialization != "skops":
        raise ModelNotLoadable(f"logged with {serialization}; the grader only loads skops")
    return _load_skops(files, flavor.get("pickled_model", ""))


def _load_skops(files: "ModelFiles", filename: str):
    path = files.path(filename)
    if path is None or not path.is_file():
        raise ModelNotLoadable(f"expected the skops file named in MLmodel, found {filename!r}")
    return FastModel(path)


def _load_with_skops(path: Path):
    """The model rebuilt by skops with the grader's trusted types (imports scikit-learn)."""
    import skops.io

    try:
        return skops.io.load(path, trusted=TRUSTED_TYPES)
    except skops.io.exceptions.UntrustedTypesFoundException as exc:
        raise ModelNotLoadable(f"the model holds types the grader does not trust ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - a broken file is the student's, not a crash
        raise ModelNotLoadable(f"its skops file cannot be loaded ({type(exc).__name__}: {exc})") from None


class FastModel:
    """A logged model that predicts with NumPy when it is one of the lab's three estimators.

    ``grader.skops_numpy`` reads the skops file's arrays and predicts as scikit-learn
    does, without importing it (~2.5 s saved). Anything it does not recognise, at
    load or at predict, goes to skops and scikit-learn, whose answer (or error) counts.
    """

    def __init__(self, path: Path) -> None:
        from grader import skops_numpy

        self.path = path
        self._real = None
        try:
            self._fast = skops_numpy.load(path)
        except skops_numpy.Unsupported:
            self._fast = None
            self.real()  # fails now, as loading did before, if skops refuses the file

    def real(self):
        if self._real is None:
            self._real = _load_with_skops(self.path)
        return self._real

    def predict(self, X):
        from grader import skops_numpy

        if self._fast is not None:
            try:
                return self._fast.predict(X)
            except skops_numpy.Unsupported:
                self._fast = None
        return self.real().predict(X)


def read_mlmodel(files: "ModelFiles") -> dict:
    """The model's MLmodel file, parsed (once per ModelFiles)."""
    import yaml

    if files.mlmodel is None:
        path = files.path("MLmodel")
        if path is None or not path.is_file():
            raise ModelNotLoadable("expected an MLmodel file in the logged model, found none")
        files.mlmodel = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return files.mlmodel


def resolve_logged_model(model, client=None):
    """A LoggedModel from a LoggedModel, a ModelVersion or a models:/ URI."""
    from mlflow import MlflowClient
    from mlflow.entities import LoggedModel
    from mlflow.entities.model_registry import ModelVersion

    if isinstance(model, LoggedModel):
        return model
    client = client or MlflowClient()
    if isinstance(model, ModelVersion):
        return _logged_model_of_version(model, client)
    uri = str(model)
    if not uri.startswith("models:/"):
        raise ModelNotLoadable(f"expected a models:/ URI, found {uri!r}")
    target = uri[len("models:/"):].strip("/")
    if target.startswith("m-") and "/" not in target and "@" not in target:
        return client.get_logged_model(target)
    if "@" in target:
        name, alias = target.split("@", 1)
        return _logged_model_of_version(client.get_model_version_by_alias(name, alias), client)
    name, _, version = target.rpartition("/")
    return _logged_model_of_version(client.get_model_version(name, version), client)


def _logged_model_of_version(version, client):
    return client.get_logged_model(model_id_of_version(version))


def model_id_of_version(version) -> str:
    """The id of the logged model a registered version was made from, or ModelNotLoadable."""
    model_id = getattr(version, "model_id", None)
    if not model_id and (version.source or "").startswith("models:/m-"):
        model_id = version.source[len("models:/"):].split("/")[0]
    if not model_id:
        raise ModelNotLoadable(f"expected version {version.version} to come from a logged model, "
                               f"found source {version.source!r}")
    return model_id


def logged_model_of_version(version, store):
    """The LoggedModel behind a registered version, read through the grader's store."""
    model_id = model_id_of_version(version)
    model = store.logged_model(model_id)
    if model is None:
        raise ModelNotLoadable(f"expected the logged model {model_id} behind version "
                               f"{version.version}, found none")
    return model


def local_path(location: str) -> Path | None:
    """The folder a ``file:`` URI (or a plain path) names on this disk, None for a remote one."""
    parsed = urlparse(location)
    if parsed.scheme == "file":
        return Path(url2pathname(parsed.path))
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and location[1:3] in (":/", ":\\")):
        return Path(location)  # a bare path, a Windows drive included ("C:/...")
    return None


class ModelFiles:
    """A logged model's files: read in place on this disk, else each one downloaded once.

    On a tracking server only the files the grader reads (MLmodel and the skops file)
    are downloaded, into a temporary folder that ``close()`` removes.
    """

    def __init__(self, logged, client=None) -> None:
        self.location = logged.artifact_location
        self.tracking_uri = client.tracking_uri if client is not None else None
        self.mlmodel: dict | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._repo = None
        self._listed: set[str] | None = None

    def path(self, name: str) -> Path | None:
        """The model file ``name`` on this disk, or None for a name that is not a plain file name."""
        if not name or Path(name).name != name or name in (".", ".."):
            return None
        local = local_path(self.location)
        if local is not None:
            return local / name
        return self._download(name)

    def _download(self, name: str) -> Path:
        if self._tmp is None:
            from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

            self._tmp = tempfile.TemporaryDirectory(prefix="lab-grader-model-", ignore_cleanup_errors=True)
            self._repo = get_artifact_repository(self.location, tracking_uri=self.tracking_uri)
            self._listed = {Path(f.path).name for f in self._repo.list_artifacts() if not f.is_dir}
        target = Path(self._tmp.name) / name
        if name in self._listed and not target.exists():
            # The file is known to exist: fetch it in one request (download_artifacts
            # would first list it to tell a file from a folder).
            self._repo._download_file(name, str(target))
        return target

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> "ModelFiles":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
