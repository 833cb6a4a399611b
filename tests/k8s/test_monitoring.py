"""The chart's Grafana dashboard and Prometheus alerts: behind flags, loadable, every query
valid PromQL (promql-parser, a port of Prometheus's parser: promtool has no wheel or npm
package) naming only metrics the services export (the README's metrics table, each row
checked against the instrument defined in the code), each alert linked to its runbook."""

from __future__ import annotations

import json
import re

import promql_parser
import pytest

from tests.k8s.charts import ChartWorkspace, Manifest, by_kind, one
from tests.k8s.tools import ROOT

pytestmark = pytest.mark.k8s

ROWS = ["Shoppers", "Money", "Pipeline", "Queues", "Telegram limits"]
ALERTS = {
    "VitrinaPaymentNotDelivered",
    "VitrinaOutboxRowDead",
    "VitrinaInboxUpdateDead",
    "VitrinaConsumerLagGrowing",
    "VitrinaSchedulerLagging",
    "VitrinaTelegramFloodWaits",
    "VitrinaPodRestarting",
    "VitrinaMigrationJobFailed",
}
# Series of kube-state-metrics, which the pod and Job alerts read.
KUBE_STATE_METRICS = {"kube_pod_container_status_restarts_total", "kube_job_status_failed"}
_METRIC = re.compile(r"\b((?:vitrina|kube)_[a-z0-9_]+)\b")
_HISTOGRAM_PARTS = re.compile(r"_(bucket|count|sum)$")
README = ROOT / "README.md"


def documented_metrics() -> dict[str, str]:
    """The README's metrics table: name → type."""
    rows = re.findall(
        r"^\| `(vitrina_[a-z0-9_]+)` \| (counter|gauge|histogram) \|",
        README.read_text(),
        re.MULTILINE,
    )
    return dict(rows)


def _base_name(metric: str, kind: str) -> str:
    """A Prometheus name without what the exporter appends (``_total``, the unit)."""
    if kind == "counter":
        return metric.removesuffix("_total")
    if kind == "histogram":
        return metric.removesuffix("_seconds")
    return metric


def _instruments_in_code() -> set[str]:
    """Every instrument name in the services' code, dots as underscores."""
    files = [*ROOT.glob("libs/common/src/**/*.py"), *ROOT.glob("services/*/src/**/*.py")]
    names = {
        name for path in files for name in re.findall(r'"(vitrina\.[a-z0-9_.]+)"', path.read_text())
    }
    return {name.replace(".", "_") for name in names}


def test_every_documented_metric_is_an_instrument_in_the_code() -> None:
    instruments = _instruments_in_code()
    documented = documented_metrics()
    assert len(documented) >= 20
    missing = {m for m, kind in documented.items() if _base_name(m, kind) not in instruments}
    assert missing == set()


def _named_metrics(expression: str) -> set[str]:
    return {_HISTOGRAM_PARTS.sub("", name) for name in _METRIC.findall(expression)}


def _known(name: str, documented: dict[str, str]) -> bool:
    if name in KUBE_STATE_METRICS:
        return True
    return name in documented or any(
        kind == "histogram" and name == metric for metric, kind in documented.items()
    )


def test_flags_off_ship_no_dashboard_and_no_rules(rendered: dict[str, list[Manifest]]) -> None:
    default = rendered["default"]
    assert by_kind(default, "PrometheusRule") == []
    assert not [
        cm for cm in by_kind(default, "ConfigMap") if cm["metadata"]["name"].endswith("-dashboard")
    ]


def test_the_dashboard_loads_has_the_rows_and_queries_only_exported_metrics(
    rendered: dict[str, list[Manifest]],
) -> None:
    config_map = one(rendered["webhook"], "ConfigMap", "vitrina-dashboard")
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboard = json.loads(config_map["data"]["vitrina.json"])
    panels = dashboard["panels"]
    assert [p["title"] for p in panels if p["type"] == "row"] == ROWS
    documented = documented_metrics()
    queries = [t["expr"] for p in panels if p["type"] != "row" for t in p["targets"]]
    assert len(queries) >= 20
    for query in queries:
        promql_parser.parse(query)
        names = _named_metrics(query)
        assert names, query
        assert all(_known(name, documented) for name in names), (query, names)
    # Every row has panels, every panel a unique id.
    assert len({p["id"] for p in panels}) == len(panels)


def test_the_rules_alert_on_what_matters_each_with_its_runbook(
    rendered: dict[str, list[Manifest]],
) -> None:
    rule = one(rendered["webhook"], "PrometheusRule", "vitrina-alerts")
    alerts = [r for group in rule["spec"]["groups"] for r in group["rules"]]
    assert {a["alert"] for a in alerts} == ALERTS
    readme = README.read_text()
    anchors = {_anchor(h) for h in re.findall(r"^#+ (.+)$", readme, re.MULTILINE)}
    documented = documented_metrics()
    for alert in alerts:
        assert alert["labels"]["severity"] in {"critical", "warning"}
        assert alert["annotations"]["summary"]
        url = alert["annotations"]["runbook_url"]
        assert url.startswith("README.md#runbook-"), url
        assert url.removeprefix("README.md#") in anchors, url
        names = _named_metrics(alert["expr"])
        assert names, alert["expr"]
        assert all(_known(name, documented) for name in names), alert["expr"]
        promql_parser.parse(alert["expr"])  # raises on a syntax error, as promtool would
    pods = next(a for a in alerts if a["alert"] == "VitrinaPodRestarting")
    assert 'namespace="shop"' in pods["expr"]
    assert 'pod=~"vitrina-(bot|worker|api)-.*"' in pods["expr"]


def test_runbook_links_follow_a_configured_base(render: ChartWorkspace) -> None:
    manifests = render.render(
        values={
            "monitoring.rules.enabled": True,
            "monitoring.rules.runbookBaseUrl": "https://docs.example.test/vitrina/README.md",
        }
    )
    rule = one(manifests, "PrometheusRule", "vitrina-alerts")
    urls = [r["annotations"]["runbook_url"] for g in rule["spec"]["groups"] for r in g["rules"]]
    assert all(u.startswith("https://docs.example.test/vitrina/README.md#runbook-") for u in urls)


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_readme_documents_every_metric_the_dashboard_and_tests_rely_on() -> None:
    documented = documented_metrics()
    for metric in (
        "vitrina_orders_total",
        "vitrina_revenue_stars_total",
        "vitrina_purchase_delivery_latency_seconds",
        "vitrina_jetstream_consumer_pending",
        "vitrina_telegram_sends_total",
    ):
        assert metric in documented
