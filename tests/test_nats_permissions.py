"""Each process's NATS user may do what its code does and nothing else, checked against the
real server: a forbidden publish, read or subscription is refused by nats-server (its
``-ERR 'Permissions Violation …'`` reaches the client, and nothing changes), and what the
process does works. The users and rules are ``vitrina_common.messaging.permissions``: the
ones the dev stack, every other test and the Helm chart run with.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from nats.aio.client import Client
from nats.errors import Error as NatsError

from devstack.nats import NatsServer
from tests.conftest import ROOT
from tests.services import NATS_PASSWORDS
from vitrina_common.config import NatsSettings
from vitrina_common.messaging import contracts
from vitrina_common.messaging.permissions import (
    EVENT_CONTRACTS,
    JOB_CONTRACTS,
    NatsUser,
    inbox_prefix,
    permissions,
    table,
)
from vitrina_common.messaging.provisioning import ensure_pull_consumer, provision_jetstream
from vitrina_common.messaging.topology import (
    BOT_PREVIEW_EVENTS_CONSUMER,
    CHAT_LOCKS_BUCKET,
    FSM_BUCKET,
    JOBS_STREAM,
    RENDER_PREVIEW_CONSUMER,
)
from vitrina_common.messaging.topology_check import check_jetstream
from vitrina_common.storage.backup_dir import BackupDir
from vitrina_common.storage.capacity import StorageRoom
from vitrina_common.storage.import_files import ImportFiles
from vitrina_common.storage.objects import ImageStore
from vitrina_common.storage.originals_backup import backup_originals

CHART_PERMISSIONS = ROOT / "charts/vitrina/files/nats-permissions.json"
SERVICES = ("bot", "worker", "provision", "backup")
JOB = b'{"product_id": 1, "original_sha256": "' + b"a" * 64 + b'"}'


@dataclass
class Session:
    """A connection as one user, and the errors the server sent it."""

    client: Client
    errors: list[str] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def on_error(self, error: Exception) -> None:
        """The connection's error callback."""
        self.errors.append(str(error))
        self.arrived.set()

    async def refused(self, subject: str, timeout_s: float = 3.0) -> bool:
        """Whether the server reported a permissions violation on ``subject`` in time."""
        wanted = {f'{verb} "{subject.lower()}"' for verb in ("publish to", "subscription to")}
        try:
            async with asyncio.timeout(timeout_s):
                while not any(w in e.lower() for e in self.errors for w in wanted):
                    self.arrived.clear()
                    await self.arrived.wait()
        except TimeoutError:
            return False
        return True


@asynccontextmanager
async def connected_as(server: NatsServer, user: str) -> AsyncIterator[Session]:
    """A connection as ``user``, made like ``connect_nats`` makes it (its own inbox)."""
    session = Session(Client())
    await session.client.connect(
        servers=[server.url],
        user=user,
        password=NATS_PASSWORDS[user],
        inbox_prefix=inbox_prefix(user),
        error_cb=session.on_error,
        allow_reconnect=False,
    )
    try:
        yield session
    finally:
        await session.client.close()


def test_the_charts_permission_file_is_the_python_table() -> None:
    assert json.loads(CHART_PERMISSIONS.read_text()) == table(), (
        "regenerate it: .venv/bin/python -m vitrina_common.messaging.permissions "
        "> charts/vitrina/files/nats-permissions.json"
    )


def test_every_message_is_published_by_the_processes_that_send_it() -> None:
    every = {kind.subject for kind in contracts.Contract.__subclasses__()}
    jobs = {kind.subject for kind in JOB_CONTRACTS}
    events = {kind.subject for kind in EVENT_CONTRACTS}
    bot, worker = permissions(NatsUser.BOT), permissions(NatsUser.WORKER)
    assert bot is not None
    assert worker is not None

    assert every == jobs | events
    # Both run the outbox relay, which publishes any job either committed.
    assert jobs <= set(bot.publish) & set(worker.publish)
    assert events <= set(worker.publish) - set(bot.publish)


# What each process must never do: (user, subject, what it would have done).
FORBIDDEN_PUBLISHES = [
    ("worker", "$KV.fsm.chat-1", "overwrite a shopper's conversation"),
    ("worker", "$JS.API.STREAM.MSG.GET.KV_fsm", "read conversations"),
    ("worker", "$JS.API.DIRECT.GET.KV_fsm.$KV.fsm.chat-1", "read a conversation"),
    ("worker", "$KV.chat-locks.1", "take a chat's lock"),
    ("worker", "$JS.API.STREAM.PURGE.JOBS", "empty the job queue"),
    ("worker", "$JS.API.CONSUMER.DELETE.JOBS.render-preview", "delete a consumer"),
    ("worker", "$JS.API.CONSUMER.MSG.NEXT.EVENTS.bot-preview-events", "take the bot's events"),
    ("bot", "$JS.API.STREAM.DELETE.JOBS", "delete a stream"),
    ("bot", "$JS.API.STREAM.UPDATE.JOBS", "change a stream"),
    ("bot", "$JS.API.STREAM.MSG.DELETE.JOBS", "drop a job"),
    ("bot", "$JS.API.CONSUMER.MSG.NEXT.JOBS.render-preview", "take the worker's render jobs"),
    ("bot", "$JS.API.CONSUMER.CREATE.JOBS.render-preview.jobs.>", "rewire a worker consumer"),
    ("bot", "$JS.ACK.JOBS.render-preview.1.1.1.1.0", "settle a render job"),
    ("bot", "$O.previews.M.eA==", "replace a preview"),
    ("bot", "$JS.API.STREAM.PURGE.OBJ_previews", "empty the previews"),
    ("bot", "events.preview.ready", "announce a preview nobody rendered"),
    ("provision", "jobs.preview.render", "queue a job"),
    ("provision", "$JS.API.STREAM.DELETE.OBJ_originals", "delete the originals"),
    ("provision", "$O.originals.M.eA==", "write an original"),
    ("backup", "$O.originals.M.eA==", "write an original"),
    ("backup", "$O.originals.C.eA==", "overwrite an original's chunks"),
    ("backup", "jobs.preview.render", "queue a job"),
    ("backup", "$JS.API.STREAM.MSG.GET.KV_fsm", "read conversations"),
    ("backup", "$JS.API.STREAM.MSG.GET.OBJ_imports", "read a shop's imports"),
    *((user, "$JS.API.STREAM.PURGE.OBJ_originals", "empty the originals") for user in SERVICES),
    *((user, "$JS.API.STREAM.PURGE.KV_fsm", "forget every conversation") for user in SERVICES),
]
FORBIDDEN_SUBSCRIPTIONS = [
    ("worker", "_INBOX.bot.>", "read the bot's replies, conversations among them"),
    ("bot", "_INBOX.worker.>", "read the worker's replies"),
    ("provision", "_INBOX.>", "read everyone's replies"),
    ("backup", "_INBOX.bot.>", "read the bot's replies"),
    ("bot", "jobs.>", "watch jobs as they are queued"),
    ("worker", "$KV.fsm.>", "watch conversations change"),
    ("bot", "$JS.EVENT.ADVISORY.>", "watch the server's advisories"),
]


@pytest.mark.nats
@pytest.mark.usefixtures("nats_client")
@pytest.mark.parametrize(("user", "subject", "what"), FORBIDDEN_PUBLISHES)
async def test_a_forbidden_publish_is_refused_by_the_server(
    nats_server: NatsServer, user: str, subject: str, what: str
) -> None:
    async with connected_as(nats_server, user) as session:
        await session.client.publish(subject, b"{}")
        await session.client.flush()

        assert await session.refused(subject), f"{user} may {what}"


@pytest.mark.nats
@pytest.mark.usefixtures("nats_client")
@pytest.mark.parametrize(("user", "subject", "what"), FORBIDDEN_SUBSCRIPTIONS)
async def test_a_forbidden_subscription_is_refused_by_the_server(
    nats_server: NatsServer, user: str, subject: str, what: str
) -> None:
    async with connected_as(nats_server, user) as session:
        await session.client.subscribe(subject)
        await session.client.flush()

        assert await session.refused(subject), f"{user} may {what}"


@pytest.mark.nats
async def test_no_service_user_can_delete_or_purge_what_it_does_not_own(
    nats_server: NatsServer, nats_client: Client
) -> None:
    admin = nats_client.jetstream()
    key = await ImageStore(admin).put_original(b"an original sold to someone")
    for user in SERVICES:
        async with connected_as(nats_server, user) as session:
            for subject in ("$JS.API.STREAM.DELETE.JOBS", "$JS.API.STREAM.PURGE.OBJ_originals"):
                with pytest.raises(TimeoutError):
                    await session.client.request(subject, b"", timeout=0.5)
                assert await session.refused(subject)

    assert await ImageStore(admin).get_original(key) == b"an original sold to someone"
    assert (await admin.stream_info(JOBS_STREAM.name)).config.name == JOBS_STREAM.name


@pytest.mark.nats
async def test_the_bot_cannot_take_the_workers_render_jobs(
    nats_server: NatsServer, nats_client: Client
) -> None:
    admin = nats_client.jetstream()
    spec = RENDER_PREVIEW_CONSUMER
    await ensure_pull_consumer(admin, spec, ack_wait_s=30, max_deliver=3)
    await admin.publish(spec.filter_subject, JOB)
    async with connected_as(nats_server, "bot") as bot:
        with pytest.raises(TimeoutError):
            await bot.client.request(f"$JS.API.CONSUMER.MSG.NEXT.{spec.stream}.{spec.durable}")
        assert await bot.refused(f"$JS.API.CONSUMER.MSG.NEXT.{spec.stream}.{spec.durable}")

    async with connected_as(nats_server, "worker") as worker:
        jobs = await worker.client.jetstream().pull_subscribe_bind(spec.durable, stream=spec.stream)
        [job] = await jobs.fetch(1, timeout=5)
        await job.ack_sync()
        assert job.data == JOB
        assert worker.errors == []


@pytest.mark.nats
async def test_the_bot_user_does_all_the_bot_does(
    nats_server: NatsServer, nats_client: Client
) -> None:
    admin = nats_client.jetstream()
    await ImageStore(admin).put_preview("1-aaaa.jpg", b"preview")
    await ImageStore(admin).put_artifact("export.csv", b"a;b")
    async with connected_as(nats_server, "bot") as bot:
        js = bot.client.jetstream()
        await check_jetstream(js, NatsSettings())
        fsm = await js.key_value(FSM_BUCKET.name)
        revision = await fsm.put("chat-1", b"state")
        await fsm.update("chat-1", b"next", last=revision)
        assert (await fsm.get("chat-1")).value == b"next"
        await fsm.delete("chat-1")
        locks = await js.key_value(CHAT_LOCKS_BUCKET.name)
        await locks.delete("7", last=await locks.create("7", b""))
        store = ImageStore(js)
        key = await store.put_original(b"an upload")
        assert await store.get_original(key) == b"an upload"
        assert await store.get_preview("1-aaaa.jpg") == b"preview"
        assert await store.artifact_size("export.csv") == 3
        assert await store.get_artifact("export.csv") == b"a;b"
        room = StorageRoom(js, 90)
        await room.check_originals(1000)
        await room.check_imports(1000)
        await ImportFiles(js).put("import.zip", b"zip")
        for job in JOB_CONTRACTS:
            await js.publish(job.subject, b"{}", headers={"Nats-Msg-Id": job.subject})
        spec = BOT_PREVIEW_EVENTS_CONSUMER
        await ensure_pull_consumer(js, spec, ack_wait_s=30, max_deliver=3)
        await admin.publish("events.preview.ready", b"{}")
        events = await js.pull_subscribe_bind(spec.durable, stream=spec.stream)
        [event] = await events.fetch(1, timeout=5)
        await event.ack_sync()

        assert bot.errors == []


@pytest.mark.nats
async def test_the_worker_user_does_all_the_worker_does(
    nats_server: NatsServer, nats_client: Client
) -> None:
    admin = nats_client.jetstream()
    original = await ImageStore(admin).put_original(b"an original")
    await ImportFiles(admin).put("import.csv", b"title;price")
    await admin.publish(RENDER_PREVIEW_CONSUMER.filter_subject, JOB)
    async with connected_as(nats_server, "worker") as worker:
        js = worker.client.jetstream()
        await check_jetstream(js, NatsSettings())
        spec = RENDER_PREVIEW_CONSUMER
        await ensure_pull_consumer(js, spec, ack_wait_s=30, max_deliver=3)
        advisory = f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{spec.stream}.{spec.durable}"
        await worker.client.subscribe(advisory, queue="worker-dead-letters")
        jobs = await js.pull_subscribe_bind(spec.durable, stream=spec.stream)
        [job] = await jobs.fetch(1, timeout=5)
        await job.in_progress()
        await job.ack_sync()
        store = ImageStore(js)
        assert await store.get_original(original) == b"an original"
        await store.put_original(b"an image from an import")
        # A re-render and a redelivered export overwrite their objects (purging old chunks).
        for _ in range(2):
            await store.put_preview("1-aaaa.jpg", b"preview")
            await store.put_artifact("charts.png", b"png")
        files = ImportFiles(js)
        assert await files.get("import.csv") == b"title;price"
        await files.delete("import.csv")
        for event in EVENT_CONTRACTS:
            await js.publish(event.subject, b"{}", headers={"Nats-Msg-Id": event.subject})
        await js.publish("jobs.import.row", b"{}")
        # A dead letter: read the exhausted job, then drop it from the queue.
        sequence = (await admin.publish(spec.filter_subject, JOB)).seq
        assert (await js.get_msg(spec.stream, sequence)).data == JOB
        await js.delete_msg(spec.stream, sequence)
        await worker.client.flush()

        assert worker.errors == []


@pytest.mark.nats
async def test_the_provision_user_creates_and_reconciles_the_topology(
    nats_server: NatsServer, nats_client: Client
) -> None:
    admin = nats_client.jetstream()
    for stream in await admin.streams_info():
        await admin.delete_stream(stream.config.name or "")
    async with connected_as(nats_server, "provision") as provision:
        js = provision.client.jetstream()
        await provision_jetstream(js)
        changes = await provision_jetstream(js, NatsSettings(jobs_max_bytes=32 * 1024 * 1024))

        assert [change.field for change in changes] == ["max_bytes"]
        assert provision.errors == []


@pytest.mark.nats
async def test_the_backup_user_copies_the_originals_out(
    nats_server: NatsServer, nats_client: Client, tmp_path: Path
) -> None:
    kept = await ImageStore(nats_client.jetstream()).put_original(b"an original")
    async with connected_as(nats_server, "backup") as backup:
        report = await backup_originals(backup.client.jetstream(), tmp_path)

        assert report.ok
        assert BackupDir(tmp_path).path_of(kept).read_bytes() == b"an original"
        assert backup.errors == []


@pytest.mark.nats
@pytest.mark.parametrize(
    ("user", "password"), [(None, None), ("bot", "not-the-password"), ("intruder", "x")]
)
async def test_a_connection_without_a_known_user_is_refused(
    nats_server: NatsServer, user: str | None, password: str | None
) -> None:
    client = Client()
    try:
        with pytest.raises(NatsError, match="Authorization Violation"):
            await client.connect(
                servers=[nats_server.url],
                user=user,
                password=password,
                allow_reconnect=False,
                error_cb=_ignore,
            )
    finally:
        await client.close()


async def _ignore(error: Exception) -> None:
    del error
