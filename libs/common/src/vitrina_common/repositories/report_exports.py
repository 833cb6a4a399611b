"""What the CSV exports read: one SELECT per table, in id order, streamed by
``ReportRepository.stream``. Sales columns count paid purchases only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from vitrina_common.db.models import Category, Product, Purchase, User
from vitrina_common.repositories.reports import PAID, AnySelect


def _paid_counts() -> Any:
    """Paid copies and stars per product (a subquery for the products export)."""
    return (
        select(
            Purchase.product_id,
            func.count().label("sold"),
            func.sum(Purchase.price_stars).label("revenue"),
        )
        .where(PAID)
        .group_by(Purchase.product_id)
        .subquery()
    )


def products_export() -> AnySelect:
    """Every product with its category and sales, in id order."""
    sales = _paid_counts()
    return (
        select(
            Product.id,
            Product.title,
            Category.title,
            Product.price_stars,
            Product.status,
            Product.edition_size,
            func.coalesce(sales.c.sold, 0),
            func.coalesce(sales.c.revenue, 0),
            Product.created_at,
        )
        .join(Category, Category.id == Product.category_id)
        .outerjoin(sales, sales.c.product_id == Product.id)
        .order_by(Product.id)
    )


def purchases_export() -> AnySelect:
    """Every purchase (paid and refunded) with its product and buyer, in id order."""
    return (
        select(
            Purchase.id,
            Purchase.created_at,
            Purchase.status,
            Purchase.price_stars,
            Purchase.product_id,
            Product.title,
            User.telegram_id,
            User.username,
            Purchase.refunded_at,
        )
        .join(Product, Product.id == Purchase.product_id)
        .join(User, User.id == Purchase.user_id)
        .order_by(Purchase.id)
    )


def users_export() -> AnySelect:
    """Every user with their paid purchases and stars spent, in id order."""
    spent = (
        select(
            Purchase.user_id,
            func.count().label("purchases"),
            func.sum(Purchase.price_stars).label("stars"),
        )
        .where(PAID)
        .group_by(Purchase.user_id)
        .subquery()
    )
    return (
        select(
            User.id,
            User.telegram_id,
            User.username,
            User.first_name,
            User.email,
            User.language,
            User.is_blocked,
            User.is_banned,
            func.coalesce(spent.c.purchases, 0),
            func.coalesce(spent.c.stars, 0),
            User.created_at,
            User.admin_comment,
        )
        .outerjoin(spent, spent.c.user_id == User.id)
        .order_by(User.id)
    )
