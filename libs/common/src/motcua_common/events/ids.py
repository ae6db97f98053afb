"""Deterministic ids. The province is part of every namespace, because merged
provinces merge their histories and ids must never collide."""
from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5


def province_namespace(province: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"urn:motcua:province:{province}")


def deterministic_id(province: str, kind: str, *parts: str) -> UUID:
    return uuid5(province_namespace(province), "|".join((kind, *parts)))


def platform_id(province: str) -> UUID:
    """The correlation id of events about no dossier (e.g. a refused listing): never a dossier's id."""
    return deterministic_id(province, "platform")
