"""Per-module seconds of a test run, from its JUnit XML (setup, call and teardown of each test):

    python -m pytest -n 2 --dist loadgroup test --junitxml=after.xml
    python test/durations.py [before.xml] after.xml

With two files, both columns and the difference. On two xdist workers the modules' sum is about
twice the wall time, and the slowest xdist group (the class server's) is a floor under it.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections import defaultdict


def per_module(path: str) -> dict[str, tuple[float, int]]:
    """module file name -> (seconds, tests)."""
    seconds: dict[str, float] = defaultdict(float)
    tests: dict[str, int] = defaultdict(int)
    for case in ET.parse(path).getroot().iter("testcase"):
        parts = case.get("classname", "").split(".")
        module = next((part for part in parts if part.startswith("test_")), None)
        if module:  # a case with no module: an interrupted run's last report
            seconds[module + ".py"] += float(case.get("time") or 0)
            tests[module + ".py"] += 1
    return {name: (seconds[name], tests[name]) for name in seconds}


def main(argv: list[str]) -> int:
    runs = [per_module(path) for path in argv[1:3]]
    if not runs:
        print(__doc__)
        return 2
    names = sorted(set().union(*runs), key=lambda n: -max(run.get(n, (0.0, 0))[0] for run in runs))
    labels = ["seconds"] if len(runs) == 1 else ["before", "after"]
    print("module".ljust(32) + "".join(f"{label:>10}{'tests':>6}" for label in labels)
          + ("   change" if len(runs) == 2 else ""))
    totals = [[0.0, 0] for _ in runs]
    for name in names:
        cells = [run.get(name, (0.0, 0)) for run in runs]
        for total, (sec, count) in zip(totals, cells):
            total[0] += sec
            total[1] += count
        change = f"{cells[1][0] - cells[0][0]:+9.1f}" if len(runs) == 2 else ""
        print(name.ljust(32) + "".join(f"{sec:10.1f}{count:6d}" for sec, count in cells) + change)
    print("total".ljust(32) + "".join(f"{sec:10.1f}{count:6d}" for sec, count in totals))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
