"""A dossier's history as a signed JSON document, and its offline check.

The document is `{"payload": {...}, "signature": {...}}`. The signature (Ed25519) is over
the payload's canonical JSON (keys sorted, no spaces, UTF-8). Each event carries its
stored bytes (base64) and their hash, so the verifier recomputes every hash and every
per-aggregate link (`prev_hash`) itself: it trusts nothing in the document but the key.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from motcua_common.audit.log import GENESIS, Signer, TrustedKeys, public_key_text
from motcua_common.events.store import make_transcoder, stored_event_hash

FORMAT = "motcua-audit-export/1"


def canonical(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign_document(payload: dict, signer: Signer) -> bytes:
    signature = {
        "algorithm": "Ed25519",
        "key_id": signer.key_id,
        "public_key": public_key_text(signer.public_key),
        "value": base64.b64encode(signer.sign(canonical(payload))).decode(),
    }
    return json.dumps({"payload": payload, "signature": signature}, ensure_ascii=False, indent=1).encode()


@dataclass
class ExportCheck:
    events: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_document(document: bytes, trusted: TrustedKeys) -> ExportCheck:
    check = ExportCheck()
    try:
        parsed = json.loads(document)
        payload, signature = parsed["payload"], parsed["signature"]
    except (ValueError, KeyError, TypeError):
        check.problems.append("not a motcua history export: expected JSON with `payload` and `signature`")
        return check
    if payload.get("format") != FORMAT:
        check.problems.append(f"unknown format {payload.get('format')!r} (this verifier reads {FORMAT})")
        return check
    try:
        value = base64.b64decode(signature["value"], validate=True)
    except (KeyError, ValueError):
        check.problems.append("the signature is missing or not base64")
        return check
    if not trusted.verify(signature.get("key_id", ""), value, canonical(payload)):
        check.problems.append(f"the signature does not verify with a trusted key (document names key "
                              f"{signature.get('key_id', '?')}): the document was changed or signed by someone else")
    _check_events(payload.get("events", []), check)
    return check


def _check_events(events: list[dict], check: ExportCheck) -> None:
    """Recompute each event's hash from its stored bytes and each aggregate's links between consecutive versions."""
    transcoder = make_transcoder()
    last_of: dict[tuple[str, str], tuple[int, str]] = {}
    for number, event in enumerate(events, start=1):
        check.events += 1
        where = f"event {number} ({event.get('service')} {event.get('event_type')})"
        try:
            state = base64.b64decode(event["stored_state"], validate=True)
        except (KeyError, ValueError):
            check.problems.append(f"{where}: stored_state is missing or not base64")
            continue
        digest = stored_event_hash(event["topic"], state)
        if digest != event.get("stored_hash"):
            check.problems.append(f"{where}: stored bytes do not match their hash")
        key = (event["service"], event["aggregate_id"])
        version = int(event["aggregate_version"])
        prev_hash = transcoder.decode(state).get("envelope", {}).get("prev_hash")
        if version == 1 and prev_hash != GENESIS:
            check.problems.append(f"{where}: version 1 does not start its aggregate's chain")
        previous = last_of.get(key)
        if previous and previous[0] == version - 1 and prev_hash != previous[1]:
            check.problems.append(f"{where}: does not link to version {version - 1} of its aggregate")
        last_of[key] = (version, digest)


def export_event(service: str, position: int | None, aggregate_id: Any, version: int, topic: str, event_type: str,
                 recorded_at: Any, actor: dict, state: bytes, stored_hash: str) -> dict:
    return {
        "service": service, "position": position, "aggregate_id": str(aggregate_id), "aggregate_version": version,
        "topic": topic, "event_type": event_type, "recorded_at": recorded_at.isoformat(), "actor": actor,
        "stored_state": base64.b64encode(state).decode(), "stored_hash": stored_hash,
    }
