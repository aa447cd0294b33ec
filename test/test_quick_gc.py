"""Does importing labkit make the collector cheaper without losing anything at exit?

Each case runs a fresh interpreter, as a student's script runs (labkit.quick_gc).
"""

import subprocess
import sys
import textwrap

from labkit.quick_gc import THRESHOLDS


def run(tmp_path, code: str) -> str:
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(code), encoding="utf-8")
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_a_script_that_imports_labkit_collects_less_often(tmp_path):
    shown = run(tmp_path, "import gc, labkit\nprint(gc.get_threshold())\n")
    assert shown == str(THRESHOLDS)


def test_a_threshold_the_script_raised_itself_is_kept(tmp_path):
    shown = run(tmp_path, "import gc\ngc.set_threshold(50_000, 5, 5)\nimport labkit\nprint(gc.get_threshold())\n")
    assert shown == "(50000, 5, 5)"


def test_a_collector_the_script_turned_off_stays_off(tmp_path):
    shown = run(tmp_path, "import gc\ngc.set_threshold(0)\nimport labkit\nprint(gc.get_threshold()[0])\n")
    assert shown == "0"


def test_files_a_script_leaves_open_keep_what_it_wrote(tmp_path):
    """The heap is frozen at exit: a file held by a global or in a cycle is flushed first."""
    run(tmp_path, """
        import labkit

        notes = open("global.txt", "w", encoding="utf-8")
        notes.write("held by a global of a script that defines a function")

        class Holder:
            def __init__(self, path):
                self.me = self  # a reference cycle: only the collector would free it
                self.file = open(path, "wb")
                self.file.write(b"held in a cycle")

        holder = Holder("cycle.bin")
        log = open("appended.txt", "a", encoding="utf-8")
        log.write("appended")
    """)
    assert (tmp_path / "global.txt").read_text(encoding="utf-8") == \
        "held by a global of a script that defines a function"
    assert (tmp_path / "cycle.bin").read_bytes() == b"held in a cycle"
    assert (tmp_path / "appended.txt").read_text(encoding="utf-8") == "appended"


def test_the_heap_is_frozen_at_exit_after_the_handlers_registered_later(tmp_path):
    """atexit runs last in, first out: labkit's freeze comes after MLflow's handlers."""
    shown = run(tmp_path, """
        import atexit, gc

        atexit.register(lambda: print("earlier:", gc.get_freeze_count() > 0))
        import labkit
        atexit.register(lambda: print("later:", gc.get_freeze_count() > 0))
    """)
    assert shown.splitlines() == ["later: False", "earlier: True"]


def test_mlflow_still_ends_the_run_a_script_left_open(tmp_path):
    uri = "sqlite:///" + (tmp_path / "mlflow.db").as_posix()
    run_id = run(tmp_path, f"""
        import labkit
        import mlflow

        mlflow.set_tracking_uri({uri!r})
        run = mlflow.start_run()
        mlflow.log_metric("rmse", 1.5, synchronous=False)
        print(run.info.run_id)
    """).splitlines()[-1]
    import mlflow

    finished = mlflow.MlflowClient(uri).get_run(run_id)
    assert finished.info.status == "FINISHED"
    assert finished.data.metrics == {"rmse": 1.5}
