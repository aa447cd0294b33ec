"""Shared contract of the MLflow experiment-tracking lab.

Every name the task scripts log and the grader looks for lives in ``labkit.names``;
the data, the one train/test split and the metrics live here too, so nobody retypes
a string the grader checks.
"""

from labkit.quick_gc import use_quick_gc

use_quick_gc()
