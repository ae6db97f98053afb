"""Brandname SMS over HTTP (the sandbox's protocol: infra/sandboxes/messaging_sandbox/README.md).

The gateway sends only templates registered with it: the message carries the provider's template id,
its parameters and the filled text (without diacritics where the gateway requires it). The message's
reference is the request_id the gateway deduplicates on.
"""
from __future__ import annotations

from dataclasses import dataclass

from motcua_notification.adapters.http_json import post_json, refused
from motcua_notification.ports import Accepted, Outgoing, SendFailed


@dataclass(frozen=True)
class BrandnameSms:
    url: str  # the gateway's base URL
    api_key: str
    brandname: str
    timeout: float = 10.0

    def send(self, outgoing: Outgoing) -> Accepted:
        rendered = outgoing.rendered
        if rendered.sms is None:
            raise SendFailed(f"template {rendered.template_id} has no SMS text", permanent=True)
        status, headers, answer = post_json(self.url.rstrip("/") + "/sms/send", {
            "api_key": self.api_key, "brandname": self.brandname, "phone": outgoing.address,
            "template_id": rendered.provider_template_id, "params": dict(rendered.parameters),
            "content": rendered.sms.text, "unicode": rendered.sms.encoding != "GSM-7",
            "request_id": outgoing.reference}, {}, self.timeout)
        if status == 200 and answer.get("code") == "00" and answer.get("message_id"):
            return Accepted(str(answer["message_id"]))
        raise refused(status, headers, str(answer.get("code", "")))
