"""The maintainers' tools: what makes the student's files, never imported by a task script.

- ``markers``: the TODO markers of a solution, and the student's version they give;
- ``codegen``: writes ``code/task*.py`` from ``solutions/`` (TODO regions become stubs);
- ``script_texts`` and ``translation``: the scripts' texts and their Spanish;
- ``notebooks``: writes the task notebooks from the same source;
- ``generate_data``: the deterministic generator of ``data/devops_metrics.csv``.

Run them through the lab's commands: ``python -m labkit generate`` and
``python -m labkit data``.
"""
