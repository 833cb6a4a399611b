"""Admin area: sales & exports.

The screen shows a summary computed when it opens (today, 7 and 30 days in the shop's
time zone) beside buttons that ask the worker for charts of a period or for a CSV export.
A request is a job committed to the outbox; the files arrive in this chat when ready.
"""

from __future__ import annotations

from typing import Any

from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.kbd import Button, Cancel, Row

from vitrina_bot.dialogs.widgets import T
from vitrina_bot.i18n import Translator
from vitrina_common.messaging.contracts import ChartTexts, ExportTable
from vitrina_common.outbox import OutboxRelay
from vitrina_common.repositories.reports import WindowTotals
from vitrina_common.services.reports import CHART_PERIODS, Period, ReportQueries, RequestReports

NOTICE = "notice"
EXPORT_TABLES: tuple[ExportTable, ...] = ("products", "purchases", "users")
_EXPORT_BUTTONS: dict[str, ExportTable] = {f"export_{table}": table for table in EXPORT_TABLES}


class AdminReportsSG(StatesGroup):
    main = State()


ENTRY = AdminReportsSG.main


def _number(value: int) -> str:
    # Thin spaces between thousands read the same in Russian and English: 1 234 567.
    return f"{value:,}".replace(",", "\u2009")


def _window(name: str, totals: WindowTotals) -> dict[str, str]:
    return {
        f"{name}_revenue": _number(totals.revenue_stars),
        f"{name}_units": _number(totals.units),
        f"{name}_users": _number(totals.new_users),
        f"{name}_refunded": _number(totals.refunded_units),
        f"{name}_refunded_stars": _number(totals.refunded_stars),
    }


async def get_summary(
    dialog_manager: DialogManager, report_queries: ReportQueries, **_: Any
) -> dict[str, Any]:
    """The three windows' numbers and the last request's notice, if any."""
    summary = await report_queries.summary()
    return {
        "timezone": summary.timezone,
        **_window("today", summary.today),
        **_window("week", summary.week),
        **_window("month", summary.month),
        "notice": dialog_manager.dialog_data.get(NOTICE, ""),
    }


def chart_texts(translate: Translator, period: Period, timezone: str) -> ChartTexts:
    """Chart titles and axes in the admin's language (the worker has no catalogs)."""
    dates = {"first": period.first_day.isoformat(), "last": period.last_day.isoformat()}
    return ChartTexts(
        revenue_title=translate("admin.reports.chart.revenue_title", timezone=timezone, **dates),
        units_title=translate("admin.reports.chart.units_title", **dates),
        users_title=translate("admin.reports.chart.users_title", **dates),
        day_axis=translate("admin.reports.chart.day_axis"),
        stars_axis=translate("admin.reports.chart.stars_axis"),
        units_axis=translate("admin.reports.chart.units_axis"),
        users_axis=translate("admin.reports.chart.users_axis"),
        empty_period=translate("admin.reports.chart.empty_period"),
    )


def _chat_id(event: CallbackQuery) -> int:
    return event.message.chat.id if event.message is not None else event.from_user.id


async def on_charts(event: CallbackQuery, button: Button, manager: DialogManager) -> None:
    """Queue the three charts of the period the button names (``charts_<days>``)."""
    days = int((button.widget_id or "").removeprefix("charts_"))
    queries: ReportQueries = manager.middleware_data["report_queries"]
    requests: RequestReports = manager.middleware_data["report_requests"]
    translate: Translator = manager.middleware_data["t"]
    period = queries.period(days)
    texts = chart_texts(translate, period, queries.timezone)
    await requests.charts(_chat_id(event), period, queries.timezone, texts)
    await _requested(event, manager, translate("admin.reports.charts_requested", days=days))


async def on_export(event: CallbackQuery, button: Button, manager: DialogManager) -> None:
    """Queue the CSV export of the table the button names (``export_<table>``)."""
    table = _EXPORT_BUTTONS[button.widget_id or ""]
    queries: ReportQueries = manager.middleware_data["report_queries"]
    requests: RequestReports = manager.middleware_data["report_requests"]
    translate: Translator = manager.middleware_data["t"]
    await requests.export(_chat_id(event), table, queries.timezone)
    notice = translate(f"admin.reports.export.{table}_requested")
    await _requested(event, manager, notice)


async def _requested(event: CallbackQuery, manager: DialogManager, notice: str) -> None:
    relay: OutboxRelay = manager.middleware_data["outbox_relay"]
    relay.wake()
    manager.dialog_data[NOTICE] = notice
    await event.answer(notice)


dialogs = (
    Dialog(
        Window(
            T("admin.reports.summary"),
            T("admin.reports.notice", when="notice"),
            Row(
                *(
                    Button(
                        T(f"admin.reports.charts_{days}"), id=f"charts_{days}", on_click=on_charts
                    )
                    for days in CHART_PERIODS
                )
            ),
            Row(
                *(
                    Button(T(f"admin.reports.export.{table}"), id=button_id, on_click=on_export)
                    for button_id, table in _EXPORT_BUTTONS.items()
                )
            ),
            Cancel(T("admin.menu.back")),
            getter=get_summary,
            state=AdminReportsSG.main,
        ),
    ),
)
