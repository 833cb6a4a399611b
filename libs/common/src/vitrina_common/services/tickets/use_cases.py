"""The ticket use cases: each one transaction, each given the actor who acts."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.db.models import ApiScope, TicketStatus
from vitrina_common.repositories.outbox import OutboxRepository
from vitrina_common.repositories.tickets import TicketQuery, TicketRepository, TicketRow
from vitrina_common.services.tickets import effects
from vitrina_common.services.tickets.actors import Access, Actor, Shopper, Staff, actor_ref
from vitrina_common.services.tickets.errors import (
    InvalidTicketInput,
    Problem,
    ShopperOnly,
    StaffOnly,
    TicketChanged,
    TicketClosed,
    TicketNotFound,
)
from vitrina_common.services.tickets.inputs import as_pair, comment_text, subject_of
from vitrina_common.services.tickets.views import (
    MAX_PAGE_SIZE,
    Attachment,
    CommentAdded,
    CommentView,
    EventView,
    TicketDetails,
    TicketFilter,
    TicketPage,
    TicketSummary,
    decode_cursor,
    encode_cursor,
)
from vitrina_common.tickets.status import allowed_moves

SessionFactory = async_sessionmaker[AsyncSession]
# Comments ``get`` returns: the latest ones (a conversation is read from its end).
DEFAULT_COMMENTS = 50


class Tickets:
    """Support tickets for the bot and the HTTP API. Access is decided here, from the
    actor: a shopper reaches only their own tickets; an admin (``Staff`` whose id is in
    ``staff_ids``) and an API token (reads need ``read``, changes ``write``) reach all."""

    def __init__(self, session_factory: SessionFactory, staff_ids: Collection[int]) -> None:
        self._session_factory = session_factory
        self._access = Access(staff_ids)

    async def open_ticket(
        self,
        actor: Shopper,
        text: str,
        *,
        subject: str | None = None,
        purchase_id: int | None = None,
        attachment: Attachment | None = None,
    ) -> TicketSummary:
        """Open a ticket with its first comment; the admins are told. Without a subject,
        the purchased product's title or the text's first line is the subject."""
        if not isinstance(actor, Shopper):
            raise ShopperOnly
        body = comment_text(text, required=attachment is None)
        async with self._session_factory() as session, session.begin():
            tickets = TicketRepository(session)
            author_id = await tickets.author_id(actor.telegram_id)
            if author_id is None:
                raise InvalidTicketInput("author", Problem.UNKNOWN_USER)
            title = None
            if purchase_id is not None:
                title = await tickets.owned_purchase_title(purchase_id, author_id)
                if title is None:
                    raise InvalidTicketInput("purchase_id", Problem.UNKNOWN_PURCHASE)
            ticket = await tickets.add(author_id, purchase_id, subject_of(subject, body, title))
            row = TicketRow(ticket, actor.telegram_id)
            who = actor_ref(actor)
            await tickets.add_event(ticket.id, who, None, TicketStatus.OPEN)
            comment = await tickets.add_comment(ticket.id, who, body, as_pair(attachment))
            await effects.tell_about_comment(
                OutboxRepository(session), row, comment, by_staff=False, opened=True
            )
            return TicketSummary.of(ticket, actor.telegram_id)

    async def add_comment(
        self,
        actor: Actor,
        ticket_id: int,
        text: str,
        *,
        attachment: Attachment | None = None,
    ) -> CommentAdded:
        """A comment by the author or the shop; the other side is told. The shop's
        comment answers a ticket waiting for it, the author's after an answer makes it
        wait for the shop again. Refused on a closed ticket (``TicketClosed``)."""
        body = comment_text(text, required=attachment is None)
        async with self._session_factory() as session, session.begin():
            tickets = TicketRepository(session)
            row = await self._locked(tickets, actor, ticket_id, ApiScope.WRITE)
            if row.ticket.status == TicketStatus.CLOSED:
                raise TicketClosed(ticket_id)
            by_staff = self._access.is_staff(actor)
            who = actor_ref(actor)
            comment = await tickets.add_comment(ticket_id, who, body, as_pair(attachment))
            target = effects.implied_move(row.ticket.status, by_staff)
            if target is None:
                await tickets.touch(ticket_id)
            else:
                await effects.move(tickets, row, who, target)
            await effects.tell_about_comment(
                OutboxRepository(session), row, comment, by_staff=by_staff
            )
            return CommentAdded(await self._summary(tickets, ticket_id), CommentView.of(comment))

    async def transition(
        self,
        actor: Actor,
        ticket_id: int,
        target: TicketStatus,
        *,
        expected: TicketStatus | None = None,
    ) -> TicketSummary:
        """Move the ticket to ``target`` along the table (``IllegalTransition`` names the
        moves allowed; ``TicketClosed`` from closed). The author may only close; with
        ``expected``, a ticket no longer in that status is refused (``TicketChanged``)."""
        async with self._session_factory() as session, session.begin():
            tickets = TicketRepository(session)
            row = await self._locked(tickets, actor, ticket_id, ApiScope.WRITE)
            if isinstance(actor, Shopper) and target != TicketStatus.CLOSED:
                raise StaffOnly
            current = row.ticket.status
            if expected is not None and current != expected:
                raise TicketChanged(ticket_id, expected, current)
            if current == TicketStatus.CLOSED:
                raise TicketClosed(ticket_id)
            who = actor_ref(actor)
            await effects.move(tickets, row, who, target)
            if target == TicketStatus.CLOSED:
                await effects.tell_about_close(OutboxRepository(session), row, who)
            return await self._summary(tickets, ticket_id)

    async def close(self, actor: Actor, ticket_id: int) -> TicketSummary:
        """``transition`` to closed: by the author or the shop."""
        return await self.transition(actor, ticket_id, TicketStatus.CLOSED)

    async def assign(
        self, actor: Actor, ticket_id: int, assignee_telegram_id: int | None
    ) -> TicketSummary:
        """Give the ticket to an admin (an id in ``staff_ids``), or to nobody (None)."""
        self._access.require_staff(actor, ApiScope.WRITE)
        if assignee_telegram_id is not None and not self._access.is_staff_id(assignee_telegram_id):
            raise InvalidTicketInput("assignee_telegram_id", Problem.NOT_STAFF)
        async with self._session_factory() as session, session.begin():
            tickets = TicketRepository(session)
            row = await self._locked(tickets, actor, ticket_id, ApiScope.WRITE)
            if row.ticket.status == TicketStatus.CLOSED:
                raise TicketClosed(ticket_id)
            await tickets.set_assignee(ticket_id, assignee_telegram_id)
            return await self._summary(tickets, ticket_id)

    async def take(self, actor: Staff, ticket_id: int) -> TicketSummary:
        """An admin assigns the ticket to themself."""
        return await self.assign(actor, ticket_id, actor.telegram_id)

    async def get(
        self, actor: Actor, ticket_id: int, *, comments: int = DEFAULT_COMMENTS
    ) -> TicketDetails:
        """The ticket, its latest ``comments`` and the moves it may make."""
        async with self._session_factory() as session:
            tickets = TicketRepository(session)
            row = await tickets.get(ticket_id)
            self._check(actor, row, ticket_id, ApiScope.READ)
            assert row is not None  # noqa: S101  (checked above; narrows the type)
            title = None
            if row.ticket.purchase_id is not None:
                title = await tickets.purchase_title(row.ticket.purchase_id)
            lines = await tickets.comments(ticket_id, max(1, comments))
        return TicketDetails(
            ticket=TicketSummary.of(row.ticket, row.author_telegram_id),
            product_title=title,
            comments=[CommentView.of(line) for line in lines],
            allowed_moves=allowed_moves(row.ticket.status),
        )

    async def history(self, actor: Actor, ticket_id: int) -> list[EventView]:
        """Every move of the ticket, its opening first."""
        async with self._session_factory() as session:
            tickets = TicketRepository(session)
            self._check(actor, await tickets.get(ticket_id), ticket_id, ApiScope.READ)
            return [EventView.of(event) for event in await tickets.events(ticket_id)]

    async def list_tickets(
        self,
        actor: Actor,
        filters: TicketFilter | None = None,
        *,
        cursor: str | None = None,
        limit: int = 20,
    ) -> TicketPage:
        """One page of tickets, newest first (or oldest, see ``TicketFilter``); pass
        ``next_cursor`` back for the next. A shopper lists only their own tickets."""
        filters = filters or TicketFilter()
        author = filters.author_telegram_id
        if isinstance(actor, Shopper):
            # Whatever author was asked for: a shopper's list is their own.
            author = actor.telegram_id
        else:
            self._access.require_staff(actor, ApiScope.READ)
        query = TicketQuery(
            statuses=filters.statuses,
            created_before=filters.older_than,
            assignee_telegram_id=filters.assignee_telegram_id,
            unassigned=filters.unassigned,
            author_telegram_id=author,
            oldest_first=filters.oldest_first,
        )
        size = min(max(limit, 1), MAX_PAGE_SIZE)
        after = decode_cursor(cursor) if cursor else None
        async with self._session_factory() as session:
            rows = await TicketRepository(session).page(query, after, size + 1)
        items = [TicketSummary.of(row.ticket, row.author_telegram_id) for row in rows[:size]]
        last = items[-1] if len(rows) > size else None
        return TicketPage(items, encode_cursor(last.created_at, last.id) if last else None)

    async def _locked(
        self, tickets: TicketRepository, actor: Actor, ticket_id: int, scope: ApiScope
    ) -> TicketRow:
        row = await tickets.get(ticket_id, lock=True)
        self._check(actor, row, ticket_id, scope)
        assert row is not None  # noqa: S101  (checked above; narrows the type)
        return row

    def _check(self, actor: Actor, row: TicketRow | None, ticket_id: int, scope: ApiScope) -> None:
        if row is None:
            # Not found before access: an outsider learns no more than "no such ticket"
            # would tell them, and an existing one is refused as NotYourTicket.
            raise TicketNotFound(ticket_id)
        self._access.require_ticket(actor, scope, ticket_id, row.author_telegram_id)

    @staticmethod
    async def _summary(tickets: TicketRepository, ticket_id: int) -> TicketSummary:
        row = await tickets.get(ticket_id)
        assert row is not None  # noqa: S101  (locked in this transaction)
        return TicketSummary.of(row.ticket, row.author_telegram_id)
