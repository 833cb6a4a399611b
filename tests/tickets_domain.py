"""Helpers for ticket tests: shoppers, admins, a purchase, and tickets put in a status."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.test_checkout import Shop
from vitrina_common.db.models import OutboxMessage, TicketEvent, TicketStatus
from vitrina_common.notices import ALERT_ADMINS, NOTIFY_USER
from vitrina_common.services.tickets import Shopper, Staff, Tickets

SessionFactory = async_sessionmaker[AsyncSession]

ANN, BOB = 7001, 7002
ADMIN, OTHER_ADMIN = 9001, 9002
STAFF_IDS = frozenset({ADMIN, OTHER_ADMIN})

# The life cycle as the issue states it; the code's table and the database's must be this.
ALLOWED_MOVES = {
    (TicketStatus.OPEN, TicketStatus.ANSWERED),
    (TicketStatus.OPEN, TicketStatus.CLOSED),
    (TicketStatus.ANSWERED, TicketStatus.AWAITING_REPLY),
    (TicketStatus.ANSWERED, TicketStatus.CLOSED),
    (TicketStatus.AWAITING_REPLY, TicketStatus.ANSWERED),
    (TicketStatus.AWAITING_REPLY, TicketStatus.CLOSED),
}
# How a ticket reaches each status from open, by the shop.
_ROUTE = {
    TicketStatus.OPEN: [],
    TicketStatus.ANSWERED: [TicketStatus.ANSWERED],
    TicketStatus.AWAITING_REPLY: [TicketStatus.ANSWERED, TicketStatus.AWAITING_REPLY],
    TicketStatus.CLOSED: [TicketStatus.CLOSED],
}


@dataclass(frozen=True)
class Move:
    """A recorded event, as compared in tests."""

    actor_kind: str
    actor: int | None
    from_status: TicketStatus | None
    to_status: TicketStatus


@dataclass
class Desk:
    """The use cases over a database with two shoppers (Ann bought something) and two admins."""

    sessions: SessionFactory
    tickets: Tickets
    ann_purchase: int
    ann: Shopper = field(default_factory=lambda: Shopper(ANN))
    bob: Shopper = field(default_factory=lambda: Shopper(BOB))
    admin: Staff = field(default_factory=lambda: Staff(ADMIN))
    other_admin: Staff = field(default_factory=lambda: Staff(OTHER_ADMIN))

    async def ticket_in(self, status: TicketStatus, author: Shopper | None = None) -> int:
        """A ticket of ``author`` (Ann) moved by the shop into ``status``."""
        opened = await self.tickets.open_ticket(author or self.ann, "The file does not open")
        for step in _ROUTE[status]:
            await self.tickets.transition(self.admin, opened.id, step)
        return opened.id

    async def status(self, ticket_id: int) -> TicketStatus:
        async with self.sessions() as session:
            value = await session.scalar(
                text("SELECT status FROM tickets WHERE id = :id"), {"id": ticket_id}
            )
        return TicketStatus(value)

    async def moves(self, ticket_id: int) -> list[Move]:
        async with self.sessions() as session:
            events = await session.scalars(
                select(TicketEvent)
                .where(TicketEvent.ticket_id == ticket_id)
                .order_by(TicketEvent.id)
            )
            return [
                Move(
                    e.actor_kind.value,
                    e.actor_telegram_id or e.actor_token_id,
                    e.from_status,
                    e.to_status,
                )
                for e in events
            ]

    async def outbox(self, kind: str) -> list[dict[str, Any]]:
        """Payloads of the outbox rows of ``kind``, in order."""
        async with self.sessions() as session:
            rows = await session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
            )
            return [row.payload for row in rows]

    async def notices(self) -> list[dict[str, Any]]:
        return await self.outbox(NOTIFY_USER)

    async def alerts(self) -> list[dict[str, Any]]:
        return await self.outbox(ALERT_ADMINS)


async def make_desk(sessions: SessionFactory) -> Desk:
    shop = Shop(sessions)
    await shop.shopper(ANN)
    await shop.shopper(BOB)
    product = await shop.product(title="Blue Lagoon")
    purchase = await shop.bought(await shop.invoice(ANN, product), ANN, "charge-ann-1")
    return Desk(sessions, Tickets(sessions, STAFF_IDS), purchase)
