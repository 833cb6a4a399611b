"""Who a broadcast goes to: filters AND-ed over the shop's users.

Users who blocked the bot or are banned never receive one. "Active" counts from the
user's last change of their record (``updated_at``: every /start, language or profile
change); a per-update "last seen" would cost a write per update and is not kept yet.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, and_, exists, func, select

from vitrina_common.db.models import (
    CategoryFollow,
    Language,
    Product,
    Purchase,
    PurchaseStatus,
    User,
)


class Audience(BaseModel):
    """Every filter set narrows the audience; none set: every shopper."""

    # Bought at least one product of this category.
    buyers_of_category: int | None = None
    language: Language | None = None
    active_days: int | None = Field(default=None, ge=1, le=3650)
    # Follows this category (see ``services.notifications``).
    followers_of_category: int | None = None


def audience_condition(audience: Audience) -> ColumnElement[bool]:
    """The WHERE clause over ``users`` that selects ``audience``."""
    conditions: list[ColumnElement[bool]] = [User.is_blocked.is_(False), User.is_banned.is_(False)]
    if audience.language is not None:
        conditions.append(User.language == audience.language)
    if audience.active_days is not None:
        conditions.append(User.updated_at >= func.now() - timedelta(days=audience.active_days))
    if audience.buyers_of_category is not None:
        conditions.append(
            exists(
                select(Purchase.id)
                .join(Product, Product.id == Purchase.product_id)
                .where(
                    Purchase.user_id == User.id,
                    Purchase.status == PurchaseStatus.PAID,
                    Product.category_id == audience.buyers_of_category,
                )
            )
        )
    if audience.followers_of_category is not None:
        conditions.append(
            exists().where(
                CategoryFollow.user_id == User.id,
                CategoryFollow.category_id == audience.followers_of_category,
            )
        )
    return and_(*conditions)
