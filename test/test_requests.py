"""Test a running model server like a production API: `python test/test_requests.py [--url URL] [--lang es|en]`.

Start the server first (`mlflow models serve`, LAB.md section 10). Every check prints one row:
load scenarios, a batch from the test split, served = in-process predictions, the
payload formats, bad requests (each must get a 4xx with a message, and the server
must keep answering) and a short load check. Exit code 0 when every check passes.
Uses only the standard library for HTTP. It speaks the language of `--lang`, else of
LAB_LANG, else of LANG (labkit/commands/request_checks.py holds the checks, their lines
and their Spanish).
"""

from __future__ import annotations

import sys

from labkit.commands.request_checks import (  # noqa: F401 - test_model_deployment.py imports them from here
    Check, Client, Reply, check_bad_requests, check_formats, check_load, check_scenarios, main,
    print_table, run_checks, short, verdict,
)

if __name__ == "__main__":
    sys.exit(main())
