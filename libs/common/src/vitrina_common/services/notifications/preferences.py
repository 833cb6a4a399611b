"""Use cases of a shopper's notification settings: time zone, quiet hours, digest hour, and
the categories they follow. Each commits once; a change that moves the digest reschedules
it in the same transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.clock import Clock
from vitrina_common.db.models import User
from vitrina_common.repositories.follows import FollowRepository
from vitrina_common.repositories.users import UserRepository
from vitrina_common.services.notifications.digests import schedule_next_digest
from vitrina_common.services.notifications.local_time import DEFAULT_ZONE, is_zone_name
from vitrina_common.services.notifications.zones import zone_at

SessionFactory = async_sessionmaker[AsyncSession]
HOURS = range(24)


@dataclass(frozen=True)
class NotificationSettings:
    """What the profile shows: the zone in force (``zone_chosen``: picked, not the
    language's default), quiet hours, digest hour, followed categories (id, title)."""

    time_zone: str
    zone_chosen: bool
    quiet_from_hour: int
    quiet_to_hour: int
    digest_hour: int
    followed: list[tuple[int, str]]


class NotificationPreferences:
    """The profile's notification settings of the user with a Telegram id."""

    def __init__(self, sessions: SessionFactory, clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    async def view(self, telegram_id: int) -> NotificationSettings | None:
        """The settings; None for an unknown user."""
        async with self._sessions() as session:
            user = await UserRepository(session).get_by_telegram_id(telegram_id)
            if user is None:
                return None
            return NotificationSettings(
                time_zone=user.time_zone or DEFAULT_ZONE[user.language],
                zone_chosen=user.time_zone is not None,
                quiet_from_hour=user.quiet_from_hour,
                quiet_to_hour=user.quiet_to_hour,
                digest_hour=user.digest_hour,
                followed=await FollowRepository(session).followed(user.id),
            )

    async def set_time_zone(self, telegram_id: int, name: str) -> bool:
        """Store an IANA zone; False (nothing changed) for a name that is not one."""
        if not is_zone_name(name):
            return False
        return await self._change(telegram_id, time_zone=name)

    async def set_time_zone_at(
        self, telegram_id: int, latitude: float, longitude: float
    ) -> str | None:
        """Store the zone of a shared location; the zone, None when none is found there."""
        name = await asyncio.to_thread(zone_at, latitude, longitude)
        if name is None or not await self._change(telegram_id, time_zone=name):
            return None
        return name

    async def set_quiet_hours(self, telegram_id: int, from_hour: int, to_hour: int) -> bool:
        """Quiet from ``from_hour``:00 to ``to_hour``:00 local (equal: none); False for an
        hour outside 0–23."""
        if from_hour not in HOURS or to_hour not in HOURS:
            return False
        return await self._change(telegram_id, quiet_from_hour=from_hour, quiet_to_hour=to_hour)

    async def set_digest_hour(self, telegram_id: int, hour: int) -> bool:
        """The local hour the digest comes at; False for an hour outside 0–23."""
        if hour not in HOURS:
            return False
        return await self._change(telegram_id, digest_hour=hour)

    async def _change(self, telegram_id: int, **values: object) -> bool:
        async def set_values(_session: AsyncSession, user: User) -> None:
            for name, value in values.items():
                setattr(user, name, value)

        return await _change_user(self._sessions, self._clock, telegram_id, set_values)


class CategoryFollows:
    """Follow and unfollow categories; the digest is scheduled while anything is followed."""

    def __init__(
        self, sessions: SessionFactory, clock: Clock, read_sessions: SessionFactory | None = None
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        # The category screen's one-statement read, on autocommit sessions (no BEGIN).
        self._read_sessions = read_sessions or sessions

    async def is_following(self, telegram_id: int, category_id: int) -> bool:
        """Whether the user follows the category."""
        async with self._read_sessions() as session:
            return await FollowRepository(session).shopper_follows(telegram_id, category_id)

    async def follow(self, telegram_id: int, category_id: int) -> bool:
        """Follow; False when the user or the category does not exist (any more)."""

        async def add(session: AsyncSession, user: User) -> None:
            await FollowRepository(session).add(user.id, category_id, self._clock.now())

        try:
            return await _change_user(self._sessions, self._clock, telegram_id, add)
        except IntegrityError:  # the category was deleted meanwhile
            return False

    async def unfollow(self, telegram_id: int, category_id: int) -> bool:
        """Unfollow (nothing followed any more: no more digests); False for an unknown user."""

        async def remove(session: AsyncSession, user: User) -> None:
            await FollowRepository(session).remove(user.id, category_id)

        return await _change_user(self._sessions, self._clock, telegram_id, remove)


async def _change_user(
    sessions: SessionFactory,
    clock: Clock,
    telegram_id: int,
    change: Callable[[AsyncSession, User], Awaitable[None]],
) -> bool:
    """One transaction: ``change`` the user, then move their digest to match; False for an
    unknown user."""
    async with sessions() as session, session.begin():
        user = await UserRepository(session).get_by_telegram_id(telegram_id)
        if user is None:
            return False
        await change(session, user)
        await schedule_next_digest(session, user, clock.now())
        return True
