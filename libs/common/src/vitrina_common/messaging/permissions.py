"""Who may do what on NATS: one user per process, allowed only the subjects its code uses.

The one source of the server's authorization: the dev stack and the tests write it into
nats-server's configuration (``devstack/nats.py``), and the Helm chart renders it from
``charts/vitrina/files/nats-permissions.json``, which ``python -m
vitrina_common.messaging.permissions`` writes and a test keeps equal to this table.

Subjects come from the topology and the contracts, so renaming a stream or adding a job
changes the permissions with it; ``api_subjects`` says which subjects each JetStream
operation needs.

Replies (publish acks, API answers, fetched messages, object chunks) arrive on the user's
own inbox prefix, ``_INBOX.<user>``: no user may subscribe to another's replies.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from vitrina_common.config import NatsSettings
from vitrina_common.messaging import api_subjects as jsapi
from vitrina_common.messaging import contracts
from vitrina_common.messaging.api_subjects import API
from vitrina_common.messaging.targets import topology_targets
from vitrina_common.messaging.topology import (
    ARTIFACTS_BUCKET,
    BOT_ARTIFACT_EVENTS_CONSUMER,
    BOT_PREVIEW_EVENTS_CONSUMER,
    CHAT_LOCKS_BUCKET,
    FSM_BUCKET,
    IMPORT_PLAN_CONSUMER,
    IMPORT_REPORT_CONSUMER,
    IMPORT_ROW_CONSUMER,
    IMPORTS_BUCKET,
    JOBS_STREAM,
    ORIGINALS_BUCKET,
    PREVIEWS_BUCKET,
    RENDER_PREVIEW_CONSUMER,
    REPORT_CHARTS_CONSUMER,
    REPORT_EXPORT_CONSUMER,
    SEND_BUDGET_BUCKET,
    max_deliveries_subject,
)

DEFAULT_INBOX_PREFIX = "_INBOX"
# Every stream and bucket of the topology, by its JetStream stream name.
STREAMS = tuple(target.stream for target in topology_targets(NatsSettings()))


class NatsUser(StrEnum):
    """The NATS users: one per process that connects (migrations do not)."""

    BOT = "bot"
    WORKER = "worker"
    PROVISION = "provision"
    # The originals backup CronJob: reads the originals bucket, nothing else.
    BACKUP = "backup"
    # Operators (backups, `nats stream rm` when a migration needs it) and the tests' reset.
    ADMIN = "admin"


def inbox_prefix(user: str | None) -> str:
    """Where ``user``'s replies arrive: ``_INBOX.<user>``, NATS's default without a user."""
    return f"{DEFAULT_INBOX_PREFIX}.{user}" if user else DEFAULT_INBOX_PREFIX


@dataclass(frozen=True)
class Permissions:
    """A user's allowed publish and subscribe subjects; ``deny`` wins over ``publish``."""

    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    deny: tuple[str, ...] = field(default=())

    def server_config(self) -> dict[str, object]:
        """The ``permissions`` block of a nats-server user."""
        publish: dict[str, list[str]] = {"allow": list(self.publish)}
        if self.deny:
            publish["deny"] = list(self.deny)
        return {"publish": publish, "subscribe": {"allow": list(self.subscribe)}}


def _subjects(contract_types: Iterable[type[contracts.Contract]]) -> list[str]:
    return [contract.subject for contract in contract_types]


JOB_CONTRACTS = (
    contracts.RenderPreviewJob,
    contracts.SalesChartsJob,
    contracts.ExportJob,
    contracts.ImportPlanJob,
    contracts.ImportRowJob,
    contracts.ImportReportJob,
)
EVENT_CONTRACTS = (
    contracts.PreviewReady,
    contracts.PreviewFailed,
    contracts.ArtifactReady,
    contracts.ArtifactFailed,
)
BOT_CONSUMERS = (BOT_PREVIEW_EVENTS_CONSUMER, BOT_ARTIFACT_EVENTS_CONSUMER)
WORKER_CONSUMERS = (
    RENDER_PREVIEW_CONSUMER,
    REPORT_CHARTS_CONSUMER,
    REPORT_EXPORT_CONSUMER,
    IMPORT_PLAN_CONSUMER,
    IMPORT_ROW_CONSUMER,
    IMPORT_REPORT_CONSUMER,
)
# Consumers whose lag the bot's gauges read (consumer info only: it pulls from none of the
# worker's), so the lag shows while no worker runs.
WATCHED_CONSUMERS = (*WORKER_CONSUMERS, *BOT_CONSUMERS)
# Consumers whose exhausted jobs the worker settles from JetStream's advisory.
DEAD_LETTERED = (
    RENDER_PREVIEW_CONSUMER,
    IMPORT_PLAN_CONSUMER,
    IMPORT_ROW_CONSUMER,
    IMPORT_REPORT_CONSUMER,
)


def _never(purged: Iterable[str] = ()) -> tuple[str, ...]:
    """Denied to every application user, whatever a wider allow may say: deleting streams
    or consumers, and purging any stream but the ones the user replaces objects in."""
    keep = set(purged)
    return (
        f"{API}.STREAM.DELETE.>",
        f"{API}.CONSUMER.DELETE.>",
        *(f"{API}.STREAM.PURGE.{stream}" for stream in STREAMS if stream not in keep),
    )


def _bot(user: str) -> Permissions:
    publish = [
        # The outbox relay publishes every job any process committed (uploads, reports,
        # imports, and the row and report jobs of the worker's import plans).
        *_subjects(JOB_CONTRACTS),
        *jsapi.stream_info(STREAMS),
        *(subject for spec in BOT_CONSUMERS for subject in jsapi.pull(spec)),
        *(f"{API}.CONSUMER.INFO.{spec.stream}.{spec.durable}" for spec in WORKER_CONSUMERS),
        *jsapi.write(ORIGINALS_BUCKET),
        *jsapi.read(ORIGINALS_BUCKET),
        *jsapi.read(PREVIEWS_BUCKET),
        *jsapi.read(ARTIFACTS_BUCKET),
        *jsapi.write(IMPORTS_BUCKET),
        *jsapi.look_up(IMPORTS_BUCKET),
        *jsapi.key_value(FSM_BUCKET),
        *jsapi.key_value(CHAT_LOCKS_BUCKET),
    ]
    return Permissions(tuple(publish), (f"{inbox_prefix(user)}.>",), _never())


def _worker(user: str) -> Permissions:
    # Re-renders and redelivered exports overwrite their objects; planned imports are
    # deleted: both purge the old chunks. Originals are never replaced (keyed by content).
    replaced = (PREVIEWS_BUCKET, ARTIFACTS_BUCKET, IMPORTS_BUCKET)
    publish = [
        *_subjects(JOB_CONTRACTS),
        *_subjects(EVENT_CONTRACTS),
        *jsapi.stream_info(STREAMS),
        *(subject for spec in WORKER_CONSUMERS for subject in jsapi.pull(spec)),
        # Dead letters: read the exhausted job, then remove it from the queue.
        f"{API}.STREAM.MSG.GET.{JOBS_STREAM.name}",
        f"{API}.STREAM.MSG.DELETE.{JOBS_STREAM.name}",
        *jsapi.read(ORIGINALS_BUCKET),
        *jsapi.write(ORIGINALS_BUCKET),
        *jsapi.read(IMPORTS_BUCKET),
        # Broadcasts draw from the global send budget (compare-and-set on its one key).
        *jsapi.key_value(SEND_BUDGET_BUCKET),
    ]
    for bucket in replaced:
        publish += [*jsapi.look_up(bucket), *jsapi.write(bucket), *jsapi.replace(bucket)]
    subscribe = [f"{inbox_prefix(user)}.>", *map(max_deliveries_subject, DEAD_LETTERED)]
    purged = [jsapi.object_stream(bucket) for bucket in replaced]
    return Permissions(tuple(dict.fromkeys(publish)), tuple(subscribe), _never(purged))


def _provision(user: str) -> Permissions:
    publish = [
        f"{API}.STREAM.{verb}.{stream}"
        for stream in STREAMS
        for verb in ("INFO", "CREATE", "UPDATE")
    ]
    return Permissions(tuple(publish), (f"{inbox_prefix(user)}.>",), _never())


def _backup(user: str) -> Permissions:
    # Copies originals out; putting them back (restore-originals) is an operator's act,
    # done as the admin, so a stolen backup password cannot write into the shop.
    publish = [
        *jsapi.stream_info([jsapi.object_stream(ORIGINALS_BUCKET)]),
        *jsapi.read(ORIGINALS_BUCKET),
    ]
    return Permissions(tuple(publish), (f"{inbox_prefix(user)}.>",), _never())


def permissions(user: NatsUser) -> Permissions | None:
    """What ``user`` may do; None for the admin, who may do anything."""
    build = {
        NatsUser.BOT: _bot,
        NatsUser.WORKER: _worker,
        NatsUser.PROVISION: _provision,
        NatsUser.BACKUP: _backup,
    }
    return build[user](user.value) if user in build else None


def table() -> dict[str, dict[str, object] | None]:
    """Every user's ``permissions`` block (None: unrestricted), as the chart stores it."""
    return {
        user.value: (rules.server_config() if (rules := permissions(user)) else None)
        for user in NatsUser
    }


def server_users(passwords: dict[str, str]) -> list[dict[str, object]]:
    """The ``authorization.users`` of a nats-server configuration with these passwords."""
    users: list[dict[str, object]] = []
    for user, rules in table().items():
        entry: dict[str, object] = {"user": user, "password": passwords[user]}
        if rules is not None:
            entry["permissions"] = rules
        users.append(entry)
    return users


if __name__ == "__main__":
    sys.stdout.write(json.dumps(table(), indent=2) + "\n")
