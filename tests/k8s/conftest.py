"""Fixtures of the k8s tests: pinned tools (fetched once per machine) and a built chart copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.k8s.charts import ChartWorkspace, Manifest
from tests.k8s.tools import Tools, ensure_tools

# The token shape the app accepts (digits, colon, secret); test data only.
BOT_TOKEN = "123456:test-token"
WEBHOOK_HOST = "shop.example.test"

# Value sets rendered and validated: the files operators use, with what CI passes.
VALUE_SETS: dict[str, tuple[list[str], dict[str, str | int | bool]]] = {
    "default": ([], {"secrets.botToken": BOT_TOKEN}),
    "production": (
        ["vitrina/values-production.yaml"],
        {"secrets.botToken": BOT_TOKEN, "bot.webhook.ingress.host": WEBHOOK_HOST},
    ),
    "webhook": (
        ["vitrina/examples/values-webhook.yaml"],
        {
            "bot.webhook.ingress.host": WEBHOOK_HOST,
            "bot.networkPolicy.enabled": True,
            "bot.metrics.serviceMonitor.enabled": True,
            "monitoring.dashboards.enabled": True,
            "monitoring.rules.enabled": True,
        },
    ),
    "keda": (
        ["vitrina/examples/values-keda.yaml"],
        {"worker.networkPolicy.enabled": True, "worker.metrics.serviceMonitor.enabled": True},
    ),
    "external": (["vitrina/examples/values-external.yaml"], {}),
    "dev": (["vitrina/values-dev.yaml"], {}),
}


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker here, so the suite needs nothing from pyproject.toml."""
    config.addinivalue_line(
        "markers", "k8s: renders charts and lints CI/Docker files with pinned offline tools"
    )


@pytest.fixture(scope="session")
def tools() -> Tools:
    """Helm, kubectl and gitlab-ci-local at their pinned versions; fails without npm."""
    return ensure_tools()


@pytest.fixture(scope="session")
def workspace(tools: Tools, tmp_path_factory: pytest.TempPathFactory) -> ChartWorkspace:
    """charts/ copied aside with every subchart in place, as build-deps.sh leaves it."""
    space = ChartWorkspace(tmp_path_factory.mktemp("charts"), tools.helm)
    result = space.build_dependencies()
    assert result.returncode == 0, result.stdout + result.stderr
    return space


@pytest.fixture(scope="session")
def rendered(workspace: ChartWorkspace) -> dict[str, list[Manifest]]:
    """Every value set, rendered once for the session."""
    return {
        name: workspace.render(*files, values=values)
        for name, (files, values) in VALUE_SETS.items()
    }


@pytest.fixture
def render(workspace: ChartWorkspace) -> ChartWorkspace:
    """The workspace, for tests that render values of their own."""
    return workspace


def chart_file(relative: str) -> Path:
    """A path under the repository's charts/."""
    return Path(__file__).resolve().parents[2] / "charts" / relative
