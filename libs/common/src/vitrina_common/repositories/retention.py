"""The deletes of retention: rows that have served their purpose.

Each method deletes at most ``limit`` rows older than ``older_than`` and returns how many
it deleted, so the caller can commit between chunks: no statement holds many row locks or
writes much WAL at once. Rows another transaction has locked are skipped (``SKIP LOCKED``)
and left to the next run; nothing here waits for the payment path.

A chunk is ``DELETE … WHERE ctid = ANY(ARRAY(SELECT ctid … LIMIT n FOR UPDATE SKIP
LOCKED))``: the rows are found first (through the retention indexes) and then deleted by
their physical address. The plainer ``WHERE id IN (SELECT …)`` lets the planner hash-join
the chunk against a scan of the whole table, for every chunk.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import (
    ColumnClause,
    Delete,
    Select,
    any_,
    delete,
    exists,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.db.models import (
    Broadcast,
    BroadcastRecipient,
    BroadcastStatus,
    ImportBatch,
    ImportBatchRow,
    ImportStatus,
    Notification,
    NotificationState,
    Order,
    OutboxMessage,
    Purchase,
    RefusedCharge,
    TelegramUpdate,
    Ticket,
    TicketStatus,
    UpdateOutcome,
)
from vitrina_common.repositories.updates import JSON_NULL

# Word for word the predicate of ix_orders_expires_at_unpaid: a literal, not bound
# parameters, or a prepared statement's generic plan could not use that partial index.
_NEVER_PAID = text("orders.status IN ('pending', 'reserved', 'expired', 'cancelled')")
# A row's physical address, valid for as long as the row is locked (as chunks lock theirs).
_CTID: ColumnClause[Any] = literal_column("ctid")
# Closed and done with: processed, or expired (a pre-checkout answered too late). Dead
# rows are evidence for the admins and have their own, longer age.
_SETTLED = TelegramUpdate.outcome.in_([UpdateOutcome.PROCESSED, UpdateOutcome.EXPIRED])


class RetentionRepository:
    """Deletes inside the caller's transaction; never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def delete_closed_updates(self, older_than: timedelta, limit: int) -> int:
        """Inbox rows received before ``older_than`` ago that are settled (processed or
        expired) or never carried money (no payload, or JSON's null as the release before
        0006 wrote it). A money update not yet closed is kept however old: it is still to be
        replayed."""
        # ix_telegram_updates_received_at_all (on every row) serves this rule and the next.
        doomed = select(_CTID).where(
            TelegramUpdate.received_at < func.now() - older_than,
            or_(_SETTLED, TelegramUpdate.payload.is_(None), TelegramUpdate.payload == JSON_NULL),
        )
        return await self._delete(delete(TelegramUpdate), doomed, limit)

    async def delete_dead_updates(self, older_than: timedelta, limit: int) -> int:
        """Money updates given up (dead) that were received before ``older_than`` ago."""
        doomed = select(_CTID).where(
            TelegramUpdate.received_at < func.now() - older_than,
            TelegramUpdate.outcome == UpdateOutcome.DEAD,
        )
        return await self._delete(delete(TelegramUpdate), doomed, limit)

    async def delete_delivered_outbox(self, older_than: timedelta, limit: int) -> int:
        """Outbox rows delivered before ``older_than`` ago. Open rows are kept however old:
        they are work still to do."""
        doomed = select(_CTID).where(OutboxMessage.delivered_at < func.now() - older_than)
        return await self._delete(delete(OutboxMessage), doomed, limit)

    async def delete_dead_outbox(self, older_than: timedelta, limit: int) -> int:
        """Outbox rows given up (dead) before ``older_than`` ago."""
        doomed = select(_CTID).where(OutboxMessage.dead_at < func.now() - older_than)
        return await self._delete(delete(OutboxMessage), doomed, limit)

    async def delete_finished_import_rows(self, older_than: timedelta, limit: int) -> int:
        """Rows of imports that finished (done or refused) before ``older_than`` ago. The
        import itself (``import_batches``, with its totals) is kept."""
        doomed: Select[Any] = (
            select(literal_column("import_rows.ctid"))
            .select_from(ImportBatchRow)
            .join(ImportBatch, ImportBatch.id == ImportBatchRow.batch_id)
            .where(
                ImportBatch.status.in_([ImportStatus.DONE, ImportStatus.REFUSED]),
                ImportBatch.finished_at < func.now() - older_than,
            )
        )
        return await self._delete(delete(ImportBatchRow), doomed, limit, of=ImportBatchRow)

    async def delete_unpaid_orders(self, older_than: timedelta, limit: int) -> int:
        """Orders never paid (pending, reserved, expired or cancelled) whose invoice expired
        before ``older_than`` ago and that no purchase or refused charge references. Paid
        orders are never deleted."""
        doomed = select(_CTID).where(
            _NEVER_PAID,
            Order.expires_at < func.now() - older_than,
            ~exists().where(Purchase.order_id == Order.id),
            # A refused charge is accounting too: its order stays with it.
            ~exists().where(RefusedCharge.order_id == Order.id),
        )
        return await self._delete(delete(Order), doomed, limit)

    async def delete_closed_tickets(self, older_than: timedelta, limit: int) -> int:
        """Tickets closed (closed is final) and unchanged for ``older_than``; their comments
        and events go with them (ON DELETE CASCADE). Tickets are few next to the other
        tables (one per question), so this reads the table without an index of its own."""
        doomed = select(_CTID).where(
            Ticket.status == TicketStatus.CLOSED,
            Ticket.updated_at < func.now() - older_than,
        )
        return await self._delete(delete(Ticket), doomed, limit)

    async def delete_ended_broadcast_recipients(self, older_than: timedelta, limit: int) -> int:
        """Recipients of broadcasts that ended (done or cancelled) before ``older_than`` ago.
        The broadcast itself (content, audience, total) is kept."""
        doomed: Select[Any] = (
            select(literal_column("broadcast_recipients.ctid"))
            .select_from(BroadcastRecipient)
            .join(Broadcast, Broadcast.id == BroadcastRecipient.broadcast_id)
            .where(
                Broadcast.status.in_([BroadcastStatus.DONE, BroadcastStatus.CANCELLED]),
                Broadcast.finished_at < func.now() - older_than,
            )
        )
        return await self._delete(delete(BroadcastRecipient), doomed, limit, of=BroadcastRecipient)

    async def delete_settled_notifications(self, older_than: timedelta, limit: int) -> int:
        """Notifications created before ``older_than`` ago and no longer pending. Pending
        ones are kept however old: they are work still to do."""
        doomed = select(_CTID).where(
            Notification.state != NotificationState.PENDING,
            Notification.created_at < func.now() - older_than,
        )
        return await self._delete(delete(Notification), doomed, limit)

    async def _delete(
        self, statement: Delete, doomed: Select[Any], limit: int, of: type[Any] | None = None
    ) -> int:
        """Run ``statement`` on at most ``limit`` of the rows whose ctid ``doomed`` selects,
        skipping rows others hold; ``of`` is the table to lock when ``doomed`` joins."""
        chunk = doomed.limit(limit).with_for_update(skip_locked=True, of=of).correlate(None)
        in_chunk = _CTID == any_(func.array(chunk.scalar_subquery()))  # noqa: SIM300  (a column)
        result = await self._session.execute(
            statement.where(in_chunk).execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
