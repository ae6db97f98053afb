"""Tracing is configured by environment: each exporter starts, bad settings are refused by name.
(setup() configures a whole process once, so each case runs in a fresh interpreter.)"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = """
from motcua_common.observability.telemetry import setup, tracer
setup("probe", "test")
with tracer().start_as_current_span("probe-span") as span:
    print("sampled" if span.get_span_context().trace_flags.sampled else "dropped")
"""


def run(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "MOTCUA_METRICS_PORT": "0", **env})


@pytest.mark.parametrize("exporter", ["none", "console", "otlp"])
def test_each_exporter_starts(exporter):
    # otlp points at a closed port: exporting fails quietly in the background, the process does not.
    result = run(MOTCUA_TRACES_EXPORTER=exporter, OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9")
    assert result.returncode == 0, result.stderr
    assert "sampled" in result.stdout
    if exporter == "console":
        assert '"name": "probe-span"' in result.stdout


def test_sampling_ratio_zero_drops_new_traces():
    assert "dropped" in run(MOTCUA_TRACES_SAMPLE_RATIO="0").stdout


@pytest.mark.parametrize("variable, value", [("MOTCUA_TRACES_EXPORTER", "zipkin"),
                                             ("MOTCUA_TRACES_SAMPLE_RATIO", "2"),
                                             ("MOTCUA_TRACES_SAMPLE_RATIO", "half")])
def test_a_bad_setting_is_refused_by_name(variable, value):
    result = run(**{variable: value})
    assert result.returncode != 0 and variable in result.stderr
