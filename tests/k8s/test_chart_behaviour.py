"""What the rendered objects do: probes, hardening, migrations, replicas and autoscaling."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.k8s.charts import CHARTS, RELEASE, ChartWorkspace, Manifest, by_kind, one
from tests.k8s.conftest import BOT_TOKEN, VALUE_SETS, WEBHOOK_HOST

pytestmark = pytest.mark.k8s

BOT, WORKER = f"{RELEASE}-bot", f"{RELEASE}-worker"


def _pod_specs(manifests: list[Manifest]) -> list[dict[str, Any]]:
    return [
        doc["spec"]["template"]["spec"] for doc in manifests if doc["kind"] in {"Deployment", "Job"}
    ]


def _container(deployment: Manifest) -> dict[str, Any]:
    containers: list[dict[str, Any]] = deployment["spec"]["template"]["spec"]["containers"]
    (container,) = containers
    return container


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS))
def test_probes_hit_the_health_paths_on_the_port_the_app_listens_on(
    rendered: dict[str, list[Manifest]], value_set: str
) -> None:
    manifests = rendered[value_set]
    for name, service in ((BOT, "BOT"), (WORKER, "WORKER")):
        container = _container(one(manifests, "Deployment", name))
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        app_port = one(manifests, "ConfigMap", name)["data"][f"APP_CONF__{service}__HEALTH_PORT"]

        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}
        assert ports["health"] == int(app_port)


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS))
def test_every_container_runs_as_a_numeric_non_root_user_on_a_read_only_root(
    rendered: dict[str, list[Manifest]], value_set: str
) -> None:
    for pod in _pod_specs(rendered[value_set]):
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        mounts_tmp = any(v["name"] == "tmp" and "emptyDir" in v for v in pod["volumes"])
        assert mounts_tmp
        for container in pod["containers"] + pod.get("initContainers", []):
            context = container["securityContext"]
            assert isinstance(context["runAsUser"], int)
            assert context["runAsUser"] > 0
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"] == {"drop": ["ALL"]}
            tmp_mount = {"name": "tmp", "mountPath": "/tmp"}  # noqa: S108  (the mount under test)
            assert tmp_mount in container["volumeMounts"]


def test_migration_job_runs_alembic_upgrade_head_once_per_revision(
    rendered: dict[str, list[Manifest]],
) -> None:
    job = one(rendered["default"], "Job", f"{RELEASE}-migrate-r1")
    (container,) = job["spec"]["template"]["spec"]["containers"]

    assert "alembic -c /app/alembic.ini upgrade head" in container["command"][-1]
    assert "helm.sh/hook" not in job["metadata"].get("annotations", {})
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_provision_job_creates_the_jetstream_topology(
    rendered: dict[str, list[Manifest]],
) -> None:
    job = one(rendered["default"], "Job", f"{RELEASE}-provision-r1")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item["value"] for item in container["env"]}

    assert "python -m vitrina_common.ops provision" in container["command"][-1]
    assert env["APP_CONF__NATS__URL"] == f"nats://{RELEASE}-nats:4222"


@pytest.mark.parametrize("name", [BOT, WORKER])
def test_app_pods_wait_for_the_schema_before_starting(
    rendered: dict[str, list[Manifest]], name: str
) -> None:
    pod = one(rendered["default"], "Deployment", name)["spec"]["template"]["spec"]
    (init,) = pod["initContainers"]

    assert init["command"][:4] == ["python", "-m", "vitrina_common.ops", "wait-for-schema"]
    assert init["image"] == _container(one(rendered["default"], "Deployment", name))["image"]


def test_database_url_is_mounted_as_a_settings_file_from_the_cnpg_secret(
    rendered: dict[str, list[Manifest]],
) -> None:
    pod = one(rendered["default"], "Deployment", WORKER)["spec"]["template"]["spec"]
    (settings,) = [v for v in pod["volumes"] if v["name"] == "settings"]
    sources = [source["secret"] for source in settings["projected"]["sources"]]

    assert sources == [
        {"name": f"{RELEASE}-vitrina"},
        {
            "name": f"{RELEASE}-nats-users",
            "items": [{"key": "worker", "path": "APP_CONF__NATS__PASSWORD"}],
        },
        {
            "name": f"{RELEASE}-postgresql-app",
            "items": [{"key": "uri", "path": "APP_CONF__DB__DSN"}],
        },
    ]


def test_polling_mode_runs_exactly_one_replica_even_when_three_are_asked(
    render: ChartWorkspace,
) -> None:
    manifests = render.render(values={"secrets.botToken": BOT_TOKEN, "bot.replicaCount": 3})
    bot = one(manifests, "Deployment", BOT)

    assert bot["spec"]["replicas"] == 1
    assert bot["spec"]["strategy"] == {"type": "Recreate"}
    assert one(manifests, "ConfigMap", BOT)["data"]["APP_CONF__BOT__MODE"] == "polling"


def test_webhook_mode_runs_n_replicas_behind_a_service_and_an_ingress(
    rendered: dict[str, list[Manifest]],
) -> None:
    manifests = rendered["webhook"]
    bot = one(manifests, "Deployment", BOT)
    service = one(manifests, "Service", BOT)
    ingress = one(manifests, "Ingress", BOT)
    config = one(manifests, "ConfigMap", BOT)["data"]
    (rule,) = ingress["spec"]["rules"]
    (path,) = rule["http"]["paths"]

    assert bot["spec"]["replicas"] == 3
    assert bot["spec"]["strategy"]["type"] == "RollingUpdate"
    assert {"name": "webhook", "containerPort": 8443, "protocol": "TCP"} in _container(bot)["ports"]
    assert any(p["targetPort"] == "webhook" for p in service["spec"]["ports"])
    assert rule["host"] == WEBHOOK_HOST
    assert path["path"] == "/telegram/webhook"
    assert path["backend"]["service"] == {"name": BOT, "port": {"name": "webhook"}}
    assert config["APP_CONF__BOT__MODE"] == "webhook"
    assert config["APP_CONF__BOT__WEBHOOK_URL"] == f"https://{WEBHOOK_HOST}/telegram/webhook"
    assert config["APP_CONF__BOT__WEBHOOK_PORT"] == "8443"


def test_worker_scales_on_cpu_with_an_hpa_by_default(rendered: dict[str, list[Manifest]]) -> None:
    (hpa,) = by_kind(rendered["default"], "HorizontalPodAutoscaler")
    (metric,) = hpa["spec"]["metrics"]

    assert hpa["spec"]["scaleTargetRef"]["name"] == WORKER
    assert metric["resource"]["name"] == "cpu"
    assert by_kind(rendered["default"], "ScaledObject") == []
    assert "replicas" not in one(rendered["default"], "Deployment", WORKER)["spec"]


def test_keda_values_replace_the_hpa_with_a_jetstream_scaled_object(
    rendered: dict[str, list[Manifest]],
) -> None:
    (scaled,) = by_kind(rendered["keda"], "ScaledObject")
    (trigger,) = scaled["spec"]["triggers"]

    assert by_kind(rendered["keda"], "HorizontalPodAutoscaler") == []
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert scaled["spec"]["scaleTargetRef"] == {"name": WORKER}
    assert scaled["spec"]["minReplicaCount"] == 0
    assert trigger["type"] == "nats-jetstream"
    assert trigger["metadata"] == {
        "natsServerMonitoringEndpoint": f"{RELEASE}-nats-headless.shop.svc.cluster.local:8222",
        "account": "$G",
        "stream": "JOBS",
        "consumer": "render-preview",
        "lagThreshold": "20",
        "activationLagThreshold": "0",
        "useHttps": "false",
    }


def test_worker_grace_period_outlasts_its_longest_job(rendered: dict[str, list[Manifest]]) -> None:
    pod = one(rendered["default"], "Deployment", WORKER)["spec"]["template"]["spec"]

    assert pod["terminationGracePeriodSeconds"] >= 120


def test_external_values_use_the_operators_secrets_and_servers(
    rendered: dict[str, list[Manifest]],
) -> None:
    manifests = rendered["external"]
    pod = one(manifests, "Deployment", BOT)["spec"]["template"]["spec"]
    (settings,) = [v for v in pod["volumes"] if v["name"] == "settings"]
    config = one(manifests, "ConfigMap", BOT)["data"]

    assert by_kind(manifests, "Secret") == []
    assert [s["secret"]["name"] for s in settings["projected"]["sources"]] == [
        "vitrina-settings",
        "vitrina-nats-users",
        "vitrina-db",
    ]
    assert config["APP_CONF__NATS__URL"].startswith("nats://nats-0.messaging.internal:4222,")
    assert config["APP_CONF__NATS__STREAM_REPLICAS"] == "3"
    assert config["APP_CONF__NATS__USER"] == "bot"
    # No server here to include an authorization: the operator's own servers have the users.
    config_maps = {doc["metadata"]["name"] for doc in by_kind(manifests, "ConfigMap")}
    assert config_maps == {BOT, WORKER, f"{RELEASE}-api"}


def test_production_values_run_a_three_node_jetstream_that_fsyncs_every_write() -> None:
    values = yaml.safe_load((CHARTS / "vitrina" / "values-production.yaml").read_text())
    nats = values["nats"]["config"]

    assert nats["cluster"] == {"enabled": True, "replicas": 3}
    assert nats["jetstream"]["fileStore"]["enabled"] is True
    assert nats["jetstream"]["merge"] == {"sync_interval": "always"}
    assert values["global"]["vitrina"]["nats"]["streamReplicas"] == 3
