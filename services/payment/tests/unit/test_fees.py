"""Discount rules on the catalogue's fee schedules: a dossier is charged by the schedule and rules in force
on the day it was received (Vietnam time), exemptions waive items, discounts round as stated and never stack.
The schedule's own validation is tested in libs/common (motcua_common.province.fees)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from motcua_common.province.fees import parse_fee_schedules, schedule_on
from motcua_testkit.plugin import DEMO_DATA

from motcua_payment.adapters.fees_file import FeeDataError, load_fee_book
from motcua_payment.domain.fees import (ChargeError, DiscountRule, Exemption, FeeBook, FeeItem, FeeSchedule,
                                        discounted, vietnam_day)


class Book:
    """The catalogue's schedules (the one of the day is what intake publishes with a received dossier) with
    payment's FeeBook of discount rules: charges a procedure as the invoicing policy does."""

    def __init__(self, schedules: list[FeeSchedule], rules: list[DiscountRule], book: FeeBook | None = None) -> None:
        self.schedules, self.book = schedules, book or FeeBook(rules)

    def charge(self, procedure: str, channel: str, at: datetime, *args, **kwargs):  # type: ignore[no-untyped-def]
        day = vietnam_day(at)
        schedule = schedule_on([s for s in self.schedules if s.procedure_code == procedure], day)
        return self.book.charge(schedule, channel, at, *args, procedure_code=procedure, **kwargs)


def demo_schedules() -> list[FeeSchedule]:
    """The demo catalogue's fee schedules (catalogue.yaml), as intake loads them."""
    import yaml

    data = yaml.safe_load((DEMO_DATA / "catalogue.yaml").read_text(encoding="utf-8"))
    return [s for p in data["procedures"]
            for s in parse_fee_schedules(p.get("fee_schedules"), "fee_schedules", str(p["code"]), date(2025, 7, 1))]

UTC = timezone.utc
CHARGE_ITEM = FeeItem("PHI", "phi", "Phí", 5_000, "Thông tư Y")


def schedule(amount: int, effective_from: date, procedure: str = "2.000884", group: str = "Chứng thực",
             exemptions: tuple[Exemption, ...] = ()) -> FeeSchedule:
    return FeeSchedule(procedure, group, effective_from, "before_processing", "UBND xã",
                       (FeeItem("LE_PHI", "le_phi", "Lệ phí", amount, "Thông tư X"), CHARGE_ITEM), exemptions)


def rule(percent: int, start: date, until: date | None = None, **kw) -> DiscountRule:  # type: ignore[no-untyped-def]
    return DiscountRule(f"R{percent}-{start}", "Giảm", "Nghị quyết Z", percent, start, until, **kw)


# -- effective dating ---------------------------------------------------------------------------
def test_the_schedule_of_the_day_received_in_vietnam_time_applies_at_the_boundary():
    book = Book([schedule(10_000, date(2017, 1, 1)), schedule(20_000, date(2026, 7, 1))], [])
    last_minute_before = datetime(2026, 6, 30, 16, 59, 59, tzinfo=UTC)  # 23:59:59 on 30 June in Vietnam
    first_minute = datetime(2026, 6, 30, 17, 0, tzinfo=UTC)  # 00:00 on 1 July in Vietnam (still 30 June in UTC)
    assert book.charge("2.000884", "desk", last_minute_before).lines[0].amount_vnd == 10_000
    assert book.charge("2.000884", "desk", first_minute).lines[0].amount_vnd == 20_000
    assert book.charge("2.000884", "desk", first_minute).received_on == date(2026, 7, 1)


def test_a_procedure_before_its_first_schedule_or_without_one_owes_nothing():
    book = Book([schedule(10_000, date(2026, 7, 1))], [])
    assert book.charge("2.000884", "desk", datetime(2026, 6, 1, tzinfo=UTC)).total_vnd == 0
    assert book.charge("1.001193", "online", datetime(2026, 8, 1, tzinfo=UTC)).lines == ()


def test_a_discount_rule_holds_from_its_first_to_its_last_day_inclusive():
    book = Book([schedule(10_000, date(2017, 1, 1))], [rule(50, date(2026, 1, 1), date(2026, 1, 31),
                                                                   channels=("online",))])
    def due(local_day: date) -> int:  # noqa: E306
        at = datetime(local_day.year, local_day.month, local_day.day, 8, tzinfo=UTC) - timedelta(hours=7)
        return book.charge("2.000884", "online", at).lines[0].amount_vnd
    assert [due(date(2025, 12, 31)), due(date(2026, 1, 1)), due(date(2026, 1, 31)), due(date(2026, 2, 1))] == [
        10_000, 5_000, 5_000, 10_000]


def test_a_time_without_zone_is_refused_naming_the_field():
    book = Book([schedule(10_000, date(2017, 1, 1))], [])
    with pytest.raises(ChargeError) as refused:
        book.charge("2.000884", "desk", datetime(2026, 1, 1))
    assert refused.value.field == "received_at"


# -- discounts by channel, group, procedure and kind ---------------------------------------------
def test_discounts_apply_by_channel_group_and_kind_only():
    book = Book([schedule(10_000, date(2017, 1, 1)), schedule(10_000, date(2017, 1, 1), "2.000635", "Hộ tịch")],
                   [rule(50, date(2025, 1, 1), channels=("online",), groups=("Chứng thực",), kinds=("le_phi",))])
    at = datetime(2026, 3, 2, 2, tzinfo=UTC)
    online = book.charge("2.000884", "online", at)
    assert [(l.item_code, l.amount_vnd, l.discount_rule) for l in online.lines] == [
        ("LE_PHI", 5_000, "R50-2025-01-01"), ("PHI", 5_000, "")]
    assert book.charge("2.000884", "desk", at).total_vnd == 15_000
    assert book.charge("2.000635", "online", at).total_vnd == 15_000


def test_the_largest_discount_applies_and_rules_never_stack():
    book = Book([schedule(10_000, date(2017, 1, 1))], [rule(30, date(2025, 1, 1)), rule(50, date(2025, 1, 1))])
    line = book.charge("2.000884", "online", datetime(2026, 3, 2, tzinfo=UTC)).lines[0]
    assert (line.discount_vnd, line.amount_vnd, line.discount_rule) == (5_000, 5_000, "R50-2025-01-01")


def test_a_hundred_percent_rule_makes_the_item_zero_dong():
    book = Book([schedule(8_000, date(2017, 1, 1))], [rule(100, date(2025, 1, 1), procedures=("2.000884",))])
    assert book.charge("2.000884", "online", datetime(2026, 3, 2, tzinfo=UTC)).total_vnd == 0


@settings(max_examples=200, deadline=None)
@given(amount=st.integers(0, 10**10), percent=st.integers(1, 100))
def test_the_discount_rounds_down_so_the_amount_due_rounds_up_to_the_whole_dong(amount, percent):
    discount = discounted(amount, percent)
    due = amount - discount
    assert isinstance(due, int) and 0 <= discount <= amount
    assert due * 100 >= amount * (100 - percent) > (due - 1) * 100  # due = ceil(amount * (100 - p) / 100)


@settings(max_examples=100, deadline=None)
@given(amount=st.integers(0, 10**9), quantity=st.integers(0, 50), percents=st.lists(st.integers(1, 100), max_size=4))
def test_a_charge_is_whole_dong_never_negative_and_never_above_the_schedule(amount, quantity, percents):
    book = Book([schedule(amount, date(2017, 1, 1))], [rule(p, date(2025, 1, 1)) for p in percents])
    charge = book.charge("2.000884", "online", datetime(2026, 3, 2, tzinfo=UTC), {"LE_PHI": quantity, "PHI": 0})
    expected = amount * quantity - max((discounted(amount * quantity, p) for p in percents), default=0)
    assert charge.total_vnd == (expected if quantity else 0)
    assert all(0 <= line.amount_vnd <= line.base_vnd for line in charge.lines)


# -- quantities and exemptions ------------------------------------------------------------------
def test_quantities_multiply_an_item_and_zero_leaves_it_out():
    book = Book([schedule(2_000, date(2017, 1, 1))], [])
    charge = book.charge("2.000884", "desk", datetime(2026, 3, 2, tzinfo=UTC), {"LE_PHI": 3, "PHI": 0})
    assert [(l.item_code, l.quantity, l.amount_vnd) for l in charge.lines] == [("LE_PHI", 3, 6_000)]


def test_an_exemption_waives_the_items_it_names_and_says_which_one_did():
    exemption = Exemption("HO_NGHEO", "Hộ nghèo", "Luật X", ("LE_PHI",))
    book = Book([schedule(10_000, date(2017, 1, 1), exemptions=(exemption,))],
                   [rule(50, date(2025, 1, 1))])
    charge = book.charge("2.000884", "online", datetime(2026, 3, 2, tzinfo=UTC), exemptions=["HO_NGHEO"])
    assert [(l.item_code, l.amount_vnd, l.exempt_by) for l in charge.lines] == [
        ("LE_PHI", 0, "HO_NGHEO"), ("PHI", 2_500, "")]


def test_an_exemption_without_items_waives_everything():
    book = Book([schedule(10_000, date(2017, 1, 1), exemptions=(Exemption("ALL", "Tất cả", "Luật X"),))], [])
    assert book.charge("2.000884", "desk", datetime(2026, 3, 2, tzinfo=UTC), exemptions=["ALL"]).total_vnd == 0


@pytest.mark.parametrize("kwargs, field", [
    ({"exemptions": ["KHONG_CO"]}, "exemptions"),
    ({"quantities": {"KHONG_CO": 1}}, "quantities"),
    ({"quantities": {"LE_PHI": -1}}, "quantities"),
    ({"channel": "fax"}, "channel"),
])
def test_unknown_exemptions_items_bad_quantities_and_channels_are_refused_naming_the_field(kwargs, field):
    book = Book([schedule(10_000, date(2017, 1, 1))], [])
    channel = kwargs.pop("channel", "desk")
    with pytest.raises(ChargeError) as refused:
        book.charge("2.000884", channel, datetime(2026, 3, 2, tzinfo=UTC), **kwargs)
    assert refused.value.field == field


# -- the province's data files ------------------------------------------------------------------
def test_the_demo_schedules_and_fee_file_charge_the_circular_226_amounts():
    book = Book(demo_schedules(), [], load_fee_book(DEMO_DATA / "fees.yaml"))
    at = datetime(2026, 3, 2, 2, tzinfo=UTC)
    copy = book.charge("2.000815", "desk", at, {"LE_PHI_HAI_TRANG_DAU": 2, "LE_PHI_TU_TRANG_BA": 3})
    assert copy.total_vnd == 2 * 2_000 + 3 * 1_000 and copy.due == "before_processing"
    assert book.charge("2.000884", "desk", at).total_vnd == 10_000
    assert book.charge("2.000884", "online", at).total_vnd == 5_000  # the example online rule
    assert book.charge("2.000884", "online", datetime(2027, 1, 1, 2, tzinfo=UTC)).total_vnd == 10_000
    assert book.charge("2.000635", "online", at).total_vnd == 0


def test_every_demo_discount_rule_names_procedures_of_the_catalogue():
    import yaml

    catalogue = {p["code"] for p in yaml.safe_load((DEMO_DATA / "catalogue.yaml").read_text())["procedures"]}
    named = {code for r in load_fee_book(DEMO_DATA / "fees.yaml").rules for code in r.procedures}
    assert named and named <= catalogue


@pytest.mark.parametrize("text, position", [
    ("schedules:\n- {procedure: '2.000884', group: G, due: before_result, collector: C, source: S}", "schedules"),
    ("discount_rules:\n- {code: R, name: N, legal_basis: L, percent: 150}", "discount_rules[0].percent"),
    ("discount_rules:\n- {code: R, name: N, legal_basis: L, percent: 50, effective_from: 2026-02-01,\n"
     "   effective_until: 2026-01-01}", "discount_rules[0].effective_until"),
])
def test_bad_fee_data_is_refused_with_its_position(tmp_path: Path, text, position):
    """fees.yaml holds discount rules and receipt templates only: a `schedules:` left there is refused."""
    path = tmp_path / "fees.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FeeDataError, match=position.replace("[", r"\[").replace("]", r"\]")):
        load_fee_book(path)


def test_the_charge_carries_the_schedules_clock_and_refund_rules():
    stopping = FeeSchedule("2.000884", "G", date(2017, 1, 1), "before_processing", "C",
                           (FeeItem("A", "le_phi", "N", 1_000, "L"),), refund_on={"withdrawn": "none"},
                           clock_stops_while_unpaid=True)
    charge = FeeBook([]).charge(stopping, "desk", datetime(2026, 3, 2, 2, tzinfo=UTC))
    assert charge.clock_stops_while_unpaid and dict(charge.refund_on) == {"withdrawn": "none"}
    assert FeeBook([]).charge(None, "desk", datetime(2026, 3, 2, 2, tzinfo=UTC), procedure_code="X").lines == ()
