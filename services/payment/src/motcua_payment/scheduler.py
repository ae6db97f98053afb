"""When payment's time-driven work is due, on the platform clock (never the system's: tests and
simulations move the clock instead of sleeping). The worker's timer ticks every few seconds and
asks `run`; what each run records is idempotent, so a restart that runs it again early is harmless.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from motcua_common.errors import MotcuaError
from motcua_common.observability.logs import get_logger
from motcua_common.province.working_calendar import VIETNAM_TZ

log = get_logger()
SWEEP_EVERY = timedelta(minutes=15)
#: the gateway's statement of a day is read this long after the day ended (Vietnam time)
RECONCILE_AFTER = timedelta(hours=1)
#: a reconciliation that failed (gateway unreachable) is tried again this much later
RETRY_AFTER = timedelta(minutes=15)


class ReconciliationSchedule:
    def __init__(self, sweep_every: timedelta = SWEEP_EVERY) -> None:
        self.sweep_every = sweep_every
        self.next_sweep: datetime | None = None
        self.reconciled_through: date | None = None
        self.next_attempt: datetime | None = None

    def run(self, app: Any) -> None:
        from motcua_payment.application import RECONCILIATION_ACTOR

        now = app.clock.now()
        if self.next_sweep is None or now >= self.next_sweep:
            self.next_sweep = now + self.sweep_every
            try:
                changed = app.sweep_pending_gateway_payments()
            except Exception:  # noqa: BLE001 - the next sweep tries again; the timer must survive
                log.exception("gateway_sweep_failed")
            else:
                if changed:
                    log.info("gateway_sweep_recorded", count=changed)
        if app.gateway_client is None:
            return
        local = now.astimezone(VIETNAM_TZ)
        day = (local - RECONCILE_AFTER).date() - timedelta(days=1)
        if (self.reconciled_through is not None and self.reconciled_through >= day) or \
                (self.next_attempt is not None and now < self.next_attempt):
            return
        try:
            view = app.reconcile_day(day, RECONCILIATION_ACTOR)
        except (MotcuaError, OSError) as failed:
            self.next_attempt = now + RETRY_AFTER
            log.warning("daily_reconciliation_failed", day=day.isoformat(), reason=str(failed)[:200])
            return
        self.reconciled_through = day
        self.next_attempt = None
        log.info("daily_reconciliation_done", day=day.isoformat(), recorded_now=view["recorded_now"],
                 open=view["open"])
