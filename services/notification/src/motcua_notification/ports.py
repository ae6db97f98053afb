"""What the notification use cases need from outside: a channel to send through, contacts to send to."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from motcua_notification.domain.templates import Rendered


@dataclass(frozen=True)
class Outgoing:
    reference: str  # the provider deduplicates on it
    address: str  # email address or phone number, looked up when sending, never stored in events
    rendered: Rendered


@dataclass(frozen=True)
class Accepted:
    provider_message_id: str


class SendFailed(Exception):
    """The provider did not accept the send (or its answer was lost)."""

    def __init__(self, reason: str, permanent: bool = False, retry_after: timedelta | None = None) -> None:
        self.reason, self.permanent, self.retry_after = reason, permanent, retry_after
        super().__init__(reason)


@dataclass(frozen=True)
class Receipt:
    """A provider's verified statement about one send (each adapter's parse_receipt makes it)."""

    reference: str
    provider_message_id: str
    outcome: str  # delivered / temporary_failure / permanent_failure
    reason: str
    at: datetime


class Channel(Protocol):
    def send(self, outgoing: Outgoing) -> Accepted: ...


class Contacts(Protocol):
    def address(self, recipient: str, channel: str, dossier_id: UUID | None = None) -> str | None:
        """The recipient's address on `channel` now (None: none on file); intake holds them (the
        dossier names where the applicant gave them)."""
