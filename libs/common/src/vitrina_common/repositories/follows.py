"""Followed categories, and the products new in them: in the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, exists, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.db.models import Category, CategoryFollow, Product, ProductStatus, User


@dataclass(frozen=True)
class NewProduct:
    """A product new to a follower: its title and its category's."""

    title: str
    category: str


class FollowRepository:
    """Reads and writes ``category_follows``; never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, user_id: int, category_id: int, now: datetime) -> bool:
        """Follow; False when already followed (the first follow's time stays)."""
        result = await self._session.execute(
            insert(CategoryFollow)
            .values(user_id=user_id, category_id=category_id, created_at=now)
            .on_conflict_do_nothing()
            .returning(CategoryFollow.category_id)
        )
        return result.scalar_one_or_none() is not None

    async def remove(self, user_id: int, category_id: int) -> None:
        """Unfollow; nothing happens when not followed."""
        await self._session.execute(
            delete(CategoryFollow).where(
                CategoryFollow.user_id == user_id, CategoryFollow.category_id == category_id
            )
        )

    async def shopper_follows(self, telegram_id: int, category_id: int) -> bool:
        """Whether the shopper with this Telegram id follows the category: one query."""
        return bool(
            await self._session.scalar(
                select(
                    exists().where(
                        CategoryFollow.category_id == category_id,
                        CategoryFollow.user_id == User.id,
                        User.telegram_id == telegram_id,
                    )
                )
            )
        )

    async def follows_any(self, user_id: int) -> bool:
        """Whether the user follows some category."""
        return bool(
            await self._session.scalar(select(exists().where(CategoryFollow.user_id == user_id)))
        )

    async def followed(self, user_id: int) -> list[tuple[int, str]]:
        """(id, title) of the categories the user follows, in catalog order."""
        rows = await self._session.execute(
            select(Category.id, Category.title)
            .join(CategoryFollow, CategoryFollow.category_id == Category.id)
            .where(CategoryFollow.user_id == user_id)
            .order_by(Category.position, Category.id)
        )
        return [(int(category_id), str(title)) for category_id, title in rows.all()]

    async def new_products(
        self, user_id: int, *, since: datetime | None, until: datetime, limit: int
    ) -> tuple[list[NewProduct], int]:
        """The newest ``limit`` products ready in the user's followed categories, added after
        ``since`` (and after the follow) up to ``until``; and how many there are in all."""
        conditions = [
            CategoryFollow.user_id == user_id,
            Product.status == ProductStatus.READY,
            Product.created_at > CategoryFollow.created_at,
            Product.created_at <= until,
        ]
        if since is not None:
            conditions.append(Product.created_at > since)
        rows = (
            await self._session.execute(
                select(Product.title, Category.title, func.count().over())
                .join(CategoryFollow, CategoryFollow.category_id == Product.category_id)
                .join(Category, Category.id == Product.category_id)
                .where(*conditions)
                .order_by(Product.created_at.desc(), Product.id.desc())
                .limit(limit)
            )
        ).all()
        total = int(rows[0][2]) if rows else 0
        return [NewProduct(str(title), str(category)) for title, category, _ in rows], total
