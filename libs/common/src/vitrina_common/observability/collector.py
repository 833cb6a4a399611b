"""Gauges read from the database and JetStream on an interval, not per scrape.

One pass runs a handful of indexed counts and one consumer-info request per durable
consumer, every ``interval_s``; a scrape only reads the last values. So the cost is
(processes running it) x (one pass per interval), whatever scrapes. The bot runs it: the
worker's consumers are what it watches, and their lag must be visible while no worker
runs. Each value is one series per process; dashboards take ``max`` over processes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.cancellation import checked_sleep, raise_if_cancelled
from vitrina_common.logging import get_logger
from vitrina_common.messaging.topology import ConsumerSpec

log = get_logger(__name__)

SEND_ORIGINAL = "telegram.send_original"
# Each statement may take this long; a slow database leaves the previous values in place.
_STATEMENT_TIMEOUT = "SET LOCAL statement_timeout = '2s'"
_DATABASE_GAUGES = text(
    """
    SELECT
      (SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL)
        AS outbox_pending,
      (SELECT count(*) FROM outbox WHERE dead_at > now() - interval '24 hours')
        AS outbox_dead_24h,
      (SELECT count(*) FROM telegram_updates
         WHERE processed_at IS NULL AND payload IS NOT NULL) AS inbox_pending,
      (SELECT count(*) FROM telegram_updates
         WHERE outcome = 'dead' AND processed_at > now() - interval '24 hours')
        AS inbox_dead_24h,
      (SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0) FROM outbox
         WHERE kind = :send_original AND delivered_at IS NULL) AS undelivered_oldest_s,
      (SELECT coalesce(extract(epoch FROM now() - min(received_at)), 0) FROM telegram_updates
         WHERE processed_at IS NULL AND payload IS NOT NULL) AS inbox_oldest_s,
      (SELECT coalesce(extract(epoch FROM now() - min(due_at)), 0) FROM (
         SELECT due_at FROM scheduled_tasks WHERE due_at < now()
         UNION ALL
         SELECT min(due_at) FROM due_items WHERE dead_at IS NULL AND due_at < now()
       ) AS overdue) AS scheduler_lag_s,
      (SELECT count(*) FROM due_items WHERE dead_at IS NOT NULL) AS due_items_dead
    """
)


@dataclass
class _Readings:
    database: dict[str, float] = field(default_factory=dict)
    # consumer -> (pending, ack pending, redelivered)
    consumers: dict[str, tuple[int, int, int]] = field(default_factory=dict)


class GaugeCollector:
    """Reads the backlog gauges every ``interval_s`` (``run``) and serves the last reading
    to the meter's callbacks."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        js: JetStreamContext,
        consumers: Sequence[ConsumerSpec],
        interval_s: float = 15.0,
    ) -> None:
        self._session_factory = session_factory
        self._js = js
        self._consumers = tuple(consumers)
        self._interval_s = interval_s
        self._readings = _Readings()
        self._absent: set[str] = set()
        _register(self)

    async def collect(self) -> None:
        """One pass; a failing source keeps its previous values (logged, never raised)."""
        try:
            async with self._session_factory() as session, session.begin():
                await session.execute(text(_STATEMENT_TIMEOUT))
                row = (
                    await session.execute(_DATABASE_GAUGES, {"send_original": SEND_ORIGINAL})
                ).one()
            self._readings.database = {key: float(value) for key, value in row._mapping.items()}
        except Exception as error:  # noqa: BLE001  (a gauge must never take the process down)
            log.warning("database gauges not read", error=str(error))
        for spec in self._consumers:
            try:
                info = await self._js.consumer_info(spec.stream, spec.durable, timeout=2)
            except NotFoundError:
                # The worker creates its consumers when it starts: until then there is no
                # lag to report, which is said once, not every pass.
                if spec.durable not in self._absent:
                    self._absent.add(spec.durable)
                    log.info("consumer not created yet, no gauges", consumer=spec.durable)
                continue
            except Exception as error:  # noqa: BLE001
                log.warning("consumer gauges not read", consumer=spec.durable, error=str(error))
                continue
            self._absent.discard(spec.durable)
            self._readings.consumers[spec.durable] = (
                int(info.num_pending or 0),
                int(info.num_ack_pending or 0),
                int(info.num_redelivered or 0),
            )

    async def run(self) -> None:
        """Collect until cancelled."""
        while True:
            raise_if_cancelled()
            await self.collect()
            await checked_sleep(self._interval_s)

    def database_value(self, key: str) -> Iterable[Observation]:
        """The last reading of ``key`` (nothing before the first pass)."""
        if key in self._readings.database:
            yield Observation(self._readings.database[key])

    def consumer_values(self, index: int) -> Iterable[Observation]:
        """One observation per consumer of the reading at ``index``."""
        for durable, values in self._readings.consumers.items():
            yield Observation(values[index], {"consumer": durable})


# The meter keeps callbacks for the process's life; they read whichever collector is current.
_current: list[GaugeCollector] = []


def _register(collector: GaugeCollector) -> None:
    first = not _current
    _current[:] = [collector]
    if first:
        _create_instruments()


def _database_reader(key: str) -> metrics.CallbackT:
    def callback(_options: CallbackOptions) -> Iterable[Observation]:
        return list(_current[0].database_value(key)) if _current else []

    return callback


def _consumer_reader(index: int) -> metrics.CallbackT:
    def callback(_options: CallbackOptions) -> Iterable[Observation]:
        return list(_current[0].consumer_values(index)) if _current else []

    return callback


_DATABASE_INSTRUMENTS = {
    "vitrina.outbox.pending": ("outbox_pending", "Outbox rows not yet delivered (nor dead)"),
    "vitrina.outbox.dead.recent": ("outbox_dead_24h", "Outbox rows given up in the last 24 h"),
    "vitrina.inbox.pending": ("inbox_pending", "Money updates not yet processed"),
    "vitrina.inbox.dead.recent": ("inbox_dead_24h", "Money updates given up in the last 24 h"),
    "vitrina.purchase.undelivered.oldest": (
        "undelivered_oldest_s",
        "Age in seconds of the oldest paid original not yet sent (0: none)",
    ),
    "vitrina.inbox.oldest": (
        "inbox_oldest_s",
        "Age in seconds of the oldest unprocessed money update (0: none)",
    ),
    "vitrina.scheduler.lag": (
        "scheduler_lag_s",
        "Seconds the most overdue periodic task or due item is past its due time (0: none)",
    ),
    "vitrina.scheduler.due_items.dead": (
        "due_items_dead",
        "Due items kept aside: no worker had a handler for their kind",
    ),
}
_CONSUMER_INSTRUMENTS = {
    "vitrina.jetstream.consumer.pending": (0, "Messages not yet delivered to the consumer"),
    "vitrina.jetstream.consumer.ack_pending": (1, "Messages delivered, not yet acknowledged"),
    "vitrina.jetstream.consumer.redelivered": (2, "Messages delivered more than once, pending"),
}


def _create_instruments() -> None:
    meter = metrics.get_meter("vitrina.gauges")
    for name, (key, description) in _DATABASE_INSTRUMENTS.items():
        meter.create_observable_gauge(name, [_database_reader(key)], description=description)
    for name, (index, description) in _CONSUMER_INSTRUMENTS.items():
        meter.create_observable_gauge(name, [_consumer_reader(index)], description=description)
