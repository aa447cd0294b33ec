"""Imported by the grading children's fork server (``PRELOAD`` in classroom/isolation.py): makes the
lab's split and the re-fits of what the lab's scripts log once, before any child is forked, so that
no child re-fits them (classroom/child.py, ``WARM``)."""

from classroom.child import warm

warm()
