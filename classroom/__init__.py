"""A whole class on one MLflow tracking server: the server, the roster, the gradebook.

``python -m classroom serve|provision|gradebook`` (see INSTRUCTORS.md). Each student
gets a workspace of their own on a server with basic auth; the instructor grades every
workspace from the server, each student in an isolated process with a time limit.
"""
