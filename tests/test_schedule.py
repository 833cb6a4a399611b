"""The due-item scheduler in real worker processes on the real Postgres: 10 000 items due at
once, two replicas claiming side by side, each item handled exactly once; a replica killed
with SIGKILL in the middle of a batch loses nothing, and nothing is handled twice.

Handled means a row in ``scheduler_probes``, written by the ``scheduler-probe`` handler in
the transaction that deletes the item (the diagnostics kind, on by config). The table has
no constraint on the key, so an item handled twice would show as two rows."""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime
from pathlib import Path

import pytest
from nats.aio.client import Client

from devstack.ports import free_port
from devstack.processes import ManagedProcess
from tests.broadcasts import start_worker, workers
from tests.due_probes import (
    ProbeTally,
    SessionFactory,
    claiming_batch,
    probe_env,
    probes_counted,
    schedule_probes,
    tally,
)
from tests.pipeline import wait_until
from tests.services import start_service, wait_for_status

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]

ITEMS = 10_000


async def all_handled(sessions: SessionFactory, timeout_s: float) -> ProbeTally:
    """Wait until no probe item is left; the tally then."""

    async def drained() -> bool:
        return (await tally(sessions)).items_left == 0

    await wait_until(drained, timeout_s=timeout_s, poll_s=0.2)
    return await tally(sessions)


@pytest.mark.timeout(240)
async def test_two_workers_handle_each_of_10_000_due_items_exactly_once(
    session_factory: SessionFactory,
    nats_client: Client,
    stack_env: dict[str, str],
    tmp_path: Path,
) -> None:
    del nats_client  # the topology, provisioned afresh
    replicas: dict[int, tuple[ManagedProcess, int]] = {}
    try:
        for index in range(2):
            env = probe_env(stack_env) | {"APP_CONF__WORKER__HEALTH_PORT": str(free_port())}
            process, port = await start_service("worker", env, tmp_path / f"w{index}")
            await wait_for_status(port, "/readyz", 200, process)
            replicas[process.pid] = (process, port)
        await schedule_probes(session_factory, ITEMS, datetime.now(UTC))
        done = await all_handled(session_factory, timeout_s=180)
        counted = {pid: await probes_counted(port) for pid, (_, port) in replicas.items()}
    finally:
        for process, _ in replicas.values():
            await process.stop(30)

    assert (done.rows, done.keys) == (ITEMS, ITEMS)
    # Both replicas took part: the items were shared, not handled by one while the other
    # waited on its locks; and each counted in its metrics what it handled.
    handled = done.by_pid
    assert set(handled) == set(replicas)
    assert min(handled.values()) > 0
    assert counted == handled


@pytest.mark.timeout(240)
async def test_a_worker_killed_mid_batch_loses_nothing_and_doubles_nothing(
    session_factory: SessionFactory,
    nats_client: Client,
    stack_env: dict[str, str],
    tmp_path: Path,
) -> None:
    del nats_client
    # Big batches: a replica spends most of its time inside one.
    env = probe_env(stack_env, batch_size=500)
    async with workers(env, tmp_path / "steady", 1):
        doomed = await start_worker(env, tmp_path / "doomed")
        await schedule_probes(session_factory, ITEMS, datetime.now(UTC))

        async def doomed_mid_batch() -> bool:
            # Killed inside a batch after committing one: the steady replica alone may pass
            # 1000 rows when a loaded machine starves the doomed one.
            so_far = await tally(session_factory)
            return (
                so_far.rows >= 1000
                and doomed.pid in so_far.by_pid
                and await claiming_batch(session_factory, doomed.pid)
            )

        await wait_until(doomed_mid_batch, timeout_s=120, poll_s=0.01)
        os.killpg(doomed.pid, signal.SIGKILL)
        await doomed.process.wait()
        at_kill = await tally(session_factory)
        done = await all_handled(session_factory, timeout_s=180)

    assert doomed.process.returncode == -signal.SIGKILL
    assert at_kill.items_left > 0
    assert (done.rows, done.keys) == (ITEMS, ITEMS)
    assert len(done.by_replica) == 2  # the killed one's committed batches, then the steady one
