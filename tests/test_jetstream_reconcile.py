"""Streams and buckets follow the configuration: made with one replica, a start with three
replicas and other limits changes them in place on a real 3-node cluster, data kept; what
JetStream cannot change in place stops provisioning with one line saying how to migrate;
the same configuration twice changes nothing."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, RetentionPolicy, StorageType, StreamConfig

from devstack.nats import NatsCluster, NatsServer, credentials_env
from tests.conftest import service_base_env
from tests.pipeline import wait_until
from tests.services import NATS_PASSWORDS, start_service
from vitrina_common.config import CONFIG_ERROR_EXIT_CODE, NatsSettings
from vitrina_common.messaging import provisioning, reconcile
from vitrina_common.messaging.connection import connect_nats
from vitrina_common.messaging.provisioning import ensure_pull_consumer, provision_jetstream
from vitrina_common.messaging.reconcile import TopologyConflictError
from vitrina_common.messaging.targets import Target, topology_targets
from vitrina_common.messaging.topology import EVENTS_STREAM, JOBS_STREAM, RENDER_PREVIEW_CONSUMER
from vitrina_common.storage.objects import ImageStore

pytestmark = pytest.mark.nats

KIB = 1024
# Small limits keep the cluster's reservations tiny; the second start doubles each.
SMALL = {
    name: 256 * KIB
    for name in NatsSettings.model_fields
    if name.endswith("_max_bytes") and name != "originals_max_bytes"
} | {"originals_max_bytes": 1024 * KIB}


def settings(replicas: int, scale: int = 1) -> NatsSettings:
    return NatsSettings(
        stream_replicas=replicas, **{name: size * scale for name, size in SMALL.items()}
    )


class Recorder:
    """Stands in for a module's logger: what provisioning said."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def info(self, event: str, **fields: Any) -> None:
        self.lines.append((event, fields))


@pytest.fixture
def said(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(reconcile, "log", recorder)
    monkeypatch.setattr(provisioning, "log", recorder)
    return recorder


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[NatsCluster]:
    base = tmp_path_factory.mktemp("cluster")
    cluster = NatsCluster.on_free_ports(base)
    processes = await cluster.start(log_dir=base)
    yield cluster
    await asyncio.gather(*(process.stop(10) for process in processes))


@pytest_asyncio.fixture(loop_scope="session")
async def cluster_client(cluster: NatsCluster) -> AsyncIterator[Client]:
    client = await connect_nats(cluster.client_settings("admin"), name="tests-cluster")
    js = client.jetstream()
    for stream in await js.streams_info():
        await js.delete_stream(stream.config.name or "")
    yield client
    await client.close()


async def _replicated(js: JetStreamContext, target: Target) -> bool:
    # The leader plus two peers that have caught up.
    cluster = (await js.stream_info(target.stream)).cluster
    peers = (cluster.replicas or []) if cluster else []
    return len(peers) == 2 and all(peer.current for peer in peers)


async def test_a_topology_made_with_one_replica_gets_three_and_the_new_limits_keeping_data(
    cluster_client: Client, said: Recorder
) -> None:
    js = cluster_client.jetstream()
    await provision_jetstream(js, settings(replicas=1))
    sha = await ImageStore(js).put_original(b"original bytes")
    await (await js.key_value("fsm")).put("fsm.1.1.1.default.state", b"Checkout:email")
    await ensure_pull_consumer(js, RENDER_PREVIEW_CONSUMER, ack_wait_s=60, max_deliver=5)

    changes = await provision_jetstream(js, settings(replicas=3, scale=2))

    targets = topology_targets(settings(replicas=3, scale=2))
    for target in targets:
        config = (await js.stream_info(target.stream)).config
        assert (config.num_replicas, config.max_bytes) == (3, target.max_bytes), target.name

    async def all_replicated() -> bool:
        return all([await _replicated(js, target) for target in targets])

    await wait_until(all_replicated, timeout_s=15)
    # The workers' durable consumers follow their stream (created without replicas of their own).

    async def consumer_replicated() -> bool:
        info = await js.consumer_info(JOBS_STREAM.name, RENDER_PREVIEW_CONSUMER.durable)
        return info.cluster is not None and len(info.cluster.replicas or []) == 2

    await wait_until(consumer_replicated, timeout_s=15)
    assert await ImageStore(js).get_original(sha) == b"original bytes"
    entry = await (await js.key_value("fsm")).get("fsm.1.1.1.default.state")
    assert entry.value == b"Checkout:email"
    reconciled = [fields for event, fields in said.lines if event == "stream reconciled"]
    assert len(reconciled) == len(targets)
    assert reconciled[0]["changes"]["num_replicas"] == "1 → 3"
    assert {change.field for change in changes} == {"num_replicas", "max_bytes"}


async def test_the_same_configuration_again_changes_nothing_and_says_nothing(
    cluster_client: Client, said: Recorder
) -> None:
    js = cluster_client.jetstream()
    await provision_jetstream(js, settings(replicas=3))
    said.lines.clear()

    again = await asyncio.gather(*(provision_jetstream(js, settings(replicas=3)) for _ in range(3)))

    assert again == [[], [], []]
    assert said.lines == []


async def test_replicas_come_down_in_place_and_several_provisioners_at_once_agree(
    cluster_client: Client,
) -> None:
    js = cluster_client.jetstream()
    await provision_jetstream(js, settings(replicas=3))

    await asyncio.gather(*(provision_jetstream(js, settings(replicas=1)) for _ in range(3)))

    for target in topology_targets(settings(replicas=1)):
        assert (await js.stream_info(target.stream)).config.num_replicas == 1


# --- what cannot change in place (the session's single server is enough) ------------------


async def _replace_stream(js: JetStreamContext, **changes: Any) -> None:
    """JOBS as an older or hand-made install might have it."""
    await js.delete_stream(JOBS_STREAM.name)
    config = StreamConfig(
        name=JOBS_STREAM.name,
        subjects=list(JOBS_STREAM.subjects),
        retention=RetentionPolicy.WORK_QUEUE,
        storage=StorageType.FILE,
    )
    await js.add_stream(config.evolve(**changes))


STORAGE_REFUSAL = (
    "stream JOBS: storage is memory, the topology needs file, and "
    "JetStream cannot change it in place. Migrate: back up with `nats stream backup JOBS "
    "<dir>`, delete it with `nats stream rm JOBS`, then start again (it is created as "
    "declared) or restore the backup with a corrected config (`nats stream restore <dir> "
    "--config <file>`)"
)


async def test_a_stream_on_other_storage_stops_provisioning_with_how_to_migrate(
    nats_client: Client,
) -> None:
    js = nats_client.jetstream()
    await _replace_stream(js, storage=StorageType.MEMORY)

    with pytest.raises(TopologyConflictError) as refused:
        await provision_jetstream(js)

    assert refused.value.problems == [STORAGE_REFUSAL]
    assert (await js.stream_info(JOBS_STREAM.name)).config.storage == StorageType.MEMORY
    # Everything else was still brought to its target.
    assert (await js.stream_info(EVENTS_STREAM.name)).config.max_bytes == 32 * 1024 * 1024


async def test_the_provision_job_exits_2_with_one_line_and_no_traceback(
    nats_client: Client, nats_server: NatsServer, tmp_path: Path
) -> None:
    await _replace_stream(nats_client.jetstream(), storage=StorageType.MEMORY)
    env = service_base_env() | {"APP_CONF__NATS__URL": nats_server.url}
    env |= credentials_env("provision", NATS_PASSWORDS)

    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "vitrina_common.ops", "provision", "--timeout", "30"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == CONFIG_ERROR_EXIT_CODE
    assert result.stderr.splitlines() == [f"ops: config error: {STORAGE_REFUSAL}"]


@pytest.mark.parametrize(
    ("changes", "phrase"),
    [
        (
            {"retention": RetentionPolicy.LIMITS},
            "retention is limits, the topology needs workqueue",
        ),
        ({"subjects": ["jobs.>", "old.>"]}, "the topology drops its subjects old.>"),
    ],
)
async def test_work_queue_retention_and_dropped_subjects_are_not_changed_in_place(
    nats_client: Client, changes: dict[str, Any], phrase: str
) -> None:
    js = nats_client.jetstream()
    await _replace_stream(js, **changes)

    with pytest.raises(TopologyConflictError) as refused:
        await provision_jetstream(js)

    [problem] = refused.value.problems
    assert phrase in problem
    assert "nats stream backup JOBS" in problem


async def test_subjects_are_added_in_place(nats_client: Client) -> None:
    js = nats_client.jetstream()
    await _replace_stream(js, subjects=["jobs.preview.>"])

    await provision_jetstream(js)

    assert (await js.stream_info(JOBS_STREAM.name)).config.subjects == ["jobs.>"]


async def test_max_bytes_below_what_a_bucket_holds_is_refused_not_applied(
    nats_client: Client,
) -> None:
    js = nats_client.jetstream()
    await ImageStore(js).put_original(b"x" * 20_000)

    with pytest.raises(TopologyConflictError) as refused:
        await provision_jetstream(js, NatsSettings(originals_max_bytes=10_000))

    [problem] = refused.value.problems
    assert problem.startswith("object store originals (JetStream stream OBJ_originals): holds ")
    assert "APP_CONF__NATS__ORIGINALS_MAX_BYTES = 10000 (9.8 KiB)" in problem
    assert (await js.stream_info("OBJ_originals")).config.max_bytes == 512 * 1024 * 1024


async def test_events_may_shrink_below_what_they_hold_dropping_the_oldest(
    nats_client: Client,
) -> None:
    js = nats_client.jetstream()
    for number in range(20):
        await js.publish("events.test", b"e" * 1000, headers={"Nats-Msg-Id": str(number)})

    await provision_jetstream(js, NatsSettings(events_max_bytes=5_000))

    info = await js.stream_info(EVENTS_STREAM.name)
    assert info.config.max_bytes == 5_000
    assert info.state.bytes <= 5_000


async def test_more_replicas_than_servers_is_a_clear_configuration_error(
    nats_client: Client,
) -> None:
    with pytest.raises(TopologyConflictError) as refused:
        await provision_jetstream(nats_client.jetstream(), NatsSettings(stream_replicas=3))

    problem = refused.value.problems[0]
    assert "num_replicas 1 → 3" in problem
    assert "replicas > 1 not supported in non-clustered mode (error 10074)" in problem
    assert (
        "APP_CONF__NATS__STREAM_REPLICAS must be 1 on a NATS server that is not clustered"
        in problem
    )


async def test_an_fsm_bucket_from_an_old_install_gets_its_limits_and_keeps_its_values(
    nats_client: Client, said: Recorder
) -> None:
    js = nats_client.jetstream()
    await js.delete_key_value("fsm")
    old = await js.create_key_value(KeyValueConfig(bucket="fsm", history=5))
    await old.put("fsm.1.7.7.default.state", b"Checkout:email")

    await provision_jetstream(js)

    config = (await js.stream_info("KV_fsm")).config
    assert (config.max_msgs_per_subject, config.max_bytes) == (1, 64 * 1024 * 1024)
    [(event, fields)] = said.lines
    assert (event, fields["stream"]) == ("stream reconciled", "KV_fsm")
    assert fields["changes"]["max_bytes"] == "unlimited → 67108864 (64.0 MiB)"
    assert fields["changes"]["max_msgs_per_subject"] == "5 → 1"


@pytest.mark.postgres
@pytest.mark.slow
async def test_a_worker_facing_a_stream_it_cannot_change_exits_2_with_the_line(
    nats_client: Client, stack_env: dict[str, str], tmp_path: Path
) -> None:
    await _replace_stream(nats_client.jetstream(), storage=StorageType.MEMORY)

    process, _ = await start_service("worker", stack_env, tmp_path)
    async with asyncio.timeout(60):
        code = await process.process.wait()

    assert code == CONFIG_ERROR_EXIT_CODE
    log = (tmp_path / "worker.log").read_text()
    assert f"worker: config error: {STORAGE_REFUSAL}" in log
    assert "Traceback" not in log
    assert "retrying" not in log
