"""Time is an input: outside production the province's clock can be moved forward, and every
process of the province reads the same time from it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from motcua_common.config.clock import ClockMovedBackwards
from motcua_common.events.store import make_transcoder

from intake_testkit import OFFICIAL, command

pytestmark = pytest.mark.integration


@pytest.fixture
def settable(province):  # type: ignore[no-untyped-def]
    from motcua_intake.bootstrap import bootstrap, setup_schema

    operator = province.use_settable_clock()
    settings = province.settings()
    setup_schema(settings)
    app = bootstrap(settings)
    yield app, operator
    app.close()


def test_events_and_deadlines_follow_the_moved_clock(settable):
    app, operator = settable
    operator.advance(timedelta(days=30))  # another process moves the province's clock
    dossier = app.submit_dossier(command(), OFFICIAL)
    received = next(n for n in app.recorder.select_notifications(start=1, limit=10)
                    if n.topic.endswith("Dossier.Received"))
    state = make_transcoder().decode(received.state)
    recorded_at = state["timestamp"]
    real_now = datetime.now(timezone.utc)
    assert timedelta(days=29) < recorded_at - real_now < timedelta(days=31)
    assert datetime.fromisoformat(state["envelope"]["occurred_at"]) == dossier["received_at"] <= recorded_at
    assert dossier["appointment_at"] > real_now + timedelta(days=30)


def test_the_clock_never_moves_backwards(settable):
    _, operator = settable
    with pytest.raises(ClockMovedBackwards):
        operator.advance(timedelta(hours=-1))
    with pytest.raises(ClockMovedBackwards):
        operator.set(datetime(2020, 1, 1, tzinfo=timezone.utc))


def test_motcua_clock_reads_the_provinces_env_file(province, tmp_path, monkeypatch, capsys):
    from motcua_common.config.clock import main
    from motcua_intake.bootstrap import setup_schema

    province.use_settable_clock()
    setup_schema(province.settings())
    env_file = tmp_path / "province.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in province.env.items() if k.startswith("MOTCUA_")))
    for key in [k for k in __import__("os").environ if k.startswith("MOTCUA_")]:
        monkeypatch.delenv(key)  # only the file says which province and which clock

    assert main(["--env-file", str(env_file), "advance", "2d"]) == 0

    assert province.query("SELECT offset_us FROM platform.clock WHERE id = 1") == [(2 * 86_400 * 1_000_000,)]
    shown = datetime.fromisoformat(capsys.readouterr().out.strip())
    assert shown > datetime.now(timezone.utc) + timedelta(days=1)
