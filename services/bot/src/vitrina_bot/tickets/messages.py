"""A Telegram message as a ticket comment: its text (or caption) and its photo or document."""

from __future__ import annotations

from aiogram.types import Message

from vitrina_common.db.models import AttachmentKind
from vitrina_common.services.tickets import Attachment


def comment_of(message: Message) -> tuple[str, Attachment | None]:
    """The text and attachment ``message`` carries (the largest size of a photo)."""
    text = message.text or message.caption or ""
    if message.photo:
        largest = max(message.photo, key=lambda size: size.width * size.height)
        return text, Attachment(AttachmentKind.PHOTO, largest.file_id)
    if message.document is not None:
        return text, Attachment(AttachmentKind.DOCUMENT, message.document.file_id)
    return text, None
