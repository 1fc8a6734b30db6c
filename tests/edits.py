"""Editing a BOM's data at a field path, for the tests that break one field at a time."""

from __future__ import annotations

from typing import Any


class _Drop:
    """The field left out (a stable repr, so that test ids agree between workers)."""

    def __repr__(self) -> str:
        return "DROP"


DROP = _Drop()


def put(data: Any, path: str | tuple, value: Any) -> Any:
    """``data`` with the field at ``path`` set to ``value`` in place; a value of DROP removes it.
    ``path`` is a tuple of keys and list indices, or the same joined by dots (``materials.0.hs``)."""
    if isinstance(path, str):
        path = tuple(int(p) if p.isdigit() else p for p in path.split("."))
    *parents, last = path
    node = data
    for part in parents:
        node = node[part]
    if value is DROP:
        del node[last]
    else:
        node[last] = value
    return data
