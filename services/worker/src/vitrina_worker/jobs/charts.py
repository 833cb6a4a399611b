"""``jobs.report.charts``: three sales charts of a period, as photos for the admin.

Postgres aggregates (per local day, zero days included; top products), matplotlib draws
in a thread (the event loop keeps serving other jobs), the PNGs go to the artifacts bucket
and one ``ArtifactReady`` each tells the bot to send them, in this order: revenue, best
sellers, new users. A period without sales still gets its three charts, saying so.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.logging import get_logger
from vitrina_common.messaging.contracts import ArtifactFailed, ArtifactReady, SalesChartsJob
from vitrina_common.messaging.publishing import publish
from vitrina_common.repositories.reports import DailyValue, ProductUnits
from vitrina_common.services.reports import Period, ReportQueries
from vitrina_common.storage.objects import ImageStore
from vitrina_worker.charts import daily_bars, product_bars
from vitrina_worker.jobs.report_jobs import ReportJobHandler

log = get_logger(__name__)


@dataclass(frozen=True)
class SalesNumbers:
    """What the three charts draw."""

    revenue: list[DailyValue]
    best_sellers: list[ProductUnits]
    new_users: list[DailyValue]


@dataclass(frozen=True)
class Chart:
    """One rendered chart and how the bot captions it."""

    name: str
    png: bytes
    caption_key: str
    caption_args: dict[str, object]


def draw_sales_charts(job: SalesChartsJob, numbers: SalesNumbers) -> list[Chart]:
    """Render the three PNGs (CPU-bound: call it in a thread)."""
    texts = job.texts
    period = {"first": job.first_day.isoformat(), "last": job.last_day.isoformat()}
    revenue = daily_bars(
        [point.day for point in numbers.revenue], [point.value for point in numbers.revenue],
        title=texts.revenue_title, day_axis=texts.day_axis, value_axis=texts.stars_axis,
        empty_note=texts.empty_period,
    )  # fmt: skip
    best = product_bars(
        [line.title for line in numbers.best_sellers],
        [line.units for line in numbers.best_sellers],
        title=texts.units_title, value_axis=texts.units_axis, empty_note=texts.empty_period,
    )  # fmt: skip
    users = daily_bars(
        [point.day for point in numbers.new_users], [point.value for point in numbers.new_users],
        title=texts.users_title, day_axis=texts.day_axis, value_axis=texts.users_axis,
        empty_note=texts.empty_period,
    )  # fmt: skip
    prefix = "admin.reports.chart"
    return [
        Chart("revenue", revenue, f"{prefix}.revenue_caption",
              {**period, "total": sum(point.value for point in numbers.revenue)}),
        Chart("best-sellers", best, f"{prefix}.units_caption",
              {**period, "count": len(numbers.best_sellers)}),
        Chart("new-users", users, f"{prefix}.users_caption",
              {**period, "total": sum(point.value for point in numbers.new_users)}),
    ]  # fmt: skip


class SalesChartsHandler(ReportJobHandler[SalesChartsJob]):
    """Handles one ``SalesChartsJob`` delivery."""

    contract = SalesChartsJob

    def __init__(
        self,
        js: JetStreamContext,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        max_deliver: int,
        ack_wait_s: float,
    ) -> None:
        super().__init__(js, max_deliver, ack_wait_s)
        self._store = ImageStore(js)
        self._session_factory = session_factory

    def given_up(self, job: SalesChartsJob) -> ArtifactFailed:
        """ "The charts of <period> could not be drawn"."""
        return ArtifactFailed(
            job_key=job.msg_id(),
            chat_id=job.chat_id,
            text_key="admin.reports.charts_failed",
            text_args={"first": job.first_day.isoformat(), "last": job.last_day.isoformat()},
        )

    async def handle(self, job: SalesChartsJob) -> None:
        """Query, draw, store, announce."""
        numbers = await self.numbers(job)
        charts = await asyncio.to_thread(draw_sales_charts, job, numbers)
        for chart in charts:
            key = f"charts/{job.request_id}/{chart.name}.png"
            await self._store.put_artifact(key, chart.png)
            await publish(
                self._js,
                ArtifactReady(
                    artifact_key=key,
                    chat_id=job.chat_id,
                    filename=f"{chart.name}-{job.first_day}-{job.last_day}.png",
                    kind="photo",
                    caption_key=chart.caption_key,
                    caption_args=chart.caption_args,
                ),
            )
        log.info("sales charts sent", chat_id=job.chat_id, first=str(job.first_day))

    async def numbers(self, job: SalesChartsJob) -> SalesNumbers:
        """The three aggregates, each one SQL statement."""
        queries = ReportQueries(self._session_factory, job.timezone)
        period = Period(job.first_day, job.last_day)
        return SalesNumbers(
            revenue=await queries.revenue_per_day(period),
            best_sellers=await queries.units_per_product(period),
            new_users=await queries.new_users_per_day(period),
        )
