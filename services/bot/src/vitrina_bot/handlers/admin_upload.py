"""Admins add products by sending an image (as a file, or as a photo) with a caption."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import Message

from vitrina_bot.filters import IsAdmin
from vitrina_bot.uploads.caption import USAGE, CaptionError, parse_caption
from vitrina_bot.uploads.intake import IncomingFile, UploadIntake, UploadRefusedError

router = Router(name="admin_upload")
router.message.filter(IsAdmin())

PHOTO_NOTE = (
    "\nNote: Telegram recompressed this photo. To sell the original, send it as a file (📎 → File)."
)


async def _take(message: Message, intake: UploadIntake, incoming: IncomingFile) -> None:
    try:
        product = parse_caption(message.caption)
        intake.check_size(incoming.size)
    except (CaptionError, UploadRefusedError) as error:
        await message.answer(f"Not added: {error}.\n\n{USAGE}")
        return
    await message.answer("Downloading…")
    try:
        product_id = await intake.accept(incoming, product, message.chat.id)
    except UploadRefusedError as error:
        await message.answer(f"Not added: {error}.")
        return
    note = "" if incoming.is_original else PHOTO_NOTE
    await message.answer(
        f"Added #{product_id} «{product.title}», {product.price_stars} ⭐ in "
        f"{product.category}. Rendering the preview…{note}"
    )


@router.message(F.document)
async def on_document(message: Message, upload_intake: UploadIntake) -> None:
    """An image sent as a file: the untouched original."""
    document = message.document
    assert document is not None  # noqa: S101  (the F.document filter guarantees it)
    incoming = IncomingFile(
        file_id=document.file_id,
        size=document.file_size,
        mime=document.mime_type or "application/octet-stream",
        is_original=True,
    )
    await _take(message, upload_intake, incoming)


@router.message(F.photo)
async def on_photo(message: Message, upload_intake: UploadIntake) -> None:
    """An image sent as a photo: accepted, but Telegram recompressed it."""
    largest = max(message.photo or [], key=lambda size: size.width * size.height)
    incoming = IncomingFile(
        file_id=largest.file_id, size=largest.file_size, mime="image/jpeg", is_original=False
    )
    await _take(message, upload_intake, incoming)
