"""What the lab's task scripts use besides MLflow, scikit-learn and pandas.

- ``labkit.start(title)``: checks the lab's tracking store, creates the lab's experiments
  the first time, notes a crash on the run it happened in, and returns the store's URI
  for ``mlflow.set_tracking_uri``;
- ``todo("1.1")``: the stub of a TODO you have not done yet;
- ``labkit.report_run(run, metrics)`` and ``labkit.finish(task)``: the closing summary;
- ``labkit.plots``: figures for the MLflow UI (the scripts log them with mlflow.log_figure);
- ``labkit.LAB_ROOT``: the repository's folder, wherever a script runs from.
"""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what __getattr__ below imports on first use, as readers and tools see it
    from labkit import plots
    from labkit.paths import ROOT as LAB_ROOT
    from labkit.task import finish, report_run, start
    from labkit.todo import todo

__all__ = ["LAB_ROOT", "finish", "plots", "report_run", "start", "todo"]

# Each name is imported when first used (PEP 562): the lab's commands import labkit.i18n, and
# so this package, for their --help, which must not wait seconds for MLflow and scikit-learn.
_WHERE = {"LAB_ROOT": ("labkit.paths", "ROOT"), "finish": ("labkit.task", "finish"),
          "plots": ("labkit.plots", None), "report_run": ("labkit.task", "report_run"),
          "start": ("labkit.task", "start"), "todo": ("labkit.todo", "todo")}


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'labkit' has no attribute {name!r}")
    module, attribute = _WHERE[name]
    value = importlib.import_module(module)
    value = value if attribute is None else getattr(value, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
