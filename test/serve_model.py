"""Serve the staged model as a REST API: `python test/serve_model.py [--port N] [--lang es|en]`.

Serves models:/api-response-time@staging from the lab's store with
`mlflow models serve`, on 127.0.0.1, until you press Ctrl+C. Then, in another
terminal, send it requests: `python test/test_requests.py` or the curl commands
in README.md. It speaks the language of `--lang`, else of LAB_LANG, else of LANG
(labkit/commands/serve.py holds its lines and their Spanish).
"""

from __future__ import annotations

import sys

from labkit.commands.serve import main

if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl+C before the server started: nothing to stop
        sys.exit(130)
