"""Refunds: of a purchase, by an admin; of a refused charge, automatically; and refunds
Telegram reports that the bot did not make (``refunded_payment``)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.db.models import Language, PurchaseStatus, ReservationCause
from vitrina_common.logging import get_logger
from vitrina_common.notices import (
    AdminAlert,
    UserNotice,
    enqueue_admin_alert,
    enqueue_user_notice,
)
from vitrina_common.observability import shop_metrics
from vitrina_common.observability.shop_metrics import RefundKind
from vitrina_common.repositories.outbox import OutboxRepository
from vitrina_common.repositories.purchases import PurchaseRepository, RefundRow
from vitrina_common.repositories.refused_charges import RefusedChargeRepository
from vitrina_common.services.waitlist.handout import HandOutCopies

log = get_logger(__name__)

SessionFactory = async_sessionmaker[AsyncSession]


class RefundRefusal(StrEnum):
    """Why a refund is not started."""

    NOT_FOUND = "not_found"
    ALREADY_REFUNDED = "already_refunded"


@dataclass(frozen=True)
class RefundTarget:
    """What refundStarPayment needs, and what to tell the shopper."""

    purchase_id: int
    telegram_user_id: int
    telegram_payment_charge_id: str
    product_title: str
    price_stars: int
    # The buyer's language, for telling them about the refund.
    language: Language


@dataclass(frozen=True)
class RefundConfirmation:
    """What ``confirm_once`` recorded."""

    target: RefundTarget
    # False when the purchase was refunded already: a repeated or concurrent confirm, whose
    # caller must not tell the buyer a second time.
    newly_refunded: bool


class RefundPurchase:
    """Refund in two steps, around Telegram's refundStarPayment.

    1. ``prepare(purchase_id)``: the target, or a refusal (unknown, already refunded).
       Changes nothing.
    2. The bot calls refundStarPayment(target.telegram_user_id, target.telegram_payment_charge_id).
    3. Only when Telegram said OK (or that the charge is already refunded, the answer a retry
       after a crash gets), ``confirm(purchase_id)`` marks the purchase refunded, which
       revokes the download.

    Why this order: marking first and then failing to refund would take the file away
    while keeping the Stars. Refunding first and then crashing leaves a refunded charge
    with the file still downloadable until the refund is retried: the shopper's favour,
    and ``confirm`` is idempotent, so retrying both steps converges.

    The refunded copy of a limited edition is freed: in the commit that marks the refund,
    it is offered to the first shopper on the edition's waitlist (``hand_out``).
    """

    def __init__(
        self, session_factory: SessionFactory, hand_out: HandOutCopies | None = None
    ) -> None:
        self._session_factory = session_factory
        self._hand_out = hand_out or HandOutCopies()

    async def prepare(self, purchase_id: int) -> RefundTarget | RefundRefusal:
        """What to refund, or why not; read-only."""
        async with self._session_factory() as session, session.begin():
            row = await PurchaseRepository(session).for_refund(purchase_id)
        if row is None:
            return RefundRefusal.NOT_FOUND
        if row.purchase.status is PurchaseStatus.REFUNDED:
            return RefundRefusal.ALREADY_REFUNDED
        return _target(row)

    async def confirm(self, purchase_id: int) -> RefundTarget:
        """Telegram refunded: mark the purchase refunded (again: no change, same answer)."""
        return (await self.confirm_once(purchase_id)).target

    async def confirm_once(self, purchase_id: int) -> RefundConfirmation:
        """Like ``confirm``, and says whether this call was the one that marked it."""
        async with self._session_factory() as session, session.begin():
            purchases = PurchaseRepository(session)
            row = await purchases.for_refund(purchase_id, lock=True)
            if row is None:
                raise LookupError(f"purchase {purchase_id} does not exist")
            newly_refunded = await purchases.mark_refunded(purchase_id)
            if newly_refunded:
                await self._hand_out(session, row.purchase.product_id, ReservationCause.REFUND)
        if newly_refunded:
            shop_metrics.refunds.add(1, {"kind": RefundKind.MANUAL})
            log.info("purchase refunded", purchase_id=purchase_id)
        return RefundConfirmation(_target(row), newly_refunded)


def _target(row: RefundRow) -> RefundTarget:
    return RefundTarget(
        purchase_id=row.purchase.id,
        telegram_user_id=row.owner_telegram_id,
        telegram_payment_charge_id=row.purchase.telegram_payment_charge_id,
        product_title=row.title,
        price_stars=row.purchase.price_stars,
        language=row.owner_language,
    )


@dataclass(frozen=True)
class ChargeRefund:
    """What refundStarPayment needs for a refused charge."""

    refused_charge_id: int
    telegram_user_id: int
    telegram_payment_charge_id: str


class RefundRefusedCharge:
    """The automatic refund of a refused charge, around Telegram's refundStarPayment.

    ``due`` says what to refund (None once refunded); after Telegram said OK (or that the
    charge is refunded already), ``confirm`` records it and, in the same commit, queues the
    shopper's notice and the admins' alert. Retrying both steps converges.
    """

    def __init__(self, session_factory: SessionFactory) -> None:
        self._session_factory = session_factory

    async def due(self, refused_charge_id: int) -> ChargeRefund | None:
        """The refund to make, or None when it is made (or the row is gone)."""
        async with self._session_factory() as session, session.begin():
            row = await RefusedChargeRepository(session).refund_due(refused_charge_id)
        if row is None or row.charge.refunded_at is not None:
            return None
        charge = row.charge
        return ChargeRefund(charge.id, charge.telegram_user_id, charge.telegram_payment_charge_id)

    async def confirm(self, refused_charge_id: int) -> bool:
        """Telegram refunded: record it and queue the notices; False if recorded before."""
        async with self._session_factory() as session, session.begin():
            charges = RefusedChargeRepository(session)
            row = await charges.refund_due(refused_charge_id, lock=True)
            if row is None or not await charges.mark_refunded(refused_charge_id):
                return False
            charge, outbox = row.charge, OutboxRepository(session)
            title = row.title or "—"
            await enqueue_user_notice(
                outbox,
                charge.telegram_user_id,
                UserNotice.CHARGE_REFUNDED,
                f"refunded:{charge.id}",
                reason=charge.reason.value,
                title=title,
                stars=charge.amount,
            )
            await enqueue_admin_alert(
                outbox,
                AdminAlert.CHARGE_REFUNDED,
                f"refunded:{charge.id}",
                reason=charge.reason.value,
                title=title,
                stars=charge.amount,
                user=charge.telegram_user_id,
                charge=charge.telegram_payment_charge_id,
            )
        shop_metrics.refunds.add(1, {"kind": RefundKind.AUTOMATIC})
        log.info("refused charge refunded", refused_charge_id=refused_charge_id)
        return True


class RecordRefundedPayment:
    """refunded_payment: Telegram says a charge was refunded (by us, by support, anywhere).

    A purchase it paid for is marked refunded, which revokes the download, and the admins
    are told unless it was so already (then the refund was ours). A refused charge is left
    to its own refund (``RefundRefusedCharge``), which records it and tells the shopper:
    Telegram answers that refund "already refunded" if this one came from elsewhere.
    Idempotent: a repeat finds everything recorded. A freed copy of a limited edition goes
    to its waitlist in the same commit.
    """

    def __init__(
        self, session_factory: SessionFactory, hand_out: HandOutCopies | None = None
    ) -> None:
        self._session_factory = session_factory
        self._hand_out = hand_out or HandOutCopies()

    async def __call__(self, charge_id: str, telegram_user_id: int) -> bool:
        """Whether this call recorded something new."""
        async with self._session_factory() as session, session.begin():
            purchases = PurchaseRepository(session)
            purchase = await purchases.by_charge_id(charge_id)
            if purchase is not None:
                if not await purchases.mark_refunded(purchase.id):
                    return False
                await self._hand_out(session, purchase.product_id, ReservationCause.REFUND)
                row = await purchases.for_refund(purchase.id)
                await enqueue_admin_alert(
                    OutboxRepository(session),
                    AdminAlert.EXTERNAL_REFUND,
                    f"external-refund:{purchase.id}",
                    purchase=purchase.id,
                    title=row.title if row is not None else "",
                    stars=purchase.price_stars,
                    user=telegram_user_id,
                )
                shop_metrics.refunds.add(1, {"kind": RefundKind.TELEGRAM})
                log.warning("purchase refunded outside the bot", purchase_id=purchase.id)
                return True
            refused = await RefusedChargeRepository(session).by_charge_id(charge_id)
        if refused is None:
            log.warning("refund of an unknown charge", charge_id=charge_id, user=telegram_user_id)
        return False
