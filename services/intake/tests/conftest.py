from __future__ import annotations

import pytest


@pytest.fixture
def intake_app(province):  # type: ignore[no-untyped-def]
    from motcua_intake.bootstrap import bootstrap, setup_schema

    settings = province.settings()
    setup_schema(settings)
    app = bootstrap(settings)
    yield app
    app.close()


