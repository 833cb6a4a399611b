"""Backups in the charts: production backs up the database through CloudNativePG and the
originals through a CronJob; every other value set backs up nothing.

The CloudNativePG ``cluster`` chart is a placeholder here, so the Cluster itself is not
rendered: the tests read the values Helm hands that chart (``SubchartValues``, see
charts.py), which its 0.3.1 templates turn into ``spec.backup.barmanObjectStore`` and one
``ScheduledBackup`` per ``scheduledBackups`` entry (README, "What the offline tests do not
prove").
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.k8s.charts import RELEASE, ChartWorkspace, Manifest, by_kind, one
from tests.k8s.conftest import VALUE_SETS

pytestmark = pytest.mark.k8s

CRONJOB = f"{RELEASE}-originals-backup"
NO_BACKUPS = sorted(set(VALUE_SETS) - {"production"})


def postgresql_values(workspace: ChartWorkspace, value_set: str) -> dict[str, Any] | None:
    """What the CloudNativePG chart receives under ``value_set``; None when it is disabled."""
    files, values = VALUE_SETS[value_set]
    manifests = workspace.render(*files, values={**values, "postgresql.echoValues": True})
    echoed = by_kind(manifests, "SubchartValues")
    found = [doc["values"] for doc in echoed if doc["metadata"]["name"] == "postgresql"]
    return found[0] if found else None


def test_production_configures_cnpg_backups_to_an_object_store_with_wal_archiving(
    render: ChartWorkspace,
) -> None:
    values = postgresql_values(render, "production")
    assert values is not None
    backups = values["backups"]

    assert backups["enabled"] is True
    assert backups["provider"] == "s3"
    assert backups["destinationPath"].startswith("s3://")
    # Credentials come from a Secret the operator creates, never from values.
    assert backups["secret"] == {"create": False, "name": "vitrina-postgresql-backup-s3"}
    assert "accessKey" not in backups.get("s3", {})
    assert backups["retentionPolicy"] == "30d"
    assert backups["wal"]["maxParallel"] >= 1
    [daily] = backups["scheduledBackups"]
    assert daily["method"] == "barmanObjectStore"
    assert len(daily["schedule"].split()) == 6  # CloudNativePG's cron has seconds first


@pytest.mark.parametrize("value_set", ["default", "dev"])
def test_cnpg_backups_are_off_outside_production(render: ChartWorkspace, value_set: str) -> None:
    values = postgresql_values(render, value_set)

    assert values is not None
    assert values["backups"]["enabled"] is False


def test_an_external_database_gets_no_cnpg_chart_at_all(render: ChartWorkspace) -> None:
    assert postgresql_values(render, "external") is None


def test_production_backs_up_the_originals_nightly_into_a_kept_volume(
    rendered: dict[str, list[Manifest]],
) -> None:
    manifests = rendered["production"]
    cronjob = one(manifests, "CronJob", CRONJOB)
    claim = one(manifests, "PersistentVolumeClaim", CRONJOB)
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    volumes = {volume["name"]: volume for volume in pod["volumes"]}

    assert cronjob["spec"]["schedule"] == "30 3 * * *"
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    assert container["command"][:6] == [
        "python", "-m", "vitrina_common.ops", "backup-originals", "--dir", "/backup/originals",
    ]  # fmt: skip
    assert volumes["backup"]["persistentVolumeClaim"]["claimName"] == CRONJOB
    assert {"name": "backup", "mountPath": "/backup"} in container["volumeMounts"]
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["APP_CONF__NATS__URL"] == f"nats://{RELEASE}-nats:4222"


def test_the_originals_backup_pod_is_hardened_like_the_other_jobs(
    rendered: dict[str, list[Manifest]],
) -> None:
    cronjob = one(rendered["production"], "CronJob", CRONJOB)
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]

    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["fsGroup"] == 10001  # the volume is writable by the app user
    assert pod["automountServiceAccountToken"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["resources"]["limits"]["memory"]


def test_an_existing_claim_is_used_and_none_is_created(render: ChartWorkspace) -> None:
    manifests = render.render(
        values={
            "secrets.botToken": "123456:test",
            "originalsBackup.enabled": True,
            "originalsBackup.volume.existingClaim": "nfs-backups",
            "originalsBackup.verifyExisting": True,
        }
    )
    cronjob = one(manifests, "CronJob", CRONJOB)
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    volumes = {volume["name"]: volume for volume in pod["volumes"]}

    assert by_kind(manifests, "PersistentVolumeClaim") == []
    assert volumes["backup"]["persistentVolumeClaim"]["claimName"] == "nfs-backups"
    assert pod["containers"][0]["command"][-1] == "--verify-existing"


@pytest.mark.parametrize("value_set", NO_BACKUPS)
def test_no_originals_backup_outside_production(
    rendered: dict[str, list[Manifest]], value_set: str
) -> None:
    manifests = rendered[value_set]

    assert by_kind(manifests, "CronJob") == []
    assert by_kind(manifests, "PersistentVolumeClaim") == []
