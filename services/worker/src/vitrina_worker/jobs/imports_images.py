"""The plan of an import: the CSV checked against the ZIP (``vitrina_common.imports``), the
categories looked up, and every image used read once, hashed and stored as an original.

Why the planner stores the originals rather than each row job reading its entry from the
ZIP: the row's stable key (the JetStream dedup id of its job and ``products.import_key``)
includes the image's sha256, so the planner must read and hash every image anyway. Storing
it right then costs one more write, after which the row jobs are pure database work: no
row job downloads a ZIP of hundreds of megabytes to take one entry out, rows sharing an
image store it once (originals are keyed by sha256), and the ZIP can be deleted as soon
as the plan is committed.
"""

from __future__ import annotations

import asyncio
import hashlib
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from vitrina_common.imports import (
    EntryError,
    ImageArchive,
    ImportLimits,
    ImportReason,
    PlannedRow,
    RowError,
    ZipSource,
    open_archive,
    plan_import,
    refuse_unsafe_paths,
    row_key,
)
from vitrina_common.imports.reasons import ReasonArguments
from vitrina_common.services.imports_planning import PlannedProduct, RowPlan
from vitrina_common.storage.objects import ImageStore

# Images stored at once: writes to the Object Store overlap while the next entry is read,
# within a byte budget: four 50 MB originals in flight would cost the worker 200 MB, and
# four ordinary photos (a few MB each) still overlap.
_STORES_IN_FLIGHT = 4
_STORE_BYTES_IN_FLIGHT = 32 * 1024 * 1024
_WEBP = (b"RIFF", b"WEBP")


@dataclass(frozen=True)
class StoredImage:
    """An entry stored as an original, or why its rows cannot use it."""

    sha256: str = ""
    size: int = 0
    mime: str = ""
    problem: ImportReason | None = None


def image_mime(data: bytes) -> str | None:
    """The MIME type of a JPEG, PNG or WebP by its signature; None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == _WEBP[0] and data[8:12] == _WEBP[1]:
        return "image/webp"
    return None


async def build_plan(
    csv_bytes: bytes | None,
    zip_source: ZipSource,
    limits: ImportLimits,
    categories: dict[int, str],
    store: ImageStore,
) -> RowPlan:
    """Plan every row; raises ``ImportFileError`` when a whole file is refused. The ZIP is
    its bytes or (in the worker) the path of the file it was downloaded to."""
    with await asyncio.to_thread(open_archive, zip_source, limits) as archive:
        refuse_unsafe_paths(archive)
        plan = await asyncio.to_thread(plan_import, csv_bytes, zip_source, limits)
        rows, errors = with_categories(plan.rows, categories)
        images = await store_images(archive, {row.entry_name for row, _, _ in rows}, store)
    products, row_errors = _products(rows, images)
    return RowPlan(
        header=plan.header,
        encoding=plan.encoding,
        cells=plan.original_rows,
        products=products,
        errors=sorted([*plan.errors, *errors, *row_errors], key=lambda e: e.row_number),
    )


def _category_key(title: str) -> str:
    return " ".join(unicodedata.normalize("NFC", title).casefold().split())


def with_categories(
    rows: Iterable[PlannedRow], categories: dict[int, str]
) -> tuple[list[tuple[PlannedRow, int, str]], list[RowError]]:
    """Rows with the id and title of their category; an unknown one fails its row.

    Imports never create categories: a typo would otherwise become a new shelf in the shop.
    The exact title wins; otherwise one differing only in case or spacing.
    """
    exact = {title: category_id for category_id, title in categories.items()}
    loose_counts = Counter(_category_key(title) for title in categories.values())
    loose = {
        _category_key(title): category_id
        for category_id, title in categories.items()
        if loose_counts[_category_key(title)] == 1
    }
    found: list[tuple[PlannedRow, int, str]] = []
    errors: list[RowError] = []
    for row in rows:
        category_id = exact.get(row.category) or loose.get(_category_key(row.category))
        if category_id is None:
            reason = ImportReason("category_unknown", {"category": row.category})
            errors.append(RowError(row.row_number, reason))
        else:
            found.append((row, category_id, categories[category_id]))
    return found, errors


def _read_image(archive: ImageArchive, entry: str) -> tuple[bytes, StoredImage]:
    try:
        data = archive.read(entry)
    except EntryError as error:
        return b"", StoredImage(problem=error.reason)
    mime = image_mime(data)
    if mime is None:
        return b"", StoredImage(problem=ImportReason("image_unsupported", {"entry": entry}))
    return data, StoredImage(hashlib.sha256(data).hexdigest(), len(data), mime)


async def store_images(
    archive: ImageArchive, entries: set[str], store: ImageStore
) -> dict[str, StoredImage]:
    """Read, check and store each entry once; a few writes overlap with the next read, as
    long as the images they hold stay under ``_STORE_BYTES_IN_FLIGHT`` together."""
    stored: dict[str, StoredImage] = {}
    writes: dict[asyncio.Task[str], int] = {}
    try:
        for entry in sorted(entries):
            data, image = await asyncio.to_thread(_read_image, archive, entry)
            stored[entry] = image
            if image.problem is not None:
                continue
            while writes and (
                len(writes) >= _STORES_IN_FLIGHT
                or sum(writes.values()) + len(data) > _STORE_BYTES_IN_FLIGHT
            ):
                done, _ = await asyncio.wait(writes, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    del writes[task]
                    task.result()
            writes[asyncio.create_task(store.put_original(data))] = len(data)
            del data  # the task holds it until stored
        await asyncio.gather(*writes)
    finally:
        for task in writes:
            task.cancel()
    return stored


def _products(
    rows: list[tuple[PlannedRow, int, str]], images: dict[str, StoredImage]
) -> tuple[list[PlannedProduct], list[RowError]]:
    products: list[PlannedProduct] = []
    errors: list[RowError] = []
    first_of_key: dict[str, int] = {}
    for row, category_id, category in rows:
        image = images[row.entry_name]
        if image.problem is not None:
            errors.append(RowError(row.row_number, image.problem))
            continue
        key = row_key(row, image.sha256)
        first = first_of_key.setdefault(key, row.row_number)
        if first != row.row_number:
            # Two files with the same bytes under the same title and category.
            arguments: ReasonArguments = {"first": first, "entry": row.entry_name}
            errors.append(RowError(row.row_number, ImportReason("duplicate_image", arguments)))
            continue
        products.append(
            PlannedProduct(
                row_number=row.row_number,
                import_key=key,
                title=row.title,
                description=row.description,
                price_stars=row.price_stars,
                category_id=category_id,
                category=category,
                original_sha256=image.sha256,
                original_size=image.size,
                original_mime=image.mime,
            )
        )
    return products, errors
