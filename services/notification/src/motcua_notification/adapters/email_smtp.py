"""Email through SMTP (smtplib). SMTP knows no client reference to deduplicate on: the Message-ID is
derived from the message's reference, so a resend after a crash is at least recognisable as the same
mail (mail clients and archives collapse equal Message-IDs), but the server may hold two copies."""
from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage

from motcua_notification.ports import Accepted, Outgoing, SendFailed


@dataclass(frozen=True)
class SmtpEmail:
    host: str
    port: int
    sender: str  # e.g. "Một cửa Quảng Trị <khong-tra-loi@quangtri.gov.vn>"
    domain: str  # the right-hand side of Message-IDs
    timeout: float = 10.0

    def message_id(self, reference: str) -> str:
        return f"<{reference}@{self.domain}>"

    def send(self, outgoing: Outgoing) -> Accepted:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = outgoing.address
        mail["Subject"] = outgoing.rendered.subject
        mail["Message-ID"] = self.message_id(outgoing.reference)
        mail["Content-Language"] = outgoing.rendered.language
        mail.set_content(outgoing.rendered.body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as error:
            code = min(code for code, _ in error.recipients.values())
            raise SendFailed(f"recipient refused ({code})", permanent=code >= 500) from error
        except smtplib.SMTPResponseException as error:
            raise SendFailed(f"SMTP {error.smtp_code}", permanent=error.smtp_code >= 500) from error
        except (OSError, smtplib.SMTPException) as error:  # unreachable or cut off: the answer is unknown
            raise SendFailed(f"SMTP server unreachable: {type(error).__name__}") from error
        return Accepted(mail["Message-ID"])
