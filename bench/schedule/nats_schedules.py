"""Does the pinned nats-server deliver JetStream message schedules (ADR-51: a stream with
``allow_msg_schedules``, a message with ``Nats-Schedule: @at <time>`` republished to its
``Nats-Schedule-Target`` at that time)? Measured against the real server, not assumed from
its version: ``python -m bench.schedule.nats_schedules``.

Prints whether the stream was accepted, how many of ``count`` one-shot schedules fired, and
how late the first and last fired after their time.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

from nats.js.api import StreamConfig
from nats.js.errors import BadRequestError, ServiceUnavailableError

from devstack.nats import NatsServer
from devstack.ports import free_port
from tests.services import NATS_PASSWORDS, nats_settings
from vitrina_common.messaging.connection import connect_nats

STREAM = "SCHEDULE_PROBE"
LEAD = timedelta(seconds=2)


@dataclass(frozen=True)
class ScheduleSupport:
    """What the server did with ``scheduled`` one-shot schedules."""

    server_version: str
    stream_accepted: bool
    scheduled: int
    fired: int
    first_late_ms: float
    last_late_ms: float
    refusal: str = ""

    def line(self) -> str:
        """The result, as the README quotes it."""
        if not self.stream_accepted:
            return f"nats-server {self.server_version}: stream refused ({self.refusal})"
        return (
            f"nats-server {self.server_version}: {self.fired}/{self.scheduled} one-shot"
            f" schedules fired, {self.first_late_ms:.0f}..{self.last_late_ms:.0f} ms after"
            " their time"
        )


async def measure(server: NatsServer, count: int) -> ScheduleSupport:
    """Schedule ``count`` messages ``LEAD`` ahead and wait for their targets."""
    client = await connect_nats(nats_settings(server.url), name="bench-nats-schedules")
    server_version = client.connected_server_version
    version = f"{server_version.major}.{server_version.minor}.{server_version.patch}"
    js = client.jetstream()
    try:
        try:
            await js.add_stream(
                StreamConfig(
                    name=STREAM,
                    subjects=["probe.schedule.>", "probe.fired.>"],
                    allow_msg_schedules=True,
                )
            )
        except BadRequestError as error:
            return ScheduleSupport(version, False, count, 0, 0, 0, str(error))
        subscription = await js.pull_subscribe("probe.fired.>", stream=STREAM)
        # Far enough ahead that every schedule is stored before the time comes.
        lead = LEAD + timedelta(seconds=count / 1000)
        at = datetime.now(UTC) + lead
        due = time.monotonic() + lead.total_seconds()
        for index in range(count):
            await js.publish(
                f"probe.schedule.{index}",
                b"due",
                headers={
                    "Nats-Schedule": f"@at {at.isoformat().replace('+00:00', 'Z')}",
                    "Nats-Schedule-Target": f"probe.fired.{index}",
                },
            )
        arrivals: list[float] = []
        deadline = due + 30
        while len(arrivals) < count and time.monotonic() < deadline:
            try:
                batch = await subscription.fetch(count, timeout=1)
            except (TimeoutError, ServiceUnavailableError):
                # Nothing yet, or JetStream too busy to answer the pull (a loaded machine).
                continue
            arrivals += [time.monotonic() for _ in batch]
            for message in batch:
                await message.ack()
        late = [(arrival - due) * 1000 for arrival in arrivals] or [0.0]
        return ScheduleSupport(version, True, count, len(arrivals), min(late), max(late))
    finally:
        await client.close()


async def run(count: int, work: Path) -> ScheduleSupport:
    """Start a throwaway JetStream server of the pinned binary and measure."""
    server = NatsServer(
        work / "nats", free_port(), free_port(), server_name="schedules", passwords=NATS_PASSWORDS
    )
    process = await server.start(log_file=str(work / "nats.log"))
    try:
        return await measure(server, count)
    finally:
        await process.stop(10)


def main() -> None:
    """Parse arguments, measure, print one line."""
    parser = argparse.ArgumentParser(prog="python -m bench.schedule.nats_schedules")
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args()
    with TemporaryDirectory(prefix="vitrina-nats-schedules-") as scratch:
        print(asyncio.run(run(args.count, Path(scratch))).line(), flush=True)


if __name__ == "__main__":
    main()
