"""Reminders: a ticket that waited N hours for the shop's answer brings one alert to the
admins per period, run by the worker's scheduler, on a real Postgres."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from devstack.nats import NatsServer
from devstack.postgres import EmbeddedPostgres
from tests.storefront import Stocked, running_shop, stock_shop, told
from tests.test_admin_users import add_user
from tests.tickets_domain import Desk, SessionFactory, make_desk
from vitrina_common.config import Settings, TicketSettings
from vitrina_common.db.models import TicketStatus
from vitrina_common.scheduling import Scheduler
from vitrina_common.services.tickets import (
    Shopper,
    TicketReminders,
    Tickets,
    ticket_reminders_task,
)
from vitrina_worker.schedule import periodic_tasks

pytestmark = pytest.mark.postgres

HOURS = 4


@pytest.fixture
async def desk(session_factory: SessionFactory) -> Desk:
    return await make_desk(session_factory)


async def waited(desk: Desk, ticket_id: int, hours: float) -> None:
    """Pretend the ticket started waiting ``hours`` ago (and any reminder is as old)."""
    async with desk.sessions() as session, session.begin():
        await session.execute(
            text(
                "UPDATE tickets SET waiting_since = waiting_since - make_interval(secs => :s),"
                " reminded_at = reminded_at - make_interval(secs => :s) WHERE id = :id"
            ),
            {"s": hours * 3600, "id": ticket_id},
        )


async def reminders(desk: Desk) -> list[int]:
    return [
        alert["arguments"]["ticket"]
        for alert in await desk.alerts()
        if alert["code"] == "ticket_reminder"
    ]


def test_the_worker_runs_the_reminders_on_its_schedule(session_factory: SessionFactory) -> None:
    settings = Settings.model_validate({"bot": {"token": "1:x"}})

    names = [task.name for task in periodic_tasks(settings, session_factory)]

    assert "ticket-reminders" in names


async def test_an_unanswered_ticket_brings_one_reminder_per_period(desk: Desk) -> None:
    task = ticket_reminders_task(desk.sessions, TicketSettings(reminder_hours=HOURS))
    scheduler = Scheduler(desk.sessions, [task])
    ticket_id = await desk.ticket_in(TicketStatus.OPEN)
    await waited(desk, ticket_id, HOURS + 0.1)

    assert await scheduler.run_due() == "ticket-reminders"
    remind = TicketReminders(desk.sessions, TicketSettings(reminder_hours=HOURS))
    assert await remind() == 0  # a second run in the same period: nothing more
    assert await reminders(desk) == [ticket_id]

    await waited(desk, ticket_id, HOURS)  # the next period
    assert await remind() == 1
    assert await remind() == 0
    assert await reminders(desk) == [ticket_id, ticket_id]
    [first, second] = [a for a in await desk.alerts() if a["code"] == "ticket_reminder"]
    assert (first["arguments"]["hours"], second["arguments"]["hours"]) == (HOURS, 2 * HOURS)


async def test_no_reminder_before_the_period_nor_for_an_answered_or_closed_ticket(
    desk: Desk,
) -> None:
    remind = TicketReminders(desk.sessions, TicketSettings(reminder_hours=HOURS))
    fresh = await desk.ticket_in(TicketStatus.OPEN)
    answered = await desk.ticket_in(TicketStatus.ANSWERED)
    closed = await desk.ticket_in(TicketStatus.CLOSED)
    waiting_again = await desk.ticket_in(TicketStatus.AWAITING_REPLY)
    await waited(desk, fresh, HOURS - 0.5)
    for ticket_id in (answered, closed, waiting_again):
        await waited(desk, ticket_id, HOURS + 1)

    assert await remind() == 1
    assert await reminders(desk) == [waiting_again]


async def test_an_answer_ends_the_wait_and_a_new_reply_starts_a_new_one(desk: Desk) -> None:
    remind = TicketReminders(desk.sessions, TicketSettings(reminder_hours=HOURS))
    ticket_id = await desk.ticket_in(TicketStatus.OPEN)
    await waited(desk, ticket_id, HOURS + 1)
    assert await remind() == 1

    await desk.tickets.add_comment(desk.admin, ticket_id, "Answered")
    await waited(desk, ticket_id, HOURS + 1)
    assert await remind() == 0
    await desk.tickets.add_comment(desk.ann, ticket_id, "Not fixed")
    assert await remind() == 0  # the new wait has only begun

    await waited(desk, ticket_id, HOURS + 1)
    assert await remind() == 1
    assert await reminders(desk) == [ticket_id, ticket_id]


async def test_reminders_are_rendered_with_the_reminder_period(desk: Desk) -> None:
    ticket_id = await desk.ticket_in(TicketStatus.OPEN)
    await waited(desk, ticket_id, 2 * HOURS + 0.5)

    assert await TicketReminders(desk.sessions, TicketSettings(reminder_hours=HOURS))() == 1

    [alert] = [a for a in await desk.alerts() if a["code"] == "ticket_reminder"]
    assert alert["arguments"]["hours"] == 2 * HOURS


@pytest.mark.nats
@pytest.mark.slow
async def test_the_worker_reminds_the_admins_through_the_bot_once(
    postgres: EmbeddedPostgres,
    migrated_template: str,
    nats_server: NatsServer,
    tmp_path: Path,
) -> None:
    admin, shopper = 6950, 6951

    async def stock(sessions: SessionFactory) -> Stocked:
        stocked = await stock_shop(sessions, "Reminders", ["Lake"])
        await add_user(sessions, shopper)
        opened = await Tickets(sessions, [admin]).open_ticket(Shopper(shopper), "Hello?")
        async with sessions() as session, session.begin():
            await session.execute(
                text("UPDATE tickets SET waiting_since = now() - interval '5 hours'"
                     " WHERE id = :id"),
                {"id": opened.id},
            )  # fmt: skip
        return stocked

    async with running_shop(
        postgres, migrated_template, nats_server, tmp_path, admin_ids=[admin], stock=stock,
        with_worker=True, extra_env={"APP_CONF__TICKETS__REMINDER_HOURS": str(HOURS)},
    ) as shop:  # fmt: skip
        await told(shop.telegram, admin, "has waited 4 h for an answer", timeout_s=60)
        await asyncio.sleep(2)

        reminders_sent = [
            call
            for call in shop.telegram.calls_of("sendMessage")
            if call.params.get("chat_id") == admin and "has waited" in str(call.params["text"])
        ]
        assert len(reminders_sent) == 1
