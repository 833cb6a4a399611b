"""A shop with a waitlist on the test's database: checkout (``Shop``) plus the waitlist's
use cases, a manual clock, and a due-item runner that plays the worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.test_checkout import Shop
from vitrina_common.clock import ManualClock
from vitrina_common.config_scheduling import SchedulingSettings
from vitrina_common.db.models import (
    EditionReservation,
    Purchase,
    PurchaseStatus,
    ReservationState,
    User,
)
from vitrina_common.scheduling import DueRunner
from vitrina_common.services.checkout import RefundPurchase
from vitrina_common.services.waitlist.admin import AdminWaitlist
from vitrina_common.services.waitlist.effects import RESERVATION_EXPIRY, RESERVATION_REMINDER
from vitrina_common.services.waitlist.expiry import ReservationExpiry, ReservationReminder
from vitrina_common.services.waitlist.handout import HandOutCopies, ReservationPolicy
from vitrina_common.services.waitlist.shopper import Waitlist

SessionFactory = async_sessionmaker[AsyncSession]
HOLD = timedelta(hours=48)
ADMIN = 7000


class WaitlistShop(Shop):
    """``Shop`` with the waitlist wired as the bot and the worker wire it."""

    def __init__(self, session_factory: SessionFactory, hold: timedelta = HOLD) -> None:
        super().__init__(session_factory)
        # Offers are dated by the clock; orders and holds by the database's own clock.
        self.clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
        self.hand_out = HandOutCopies(self.clock, ReservationPolicy(hold=hold))
        self.waitlist = Waitlist(session_factory, self.hand_out)
        self.admin = AdminWaitlist(session_factory, frozenset({ADMIN}), self.hand_out)
        self.refunds = RefundPurchase(session_factory, self.hand_out)
        self.worker = DueRunner(
            session_factory,
            {
                RESERVATION_EXPIRY: ReservationExpiry(self.hand_out),
                RESERVATION_REMINDER: ReservationReminder(self.clock),
            },
            self.clock,
            SchedulingSettings(batch_size=50, first_retry_s=60, max_retry_s=600),
        )

    async def buy(self, telegram_id: int, product_id: int, charge_id: str) -> int:
        """Invoice, pre-checkout and payment that must all succeed; the purchase id."""
        invoice = await self.invoice(telegram_id, product_id)
        verdict = await self.check(invoice, telegram_id)
        assert verdict.ok, verdict
        return await self.bought(invoice, telegram_id, charge_id)

    async def let_time_pass(self, delta: timedelta) -> None:
        """Move the clock and let the worker handle whatever fell due."""
        self.clock.advance(delta)
        while (await self.worker.run_batch()).claimed:
            pass

    async def offers(self, product_id: int) -> dict[int, ReservationState]:
        """Telegram id → state of every reservation of the product (the latest per shopper)."""
        async with self.session_factory() as session:
            rows = await session.execute(
                select(User.telegram_id, EditionReservation.state)
                .join(User, User.id == EditionReservation.user_id)
                .where(EditionReservation.product_id == product_id)
                .order_by(EditionReservation.id)
            )
            return dict(rows.all())

    async def user_id(self, telegram_id: int) -> int:
        """The users row of a shopper."""
        async with self.session_factory() as session:
            found = await session.scalar(select(User.id).where(User.telegram_id == telegram_id))
        assert found is not None
        return found

    async def paid_copies(self, product_id: int) -> int:
        """Purchases of the product that are paid and not refunded."""
        async with self.session_factory() as session:
            count = await session.scalar(
                select(func.count()).where(
                    Purchase.product_id == product_id, Purchase.status == PurchaseStatus.PAID
                )
            )
            return count or 0
