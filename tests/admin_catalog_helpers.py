"""Helpers for the admin's product and category tests: a stocked catalog with sales, and
walking the admin's screens of the real bot through the fake Bot API."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.fakes.telegram_api import FakeTelegram
from tests.storefront import Shop, click, text_of
from vitrina_common.db.models import (
    Category,
    Order,
    OrderStatus,
    Product,
    ProductStatus,
    Purchase,
    User,
)

SessionFactory = async_sessionmaker[AsyncSession]
# (category, title, status, sold to the buyer?)
Row = tuple[str, str, ProductStatus, bool]


async def stock_catalog(sessions: SessionFactory, rows: Sequence[Row], buyer: int) -> list[int]:
    """Products in the order given (ids ascending) without previews on Telegram, so every
    admin screen is a text message; "sold" ones paid for by ``buyer``. Returns the ids."""
    async with sessions() as session, session.begin():
        user = User(telegram_id=buyer, first_name="Buyer")
        session.add(user)
        categories: dict[str, Category] = {}
        ids = []
        for number, (category, title, status, sold) in enumerate(rows):
            if category not in categories:
                categories[category] = Category(title=category, position=len(categories))
                session.add(categories[category])
                await session.flush()
            product = _product(categories[category].id, title, status)
            session.add(product)
            await session.flush()
            ids.append(product.id)
            if sold:
                await _sell(session, user.id, product, f"charge-{number}")
        return ids


def _product(category_id: int, title: str, status: ProductStatus) -> Product:
    sha = hashlib.sha256(title.encode()).hexdigest()
    return Product(
        category_id=category_id,
        title=title,
        description=f"About {title}",
        price_stars=50,
        status=status,
        original_key=sha,
        original_sha256=sha,
        original_size=1000,
        original_mime="image/jpeg",
        original_file_id=f"original-{sha[:8]}",
        preview_key=f"preview-{sha[:8]}",
    )


async def _sell(session: AsyncSession, user_id: int, product: Product, charge_id: str) -> None:
    order = Order(
        user_id=user_id,
        product_id=product.id,
        price_stars=product.price_stars,
        status=OrderStatus.PAID,
        invoice_payload=f"payload-{charge_id}",
        expires_at=func.now(),
        paid_at=func.now(),
    )
    session.add(order)
    await session.flush()
    session.add(
        Purchase(
            order_id=order.id,
            user_id=user_id,
            product_id=product.id,
            price_stars=product.price_stars,
            telegram_payment_charge_id=charge_id,
        )
    )


async def product(shop: Shop, product_id: int) -> Product | None:
    """The product as stored now."""
    async with shop.sessions() as session:
        return await session.get(Product, product_id)


async def product_id(shop: Shop, title: str) -> int:
    """The id of the product titled ``title``."""
    async with shop.sessions() as session:
        found = await session.scalar(select(Product.id).where(Product.title == title))
    assert found is not None, title
    return int(found)


def last_seq(telegram: FakeTelegram, chat_id: int) -> int:
    """The sequence number of the chat's newest screen (0 before any)."""
    try:
        return int(telegram.last_message_to(chat_id)["_seq"])
    except LookupError:
        return 0


async def next_screen(
    telegram: FakeTelegram, chat_id: int, contains: str, after: int, timeout_s: float = 15
) -> dict[str, Any]:
    """Wait for a screen newer than ``after`` that reads ``contains``."""
    async with asyncio.timeout(timeout_s):
        while True:
            try:
                message = telegram.last_message_to(chat_id)
            except LookupError:
                message = {}
            if message.get("_seq", 0) > after and contains in text_of(message):
                return message
            await asyncio.sleep(0.05)


async def send(
    telegram: FakeTelegram, chat_id: int, text: str, expect: str, timeout_s: float = 15
) -> dict[str, Any]:
    """Send a text message and wait for the screen that follows it."""
    before = last_seq(telegram, chat_id)
    telegram.push_message(chat_id, text)
    return await next_screen(telegram, chat_id, expect, before, timeout_s)


async def admin_area(telegram: FakeTelegram, admin: int, area: str, expect: str) -> dict[str, Any]:
    """/admin, then the button of one area."""
    menu = await send(telegram, admin, "/admin", "Shop admin")
    return await click(telegram, admin, menu, area, expect)


async def admin_card(telegram: FakeTelegram, admin: int, product_id: int) -> dict[str, Any]:
    """The admin's card of a product, found by searching its number."""
    listing = await admin_area(telegram, admin, "Products", "🖼 Products</b>")
    await click(telegram, admin, listing, "Search", "product number")
    found = await send(telegram, admin, f"#{product_id}", "Search: «#")
    return await click(telegram, admin, found, f"#{product_id} ", "Sold:")


def said_to(telegram: FakeTelegram, chat_id: int) -> list[str]:
    """Texts of the plain messages the bot sent to the chat."""
    return [
        str(call.params.get("text"))
        for call in telegram.calls_of("sendMessage")
        if int(call.params["chat_id"]) == chat_id
    ]


async def wait_said(
    telegram: FakeTelegram, chat_id: int, phrase: str, timeout_s: float = 15
) -> None:
    """Wait until a message to the chat contains ``phrase``."""
    async with asyncio.timeout(timeout_s):
        while not any(phrase in text for text in said_to(telegram, chat_id)):  # noqa: ASYNC110
            await asyncio.sleep(0.05)


def alerts(telegram: FakeTelegram) -> list[str]:
    """Texts of every callback answer (toasts and alerts), oldest first."""
    return [str(call.params.get("text") or "") for call in telegram.calls_of("answerCallbackQuery")]


async def wait_alert(telegram: FakeTelegram, phrase: str, since: int, timeout_s: float = 15) -> str:
    """Wait for a callback answer after the first ``since`` ones that contains ``phrase``."""
    async with asyncio.timeout(timeout_s):
        while True:
            for text in alerts(telegram)[since:]:
                if phrase in text:
                    return text
            await asyncio.sleep(0.05)


async def shopper_category(telegram: FakeTelegram, user: int, category: str) -> dict[str, Any]:
    """A shopper's way to one category's product list (returns the categories screen if the
    category is not listed: ``category`` then does not appear in its buttons)."""
    menu = await send(telegram, user, "/start", "Welcome to")
    categories = await click(telegram, user, menu, "Catalog", "Choose a category")
    if not any(category in label for label in buttons(categories)):
        return categories
    return await click(telegram, user, categories, category, "page 1 of")


def buttons(message: dict[str, Any]) -> list[str]:
    """Labels of a message's inline buttons."""
    return [button["text"] for row in message["reply_markup"]["inline_keyboard"] for button in row]
