"""The daily digest of followed categories: one due item per follower (kind ``digest``, key
the user's id), due at their chosen local hour. Its handler lists what was added to the
followed categories since the last digest, queues it as a non-urgent notification (nothing
new: nothing sent), and schedules itself for the next local day.

At most one digest a local day: a digest is due only on a local date after the one of the
last digest sent (``local_time.next_digest_at``), and its dedup key is that date.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.clock import Clock
from vitrina_common.db.models import User
from vitrina_common.repositories.follows import FollowRepository, NewProduct
from vitrina_common.scheduling.due import DueHandler, DueItem, cancel_due, schedule_due
from vitrina_common.services.notifications.local_time import next_digest_at, zone_named
from vitrina_common.services.notifications.notify import notify

DIGEST_KIND = "digest"
DIGEST_TEMPLATE = "notifications.digest.new_products"
# The newest this many are listed; the header says how many there are in all.
DIGEST_ITEMS = 10


async def schedule_next_digest(session: AsyncSession, user: User, now: datetime) -> None:
    """(Re)schedule ``user``'s digest at their next digest hour, or drop it when they follow
    nothing. Never commits."""
    if not await FollowRepository(session).follows_any(user.id):
        await cancel_due(session, kind=DIGEST_KIND, key=str(user.id))
        return
    zone = zone_named(user.time_zone, user.language)
    due_at = next_digest_at(now, zone, user.digest_hour, user.last_digest_at)
    await schedule_due(session, kind=DIGEST_KIND, key=str(user.id), due_at=due_at)


def digest_lines(products: list[NewProduct]) -> str:
    """One line a product: the ``items`` parameter of the digest (escaped by ``notify``)."""
    return "\n".join(f"• {product.title} — {product.category}" for product in products)


async def send_digest(session: AsyncSession, user_id: int, now: datetime) -> bool:
    """Queue ``user_id``'s digest if something new was added, and schedule the next one;
    whether a digest was queued. Never commits."""
    user = await session.get(User, user_id, populate_existing=True)
    if user is None:
        return False
    products, total = await FollowRepository(session).new_products(
        user.id, since=user.last_digest_at, until=now, limit=DIGEST_ITEMS
    )
    queued = False
    if total:
        local_date = now.astimezone(zone_named(user.time_zone, user.language)).date()
        queued = await notify(
            session,
            user_id=user.id,
            template=DIGEST_TEMPLATE,
            params={"count": total, "items": digest_lines(products)},
            dedup_key=f"digest:{user.id}:{local_date.isoformat()}",
            urgent=False,
            now=now,
        )
    if queued:
        user.last_digest_at = now
        await session.flush()
    await schedule_next_digest(session, user, now)
    return queued


def digest_handler(clock: Clock) -> DueHandler:
    """The due handler of kind ``digest`` (key: the user's id)."""

    async def handle(session: AsyncSession, item: DueItem) -> None:
        await send_digest(session, int(item.key), clock.now())

    return handle
