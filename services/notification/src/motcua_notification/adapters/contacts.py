"""Contacts looked up from intake when sending (nameko RPC `applicant_contact`): intake holds
applicants' personal data sealed per person, so an erased person has no contact and gets no message.
Nothing looked up is stored or logged here."""
from __future__ import annotations

from typing import Any, Callable
from uuid import UUID


class ContactUnavailable(RuntimeError):
    """intake did not answer: the message stays due and is tried on the next tick."""


class IntakeContacts:
    def __init__(self, lookup: Callable[[str, str, str], Any]) -> None:
        self.lookup = lookup  # (dossier id, subject id, channel) -> address or None

    def address(self, recipient: str, channel: str, dossier_id: UUID | None = None) -> str | None:
        try:
            found = self.lookup(str(dossier_id or ""), recipient, channel)
        except Exception as error:  # noqa: BLE001 - a timeout or intake's remote error: not "no contact"
            raise ContactUnavailable(f"intake did not answer the contact lookup: {type(error).__name__}") from None
        return str(found) if found else None
