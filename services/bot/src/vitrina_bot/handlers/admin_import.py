"""An admin's CSV or ZIP sent while the Bulk import screen is open: checked, stored, and
once the import's files are complete, the import started.

Included before ``admin_upload``: there an image sent as a file becomes a product, here
(only on the import screen) every document is an import file. Non-admins never reach this
router; their documents get what any shopper's message gets.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import Message
from aiogram_dialog import DialogManager
from aiogram_dialog.context.intent_filter import IntentFilter

from vitrina_bot.dialogs.admin.imports import STARTED_KEY, AdminImportsSG
from vitrina_bot.filters import IsAdmin
from vitrina_bot.i18n import Translator
from vitrina_bot.imports.intake import ImportFileRefusedError, ImportIntake, IncomingDocument
from vitrina_bot.imports.pending import PendingImport

router = Router(name="admin_import")
router.message.filter(IsAdmin())


@router.message(F.document, IntentFilter(AdminImportsSG))
async def on_import_file(
    message: Message, dialog_manager: DialogManager, import_intake: ImportIntake, t: Translator
) -> None:
    """Take one file of an import; start the import when it is the last one needed."""
    document = message.document
    assert document is not None  # noqa: S101  (the F.document filter guarantees it)
    incoming = IncomingDocument(
        file_id=document.file_id,
        file_name=document.file_name or "",
        mime=document.mime_type or "application/octet-stream",
        size=document.file_size,
    )
    try:
        received = await import_intake.receive(incoming)
    except ImportFileRefusedError as refused:
        reason = refused.render(t)
        await message.answer(t("admin.import.file_refused", reason=reason), parse_mode=None)
        await dialog_manager.show()
        return
    data = dialog_manager.dialog_data
    pending = PendingImport.load(data).with_file(received)
    files = pending.ready()
    if files is not None and message.from_user is not None:
        data[STARTED_KEY] = await import_intake.start(
            message.from_user.id, message.chat.id, files, t
        )
        pending = PendingImport()
    pending.save(data)
    await dialog_manager.show()
