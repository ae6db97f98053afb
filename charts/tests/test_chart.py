"""The Helm chart: lint, every province's release rendered and validated by kubeconform in
strict mode against offline Kubernetes schemas, secure defaults, isolation between
provinces, and bad values refused with a message naming the value."""
from __future__ import annotations

import shutil
import sys
import subprocess
from pathlib import Path

import pytest
import yaml

from motcua_testkit.plugin import REPO

pytestmark = pytest.mark.chart

CHART = REPO / "charts" / "motcua"
PROVINCES = sorted(p.stem for p in (CHART / "values").glob("*.yaml"))
K8S_VERSION = "1.31.0"
# Operator resources have no Kubernetes schema; they are skipped by name, never by
# ignoring every missing schema.
OPERATOR_KINDS = {"Cluster": "CloudNativePG's CRD", "RabbitmqCluster": "RabbitMQ cluster operator's CRD",
                  "Vhost": "RabbitMQ messaging topology operator's CRD",
                  "User": "RabbitMQ messaging topology operator's CRD",
                  "Permission": "RabbitMQ messaging topology operator's CRD"}


def tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(REPO / "build" / "tools" / "bin"))
    if found is None:
        pytest.skip(f"{name} is installed by `make tools` (go install); Go is missing here")
    return found


@pytest.fixture(scope="session")
def helm() -> str:
    binary = tool("helm")
    subprocess.run([binary, "dependency", "build", str(CHART)], check=True, capture_output=True)
    return binary


def render(helm: str, province: str, *extra: str, namespace: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([helm, "template", f"motcua-{province}", str(CHART), "-n", namespace or f"motcua-{province}",
                           "-f", str(CHART / "values" / f"{province}.yaml"), *extra], capture_output=True, text=True)


def manifests(helm: str, province: str, *extra: str) -> list[dict]:
    result = render(helm, province, *extra)
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


@pytest.fixture(scope="session")
def schemas(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("k8s-schemas")
    subprocess.run([sys.executable, str(REPO / "infra" / "k8s" / "standalone_schemas.py"), K8S_VERSION, str(out)],
                   check=True, capture_output=True)
    return out


def test_the_chart_passes_helm_lint(helm):
    result = subprocess.run([helm, "lint", str(CHART), "-n", "motcua-quang-tri", "-f", str(CHART / "values" / "quang-tri.yaml")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("province", PROVINCES)
def test_every_province_renders_and_validates_strictly(helm, schemas, province, tmp_path):
    assert len(PROVINCES) >= 4
    rendered = render(helm, province)
    assert rendered.returncode == 0, rendered.stderr
    path = tmp_path / f"{province}.yaml"
    path.write_text(rendered.stdout)
    print(f"skipped kinds: {', '.join(f'{k} ({why}: no Kubernetes schema)' for k, why in OPERATOR_KINDS.items())}")
    result = subprocess.run([tool("kubeconform"), "-strict", "-summary", "-kubernetes-version", K8S_VERSION,
                             "-schema-location", f"{schemas}/{{{{ .NormalizedKubernetesVersion }}}}-standalone"
                             "{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json",
                             "-skip", ",".join(OPERATOR_KINDS), str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Invalid: 0, Errors: 0" in result.stdout


def test_kubeconform_strict_refuses_an_unknown_field(helm, schemas, tmp_path):
    docs = manifests(helm, "quang-tri")
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContxt"] = {}
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(deployment))
    result = subprocess.run([tool("kubeconform"), "-strict", "-kubernetes-version", K8S_VERSION, "-schema-location",
                             f"{schemas}/{{{{ .NormalizedKubernetesVersion }}}}-standalone{{{{ .StrictSuffix }}}}"
                             "/{{ .ResourceKind }}{{ .KindSuffix }}.json", str(path)], capture_output=True, text=True)
    assert result.returncode != 0 and "securityContxt" in result.stdout


@pytest.mark.parametrize("province", PROVINCES)
def test_every_workload_has_the_secure_defaults(helm, province):
    docs = manifests(helm, province)
    pods = [(d["metadata"]["name"], d["spec"]["template"]["spec"]) for d in docs if d["kind"] in ("Deployment", "Job")]
    assert len([d for d in docs if d["kind"] == "Deployment"]) == 12  # grpc, worker, relay for intake, workflow, reporting, payment
    for name, pod in pods:
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        for container in pod["containers"]:
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True and sc["capabilities"]["drop"] == ["ALL"], name
            assert sc["allowPrivilegeEscalation"] is False, name
            assert container["resources"]["requests"] and container["resources"]["limits"], name
            if "Deployment" in [d["kind"] for d in docs if d["metadata"]["name"] == name]:
                assert {"readinessProbe", "livenessProbe"} <= set(container), name
    accounts = [d for d in docs if d["kind"] == "ServiceAccount"]
    assert accounts and all(a["automountServiceAccountToken"] is False for a in accounts)
    kinds = {d["kind"] for d in docs}
    assert {"PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy", "Ingress", "ConfigMap"} <= kinds


def test_no_secret_is_written_by_the_chart(helm):
    for province in PROVINCES:
        assert not [d for d in manifests(helm, province) if d["kind"] == "Secret"]


def test_the_grpc_ingress_routes_each_api_to_its_service(helm):
    ingress = next(d for d in manifests(helm, "quang-tri") if d["kind"] == "Ingress")
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/backend-protocol"] == "GRPC"
    routes = {p["path"]: p["backend"]["service"]["name"] for p in ingress["spec"]["rules"][0]["http"]["paths"]}
    assert routes == {"/motcua.intake.v1.": "motcua-quang-tri-intake-grpc",
                      "/motcua.workflow.v1.": "motcua-quang-tri-workflow-grpc",
                      "/motcua.audit.v1.": "motcua-quang-tri-reporting-grpc",
                      "/motcua.payment.v1.": "motcua-quang-tri-payment-grpc"}


def test_two_provinces_share_no_namespace_database_vhost_or_keys(helm):
    def isolation(province: str) -> dict:
        docs = manifests(helm, province)
        env = {e["name"]: e.get("value") or e["valueFrom"]["secretKeyRef"]["name"]
               for e in next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"]["containers"][0]["env"]}
        return {"namespaces": {d["metadata"]["namespace"] for d in docs},
                "database": (env["MOTCUA_PG_HOST"], env["MOTCUA_PG_DBNAME"]),
                "vhost": env["MOTCUA_AMQP_URI"].rsplit("/", 1)[1], "province": env["MOTCUA_PROVINCE"],
                "names": {d["metadata"]["name"] for d in docs}}

    a, b = isolation("quang-tri"), isolation("an-giang")
    assert a["namespaces"] == {"motcua-quang-tri"} and b["namespaces"] == {"motcua-an-giang"}
    assert a["database"] != b["database"] and a["vhost"] != b["vhost"] and a["province"] != b["province"]
    assert not a["names"] & b["names"]


def test_the_operator_resources_are_rendered_when_enabled(helm):
    kinds = {d["kind"] for d in manifests(helm, "quang-ngai")}
    assert {"Cluster", "RabbitmqCluster", "Vhost", "User", "Permission"} <= kinds
    docs = manifests(helm, "quang-ngai")
    permission = next(d for d in docs if d["kind"] == "Permission")
    assert permission["spec"]["vhost"] == "motcua-quang-ngai"
    env = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"]["containers"][0]["env"]
    secrets = {e["valueFrom"]["secretKeyRef"]["name"] for e in env if "valueFrom" in e}
    assert "motcua-quang-ngai-mq-user-user-credentials" in secrets and "motcua-quang-ngai-pg-app" in secrets


def test_a_province_calendar_reaches_its_config_map(helm):
    config = next(d for d in manifests(helm, "quang-ngai") if d["kind"] == "ConfigMap")
    calendar = yaml.safe_load(config["data"]["calendar.yaml"])
    assert calendar["extra_sessions"] == [{"group": "land", "weekday": "saturday", "hours": [["07:30", "11:30"]]}]
    assert "procedures" in yaml.safe_load(config["data"]["catalogue.yaml"])


@pytest.mark.parametrize("extra, message", [
    (["--set", "province.slug=Quang Tri"], "province.slug"),
    (["--set", "postgresql.mode=mysql"], "postgresql.mode"),
    (["--set", "services.intake.grpc.replicas=0"], "replicas"),
    (["--set", "telemetry.sampleRatio=3"], "sampleRatio"),
    (["--set", "postgresql.external.host="], "postgresql.external.host is required"),
    (["--set", "ingress.host="], "ingress.host is required"),
    (["--set", "clock=settable"], "clock settable is refused"),
    (["--set", "services.intake.grpc.autoscaling.minReplicas=9"], "minReplicas (9) is above maxReplicas"),
    (["--set", "calendar.officeHours[0][0]=7h"], "officeHours"),
    (["--set", "unknownKey=1"], "unknownKey"),
])
def test_a_bad_value_is_refused_with_a_message_naming_it(helm, extra, message):
    result = render(helm, "quang-tri", *extra)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr


def test_a_release_outside_its_province_namespace_is_refused(helm):
    result = render(helm, "quang-tri", namespace="default")
    assert result.returncode != 0 and "namespace motcua-quang-tri" in result.stderr


def test_only_workflow_sees_the_units_signing_keys(helm):
    docs = [d for d in manifests(helm, "quang-tri") if d["kind"] == "Deployment"]
    for deployment in docs:
        pod = deployment["spec"]["template"]["spec"]
        secrets = [v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v]
        env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
        if "-workflow-" in deployment["metadata"]["name"]:
            assert secrets == ["motcua-unit-keys"] and env["MOTCUA_UNIT_KEYS_DIR"] == "/etc/motcua/unit-keys"
        else:
            assert secrets == [] and "MOTCUA_UNIT_KEYS_DIR" not in env, deployment["metadata"]["name"]


def test_the_catalogue_is_imported_after_install_from_the_province_data(helm):
    docs = manifests(helm, "quang-tri")
    job = next(d for d in docs if d["kind"] == "Job" and d["metadata"]["name"].endswith("-intake-catalogue"))
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,post-upgrade"
    pod = job["spec"]["template"]["spec"]
    assert pod["containers"][0]["command"][-1] == "import-catalogue"
    assert {"name": "province", "mountPath": "/etc/motcua/province", "readOnly": True} in pod["containers"][0]["volumeMounts"]
    config = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-province"))
    assert "000.00.10.H45" in config["data"]["units.yaml"] and "catalogue.yaml" in config["data"]


def test_the_chart_runs_exactly_the_platforms_processes_with_their_commands(helm):
    """One list of each service's processes (motcua_common.runtime.platform_runner.SERVICES) drives the
    local runner and the test kit; the chart's values and Deployments must name the same ones."""
    from motcua_common.runtime.platform_runner import PROCESSES, SERVICES

    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))["services"]
    assert {name: sorted(k for k, v in svc.items() if isinstance(v, dict))
            for name, svc in values.items()} == {s.name: sorted(PROCESSES) for s in SERVICES}
    rendered = sorted(c["command"] for d in manifests(helm, PROVINCES[0]) if d["kind"] == "Deployment"
                      for c in d["spec"]["template"]["spec"]["containers"])
    assert rendered == sorted(s.command(p, "python") for s in SERVICES for p in PROCESSES)
