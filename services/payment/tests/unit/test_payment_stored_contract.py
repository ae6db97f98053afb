"""Every event shape payment ever stored still loads (motcua_common.events.stored_contract)."""
from __future__ import annotations

from pathlib import Path

from motcua_common.audit.access import AccessDenied, DossierRead
from motcua_common.events.idempotency import IdempotencyRecord
from motcua_common.events.stored_contract import check_contract

from motcua_payment.domain.invoice import Invoice, OrderReference
from motcua_payment.domain.receipts import ReceiptSeries
from motcua_payment.domain.reconciliation import BankCredit, Reconciliation


def test_every_event_shape_payment_ever_stored_still_loads():
    assert check_contract([Invoice, OrderReference, ReceiptSeries, Reconciliation, BankCredit, IdempotencyRecord,
                           DossierRead, AccessDenied], Path(__file__).parents[1] / "stored_events") == []
