"""The hostile corpus: files an admin (or an attacker) might send, made by the tests.

Each entry says what must become of it: a correct preview, or a failed product whose
reason contains a given phrase.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageCms

from tests.pipeline import jpeg_bytes


@dataclass(frozen=True)
class Specimen:
    name: str
    make: Callable[[], bytes]
    # None: must render; else a phrase the failure reason must contain.
    failure: str | None
    # For rendered specimens: the preview's expected (width, height), when it is known.
    preview_size: tuple[int, int] | None = None


def _save(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def _gradient(size: tuple[int, int]) -> Image.Image:
    return Image.linear_gradient("L").resize(size).convert("RGB")


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width``×``height`` with almost no pixel data behind it."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def exif_rotated_jpeg() -> bytes:
    """400×200 pixels stored, EXIF orientation 6: shown as 200×400 (portrait)."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return _save(_gradient((400, 200)), "JPEG", exif=exif.tobytes())


def sixteen_bit_png() -> bytes:
    image = Image.new("I;16", (300, 200))
    image.putdata([(x * 65535) // 299 for _ in range(200) for x in range(300)])
    return _save(image, "PNG")


def palette_png_with_transparency() -> bytes:
    image = Image.new("P", (120, 80), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.paste(1, (20, 20, 100, 60))
    return _save(image, "PNG", transparency=0)


def animated(fmt: str) -> bytes:
    frames = [Image.new("RGB", (160, 120), color) for color in ("red", "green", "blue")]
    return _save(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)


def cmyk_jpeg(with_profile: bool) -> bytes:
    image = Image.new("CMYK", (200, 150), (0, 128, 255, 0))
    if not with_profile:
        return _save(image, "JPEG")
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return _save(image.convert("RGB"), "JPEG", icc_profile=srgb)


def _valid_jpeg() -> bytes:
    return jpeg_bytes(7, (2000, 1500))


# The specimens make their bytes on demand: collecting tests must not build 60 MB.
CORPUS = [
    Specimen("zero bytes", lambda: b"", "the file is empty"),
    Specimen("truncated JPEG", lambda: _valid_jpeg()[:20_000], "damaged or truncated"),
    Specimen("text renamed .jpg", lambda: b"just some notes\n" * 40, "not an image"),
    Specimen("SVG", lambda: b'<?xml version="1.0"?><svg xmlns="x" width="9"/>', "SVG"),
    Specimen("TIFF", lambda: _save(_gradient((64, 64)), "TIFF"), "TIFF"),
    Specimen("PNG claiming 40000×40000", lambda: png_claiming(40000, 40000), "40000×40000"),
    Specimen("animated GIF", lambda: animated("GIF"), "GIF"),
    Specimen("60 MB file", lambda: os.urandom(60 * 2**20), "the limit is 50 MB"),
    Specimen("plain JPEG", _valid_jpeg, None, (1280, 960)),
    Specimen("animated WebP, first frame", lambda: animated("WEBP"), None, (160, 120)),
    Specimen("CMYK JPEG", lambda: cmyk_jpeg(with_profile=False), None, (200, 150)),
    Specimen("JPEG with an ICC profile", lambda: cmyk_jpeg(with_profile=True), None, (200, 150)),
    Specimen("16-bit PNG", sixteen_bit_png, None, (300, 200)),
    Specimen("EXIF-rotated JPEG", exif_rotated_jpeg, None, (200, 400)),
    Specimen("palette PNG with transparency", palette_png_with_transparency, None, (120, 80)),
    Specimen("LA PNG", lambda: _save(Image.new("LA", (90, 60), (128, 200)), "PNG"), None, (90, 60)),
    Specimen("12 MP PNG", lambda: _save(_gradient((4000, 3000)), "PNG", compress_level=1), None),
]
