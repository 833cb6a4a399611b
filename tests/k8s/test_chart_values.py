"""values.schema.json and template guards turn operator mistakes into install errors."""

from __future__ import annotations

import pytest

from tests.k8s.charts import ChartWorkspace, one
from tests.k8s.conftest import BOT_TOKEN

pytestmark = pytest.mark.k8s


def _template(workspace: ChartWorkspace, *settings: str, chart: str = "vitrina") -> str:
    args = ["template", "vitrina", chart]
    for setting in settings:
        args += ["--set", setting]
    result = workspace.helm(*args, check=False)
    assert result.returncode != 0, "helm accepted values it should reject"
    return result.stderr


def test_wrong_value_type_is_rejected(render: ChartWorkspace) -> None:
    error = _template(render, "bot.replicaCount=three")

    assert "/replicaCount" in error
    assert "want integer" in error


@pytest.mark.parametrize(
    ("setting", "typo"),
    [
        ("bot.replicaCont=3", "replicaCont"),
        ("worker.autoscalling.mode=keda", "autoscalling"),
        ("migratons.enabled=false", "migratons"),
        ("global.vitrina.nats.ur=nats://x:4222", "ur"),
        ("global.vitrina.networkPolicy.webhookFrom[0].podSelectr.matchLabels.a=b", "podSelectr"),
        ("bot.networkPolicy.ports.nat=4222", "nat"),
    ],
)
def test_misspelled_key_is_rejected(render: ChartWorkspace, setting: str, typo: str) -> None:
    error = _template(render, setting)

    assert f"additional properties '{typo}' not allowed" in error


def test_unknown_autoscaling_mode_is_rejected(render: ChartWorkspace) -> None:
    error = _template(render, "worker.autoscaling.mode=hpa+keda")

    assert "/autoscaling/mode" in error


def test_dropping_the_non_root_guarantee_is_rejected(render: ChartWorkspace) -> None:
    error = _template(render, "bot.securityContext.readOnlyRootFilesystem=false")

    assert "readOnlyRootFilesystem" in error


def test_webhook_mode_without_a_public_url_fails_with_the_value_to_set(
    render: ChartWorkspace,
) -> None:
    error = _template(render, "bot.mode=webhook")

    assert "webhook.url" in error


def test_hpa_without_a_cpu_request_fails_with_the_value_to_set(render: ChartWorkspace) -> None:
    error = _template(render, "worker.resources.requests.cpu=null")

    assert "resources.requests.cpu" in error


def test_service_chart_installs_alone_with_its_own_secret(render: ChartWorkspace) -> None:
    manifests = render.render(values={"secret.values.APP_CONF__BOT__TOKEN": BOT_TOKEN}, chart="bot")
    secret = one(manifests, "Secret", "vitrina-bot")
    config = one(manifests, "ConfigMap", "vitrina-bot")["data"]

    assert secret["stringData"] == {"APP_CONF__BOT__TOKEN": BOT_TOKEN}
    assert config["APP_CONF__NATS__URL"] == "nats://nats:4222"


@pytest.mark.parametrize("server", ["nats", "postgresql"])
def test_an_external_server_without_addresses_fails_with_the_value_to_set(
    render: ChartWorkspace, server: str
) -> None:
    error = _template(render, f"{server}.enabled=false", f"secrets.botToken={BOT_TOKEN}")

    assert f"global.vitrina.networkPolicy.{server}To" in error
