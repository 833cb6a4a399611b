"""``vitrina-ops`` (or ``python -m vitrina_common.ops``): one-shot operations for Kubernetes
Jobs, CronJobs and init containers.

- ``provision``: create the JetStream streams and buckets, or reconcile them with the
  configured replicas and limits (idempotent; exit 2 naming what cannot change in place).
- ``wait-for-schema``: block until the database is at the schema revision this build
  expects (an init container, so app pods never serve against an old schema).
- ``backup-originals --dir D``: copy the originals D lacks into D, verified (a CronJob).
- ``restore-originals --dir D``: put the originals the bucket lacks back from D, verified.
- ``check-originals``: is every product's ``original_key`` in the bucket (a restore drill's
  last step)? Names the missing keys and the paid purchases they break.
- ``api-token create --name N [--scope read] [--scope write]`` / ``list`` / ``revoke ID``:
  staff tokens of the HTTP API (see ``vitrina_common.ops_tokens``).

Each retries connecting with backoff until ``--timeout`` seconds and exits 1 with one line
when it runs out; a backup or restore that left an object out (corrupt, missing) exits 1
after doing everything else; bad settings exit 2 like the services. Migrations themselves
are ``alembic -c alembic.ini upgrade head``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path

from nats.aio.client import Client

from vitrina_common import ops_tokens
from vitrina_common.config import InfrastructureSettings, exit_on_config_error, load_settings
from vitrina_common.db.engine import create_engine, create_session_factory
from vitrina_common.db.schema import EXPECTED_SCHEMA_REVISION, current_revision
from vitrina_common.logging import configure_logging, get_logger
from vitrina_common.messaging.connection import connect_nats
from vitrina_common.messaging.provisioning import provision_jetstream
from vitrina_common.messaging.reconcile import TopologyConflictError
from vitrina_common.retry import retry_until_ready
from vitrina_common.services.originals_audit import audit_originals
from vitrina_common.storage.backup_dir import BackupBusyError, ManifestError
from vitrina_common.storage.originals_backup import (
    BucketMissingError,
    backup_originals,
    restore_originals,
)

log = get_logger(__name__)


class SchemaBehindError(RuntimeError):
    """The database is reachable but not yet migrated to this build's revision."""


class OperationIncompleteError(RuntimeError):
    """The operation ran to the end but left objects out; its log lines name them."""


async def _connect(settings: InfrastructureSettings) -> Client:
    return await retry_until_ready(lambda: connect_nats(settings.nats, "vitrina-ops"), "nats")


async def provision(settings: InfrastructureSettings, _args: argparse.Namespace) -> None:
    """Connect to NATS (retrying) and provision the topology."""
    client = await _connect(settings)
    try:
        await provision_jetstream(client.jetstream(), settings.nats)
    finally:
        await client.close()
    log.info("jetstream provisioned")


async def wait_for_schema(settings: InfrastructureSettings, _args: argparse.Namespace) -> None:
    """Return once ``alembic_version`` holds the revision this build expects."""
    engine = create_engine(settings.db)

    async def at_head() -> None:
        revision = await current_revision(engine)
        if revision != EXPECTED_SCHEMA_REVISION:
            raise SchemaBehindError(f"schema at {revision}, waiting for {EXPECTED_SCHEMA_REVISION}")

    try:
        await retry_until_ready(at_head, "database schema", max_delay_s=5)
    finally:
        await engine.dispose()
    log.info("schema at head", revision=EXPECTED_SCHEMA_REVISION)


async def backup(settings: InfrastructureSettings, args: argparse.Namespace) -> None:
    """Copy the originals ``--dir`` lacks into it; ``OperationIncompleteError`` if any failed."""
    client = await _connect(settings)
    try:
        report = await backup_originals(
            client.jetstream(), args.dir, verify_existing=args.verify_existing
        )
    finally:
        await client.close()
    for key, reason in report.failed.items():
        log.error("original not backed up", key=key, reason=reason)
    summary = {k: v for k, v in asdict(report).items() if k != "failed"}
    log.info("originals backed up", directory=str(args.dir), failed=len(report.failed), **summary)
    if not report.ok:
        raise OperationIncompleteError(f"{len(report.failed)} originals not backed up")


async def restore(settings: InfrastructureSettings, args: argparse.Namespace) -> None:
    """Put back the originals the bucket lacks; ``OperationIncompleteError`` if any could not."""
    client = await _connect(settings)
    try:
        report = await restore_originals(client.jetstream(), args.dir)
    finally:
        await client.close()
    log.info(
        "originals restored",
        directory=str(args.dir),
        restored=report.restored,
        restored_bytes=report.restored_bytes,
        present=report.present,
        corrupt=len(report.corrupt),
        missing=len(report.missing),
    )
    if not report.ok:
        raise OperationIncompleteError(
            f"{len(report.corrupt)} corrupt and {len(report.missing)} missing originals "
            "not restored"
        )


async def check(settings: InfrastructureSettings, _args: argparse.Namespace) -> None:
    """Every product's original in the bucket, or ``OperationIncompleteError`` naming how many
    are not (and the paid purchases that cannot be downloaded again)."""
    engine = create_engine(settings.db)
    client = await _connect(settings)
    try:
        audit = await audit_originals(create_session_factory(engine), client.jetstream())
    finally:
        await client.close()
        await engine.dispose()
    for key in audit.missing:
        log.error("original missing from the bucket", key=key)
    log.info(
        "originals checked",
        checked=audit.checked,
        missing=len(audit.missing),
        paid_purchases_affected=audit.paid_purchases_affected,
    )
    if not audit.ok:
        raise OperationIncompleteError(
            f"{len(audit.missing)} originals missing, "
            f"{audit.paid_purchases_affected} paid purchases cannot be downloaded"
        )


Command = Callable[[InfrastructureSettings, argparse.Namespace], Awaitable[None]]
COMMANDS: dict[str, Command] = {
    "provision": provision,
    "wait-for-schema": wait_for_schema,
    "backup-originals": backup,
    "restore-originals": restore,
    "check-originals": check,
}
# Gates give up after 5 minutes by default; a backup takes as long as the data needs.
_DEFAULT_TIMEOUT_S = {"provision": 300.0, "wait-for-schema": 300.0}
_NEEDS_DIR = {"backup-originals", "restore-originals"}
# Failures that waiting cannot fix and that one log line explains.
_REPORTED = (OperationIncompleteError, BucketMissingError, BackupBusyError, ManifestError)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vitrina-ops", epilog="API tokens: vitrina-ops api-token {create,list,revoke} --help"
    )
    parser.add_argument("command", choices=sorted(COMMANDS))
    parser.add_argument(
        "--timeout", type=float, help="seconds before giving up (gates: 300; backups: none)"
    )
    parser.add_argument("--dir", type=Path, help="backup directory (a mounted volume)")
    parser.add_argument(
        "--verify-existing",
        action="store_true",
        help="backup-originals: re-hash files already backed up and copy rotted ones again",
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    """Parse ``argv`` and run one command within its timeout."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["api-token"]:
        # Its own sub-commands and arguments; no NATS, no timeout: one quick transaction.
        ops_tokens.main(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command in _NEEDS_DIR and args.dir is None:
        parser.error(f"{args.command} needs --dir")
    timeout = args.timeout if args.timeout is not None else _DEFAULT_TIMEOUT_S.get(args.command)
    settings = load_settings("ops", InfrastructureSettings)
    configure_logging(settings.telemetry, "ops")
    try:
        asyncio.run(asyncio.wait_for(COMMANDS[args.command](settings, args), timeout))
    except TimeoutError:
        log.error("gave up", command=args.command, timeout_s=timeout)  # noqa: TRY400
        raise SystemExit(1) from None
    except _REPORTED as error:
        log.error("failed", command=args.command, reason=str(error))  # noqa: TRY400
        raise SystemExit(1) from None
    except TopologyConflictError as conflict:
        exit_on_config_error("ops", conflict.problems)


if __name__ == "__main__":
    main()
