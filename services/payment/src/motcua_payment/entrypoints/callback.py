"""payment's HTTP edge for the gateway (its own process): `POST /paygov/callback` takes PayGov's
signed callback, verifies it before anything is recorded, records the payment once however often,
late or out of order it comes, and answers as the protocol says (adapters/paygov.answer);
`GET /paygov/return` is the page the payer's browser comes back to (it records nothing: only the
signed server-to-server callback does)."""
from __future__ import annotations

import json
from typing import Mapping

from motcua_common.config.services import service
from motcua_common.config.settings import Settings
from motcua_common.edge.http_callbacks import Reply, make_server, serve_until_signalled
from motcua_common.errors import MotcuaError, NotFound, RuleViolated
from motcua_common.events.context import Actor
from motcua_common.observability.logs import configure, get_logger
from motcua_common.observability.telemetry import meter

from motcua_payment.adapters.bank import BAD_SIGNATURE, CreditRefused, verify_credit
from motcua_payment.adapters.bank import answer as bank_answer
from motcua_payment.adapters.paygov import CallbackRefused, answer, verify_callback
from motcua_payment.application import PaymentApplication

log = get_logger()
GATEWAY_ACTOR = Actor.system("payment.paygov-callback")
CALLBACK_PATH = "/paygov/callback"
RETURN_PATH = "/paygov/return"
RETURN_PAGE = """<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Kết quả thanh toán</title></head>
<body><h1>Đã nhận yêu cầu thanh toán</h1><p>Kết quả thanh toán được cổng thanh toán gửi trực tiếp cho hệ thống.
Vui lòng tra cứu hồ sơ để xem trạng thái thanh toán.</p></body></html>"""


def paygov_callback(app: PaymentApplication, body: bytes) -> Reply:
    """Verify (nothing is read before the checksum holds), record, answer. Refusals are logged by
    reason and field only: the callback's fields may describe the payer."""
    try:
        fields = json.loads(body)
    except ValueError:
        fields = None
    if not isinstance(fields, dict):
        log.warning("paygov_callback_refused", reason="MALFORMED_BODY")
        _callbacks.add(1, {"outcome": "refused", "reason": "MALFORMED_BODY"})
        return Reply.json(answer(False, "MALFORMED_BODY"), 400)
    if app.gateway is None:
        log.warning("paygov_callback_refused", reason="GATEWAY_NOT_CONFIGURED")
        _callbacks.add(1, {"outcome": "refused", "reason": "GATEWAY_NOT_CONFIGURED"})
        return Reply.json(answer(False, "GATEWAY_NOT_CONFIGURED"))
    try:
        result = verify_callback(app.gateway, fields, app.clock.now())
    except CallbackRefused as refused:
        log.warning("paygov_callback_refused", reason=refused.reason, field=refused.field)
        _callbacks.add(1, {"outcome": "refused", "reason": refused.reason})
        return Reply.json(answer(False, refused.reason))
    try:
        view = app.record_gateway_result(result, GATEWAY_ACTOR)
    except NotFound:
        log.warning("paygov_callback_refused", reason="UNKNOWN_ORDER", order_id=result.order_id)
        _callbacks.add(1, {"outcome": "refused", "reason": "UNKNOWN_ORDER"})
        return Reply.json(answer(False, "UNKNOWN_ORDER"))
    except RuleViolated as refused:
        log.warning("paygov_callback_refused", reason=refused.reason, order_id=result.order_id)
        _callbacks.add(1, {"outcome": "refused", "reason": refused.reason})
        return Reply.json(answer(False, refused.reason))
    except MotcuaError as refused:
        log.warning("paygov_callback_refused", reason=type(refused).__name__, order_id=result.order_id)
        _callbacks.add(1, {"outcome": "refused", "reason": type(refused).__name__})
        return Reply.json(answer(False, type(refused).__name__))
    log.info("paygov_callback_recorded", order_id=result.order_id, succeeded=result.succeeded,
             dossier_code=view["dossier_code"], status=view["status"], held=view.get("held", ""))
    # held: a double payment kept for an official (answered SUCCESSFUL so the gateway stops retrying)
    _callbacks.add(1, {"outcome": "held" if view.get("held") else "recorded",
                       "reason": "DOUBLE_PAYMENT" if view.get("held") else ("PAID" if result.succeeded else "FAILED")})
    return Reply.json(answer(True))


def create_server(app: PaymentApplication, address: str):  # type: ignore[no-untyped-def]
    def callback(body: bytes, query: Mapping[str, str]) -> Reply:
        return paygov_callback(app, body)

    def credit(body: bytes, query: Mapping[str, str]) -> Reply:
        return bank_credit(app, body)

    return make_server(address, posts={CALLBACK_PATH: callback, BANK_CREDIT_PATH: credit},
                       gets={RETURN_PATH: lambda body, query: Reply.html(RETURN_PAGE)})


def callback_address(settings: Settings) -> str:
    """Where the callback edge listens (MOTCUA_PAYMENT_CALLBACK_ADDRESS, host:port; 127.0.0.1:8053 by default)."""
    return settings.payment_callback_address or f"127.0.0.1:{service('payment').callback_port}"


def main() -> None:
    from motcua_payment.bootstrap import bootstrap

    settings = Settings.from_env()
    configure(service="payment", process="callback", level=settings.log_level)
    app = bootstrap(settings)
    server = create_server(app, callback_address(settings))
    log.info("http_callbacks_serving", address=callback_address(settings), port=server.server_address[1],
             gateway_configured=app.gateway is not None)
    serve_until_signalled(server)


BANK_CREDIT_PATH = "/bank/credit"
BANK_ACTOR = Actor.system("payment.bank-credit")


def bank_credit(app: PaymentApplication, body: bytes) -> Reply:
    """The bank's credit notification (VietQR transfers to the collecting account): its signature is
    checked before any field is read (adapters/bank.py); a verified credit pays its invoice or is
    held for an official, and is answered 200 either way (told again: the same answer, nothing new).
    Refusals answer 401 (signature) or 400 (anything else), logged by reason and field only."""
    if app.bank is None:
        log.warning("bank_credit_refused", reason="BANK_NOT_CONFIGURED")
        _bank_credits.add(1, {"outcome": "refused", "reason": "BANK_NOT_CONFIGURED"})
        return Reply.json(bank_answer(False, "BANK_NOT_CONFIGURED"), 503)
    try:
        notice = verify_credit(app.bank, body, app.clock.now())
    except CreditRefused as refused:
        log.warning("bank_credit_refused", reason=refused.reason, field=refused.field)
        _bank_credits.add(1, {"outcome": "refused", "reason": refused.reason})
        return Reply.json(bank_answer(False, refused.reason), 401 if refused.reason == BAD_SIGNATURE else 400)
    try:
        outcome = app.record_bank_credit(notice, BANK_ACTOR)
    except MotcuaError as failed:  # a race lost three times, or a reference the invoice cannot hold
        log.warning("bank_credit_not_recorded", reason=type(failed).__name__, reference=notice.reference)
        _bank_credits.add(1, {"outcome": "not_recorded", "reason": type(failed).__name__})
        return Reply.json(bank_answer(False, type(failed).__name__), 409)
    log.info("bank_credit_recorded", reference=notice.reference, outcome=outcome["outcome"],
             discrepancy=outcome["discrepancy_id"])
    _bank_credits.add(1, {"outcome": outcome["outcome"],
                          "reason": outcome["discrepancy_id"].split(":", 1)[0] if outcome["discrepancy_id"] else ""})
    return Reply.json(bank_answer(True, outcome["outcome"]))


# The edge's Prometheus metrics (served on MOTCUA_METRICS_PORT, as every process's: configure() sets it up).
# reason is a closed set (the verifier's and the invoice's refusal codes, the discrepancy kinds), never a field.
_callbacks = meter().create_counter(
    "motcua.payment.callbacks", description="gateway callbacks answered, by outcome (recorded, held, refused) and reason")
_bank_credits = meter().create_counter(
    "motcua.payment.bank_credits", description="bank credit notifications, by outcome (paid, held, refused) and reason")


if __name__ == "__main__":
    main()
