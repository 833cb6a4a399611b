"""Copies of limited editions reserved for waitlisted shoppers, and their log."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.db.models import (
    EditionReservation,
    ReservationCause,
    ReservationState,
    User,
)


class ReservationLine(NamedTuple):
    """One line of a product's reservation log."""

    reservation_id: int
    telegram_id: int
    username: str | None
    state: ReservationState
    cause: ReservationCause
    offered_at: datetime
    expires_at: datetime
    closed_at: datetime | None


class EditionReservationRepository:
    """Reads and writes ``edition_reservations`` inside the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def offer(
        self,
        product_id: int,
        user_id: int,
        cause: ReservationCause,
        offered_at: datetime,
        expires_at: datetime,
    ) -> int | None:
        """A new offered reservation's id; None when the shopper holds one already."""
        result = await self._session.execute(
            insert(EditionReservation)
            .values(
                product_id=product_id,
                user_id=user_id,
                cause=cause,
                offered_at=offered_at,
                expires_at=expires_at,
            )
            .on_conflict_do_nothing(
                index_elements=["product_id", "user_id"],
                index_where=EditionReservation.state == ReservationState.OFFERED,
            )
            .returning(EditionReservation.id)
        )
        return result.scalar_one_or_none()

    async def offered_to_others(self, product_id: int, except_user_id: int | None) -> int:
        """Copies of the product offered to waitlisted shoppers other than ``except_user_id``
        (None: to anyone)."""
        statement = (
            select(func.count())
            .select_from(EditionReservation)
            .where(
                EditionReservation.product_id == product_id,
                EditionReservation.state == ReservationState.OFFERED,
            )
        )
        if except_user_id is not None:
            statement = statement.where(EditionReservation.user_id != except_user_id)
        return await self._session.scalar(statement) or 0

    async def offered_to(self, product_id: int, user_id: int) -> EditionReservation | None:
        """The shopper's live offer for the product, if any."""
        result = await self._session.execute(
            select(EditionReservation).where(
                EditionReservation.product_id == product_id,
                EditionReservation.user_id == user_id,
                EditionReservation.state == ReservationState.OFFERED,
            )
        )
        return result.scalar_one_or_none()

    async def get(self, reservation_id: int, *, lock: bool = False) -> EditionReservation | None:
        """The reservation read afresh; ``lock`` holds its row."""
        statement = (
            select(EditionReservation)
            .where(EditionReservation.id == reservation_id)
            .execution_options(populate_existing=True)
        )
        if lock:
            statement = statement.with_for_update()
        return (await self._session.execute(statement)).scalar_one_or_none()

    async def close(
        self, reservation_id: int, state: ReservationState, *, order_id: int | None = None
    ) -> bool:
        """Offered → ``state`` (database clock); False when it was no longer offered."""
        values: dict[str, Any] = {"state": state, "closed_at": func.now()}
        if order_id is not None:
            values["order_id"] = order_id
        result = await self._session.execute(
            update(EditionReservation)
            .where(
                EditionReservation.id == reservation_id,
                EditionReservation.state == ReservationState.OFFERED,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def reopen_for_order(self, order_id: int) -> bool:
        """Bought → offered for the offer this order's pre-checkout took over (its "yes"
        never reached Telegram), unless its time is up (its expiry may have run: an offer
        reopened then would never end); False when there is none."""
        result = await self._session.execute(
            update(EditionReservation)
            .where(
                EditionReservation.order_id == order_id,
                EditionReservation.state == ReservationState.BOUGHT,
                EditionReservation.expires_at > func.now(),
            )
            .values(state=ReservationState.OFFERED, closed_at=None, order_id=None)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def log(
        self, product_id: int, offset: int, limit: int
    ) -> tuple[list[ReservationLine], int]:
        """The product's reservations, newest first, and how many in all."""
        rows = await self._session.execute(
            select(
                EditionReservation.id,
                User.telegram_id,
                User.username,
                EditionReservation.state,
                EditionReservation.cause,
                EditionReservation.offered_at,
                EditionReservation.expires_at,
                EditionReservation.closed_at,
            )
            .join(User, User.id == EditionReservation.user_id)
            .where(EditionReservation.product_id == product_id)
            .order_by(EditionReservation.id.desc())
            .offset(offset)
            .limit(limit)
        )
        total = await self._session.scalar(
            select(func.count()).where(EditionReservation.product_id == product_id)
        )
        return [ReservationLine(*row) for row in rows], total or 0
