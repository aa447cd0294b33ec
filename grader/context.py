"""What the checks share while grading: the store, the lab's split, re-fits and loaded models,
each built once per grading."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable

import numpy as np

from labkit import lab
from grader.errors import Fail, quote
from grader.models import ModelFiles, ModelNotLoadable
from grader.store import Snapshot
from labkit.i18n import Domain

_, N_, _n = Domain("grader").functions()


class Kept:
    """What one grade may hand the next in a process that grades again and again (grader/watch.py):
    the store's snapshot and its client, the lab's split, re-fits (by model type, params and the
    data file) and loaded models (by model id and the state of its files). Each is a pure function
    of its key, so a grade that uses them gives the verdict a fresh grade gives."""

    SIZE = 64  # re-fits and models kept, the least recently used dropped first

    def __init__(self, items: dict | None = None, known: dict | None = None) -> None:
        self.snapshot = Snapshot()
        self._items: OrderedDict[Any, Any] = OrderedDict(items or {})  # e.g. ``warm()``'s, made beforehand
        # What the checks read off logged models (``ModelFacts``), by ``model_key``: ``known`` is handed
        # in (the class's grading children get their student's own, from that student's last grade);
        # ``used`` is what this process's grades read, to hand back.
        self.known: dict = dict(known or {})
        self.used: dict = {}

    def facts(self, key: tuple) -> dict:
        """The facts kept for the model ``key`` (a dict the caller fills in as it learns them)."""
        if key not in self.used:
            given = self.known.get(key) or {}
            self.used[key] = {**given, PREDICTIONS: dict(given.get(PREDICTIONS) or {})}
        return self.used[key]

    def get(self, key, build: Callable[[], Any]) -> Any:
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        value = self._items[key] = build()
        while len(self._items) > self.SIZE:
            self._items.popitem(last=False)
        return value

    def close(self) -> None:
        self._items.clear()
        self.snapshot.close()


class Context:
    def __init__(self, store, kept: Kept | None = None) -> None:
        self.store = store
        self.kept = kept
        self._memo: dict[Any, Any] = {}
        self._files: list[ModelFiles] = []

    def memo(self, key, build: Callable[[], Any]) -> Any:
        """``build()`` once per grading; later calls return the same value."""
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]

    def keep(self, key, build: Callable[[], Any]) -> Any:
        """``build()`` once per grading, or once per process when grades hand each other ``Kept``."""
        if self.kept is None:
            return self.memo(key, build)
        return self.memo(key, lambda: self.kept.get(key, build))

    def split(self) -> lab.Split:
        """The lab's train/test split, made as the task scripts make it."""
        return self.keep(("split", data_stamp()), lab.split_data)

    def refit(self, model_type: str, hyperparams: dict, where: str):
        """A model of ``model_type`` fitted on the lab's training split (once per set of params)."""
        model = self.keep(refit_key(model_type, hyperparams), lambda: fit(model_type, hyperparams, self.split()))
        if isinstance(model, Exception):
            raise Fail(_("expected hyperparameters a {model} accepts in {run}, found: {error}",
                         model=model_type, run=where, error=quote(f"{type(model).__name__}: {model}")),
                       _("log the model's own hyperparameters: mlflow.log_params(model.get_params())"))
        return model

    def scores(self, model, split: str = "test") -> dict:
        """The model's rmse, mae and r2 on the test split, or the training split (models given
        here are the memoized ones, alive for the whole grading)."""
        def score():
            data = self.split()
            X, y = (data.X_test, data.y_test) if split == "test" else (data.X_train, data.y_train)
            return lab.regression_metrics(y, model.predict(X))

        return self.memo(("scores", id(model), split), score)

    def signed(self, logged) -> bool:
        """Does the logged model's MLmodel file hold a signature with inputs? ModelNotLoadable when
        its files are missing (never kept)."""
        def look() -> bool:
            facts = self._facts(logged)
            if facts is not None and SIGNED in facts:
                return facts[SIGNED]
            signed = self.files(logged).has_signature()
            if facts is not None:
                facts[SIGNED] = signed
            return signed

        return self.memo(("signed", logged.model_id), look)

    def _facts(self, logged) -> dict | None:
        """The facts kept for ``logged`` across grades (None when nothing is kept: one grade)."""
        if self.kept is None:
            return None
        return self.kept.facts(model_key(logged, self.files(logged)))

    def files(self, logged) -> ModelFiles:
        """A logged model's files (fetched once per grading; removed when grading ends)."""
        def open_files():
            files = ModelFiles(logged, self.store.client.tracking_uri, self.store.folder)
            self._files.append(files)
            return files

        return self.memo(("files", logged.model_id), open_files)

    def load(self, logged):
        """The estimator behind a logged model, or ModelNotLoadable (remembered either way). When
        grades hand each other ``Kept``, a ``ModelFacts`` that answers what the checks ask of it
        from the facts kept (loading the estimator only for what they do not hold)."""
        def load():
            files = self.files(logged)
            try:
                if self.kept is None:
                    return files.load()
                facts = self._facts(logged)
                stamp = (logged.model_id, logged.status, logged.last_updated_timestamp, files.stamp())
                real = lambda: self.kept.get(("model", stamp), files.load)  # noqa: E731 - a failure is not kept
                if CLASS not in facts:
                    facts[CLASS] = type(real()).__name__
                return ModelFacts(facts, real, self.split)
            except ModelNotLoadable as exc:
                return exc

        loaded = self.memo(("model", logged.model_id), load)
        if isinstance(loaded, ModelNotLoadable):
            raise loaded
        return loaded

    def close(self) -> None:
        while self._files:
            self._files.pop().close()


# The facts a ``ModelFacts`` keeps: the estimator's class name, its params (when all are plain
# values), its predictions on the lab's test and training rows (``predict``: the checks' only other
# question), and whether its MLmodel file holds a signature.
CLASS, PARAMS, PREDICTIONS, SIGNED = "class", "params", "predictions", "signed"
PLAIN = (str, int, float, bool, type(None))


def model_key(logged, files: ModelFiles) -> tuple:
    """What a logged model's facts are a pure function of: its id (never reused; MLflow never rewrites
    a model's files under the same id), status, last change, where its files are, and, on this disk,
    their state. Another model (a new one, the alias moved) is another key."""
    return (logged.model_id, str(logged.status), logged.last_updated_timestamp, logged.artifact_location,
            files.stamp())


class ModelFacts:
    """A loaded model as the checks see it: its class name (``estimator_name``), ``get_params()``
    and ``predict()``, answered from ``facts`` when they hold the answer, else from the estimator
    (``real()``, loaded once), and the answer added to ``facts``. Predictions are kept only for the
    lab's own test and training rows (the split object itself), as plain numbers."""

    def __init__(self, facts: dict, real: Callable[[], Any], split: Callable[[], lab.Split]) -> None:
        self.facts = facts
        self._real = real
        self._split = split

    @property
    def estimator_name(self) -> str:
        return self.facts[CLASS]

    def get_params(self) -> dict:
        if PARAMS in self.facts:
            return dict(self.facts[PARAMS])
        params = self._real().get_params()
        plain = {k: v.item() if isinstance(v, np.generic) else v for k, v in params.items()}
        if all(isinstance(v, PLAIN) for v in plain.values()):
            self.facts[PARAMS] = plain
        return params

    def predict(self, X):
        split = self._split()
        part = "test" if X is split.X_test else "train" if X is split.X_train else None
        kept = self.facts[PREDICTIONS].get(part)
        if kept is not None:
            dtype, shape, data = kept
            return np.frombuffer(data, dtype=dtype).reshape(shape).copy()
        predicted = self._real().predict(X)
        if part is not None and isinstance(predicted, np.ndarray) and predicted.dtype.kind in "fiu":
            self.facts[PREDICTIONS][part] = (predicted.dtype.str, predicted.shape, predicted.tobytes())
        return predicted


def estimator_name(model) -> str:
    """The class name of a loaded model (a ``ModelFacts`` says its estimator's)."""
    return model.estimator_name if isinstance(model, ModelFacts) else type(model).__name__


def handed_back(kept: Kept) -> dict:
    """The facts ``kept``'s grades read, as plain values, for the next grade of the same student."""
    return {key: facts for key, facts in kept.used.items() if CLASS in facts or SIGNED in facts}


def refit_key(model_type: str, hyperparams: dict) -> tuple:
    """What a re-fit is a pure function of: the model type, its params and the data file."""
    return ("refit", model_type, tuple(sorted(hyperparams.items(), key=lambda kv: kv[0])), data_stamp())


def fit(model_type: str, hyperparams: dict, split: lab.Split, cores: int = -1):
    """``model_type`` with ``hyperparams`` fitted on ``split``'s training rows; the error when the
    estimator refuses the params. A forest's trees are the same on any number of ``cores``."""
    try:
        model = lab.make_model(model_type, **hyperparams)
        if "n_jobs" in model.get_params():
            model.set_params(n_jobs=cores)
        return model.fit(split.X_train, split.y_train)
    except (TypeError, ValueError) as exc:
        return exc


def solutions_refits() -> list[tuple[str, dict]]:
    """The re-fits grading a student who logged what the lab's scripts log asks for (model type,
    params as the checks parse them back from the runs): task 1's baseline, task 2's sweep, task 3's
    three models."""
    refits = [(lab.LINEAR_REGRESSION, {})]
    refits += [(lab.RANDOM_FOREST, {**config, lab.PARAM_RANDOM_STATE: lab.MODEL_SEED}) for config in lab.SWEEP_CONFIGS]
    for model_type in lab.MODEL_TYPES:
        logged = lab.make_model(model_type, **lab.DEFAULT_HYPERPARAMS[model_type]).get_params()
        refits.append((model_type, lab.logged_hyperparams(model_type, {k: str(v) for k, v in logged.items()})))
    return refits


def warm(refits: list[tuple[str, dict]]) -> dict:
    """The lab's split and these re-fits, made now (on one core: no thread is left behind), as
    items for ``Kept``: a process that forks graders can make them once for every child. Each re-fit
    comes with its predictions on the split's test and training rows (a ``ModelFacts``), which is
    all the checks ask of a re-fit."""
    split = lab.split_data()
    items: dict = {("split", data_stamp()): split}
    for model_type, hyperparams in refits:
        model = fit(model_type, hyperparams, split, cores=1)
        if not isinstance(model, Exception):  # its predictions on the split's rows made now too, once
            model = ModelFacts({CLASS: type(model).__name__, PREDICTIONS: {}}, lambda m=model: m, lambda: split)
            model.predict(split.X_test), model.predict(split.X_train)
        items[refit_key(model_type, hyperparams)] = model
    return items


def data_stamp() -> tuple:
    """The lab's data file as it is now (a re-fit is kept only while the data stays the same)."""
    stat = lab.DATA_FILE.stat()
    return (stat.st_mtime_ns, stat.st_size)
