"""The progress message: a text bar edited only when the count moved, then the summary once;
a message that cannot be edited any more is continued in a new one."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import EditMessageText
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_bot.i18n import translator_for
from vitrina_bot.imports.progress import ImportProgressWatcher, progress_bar, summary_text
from vitrina_common.db.models import Category, ImportStatus, Language
from vitrina_common.services.imports import (
    ImportProgress,
    ImportRequest,
    ImportView,
    StartImport,
    StoredImportFiles,
)
from vitrina_common.services.imports_planning import ImportPlanning, PlannedProduct, RowPlan
from vitrina_common.services.imports_rows import ImportRows
from vitrina_common.services.profile import Profiles

SessionFactory = async_sessionmaker[AsyncSession]
ADMIN = 4900
MESSAGE = 501


class RecordingBot:
    """The two Bot API calls the watcher makes, recorded; edits of ``gone`` fail."""

    def __init__(self) -> None:
        self.edits: list[tuple[int, str]] = []
        self.sent: list[str] = []
        self.gone: set[int] = set()

    async def edit_message_text(self, text: str, **params: Any) -> None:
        if params["message_id"] in self.gone:
            method = EditMessageText(text=text)
            raise TelegramBadRequest(method, "Bad Request: message to edit not found")
        self.edits.append((params["message_id"], text))

    async def send_message(self, chat_id: int, text: str, **_: Any) -> Any:
        assert chat_id == ADMIN
        self.sent.append(text)
        return type("Sent", (), {"message_id": 900 + len(self.sent)})()


def test_the_bar_fills_one_segment_per_tenth_done() -> None:
    assert progress_bar(412, 1000) == "▰▰▰▰▱▱▱▱▱▱ 412/1000"
    assert progress_bar(0, 3) == "▱▱▱▱▱▱▱▱▱▱ 0/3"
    assert progress_bar(999, 1000) == "▰▰▰▰▰▰▰▰▰▱ 999/1000"
    assert progress_bar(5, 5) == "▰▰▰▰▰▰▰▰▰▰ 5/5"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            Language.EN,
            "✅ Import #7 finished: 3 rows.\nImported: 1 product (its preview is being"
            " rendered).\nAlready imported before: 1 row (nothing changed).\nFailed: 1 row —"
            " the file below says why.",
        ),
        (
            Language.RU,
            "✅ Импорт №7 завершён: 3 строки.\nДобавлен 1 товар (превью готовится).\nУже были"
            " импортированы раньше: 1 строка (ничего не изменилось).\nС ошибкой: 1 строка —"
            " причины в файле ниже.",
        ),
    ],
)
def test_the_summary_names_each_outcome_in_the_admins_language(
    language: Language, expected: str
) -> None:
    view = ImportView(
        batch_id=7,
        chat_id=ADMIN,
        message_id=MESSAGE,
        status=ImportStatus.DONE,
        rows_total=3,
        rows_done=3,
        imported=1,
        already_imported=1,
        failed=1,
        refusal_reason=None,
        progress_shown=2,
        created_at=datetime.now(UTC),
    )

    assert summary_text(view, translator_for(language)) == expected


async def running_import(sessions: SessionFactory, rows: int) -> int:
    async with sessions() as session, session.begin():
        category = Category(title="Progress")
        session.add(category)
        await session.flush()
    batch_id = await StartImport(sessions)(
        ImportRequest(ADMIN, ADMIN, MESSAGE, StoredImportFiles(zip_key="z", zip_name="z.zip"))
    )
    products = [
        PlannedProduct(
            n,
            hashlib.sha256(f"p{n}".encode()).hexdigest(),
            f"P{n}",
            "",
            5,
            category.id,
            "Progress",
            "ab" * 32,
            10,
            "image/jpeg",
        )
        for n in range(2, rows + 2)
    ]
    cells = {n: [f"P{n}"] for n in range(2, rows + 2)}
    await ImportPlanning(sessions).record(batch_id, RowPlan(["title"], "utf-8", cells, products))
    return batch_id


@pytest.mark.postgres
async def test_the_message_is_edited_when_the_count_moves_and_summed_up_once(
    session_factory: SessionFactory,
) -> None:
    batch_id = await running_import(session_factory, 2)
    bot = RecordingBot()
    watcher = ImportProgressWatcher(
        cast(Bot, bot), ImportProgress(session_factory), Profiles(session_factory)
    )
    rows = ImportRows(session_factory)

    await watcher.show_all()
    await watcher.show_all()  # nothing moved: no edit
    await rows.create_product(batch_id, 2)
    await watcher.show_all()
    await rows.create_product(batch_id, 3)
    await watcher.show_all()
    await watcher.show_all()  # summed up already

    assert [message for message, _ in bot.edits] == [MESSAGE] * 3
    assert [text.splitlines()[1] for _, text in bot.edits[:2]] == [
        "▱▱▱▱▱▱▱▱▱▱ 0/2",
        "▰▰▰▰▰▱▱▱▱▱ 1/2",
    ]
    assert bot.edits[2][1].startswith(f"✅ Import #{batch_id} finished: 2 rows.")
    assert bot.sent == []


@pytest.mark.postgres
async def test_a_message_that_cannot_be_edited_is_continued_in_a_new_one(
    session_factory: SessionFactory,
) -> None:
    batch_id = await running_import(session_factory, 1)
    bot = RecordingBot()
    bot.gone.add(MESSAGE)
    progress = ImportProgress(session_factory)
    watcher = ImportProgressWatcher(cast(Bot, bot), progress, Profiles(session_factory))

    await watcher.show_all()
    await ImportRows(session_factory).create_product(batch_id, 2)
    await watcher.show_all()

    assert len(bot.sent) == 1
    assert bot.sent[0].splitlines()[1] == "▱▱▱▱▱▱▱▱▱▱ 0/1"
    view = await progress.view(batch_id)
    assert view is not None
    assert view.message_id == 901
    assert bot.edits == [(901, bot.edits[0][1])]
    assert bot.edits[0][1].startswith(f"✅ Import #{batch_id} finished: 1 row.")
