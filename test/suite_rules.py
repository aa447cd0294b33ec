"""Two rules every test of the suite runs under (test/conftest.py imports these hooks;
test/test_suite_rules.py runs them on a throwaway suite)."""

from __future__ import annotations

import os

import pytest


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
