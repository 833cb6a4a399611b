"""Helpers for storefront tests: a stocked shop, a running bot, and clicking through it."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.fakes.telegram_api import FakeTelegram
from vitrina_common.db.models import Category, Product, ProductStatus

SessionFactory = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class Stocked:
    category_id: int
    product_ids: list[int]


async def stock_shop(
    sessions: SessionFactory, category: str, titles: list[str], price: int = 50
) -> Stocked:
    """Ready products with previews already on Telegram (as after the pipeline ran)."""
    async with sessions() as session, session.begin():
        row = Category(title=category)
        session.add(row)
        await session.flush()
        products = []
        for title in titles:
            sha = hashlib.sha256(f"{category}/{title}".encode()).hexdigest()
            product = Product(
                category_id=row.id,
                title=title,
                description=f"About {title}",
                price_stars=price,
                status=ProductStatus.READY,
                original_key=sha,
                original_sha256=sha,
                original_size=1000,
                original_mime="image/jpeg",
                original_file_id=f"original-{sha[:8]}",
                preview_key=f"preview-{sha[:8]}",
                preview_file_id=f"preview-{sha[:8]}",
            )
            session.add(product)
            products.append(product)
        await session.flush()
        return Stocked(row.id, [product.id for product in products])


def text_of(message: dict[str, Any]) -> str:
    """What the user reads: the text, or the caption of a media message."""
    return str(message.get("text") or message.get("caption") or "")


async def screen(
    telegram: FakeTelegram, chat_id: int, contains: str, timeout_s: float = 15
) -> dict[str, Any]:
    """Wait until the chat's newest message with buttons reads ``contains``; return it."""
    async with asyncio.timeout(timeout_s):
        while True:
            try:
                message = telegram.last_message_to(chat_id)
            except LookupError:
                message = {}
            if contains in text_of(message):
                return message
            await asyncio.sleep(0.05)


async def click(
    telegram: FakeTelegram, chat_id: int, message: dict[str, Any], label: str, expect: str
) -> dict[str, Any]:
    """Press the button labelled ``label`` and wait for a screen reading ``expect``."""
    telegram.push_callback(chat_id, _as_sent(message), telegram.button(message, label))
    return await screen(telegram, chat_id, expect)


def _as_sent(message: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in message.items() if key != "_seq"}


def press(telegram: FakeTelegram, chat_id: int, message: dict[str, Any], data: str) -> int:
    """Press a button by raw callback data (forged callbacks use this)."""
    return telegram.push_callback(chat_id, _as_sent(message), data)
