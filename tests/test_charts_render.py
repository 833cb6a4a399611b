"""Charts render as PNGs from any numbers, including a period without a single sale."""

from __future__ import annotations

import io
import threading
from datetime import date, timedelta
from typing import get_args

import pytest
from PIL import Image
from pydantic import ValidationError

from vitrina_bot.i18n import load_catalogs
from vitrina_common.db.models import Language
from vitrina_common.messaging.contracts import ChartTexts, ExportTable, SalesChartsJob
from vitrina_common.repositories.reports import DailyValue, ProductUnits
from vitrina_worker.charts.render import DPI, SIZE_INCHES, daily_bars, drawable, product_bars
from vitrina_worker.jobs.charts import SalesNumbers, draw_sales_charts

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FIRST = date(2025, 3, 4)
TEXTS = ChartTexts(
    revenue_title="Выручка по дням, звёзды · 04.03 – 10.03",
    units_title="Лидеры продаж",
    users_title="Новые покупатели",
    day_axis="День",
    stars_axis="Звёзды",
    units_axis="Копии",
    users_axis="Покупатели",
    empty_period="За этот период продаж нет",
)


def job(days: int) -> SalesChartsJob:
    return SalesChartsJob(
        request_id="0" * 32,
        chat_id=6900,
        first_day=FIRST,
        last_day=FIRST + timedelta(days=days - 1),
        timezone="Europe/Moscow",
        texts=TEXTS,
    )


def series(days: int, value: int = 0) -> list[DailyValue]:
    return [DailyValue(FIRST + timedelta(days=offset), value * offset) for offset in range(days)]


def size_of(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as image:
        return image.size


def test_three_charts_come_out_as_pngs_in_order_with_their_captions() -> None:
    numbers = SalesNumbers(
        revenue=series(7, 10),
        best_sellers=[ProductUnits(1, "Ёлка", 5), ProductUnits(2, "Canal", 2)],
        new_users=series(7, 1),
    )

    charts = draw_sales_charts(job(7), numbers)

    assert [chart.name for chart in charts] == ["revenue", "best-sellers", "new-users"]
    assert all(chart.png.startswith(PNG_SIGNATURE) for chart in charts)
    expected = (int(SIZE_INCHES[0] * DPI), int(SIZE_INCHES[1] * DPI))
    assert {size_of(chart.png) for chart in charts} == {expected}
    assert [chart.caption_args for chart in charts] == [
        {"first": "2025-03-04", "last": "2025-03-10", "total": 210},
        {"first": "2025-03-04", "last": "2025-03-10", "count": 2},
        {"first": "2025-03-04", "last": "2025-03-10", "total": 21},
    ]


def test_a_period_without_sales_still_renders_every_chart() -> None:
    charts = draw_sales_charts(job(90), SalesNumbers(series(90), [], series(90)))

    assert len(charts) == 3
    assert all(chart.png.startswith(PNG_SIGNATURE) for chart in charts)


def test_titles_with_emoji_dollars_and_cyrillic_draw_without_missing_glyphs() -> None:
    # Warnings are errors here: a glyph missing from the font would fail the test.
    png = product_bars(
        ["🎄 Ёлка $5 $ and much more text than fits on one line of a chart", "Canal"],
        [3, 1],
        title="Best sellers",
        value_axis="Copies",
        empty_note="-",
    )

    assert png.startswith(PNG_SIGNATURE)
    assert drawable("🎄 Ёлка  $5") == "Ёлка $5"
    assert drawable("x" * 50).endswith("…")
    assert len(drawable("x" * 50)) == 38


def test_charts_drawn_in_parallel_threads_are_all_complete() -> None:
    results: list[bytes] = []

    def draw() -> None:
        days = series(30, 3)
        png = daily_bars(
            [point.day for point in days], [point.value for point in days],
            title="Revenue", day_axis="Day", value_axis="Stars", empty_note="-",
        )  # fmt: skip
        results.append(png)

    threads = [threading.Thread(target=draw) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 4
    assert len(set(results)) == 1
    assert results[0].startswith(PNG_SIGNATURE)


def test_every_caption_the_worker_asks_for_is_in_both_catalogs() -> None:
    keys = {chart.caption_key for chart in draw_sales_charts(job(7), SalesNumbers([], [], []))}
    keys |= {f"admin.reports.export.{table}_caption" for table in get_args(ExportTable)}
    catalogs = load_catalogs()

    assert len(keys) == 6
    assert keys <= set(catalogs[Language.EN])
    assert keys <= set(catalogs[Language.RU])


def test_a_job_with_an_unknown_time_zone_or_a_backwards_period_is_malformed() -> None:
    with pytest.raises(ValidationError, match="unknown time zone"):
        SalesChartsJob.model_validate({**job(7).model_dump(), "timezone": "Mars/Olympus"})
    with pytest.raises(ValidationError, match="first day first"):
        SalesChartsJob.model_validate({**job(7).model_dump(), "last_day": date(2025, 3, 1)})
