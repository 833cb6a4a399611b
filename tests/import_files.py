"""Helpers for bulk-import tests: CSV and ZIP files as admins make them, sending them to the
bot through the fake Bot API, and waiting on the import in the database."""

from __future__ import annotations

import asyncio
import io
import zipfile
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.fakes.telegram_api import FakeTelegram
from tests.storefront import click, screen
from vitrina_common.db.models import ImportBatch, Product

SessionFactory = async_sessionmaker[AsyncSession]
RUSSIAN_HEADER = ("Название", "Описание", "Цена", "Категория", "Файл")
ZIP_MIME = "application/zip"
CSV_MIME = "text/csv"


def csv_file(
    rows: Sequence[Sequence[object]],
    *,
    header: Sequence[str] = RUSSIAN_HEADER,
    delimiter: str = ";",
    encoding: str = "cp1251",
) -> bytes:
    """A CSV as Excel saves it in a Russian locale by default: cp1251, ";", CRLF."""
    lines = [delimiter.join(header)]
    lines += [delimiter.join(str(cell) for cell in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def zip_file(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A ZIP holding ``entries`` (name → bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


async def open_import_screen(telegram: FakeTelegram, admin: int) -> dict[str, Any]:
    """/admin → Bulk import; returns the import screen."""
    telegram.push_message(admin, "/admin")
    menu = await screen(telegram, admin, "Shop admin")
    return await click(telegram, admin, menu, "Bulk import", "Send a <b>CSV</b>")


def send_file(telegram: FakeTelegram, admin: int, data: bytes, name: str, mime: str) -> None:
    """The admin sends ``data`` as a document named ``name``."""
    telegram.push_document(admin, data, None, file_name=name, mime_type=mime)


async def newest_batch(sessions: SessionFactory) -> ImportBatch | None:
    """The most recent import."""
    async with sessions() as session:
        query = select(ImportBatch).order_by(ImportBatch.id.desc()).limit(1)
        return (await session.execute(query)).scalar_one_or_none()


async def batch_count(sessions: SessionFactory) -> int:
    """How many imports were started."""
    async with sessions() as session:
        return int((await session.execute(select(func.count(ImportBatch.id)))).scalar_one())


async def summed_up_batch(
    sessions: SessionFactory, after_id: int, timeout_s: float = 90
) -> ImportBatch:
    """Wait for an import newer than ``after_id`` whose summary the admin was shown."""
    async with asyncio.timeout(timeout_s):
        while True:
            batch = await newest_batch(sessions)
            if batch is not None and batch.id > after_id and batch.summary_shown_at is not None:
                return batch
            await asyncio.sleep(0.1)


async def products_titled(sessions: SessionFactory, titles: Sequence[str]) -> list[Product]:
    """Products with these titles, in id order."""
    async with sessions() as session:
        query = select(Product).where(Product.title.in_(titles)).order_by(Product.id)
        return list((await session.execute(query)).scalars())


def progress_edits(telegram: FakeTelegram, chat_id: int) -> list[dict[str, Any]]:
    """Every edit of a progress or summary message in ``chat_id``."""
    return [
        call.params
        for call in telegram.calls_of("editMessageText")
        if int(call.params["chat_id"]) == chat_id
        and str(call.params["text"]).startswith(("📥 Import #", "✅ Import #", "❌ Import #"))
    ]


def progress_messages(telegram: FakeTelegram, chat_id: int) -> list[dict[str, Any]]:
    """Every message that started an import's progress in ``chat_id`` (sent, not edited)."""
    return [
        call.params
        for call in telegram.calls_of("sendMessage")
        if int(call.params["chat_id"]) == chat_id
        and str(call.params["text"]).startswith("📥 Import: reading")
    ]
