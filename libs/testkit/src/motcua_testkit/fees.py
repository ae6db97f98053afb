"""Test helper: a fee schedule as intake publishes it in DossierReceived (its fee fields), so consumers'
tests build the events payment charges from."""
from __future__ import annotations

from motcua.intake.events.v1 import events_pb2 as pb
from motcua_common.province.fees import FeeSchedule


def received_fee_fields(schedule: FeeSchedule | None) -> dict:
    """DossierReceived keyword arguments for `schedule` in force that day (None: recorded, none in force)."""
    if schedule is None:
        return {"fee_schedule_recorded": True}
    return {"fee_schedule_recorded": True, "fee_due": schedule.due, "fee_collector": schedule.collector,
            "fee_group": schedule.group, "fee_schedule_from": schedule.effective_from.isoformat(),
            "clock_stops_while_unpaid": schedule.clock_stops_while_unpaid, "refund_on": dict(schedule.refund_on),
            "fee_items": [pb.FeeItem(code=i.code, kind=i.kind, name=i.name, unit=i.unit, amount_vnd=i.amount_vnd,
                                     legal_basis=i.legal_basis) for i in schedule.items],
            "fee_exemptions": [pb.FeeExemption(code=e.code, name=e.name, legal_basis=e.legal_basis,
                                               item_codes=list(e.items)) for e in schedule.exemptions]}
