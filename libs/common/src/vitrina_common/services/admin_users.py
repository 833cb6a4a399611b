"""The shop admin's use cases about users: find one, read their card and purchases, fix
their email, note a comment, ban or unban.

A ban only sets ``users.is_banned``; the bot's per-update context is what ignores a
banned user, so a ban takes effect there within that context's cache time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.db.models import Language, PurchaseStatus
from vitrina_common.ids import parse_id
from vitrina_common.repositories.purchase_history import PurchaseHistoryRepository
from vitrina_common.repositories.users import UserMatch, UserRepository
from vitrina_common.services.profile import EmailOutcome, Profiles

SessionFactory = async_sessionmaker[AsyncSession]

MAX_QUERY_LENGTH = 64
MAX_COMMENT_LENGTH = 1000


class CommentOutcome(StrEnum):
    SAVED = "saved"
    CLEARED = "cleared"
    TOO_LONG = "too_long"


@dataclass(frozen=True)
class UserItem:
    """A user in search results."""

    telegram_id: int
    username: str | None
    first_name: str | None
    email: str | None
    is_banned: bool


@dataclass(frozen=True)
class UserPage:
    """One page of search results and how many users matched in all."""

    items: list[UserItem]
    total: int


@dataclass(frozen=True)
class UserCard:
    """Everything the admin's user card shows."""

    telegram_id: int
    first_name: str | None
    username: str | None
    email: str | None
    language: Language
    joined_at: datetime
    # Paid (not refunded) purchases and the Stars paid for them.
    purchases: int
    stars_spent: int
    refunded: int
    is_banned: bool
    # The user blocked the bot: Telegram refuses our messages to them.
    is_blocked: bool
    comment: str | None


@dataclass(frozen=True)
class HistoryItem:
    """One purchase in the admin's list of a user's purchases."""

    purchase_id: int
    title: str
    price_stars: int
    status: PurchaseStatus
    purchased_at: datetime


@dataclass(frozen=True)
class HistoryPage:
    """One page of a user's purchases (any status) and how many there are."""

    items: list[HistoryItem]
    total: int


@dataclass(frozen=True)
class PurchaseCard:
    """What the admin's purchase card shows (and a refund needs to be offered)."""

    purchase_id: int
    product_id: int
    title: str
    price_stars: int
    status: PurchaseStatus
    purchased_at: datetime
    refunded_at: datetime | None
    charge_id: str
    buyer_telegram_id: int
    buyer_first_name: str | None
    buyer_username: str | None


def match_for(query: str) -> UserMatch | None:
    """How to read what the admin typed; None when it can match nobody.

    Digits are a Telegram id (usernames never are all digits). ``@name`` is a username,
    or the domain part of an email (``@example.com``). Other text with an ``@`` is an
    email; anything else a part of a username or email. Letter case never matters.
    """
    text = query.strip()[:MAX_QUERY_LENGTH]
    if text.isascii() and text.isdigit():
        # Beyond a positive 64-bit integer (Telegram's ids), digits match nobody.
        telegram_id = parse_id(text)
        return UserMatch(telegram_id=telegram_id) if telegram_id is not None else None
    if text.startswith("@"):
        name = text[1:]
        return UserMatch(username=name, email=text) if name else None
    if "@" in text:
        return UserMatch(email=text)
    return UserMatch(username=text, email=text) if text else None


class AdminUsers:
    """Reads and changes users for the shop admin; each change is one transaction."""

    def __init__(self, session_factory: SessionFactory) -> None:
        self._session_factory = session_factory
        # The shopper's own email rules (format, length, unique in any letter case) apply.
        self._profiles = Profiles(session_factory)

    async def search(self, query: str, offset: int, limit: int) -> UserPage:
        """One page of the users ``query`` finds (see ``match_for``), exact hits first."""
        match = match_for(query)
        if match is None:
            return UserPage([], 0)
        async with self._session_factory() as session:
            lines, total = await UserRepository(session).search(match, offset, limit)
        return UserPage([UserItem(*line) for line in lines], total)

    async def card(self, telegram_id: int) -> UserCard | None:
        """The user's card, None for an id that never started the bot."""
        async with self._session_factory() as session:
            user = await UserRepository(session).get_by_telegram_id(telegram_id)
            if user is None:
                return None
            totals = await PurchaseHistoryRepository(session).totals_for_user(telegram_id)
        return UserCard(
            telegram_id=user.telegram_id,
            first_name=user.first_name,
            username=user.username,
            email=user.email,
            language=user.language,
            joined_at=user.created_at,
            purchases=totals.paid,
            stars_spent=totals.stars_spent,
            refunded=totals.refunded,
            is_banned=user.is_banned,
            is_blocked=user.is_blocked,
            comment=user.admin_comment,
        )

    async def purchases(self, telegram_id: int, offset: int, limit: int) -> HistoryPage:
        """One page of the user's purchases, refunded ones included, newest first."""
        async with self._session_factory() as session:
            lines, total = await PurchaseHistoryRepository(session).page_for_user(
                telegram_id, offset, limit
            )
        return HistoryPage([HistoryItem(*line) for line in lines], total)

    async def purchase(self, purchase_id: int) -> PurchaseCard | None:
        """One purchase of any buyer and status."""
        async with self._session_factory() as session:
            details = await PurchaseHistoryRepository(session).details(purchase_id)
        return None if details is None else PurchaseCard(*details)

    async def set_email(self, telegram_id: int, email: str) -> EmailOutcome:
        """Fix the user's email under the same rules as the user's own profile."""
        return await self._profiles.set_email(telegram_id, email)

    async def set_comment(self, telegram_id: int, comment: str | None) -> CommentOutcome:
        """Save the admin's note about the user; None or blank text clears it."""
        text = (comment or "").strip()
        if len(text) > MAX_COMMENT_LENGTH:
            return CommentOutcome.TOO_LONG
        async with self._session_factory() as session, session.begin():
            await UserRepository(session).set_fields(telegram_id, admin_comment=text or None)
        return CommentOutcome.SAVED if text else CommentOutcome.CLEARED

    async def set_banned(self, telegram_id: int, banned: bool) -> None:
        """Ban (the bot then ignores the user) or unban; repeating either changes nothing."""
        async with self._session_factory() as session, session.begin():
            await UserRepository(session).set_fields(telegram_id, is_banned=banned)
