"""Predict with the lab's skops files in NumPy alone, without importing scikit-learn.

Why: the grader scores each student's logged model on the test split, and importing
scikit-learn and skops just to do that costs about 2.5 s per grading process. For
the three estimators the lab fits (LinearRegression, RandomForestRegressor and
GradientBoostingRegressor with squared error) this module reads the skops file and
computes scikit-learn's predictions step for step: the same float32 cast of X, the
same tree walk, the same order of sums. test/test_grader_skops_numpy.py holds it
equal to scikit-learn.

Safety: it never executes code from the file. A skops file is a zip holding
``schema.json`` and ``.npy`` arrays; schema.json is parsed with ``json``, the arrays
with ``np.load(allow_pickle=False)``, and no class named in the file is imported or
instantiated: the names are only compared with the short lists below. Every tree is
checked (children after their parent, features in range) before it is walked.

Anything it does not recognise exactly (another estimator, a Pipeline, several
outputs, another loss, an unknown node or protocol, columns that are not the ones
the model was fitted on...) raises ``Unsupported`` with the reason. The caller then
loads the file with skops itself, which gives scikit-learn's own behaviour and errors.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

PROTOCOL = 2  # the skops protocol this reader knows (skops 0.16 writes it)
TREE_LEAF = -1  # sklearn.tree._tree.TREE_LEAF: a leaf's children

LINEAR = ("sklearn.linear_model._base", "LinearRegression")
FOREST = ("sklearn.ensemble._forest", "RandomForestRegressor")
BOOSTING = ("sklearn.ensemble._gb", "GradientBoostingRegressor")
TREE_REGRESSOR = ("sklearn.tree._classes", "DecisionTreeRegressor")
TREE = ("sklearn.tree._tree", "Tree")
DUMMY = ("sklearn.dummy", "DummyRegressor")
SQUARED_ERROR = ("sklearn._loss.loss", "HalfSquaredError")
IDENTITY_LINK = ("sklearn._loss.link", "IdentityLink")

# Every node of the lab's three models, as (skops loader, module, class). A file with
# any other node is refused, so this reader accepts no file holding a type that skops
# (with the grader's trusted types) would refuse.
KNOWN_NODES = {
    ("ObjectNode", *LINEAR), ("ObjectNode", *FOREST), ("ObjectNode", *BOOSTING),
    ("ObjectNode", *TREE_REGRESSOR), ("ObjectNode", *DUMMY), ("ObjectNode", *SQUARED_ERROR),
    ("ObjectNode", *IDENTITY_LINK), ("ObjectNode", "sklearn._loss.link", "Interval"),
    ("LossNode", "sklearn._loss._loss", "CyHalfSquaredError"),
    ("TreeNode", *TREE),
    ("RandomStateNode", "numpy.random.mtrand", "RandomState"),
    ("NdArrayNode", "numpy", "ndarray"), ("NdArrayNode", "numpy", "float64"),
    ("DictNode", "builtins", "dict"), ("ListNode", "builtins", "list"),
    ("TupleNode", "builtins", "tuple"), ("TypeNode", "builtins", "str"),
    ("JsonNode", "builtins", "str"),  # skops names every JSON value's class "str"
}

# sklearn.tree._tree.NODE_DTYPE: one row of a Tree's ``nodes`` array.
NODE_DTYPE = np.dtype({
    "names": ["left_child", "right_child", "feature", "threshold", "impurity",
              "n_node_samples", "weighted_n_node_samples", "missing_go_to_left"],
    "formats": ["<i8", "<i8", "<i8", "<f8", "<f8", "<i8", "<f8", "u1"],
    "offsets": [0, 8, 16, 24, 32, 40, 48, 56],
    "itemsize": 64,
})


class Unsupported(Exception):
    """A file or an X this reader does not handle; the message says why."""


def load(path: Path) -> Model:
    """The model in the skops file at ``path``; raises Unsupported for anything else."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            try:
                schema = json.loads(zf.read("schema.json"))
            except KeyError:
                raise Unsupported(f"{path.name} has no schema.json") from None
            except ValueError:
                raise Unsupported(f"{path.name}: schema.json is not JSON") from None
            _check_protocol(schema)
            unknown = _resolve_ids(schema, set(zf.namelist()))
            model = _read_model(_Schema(zf), schema)  # first, for its more precise reasons
            if unknown:
                raise Unsupported(f"unknown skops node {unknown[0]}")
            return model
    except Unsupported:
        raise
    except zipfile.BadZipFile:
        raise Unsupported(f"{path.name} is not a zip file") from None
    except Exception as exc:  # noqa: BLE001 - whatever else goes wrong, skops decides
        raise Unsupported(f"cannot read {path.name} ({type(exc).__name__}: {exc})") from exc


class Model:
    """A model read from a skops file: ``predict(X)`` returns what scikit-learn's would."""

    def __init__(self, estimator: str, n_features: int, feature_names: list[str] | None) -> None:
        self.estimator = estimator  # the class name, e.g. "RandomForestRegressor"
        self.n_features = n_features
        self.feature_names = feature_names  # feature_names_in_, None if fitted without names

    def predict(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Predictions for the rows of X (float64); raises Unsupported for an X it won't check."""
        return self._predict(self._matrix(X))

    def _predict(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _matrix(self, X: Any) -> np.ndarray:
        """X as a numeric 2-D array, checked as scikit-learn checks it (or refused)."""
        columns = getattr(X, "columns", None)
        if columns is not None:
            if self.feature_names is None:
                raise Unsupported("X has columns but the model was fitted without feature names")
            if list(columns) != self.feature_names:
                raise Unsupported(f"X has columns {list(columns)}, "
                                  f"the model was fitted on {self.feature_names}")
            X = X.to_numpy()
        X = np.asarray(X)
        if X.dtype.kind not in "iuf":
            raise Unsupported(f"X holds {X.dtype} values, expected numbers")
        if X.ndim != 2 or X.shape[1] != self.n_features or X.shape[0] == 0:
            raise Unsupported(f"X has shape {X.shape}, "
                              f"the model expects {self.n_features} features")
        return X


class LinearModel(Model):
    def __init__(self, n_features: int, feature_names: list[str] | None,
                 coef: np.ndarray, intercept: np.ndarray | float) -> None:
        super().__init__("LinearRegression", n_features, feature_names)
        self.coef, self.intercept = coef, intercept

    def _predict(self, X: np.ndarray) -> np.ndarray:
        X = X.astype(np.float64)
        if not np.isfinite(X).all():
            raise Unsupported("X holds NaN or infinite values")
        return np.asarray(X @ self.coef + self.intercept, dtype=np.float64)


class ForestModel(Model):
    """RandomForestRegressor.predict: the mean of the trees, summed in their order."""

    def __init__(self, n_features: int, feature_names: list[str] | None, trees: Trees) -> None:
        super().__init__("RandomForestRegressor", n_features, feature_names)
        self.trees = trees

    def _predict(self, X: np.ndarray) -> np.ndarray:
        values = self.trees.leaf_values(_float32(X))
        y = np.zeros(X.shape[0], dtype=np.float64)
        for tree_values in values:
            y += tree_values
        y /= len(values)
        return y


class BoostingModel(Model):
    """GradientBoostingRegressor.predict: init constant + learning_rate * each stage, in order."""

    def __init__(self, n_features: int, feature_names: list[str] | None, trees: Trees,
                 init: float, learning_rate: float) -> None:
        super().__init__("GradientBoostingRegressor", n_features, feature_names)
        self.trees, self.init, self.learning_rate = trees, init, learning_rate

    def _predict(self, X: np.ndarray) -> np.ndarray:
        values = self.trees.leaf_values(_float32(X))
        y = np.full(X.shape[0], self.init, dtype=np.float64)
        for stage_values in values:
            y += self.learning_rate * stage_values
        return y


class Trees:
    """Regression trees packed into shared arrays, walked together level by level."""

    def __init__(self, trees: list[tuple[np.ndarray, np.ndarray]]) -> None:
        sizes = [len(nodes) for nodes, _ in trees]
        self.roots = np.cumsum([0] + sizes[:-1])
        nodes = np.concatenate([nodes for nodes, _ in trees])
        offset = np.repeat(self.roots, sizes)
        index = np.arange(len(nodes))
        leaf = nodes["left_child"] == TREE_LEAF
        # A leaf is its own child, so walking on from a leaf stays there.
        self.left = np.where(leaf, index, nodes["left_child"] + offset)
        self.right = np.where(leaf, index, nodes["right_child"] + offset)
        self.feature = np.where(leaf, 0, nodes["feature"])
        self.threshold = nodes["threshold"]
        self.value = np.concatenate([value for _, value in trees])

    def leaf_values(self, X: np.ndarray) -> np.ndarray:
        """value[leaf] of each tree (rows) for each sample of a float32 X (columns)."""
        rows = np.arange(X.shape[0])
        node = np.repeat(self.roots[:, None], X.shape[0], axis=1)
        while True:  # ends: every step goes to a higher node index or stays on a leaf
            go_left = X[rows, self.feature[node]] <= self.threshold[node]
            child = np.where(go_left, self.left[node], self.right[node])
            if np.array_equal(child, node):
                return self.value[node]
            node = child


def _float32(X: np.ndarray) -> np.ndarray:
    """X as scikit-learn's trees see it (DTYPE is float32); it refuses what does not fit."""
    X = X.astype(np.float32)
    if not np.isfinite(X).all():
        raise Unsupported("X holds NaN or infinite values (or values too large for float32)")
    return X


# --- Reading schema.json -------------------------------------------------------------

def _check_protocol(schema: Any) -> None:
    protocol = schema.get("protocol") if isinstance(schema, dict) else None
    if type(protocol) is not int or protocol != PROTOCOL:
        raise Unsupported(f"skops protocol {protocol!r}, this reader knows protocol {PROTOCOL}")


def _resolve_ids(schema: dict, files: set[str]) -> list[tuple[str, str, str]]:
    """Make schema.json mean what skops makes of it; return the nodes of unknown types.

    skops builds one node per __id__, the first one it meets (depth first, children in
    the order below), and reuses it wherever that id comes back: a later node with the
    same id is never read. Here each later node is replaced by the first one, so this
    reader reads the very nodes skops builds. Real files do repeat ids: RandomForest's
    estimator and estimator_ are one object, GradientBoosting's trees share one
    RandomState, and each copy names its own throwaway ids inside. Like skops, every
    array a node names must be in the zip.
    """
    memo: dict[int, dict] = {}
    unknown = []
    slots: list[tuple[Any, Any]] = [([schema], 0)]  # (container, key) of nodes to visit
    while slots:
        parent, key = slots.pop()
        node = parent[key]
        node_id = node.get("__id__") if isinstance(node, dict) else None
        if type(node_id) is not int or node_id == 0:
            raise Unsupported(f"a skops node without an __id__: {_describe(node)}")
        if node_id in memo:
            parent[key] = memo[node_id]
            continue
        memo[node_id] = node
        kind = (node.get("__loader__"), node.get("__module__"), node.get("__class__"))
        if not all(isinstance(part, str) for part in kind) or kind not in KNOWN_NODES:
            unknown.append(kind)
            continue
        stored_array = kind[0] == "NdArrayNode" and node.get("type") == "numpy"
        if stored_array and node.get("file") not in files:
            raise Unsupported(f"the array {node.get('file')!r} is missing from the zip")
        slots.extend(reversed(_children(node)))
    return unknown


def _children(node: dict) -> list[tuple[Any, Any]]:
    """Where a node's child nodes are, in the order skops builds them."""
    loader, array_type = node["__loader__"], node.get("type")
    if loader == "ObjectNode":
        return [(node, "content")] if node.get("content") is not None else []
    if loader == "RandomStateNode":
        return [(node, "content")]
    if loader in ("TreeNode", "LossNode"):  # skops' ReduceNode: the state, then the arguments
        return [(node, "content"), (node["__reduce__"], "args")]
    if loader == "DictNode":
        content = node["content"]
        if not isinstance(content, dict):
            raise Unsupported("a DictNode without a dict of items")
        return [(node, "key_types")] + [(content, key) for key in content]
    if loader in ("ListNode", "TupleNode") or (loader == "NdArrayNode" and array_type == "json"):
        content = node["content"]
        if not isinstance(content, list):
            raise Unsupported(f"a {loader} without a list of items")
        shape = [(node, "shape")] if loader == "NdArrayNode" else []
        return [(content, index) for index in range(len(content))] + shape
    if loader in ("JsonNode", "TypeNode") or (loader == "NdArrayNode" and array_type == "numpy"):
        return []
    raise Unsupported(f"a {loader} of unknown type {array_type!r}")


def _describe(node: Any) -> str:
    if isinstance(node, dict) and "__class__" in node:
        return f"{node.get('__module__')}.{node.get('__class__')} ({node.get('__loader__')})"
    return type(node).__name__


def _expect(node: Any, loader: str, kind: tuple[str, str] | None = None) -> dict:
    if (not isinstance(node, dict) or node.get("__loader__") != loader
            or (kind is not None and (node.get("__module__"), node.get("__class__")) != kind)):
        wanted = f"{'.'.join(kind)} ({loader})" if kind else loader
        raise Unsupported(f"expected {wanted}, found {_describe(node)}")
    return node


def _attr(attrs: dict[str, Any], name: str, owner: str) -> Any:
    if name not in attrs:
        raise Unsupported(f"{owner} has no {name}")
    return attrs[name]


class _Schema:
    """The nodes of schema.json read as plain data, arrays loaded from the zip without pickle."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf

    def object(self, node: Any, kind: tuple[str, str]) -> dict[str, Any]:
        """The attributes (still nodes) of an object of class ``kind``."""
        return self.dict(_expect(node, "ObjectNode", kind).get("content"))

    def dict(self, node: Any) -> dict[str, Any]:
        content = _expect(node, "DictNode").get("content")
        key_types = self.items(node.get("key_types"), "ListNode")
        # skops pairs keys with key_types: each must be there, and be str.
        if not isinstance(content, dict) or len(key_types) != len(content):
            raise Unsupported("a dict whose keys do not match its key types")
        for key_type in key_types:
            _expect(key_type, "TypeNode", ("builtins", "str"))
        return content

    def items(self, node: Any, loader: str) -> list[Any]:
        """The item nodes of a ListNode, a TupleNode or an object NdArrayNode."""
        content = _expect(node, loader).get("content")
        if not isinstance(content, list):
            raise Unsupported(f"expected the items of a {loader}, found none")
        if loader == "NdArrayNode":
            shape = [self.value(size) for size in self.items(node.get("shape"), "TupleNode")]
            if node.get("type") != "json" or not shape or shape[0] != len(content):
                raise Unsupported("an object array whose shape does not match its items")
        return content

    def value(self, node: Any) -> Any:
        content = _expect(node, "JsonNode").get("content")
        if not isinstance(content, str):
            raise Unsupported("a JSON node without JSON content")
        return json.loads(content)

    def array(self, node: Any) -> np.ndarray:
        name = _expect(node, "NdArrayNode").get("file")
        if node.get("type") != "numpy" or not isinstance(name, str):
            raise Unsupported(f"expected a numeric array, found {_describe(node)}")
        try:
            data = self.zf.read(name)
        except KeyError:
            raise Unsupported(f"the array {name!r} is missing from the zip") from None
        array = np.load(io.BytesIO(data), allow_pickle=False)
        if not isinstance(array, np.ndarray):
            raise Unsupported(f"{name!r} is not a .npy array")
        return array


def _read_model(schema: _Schema, root: Any) -> Model:
    readers = {LINEAR: _linear, FOREST: _forest, BOOSTING: _boosting}
    kind = (root.get("__module__"), root.get("__class__"))
    if root.get("__loader__") != "ObjectNode" or kind not in readers:
        raise Unsupported(f"the model is a {_describe(root)}; this reader knows "
                          "LinearRegression, RandomForestRegressor and GradientBoostingRegressor")
    return readers[kind](schema, schema.object(root, kind), kind[1])


def _inputs(schema: _Schema, attrs: dict[str, Any], owner: str) -> tuple[int, list[str] | None]:
    """n_features_in_ and feature_names_in_ (None when fitted without names)."""
    n_features = schema.value(_attr(attrs, "n_features_in_", owner))
    if type(n_features) is not int or n_features < 1:
        raise Unsupported(f"{owner} has n_features_in_ {n_features!r}")
    if "feature_names_in_" not in attrs:
        return n_features, None
    names = [schema.value(item) for item in schema.items(attrs["feature_names_in_"], "NdArrayNode")]
    if len(names) != n_features or not all(isinstance(name, str) for name in names):
        raise Unsupported(f"{owner} has feature_names_in_ {names!r} for {n_features} features")
    return n_features, names


def _linear(schema: _Schema, attrs: dict[str, Any], owner: str) -> Model:
    n_features, names = _inputs(schema, attrs, owner)
    coef = schema.array(_attr(attrs, "coef_", owner))
    if coef.dtype != np.float64 or coef.shape != (n_features,):
        raise Unsupported(f"{owner} has coef_ of shape {coef.shape} ({coef.dtype}); "
                          "this reader knows a single target with float64 coefficients")
    node = _attr(attrs, "intercept_", owner)
    if isinstance(node, dict) and node.get("__loader__") == "JsonNode":  # fit_intercept=False: 0.0
        intercept = schema.value(node)
        if type(intercept) is not float:
            raise Unsupported(f"{owner} has intercept_ {intercept!r}")
    else:
        intercept = schema.array(node)
        if intercept.dtype != np.float64 or intercept.shape != ():
            raise Unsupported(f"{owner} has intercept_ of shape {intercept.shape} "
                              f"({intercept.dtype})")
    return LinearModel(n_features, names, coef, intercept)


def _forest(schema: _Schema, attrs: dict[str, Any], owner: str) -> Model:
    n_features, names = _inputs(schema, attrs, owner)
    if schema.value(_attr(attrs, "n_outputs_", owner)) != 1:
        raise Unsupported(f"{owner} with several outputs")
    estimators = schema.items(_attr(attrs, "estimators_", owner), "ListNode")
    if not estimators:
        raise Unsupported(f"{owner} has no trees")
    return ForestModel(n_features, names, Trees([_tree(schema, t, n_features) for t in estimators]))


def _boosting(schema: _Schema, attrs: dict[str, Any], owner: str) -> Model:
    n_features, names = _inputs(schema, attrs, owner)
    loss = schema.value(_attr(attrs, "loss", owner))
    if loss != "squared_error":
        raise Unsupported(f"{owner} with loss {loss!r}; this reader knows 'squared_error'")
    # predict uses the fitted loss object's link on the init predictions: identity here.
    loss_attrs = schema.object(_attr(attrs, "_loss", owner), SQUARED_ERROR)
    _expect(_attr(loss_attrs, "link", "its _loss"), "ObjectNode", IDENTITY_LINK)
    init = _attr(attrs, "init_", owner)
    if not (isinstance(init, dict) and (init.get("__module__"), init.get("__class__")) == DUMMY):
        raise Unsupported(f"{owner} whose init_ is {_describe(init)}, not a DummyRegressor")
    init_attrs = schema.object(init, DUMMY)
    constant = schema.array(_attr(init_attrs, "constant_", "its DummyRegressor"))
    if (schema.value(_attr(init_attrs, "n_outputs_", "its DummyRegressor")) != 1
            or constant.dtype != np.float64 or constant.shape != (1, 1)):
        raise Unsupported(f"{owner} whose DummyRegressor is not one float64 constant")
    rate = schema.value(_attr(attrs, "learning_rate", owner))
    if type(rate) not in (int, float):
        raise Unsupported(f"{owner} has learning_rate {rate!r}")
    trees = []
    for stage in schema.items(_attr(attrs, "estimators_", owner), "NdArrayNode"):
        stage_trees = schema.items(stage, "ListNode")
        if len(stage_trees) != 1:
            raise Unsupported(f"{owner} with {len(stage_trees)} trees per stage, expected 1")
        trees.append(_tree(schema, stage_trees[0], n_features))
    if not trees:
        raise Unsupported(f"{owner} has no trees")
    return BoostingModel(n_features, names, Trees(trees), float(constant[0, 0]), float(rate))


def _tree(schema: _Schema, node: Any, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """A DecisionTreeRegressor's nodes and leaf values, checked so that walking it is safe."""
    attrs = schema.object(node, TREE_REGRESSOR)
    owner = "a DecisionTreeRegressor"
    if (schema.value(_attr(attrs, "n_outputs_", owner)) != 1
            or schema.value(_attr(attrs, "n_features_in_", owner)) != n_features):
        raise Unsupported(f"{owner} that is not single-output on {n_features} features")
    tree = _expect(_attr(attrs, "tree_", owner), "TreeNode", TREE)
    reduce = tree.get("__reduce__")
    args = schema.items(reduce.get("args") if isinstance(reduce, dict) else None, "TupleNode")
    if len(args) != 3:
        raise Unsupported(f"a Tree built from {len(args)} arguments, expected 3")
    tree_features, n_classes, n_outputs = args
    if (schema.value(tree_features) != n_features or schema.value(n_outputs) != 1
            or schema.array(n_classes).tolist() != [1]):
        raise Unsupported(f"a Tree that is not a single-output regression tree "
                          f"on {n_features} features")
    state = schema.dict(tree.get("content"))
    count = schema.value(_attr(state, "node_count", "a Tree"))
    nodes = schema.array(_attr(state, "nodes", "a Tree"))
    values = schema.array(_attr(state, "values", "a Tree"))
    if type(count) is not int or count < 1 or nodes.dtype != NODE_DTYPE or nodes.shape != (count,):
        raise Unsupported("a Tree whose nodes array is not scikit-learn's")
    if values.dtype != np.float64 or values.shape != (count, 1, 1):
        raise Unsupported(f"a Tree with values of shape {values.shape} ({values.dtype})")
    left, right, feature = nodes["left_child"], nodes["right_child"], nodes["feature"]
    index = np.arange(count)
    leaf = left == TREE_LEAF
    inner = ~leaf
    if not ((right[leaf] == TREE_LEAF).all()
            and (left[inner] > index[inner]).all() and (left[inner] < count).all()
            and (right[inner] > index[inner]).all() and (right[inner] < count).all()
            and (feature[inner] >= 0).all() and (feature[inner] < n_features).all()):
        raise Unsupported("a Tree whose children or features are out of range")
    return nodes, values[:, 0, 0]
