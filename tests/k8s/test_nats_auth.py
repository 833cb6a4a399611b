"""NATS users and permissions in the chart: the bundled server's authorization is the Python
permission table, each process connects as its own user with a password from a Secret, and
every process that checks or provisions the topology gets the same limits.

The third-party NATS chart is a placeholder here (tests/k8s/charts.py), so what it renders
from our values (the include, the mount, the password variables) is checked on the values;
README "What the offline tests do not prove" says how to see it rendered for real.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest
import yaml

from tests.k8s.charts import CHARTS, RELEASE, ChartWorkspace, Manifest, by_kind, one
from tests.k8s.conftest import BOT_TOKEN
from vitrina_common.config import NatsSettings
from vitrina_common.messaging.permissions import NatsUser, table

pytestmark = pytest.mark.k8s

BOT, WORKER = f"{RELEASE}-bot", f"{RELEASE}-worker"
USERS_SECRET, AUTH_CONFIG = f"{RELEASE}-nats-users", f"{RELEASE}-nats-auth"
PASSWORD_VARIABLE = re.compile(r"\$(VITRINA_NATS_([A-Z]+)_PASSWORD)")
_UNITS = {"Mi": 2**20, "Gi": 2**30}


def _authorization(manifests: list[Manifest]) -> dict[str, Any]:
    """auth.conf as data: nats-server's JSON with its $VARIABLES made strings again."""
    text = one(manifests, "ConfigMap", AUTH_CONFIG)["data"]["auth.conf"]
    body = text.strip().removeprefix("authorization:")
    parsed: dict[str, Any] = json.loads(PASSWORD_VARIABLE.sub(r'"$\1"', body))
    return parsed


def _env(manifests: list[Manifest], job: str) -> dict[str, str]:
    (found,) = [doc for doc in by_kind(manifests, "Job") if job in doc["metadata"]["name"]]
    (container,) = found["spec"]["template"]["spec"]["containers"]
    return {item["name"]: item["value"] for item in container["env"]}


def _settings_sources(manifests: list[Manifest], kind: str, name: str) -> list[dict[str, Any]]:
    (found,) = [doc for doc in by_kind(manifests, kind) if name in doc["metadata"]["name"]]
    volumes = found["spec"]["template"]["spec"]["volumes"]
    (settings,) = [volume for volume in volumes if volume["name"] == "settings"]
    return [source["secret"] for source in settings["projected"]["sources"]]


def _nats_password_source(manifests: list[Manifest], kind: str, name: str) -> dict[str, Any]:
    sources = _settings_sources(manifests, kind, name)
    paths = [[item["path"] for item in source.get("items", [])] for source in sources]
    (source,) = [s for s, p in zip(sources, paths, strict=True) if "APP_CONF__NATS__PASSWORD" in p]
    return source


def test_the_production_nats_authorization_is_the_python_permission_table(
    rendered: dict[str, list[Manifest]],
) -> None:
    users = {user["user"]: user for user in _authorization(rendered["production"])["users"]}

    assert set(users) == {user.value for user in NatsUser}
    for name, rules in table().items():
        assert users[name].get("permissions") == rules, name
        # A reference to the server's environment, never a password in the ConfigMap.
        assert users[name]["password"] == f"$VITRINA_NATS_{name.upper()}_PASSWORD"


def test_every_process_connects_as_its_own_user_with_its_password_from_the_users_secret(
    rendered: dict[str, list[Manifest]],
) -> None:
    manifests = rendered["production"]

    for service, deployment in (("bot", BOT), ("worker", WORKER)):
        assert one(manifests, "ConfigMap", deployment)["data"]["APP_CONF__NATS__USER"] == service
        assert _nats_password_source(manifests, "Deployment", deployment) == {
            "name": USERS_SECRET,
            "items": [{"key": service, "path": "APP_CONF__NATS__PASSWORD"}],
        }
    assert _env(manifests, "provision")["APP_CONF__NATS__USER"] == "provision"
    assert _nats_password_source(manifests, "Job", "provision")["items"][0]["key"] == "provision"
    # The originals backup reads the bucket as the backup user, who may do nothing else.
    (cronjob,) = by_kind(manifests, "CronJob")
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (backup,) = pod["containers"]
    assert {e["name"]: e.get("value") for e in backup["env"]}["APP_CONF__NATS__USER"] == "backup"
    (settings,) = [volume for volume in pod["volumes"] if volume["name"] == "settings"]
    assert {
        "name": USERS_SECRET,
        "items": [{"key": "backup", "path": "APP_CONF__NATS__PASSWORD"}],
    } in [source["secret"] for source in settings["projected"]["sources"]]
    # Migrations never connect to NATS.
    assert "APP_CONF__NATS__USER" not in _env(manifests, "migrate")
    assert USERS_SECRET not in [s["name"] for s in _settings_sources(manifests, "Job", "migrate")]


def test_the_chart_makes_one_random_password_per_user_unless_given_a_secret(
    render: ChartWorkspace,
) -> None:
    values = {"secrets.botToken": BOT_TOKEN}
    first = one(render.render(values=values), "Secret", USERS_SECRET)["data"]
    again = one(render.render(values=values), "Secret", USERS_SECRET)["data"]
    passwords = [base64.b64decode(value).decode() for value in first.values()]
    own = render.render(values={**values, "global.vitrina.nats.auth.existingSecret": "mine"})

    assert set(first) == {user.value for user in NatsUser}
    assert len(set(passwords)) == len(passwords)
    assert all(re.fullmatch(r"[A-Za-z0-9]{32}", password) for password in passwords)
    # Without a cluster to look the Secret up in (helm template), every render makes new
    # ones: the documented reason for existingSecret with offline renderers.
    assert first != again
    assert USERS_SECRET not in [doc["metadata"]["name"] for doc in by_kind(own, "Secret")]
    assert _nats_password_source(own, "Deployment", WORKER)["name"] == "mine"


def test_the_bundled_server_includes_the_authorization_and_reads_the_passwords() -> None:
    values = yaml.safe_load((CHARTS / "vitrina" / "values.yaml").read_text())["nats"]
    helpers = (CHARTS / "vitrina-lib" / "templates" / "_nats.tpl").read_text()
    (mount,) = [patch["value"] for patch in values["container"]["patch"]]
    (volume,) = [patch["value"] for patch in values["podTemplate"]["patch"]]
    users = re.search(r'define "vitrina.natsUsers" -}}([a-z ]+){{', helpers)

    # nats.conf sits in /etc/nats-config; include paths are relative to it.
    assert values["config"]["merge"] == {"00$include": "../nats-auth/auth.conf"}
    assert mount == {"name": volume["name"], "mountPath": "/etc/nats-auth", "readOnly": True}
    assert "vitrina.natsAuthConfigMap" in volume["configMap"]["name"]["$tplYaml"]
    passwords = values["container"]["env"]["vitrinaPasswords"]
    assert "vitrina.natsServerEnv" in passwords["$tplYamlSpread"]
    assert users is not None
    assert users[1].split() == [user.value for user in NatsUser]


def test_the_bundled_server_cannot_run_without_users(render: ChartWorkspace) -> None:
    result = render.helm(
        "template", RELEASE, "vitrina", "--set", "global.vitrina.nats.auth.enabled=false",
        check=False,
    )  # fmt: skip

    assert result.returncode != 0
    assert "global.vitrina.nats.auth.enabled=false needs nats.enabled=false" in result.stderr


def test_every_process_that_checks_the_topology_gets_the_same_production_limits(
    rendered: dict[str, list[Manifest]],
) -> None:
    manifests = rendered["production"]
    settings = NatsSettings.model_fields
    limits = {
        name: value
        for name, value in one(manifests, "ConfigMap", BOT)["data"].items()
        if name.endswith("_MAX_BYTES")
    }
    worker = one(manifests, "ConfigMap", WORKER)["data"]
    provision = _env(manifests, "provision")

    assert {name.removeprefix("APP_CONF__NATS__").lower() for name in limits} == {
        field for field in settings if field.endswith("_max_bytes")
    }
    assert limits["APP_CONF__NATS__ORIGINALS_MAX_BYTES"] == str(11 * 2**30)
    assert limits == {name: worker[name] for name in limits}
    assert limits == {name: provision[name] for name in limits}


def test_the_production_limits_fit_the_production_jetstream_storage() -> None:
    values = yaml.safe_load((CHARTS / "vitrina" / "values-production.yaml").read_text())
    limits = values["global"]["vitrina"]["nats"]["limits"]
    store = values["nats"]["config"]["jetstream"]["fileStore"]

    def size(text: str) -> int:
        match = re.fullmatch(r"(\d+)(Mi|Gi)", text)
        assert match is not None, text
        return int(match[1]) * _UNITS[match[2]]

    total = sum(size(limit) for limit in limits.values())
    # Room for what JetStream does not count (README "JetStream budget and reconcile").
    assert total <= 0.85 * size(store["maxSize"])
    assert size(store["maxSize"]) < size(store["pvc"]["size"])


@pytest.mark.parametrize(
    ("given", "rendered_bytes"), [("1048576", "1048576"), ("64Mi", "67108864"), ("2Ki", "2048")]
)
def test_a_limit_is_bytes_or_a_binary_quantity(
    render: ChartWorkspace, given: str, rendered_bytes: str
) -> None:
    manifests = render.render(
        values={"secrets.botToken": BOT_TOKEN, "global.vitrina.nats.limits.jobs": given}
    )

    assert one(manifests, "ConfigMap", WORKER)["data"]["APP_CONF__NATS__JOBS_MAX_BYTES"] == (
        rendered_bytes
    )


def test_a_limit_in_other_units_is_rejected(render: ChartWorkspace) -> None:
    result = render.helm(
        "template", RELEASE, "vitrina", "--set-string", "global.vitrina.nats.limits.jobs=64MB",
        check=False,
    )  # fmt: skip

    assert result.returncode != 0
    assert "/global/vitrina/nats/limits/jobs" in result.stderr


def test_a_service_chart_alone_takes_the_nats_user_and_secret_it_is_given(
    render: ChartWorkspace,
) -> None:
    values = {
        "secret.values.APP_CONF__BOT__TOKEN": BOT_TOKEN,
        "nats.user": "shop-bot",
        "nats.passwordSecret.name": "shop-nats",
        "nats.passwordSecret.key": "password",
    }
    manifests = render.render(values=values, chart="bot")
    bare = render.render(values={"secret.values.APP_CONF__BOT__TOKEN": BOT_TOKEN}, chart="bot")

    assert one(manifests, "ConfigMap", "vitrina-bot")["data"]["APP_CONF__NATS__USER"] == "shop-bot"
    assert _nats_password_source(manifests, "Deployment", "vitrina-bot") == {
        "name": "shop-nats",
        "items": [{"key": "password", "path": "APP_CONF__NATS__PASSWORD"}],
    }
    assert "APP_CONF__NATS__USER" not in one(bare, "ConfigMap", "vitrina-bot")["data"]
