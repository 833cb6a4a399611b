"""Admins add products by sending an image (as a file, or as a photo) with a caption."""

from __future__ import annotations

import html

from aiogram import F, Router
from aiogram.types import Message

from vitrina_bot.dialogs.admin.tickets_states import AdminTicketsSG
from vitrina_bot.filters import DialogAt, IsAdmin
from vitrina_bot.i18n import Translator
from vitrina_bot.uploads.caption import CaptionError, parse_caption
from vitrina_bot.uploads.intake import IncomingFile, UploadIntake, UploadRefusedError

router = Router(name="admin_upload")
# A photo or document sent at a ticket's answer prompt is the answer, not a product.
router.message.filter(IsAdmin(), ~DialogAt(AdminTicketsSG.answer))


def _refusal(t: Translator, error: CaptionError | UploadRefusedError) -> str:
    reason = t(f"upload.reason.{error.code}", **error.arguments)
    return t("upload.not_added", reason=reason)


async def _take(
    message: Message, intake: UploadIntake, incoming: IncomingFile, t: Translator
) -> None:
    try:
        product = parse_caption(message.caption)
        intake.check_size(incoming.size)
    except (CaptionError, UploadRefusedError) as error:
        await message.answer(f"{_refusal(t, error)}\n\n{t('upload.usage')}")
        return
    await message.answer(t("upload.downloading"))
    try:
        product_id = await intake.accept(incoming, product, message.chat.id)
    except UploadRefusedError as error:
        await message.answer(_refusal(t, error))
        return
    text = t(
        "upload.added",
        id=product_id,
        title=html.escape(product.title),
        price=product.price_stars,
        category=html.escape(product.category),
    )
    if not incoming.is_original:
        text += "\n" + t("upload.photo_note")
    await message.answer(text)


@router.message(F.document)
async def on_document(message: Message, upload_intake: UploadIntake, t: Translator) -> None:
    """An image sent as a file: the untouched original."""
    document = message.document
    assert document is not None  # noqa: S101  (the F.document filter guarantees it)
    incoming = IncomingFile(
        file_id=document.file_id,
        size=document.file_size,
        mime=document.mime_type or "application/octet-stream",
        is_original=True,
    )
    await _take(message, upload_intake, incoming, t)


@router.message(F.photo)
async def on_photo(message: Message, upload_intake: UploadIntake, t: Translator) -> None:
    """An image sent as a photo: accepted, but Telegram recompressed it."""
    largest = max(message.photo or [], key=lambda size: size.width * size.height)
    incoming = IncomingFile(
        file_id=largest.file_id, size=largest.file_size, mime="image/jpeg", is_original=False
    )
    await _take(message, upload_intake, incoming, t)
