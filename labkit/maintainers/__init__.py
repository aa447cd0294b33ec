"""The maintainers' tools: what makes the student's files, never imported by a task script.

- ``codegen``: writes ``code/task*.py`` from ``solutions/`` (TODO regions become stubs);
- ``notebooks``: writes the task notebooks from the same source;
- ``generate_data``: the deterministic generator of ``data/devops_metrics.csv``.

Run them through the lab's commands: ``python -m labkit generate`` and
``python -m labkit data``.
"""
