"""Memory: every container the chart renders, in every value set, has exactly the request
and limit the README's table gives it (measured peak RSS plus headroom, see README "Memory
limits"); the worker learns its limit, and the big files spool to an emptyDir with room for
them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.k8s.charts import RELEASE, ChartWorkspace, Manifest, one
from tests.k8s.conftest import VALUE_SETS
from tests.memory_table import container_table, quantity_bytes
from vitrina_common.config import ImportSettings

pytestmark = pytest.mark.k8s

SPOOL_DIR = "/var/spool/vitrina"
MAX_ZIP_BYTES = ImportSettings().max_zip_bytes


_POD_PATHS = {
    "Deployment": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


def _pod_spec(doc: Manifest) -> dict[str, Any] | None:
    """The pod a workload runs (a CronJob's through its Job template); None for the rest."""
    path = _POD_PATHS.get(doc["kind"])
    if path is None:
        return None
    found: dict[str, Any] = doc
    for key in path:
        found = found[key]
    return found


def _containers(manifests: list[Manifest]) -> list[dict[str, Any]]:
    """Every container and init container of every pod the release creates."""
    found = []
    for doc in manifests:
        if (pod := _pod_spec(doc)) is not None:
            found += pod["containers"] + pod.get("initContainers", [])
    return found


def _pod(manifests: list[Manifest], service: str) -> dict[str, Any]:
    pod: dict[str, Any] = one(manifests, "Deployment", f"{RELEASE}-{service}")["spec"]["template"]
    spec: dict[str, Any] = pod["spec"]
    return spec


def _app_container(manifests: list[Manifest], service: str) -> dict[str, Any]:
    container: dict[str, Any]
    (container,) = _pod(manifests, service)["containers"]
    return container


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS))
def test_every_container_has_the_request_and_limit_of_its_readme_row(
    rendered: dict[str, list[Manifest]], value_set: str
) -> None:
    table = container_table()
    for container in _containers(rendered[value_set]):
        name = container["name"]
        assert name in table, f"container {name} has no row in the README's memory table"
        resources = container.get("resources", {})
        assert resources.get("limits", {}).get("memory") == table[name].limit, name
        assert resources.get("requests", {}).get("memory") == table[name].request, name


def test_production_runs_every_container_of_the_readme_table(
    rendered: dict[str, list[Manifest]],
) -> None:
    rendered_names = {container["name"] for container in _containers(rendered["production"])}

    assert rendered_names == set(container_table()), (
        "README rows without a container, or the reverse"
    )


def test_every_limit_in_the_table_is_above_its_request() -> None:
    for row in container_table().values():
        assert quantity_bytes(row.request) <= quantity_bytes(row.limit), row.container


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS))
def test_the_worker_is_told_its_own_memory_limit(
    rendered: dict[str, list[Manifest]], value_set: str
) -> None:
    worker = _app_container(rendered[value_set], "worker")

    assert {
        "name": "APP_CONF__WORKER__MEMORY_LIMIT_BYTES",
        "valueFrom": {"resourceFieldRef": {"containerName": "worker", "resource": "limits.memory"}},
    } in worker["env"]


def test_an_operator_may_hold_the_worker_below_its_limit(render: ChartWorkspace) -> None:
    manifests = render.render(
        values={"config.extraEnv.APP_CONF__WORKER__MEMORY_LIMIT_BYTES": "536870912"},
        chart="worker",
    )

    assert "env" not in _app_container(manifests, "worker")
    config = one(manifests, "ConfigMap", f"{RELEASE}-worker")["data"]
    assert config["APP_CONF__WORKER__MEMORY_LIMIT_BYTES"] == "536870912"


@pytest.mark.parametrize(("service", "zips"), [("bot", 2), ("worker", 1)])
def test_big_files_spool_to_a_disk_emptydir_with_room_for_the_largest_zips(
    rendered: dict[str, list[Manifest]], service: str, zips: int
) -> None:
    manifests = rendered["production"]
    pod = _pod(manifests, service)
    (spool,) = [volume for volume in pod["volumes"] if volume["name"] == "spool"]
    config = one(manifests, "ConfigMap", f"{RELEASE}-{service}")["data"]

    # On the node's disk: tmpfs (medium: Memory) would count against the memory limit.
    assert "medium" not in spool["emptyDir"]
    assert quantity_bytes(spool["emptyDir"]["sizeLimit"]) >= zips * MAX_ZIP_BYTES
    assert config[f"APP_CONF__{service.upper()}__TEMP_DIR"] == SPOOL_DIR
    mount = {"name": "spool", "mountPath": SPOOL_DIR}
    assert mount in _app_container(manifests, service)["volumeMounts"]
