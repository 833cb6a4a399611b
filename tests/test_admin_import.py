"""Bulk import from Telegram, end to end: the real bot (polling a fake Bot API) and the real
worker, on real Postgres and NATS. An admin sends a CSV and a ZIP on the import screen; one
message shows the progress and the summary; failed rows come back as a CSV."""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from devstack.nats import NatsServer
from devstack.postgres import EmbeddedPostgres
from tests.import_files import (
    CSV_MIME,
    ZIP_MIME,
    SessionFactory,
    batch_count,
    csv_file,
    newest_batch,
    open_import_screen,
    products_titled,
    progress_edits,
    progress_messages,
    send_file,
    summed_up_batch,
    zip_file,
)
from tests.pipeline import jpeg_bytes, wait_until
from tests.services import nats_settings
from tests.storefront import Shop, Stocked, click, running_shop, screen, text_of
from vitrina_common.db.models import Category, ImportStatus, OutboxMessage, ProductStatus
from vitrina_common.messaging.connection import connect_nats
from vitrina_common.storage.objects import ImageStore

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]

ADMIN = 4900
RUSSIAN_ADMIN = 4902  # Telegram in Russian (language_code "ru"), so the shop speaks Russian
_shoppers = itertools.count(4001)
MIB = 1024 * 1024


async def stock_categories(sessions: SessionFactory) -> Stocked:
    async with sessions() as session, session.begin():
        categories = [Category(title=title) for title in ("Пейзажи", "Города", "Ночь")]
        session.add_all(categories)
        await session.flush()
        return Stocked(categories[0].id, [])


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def shop(
    postgres: EmbeddedPostgres,
    migrated_template: str,
    nats_server: NatsServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Shop]:
    limits = {
        "APP_CONF__IMPORTS__MAX_ROWS": "100",
        "APP_CONF__IMPORTS__MAX_ZIP_ENTRIES": "200",
        "APP_CONF__IMPORTS__MAX_ZIP_TOTAL_BYTES": str(5 * MIB),
    }
    async with running_shop(
        postgres, migrated_template, nats_server, tmp_path_factory.mktemp("admin-import"),
        admin_ids=[ADMIN, RUSSIAN_ADMIN], stock=stock_categories, with_worker=True,
        extra_env=limits,
    ) as running:  # fmt: skip
        yield running


async def last_batch_id(shop: Shop) -> int:
    batch = await newest_batch(shop.sessions)
    return batch.id if batch is not None else 0


async def ready_count(shop: Shop, titles: list[str]) -> int:
    found = await products_titled(shop.sessions, titles)
    return sum(product.status is ProductStatus.READY for product in found)


async def render_jobs_of(shop: Shop, product_ids: list[int]) -> int:
    """Render jobs committed to the outbox for these products."""
    async with shop.sessions() as session:
        query = select(func.count()).where(
            OutboxMessage.payload["subject"].as_string() == "jobs.preview.render",
            OutboxMessage.payload["body"]["product_id"].as_integer().in_(product_ids),
        )
        return int((await session.execute(query)).scalar_one())


async def test_excel_cp1251_csv_and_a_zip_become_rendered_products_in_one_progress_message(
    shop: Shop,
) -> None:
    before = await last_batch_id(shop)
    titles = [f"Вид №{n} — «Пейзаж»" for n in range(40)]
    images = {f"photos/img{n}.jpg": jpeg_bytes(400 + n) for n in range(8)}
    rows = [
        (title, f"Описание {n}", 10 + n, ("Пейзажи", "Города")[n % 2], f"img{n % 8}.JPG")
        for n, title in enumerate(titles)
    ]
    await open_import_screen(shop.telegram, ADMIN)

    send_file(shop.telegram, ADMIN, csv_file(rows), "товары.csv", CSV_MIME)
    await screen(shop.telegram, ADMIN, "Now send the ZIP")
    send_file(shop.telegram, ADMIN, zip_file(images), "images.zip", ZIP_MIME)

    batch = await summed_up_batch(shop.sessions, before)
    assert (batch.status, batch.imported, batch.failed, batch.encoding) == (
        ImportStatus.DONE,
        40,
        0,
        "cp1251",
    )
    await wait_until(lambda: _all_ready(shop, titles), timeout_s=120)
    products = await products_titled(shop.sessions, titles)
    assert sorted(p.title for p in products) == sorted(titles)
    assert {p.price_stars for p in products} == set(range(10, 50))
    assert await render_jobs_of(shop, [p.id for p in products]) == 40
    [started] = [m for m in progress_messages(shop.telegram, ADMIN) if "товары.csv" in m["text"]]
    message_id = batch.progress_message_id or 0
    edits = [e for e in progress_edits(shop.telegram, ADMIN) if f"#{batch.id}\n" in e["text"]]
    edits += [e for e in progress_edits(shop.telegram, ADMIN) if f"#{batch.id} " in e["text"]]
    assert edits, "the progress message was never edited"
    assert {int(edit["message_id"]) for edit in edits} == {message_id}
    assert len(edits) < 40  # throttled: not an edit per row
    final = shop.telegram.messages[(ADMIN, message_id)]["text"]
    assert f"Import #{batch.id} finished: 40 rows." in final
    assert "Imported: 40 products" in final
    assert started["text"] == "📥 Import: reading товары.csv, images.zip…"


async def _all_ready(shop: Shop, titles: list[str]) -> bool:
    return await ready_count(shop, titles) == len(titles)


async def test_one_zip_with_the_csv_inside_imported_twice_creates_nothing_the_second_time(
    shop: Shop,
) -> None:
    titles = ["Мост", "Башня", "Площадь"]
    rows = [(title, "", 25, "Города", f"{n}.jpg") for n, title in enumerate(titles)]
    images = {f"shop/{n}.jpg": jpeg_bytes(500 + n) for n in range(3)}
    bundle = zip_file({"shop/products.csv": csv_file(rows), **images})
    await open_import_screen(shop.telegram, ADMIN)

    first_before = await last_batch_id(shop)
    send_file(shop.telegram, ADMIN, bundle, "shop.zip", ZIP_MIME)
    first = await summed_up_batch(shop.sessions, first_before)
    send_file(shop.telegram, ADMIN, bundle, "shop.zip", ZIP_MIME)
    second = await summed_up_batch(shop.sessions, first.id)

    assert (first.imported, first.already_imported) == (3, 0)
    assert (second.imported, second.already_imported, second.failed) == (0, 3, 0)
    assert len(await products_titled(shop.sessions, titles)) == 3
    summary = shop.telegram.messages[(ADMIN, second.progress_message_id or 0)]["text"]
    assert "Already imported before: 3 rows (nothing changed)." in summary
    assert "Imported: 0 products" in summary


async def test_bad_rows_come_back_in_a_failed_rows_csv_and_good_rows_are_imported(
    shop: Shop,
) -> None:
    before = await last_batch_id(shop)
    header = ("title", "description", "price", "category", "file")
    rows = [
        ("Bridge", "Stone", 30, "Города", "bridge.jpg"),
        ("Tower", "", "free", "Города", "tower.jpg"),
        ("Castle", "", 10, "Замки", "castle.jpg"),
        ("Lake", "", 10, "Пейзажи", "lake.jpg"),
        ("Bridge", "again", 50, "Города", "bridge.jpg"),
        ("Square", "", 15, "Города", "square.jpg"),
    ]
    images = {name: jpeg_bytes(600 + n) for n, name in enumerate(["bridge", "tower", "castle"])}
    images = {f"{name}.jpg": data for name, data in images.items()} | {
        "square.jpg": jpeg_bytes(604)
    }
    await open_import_screen(shop.telegram, ADMIN)

    # Back to back, ZIP first, as two files picked together arrive.
    send_file(shop.telegram, ADMIN, zip_file(images), "images.zip", ZIP_MIME)
    data = csv_file(rows, header=header, delimiter=",", encoding="utf-8")
    send_file(shop.telegram, ADMIN, data, "products.csv", CSV_MIME)
    batch = await summed_up_batch(shop.sessions, before)

    assert (batch.imported, batch.failed, batch.rows_total) == (2, 4, 6)
    imported = await products_titled(shop.sessions, ["Bridge", "Square", "Tower", "Castle"])
    assert sorted(p.title for p in imported) == ["Bridge", "Square"]  # row jobs run in any order
    report_name = f"import-{batch.id}-failed-rows.csv"
    await wait_until(lambda: _document_sent(shop, report_name), timeout_s=30)
    report = await _artifact(shop, report_name)
    reasons = {row[0]: row[1] for row in report[1:]}
    assert report[0] == ["row", "reason", *header]
    assert sorted(reasons) == ["3", "4", "5", "6"]
    assert reasons["3"].startswith("price must be a whole number of Stars")
    assert reasons["4"].startswith("unknown category 'Замки'")
    assert reasons["5"] == "image file 'lake.jpg' is not in the ZIP"
    assert reasons["6"].startswith("duplicate of row 2")
    summary = shop.telegram.messages[(ADMIN, batch.progress_message_id or 0)]["text"]
    assert "Failed: 4 rows — the file below says why." in summary


async def _document_sent(shop: Shop, name: str) -> bool:
    return any(
        call.params.get("document") == {"upload": name}
        for call in shop.telegram.calls_of("sendDocument")
    )


async def _artifact(shop: Shop, name: str) -> list[list[str]]:
    client = await connect_nats(nats_settings(shop.nats_url), name="test-import")
    try:
        data = await ImageStore(client.jetstream()).get_artifact(name)
    finally:
        await client.close()
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        ({"zeros.jpg": bytes(10 * MIB)}, "the ZIP unpacks to 10.0 MB; the limit is 5.0 MB"),
        ({f"{n}.jpg": b"x" for n in range(300)}, "the ZIP has more than 200 files"),
        ({"../evil.jpg": jpeg_bytes(7)}, "the ZIP holds files with unsafe paths ('../evil.jpg')"),
    ],
    ids=["bomb-size", "bomb-entries", "traversal"],
)
async def test_zip_bombs_and_traversal_zips_are_refused_at_once_and_nothing_is_imported(
    shop: Shop, entries: dict[str, bytes], reason: str
) -> None:
    imports = await batch_count(shop.sessions)
    rows = [("Зло", "", 1, "Ночь", name) for name in list(entries)[:3]]
    bundle = zip_file({"products.csv": csv_file(rows), **entries})
    await open_import_screen(shop.telegram, ADMIN)

    send_file(shop.telegram, ADMIN, bundle, "bomb.zip", ZIP_MIME)

    refusal = await _reply_containing(shop, "Not taken")
    assert reason in refusal
    await asyncio.sleep(1)
    assert await batch_count(shop.sessions) == imports
    assert await products_titled(shop.sessions, ["Зло"]) == []


async def _reply_containing(
    shop: Shop, text: str, timeout_s: float = 15, admin: int = ADMIN
) -> str:
    seen = len(shop.telegram.calls_of("sendMessage"))
    async with asyncio.timeout(timeout_s):
        while True:
            for call in shop.telegram.calls_of("sendMessage")[seen:]:
                if int(call.params["chat_id"]) == admin and text in str(call.params["text"]):
                    return str(call.params["text"])
            await asyncio.sleep(0.05)


@pytest.mark.parametrize(
    ("data", "name", "mime", "reason"),
    [
        (
            csv_file([("Закат", "", 5, "Ночь")], header=("Название", "Описание", "Цена", "Раздел")),
            "no-file-column.csv",
            CSV_MIME,
            "unknown column set: needs title, price, category, file (description optional);"
            " missing file",
        ),
        (b"PK\x03\x04 broken", "broken.zip", ZIP_MIME, "this is not a ZIP archive"),
        (bytes(100), "nul.csv", CSV_MIME, "the file contains NUL bytes: it is binary, not a CSV"),
    ],
    ids=["missing-column", "broken-zip", "binary-csv"],
)
async def test_an_unreadable_csv_or_zip_is_refused_at_once_with_the_reason(
    shop: Shop, data: bytes, name: str, mime: str, reason: str
) -> None:
    imports = await batch_count(shop.sessions)
    await open_import_screen(shop.telegram, ADMIN)

    send_file(shop.telegram, ADMIN, data, name, mime)

    assert reason in await _reply_containing(shop, "Not taken")
    assert await batch_count(shop.sessions) == imports


async def test_a_csv_the_worker_refuses_ends_the_import_with_the_reason_and_nothing_imported(
    shop: Shop,
) -> None:
    before = await last_batch_id(shop)
    rows = [(f"Строка {n}", "", 5, "Ночь", "a.jpg") for n in range(101)]
    await open_import_screen(shop.telegram, ADMIN)

    send_file(shop.telegram, ADMIN, csv_file(rows), "big.csv", CSV_MIME)
    await screen(shop.telegram, ADMIN, "Now send the ZIP")
    send_file(shop.telegram, ADMIN, zip_file({"a.jpg": jpeg_bytes(9)}), "a.zip", ZIP_MIME)
    batch = await summed_up_batch(shop.sessions, before)

    assert batch.status is ImportStatus.REFUSED
    summary = shop.telegram.messages[(ADMIN, batch.progress_message_id or 0)]["text"]
    assert summary == (
        f"❌ Import #{batch.id} refused: the CSV has more than 100 rows: split it into several"
        " imports.\nNothing was imported."
    )
    assert await products_titled(shop.sessions, ["Строка 0"]) == []


async def open_import_screen_in_russian(shop: Shop) -> None:
    """The Russian admin starts the bot from a Russian Telegram, then opens the import screen."""
    shop.telegram.push_message(RUSSIAN_ADMIN, "/start", language_code="ru")
    await screen(shop.telegram, RUSSIAN_ADMIN, "Добро пожаловать")
    shop.telegram.push_message(RUSSIAN_ADMIN, "/admin", language_code="ru")
    menu = await screen(shop.telegram, RUSSIAN_ADMIN, "Управление магазином")
    await click(shop.telegram, RUSSIAN_ADMIN, menu, "Массовая загрузка", "Пришлите <b>CSV</b>")


async def test_a_russian_admin_gets_the_failed_rows_csv_in_russian_with_the_import_columns_kept(
    shop: Shop,
) -> None:
    before = await last_batch_id(shop)
    header = ("title", "description", "price", "category", "file")
    rows = [
        ("Собор", "", 30, "Города", "cathedral.jpg"),
        ("Башня", "", "бесплатно", "Города", "tower.jpg"),
        ("Замок", "", 10, "Замки", "castle.jpg"),
        ("Озеро", "", 10, "Пейзажи", "lake.jpg"),
    ]
    images = {"cathedral.jpg": jpeg_bytes(700), "tower.jpg": jpeg_bytes(701)}
    images["castle.jpg"] = jpeg_bytes(702)
    await open_import_screen_in_russian(shop)

    send_file(shop.telegram, RUSSIAN_ADMIN, zip_file(images), "картинки.zip", ZIP_MIME)
    data = csv_file(rows, header=header)
    send_file(shop.telegram, RUSSIAN_ADMIN, data, "товары.csv", CSV_MIME)
    batch = await summed_up_batch(shop.sessions, before)
    report_name = f"import-{batch.id}-failed-rows.csv"
    await wait_until(lambda: _document_sent(shop, report_name), timeout_s=30)
    report = await _artifact(shop, report_name)

    assert (batch.admin_telegram_id, batch.imported, batch.failed) == (RUSSIAN_ADMIN, 1, 3)
    assert report[0] == ["строка", "причина", *header]  # sent back as it is, it imports
    assert {row[0]: row[1] for row in report[1:]} == {
        "3": "цена должна быть целым числом звёзд от 1 до 100000 (указано «бесплатно»)",
        "4": "неизвестная категория «Замки»: сначала создайте её в /admin → Категории"
        " или укажите существующую",
        "5": "файла картинки «lake.jpg» нет в ZIP",
    }
    summary = shop.telegram.messages[(RUSSIAN_ADMIN, batch.progress_message_id or 0)]["text"]
    assert "С ошибкой: 3 строки — причины в файле ниже." in summary


async def test_a_russian_admin_is_told_in_russian_why_a_file_or_an_import_is_refused(
    shop: Shop,
) -> None:
    await open_import_screen_in_russian(shop)

    send_file(shop.telegram, RUSSIAN_ADMIN, b"PK\x03\x04 broken", "broken.zip", ZIP_MIME)
    refused_file = await _reply_containing(shop, "Файл не принят", admin=RUSSIAN_ADMIN)
    before = await last_batch_id(shop)
    rows = [(f"Строка {n}", "", 5, "Ночь", "a.jpg") for n in range(101)]
    send_file(shop.telegram, RUSSIAN_ADMIN, csv_file(rows), "много.csv", CSV_MIME)
    await screen(shop.telegram, RUSSIAN_ADMIN, "Теперь пришлите ZIP")
    send_file(shop.telegram, RUSSIAN_ADMIN, zip_file({"a.jpg": jpeg_bytes(9)}), "a.zip", ZIP_MIME)
    batch = await summed_up_batch(shop.sessions, before)

    assert refused_file == "❌ Файл не принят: это не ZIP-архив."
    assert batch.status is ImportStatus.REFUSED
    summary = shop.telegram.messages[(RUSSIAN_ADMIN, batch.progress_message_id or 0)]["text"]
    assert summary == (
        f"❌ Импорт №{batch.id} отклонён: в CSV больше 100 строк: разбейте его на несколько"
        " импортов.\nНичего не добавлено."
    )


async def test_an_excel_workbook_or_an_image_on_the_import_screen_is_refused_with_a_hint(
    shop: Shop,
) -> None:
    await open_import_screen(shop.telegram, ADMIN)

    send_file(shop.telegram, ADMIN, b"PK\x03\x04...", "товары.xlsx", "application/vnd.ms-excel")
    workbook = await _reply_containing(shop, "Not taken")
    send_file(shop.telegram, ADMIN, jpeg_bytes(11), "photo.jpg", "image/jpeg")
    image = await _reply_containing(shop, "Not taken")

    assert "«товары.xlsx» is a spreadsheet workbook; save it as CSV" in workbook
    assert "«photo.jpg» is neither a CSV nor a ZIP" in image


async def test_outside_the_import_screen_an_image_file_is_still_a_one_by_one_upload(
    shop: Shop,
) -> None:
    screen_message = await open_import_screen(shop.telegram, ADMIN)
    await click(shop.telegram, ADMIN, screen_message, "Back", "Shop admin")

    shop.telegram.push_document(ADMIN, jpeg_bytes(12), "Одинокий дуб | 70 | Пейзажи")

    await _reply_containing(shop, "Added #")
    assert len(await products_titled(shop.sessions, ["Одинокий дуб"])) == 1


async def test_a_shopper_sending_a_csv_and_a_zip_gets_the_shop_menu_and_no_import(
    shop: Shop,
) -> None:
    user = next(_shoppers)
    imports = await batch_count(shop.sessions)
    downloads = len(shop.telegram.calls_of("getFile"))
    bundle = zip_file({"p.csv": csv_file([("Чужой", "", 5, "Ночь", "x.jpg")]), "x.jpg": b"x"})

    send_file(shop.telegram, user, csv_file([("Чужой", "", 5, "Ночь", "x.jpg")]), "p.csv", CSV_MIME)
    send_file(shop.telegram, user, bundle, "p.zip", ZIP_MIME)

    menu = await screen(shop.telegram, user, "Welcome to")
    await asyncio.sleep(1)
    assert "import" not in text_of(menu).casefold()
    assert await batch_count(shop.sessions) == imports
    assert len(shop.telegram.calls_of("getFile")) == downloads  # not even downloaded
