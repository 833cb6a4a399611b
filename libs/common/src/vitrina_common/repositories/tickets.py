"""Tickets, their comments and status events, inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import ColumnElement, Select, extract, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.db.models import (
    ActorKind,
    AttachmentKind,
    Product,
    Purchase,
    PurchaseStatus,
    Ticket,
    TicketComment,
    TicketEvent,
    TicketStatus,
    User,
)
from vitrina_common.tickets.status import WAITING_FOR_STAFF


class TicketRow(NamedTuple):
    """A ticket with its author's Telegram id."""

    ticket: Ticket
    author_telegram_id: int


@dataclass(frozen=True)
class TicketQuery:
    """Which tickets a page holds; unset fields do not filter."""

    statuses: frozenset[TicketStatus] | None = None
    created_before: timedelta | None = None
    assignee_telegram_id: int | None = None
    unassigned: bool = False
    author_telegram_id: int | None = None
    oldest_first: bool = False


class ActorRef(NamedTuple):
    """Who acts, as stored: a kind and a Telegram id or an API token id."""

    kind: ActorKind
    telegram_id: int | None
    token_id: int | None


class DueReminder(NamedTuple):
    ticket_id: int
    subject: str
    author_telegram_id: int
    status: TicketStatus
    # Which reminder of this wait it is (1 after one period, 2 after two, …).
    period: int
    waiting_since: datetime


def _with_author() -> Select[Ticket, int]:
    return select(Ticket, User.telegram_id).join(User, User.id == Ticket.author_id)


class TicketRepository:
    """Reads and writes ``tickets``, ``ticket_comments`` and ``ticket_events``."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def owned_purchase_title(self, purchase_id: int, user_id: int) -> str | None:
        """The product title of ``purchase_id`` if ``user_id`` bought it (refunded too)."""
        return await self._session.scalar(
            select(Product.title)
            .join(Purchase, Purchase.product_id == Product.id)
            .where(
                Purchase.id == purchase_id,
                Purchase.user_id == user_id,
                Purchase.status.in_([PurchaseStatus.PAID, PurchaseStatus.REFUNDED]),
            )
        )

    async def purchase_title(self, purchase_id: int) -> str | None:
        """The product title of a purchase."""
        return await self._session.scalar(
            select(Product.title)
            .join(Purchase, Purchase.product_id == Product.id)
            .where(Purchase.id == purchase_id)
        )

    async def add(self, author_id: int, purchase_id: int | None, subject: str) -> Ticket:
        """A new ``open`` ticket (its id set)."""
        ticket = Ticket(author_id=author_id, purchase_id=purchase_id, subject=subject)
        self._session.add(ticket)
        await self._session.flush()
        await self._session.refresh(ticket)
        return ticket

    async def get(self, ticket_id: int, *, lock: bool = False) -> TicketRow | None:
        """The ticket and its author; ``lock`` holds its row until the transaction ends,
        so two writers act on it one after the other, each seeing the other's status."""
        query = _with_author().where(Ticket.id == ticket_id)
        if lock:
            query = query.with_for_update(of=Ticket)
        row = (
            await self._session.execute(query, execution_options={"populate_existing": True})
        ).one_or_none()
        return None if row is None else TicketRow(row[0], int(row[1]))

    async def set_status(self, ticket_id: int, status: TicketStatus) -> None:
        """Move the ticket; a wait for the shop starts anew when it enters one."""
        waiting = status in WAITING_FOR_STAFF
        await self._session.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id)
            .values(
                status=status,
                waiting_since=func.now() if waiting else None,
                reminded_at=None,
            )
            .execution_options(synchronize_session=False)
        )

    async def set_assignee(self, ticket_id: int, assignee_telegram_id: int | None) -> None:
        """Give the ticket to an admin, or to nobody."""
        await self._session.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id)
            .values(assignee_telegram_id=assignee_telegram_id)
            .execution_options(synchronize_session=False)
        )

    async def touch(self, ticket_id: int) -> None:
        """Mark the ticket changed (a comment that moved nothing)."""
        await self._session.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id)
            .values(updated_at=func.now())
            .execution_options(synchronize_session=False)
        )

    async def add_comment(
        self,
        ticket_id: int,
        actor: ActorRef,
        text: str,
        attachment: tuple[AttachmentKind, str] | None,
    ) -> TicketComment:
        """A comment (its id and time set)."""
        comment = TicketComment(
            ticket_id=ticket_id,
            author_kind=actor.kind,
            author_telegram_id=actor.telegram_id,
            author_token_id=actor.token_id,
            text=text,
            file_kind=attachment[0] if attachment else None,
            file_id=attachment[1] if attachment else None,
        )
        self._session.add(comment)
        await self._session.flush()
        await self._session.refresh(comment)
        return comment

    async def add_event(
        self,
        ticket_id: int,
        actor: ActorRef,
        from_status: TicketStatus | None,
        to_status: TicketStatus,
    ) -> None:
        """Record a move (or, from None, the creation)."""
        self._session.add(
            TicketEvent(
                ticket_id=ticket_id,
                actor_kind=actor.kind,
                actor_telegram_id=actor.telegram_id,
                actor_token_id=actor.token_id,
                from_status=from_status,
                to_status=to_status,
            )
        )
        await self._session.flush()

    async def comments(self, ticket_id: int, limit: int) -> list[TicketComment]:
        """The latest ``limit`` comments, oldest of them first."""
        rows = await self._session.scalars(
            select(TicketComment)
            .where(TicketComment.ticket_id == ticket_id)
            .order_by(TicketComment.id.desc())
            .limit(limit)
        )
        return list(reversed(list(rows)))

    async def events(self, ticket_id: int) -> list[TicketEvent]:
        """Every recorded move of the ticket, in order."""
        rows = await self._session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
        )
        return list(rows)

    async def page(
        self, query: TicketQuery, after: tuple[datetime, int] | None, limit: int
    ) -> list[TicketRow]:
        """Up to ``limit`` tickets matching ``query`` after the keyset position ``after``
        (``created_at``, ``id``), newest first unless ``query.oldest_first``."""
        statement = _with_author().where(*self._conditions(query))
        key = tuple_(Ticket.created_at, Ticket.id)
        if after is not None:
            position = tuple_(*after)
            statement = statement.where(key > position if query.oldest_first else key < position)
        order = (
            (Ticket.created_at, Ticket.id)
            if query.oldest_first
            else (Ticket.created_at.desc(), Ticket.id.desc())
        )
        rows = await self._session.execute(statement.order_by(*order).limit(limit))
        return [TicketRow(row[0], int(row[1])) for row in rows]

    @staticmethod
    def _conditions(query: TicketQuery) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if query.statuses is not None:
            conditions.append(Ticket.status.in_(sorted(query.statuses)))
        if query.created_before is not None:
            conditions.append(Ticket.created_at <= func.now() - query.created_before)
        if query.unassigned:
            conditions.append(Ticket.assignee_telegram_id.is_(None))
        elif query.assignee_telegram_id is not None:
            conditions.append(Ticket.assignee_telegram_id == query.assignee_telegram_id)
        if query.author_telegram_id is not None:
            conditions.append(User.telegram_id == query.author_telegram_id)
        return conditions

    async def due_reminders(self, waited: timedelta, limit: int) -> list[DueReminder]:
        """Tickets the shop has owed an answer for ``waited`` or longer and not been
        reminded of in the last ``waited``; locked (others skip them) until the commit."""
        seconds = waited.total_seconds()
        period = func.floor(extract("epoch", func.now() - Ticket.waiting_since) / seconds)
        rows = await self._session.execute(
            select(
                Ticket.id,
                Ticket.subject,
                User.telegram_id,
                Ticket.status,
                period,
                Ticket.waiting_since,
            )
            .join(User, User.id == Ticket.author_id)
            .where(
                Ticket.status.in_(sorted(WAITING_FOR_STAFF)),
                Ticket.waiting_since <= func.now() - waited,
                or_(Ticket.reminded_at.is_(None), Ticket.reminded_at <= func.now() - waited),
            )
            .order_by(Ticket.waiting_since, Ticket.id)
            .limit(limit)
            .with_for_update(of=Ticket, skip_locked=True)
        )
        return [DueReminder(int(r[0]), r[1], int(r[2]), r[3], int(r[4]), r[5]) for r in rows]

    async def mark_reminded(self, ticket_ids: Sequence[int]) -> None:
        """The admins were reminded of these tickets now."""
        if ticket_ids:
            await self._session.execute(
                update(Ticket)
                .where(Ticket.id.in_(list(ticket_ids)))
                .values(reminded_at=func.now())
                .execution_options(synchronize_session=False)
            )

    async def author_id(self, telegram_id: int) -> int | None:
        """The users.id of a Telegram user who started the bot."""
        return await self._session.scalar(select(User.id).where(User.telegram_id == telegram_id))
