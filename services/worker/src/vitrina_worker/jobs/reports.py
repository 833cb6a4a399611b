"""The admin's report jobs in the worker: sales charts and CSV exports."""

from __future__ import annotations

from faststream.nats import NatsBroker
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.config import Settings
from vitrina_common.messaging.topology import REPORT_CHARTS_CONSUMER, REPORT_EXPORT_CONSUMER
from vitrina_worker.jobs.charts import SalesChartsHandler
from vitrina_worker.jobs.exports import ExportHandler
from vitrina_worker.jobs.report_jobs import subscribe_report_job


async def subscribe_reports(
    broker: NatsBroker,
    js: JetStreamContext,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """Consumers and fetch loops of both report jobs (call before the broker starts)."""
    max_deliver, ack_wait_s = settings.worker.max_deliver, settings.worker.ack_wait_s
    charts = SalesChartsHandler(js, session_factory, max_deliver=max_deliver, ack_wait_s=ack_wait_s)
    exports = ExportHandler(js, session_factory, max_deliver=max_deliver, ack_wait_s=ack_wait_s)
    await subscribe_report_job(broker, js, REPORT_CHARTS_CONSUMER, settings, charts)
    await subscribe_report_job(broker, js, REPORT_EXPORT_CONSUMER, settings, exports)
