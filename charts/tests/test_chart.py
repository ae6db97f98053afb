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

from motcua_common.config.services import SERVICES
from motcua_testkit.plugin import REPO

#: every service the chart deploys (one list: motcua_common.config.services)
SERVICE_NAMES = tuple(s.name for s in SERVICES)

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
    # grpc, worker, relay for intake, workflow, reporting, payment, notification, evaluation;
    # payment's and notification's HTTP callback edges
    assert len([d for d in docs if d["kind"] == "Deployment"]) == 20
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
                      "/motcua.payment.v1.": "motcua-quang-tri-payment-grpc",
                      "/motcua.notification.v1.": "motcua-quang-tri-notification-grpc",
                      "/motcua.evaluation.v1.": "motcua-quang-tri-evaluation-grpc"}


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
    intake = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"].endswith("-intake-grpc"))
    env = intake["spec"]["template"]["spec"]["containers"][0]["env"]
    secrets = {e["valueFrom"]["secretKeyRef"]["name"] for e in env if "valueFrom" in e}
    assert {"motcua-quang-ngai-mq-intake-user-credentials", "motcua-quang-ngai-pg-intake"} <= secrets
    users = {d["metadata"]["name"] for d in docs if d["kind"] == "User"}
    assert users == {"motcua-quang-ngai-mq-user", *(f"motcua-quang-ngai-mq-{s}" for s in SERVICE_NAMES)}
    assert all(d["spec"]["vhost"] == "motcua-quang-ngai" for d in docs if d["kind"] == "Permission")


def test_each_services_broker_user_gets_the_permissions_the_local_provisioning_gives(helm):
    """One rule for both (motcua_common.runtime.provisioning.amqp_permissions): a service publishes
    only its own events and takes only its own queues."""
    from motcua_common.runtime.provisioning import amqp_permissions

    docs = manifests(helm, "quang-ngai")
    for service in SERVICE_NAMES:
        permission = next(d for d in docs if d["kind"] == "Permission"
                          and d["spec"]["userReference"]["name"] == f"motcua-quang-ngai-mq-{service}")
        rendered = permission["spec"]["permissions"]
        assert (rendered["configure"], rendered["write"], rendered["read"]) == amqp_permissions(service)


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
    (["--set", "tls.existingSecret=edge-tls"], "tls.serverName is required"),
    (["--set", "tls.clientAuth=optional"], "clientAuth"),
    (["--set", "tls.clientAuth=required"], "tls.clientAuth required needs TLS"),
    (["--set", "tls.existingSecret=edge-tls", "--set", "tls.serverName=edges", "--set", "tls.clientAuth=required"],
     "tls.clientCASecret is required"),
    (["--set", "tls.existingSecret=edge-tls", "--set", "tls.serverName=edges", "--set", "tls.clientAuth=required",
      "--set", "tls.clientCASecret=ca"], "tls.clientSecret is required"),
    (["--set", "oidc.issuer="], "oidc.issuer is required"),
    (["--set", "oidc.issuer=http://sso.example"], "oidc.issuer must be an https URL"),
    (["--set", "oidc.clockSkewSeconds=900"], "clockSkewSeconds"),
    (["--set", "networkPolicy.postgresqlCIDRs={pg.example}"], "postgresqlCIDRs"),
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
    from motcua_common.runtime.platform_runner import SERVICES

    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))["services"]
    assert {name: sorted(k for k, v in svc.items() if isinstance(v, dict))
            for name, svc in values.items()} == {s.name: sorted(s.processes) for s in SERVICES}
    rendered = sorted(c["command"] for d in manifests(helm, PROVINCES[0]) if d["kind"] == "Deployment"
                      for c in d["spec"]["template"]["spec"]["containers"])
    assert rendered == sorted(s.command(p, "python") for s in SERVICES for p in s.processes)


def test_the_payment_gateway_calls_back_through_the_callbacks_ingress_to_payments_http_edge(helm):
    """payment's callback edge: its Deployment listens on 8080 (probed on /health), its Service, the
    /paygov/ path of an HTTP Ingress, a policy letting the ingress controller in; the gateway's
    settings and secret reach payment's pods only."""
    extra = ["--set", "paygov.url=https://paygov.example.vn/pay", "--set", "paygov.partnerCode=QT",
             "--set", "paygov.accessKey=QT-ACCESS", "--set", "paygov.secretName=motcua-quang-tri-paygov"]
    docs = manifests(helm, "quang-tri", *extra)
    named = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    edge = named[("Deployment", "motcua-quang-tri-payment-callback")]["spec"]["template"]["spec"]
    container = edge["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["MOTCUA_PAYMENT_CALLBACK_ADDRESS"] == "0.0.0.0:8080"
    assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert env["MOTCUA_PAYGOV_SECRET_FILE"] == "/etc/motcua/paygov/secret"
    assert {"name": "paygov", "secret": {"secretName": "motcua-quang-tri-paygov", "defaultMode": 0o440}} in edge["volumes"]
    service = named[("Service", "motcua-quang-tri-payment-callback")]
    assert service["spec"]["ports"] == [{"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}]
    ingress = named[("Ingress", "motcua-quang-tri-callbacks")]
    [path] = [p for p in ingress["spec"]["rules"][0]["http"]["paths"] if p["path"] == "/paygov/"]
    assert path["backend"]["service"]["name"] == "motcua-quang-tri-payment-callback"
    assert ("NetworkPolicy", "motcua-quang-tri-callback-from-ingress") in named
    holders = {d["metadata"]["name"] for d in docs if d["kind"] == "Deployment"
               for v in d["spec"]["template"]["spec"]["volumes"] if v["name"] == "paygov"}
    assert holders == {f"motcua-quang-tri-payment-{p}" for p in ("grpc", "worker", "relay", "callback")}
    refused = render(helm, "quang-tri", "--set", "paygov.url=https://paygov.example.vn/pay")
    assert refused.returncode != 0 and "paygov.secretName is required" in refused.stderr


TLS = ["--set", "tls.existingSecret=motcua-quang-tri-edge-tls", "--set", "tls.serverName=edges.motcua-quang-tri.svc"]
MTLS = [*TLS, "--set", "tls.clientAuth=required", "--set", "tls.clientCASecret=motcua-integrators-ca",
        "--set", "tls.clientSecret=motcua-quang-tri-edge-client"]


def pods(docs: list[dict]) -> dict[str, dict]:
    return {d["metadata"]["name"]: d["spec"]["template"]["spec"] for d in docs if d["kind"] in ("Deployment", "Job")}


def env_of(pod: dict) -> dict[str, dict]:
    return {e["name"]: e for e in pod["containers"][0]["env"]}


def test_without_tls_values_the_edges_are_plaintext_and_probed_by_kubernetes_grpc_probe(helm):
    docs = manifests(helm, "quang-tri")
    for name, pod in pods(docs).items():
        assert not any(k.startswith("MOTCUA_GRPC_TLS") for k in env_of(pod)), name
    edge = pods(docs)["motcua-quang-tri-intake-grpc"]
    assert edge["containers"][0]["readinessProbe"]["grpc"] == {"port": 50051}
    ingress = next(d for d in docs if d["kind"] == "Ingress")
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/backend-protocol"] == "GRPC"


def test_tls_mounts_the_certificate_secret_into_the_edges_only_and_probes_over_tls(helm, schemas, tmp_path):
    docs = manifests(helm, "quang-tri", *TLS)
    for name, pod in pods(docs).items():
        secrets = {v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
        env = env_of(pod)
        if name.endswith("-grpc"):
            assert "motcua-quang-tri-edge-tls" in secrets, name
            assert env["MOTCUA_GRPC_TLS_CERT_FILE"]["value"] == "/etc/motcua/tls/tls.crt"
            assert env["MOTCUA_GRPC_TLS_KEY_FILE"]["value"] == "/etc/motcua/tls/tls.key"
            assert env["MOTCUA_GRPC_TLS_CLIENT_AUTH"]["value"] == "off"
            assert env["MOTCUA_HEALTH_TLS_SERVER_NAME"]["value"] == "edges.motcua-quang-tri.svc"
            mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "tls")
            assert mount == {"name": "tls", "mountPath": "/etc/motcua/tls", "readOnly": True}  # no subPath: rotation
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                assert pod["containers"][0][probe]["exec"]["command"][:3] == [
                    "python", "-m", "motcua_common.edge.healthcheck"], name
        else:
            assert "motcua-quang-tri-edge-tls" not in secrets and "MOTCUA_GRPC_TLS_CERT_FILE" not in env, name
    annotations = next(d for d in docs if d["kind"] == "Ingress")["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/backend-protocol"] == "GRPCS"
    assert annotations["nginx.ingress.kubernetes.io/proxy-ssl-verify"] == "on"
    assert not [d for d in docs if d["kind"] == "Secret"]
    path = tmp_path / "tls.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    result = subprocess.run([tool("kubeconform"), "-strict", "-summary", "-kubernetes-version", K8S_VERSION,
                             "-schema-location", f"{schemas}/{{{{ .NormalizedKubernetesVersion }}}}-standalone"
                             "{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json",
                             "-skip", ",".join(OPERATOR_KINDS), str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mutual_tls_gives_the_edges_the_client_ca_and_the_ingress_verifies_callers(helm):
    docs = manifests(helm, "quang-tri", *MTLS)
    edge = pods(docs)["motcua-quang-tri-intake-grpc"]
    env = env_of(edge)
    assert env["MOTCUA_GRPC_TLS_CLIENT_AUTH"]["value"] == "required"
    assert env["MOTCUA_GRPC_TLS_CLIENT_CA_FILE"]["value"] == "/etc/motcua/client-ca/ca.crt"
    assert env["MOTCUA_HEALTH_TLS_CERT_FILE"]["value"] == "/etc/motcua/tls-client/tls.crt"
    secrets = {v["name"]: v["secret"]["secretName"] for v in edge["volumes"] if "secret" in v}
    assert secrets == {"tls": "motcua-quang-tri-edge-tls", "client-ca": "motcua-integrators-ca",
                       "tls-client": "motcua-quang-tri-edge-client"}
    annotations = next(d for d in docs if d["kind"] == "Ingress")["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/auth-tls-secret"] == "motcua-quang-tri/motcua-integrators-ca"
    assert annotations["nginx.ingress.kubernetes.io/auth-tls-verify-client"] == "on"
    assert annotations["nginx.ingress.kubernetes.io/proxy-ssl-secret"] == "motcua-quang-tri/motcua-quang-tri-edge-client"


def test_issuer_settings_are_values_and_the_client_secret_a_reference(helm):
    docs = manifests(helm, "quang-tri", "--set", "oidc.issuer=https://sso.quangtri.example.vn/realms/motcua",
                     "--set", "oidc.audience=motcua-qt", "--set", "oidc.clockSkewSeconds=10",
                     "--set", "oidc.jwksUrl=https://sso.quangtri.example.vn/keys",
                     "--set", "oidc.clientSecret=motcua-oidc-client")
    for name, pod in pods(docs).items():
        env = env_of(pod)
        assert env["MOTCUA_OIDC_ISSUER"]["value"] == "https://sso.quangtri.example.vn/realms/motcua", name
        assert env["MOTCUA_OIDC_AUDIENCE"]["value"] == "motcua-qt"
        assert env["MOTCUA_OIDC_CLOCK_SKEW_SECONDS"]["value"] == "10"
        assert env["MOTCUA_OIDC_JWKS_URL"]["value"] == "https://sso.quangtri.example.vn/keys"
        if name.endswith("-grpc"):
            assert env["MOTCUA_OIDC_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"] == {
                "name": "motcua-oidc-client", "key": "client-secret"}
        else:
            assert "MOTCUA_OIDC_CLIENT_SECRET" not in env, name
    assert not [d for d in docs if d["kind"] == "Secret"]


def test_each_service_reads_its_own_database_and_broker_credentials_from_secret_references(helm):
    docs = manifests(helm, "quang-tri")
    for name, pod in pods(docs).items():
        service = next(s for s in SERVICE_NAMES if f"-{s}-" in name)
        env = env_of(pod)
        for variable, secret in (("MOTCUA_PG_USER", "motcua-postgresql"), ("MOTCUA_PG_PASSWORD", "motcua-postgresql"),
                                 ("MOTCUA_AMQP_USER", "motcua-rabbitmq"), ("MOTCUA_AMQP_PASSWORD", "motcua-rabbitmq")):
            assert "value" not in env[variable], name
            assert env[variable]["valueFrom"]["secretKeyRef"]["name"] == f"{secret}-{service}", name
    shared = manifests(helm, "quang-tri", "--set", "postgresql.serviceCredentials=false",
                       "--set", "rabbitmq.serviceCredentials=false")
    for name, pod in pods(shared).items():
        assert env_of(pod)["MOTCUA_PG_USER"]["valueFrom"]["secretKeyRef"]["name"] == "motcua-postgresql", name


def test_network_policies_let_in_only_the_edges_ports_and_let_out_only_the_stores_and_the_issuer(helm):
    docs = manifests(helm, "quang-tri", "--set", "oidc.issuer=https://sso.example.vn",
                     "--set", "networkPolicy.postgresqlCIDRs={10.20.0.5/32}",
                     "--set", "networkPolicy.rabbitmqCIDRs={10.20.0.6/32}",
                     "--set", "networkPolicy.issuerCIDRs={203.0.113.10/32}")
    policies = {d["metadata"]["name"].removeprefix("motcua-quang-tri-"): d["spec"]
                for d in docs if d["kind"] == "NetworkPolicy"}
    assert set(policies) == {"default-deny", "grpc-from-ingress", "callback-from-ingress", "metrics-from-monitoring",
                             "grpc-to-issuer"}
    inbound = [(p["podSelector"]["matchLabels"].get("motcua.vn/component"), port["port"])
               for p in policies.values() for rule in p.get("ingress", []) for port in rule["ports"]]
    assert sorted(inbound, key=str) == sorted([("grpc", 50051), ("callback", 8080), (None, 9100)], key=str)
    outbound = {rule["ports"][0]["port"]: [peer["ipBlock"]["cidr"] for peer in rule.get("to", [])]
                for rule in policies["default-deny"]["egress"]}
    assert outbound == {53: [], 5432: ["10.20.0.5/32"], 5672: ["10.20.0.6/32"], 4318: []}
    issuer = policies["grpc-to-issuer"]
    assert issuer["podSelector"]["matchLabels"]["motcua.vn/component"] == "grpc"
    assert issuer["egress"] == [{"ports": [{"port": 443, "protocol": "TCP"}], "to": [{"ipBlock": {"cidr": "203.0.113.10/32"}}]}]
    operated = [d["spec"] for d in manifests(helm, "quang-ngai") if d["metadata"]["name"].endswith("-default-deny")][0]
    peers = {rule["ports"][0]["port"]: rule.get("to") for rule in operated["egress"]}
    assert peers[5432] == [{"podSelector": {"matchLabels": {"cnpg.io/cluster": "motcua-quang-ngai-pg"}}}]


def test_the_banks_credit_notifications_reach_payment_with_its_secret_and_the_vietqr_account(helm):
    """vietqr.*: payment's pods get the collecting account and the bank's secret (no other pod does),
    the callbacks Ingress routes /bank/ to payment's callback edge; half a configuration is refused."""
    extra = ["--set-string", "vietqr.bankBin=970436", "--set-string", "vietqr.account=0011001234567",
             "--set", "vietqr.bankSecretName=motcua-quang-tri-bank"]
    docs = manifests(helm, "quang-tri", *extra)
    named = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    edge = named[("Deployment", "motcua-quang-tri-payment-callback")]["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in edge["containers"][0]["env"]}
    assert (env["MOTCUA_VIETQR_BANK_BIN"], env["MOTCUA_VIETQR_ACCOUNT"], env["MOTCUA_BANK_SECRET_FILE"]) == \
        ("970436", "0011001234567", "/etc/motcua/bank/secret")
    assert {"name": "bank", "secret": {"secretName": "motcua-quang-tri-bank", "defaultMode": 0o440}} in edge["volumes"]
    holders = {d["metadata"]["name"] for d in docs if d["kind"] == "Deployment"
               for v in d["spec"]["template"]["spec"]["volumes"] if v["name"] == "bank"}
    assert holders == {f"motcua-quang-tri-payment-{p}" for p in ("grpc", "worker", "relay", "callback")}
    paths = named[("Ingress", "motcua-quang-tri-callbacks")]["spec"]["rules"][0]["http"]["paths"]
    assert [p["path"] for p in paths] == ["/paygov/", "/bank/", "/notification/"]
    without = {(d["kind"], d["metadata"]["name"]): d for d in manifests(helm, "quang-tri")}
    plain = without[("Ingress", "motcua-quang-tri-callbacks")]["spec"]["rules"][0]["http"]["paths"]
    assert [p["path"] for p in plain] == ["/paygov/", "/notification/"]
    refused = render(helm, "quang-tri", "--set-string", "vietqr.account=0011001234567")
    assert refused.returncode != 0 and "vietqr.bankBin is required" in refused.stderr
    refused = render(helm, "quang-tri", "--set", "vietqr.bankSecretName=motcua-quang-tri-bank")
    assert refused.returncode != 0 and "vietqr.account is required" in refused.stderr


def test_delivery_receipts_reach_notifications_http_edge_and_only_its_pods_hold_the_providers_keys(helm):
    """notification's callback edge behind /notification/ of the callbacks Ingress; the providers'
    settings reach notification's pods, its credentials Secret is mounted in them alone; a gateway
    without the Secret is refused at render time."""
    extra = ["--set", "notification.smsGatewayUrl=https://sms.example.vn", "--set", "notification.smsBrandname=UBND-QTRI",
             "--set", "notification.credentialsSecretName=motcua-quang-tri-messaging"]
    docs = manifests(helm, "quang-tri", *extra)
    named = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    worker = named[("Deployment", "motcua-quang-tri-notification-worker")]["spec"]["template"]["spec"]
    env = {e["name"]: e["value"] if "value" in e else e["valueFrom"]["secretKeyRef"]["key"]
           for e in worker["containers"][0]["env"]}
    assert env["MOTCUA_SMS_GATEWAY_URL"] == "https://sms.example.vn" and env["MOTCUA_SMS_API_KEY"] == "sms-api-key"
    assert env["MOTCUA_NOTIFICATION_CHANNELS"] == "email,sms"
    assert env["MOTCUA_MESSAGING_RECEIPTS_SECRET_FILE"] == "/etc/motcua/notification/receipts-secret"
    ingress = named[("Ingress", "motcua-quang-tri-callbacks")]
    [path] = [p for p in ingress["spec"]["rules"][0]["http"]["paths"] if p["path"] == "/notification/"]
    assert path["backend"]["service"]["name"] == "motcua-quang-tri-notification-callback"
    holders = {d["metadata"]["name"] for d in docs if d["kind"] == "Deployment"
               for v in d["spec"]["template"]["spec"]["volumes"] if v["name"] == "notification-credentials"}
    assert holders == {f"motcua-quang-tri-notification-{p}" for p in ("grpc", "worker", "relay", "callback")}
    refused = render(helm, "quang-tri", "--set", "notification.znsUrl=https://zns.example.vn")
    assert refused.returncode != 0 and "notification.credentialsSecretName is required" in refused.stderr
