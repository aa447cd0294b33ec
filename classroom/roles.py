"""A role in a student's workspace, made or completed on the class server: the student's
own (classroom/provision.py), the deactivated marker (classroom/students.py) and the
grading user's (classroom/grading_user.py).
"""

from __future__ import annotations


def ensure_role(auth, workspace: str, name: str, description: str, permissions) -> tuple[int, bool]:
    """The id of the role ``name`` in ``workspace`` with ``permissions``; True if anything was added.
    A new role gets ``description`` (a message, in the language spoken now)."""
    role = next((r for r in auth.list_roles(workspace) if r.name == name), None)
    granted, changed = set(), False
    if role is None:
        role = auth.create_role(workspace, name, str(description))
        changed = True
    else:
        granted = {(p.resource_type, p.resource_pattern, p.permission)
                   for p in auth.list_role_permissions(role.id)}
    for permission in permissions:
        if permission not in granted:
            auth.add_role_permission(role.id, *permission)
            changed = True
    return role.id, changed
