"""Fixtures for reporting's tests: intake, workflow and reporting in-process on a private province."""
from __future__ import annotations

import pytest


@pytest.fixture
def services(province):  # type: ignore[no-untyped-def]
    from reporting_testkit import InProcessPlatform

    platform = InProcessPlatform(province.settings())
    yield platform
    platform.close()
