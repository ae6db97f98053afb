"""infra/observability: alert rules pass promtool, the Collector pipeline and the Grafana
dashboard pass their structure checks, and every metric they use is one the platform exports."""
from __future__ import annotations

import json
import re
import shutil
import subprocess

import jsonschema
import pytest
import yaml

from motcua_testkit.plugin import REPO

pytestmark = pytest.mark.chart

OBSERVABILITY = REPO / "infra" / "observability"
# What the processes export (asserted end to end in e2e-tests/test_observability.py).
EXPORTED = {"rpc_server_duration_milliseconds_count", "rpc_server_duration_milliseconds_bucket",
            "motcua_relay_backlog", "motcua_relay_published_total", "motcua_consumer_lag",
            "motcua_consumer_stuck_position", "motcua_consumer_stuck_since", "motcua_events_appended_total", "motcua_cases_overdue",
            "motcua_notification_messages_total", "motcua_notification_retries_total",
            "motcua_notification_give_ups_total", "motcua_payment_callbacks_total", "motcua_payment_bank_credits_total"}
METRIC = re.compile(r"\b(rpc_server_[a-z_]+|motcua_[a-z_]+)\b")


def test_alert_rules_pass_promtool():
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is installed by `make tools` (Debian package prometheus)")
    result = subprocess.run([promtool, "check", "rules", str(OBSERVABILITY / "alerts.yaml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_alerts_and_dashboard_use_only_exported_metrics():
    rules = yaml.safe_load((OBSERVABILITY / "alerts.yaml").read_text())
    exprs = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    dashboard = json.loads((OBSERVABILITY / "grafana-dashboard.json").read_text())
    exprs += [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {m for e in exprs for m in METRIC.findall(e)}
    assert used and used <= EXPORTED, used - EXPORTED


def test_every_alert_names_severity_and_summary():
    rules = yaml.safe_load((OBSERVABILITY / "alerts.yaml").read_text())
    for rule in (r for g in rules["groups"] for r in g["rules"]):
        assert rule["labels"]["severity"] in {"warning", "critical"} and rule["annotations"]["summary"]


DASHBOARD_SCHEMA = {
    "type": "object", "required": ["title", "uid", "panels", "schemaVersion"],
    "properties": {"panels": {"type": "array", "minItems": 1, "items": {
        "type": "object", "required": ["id", "type", "title", "gridPos", "targets"],
        "properties": {
            "type": {"enum": ["timeseries", "stat", "gauge", "table"]},
            "gridPos": {"type": "object", "required": ["x", "y", "w", "h"]},
            "targets": {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["refId", "expr"]}}}}}},
}


def test_the_dashboard_is_well_formed():
    dashboard = json.loads((OBSERVABILITY / "grafana-dashboard.json").read_text())
    jsonschema.validate(dashboard, DASHBOARD_SCHEMA)
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


COMPONENTS = {"type": "object", "minProperties": 1, "additionalProperties": {"type": ["object", "null"]}}
COLLECTOR_SCHEMA = {
    "type": "object", "required": ["receivers", "exporters", "service"], "additionalProperties": False,
    "properties": {
        "receivers": COMPONENTS, "processors": COMPONENTS, "exporters": COMPONENTS, "extensions": COMPONENTS,
        "connectors": COMPONENTS,
        "service": {"type": "object", "required": ["pipelines"], "additionalProperties": False, "properties": {
            "extensions": {"type": "array", "items": {"type": "string"}},
            "telemetry": {"type": "object"},
            "pipelines": {"type": "object", "minProperties": 1, "additionalProperties": {
                "type": "object", "required": ["receivers", "exporters"], "additionalProperties": False,
                "properties": {k: {"type": "array", "items": {"type": "string"}, "minItems": 1}
                               for k in ("receivers", "processors", "exporters")}}}}},
    },
}


def test_the_collector_pipeline_uses_only_components_it_defines():
    config = yaml.safe_load((OBSERVABILITY / "otel-collector.yaml").read_text())
    jsonschema.validate(config, COLLECTOR_SCHEMA)
    for name, pipeline in config["service"]["pipelines"].items():
        for kind in ("receivers", "processors", "exporters"):
            missing = set(pipeline.get(kind, [])) - set(config.get(kind, {}))
            assert not missing, f"pipeline {name} uses undefined {kind}: {missing}"
    assert set(config["service"]["extensions"]) <= set(config["extensions"])
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")  # the chart's default


def test_every_deployed_service_has_an_image_target_built_from_the_shared_dockerfile():
    bake = (REPO / "infra" / "docker" / "docker-bake.hcl").read_text()
    dockerfile = (REPO / "infra" / "docker" / "service.Dockerfile").read_text()
    values = yaml.safe_load((REPO / "charts" / "motcua" / "values.yaml").read_text())
    for service in values["services"]:
        assert f'target "{service}"' in bake and f'SERVICE = "{service}"' in bake
        assert (REPO / "services" / service / "pyproject.toml").exists()
    stages = re.findall(r"^FROM ", dockerfile, re.M)
    assert len(stages) == 2, "a build stage and a final stage"
    final = dockerfile.split("\nFROM ")[-1]
    assert "USER 10001" in final and "HEALTHCHECK" in final and "motcua_common.edge.healthcheck" in final
    assert "grpcio-tools" not in final and "pip install" not in final  # no build tools in the final stage
