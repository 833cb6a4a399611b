"""The import the benchmark sends: distinct 800×600 JPEGs, a CSV as Russian Excel saves it
(cp1251, ";") whose rows share images, and one ZIP with both."""

from __future__ import annotations

import io
import zipfile

from bench.images import photo

CATEGORIES = tuple(f"Категория {n}" for n in range(10))
HEADER = "Название;Описание;Цена;Категория;Файл"


def make_images(count: int, size: tuple[int, int] = (800, 600)) -> list[bytes]:
    """``count`` distinct JPEGs (q85): one photo with a different corner patch each."""
    base = photo(size)
    images = []
    for index in range(count):
        variant = base.copy()
        variant.paste((index * 7 % 256, index * 13 % 256, index % 256), (0, 0, 24, 24))
        out = io.BytesIO()
        variant.save(out, "JPEG", quality=85)
        images.append(out.getvalue())
    return images


def make_csv(rows: int, images: int) -> bytes:
    """``rows`` products over ``images`` pictures: each picture is ``rows // images``
    products with their own titles (a print, a postcard…), as the issue's benchmark has."""
    lines = [HEADER]
    for row in range(rows):
        image = row % images
        title = f"Фото {image} — вариант {row // images}"
        description = f"Описание товара номер {row}, «в кавычках»"
        category = CATEGORIES[row % len(CATEGORIES)]
        lines.append(f'{title};"{description}";{10 + row % 500};{category};photos/{image}.jpg')
    return ("\r\n".join(lines) + "\r\n").encode("cp1251")


def make_zip(csv_bytes: bytes, images: list[bytes]) -> bytes:
    """One ZIP with the CSV and the images (JPEGs stored: deflating them gains nothing)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("products.csv", csv_bytes, compress_type=zipfile.ZIP_DEFLATED)
        for index, data in enumerate(images):
            archive.writestr(f"photos/{index}.jpg", data)
    return buffer.getvalue()
