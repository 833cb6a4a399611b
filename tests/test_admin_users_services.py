"""The admin's user use cases on a real Postgres (no bot process)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.test_checkout import Shop
from vitrina_common.db.models import Language, PurchaseStatus, User
from vitrina_common.repositories.users import UserMatch
from vitrina_common.services.admin_users import (
    MAX_COMMENT_LENGTH,
    AdminUsers,
    CommentOutcome,
    match_for,
)
from vitrina_common.services.checkout import RefundPurchase
from vitrina_common.services.profile import EmailOutcome

pytestmark = pytest.mark.postgres

SessionFactory = async_sessionmaker[AsyncSession]
ANN, BOB, CAROL, JOANNA = 5001, 5002, 5003, 5004


async def add_user(
    sessions: SessionFactory,
    telegram_id: int,
    *,
    username: str | None = None,
    email: str | None = None,
    first_name: str = "Someone",
    language: Language = Language.EN,
) -> None:
    async with sessions() as session, session.begin():
        session.add(
            User(
                telegram_id=telegram_id,
                username=username,
                email=email,
                first_name=first_name,
                language=language,
            )
        )


async def some_users(sessions: SessionFactory) -> AdminUsers:
    await add_user(sessions, ANN, username="ann", email="Ann.Lee@Example.com", first_name="Ann")
    await add_user(sessions, BOB, username="Bob_Builder", email="bob@mail.test", first_name="Bob")
    await add_user(sessions, CAROL, first_name="Carol")
    await add_user(sessions, JOANNA, username="joanna", email="jo@example.com")
    return AdminUsers(sessions)


async def found(admin_users: AdminUsers, query: str) -> list[int]:
    page = await admin_users.search(query, 0, 20)
    assert page.total == len(page.items)
    return [item.telegram_id for item in page.items]


async def test_search_by_telegram_id_finds_that_user(session_factory: SessionFactory) -> None:
    admin_users = await some_users(session_factory)

    assert await found(admin_users, f" {BOB} ") == [BOB]
    assert await found(admin_users, str(CAROL)) == [CAROL]


async def test_search_by_username_ignores_letter_case_and_the_at_sign(
    session_factory: SessionFactory,
) -> None:
    admin_users = await some_users(session_factory)

    assert await found(admin_users, "@bob_BUILDER") == [BOB]
    assert await found(admin_users, "BOB_builder") == [BOB]
    # A part matches too; the whole username comes first.
    assert await found(admin_users, "@ANN") == [ANN, JOANNA]


async def test_search_by_email_ignores_letter_case_and_matches_a_part(
    session_factory: SessionFactory,
) -> None:
    admin_users = await some_users(session_factory)

    assert await found(admin_users, "ann.lee@example.COM") == [ANN]
    assert await found(admin_users, "@EXAMPLE.com") == [JOANNA, ANN]
    assert await found(admin_users, "MAIL.TEST") == [BOB]


# "%" and "a_n" are LIKE wildcards unless escaped ("a_n" would find ann).
@pytest.mark.parametrize("query", ["nobody", "@nobody", "x@nowhere.test", "4242", "%", "a_n", " "])
async def test_search_that_matches_nobody_finds_an_empty_page(
    session_factory: SessionFactory, query: str
) -> None:
    admin_users = await some_users(session_factory)

    page = await admin_users.search(query, 0, 20)

    assert (page.items, page.total) == ([], 0)


async def test_search_pages_through_many_matches_newest_first(
    session_factory: SessionFactory,
) -> None:
    for n in range(5):
        await add_user(session_factory, 5100 + n, username=f"many_{n}")
    admin_users = AdminUsers(session_factory)

    first = await admin_users.search("many_", 0, 3)
    second = await admin_users.search("many_", 3, 3)

    assert first.total == second.total == 5
    assert [u.telegram_id for u in first.items + second.items] == [5104, 5103, 5102, 5101, 5100]


@pytest.mark.parametrize(
    ("query", "match"),
    [
        ("5001", UserMatch(telegram_id=5001)),
        ("@ann", UserMatch(username="ann", email="@ann")),
        ("ann@x.test", UserMatch(email="ann@x.test")),
        ("ann", UserMatch(username="ann", email="ann")),
        ("9" * 30, None),
        ("0", None),
        ("@", None),
        ("", None),
    ],
)
def test_what_the_admin_types_is_read_as_id_username_or_email(
    query: str, match: UserMatch | None
) -> None:
    assert match_for(query) == match


async def buy(shop: Shop, telegram_id: int, charge_id: str, price: int, title: str = "P") -> int:
    invoice = await shop.invoice(telegram_id, await shop.product(title=title, price=price))
    return await shop.bought(invoice, telegram_id, charge_id)


async def test_card_counts_paid_purchases_their_stars_and_refunds(
    session_factory: SessionFactory,
) -> None:
    admin_users = await some_users(session_factory)
    shop = Shop(session_factory)
    await buy(shop, ANN, "c-1", 10)
    refunded = await buy(shop, ANN, "c-2", 20)
    await buy(shop, ANN, "c-3", 30)
    await buy(shop, BOB, "c-4", 99)
    await RefundPurchase(session_factory).confirm(refunded)

    card = await admin_users.card(ANN)

    assert card is not None
    assert (card.purchases, card.stars_spent, card.refunded) == (2, 40, 1)
    assert (card.first_name, card.username, card.email) == ("Ann", "ann", "Ann.Lee@Example.com")
    assert (card.is_banned, card.is_blocked, card.comment) == (False, False, None)


async def test_card_of_a_user_without_purchases_shows_zeros(
    session_factory: SessionFactory,
) -> None:
    admin_users = await some_users(session_factory)

    card = await admin_users.card(CAROL)

    assert card is not None
    assert (card.purchases, card.stars_spent, card.refunded) == (0, 0, 0)
    assert await admin_users.card(5999) is None


async def test_purchases_list_every_status_newest_first_and_a_card_names_everything(
    session_factory: SessionFactory,
) -> None:
    admin_users = await some_users(session_factory)
    shop = Shop(session_factory)
    older = await buy(shop, ANN, "charge-old", 10, "Harbour")
    newer = await buy(shop, ANN, "charge-new", 20, "Dunes")
    await RefundPurchase(session_factory).confirm(older)

    page = await admin_users.purchases(ANN, 0, 10)
    card = await admin_users.purchase(older)

    assert page.total == 2
    assert [(i.purchase_id, i.title, i.status) for i in page.items] == [
        (newer, "Dunes", PurchaseStatus.PAID),
        (older, "Harbour", PurchaseStatus.REFUNDED),
    ]
    assert card is not None
    assert (card.title, card.price_stars, card.charge_id) == ("Harbour", 10, "charge-old")
    assert (card.buyer_telegram_id, card.buyer_username) == (ANN, "ann")
    assert card.status is PurchaseStatus.REFUNDED
    assert card.refunded_at is not None
    assert await admin_users.purchase(424242) is None


async def test_fixing_an_email_follows_the_profile_rules(session_factory: SessionFactory) -> None:
    admin_users = await some_users(session_factory)

    assert await admin_users.set_email(CAROL, "not-an-email") is EmailOutcome.INVALID
    assert await admin_users.set_email(CAROL, "BOB@MAIL.test") is EmailOutcome.TAKEN
    assert await admin_users.set_email(CAROL, " carol@mail.test ") is EmailOutcome.SAVED

    card = await admin_users.card(CAROL)
    assert card is not None
    assert card.email == "carol@mail.test"


async def test_comment_is_saved_then_cleared_and_a_too_long_one_refused(
    session_factory: SessionFactory,
) -> None:
    admin_users = await some_users(session_factory)

    assert await admin_users.set_comment(BOB, " paid twice, refunded once ") is CommentOutcome.SAVED
    saved = await admin_users.card(BOB)
    too_long = await admin_users.set_comment(BOB, "x" * (MAX_COMMENT_LENGTH + 1))
    kept = await admin_users.card(BOB)
    assert await admin_users.set_comment(BOB, None) is CommentOutcome.CLEARED
    cleared = await admin_users.card(BOB)

    assert saved is not None
    assert saved.comment == "paid twice, refunded once"
    assert too_long is CommentOutcome.TOO_LONG
    assert kept == saved
    assert cleared is not None
    assert cleared.comment is None


async def test_ban_then_unban_flips_the_flag(session_factory: SessionFactory) -> None:
    admin_users = await some_users(session_factory)

    await admin_users.set_banned(BOB, True)
    await admin_users.set_banned(BOB, True)
    banned = await admin_users.card(BOB)
    await admin_users.set_banned(BOB, False)
    unbanned = await admin_users.card(BOB)

    assert banned is not None
    assert banned.is_banned
    assert unbanned is not None
    assert not unbanned.is_banned
    others = [await admin_users.card(user) for user in (ANN, CAROL)]
    assert [card.is_banned for card in others if card] == [False, False]


async def test_only_the_first_confirm_of_a_refund_reports_marking_it(
    session_factory: SessionFactory,
) -> None:
    await some_users(session_factory)
    purchase_id = await buy(Shop(session_factory), ANN, "c-once", 10)
    refund = RefundPurchase(session_factory)

    first = await refund.confirm_once(purchase_id)
    second = await refund.confirm_once(purchase_id)

    assert (first.newly_refunded, second.newly_refunded) == (True, False)
    assert first.target == second.target
