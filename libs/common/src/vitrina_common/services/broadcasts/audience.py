"""Who a broadcast goes to: filters AND-ed over the shop's users.

Users who blocked the bot or are banned never receive one. "Active" counts from the
user's last change of their record (``updated_at``: every /start, language or profile
change); a per-update "last seen" would cost a write per update and is not kept yet.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, and_, exists, func, select

from vitrina_common.db.models import Language, Product, Purchase, PurchaseStatus, User


class Audience(BaseModel):
    """Every filter set narrows the audience; none set: every shopper."""

    # Bought at least one product of this category.
    buyers_of_category: int | None = None
    language: Language | None = None
    active_days: int | None = Field(default=None, ge=1, le=3650)
    # Hook for the category followers of a later issue: the filter is declared so composed
    # broadcasts keep their shape, and refused until followers exist.
    followers_of_category: int | None = None


class AudienceNotSupportedError(ValueError):
    """A filter whose data the shop does not keep yet."""


def audience_condition(audience: Audience) -> ColumnElement[bool]:
    """The WHERE clause over ``users`` that selects ``audience``."""
    if audience.followers_of_category is not None:
        raise AudienceNotSupportedError("category followers arrive with a later issue")
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
    return and_(*conditions)
