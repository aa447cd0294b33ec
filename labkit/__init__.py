"""What the lab's task scripts use besides MLflow, scikit-learn and pandas.

- ``labkit.start(title)``: checks the lab's tracking store, creates the lab's experiments
  the first time, notes a crash on the run it happened in, and returns the store's URI
  for ``mlflow.set_tracking_uri``;
- ``todo("1.1")``: the stub of a TODO you have not done yet;
- ``labkit.report_run(run, metrics)`` and ``labkit.finish(task)``: the closing summary;
- ``labkit.plots``: figures for the MLflow UI (the scripts log them with mlflow.log_figure);
- ``labkit.LAB_ROOT``: the repository's folder, wherever a script runs from.
"""

from labkit import plots
from labkit.paths import ROOT as LAB_ROOT
from labkit.task import finish, report_run, start
from labkit.todo import todo

__all__ = ["LAB_ROOT", "finish", "plots", "report_run", "start", "todo"]
