"""Who may talk to whom: the rendered NetworkPolicies, read through a model of their rules.

The NATS and CloudNativePG charts are placeholders offline, so their pods are modelled
here with the labels and named ports those charts give them (nats 1.3.16: selector labels
name/instance/component, ports nats, cluster, monitor; CloudNativePG: cnpg.io/cluster and
ports 5432, 8000, 9187); everything of Vitrina's comes from the render itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.k8s.charts import RELEASE, ChartWorkspace, Manifest, by_kind, one
from tests.k8s.conftest import BOT_TOKEN, VALUE_SETS, WEBHOOK_HOST
from tests.k8s.netpol import Endpoint, connects, egress_allows, pod_of, selects

pytestmark = pytest.mark.k8s

BOT, WORKER, API = f"{RELEASE}-bot", f"{RELEASE}-worker", f"{RELEASE}-api"
MIGRATE, PROVISION = f"{RELEASE}-migrate-r1", f"{RELEASE}-provision-r1"
ORIGINALS_BACKUP = f"{RELEASE}-originals-backup"
NATS_PORTS = {"nats": 4222, "cluster": 6222, "monitor": 8222}
NATS_LABELS = {
    "app.kubernetes.io/name": "nats",
    "app.kubernetes.io/instance": RELEASE,
    "app.kubernetes.io/component": "nats",
    "app.kubernetes.io/managed-by": "Helm",
}
NATS = Endpoint("nats-0", "10.244.1.10", NATS_LABELS, ports=NATS_PORTS)
NATS_1 = Endpoint("nats-1", "10.244.2.10", NATS_LABELS, ports=NATS_PORTS)
NATS_BOX = Endpoint(
    "nats-box", "10.244.1.11", {**NATS_LABELS, "app.kubernetes.io/component": "nats-box"}
)
PG_LABELS = {"cnpg.io/cluster": f"{RELEASE}-postgresql", "cnpg.io/podRole": "instance"}
PG_PORTS = {"postgresql": 5432, "status": 8000, "metrics": 9187}
POSTGRES = Endpoint("postgresql-1", "10.244.1.20", {**PG_LABELS, "role": "primary"}, ports=PG_PORTS)
POSTGRES_2 = Endpoint(
    "postgresql-2", "10.244.2.20", {**PG_LABELS, "role": "replica"}, ports=PG_PORTS
)
INGRESS = Endpoint(
    "ingress-nginx-controller",
    "10.244.3.2",
    {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"},
    namespace="ingress-nginx",
)
PROMETHEUS = Endpoint(
    "prometheus", "10.244.3.3", {"app.kubernetes.io/name": "prometheus"}, namespace="monitoring"
)
CNPG_OPERATOR = Endpoint(
    "cnpg-operator", "10.244.3.4", {"app.kubernetes.io/name": "cloudnative-pg"}, "cnpg-system"
)
KEDA = Endpoint("keda-operator", "10.244.3.5", {"app": "keda-operator"}, namespace="keda")
COREDNS = Endpoint("coredns", "10.244.0.2", {"k8s-app": "kube-dns"}, namespace="kube-system")
STRANGER = Endpoint("debug", "10.244.1.99", {"run": "debug"})
TELEGRAM = Endpoint("telegram", "149.154.167.220", pod=False)
PRIVATE_HOST = Endpoint("private-host", "10.0.5.5", pod=False)


def _pods(manifests: list[Manifest]) -> dict[str, Endpoint]:
    workloads = [
        ("Deployment", BOT),
        ("Deployment", WORKER),
        ("Deployment", API),
        ("Job", MIGRATE),
        ("Job", PROVISION),
        ("CronJob", ORIGINALS_BACKUP),  # production values only
    ]
    names = {(doc["kind"], doc["metadata"]["name"]) for doc in manifests}
    return {
        name: pod_of(one(manifests, kind, name), f"10.244.4.{i}")
        for i, (kind, name) in enumerate(workloads)
        if (kind, name) in names
    }


def _policy_names(manifests: list[Manifest]) -> set[str]:
    return {doc["metadata"]["name"] for doc in by_kind(manifests, "NetworkPolicy")}


def test_production_renders_a_policy_for_every_pod_of_the_release(
    rendered: dict[str, list[Manifest]],
) -> None:
    manifests = rendered["production"]
    policies = by_kind(manifests, "NetworkPolicy")
    app = {
        f"{RELEASE}-{name}"
        for name in ("bot", "worker", "api", "migrate", "provision", "originals-backup")
    }

    assert _policy_names(manifests) == app | {f"{RELEASE}-nats", f"{RELEASE}-postgresql"}
    for pod in [*_pods(manifests).values(), NATS, POSTGRES]:
        selecting = [p for p in policies if selects(p["spec"]["podSelector"], pod.labels)]
        assert len(selecting) == 1, pod.name
        assert "Ingress" in selecting[0]["spec"]["policyTypes"]
    assert not any(selects(p["spec"]["podSelector"], NATS_BOX.labels) for p in policies)


def test_postgres_policy_selects_the_cluster_whose_app_secret_the_pods_mount(
    rendered: dict[str, list[Manifest]],
) -> None:
    manifests = rendered["production"]
    pod = one(manifests, "Deployment", WORKER)["spec"]["template"]["spec"]
    (settings,) = [v for v in pod["volumes"] if v["name"] == "settings"]
    dsn_secret = settings["projected"]["sources"][-1]["secret"]["name"]
    policy = one(manifests, "NetworkPolicy", f"{RELEASE}-postgresql")

    # CloudNativePG names a Cluster's app Secret "<cluster>-app".
    assert policy["spec"]["podSelector"] == {
        "matchLabels": {"cnpg.io/cluster": dsn_secret.removesuffix("-app")}
    }


# (source, destination, port, protocol, allowed) on the production values.
PRODUCTION_FLOWS = [
    ("bot", "nats", 4222, "TCP", True),
    ("worker", "nats", 4222, "TCP", True),
    ("provision", "nats", 4222, "TCP", True),
    ("migrate", "nats", 4222, "TCP", False),
    ("originals_backup", "nats", 4222, "TCP", True),
    ("originals_backup", "postgres", 5432, "TCP", False),
    ("stranger", "originals_backup", 8081, "TCP", False),
    ("bot", "postgres", 5432, "TCP", True),
    ("worker", "postgres", 5432, "TCP", True),
    ("migrate", "postgres", 5432, "TCP", True),
    ("provision", "postgres", 5432, "TCP", False),
    ("stranger", "nats", 4222, "TCP", False),
    ("stranger", "postgres", 5432, "TCP", False),
    ("nats_box", "nats", 4222, "TCP", False),
    ("bot", "nats", 8222, "TCP", False),
    ("nats", "nats_1", 6222, "TCP", True),
    ("nats", "postgres", 5432, "TCP", False),
    ("postgres", "postgres_2", 5432, "TCP", True),
    ("cnpg_operator", "postgres", 8000, "TCP", True),
    ("cnpg_operator", "postgres", 5432, "TCP", True),
    ("stranger", "postgres", 8000, "TCP", False),
    ("ingress", "bot", 8443, "TCP", True),
    ("ingress", "bot", 8080, "TCP", False),
    ("stranger", "bot", 8443, "TCP", False),
    ("prometheus", "bot", 8443, "TCP", False),
    ("prometheus", "bot", 8080, "TCP", True),
    ("prometheus", "worker", 8081, "TCP", True),
    ("prometheus", "nats", 8222, "TCP", True),
    ("prometheus", "postgres", 9187, "TCP", True),
    ("prometheus", "nats", 4222, "TCP", False),
    ("stranger", "worker", 8081, "TCP", False),
    ("stranger", "migrate", 8081, "TCP", False),
    ("keda", "nats", 8222, "TCP", False),
    ("bot", "telegram", 443, "TCP", True),
    ("worker", "telegram", 443, "TCP", True),
    ("bot", "telegram", 80, "TCP", False),
    ("migrate", "telegram", 443, "TCP", False),
    ("bot", "private_host", 443, "TCP", False),
    ("bot", "coredns", 53, "UDP", True),
    ("migrate", "coredns", 53, "UDP", True),
    ("nats", "coredns", 53, "UDP", True),
    ("bot", "stranger", 8080, "TCP", False),
    ("worker", "bot", 8443, "TCP", False),
    # The API: requests through the ingress controller, scrapes of its health port, and
    # out only to Postgres (and DNS): no NATS, no Telegram, no other service.
    ("ingress", "api", 8082, "TCP", True),
    ("stranger", "api", 8082, "TCP", False),
    ("bot", "api", 8082, "TCP", False),
    ("prometheus", "api", 8083, "TCP", True),
    ("prometheus", "api", 8082, "TCP", False),
    ("ingress", "api", 8083, "TCP", False),
    ("api", "postgres", 5432, "TCP", True),
    ("api", "nats", 4222, "TCP", False),
    ("api", "telegram", 443, "TCP", False),
    ("api", "coredns", 53, "UDP", True),
    ("api", "bot", 8443, "TCP", False),
]


def _endpoints(manifests: list[Manifest]) -> dict[str, Endpoint]:
    pods = _pods(manifests)
    return {
        "bot": pods[BOT],
        "worker": pods[WORKER],
        "api": pods[API],
        "migrate": pods[MIGRATE],
        "provision": pods[PROVISION],
        "originals_backup": pods[ORIGINALS_BACKUP],
        "nats": NATS,
        "nats_1": NATS_1,
        "nats_box": NATS_BOX,
        "postgres": POSTGRES,
        "postgres_2": POSTGRES_2,
        "ingress": INGRESS,
        "prometheus": PROMETHEUS,
        "cnpg_operator": CNPG_OPERATOR,
        "keda": KEDA,
        "coredns": COREDNS,
        "stranger": STRANGER,
        "telegram": TELEGRAM,
        "private_host": PRIVATE_HOST,
    }


@pytest.mark.parametrize(("src", "dst", "port", "protocol", "allowed"), PRODUCTION_FLOWS)
def test_production_policies_admit_only_the_expected_flows(
    rendered: dict[str, list[Manifest]], src: str, dst: str, port: int, protocol: str, allowed: bool
) -> None:
    manifests = rendered["production"]
    endpoints = _endpoints(manifests)

    assert connects(manifests, endpoints[src], endpoints[dst], port, protocol) is allowed


# Each pod's own egress, whatever the destination admits: least privilege on both ends.
EGRESS_FLOWS = [
    ("migrate", "postgres", 5432, True),
    ("migrate", "nats", 4222, False),
    ("provision", "nats", 4222, True),
    ("provision", "postgres", 5432, False),
    ("originals_backup", "nats", 4222, True),
    ("originals_backup", "telegram", 443, False),
    ("migrate", "telegram", 443, False),
    ("worker", "telegram", 443, True),
    ("bot", "stranger", 8080, False),
    ("worker", "bot", 8443, False),
    ("nats", "postgres", 5432, False),
    ("nats", "telegram", 443, False),
    ("api", "postgres", 5432, True),
    ("api", "nats", 4222, False),
    ("api", "telegram", 443, False),
    ("api", "private_host", 443, False),
]


@pytest.mark.parametrize(("src", "dst", "port", "allowed"), EGRESS_FLOWS)
def test_each_pod_may_open_only_the_connections_it_needs(
    rendered: dict[str, list[Manifest]], src: str, dst: str, port: int, allowed: bool
) -> None:
    manifests = rendered["production"]
    endpoints = _endpoints(manifests)

    assert egress_allows(manifests, endpoints[src], endpoints[dst], port) is allowed


def test_dev_values_turn_every_policy_off(rendered: dict[str, list[Manifest]]) -> None:
    assert by_kind(rendered["dev"], "NetworkPolicy") == []
    assert len(by_kind(rendered["default"], "NetworkPolicy")) == 7


def test_one_service_can_turn_its_own_policy_off(render: ChartWorkspace) -> None:
    manifests = render.render(
        values={"secrets.botToken": BOT_TOKEN, "worker.networkPolicy.enabled": False}
    )

    assert _policy_names(manifests) == {
        f"{RELEASE}-{name}" for name in ("bot", "api", "migrate", "provision", "nats", "postgresql")
    }


def test_external_servers_are_reached_by_address_and_get_no_policy(
    rendered: dict[str, list[Manifest]],
) -> None:
    manifests = rendered["external"]
    bot = _pods(manifests)[BOT]
    nats, other = Endpoint("nats", "10.20.0.5", pod=False), Endpoint("x", "10.21.0.5", pod=False)

    assert f"{RELEASE}-nats" not in _policy_names(manifests)
    assert f"{RELEASE}-postgresql" not in _policy_names(manifests)
    assert connects(manifests, bot, nats, 4222)
    assert not connects(manifests, bot, other, 4222)
    assert connects(manifests, bot, Endpoint("pg", "10.30.0.7", pod=False), 5432)


def test_webhook_and_monitoring_peers_follow_the_values(
    render: ChartWorkspace, tmp_path: Path
) -> None:
    traefik = Endpoint("traefik", "10.244.3.7", {"app.kubernetes.io/name": "traefik"}, "traefik")
    grafana_agent = Endpoint("agent", "10.244.3.8", {"app": "agent"}, namespace="observability")
    values = tmp_path / "peers.yaml"
    in_namespace = {"kubernetes.io/metadata.name": "traefik"}
    peers = {
        "webhookFrom": [
            {
                "namespaceSelector": {"matchLabels": in_namespace},
                "podSelector": {"matchLabels": {"app.kubernetes.io/name": "traefik"}},
            }
        ],
        "metricsFrom": [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "observability"}}}
        ],
    }
    values.write_text(yaml.safe_dump({"global": {"vitrina": {"networkPolicy": peers}}}))
    files, settings = VALUE_SETS["production"]
    manifests = render.render(*files, str(values), values=settings)
    bot = _pods(manifests)[BOT]

    assert connects(manifests, traefik, bot, 8443)
    assert not connects(manifests, INGRESS, bot, 8443)
    assert connects(manifests, grafana_agent, bot, 8080)
    assert connects(manifests, grafana_agent, NATS, 8222)
    assert not connects(manifests, PROMETHEUS, bot, 8080)


def test_keda_mode_admits_the_keda_operator_to_the_nats_monitor_port(
    rendered: dict[str, list[Manifest]],
) -> None:
    assert connects(rendered["keda"], KEDA, NATS, 8222)
    assert not connects(rendered["keda"], KEDA, NATS, 4222)
    assert not connects(rendered["production"], KEDA, NATS, 8222)


def test_an_otlp_endpoint_opens_its_port_and_only_then(render: ChartWorkspace) -> None:
    collector = Endpoint("otel", "10.244.5.5", {"app": "otel"}, namespace="monitoring")
    plain = render.render(values={"secrets.botToken": BOT_TOKEN})
    traced = render.render(
        values={"secrets.botToken": BOT_TOKEN, "worker.config.otlpEndpoint": "http://otel:4318"}
    )

    assert not connects(plain, _pods(plain)[WORKER], collector, 4318)
    assert connects(traced, _pods(traced)[WORKER], collector, 4318)


def test_the_bot_chart_alone_isolates_its_pods_and_reaches_any_server(
    render: ChartWorkspace,
) -> None:
    manifests = render.render(
        values={
            "secret.values.APP_CONF__BOT__TOKEN": BOT_TOKEN,
            "mode": "webhook",
            "webhook.ingress.enabled": True,
            "webhook.ingress.host": WEBHOOK_HOST,
        },
        chart="bot",
    )
    bot = pod_of(one(manifests, "Deployment", BOT), "10.244.4.1")
    db = Endpoint("db", "10.9.0.9", pod=False)

    assert _policy_names(manifests) == {BOT}
    assert connects(manifests, bot, db, 5432)
    assert connects(manifests, STRANGER, bot, 8443)
    assert not connects(manifests, bot, db, 6379)


def test_the_api_admits_the_peers_of_api_from_and_only_them(
    render: ChartWorkspace, tmp_path: Path
) -> None:
    helpdesk = Endpoint("helpdesk", "10.244.6.6", {"app": "helpdesk"}, namespace="support")
    values = tmp_path / "api-peers.yaml"
    in_support = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "support"}}}
    values.write_text(
        yaml.safe_dump({"global": {"vitrina": {"networkPolicy": {"apiFrom": [in_support]}}}})
    )
    files, settings = VALUE_SETS["production"]
    manifests = render.render(*files, str(values), values=settings)
    api = _pods(manifests)[API]

    assert connects(manifests, helpdesk, api, 8082)
    assert not connects(manifests, INGRESS, api, 8082)
    assert not connects(manifests, helpdesk, api, 8083)
    assert not connects(manifests, helpdesk, _pods(manifests)[BOT], 8443)


def test_without_the_api_there_is_no_api_pod_policy_or_service(render: ChartWorkspace) -> None:
    manifests = render.render(values={"secrets.botToken": BOT_TOKEN, "api.enabled": False})

    assert [doc for doc in manifests if doc["metadata"]["name"] == API] == []
