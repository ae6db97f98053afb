"""SearchDossiers' index is a projection of intake's own log: written with the dossier's events,
following its national status, and rebuilt from position 0 into exactly the live rows."""
from __future__ import annotations

from motcua_intake.application import DossierQuery

from intake_testkit import OFFICIAL, command


def rows(app) -> list[tuple]:  # type: ignore[no-untyped-def]
    with app.pool.connection() as conn:
        return conn.execute(f"SELECT * FROM {app.dossier_index.table} ORDER BY dossier_id").fetchall()


def test_the_index_follows_each_dossier_and_a_rebuild_gives_the_live_rows(intake_app, province):
    from motcua_common.events.replay import Replayer
    from motcua_intake.bootstrap import replay_targets

    received = intake_app.submit_dossier(command(), OFFICIAL)
    pending = intake_app.submit_dossier(command(components=[]), OFFICIAL)
    refused = intake_app.submit_dossier(command(components=[]), OFFICIAL)
    asked = intake_app.request_supplement("ix-1", pending["id"], pending["version"], "Nộp tờ khai", OFFICIAL)
    intake_app.refuse_dossier("ix-2", refused["id"], refused["version"], "Không thuộc thẩm quyền", OFFICIAL)
    withdrawn = intake_app.withdraw_dossier("ix-3", received["id"], received["version"], "Không cần nữa", OFFICIAL)

    def status(code: str) -> int:
        found, _ = intake_app.search_dossiers(DossierQuery(dossier_code=code))
        return found[0]["national_status"]

    assert (status(received["code"]), status(pending["code"]), status(refused["code"])) == (7, 5, 3)
    completed = intake_app.supplement_dossier("ix-4", pending["id"], asked["version"], command().components, OFFICIAL)
    assert status(pending["code"]) == 2
    found, _ = intake_app.search_dossiers(DossierQuery(dossier_code=pending["code"]))
    assert found[0]["version"] == completed["version"] and found[0]["appointment_at"] == completed["appointment_at"]
    assert withdrawn["national_status"] == 7

    live = rows(intake_app)
    assert len(live) == 3
    with intake_app.pool.connection() as conn:  # damage one row: the comparison must notice
        conn.execute(f"UPDATE {intake_app.dossier_index.table} SET national_status = 9 WHERE dossier_id = %s",
                     (received["id"],))
    settings = province.settings()
    target = replay_targets(settings)[0]
    rebuilt = Replayer(settings.postgres_conninfo(), target).run()
    assert (rebuilt.missing_from_live, rebuilt.extra_in_live, rebuilt.swapped) == (1, 1, True)
    assert rows(intake_app) == live


def test_search_shows_and_finds_6_from_payments_standing_as_get_dossier_does(intake_app):
    dossier = intake_app.submit_dossier(command(), OFFICIAL)

    def write(awaiting: bool, online_flag: int | None, position: int) -> None:
        with intake_app.pool.connection() as conn:
            conn.execute(intake_app.payment_standing.upsert_sql, (dossier["id"], awaiting, online_flag, position))

    def searched(national_status: int = 0) -> list[int]:
        found, _ = intake_app.search_dossiers(DossierQuery(dossier_code=dossier["code"],
                                                           national_status=national_status))
        return [r["national_status"] for r in found]

    assert searched() == [2]
    write(True, None, 1)
    assert searched() == [6] == [intake_app.get_dossier(dossier["id"])["national_status"]]
    assert (searched(6), searched(2)) == ([6], [])
    write(False, 1, 2)
    assert searched() == [2] and (searched(6), searched(2)) == ([], [2])
    assert intake_app.get_dossier(dossier["id"])["payment_online_flag"] == 1
    write(True, None, 1)  # an older position told again changes nothing
    assert searched() == [2]
