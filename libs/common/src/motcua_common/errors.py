"""Errors that cross the application boundary; the gRPC edge maps each to one status code."""
from __future__ import annotations

from dataclasses import dataclass


class MotcuaError(Exception):
    """Base of the errors an entrypoint may show to a caller."""


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


class InvalidArgument(MotcuaError):
    """A field of the request is malformed (-> INVALID_ARGUMENT with google.rpc.BadRequest)."""

    def __init__(self, violations: list[FieldViolation]) -> None:
        self.violations = violations
        super().__init__("; ".join(f"{v.field}: {v.description}" for v in violations))

    @classmethod
    def single(cls, field: str, description: str) -> "InvalidArgument":
        return cls([FieldViolation(field, description)])


class NotFound(MotcuaError):
    """The thing named by a field does not exist (-> NOT_FOUND)."""

    def __init__(self, field: str, description: str) -> None:
        self.field = field
        super().__init__(description)


class RuleViolated(MotcuaError):
    """The request is well formed but a business rule forbids it (-> FAILED_PRECONDITION)."""

    def __init__(self, reason: str, description: str) -> None:
        self.reason = reason
        super().__init__(description)


class Conflict(MotcuaError):
    """The aggregate changed since the caller read it (-> ABORTED); re-read and retry."""


class Unavailable(MotcuaError):
    """A service this call depends on did not answer (-> UNAVAILABLE); the caller may retry."""


class Overloaded(MotcuaError):
    """The edge has no room for this call now (-> RESOURCE_EXHAUSTED); retry after `retry_after` seconds."""

    def __init__(self, description: str, retry_after: float = 1.0) -> None:
        self.retry_after = retry_after
        super().__init__(description)


class DeadlineExceeded(MotcuaError):
    """The caller's deadline passed before the command was stored (-> DEADLINE_EXCEEDED); nothing was stored."""


class Unauthenticated(MotcuaError):
    """No access token, or one that does not verify (-> UNAUTHENTICATED)."""


class PermissionDenied(MotcuaError):
    """The verified caller may not do this here (-> PERMISSION_DENIED); the reason names no personal data."""
