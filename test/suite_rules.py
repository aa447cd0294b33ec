"""The rules every test of the suite runs under (test/conftest.py imports these hooks;
test/test_suite_rules.py runs them on a throwaway suite): groups kept whole, no skip in CI, and
the folders the tests share read-only (``shared_folder``) left as they were built."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

try:
    import fcntl  # shared_folder's lock (POSIX, as the suite: test/zygote.py)
except ImportError:
    fcntl = None

BUILT = ".built.json"  # in a shared folder: its files as built (files_of)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item) -> None:
    """Under `-n N --dist loadgroup`, pytest-xdist keeps a group on one worker by suffixing its
    tests' ids with "@group". When a pytest release stops honouring that, every group (the class
    server, each module-scoped UI) is silently built again on every worker: fail instead."""
    if (item.config.getoption("loadgroup", default=False) and item.get_closest_marker("xdist_group")
            and "@" not in item.nodeid):
        pytest.fail("pytest-xdist lost this test's xdist_group (--dist loadgroup): install the pytest "
                    "pinned in requirements-dev.txt", pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI (CI set, as .ci/run's machines set it) a skipped test fails: a check skipped because
    a tool is missing must not pass unseen. Skips that are about the platform (Windows, no /proc)
    never happen on the CI machine."""
    report = yield
    if report.skipped and os.environ.get("CI", "").lower() not in ("", "0", "false"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where every check must run: {reason}"
    return report


def shared_folder(tmp_path_factory, name: str, build) -> Path:
    """The folder ``name``, made by ``build(folder)`` once per test run whatever the number of xdist
    workers: the first worker to ask builds it under a lock in the run's shared temporary folder,
    the others wait and use the same one. Read-only from then on (copy it before writing): the run
    fails at its end if a file in it changed (``pytest_sessionfinish``)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # pytest-N/, above each worker's popen-gwN/
    folder = root / name
    record = folder / BUILT
    with open(root / f"{name}.lock", "w", encoding="utf-8") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        if not record.exists():
            shutil.rmtree(folder, ignore_errors=True)  # a build that failed half-way
            folder.mkdir()
            build(folder)
            record.write_text(json.dumps(files_of(folder)), encoding="utf-8")
    return folder


def files_of(folder: Path) -> dict[str, str]:
    """Each file under ``folder`` (its path in it) with a digest of its bytes. Bytes, not times:
    MLflow writes a model's registered_model_meta again, the same two lines, each time a
    ``models:/NAME@ALIAS`` of a local store is loaded (serving the staged model does)."""
    return {path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file() and path.name != BUILT}


def changed_shared_folders(root: Path) -> list[str]:
    """Each shared folder under ``root`` whose files are not as built, with the first of them."""
    changed = []
    for record in sorted(root.glob(f"*/{BUILT}")):
        built, now = json.loads(record.read_text(encoding="utf-8")), files_of(record.parent)
        differ = sorted(name for name in built.keys() | now.keys() if built.get(name) != now.get(name))
        if differ:
            changed.append(f"{record.parent.name}/ ({len(differ)} files: {', '.join(differ[:3])})")
    return changed


def pytest_sessionfinish(session) -> None:
    """Once all tests ran (in the xdist controller, or the one process): a shared folder that a
    test wrote to fails the run, naming it. A test that writes to a store other tests read makes
    their verdicts depend on the order the tests ran in."""
    if hasattr(session.config, "workerinput"):  # an xdist worker: the controller checks, after them all
        return
    factory = getattr(session.config, "_tmp_path_factory", None)
    changed = changed_shared_folders(factory.getbasetemp()) if factory is not None else []
    if changed:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = ("A folder the tests share read-only changed (a test must copy it before writing: "
                   "LabStore.copy_to): " + "; ".join(changed))
        if reporter is not None:
            reporter.write_line(message, red=True)
        else:
            print(message)
