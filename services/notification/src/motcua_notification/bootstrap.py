"""The composition root: environment -> objects. Nothing is built at import time."""
from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

from motcua_common.config.settings import Settings
from motcua_common.events.consumer import UpstreamFollower
from motcua_common.events.replay import own_read_model
from motcua_common.runtime.service_setup import make_clock, make_pool, setup_service_schema

from motcua_notification.adapters import published
from motcua_notification.adapters.email_smtp import SmtpEmail
from motcua_notification.adapters.province_data import ProvinceNames
from motcua_notification.adapters.sms_brandname import BrandnameSms
from motcua_notification.adapters.tables import MessageSummaries, PostgresMessageSummaries, dossier_upsert
from motcua_notification.adapters.zalo_zns import ZaloZns
from motcua_notification.application import NotificationApplication
from motcua_notification.domain.message import RetryPolicy
from motcua_notification.domain.templates import EMAIL, SMS, ZNS, TemplateBook
from motcua_notification.policies import FallbackPolicy, IntakePolicies, Notices, PaymentPolicies, WorkflowPolicies
from motcua_notification.ports import Channel

SERVICE = "notification"


def bootstrap(settings: Settings | None = None) -> NotificationApplication:
    settings = settings or Settings.from_env()
    pool = make_pool(settings)
    app = NotificationApplication(
        env=settings.eventsourcing_env(SERVICE), province=settings.province, clock=make_clock(settings),
        templates=TemplateBook.from_file(Path(settings.data_dir) / "notification-templates.yaml"),
        retry=RetryPolicy(max_attempts=settings.notification_max_attempts,
                          base=timedelta(seconds=settings.notification_retry_base_seconds)),
        index=PostgresMessageSummaries(pool, SERVICE),
        channel_order=settings.notification_channels + settings.notification_fallback_channels)
    app.publication = published.publication()
    return app


def channels(settings: Settings) -> dict[str, Channel]:
    """The configured providers (a channel without one is not sent: its messages wait)."""
    configured: dict[str, Channel] = {}
    if settings.smtp_address:
        host, port = settings.smtp_address.rsplit(":", 1)
        configured[EMAIL] = SmtpEmail(host, int(port), settings.smtp_sender, settings.mail_domain)
    if settings.sms_gateway_url:
        configured[SMS] = BrandnameSms(settings.sms_gateway_url, settings.sms_api_key, settings.sms_brandname)
    if settings.zns_url:
        configured[ZNS] = ZaloZns(settings.zns_url, settings.zns_access_token)
    return configured


def receipts_secret(settings: Settings) -> str:
    """The secret delivery receipts are signed with (MOTCUA_MESSAGING_RECEIPTS_SECRET_FILE); empty: none."""
    if not settings.messaging_receipts_secret_file:
        return ""
    return Path(settings.messaging_receipts_secret_file).read_text(encoding="utf-8").strip()


def followers(app: NotificationApplication, settings: Settings) -> dict[str, UpstreamFollower]:
    names = ProvinceNames.from_file(Path(settings.data_dir) / "catalogue.yaml")
    notices = Notices(app, settings.notification_channels)
    policies = {
        "intake": IntakePolicies(notices, names, dossier_upsert(SERVICE)),
        "workflow": WorkflowPolicies(notices, names, settings.notification_rating_url),
        "payment": PaymentPolicies(notices, settings.notification_how_to_pay),
        SERVICE: FallbackPolicy(app),
    }
    return {upstream: UpstreamFollower(app, upstream, policy, clock=app.clock, province=settings.province)
            for upstream, policy in policies.items()}


def _own_tables(conn, schema: str) -> None:  # type: ignore[no-untyped-def]
    MessageSummaries.create_table(conn, schema)


def setup_schema(settings: Settings | None = None) -> None:
    setup_service_schema(settings or Settings.from_env(), SERVICE, NotificationApplication, _own_tables)


def replay_targets(settings: Settings) -> list:
    """What `motcua-replay rebuild notification` rebuilds: the message summaries, from its own log."""
    return [own_read_model(SERVICE, "message_summaries", ("message_id",),
                           lambda table: MessageSummaries(SERVICE, table))]


if __name__ == "__main__" and sys.argv[1:] == ["setup-schema"]:
    setup_schema()
