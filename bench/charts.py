"""``python -m bench.charts``: how long each sales chart takes over a million purchases.

An embedded Postgres is seeded in bulk (``INSERT … SELECT generate_series``: users, products,
orders, purchases spread over a year, busier lately, 2 % refunded), then each chart of each
period the admin can pick (7 / 30 / 90 days) is timed the way the worker makes it: the SQL
aggregate through the application's query code, and the matplotlib render, separately.

``--pictures DIR`` also writes the 30-day charts of the generated data as PNGs (the
README's pictures come from ``--quick --pictures docs``).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from bench.pipeline import migrate
from devstack.ports import free_port
from devstack.postgres import EmbeddedPostgres
from vitrina_bot.dialogs.admin.reports import chart_texts
from vitrina_bot.i18n import translator_for
from vitrina_common.config import DbSettings, TelemetrySettings
from vitrina_common.db.engine import create_engine, create_session_factory
from vitrina_common.db.models import Language
from vitrina_common.logging import configure_logging
from vitrina_common.messaging.contracts import SalesChartsJob
from vitrina_common.services.reports import CHART_PERIODS, Period, ReportQueries
from vitrina_worker.charts import daily_bars, product_bars
from vitrina_worker.jobs.charts import SalesNumbers, draw_sales_charts

TIMEZONE = "Europe/Moscow"
PRODUCTS = 240
TITLES = (
    "Закат над морем", "Northern lights", "Маяк", "Harbour at dawn", "Ёлка в снегу",
    "Old town", "Белые ночи", "Desert dunes", "Полевые цветы", "Mountain lake",
    "Осенний парк", "City at night",
)  # fmt: skip

# Dates lean towards the present (sqrt of a uniform number): a shop that grew.
_RECENT = "now() - interval '365 days' * (1 - sqrt(random()))"
SEED = [
    """INSERT INTO categories (title, position)
       SELECT 'Category ' || g, g FROM generate_series(1, 6) g""",
    # Only this module's constants are formatted in, never input.
    f"""INSERT INTO users (telegram_id, username, first_name, created_at)
        SELECT 1000000000 + g, 'user' || g, 'User ' || g, {_RECENT}
        FROM generate_series(1, $1) g""",  # noqa: S608
    f"""INSERT INTO products (category_id, title, price_stars, status, original_key,
                              original_sha256, original_size, original_mime, created_at)
        SELECT 1 + g % 6, (ARRAY{list(TITLES)!r})[1 + g % {len(TITLES)}] || ' №' || g,
               10 + g * 37 % 491, 'ready', md5(g::text), md5(g::text) || md5(g::text),
               1000, 'image/jpeg', now() - interval '400 days'
        FROM generate_series(1, {PRODUCTS}) g""",  # noqa: S608
    # Popular products first (a squared uniform number), any user; paid 0–15 min after.
    f"""INSERT INTO orders (user_id, product_id, price_stars, status, invoice_payload,
                            expires_at, paid_at, created_at)
        SELECT user_id, product_id, 10 + product_id * 37 % 491, 'paid', 'bench-' || g,
               at + interval '15 minutes', at, at
        FROM (SELECT g, 1 + floor(random() * $1)::bigint AS user_id,
                     1 + floor(power(random(), 2) * {PRODUCTS})::bigint AS product_id,
                     {_RECENT} AS at
              FROM generate_series(1, $2) g) s""",  # noqa: S608
    """INSERT INTO purchases (order_id, user_id, product_id, price_stars,
                              telegram_payment_charge_id, status, refunded_at, created_at)
       SELECT id, user_id, product_id, price_stars, invoice_payload,
              CASE WHEN id % 50 = 0 THEN 'refunded' ELSE 'paid' END,
              CASE WHEN id % 50 = 0 THEN paid_at + interval '1 day' END, paid_at
       FROM orders""",
]


@dataclass(frozen=True)
class Timing:
    chart: str
    days: int
    sql_ms: float
    render_ms: float


async def seed(dsn: str, purchases: int) -> int:
    """Bulk-insert the shop; returns the number of users."""
    users = max(1000, purchases // 20)
    connection = await asyncpg.connect(dsn)
    try:
        for index, statement in enumerate(SEED):
            arguments = {1: (users,), 3: (users, purchases)}.get(index, ())
            await connection.execute(statement, *arguments)
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()
    return users


async def median_ms(repeat: int, call: Callable[[], Awaitable[object]]) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def render_ms(repeat: int, draw: Callable[[], bytes]) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        draw()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


async def time_period(queries: ReportQueries, period: Period, repeat: int) -> list[Timing]:
    """SQL and render time of the three charts of ``period``."""
    revenue = await queries.revenue_per_day(period)
    best = await queries.units_per_product(period)
    users = await queries.new_users_per_day(period)
    days = [point.day for point in revenue]
    texts = {"title": "t", "empty_note": "-"}

    def draw_revenue() -> bytes:
        values = [point.value for point in revenue]
        return daily_bars(days, values, day_axis="d", value_axis="v", **texts)

    def draw_best() -> bytes:
        titles, units = [line.title for line in best], [line.units for line in best]
        return product_bars(titles, units, value_axis="v", **texts)

    def draw_users() -> bytes:
        values = [point.value for point in users]
        return daily_bars(days, values, day_axis="d", value_axis="v", **texts)

    return [
        Timing("revenue per day", period.days,
               await median_ms(repeat, lambda: queries.revenue_per_day(period)),
               render_ms(repeat, draw_revenue)),
        Timing("units per product", period.days,
               await median_ms(repeat, lambda: queries.units_per_product(period)),
               render_ms(repeat, draw_best)),
        Timing("new users per day", period.days,
               await median_ms(repeat, lambda: queries.new_users_per_day(period)),
               render_ms(repeat, draw_users)),
    ]  # fmt: skip


async def write_pictures(queries: ReportQueries, folder: Path) -> list[Path]:
    """The 30-day charts in English, as the admin receives them."""
    period = queries.period(30)
    job = SalesChartsJob(
        request_id="0" * 32, chat_id=0, first_day=period.first_day, last_day=period.last_day,
        timezone=queries.timezone,
        texts=chart_texts(translator_for(Language.EN), period, queries.timezone),
    )  # fmt: skip
    numbers = SalesNumbers(
        await queries.revenue_per_day(period),
        await queries.units_per_product(period),
        await queries.new_users_per_day(period),
    )
    folder.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240  (setup, instant)
    written = []
    for chart in draw_sales_charts(job, numbers):
        path = folder / f"sales-{chart.name}.png"
        path.write_bytes(chart.png)
        written.append(path)
    return written


def print_report(purchases: int, users: int, repeat: int, timings: list[Timing]) -> None:
    print(
        f"\n{purchases:,} purchases, {users:,} users, {PRODUCTS} products; days in {TIMEZONE}; "
        f"median of {repeat} runs"
    )
    print(f"{'chart':<19} {'period':>8} {'SQL ms':>9} {'render ms':>10} {'total ms':>9}")
    for timing in timings:
        print(
            f"{timing.chart:<19} {timing.days:>3} days {timing.sql_ms:>9.1f} "
            f"{timing.render_ms:>10.1f} {timing.sql_ms + timing.render_ms:>9.1f}"
        )
    for days in CHART_PERIODS:
        total = sum(t.sql_ms + t.render_ms for t in timings if t.days == days)
        print(f"all three charts of {days} days: {total:.0f} ms")


async def add_covering_index(dsn: str) -> None:
    """An index the per-day and per-product sums can answer from alone (index-only scans)."""
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            "CREATE INDEX ix_purchases_created_at_covering ON purchases (created_at) "
            "INCLUDE (status, price_stars, product_id)"
        )
        await connection.execute("VACUUM ANALYZE purchases")
    finally:
        await connection.close()


async def run(purchases: int, repeat: int, pictures: Path | None, covering: bool) -> None:
    """Start Postgres, seed, time every chart of every period, print the table."""
    with tempfile.TemporaryDirectory(prefix="vitrina-bench-charts-") as scratch:
        work = Path(scratch)
        pg = EmbeddedPostgres(work / "pg", free_port(), durable=False)
        pg_process, _ = await pg.start(log_file=str(work / "postgres.log"))
        try:
            await pg.ensure_database("bench_charts")
            dsn = pg.dsn("bench_charts")
            await migrate(dsn)
            started = time.perf_counter()
            users = await seed(dsn, purchases)
            print(f"seeded {purchases:,} purchases in {time.perf_counter() - started:.1f} s")
            engine = create_engine(DbSettings.model_validate({"dsn": dsn}))
            queries = ReportQueries(create_session_factory(engine), TIMEZONE)
            try:
                summary_ms = await median_ms(repeat, queries.summary)
                timings: list[Timing] = []
                covered: list[Timing] = []
                for days in CHART_PERIODS:
                    timings += await time_period(queries, queries.period(days), repeat)
                if covering:
                    await add_covering_index(dsn)
                    for days in CHART_PERIODS:
                        covered += await time_period(queries, queries.period(days), repeat)
                if pictures is not None:
                    for path in await write_pictures(queries, pictures):
                        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB)")
            finally:
                await engine.dispose()
        finally:
            await pg_process.stop(10)
    print_report(purchases, users, repeat, timings)
    if covered:
        print("\nwith purchases (created_at) INCLUDE (status, price_stars, product_id) indexed:")
        for before, after in zip(timings, covered, strict=True):
            print(f"{before.chart:<19} {before.days:>3} days  SQL {before.sql_ms:7.1f} ms → "
                  f"{after.sql_ms:7.1f} ms")  # fmt: skip
    print(f"screen summary (today, 7 and 30 days: two SQL statements): {summary_ms:.1f} ms")


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(prog="python -m bench.charts")
    parser.add_argument("--purchases", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="20 000 purchases, 1 run each")
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (median)")
    parser.add_argument("--pictures", type=Path, help="also write the 30-day charts here")
    parser.add_argument(
        "--covering-index", action="store_true", help="then time the SQL again with one more index"
    )
    args = parser.parse_args()
    configure_logging(TelemetrySettings(log_level="WARNING"), "bench", sys.stderr)
    purchases, repeat = (20_000, 1) if args.quick else (args.purchases, args.repeat)
    asyncio.run(run(purchases, repeat, args.pictures, args.covering_index))


if __name__ == "__main__":
    main()
