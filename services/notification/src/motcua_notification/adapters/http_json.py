"""POST a JSON object with the standard library (no HTTP client is pinned in constraints.txt) and map
transport failures to a temporary SendFailed: the provider may or may not have the send, so the retry
carries the same reference."""
from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from datetime import timedelta

from motcua_notification.ports import SendFailed


def post_json(url: str, body: dict, headers: dict[str, str], timeout: float) -> tuple[int, dict, dict]:
    """(HTTP status, headers, JSON answer) of the POST; a lost connection raises SendFailed."""
    request = urllib.request.Request(url, data=json.dumps(body, ensure_ascii=False).encode("utf-8"), method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8", **headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            status, answer_headers, raw = answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        status, answer_headers, raw = error.code, dict(error.headers), error.read()
    except (OSError, socket.timeout) as error:  # refused, reset, timed out: the answer is unknown
        raise SendFailed(f"provider unreachable: {type(error).__name__}") from error
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        data = {}
    return status, answer_headers, data if isinstance(data, dict) else {}


def retry_after(headers: dict) -> timedelta | None:
    value = {k.lower(): v for k, v in headers.items()}.get("retry-after", "")
    return timedelta(seconds=int(value)) if value.isdigit() else None


def refused(status: int, headers: dict, code: str) -> SendFailed:
    """An HTTP refusal: 429 and 5xx are temporary (retry later), other 4xx permanent."""
    if status == 429:
        return SendFailed(f"rate limited ({code})", retry_after=retry_after(headers))
    return SendFailed(f"HTTP {status} {code}"[:200], permanent=400 <= status < 500)
