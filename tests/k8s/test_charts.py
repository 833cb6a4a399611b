"""The charts lint clean, build from the URL-free lock, and render valid Kubernetes objects."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]  # ships no type hints
import pytest
import yaml

from tests.k8s.charts import CHARTS, CUSTOM_KINDS, UMBRELLA, ChartWorkspace, Manifest, by_kind
from tests.k8s.conftest import VALUE_SETS
from tests.k8s.tools import ROOT

pytestmark = pytest.mark.k8s

KUBERNETES_VERSIONS = ["1.31.0", kubernetes_validate.latest_version()]
# Helm's Dependency struct, in field order, with its JSON tags (omitempty where marked).
_DEPENDENCY_FIELDS = [
    ("name", False),
    ("version", True),
    ("repository", False),
    ("condition", True),
    ("tags", True),
    ("enabled", True),
    ("import-values", True),
    ("alias", True),
]
ADDRESS = re.compile(r"https?://[A-Za-z0-9]")


def _helm_lock_digest(requested: list[dict[str, Any]], locked: list[dict[str, Any]]) -> str:
    """Helm's resolver.HashReq: sha256 of the JSON of [Chart.yaml deps, Chart.lock deps]."""

    def as_go(dep: dict[str, Any]) -> dict[str, Any]:
        return {
            key: dep.get(key, "")
            for key, omit_empty in _DEPENDENCY_FIELDS
            if not (omit_empty and not dep.get(key))
        }

    data = json.dumps(
        [[as_go(d) for d in requested], [as_go(d) for d in locked]], separators=(",", ":")
    )
    return "sha256:" + hashlib.sha256(data.encode()).hexdigest()


@pytest.mark.parametrize("chart", ["bot", "worker", "api", UMBRELLA])
def test_chart_passes_helm_lint_strict(workspace: ChartWorkspace, chart: str) -> None:
    result = workspace.helm("lint", "--strict", chart, check=False)

    assert result.returncode == 0, result.stdout + result.stderr


def test_build_deps_fills_the_umbrella_from_its_lock(workspace: ChartWorkspace) -> None:
    archives = sorted(p.name for p in (workspace.charts / UMBRELLA / "charts").glob("*.tgz"))

    assert archives == [
        "api-0.1.0.tgz",
        "bot-0.1.0.tgz",
        "cluster-0.3.1.tgz",
        "nats-1.3.16.tgz",
        "vitrina-lib-0.1.0.tgz",
        "worker-0.1.0.tgz",
    ]


@pytest.mark.parametrize("chart", ["bot", "worker", "api", UMBRELLA])
def test_chart_lock_matches_chart_yaml_and_names_repositories_by_alias(chart: str) -> None:
    requested = yaml.safe_load((CHARTS / chart / "Chart.yaml").read_text())["dependencies"]
    lock = yaml.safe_load((CHARTS / chart / "Chart.lock").read_text())

    assert [(d["name"], d["repository"], d["version"]) for d in lock["dependencies"]] == [
        (d["name"], d["repository"], d["version"]) for d in requested
    ]
    assert all(d["repository"].startswith(("file://", "@")) for d in lock["dependencies"])
    assert lock["digest"] == _helm_lock_digest(requested, lock["dependencies"])


def _delivery_files() -> list[Path]:
    # Not the git-ignored build output: subchart archives under charts/<chart>/charts/.
    files = [
        p
        for p in CHARTS.rglob("*")
        if p.is_file() and "charts" not in p.relative_to(CHARTS).parts[:-1]
    ]
    named = ["skaffold.yaml", "kind-config.yaml", ".gitlab-ci.yml", ".dockerignore"]
    docker = [ROOT / "services" / s / "Dockerfile" for s in ("bot", "worker", "api")]
    return files + [ROOT / name for name in named] + docker


def test_delivery_files_name_no_web_address() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in _delivery_files()
        for match in ADDRESS.finditer(path.read_text())
    ]

    assert offenders == []


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("value_set", sorted(VALUE_SETS))
def test_rendered_manifests_are_valid_kubernetes_objects(
    rendered: dict[str, list[Manifest]], value_set: str, version: str
) -> None:
    errors = []
    for doc in rendered[value_set]:
        if doc["kind"] in CUSTOM_KINDS:
            continue  # CRDs: asserted field by field in test_chart_behaviour
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            errors.append(f"{doc['kind']}/{doc['metadata']['name']}: {error.message}")

    assert errors == []


def test_service_monitors_scrape_the_named_health_port(
    rendered: dict[str, list[Manifest]],
) -> None:
    monitors = by_kind(rendered["webhook"], "ServiceMonitor") + by_kind(
        rendered["keda"], "ServiceMonitor"
    )

    assert len(monitors) == 2
    for monitor in monitors:
        assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
        assert monitor["spec"]["endpoints"][0]["port"] == "health"
        assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
