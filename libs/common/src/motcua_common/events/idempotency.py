"""Idempotency keys: a retried command returns its first result instead of acting twice.

The record is an aggregate with a deterministic id saved in the same transaction
as the command's other events, so two concurrent tries cannot both succeed.
Reusing a key for a different request is refused rather than silently answered.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any
import sys
from uuid import UUID

from eventsourcing.domain import event
from motcua_common.events.topics import register_moved_module

from motcua_common.events.domain import MotcuaAggregate
from motcua_common.errors import InvalidArgument, RuleViolated
from motcua_common.events.ids import deterministic_id

MAX_KEY_LENGTH = 128


def fingerprint(request: Any) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


def check_key(key: str, field: str = "idempotency_key") -> None:
    if not key:
        raise InvalidArgument.single(field, "is required: choose a unique key per request and reuse it on retry")
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidArgument.single(field, f"must be at most {MAX_KEY_LENGTH} printable characters")


class IdempotencyRecord(MotcuaAggregate):
    @staticmethod
    def id_for(province: str, scope: str, caller: str, key: str) -> UUID:
        return deterministic_id(province, "idempotency", scope, caller, key)

    @event("Recorded")
    def __init__(self, id: UUID, scope: str, request_fingerprint: str, result_id: UUID, result_version: int) -> None:
        self.scope = scope
        self.request_fingerprint = request_fingerprint
        self.result_id = result_id
        self.result_version = result_version

    def replay_result(self, request_fingerprint: str) -> UUID:
        if request_fingerprint != self.request_fingerprint:
            raise RuleViolated("IDEMPOTENCY_KEY_REUSED",
                               "this idempotency_key was already used for a different request")
        return self.result_id


class IdempotentRequest:
    """One command's idempotency: look up the key first (`answered` is the first result's id, or
    None), then, inside the command context, `record()` the key with the result to save alongside."""

    def __init__(self, app: Any, province: str, scope: str, actor: Any, key: str, request: dict) -> None:
        check_key(key)
        caller = actor.client or actor.subject or actor.kind
        self.scope = scope
        self.record_id = IdempotencyRecord.id_for(province, scope, caller, key)
        self.fingerprint = fingerprint(request)
        existing = app.get_or_none(self.record_id)
        self.answered: UUID | None = existing.replay_result(self.fingerprint) if existing is not None else None

    def record(self, result_id: UUID, result_version: int) -> IdempotencyRecord:
        return IdempotencyRecord(id=self.record_id, scope=self.scope, request_fingerprint=self.fingerprint,
                                 result_id=result_id, result_version=result_version)


# Stored events name this module by its path before the library had rooms (e.g.
# "motcua_common.idempotency:...Recorded"): old topics resolve here.  (rooms-map: keep)
register_moved_module("motcua_common.idempotency", sys.modules[__name__])  # rooms-map: keep
