"""Admin area: bulk import. The screen says what to send; while it is open, the admin's CSV
and ZIP documents go to ``handlers.admin_import`` (not to the one-by-one upload), which
records them in this dialog's data and starts the import once both are here."""

from __future__ import annotations

import codecs
import html
from typing import Any

from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.kbd import Button, Cancel

from vitrina_bot.dialogs.widgets import T
from vitrina_bot.i18n import Translator
from vitrina_bot.imports.intake import ImportIntake
from vitrina_bot.imports.pending import PendingImport

STARTED_KEY = "import_started"
EXAMPLE_NAME = "products-example.csv"


class AdminImportsSG(StatesGroup):
    main = State()


ENTRY = AdminImportsSG.main


def _megabytes(size: int) -> str:
    return f"{size / 2**20:.0f}"


async def get_import_screen(
    dialog_manager: DialogManager, import_intake: ImportIntake, **_: Any
) -> dict[str, Any]:
    """The limits to quote, and which files of the next import arrived so far."""
    limits = import_intake.limits
    pending = PendingImport.load(dialog_manager.dialog_data)
    return {
        "rows": limits.parsing.max_rows,
        "csv_mb": _megabytes(limits.parsing.max_csv_bytes),
        "zip_mb": _megabytes(limits.max_zip_bytes),
        "entries": limits.parsing.max_zip_entries,
        "image_mb": _megabytes(limits.parsing.max_image_bytes),
        # File names go into HTML: a name like "<b>.csv" must not break the message.
        "csv": html.escape(pending.csv.name) if pending.csv else "",
        "zip": html.escape(pending.zip.name) if pending.zip else "",
        "has_pending": bool(pending.csv or pending.zip),
        "started": dialog_manager.dialog_data.get(STARTED_KEY, ""),
    }


async def on_example(event: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    """Send a CSV to fill in: the columns, two rows, saved the way Excel opens it (BOM)."""
    translate: Translator = manager.middleware_data["t"]
    await event.answer()
    if event.message is None:
        return
    data = codecs.BOM_UTF8 + translate("admin.import.example_csv").encode("utf-8")
    await event.message.answer_document(
        BufferedInputFile(data, EXAMPLE_NAME), caption=translate("admin.import.example_caption")
    )


async def on_forget(event: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    """Drop the files received so far (they expire from storage on their own)."""
    await event.answer()
    PendingImport().save(manager.dialog_data)


dialogs = (
    Dialog(
        Window(
            T("admin.import.instructions"),
            T("admin.import.waiting_zip", when="csv"),
            T("admin.import.waiting_csv", when="zip"),
            T("admin.import.started", when="started"),
            Button(T("admin.import.example"), id="example", on_click=on_example),
            Button(T("admin.import.forget"), id="forget", on_click=on_forget, when="has_pending"),
            Cancel(T("admin.menu.back")),
            getter=get_import_screen,
            state=AdminImportsSG.main,
        ),
    ),
)
