"""Where stored events' classes used to live: a module that moved keeps its old topics readable.

eventsourcing resolves an old topic once it is registered (`register_topic`); the pull API also
selects events by topic in SQL, so it must know every topic a class's events may be stored under.
"""
from __future__ import annotations

from types import ModuleType

from eventsourcing.utils import get_topic, register_topic

_OLD_MODULE_NAMES: dict[str, list[str]] = {}  # module's current name -> the names it was stored under


def register_moved_module(old_name: str, module: ModuleType) -> None:
    """`module` was `old_name` when some of its events were stored."""
    register_topic(old_name, module)
    names = _OLD_MODULE_NAMES.setdefault(module.__name__, [])
    if old_name not in names:
        names.append(old_name)


def stored_topics(cls: type) -> list[str]:
    """Every topic events of `cls` may be stored under: its own, then those of its module's old names."""
    current = get_topic(cls)
    qualname = current.partition(":")[2]
    return [current, *(f"{old}:{qualname}" for old in _OLD_MODULE_NAMES.get(cls.__module__, ()))]
