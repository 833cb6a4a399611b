"""The inputs of the memory table (README "Memory limits"), made cheaply.

Large images are small files: a 100 MP PNG of repeated rows compresses to well under 1 MB
yet decodes to 100 MP in the worker, which is what its memory depends on. JPEGs are a
photo-like tile scaled up (the decoder's memory does not depend on the content); the ZIP
holds stored (uncompressed) entries whose bytes only start like a JPEG: the bot and the
import plan never decode them, they read, hash and store them.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

from PIL import Image

from bench.images import encoded, photo
from tests.import_files import csv_file

MIB = 1024 * 1024
TEN_K = (10_000, 10_000)  # 100 MP
TWELVE_MP = (4_000, 3_000)


def _save(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def jpeg(size: tuple[int, int], *, progressive: bool = False) -> bytes:
    """A photo-like JPEG (q90) of ``size``, baseline or progressive."""
    tile = photo((min(size[0], 1000), min(size[1], 1000)))
    image = tile.resize(size, Image.Resampling.BILINEAR) if tile.size != size else tile
    return _save(image, "JPEG", quality=90, progressive=progressive)


def webp(size: tuple[int, int]) -> bytes:
    """A photo-like WebP (q90) of ``size``."""
    return encoded(photo(size), "WEBP")


def flat_webp(size: tuple[int, int]) -> bytes:
    """A gradient WebP of ``size``: quick to make at 40 MP, and its decoder's memory is the
    same as a photo's."""
    return _save(Image.linear_gradient("L").resize(size).convert("RGB"), "WEBP", quality=80)


def palette_png(size: tuple[int, int] = TEN_K) -> bytes:
    """A 256-colour palette PNG of ``size`` (one byte per pixel decoded)."""
    tile = Image.linear_gradient("L").convert("P")
    return _save(tile.resize(size, Image.Resampling.NEAREST), "PNG", compress_level=1)


def sixteen_bit_png(size: tuple[int, int] = TEN_K) -> bytes:
    """A 16-bit greyscale PNG of ``size`` (two bytes per pixel decoded), full range."""
    tile = Image.new("I;16", (256, 256))
    tile.putdata([x * 257 for _ in range(256) for x in range(256)])
    return _save(tile.resize(size, Image.Resampling.NEAREST), "PNG", compress_level=1)


def rgba_png(size: tuple[int, int] = TEN_K) -> bytes:
    """An RGBA PNG of ``size`` (four bytes per pixel decoded)."""
    tile = Image.linear_gradient("L").convert("RGBA")
    return _save(tile.resize(size, Image.Resampling.NEAREST), "PNG", compress_level=1)


def fake_jpeg_entry(size: int) -> bytes:
    """``size`` bytes that start like a JPEG: enough for the import plan's type check."""
    return b"\xff\xd8\xff\xe0" + os.urandom(size - 4)


def import_zip(path: Path, total_bytes: int, entry_bytes: int = 10 * MIB) -> Path:
    """A ZIP at ``path`` of about ``total_bytes``: a CSV naming every image, and the images
    as stored entries of ``entry_bytes`` (random, so nothing compresses them away)."""
    count = max(1, total_bytes // entry_bytes)
    names = [f"photos/img{n:03}.jpg" for n in range(count)]
    rows = [(f"Large {n}", "", 10, "Tests", name) for n, name in enumerate(names)]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("products.csv", csv_file(rows))
        for name in names:
            archive.writestr(name, fake_jpeg_entry(entry_bytes))
    return path


def upload_file(path: Path, size: int) -> Path:
    """An original of ``size`` bytes at ``path`` (what the bot downloads and stores)."""
    path.write_bytes(fake_jpeg_entry(size))
    return path
