"""The throwaway Postgres and NATS every benchmark runs against, in a temporary folder."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from devstack.nats import NatsServer
from devstack.ports import free_port
from devstack.postgres import EmbeddedPostgres
from tests.services import NATS_PASSWORDS


@dataclass(frozen=True)
class BenchServers:
    """A scratch folder, and the servers running from it (their logs are in it too)."""

    work: Path
    pg: EmbeddedPostgres
    nats: NatsServer
    # Process ids, for benchmarks that measure the servers' CPU beside the services'.
    pg_pid: int
    nats_pid: int


@asynccontextmanager
async def bench_servers(name: str) -> AsyncIterator[BenchServers]:
    """Start a non-durable Postgres and a JetStream nats-server, stopped on the way out.

    NATS runs with the users and passwords the tests' helpers know (``tests.services``),
    so their service starters and admin connections work against it unchanged.
    """
    with tempfile.TemporaryDirectory(prefix=f"vitrina-{name}-") as scratch:
        work = Path(scratch)
        pg = EmbeddedPostgres(work / "pg", free_port(), durable=False)
        pg_process, _ = await pg.start(log_file=str(work / "postgres.log"))
        try:
            nats = NatsServer(
                work / "nats", free_port(), free_port(), server_name=name, passwords=NATS_PASSWORDS
            )
            nats_process = await nats.start(log_file=str(work / "nats.log"))
            try:
                yield BenchServers(work, pg, nats, pg_process.pid, nats_process.pid)
            finally:
                await nats_process.stop(10)
        finally:
            await pg_process.stop(10)
