"""Zalo ZNS over HTTP: POST /message/template with the access token in a header, the registered
template id, its parameters (template_data) and the reference as tracking_id; Zalo answers HTTP 200
with `error` 0 and `data.msg_id` when it accepts (the sandbox follows this shape: see its README)."""
from __future__ import annotations

from dataclasses import dataclass

from motcua_notification.adapters.http_json import post_json, refused
from motcua_notification.ports import Accepted, Outgoing, SendFailed

# errors that a retry cannot mend (an invalid token, phone, template or parameters); others are retried
PERMANENT_ERRORS = {-108, -109, -124, -1}


def international(phone: str) -> str:
    """0912345678 -> 84912345678 (ZNS takes numbers with the country code and no plus)."""
    digits = phone.lstrip("+")
    return "84" + digits[1:] if digits.startswith("0") else digits


@dataclass(frozen=True)
class ZaloZns:
    url: str  # the API's base URL
    access_token: str
    timeout: float = 10.0

    def send(self, outgoing: Outgoing) -> Accepted:
        rendered = outgoing.rendered
        if not rendered.provider_template_id:
            raise SendFailed(f"template {rendered.template_id} is not registered for ZNS", permanent=True)
        status, headers, answer = post_json(self.url.rstrip("/") + "/message/template", {
            "phone": international(outgoing.address), "template_id": rendered.provider_template_id,
            "template_data": dict(rendered.parameters), "tracking_id": outgoing.reference},
            {"access_token": self.access_token}, self.timeout)
        if status != 200:
            raise refused(status, headers, str(answer.get("error", "")))
        error = answer.get("error")
        if error == 0 and (answer.get("data") or {}).get("msg_id"):
            return Accepted(str(answer["data"]["msg_id"]))
        raise SendFailed(f"ZNS error {error}: {answer.get('message', '')}"[:200],
                         permanent=error in PERMANENT_ERRORS)
