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

# What the lab's three models need beyond skops' defaults: LinearRegression needs
# nothing, RandomForest and GradientBoosting need the tree structure.
TRUSTED_TYPES = ["sklearn.tree._tree.Tree"]
SKLEARN_FLAVOR = "sklearn"


class ModelNotLoadable(Exception):
    """A model the grader will not or cannot load; the message is the rationale."""


def load_sklearn_model(model, client=None):
    """The estimator behind ``model``, loaded with skops and the grader's trusted types.

    ``model`` is a LoggedModel, a ModelVersion, or a URI: ``models:/m-<id>``,
    ``models:/<name>@<alias>`` or ``models:/<name>/<version>``.
    """
    logged = resolve_logged_model(model, client)
    with model_folder(logged, client) as folder:
        mlmodel = read_mlmodel(folder)
        flavor = mlmodel.get("flavors", {}).get(SKLEARN_FLAVOR)
        if flavor is None:
            found = ", ".join(mlmodel.get("flavors", {})) or "none"
            raise ModelNotLoadable(f"expected an sklearn model, found flavors: {found}")
        serialization = flavor.get("serialization_format") or "pickle"
        if serialization != "skops":
            raise ModelNotLoadable(f"logged with {serialization}; the grader only loads skops")
        return _load_skops(folder, flavor.get("pickled_model", ""))


def _load_skops(folder: Path, filename: str):
    import skops.io

    path = folder / filename
    if not filename or Path(filename).name != filename or not path.is_file():
        raise ModelNotLoadable(f"expected the skops file named in MLmodel, found {filename!r}")
    try:
        return skops.io.load(path, trusted=TRUSTED_TYPES)
    except skops.io.exceptions.UntrustedTypesFoundException as exc:
        raise ModelNotLoadable(f"the model holds types the grader does not trust ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - a broken file is the student's, not a crash
        raise ModelNotLoadable(f"its skops file cannot be loaded ({type(exc).__name__}: {exc})") from None


def read_mlmodel(folder: Path) -> dict:
    import yaml

    path = folder / "MLmodel"
    if not path.is_file():
        raise ModelNotLoadable("expected an MLmodel file in the logged model, found none")
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


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
    model_id = version.model_id
    if not model_id and (version.source or "").startswith("models:/m-"):
        model_id = version.source[len("models:/"):].split("/")[0]
    if not model_id:
        raise ModelNotLoadable(f"expected version {version.version} to come from a logged model, "
                               f"found source {version.source!r}")
    return client.get_logged_model(model_id)


class model_folder:  # noqa: N801 - used as `with model_folder(logged) as folder:`
    """The logged model's files: in place when they are on this disk, else downloaded."""

    def __init__(self, logged, client=None) -> None:
        self.location = logged.artifact_location
        self.tracking_uri = client.tracking_uri if client is not None else None
        self._tmp: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> Path:
        if urlparse(self.location).scheme in ("", "file"):
            from mlflow.utils.file_utils import local_file_uri_to_path

            return Path(local_file_uri_to_path(self.location))
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        self._tmp = tempfile.TemporaryDirectory(prefix="lab-grader-model-", ignore_cleanup_errors=True)
        repo = get_artifact_repository(self.location, tracking_uri=self.tracking_uri)
        return Path(repo.download_artifacts("", dst_path=self._tmp.name))

    def __exit__(self, *exc) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
