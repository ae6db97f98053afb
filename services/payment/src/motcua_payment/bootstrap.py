"""The composition root: environment -> objects. Nothing is built at import time."""
from __future__ import annotations

import sys
from pathlib import Path

from motcua_common.config.settings import ConfigurationError, Settings
from motcua_common.events.consumer import UpstreamFollower
from motcua_common.events.replay import own_read_model
from motcua_common.runtime.service_setup import make_clock, make_pool, setup_service_schema

from motcua_payment.adapters import published
from motcua_payment.adapters import ledger
from motcua_payment.adapters.fees_file import load_fee_book
from motcua_payment.adapters.bank import BankConfig
from motcua_payment.adapters.paygov import PayGovClient, PayGovConfig
from motcua_payment.adapters.read_model import (GatewayLedgerTable, InvoiceSummaries, PostgresGatewayLedger,
                                                PostgresInvoiceSummaries)
from motcua_payment.application import PaymentApplication
from motcua_payment.domain.vietqr import Beneficiary
from motcua_payment.policies import IntakePolicies, WorkflowPolicies

SERVICE = "payment"


def gateway_config(settings: Settings) -> PayGovConfig | None:
    """The online gateway (MOTCUA_PAYGOV_URL, _PARTNER_CODE, _ACCESS_KEY, and the secret's file
    MOTCUA_PAYGOV_SECRET_FILE); None when MOTCUA_PAYGOV_URL is unset (online payment is off)."""
    if not settings.paygov_url:
        return None
    if not settings.paygov_secret_file:
        raise ConfigurationError("MOTCUA_PAYGOV_SECRET_FILE is required with MOTCUA_PAYGOV_URL")
    return PayGovConfig(settings.paygov_url, settings.paygov_partner_code, settings.paygov_access_key,
                        Path(settings.paygov_secret_file).read_text(encoding="utf-8").strip())


def beneficiary(settings: Settings) -> Beneficiary | None:
    """The collecting account of VietQR codes (MOTCUA_VIETQR_BANK_BIN, MOTCUA_VIETQR_ACCOUNT); None: no codes."""
    if not settings.vietqr_account:
        return None
    return Beneficiary(settings.vietqr_bank_bin, settings.vietqr_account)


def bootstrap(settings: Settings | None = None) -> PaymentApplication:
    settings = settings or Settings.from_env()
    pool = make_pool(settings)
    gateway = gateway_config(settings)
    app = PaymentApplication(env=settings.eventsourcing_env(SERVICE), province=settings.province,
                             clock=make_clock(settings), index=PostgresInvoiceSummaries(pool, SERVICE),
                             gateway=gateway, beneficiary=beneficiary(settings),
                             return_url=settings.payment_return_url,
                             fees=load_fee_book(Path(settings.data_dir) / "fees.yaml"),
                             ledger=ledger.PostgresLedger(pool, SERVICE),
                             gateway_ledger=PostgresGatewayLedger(pool, SERVICE),
                             gateway_client=PayGovClient(gateway) if gateway is not None else None,
                             bank=bank_config(settings))
    app.publication = published.publication()
    return app


def intake_follower(app: PaymentApplication, settings: Settings) -> UpstreamFollower:
    fees = load_fee_book(Path(settings.data_dir) / "fees.yaml")
    return UpstreamFollower(app, "intake", IntakePolicies(settings.province, fees), clock=app.clock,
                            province=settings.province)


def workflow_follower(app: PaymentApplication, settings: Settings) -> UpstreamFollower:
    """workflow's CaseStopped (a dossier refused during processing) ends its invoice."""
    fees = load_fee_book(Path(settings.data_dir) / "fees.yaml")
    return UpstreamFollower(app, "workflow", WorkflowPolicies(settings.province, fees), clock=app.clock,
                            province=settings.province)


def _own_tables(conn, schema: str) -> None:  # type: ignore[no-untyped-def]
    InvoiceSummaries.create_table(conn, schema)
    ledger.create_tables(conn, schema)
    GatewayLedgerTable.create_table(conn, schema)


def setup_schema(settings: Settings | None = None) -> None:
    setup_service_schema(settings or Settings.from_env(), SERVICE, PaymentApplication, _own_tables)


def replay_targets(settings: Settings) -> list:
    """What `motcua-replay rebuild payment` rebuilds: the invoice summaries, from payment's own log."""
    return [own_read_model(SERVICE, "invoice_summaries", ("invoice_id",), lambda table: InvoiceSummaries(SERVICE, table)),
            own_read_model(SERVICE, "receipts", ("symbol", "number"),
                           lambda table: ledger.LedgerTable(SERVICE, "receipts", table)),
            own_read_model(SERVICE, "receipt_lines", ("symbol", "number", "line_no"),
                           lambda table: ledger.LedgerTable(SERVICE, "receipt_lines", table)),
            own_read_model(SERVICE, "refunds", ("invoice_id", "refund_key"),
                           lambda table: ledger.LedgerTable(SERVICE, "refunds", table)),
            own_read_model(SERVICE, "gateway_ledger", ("invoice_id",), lambda table: GatewayLedgerTable(SERVICE, table))]


def bank_config(settings: Settings) -> BankConfig | None:
    """The bank's credit notifications (MOTCUA_BANK_SECRET_FILE, for the VietQR account
    MOTCUA_VIETQR_ACCOUNT); None: the edge refuses them (BANK_NOT_CONFIGURED)."""
    if not settings.bank_secret_file:
        return None
    if not settings.vietqr_account:
        raise ConfigurationError("MOTCUA_VIETQR_ACCOUNT is required with MOTCUA_BANK_SECRET_FILE")
    return BankConfig(settings.vietqr_account, Path(settings.bank_secret_file).read_text(encoding="utf-8").strip())


if __name__ == "__main__" and sys.argv[1:] == ["setup-schema"]:
    setup_schema()
