"""What projections write for text PostgreSQL cannot hold (issue 17, 1b)."""
from __future__ import annotations

from datetime import datetime, timezone

from motcua_common.events.store import execute_in_order, storable


def test_nul_becomes_the_replacement_character_in_text_lists_and_dicts():
    assert storable("a\x00b") == "a\ufffdb"
    assert storable(("x\x00", 1, b"\x00", ["\x00"], {"k\x00": "v\x00"})) == (
        "x\ufffd", 1, b"\x00", ["\ufffd"], {"k\ufffd": "v\ufffd"})  # bytes (bytea) are kept as they are


def test_parameters_without_nul_are_passed_as_they_are():
    params = ("text", 3, datetime(2026, 12, 3, tzinfo=timezone.utc), None)
    assert storable(params) is params


class Cursor:
    def __init__(self) -> None:
        self.calls: list[tuple[str, list]] = []

    def executemany(self, sql: str, params: list) -> None:
        self.calls.append((sql, params))


def test_every_projection_write_is_mapped():
    cursor = Cursor()
    execute_in_order(cursor, [("INSERT a", ("r\x00",)), ("INSERT a", ("s",)), ("UPDATE b", ("t\x00",))])
    assert cursor.calls == [("INSERT a", [("r\ufffd",), ("s",)]), ("UPDATE b", [("t\ufffd",)])]
