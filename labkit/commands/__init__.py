"""The lab's commands, ``python -m labkit ui|reset|demo|generate|data``, and the serving
bonus's (``test/serve_model.py``: ``serve``; ``test/test_requests.py``: ``request_checks``;
the model server itself: ``serving``): what a student or instructor runs, apart from what a
task script imports (``labkit``) and the maintainers' tools (``labkit.maintainers``)."""
