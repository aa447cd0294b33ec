"""Grade a simulated class on the class server; compare with grading one student locally.

Starts a throwaway PostgreSQL and the class server (classroom/server.py), provisions
N students (default 100), logs each student's complete lab work straight through the
MLflow client (what the four solutions log, models included), in parallel, then runs
the gradebook. Prints the total and per-student grading time next to grading one
student on a local SQLite store, measured in the same run.

    .venv/bin/python bench/bench_classroom.py [--students 100] [--jobs 2] [--against OTHER_CHECKOUT]

``--against`` also grades the same class with another checkout's gradebook (e.g. a
`git archive` of an older commit), both as `python -m classroom gradebook` commands,
so that a change's effect is measured in one run on one server.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from classroom.gradebook import Gradebook  # noqa: E402
from classroom.postgres import Cluster, free_port  # noqa: E402
from classroom.roster import Student  # noqa: E402
from classroom.server import ServerConfig, ServerProcess  # noqa: E402
from grader.registry import todo_ids  # noqa: E402

_fitted: dict = {}


def fitted():
    """Every model the solutions fit, fitted once per worker process."""
    if not _fitted:
        from labkit import lab

        split = lab.split_data()
        def fit(kind, **params):
            model = lab.make_model(kind, **params).fit(split.X_train, split.y_train)
            return model, lab.regression_metrics(split.y_test, model.predict(split.X_test))
        _fitted["split"] = split
        _fitted.update(datasets(split))
        _fitted["baseline"] = fit(lab.LINEAR_REGRESSION)
        _fitted["sweep"] = [(c, *fit(lab.RANDOM_FOREST, random_state=lab.MODEL_SEED, **c))
                            for c in lab.SWEEP_CONFIGS]
        _fitted["compare"] = {k: fit(k, **lab.DEFAULT_HYPERPARAMS[k]) for k in lab.MODEL_TYPES}
    return _fitted


def log_complete_student(env: dict[str, str]) -> None:
    """What the four solutions log, without re-running the scripts."""
    os.environ.update(env)
    from importlib.metadata import version as installed

    import mlflow

    from labkit import lab as names

    # The options the task-3 script passes to log_model.
    log_options = {
        "serialization_format": "skops",
        "skops_trusted_types": ["sklearn.tree._tree.Tree"],
        "pip_requirements": [f"{p}=={installed(p)}" for p in ("mlflow", "scikit-learn", "skops")],
    }
    work = fitted()
    mlflow.set_tracking_uri(env["MLFLOW_TRACKING_URI"])
    log_task1()
    mlflow.set_experiment(names.EXPERIMENT_TASK2)
    for config, _, metrics in work["sweep"]:
        with mlflow.start_run(run_name=names.sweep_run_name(config)):
            mlflow.log_param(names.PARAM_N_ESTIMATORS, config["n_estimators"])
            mlflow.log_params({**{k: v for k, v in config.items() if k != "n_estimators"},
                               names.PARAM_RANDOM_STATE: names.MODEL_SEED})
            mlflow.log_metrics({**metrics, names.METRIC_TRAIN_TIME: 0.1})
            mlflow.set_tags(names.SWEEP_TAGS)
    mlflow.set_experiment(names.EXPERIMENT_TASK3)
    best = None
    for kind, (model, metrics) in work["compare"].items():
        with mlflow.start_run(run_name=kind):
            mlflow.set_tag(names.PARAM_MODEL_TYPE, kind)
            mlflow.log_params(model.get_params())
            mlflow.log_input(work["train_dataset"], context="training")
            mlflow.log_input(work["test_dataset"], context="evaluation")
            info = mlflow.sklearn.log_model(model, name=names.MODEL_NAME,
                                            input_example=work["split"].X_test.head(5), **log_options)
            mlflow.log_metrics(metrics, model_id=info.model_id, dataset=work["test_dataset"])
            if best is None or metrics["r2"] > best[0]:
                best = (metrics["r2"], info, mlflow.active_run().info.run_id, metrics["rmse"])
    mlflow.set_experiment(names.EXPERIMENT_TASK4)
    with mlflow.start_run(run_name=names.RUN_REGISTRY):
        mlflow.set_tag(names.TAG_BEST_RUN, best[2])
        version = mlflow.register_model(best[1].model_uri, names.REGISTERED_MODEL)
        mlflow.MlflowClient().set_registered_model_alias(names.REGISTERED_MODEL, names.ALIAS, version.version)
        mlflow.log_param(names.PARAM_MODEL_URI, names.STAGING_URI)
        mlflow.log_metric(names.METRIC_STAGING_RMSE, best[3])


def datasets(split) -> dict:
    """The train and test rows as MLflow datasets, as the task scripts log them."""
    import mlflow
    from mlflow.data.sources import LocalArtifactDatasetSource

    from labkit import lab

    source = LocalArtifactDatasetSource(str(ROOT / "data" / "devops_metrics.csv"))
    return {f"{part}_dataset": mlflow.data.from_pandas(X.join(y), source=source, targets=lab.TARGET,
                                                       name=f"devops_metrics-{part}")
            for part, X, y in (("train", split.X_train, split.y_train), ("test", split.X_test, split.y_test))}


def log_task1() -> None:
    """What task 1's solution logs: one baseline run (a student re-running task 1 logs it again)."""
    import mlflow

    from labkit import lab as names

    work = fitted()
    mlflow.set_experiment(names.EXPERIMENT_TASK1)
    with mlflow.start_run(run_name=names.RUN_BASELINE):
        mlflow.log_params({names.PARAM_MODEL_TYPE: names.LINEAR_REGRESSION,
                           names.PARAM_RANDOM_STATE: names.SPLIT_SEED, names.PARAM_TEST_SIZE: names.TEST_SIZE})
        mlflow.log_input(work["train_dataset"], context="training")
        mlflow.log_input(work["test_dataset"], context="evaluation")
        mlflow.log_metrics(work["baseline"][1])


def quiet() -> None:
    sys.stdout = open(os.devnull, "w")  # MLflow prints two links per run


def log_one(args) -> None:
    env, workspace = args
    log_complete_student({**env, "MLFLOW_WORKSPACE": workspace})


def local_baseline(folder: Path) -> tuple[float, float, str]:
    """One complete student on a local SQLite store: the grader command, and grade() alone."""
    uri = "sqlite:///" + (folder / "mlflow.db").as_posix()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["MLFLOW_TRACKING_URI"] = uri
    code = ("import sys; sys.path.insert(0, %r); from labkit.store import prepare_lab_store; "
            "import os; prepare_lab_store(); from bench.bench_classroom import log_complete_student; "
            "log_complete_student(dict(os.environ))") % str(ROOT)
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, cwd=ROOT)
    started = time.monotonic()
    result = subprocess.run([sys.executable, str(ROOT / "grader" / "check.py"), "all"], env=env,
                            capture_output=True, text=True, cwd=folder)
    command_s = time.monotonic() - started
    timing = ("import time, sys; sys.path.insert(0, %r); from grader.core import grade; "
              "t = time.monotonic(); r = grade(['all']); print(time.monotonic() - t, r.score)") % str(ROOT)
    out = subprocess.run([sys.executable, "-c", timing], env=env, capture_output=True, text=True).stdout.split()
    return command_s, float(out[0]), (result.stdout.strip().splitlines() or ["?"])[-1]


def gradebook_command(checkout: Path, url: str, roster: Path, out: Path, jobs: int,
                      admin: dict[str, str]) -> tuple[float, set[str]]:
    """`python -m classroom gradebook` from ``checkout``: seconds taken and the totals seen."""
    import csv

    env = {**os.environ, **admin, "PYTHONPATH": str(checkout)}
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "classroom", "gradebook", "--roster", str(roster), "--server", url,
                    "--out", str(out), "--jobs", str(jobs)], env=env, cwd=checkout, check=True,
                   capture_output=True)
    seconds = time.monotonic() - started
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as handle:
        return seconds, {row["total"] for row in csv.DictReader(handle)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=(os.cpu_count() or 2) + 1)  # the gradebook's default
    parser.add_argument("--against", type=Path, help="another checkout whose gradebook to time too")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-classroom-"))
    password = secrets.token_urlsafe(16)
    admin = {"MLFLOW_TRACKING_USERNAME": "admin", "MLFLOW_TRACKING_PASSWORD": password,
             "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3"}
    command_s, grade_s, local_score = local_baseline(folder)
    with Cluster() as postgres:
        config = ServerConfig(postgres.uri("mlflow"), postgres.uri("mlflow_auth"), folder / "artifacts",
                              password, secrets.token_hex(16), port=free_port(), state=folder / "state")
        with ServerProcess(config) as server:
            os.environ.update(admin)
            from classroom.provision import Provisioner

            students = [Student(f"student-{i:03d}") for i in range(args.students)]
            t = time.monotonic()
            provisioner = Provisioner(config.url, config.url, folder / "connections")
            for student in students:
                provisioner.provision(student)
            provision_s = time.monotonic() - t
            t = time.monotonic()
            env = {**admin, "MLFLOW_TRACKING_URI": config.url}
            with Pool(4, initializer=quiet) as pool:
                pool.map(log_one, [(env, s.workspace) for s in students])
            logging_s = time.monotonic() - t
            book = Gradebook(config.url, admin, folder / "gradebook", jobs=args.jobs, progress=open(os.devnull, "w"))
            t = time.monotonic()
            rows = book.grade_all(students)
            grading_s = time.monotonic() - t
            commands = {}
            if args.against:
                roster = folder / "roster.csv"
                roster.write_text("username\n" + "".join(f"{s.username}\n" for s in students), encoding="utf-8")
                for name, checkout in (("this checkout", ROOT), (args.against.name, args.against.resolve())):
                    commands[name] = gradebook_command(checkout, config.url, roster, folder / f"book-{len(commands)}",
                                                       args.jobs, admin)
    scores = sorted({str(r.get("total")) for r in rows})
    n = len(students)
    print(f"class of {n} on PostgreSQL + mlflow server ({args.jobs} at once, {os.cpu_count()} cores)")
    print(f"  provisioning          {provision_s:7.1f} s   {provision_s / n:5.2f} s/student")
    print(f"  logging their work    {logging_s:7.1f} s   {logging_s / n:5.2f} s/student")
    print(f"  gradebook             {grading_s:7.1f} s   {grading_s / n:5.2f} s/student   scores seen: {', '.join(scores)}")
    full = str(len(todo_ids()))
    if scores != [full]:
        print(f"  WARNING: the simulated students should score {full}/{full}, saw {', '.join(scores)}: "
              "the bench is not measuring a complete grading")
    for name, (seconds, totals) in commands.items():
        print(f"  `python -m classroom gradebook` ({name}) {seconds:7.1f} s   {seconds / n:5.2f} s/student   "
              f"scores seen: {', '.join(sorted(totals))}")
    print(f"one student, local SQLite store")
    print(f"  grader/check.py all   {command_s:7.1f} s   ({local_score})")
    print(f"  grade() alone         {grade_s:7.1f} s   (without the import of mlflow)")


if __name__ == "__main__":
    main()
