"""``python -m vitrina_common.ops``: one-shot operations for Kubernetes Jobs and init containers.

- ``provision``: create the JetStream streams and buckets, or reconcile them with the
  configured replicas and limits (idempotent; exit 2 naming what cannot change in place).
- ``wait-for-schema``: block until the database is at the schema revision this build
  expects (an init container, so app pods never serve against an old schema).

Both retry with backoff until ``--timeout`` seconds and exit 1 with one line when it runs
out; bad settings exit 2 like the services. Migrations themselves are
``alembic -c alembic.ini upgrade head``.
"""

from __future__ import annotations

import argparse
import asyncio

from vitrina_common.config import InfrastructureSettings, exit_on_config_error, load_settings
from vitrina_common.db.engine import create_engine
from vitrina_common.db.schema import EXPECTED_SCHEMA_REVISION, current_revision
from vitrina_common.logging import configure_logging, get_logger
from vitrina_common.messaging.connection import connect_nats
from vitrina_common.messaging.provisioning import provision_jetstream
from vitrina_common.messaging.reconcile import TopologyConflictError
from vitrina_common.retry import retry_until_ready

log = get_logger(__name__)


class SchemaBehindError(RuntimeError):
    """The database is reachable but not yet migrated to this build's revision."""


async def provision(settings: InfrastructureSettings) -> None:
    """Connect to NATS (retrying) and provision the topology."""
    client = await retry_until_ready(lambda: connect_nats(settings.nats, "vitrina-ops"), "nats")
    try:
        await provision_jetstream(client.jetstream(), settings.nats)
    finally:
        await client.close()
    log.info("jetstream provisioned")


async def wait_for_schema(settings: InfrastructureSettings) -> None:
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


COMMANDS = {"provision": provision, "wait-for-schema": wait_for_schema}


def main(argv: list[str] | None = None) -> None:
    """Parse ``argv`` and run one command within its timeout."""
    parser = argparse.ArgumentParser(prog="python -m vitrina_common.ops")
    parser.add_argument("command", choices=sorted(COMMANDS))
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds before giving up")
    args = parser.parse_args(argv)
    settings = load_settings("ops", InfrastructureSettings)
    configure_logging(settings.telemetry, "ops")
    try:
        asyncio.run(asyncio.wait_for(COMMANDS[args.command](settings), args.timeout))
    except TimeoutError:
        log.error("gave up", command=args.command, timeout_s=args.timeout)  # noqa: TRY400
        raise SystemExit(1) from None
    except TopologyConflictError as conflict:
        exit_on_config_error("ops", conflict.problems)


if __name__ == "__main__":
    main()
