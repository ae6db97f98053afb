"""notification's HTTP edge for the SMS and ZNS gateways (its own process): `POST /notification/receipts`
takes a gateway's delivery receipt, checks its signature (HMAC-SHA256 of the raw body) before anything
is read, and records it once however often, late or early it comes. Answers: 200 recorded (or known
already), 401 bad signature, 400 not a receipt, 404 no such message (the gateway stops retrying on 4xx)."""
from __future__ import annotations

from typing import Mapping

from motcua_common.config.services import service
from motcua_common.config.settings import Settings
from motcua_common.edge.http_callbacks import Reply, make_server, request_header, serve_until_signalled
from motcua_common.errors import InvalidArgument, MotcuaError, NotFound
from motcua_common.events.context import Actor
from motcua_common.observability.logs import configure, get_logger

from motcua_notification.adapters.receipts import SIGNATURE_HEADER, ReceiptRefused, parse_receipt
from motcua_notification.application import NotificationApplication

log = get_logger()
GATEWAY_ACTOR = Actor.system("notification.receipts")
RECEIPTS_PATH = "/notification/receipts"


def receipt_callback(app: NotificationApplication, secret: str, body: bytes, signature: str) -> Reply:
    """Verify, record, answer. Refusals are logged by reason only (a receipt names a phone's message)."""
    if not secret:
        log.warning("receipt_refused", reason="RECEIPTS_NOT_CONFIGURED")
        return Reply.json({"error": "RECEIPTS_NOT_CONFIGURED"}, 503)
    try:
        receipt = parse_receipt(body, signature, secret)
    except ReceiptRefused as refused:
        bad_signature = str(refused) == "bad signature"
        log.warning("receipt_refused", reason="BAD_SIGNATURE" if bad_signature else "MALFORMED_RECEIPT")
        return Reply.json({"error": "BAD_SIGNATURE" if bad_signature else "MALFORMED_RECEIPT"},
                          401 if bad_signature else 400)
    try:
        view = app.record_receipt(receipt, GATEWAY_ACTOR)
    except (NotFound, InvalidArgument):
        log.warning("receipt_refused", reason="UNKNOWN_MESSAGE")
        return Reply.json({"error": "UNKNOWN_MESSAGE"}, 404)
    except MotcuaError as refused:
        log.warning("receipt_refused", reason=type(refused).__name__)
        return Reply.json({"error": type(refused).__name__}, 409)
    log.info("receipt_recorded", message_id=str(view["id"]), outcome=receipt.outcome, status=view["status"],
             dossier_code=view["dossier_code"])
    return Reply.json({"status": view["status"]})


def create_server(app: NotificationApplication, secret: str, address: str):  # type: ignore[no-untyped-def]
    def receipts(body: bytes, query: Mapping[str, str]) -> Reply:
        return receipt_callback(app, secret, body, request_header(SIGNATURE_HEADER))

    return make_server(address, posts={RECEIPTS_PATH: receipts})


def callback_address(settings: Settings) -> str:
    """Where the receipts edge listens (MOTCUA_NOTIFICATION_CALLBACK_ADDRESS; 127.0.0.1:8054 by default)."""
    return settings.notification_callback_address or f"127.0.0.1:{service('notification').callback_port}"


def main() -> None:
    from motcua_notification.bootstrap import bootstrap, receipts_secret

    settings = Settings.from_env()
    configure(service="notification", process="callback", level=settings.log_level)
    app = bootstrap(settings)
    secret = receipts_secret(settings)
    server = create_server(app, secret, callback_address(settings))
    log.info("http_callbacks_serving", address=callback_address(settings), port=server.server_address[1],
             receipts_configured=bool(secret))
    serve_until_signalled(server)


if __name__ == "__main__":
    main()
