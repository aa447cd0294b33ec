"""Imported last by zygote's fork server (test/zygote.py ``PRELOAD``): what every forked script
would otherwise make again. MLflow's map of the installed packages, which each ``log_model`` with
``pip_requirements`` and each model load reads to warn of a mismatched requirement, scans every
installed distribution's files (~2 CPU s): made once here, each task 3 and 4 script forked from
the server starts with it, as a second ``log_model`` in one interpreter does."""

from mlflow.utils import requirements_utils

requirements_utils._init_packages_to_modules_map()
