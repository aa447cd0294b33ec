"""The lab's commands, ``python -m labkit ui|reset|demo|generate|data``, and the serving
bonus's model server (``test/serve_model.py``): what a student or instructor runs, apart
from what a task script imports (``labkit``) and the maintainers' tools (``labkit.maintainers``)."""
