"""The one refund /refund and the admin's purchase card share (``vitrina_bot.refunds``):
Telegram first, then the record, then the buyer told — once, however often it is asked."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.methods import RefundStarPayment, SendMessage
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.test_admin_users_services import ANN, add_user, buy
from tests.test_checkout import Shop
from vitrina_bot.i18n import translator_for
from vitrina_bot.refunds import RefundOutcome, RefundResult, StarRefunds, describe_refund
from vitrina_common.db.models import Language, PurchaseStatus
from vitrina_common.services.admin_users import AdminUsers
from vitrina_common.services.checkout import RefundPurchase
from vitrina_common.services.profile import Profiles

pytestmark = pytest.mark.postgres

SessionFactory = async_sessionmaker[AsyncSession]


class FakeBot:
    """Telegram for ``StarRefunds``: refunds a charge once, like the real API."""

    def __init__(self, refused: str | None = None, refunded: set[str] | None = None) -> None:
        self.refused = refused
        # Shared between two FakeBots, it plays one Telegram behind two bot replicas.
        self.refunded = refunded if refunded is not None else set()
        self.refund_calls: list[tuple[int, str]] = []
        self.sent: list[tuple[int, str]] = []
        self.blocked = False

    async def refund_star_payment(self, user_id: int, telegram_payment_charge_id: str) -> bool:
        self.refund_calls.append((user_id, telegram_payment_charge_id))
        await asyncio.sleep(0.05)  # a real round trip: a second refund may start meanwhile
        method = RefundStarPayment(
            user_id=user_id, telegram_payment_charge_id=telegram_payment_charge_id
        )
        if self.refused:
            raise TelegramBadRequest(method, f"Bad Request: {self.refused}")
        if telegram_payment_charge_id in self.refunded:
            raise TelegramBadRequest(method, "Bad Request: CHARGE_ALREADY_REFUNDED")
        self.refunded.add(telegram_payment_charge_id)
        return True

    async def send_message(self, chat_id: int, text: str, **_: Any) -> None:
        if self.blocked:
            method = SendMessage(chat_id=chat_id, text=text)
            raise TelegramForbiddenError(method, "Forbidden: bot was blocked by the user")
        self.sent.append((chat_id, text))


def refunds_on(sessions: SessionFactory, bot: FakeBot) -> StarRefunds:
    return StarRefunds(cast(Bot, bot), RefundPurchase(sessions), Profiles(sessions))


async def a_purchase(sessions: SessionFactory, charge_id: str = "c-r") -> int:
    await add_user(sessions, ANN, first_name="Ann", language=Language.RU)
    return await buy(Shop(sessions), ANN, charge_id, 15, "Harbour")


async def test_refund_asks_telegram_records_and_tells_the_buyer_in_their_language(
    session_factory: SessionFactory,
) -> None:
    purchase_id = await a_purchase(session_factory)
    bot = FakeBot()

    result = await refunds_on(session_factory, bot).refund(purchase_id)
    again = await refunds_on(session_factory, bot).refund(purchase_id)

    assert result == RefundResult(RefundOutcome.REFUNDED, purchase_id, 15)
    assert again.outcome is RefundOutcome.ALREADY_REFUNDED
    assert bot.refund_calls == [(ANN, "c-r")]
    russian = translator_for(Language.RU)
    assert bot.sent == [(ANN, russian("refund.buyer_notice", title="Harbour", stars=15))]
    history = await AdminUsers(session_factory).purchase(purchase_id)
    assert history is not None
    assert history.status is PurchaseStatus.REFUNDED


async def test_concurrent_refunds_of_one_purchase_ask_telegram_once(
    session_factory: SessionFactory,
) -> None:
    purchase_id = await a_purchase(session_factory)
    bot = FakeBot()
    refunds = refunds_on(session_factory, bot)

    results = await asyncio.gather(refunds.refund(purchase_id), refunds.refund(purchase_id))

    assert {r.outcome for r in results} == {RefundOutcome.IN_PROGRESS, RefundOutcome.REFUNDED}
    assert len(bot.refund_calls) == 1
    assert len(bot.sent) == 1


async def test_two_replicas_refunding_at_once_tell_the_buyer_once(
    session_factory: SessionFactory,
) -> None:
    purchase_id = await a_purchase(session_factory)
    telegram: set[str] = set()
    first, second = FakeBot(refunded=telegram), FakeBot(refunded=telegram)

    results = await asyncio.gather(
        refunds_on(session_factory, first).refund(purchase_id),
        refunds_on(session_factory, second).refund(purchase_id),
    )

    # Telegram refunded once and said CHARGE_ALREADY_REFUNDED to the other replica.
    assert telegram == {"c-r"}
    assert {r.outcome for r in results} == {
        RefundOutcome.REFUNDED,
        RefundOutcome.ALREADY_REFUNDED,
    }
    assert len(first.sent + second.sent) == 1


async def test_charge_telegram_refunded_before_a_crash_is_recorded_on_retry(
    session_factory: SessionFactory,
) -> None:
    purchase_id = await a_purchase(session_factory)
    bot = FakeBot(refunded={"c-r"})

    result = await refunds_on(session_factory, bot).refund(purchase_id)

    assert result.outcome is RefundOutcome.REFUNDED
    assert len(bot.sent) == 1


async def test_refund_telegram_refuses_is_not_recorded(session_factory: SessionFactory) -> None:
    purchase_id = await a_purchase(session_factory)
    bot = FakeBot(refused="CHARGE_NOT_FOUND")

    result = await refunds_on(session_factory, bot).refund(purchase_id)

    assert result.outcome is RefundOutcome.FAILED
    assert "CHARGE_NOT_FOUND" in result.error
    assert bot.sent == []
    history = await AdminUsers(session_factory).purchase(purchase_id)
    assert history is not None
    assert history.status is PurchaseStatus.PAID


async def test_buyer_who_blocked_the_bot_still_gets_the_refund(
    session_factory: SessionFactory,
) -> None:
    purchase_id = await a_purchase(session_factory)
    bot = FakeBot()
    bot.blocked = True

    result = await refunds_on(session_factory, bot).refund(purchase_id)

    assert result.outcome is RefundOutcome.REFUNDED
    card = await AdminUsers(session_factory).card(ANN)
    assert card is not None
    assert card.is_blocked


@pytest.mark.parametrize("outcome", list(RefundOutcome))
@pytest.mark.parametrize("language", list(Language))
def test_every_refund_outcome_reads_in_both_languages(
    outcome: RefundOutcome, language: Language
) -> None:
    result = RefundResult(outcome, 7, price_stars=15, error="<CHARGE_NOT_FOUND>")

    text = describe_refund(result, translator_for(language))

    assert ("7" in text) or ("&lt;CHARGE_NOT_FOUND&gt;" in text)
