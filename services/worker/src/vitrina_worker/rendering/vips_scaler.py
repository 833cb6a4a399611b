"""Scaling with libvips: PNG or WebP bytes → the preview-sized, upright, sRGB image the
watermark goes on, for the formats where libvips beats Pillow (``python -m bench.preview``).

Pillow decodes a PNG or WebP whole before resizing it: a 12 MP WebP costs libwebp's canvas
and a copy besides (about 170 MB at the peak) and its decode alone takes longer than all of
libvips' render. libvips shrinks a WebP while decoding it (libwebp's scaled decode) and
streams a PNG through the resampler a strip of rows at a time, so neither is ever held at
full size. An interlaced PNG cannot be streamed (every pass covers the whole image): it stays
on Pillow, whose memory the decode budget was measured for (``renderer``).

The caller has already refused, from Pillow's reading of the header, what is not a PNG or
WebP, over the pixel limit or over the decode budget. libvips reads the header again; a size
that differs from Pillow's means the file is not what it claims, and is refused too.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyvips
from PIL import Image

from vitrina_worker.rendering.errors import UnusableImageError, damaged
from vitrina_worker.rendering.fit import fit

# One libvips thread per render: the worker's render pool already runs one render per core,
# and a larger libvips pool per render would only contend with the others.
pyvips.concurrency_set(1)
# libvips' operation cache would keep the last originals and their decoded strips alive.
pyvips.cache_set_max(0)


@dataclass(frozen=True)
class Header:
    """What Pillow read from the file's header: its format and stored size."""

    format: str
    size: tuple[int, int]


_LOADERS = {"JPEG": "jpegload_buffer", "PNG": "pngload_buffer", "WEBP": "webpload_buffer"}
# Stop at the first decode error instead of returning the rest of the image grey.
_LOAD_OPTIONS = "fail_on=error"
_WHITE = [255, 255, 255]
_SWAPS_AXES = frozenset({5, 6, 7, 8})  # EXIF orientations that turn the image a quarter


def scale_with_vips(data: bytes, header: Header, long_side: int) -> Image.Image:
    """``data`` (whose format and size Pillow read from its header) fitted into ``long_side``,
    in sRGB and upright, as a Pillow RGB image; raises ``UnusableImageError``."""
    try:
        return _scale(data, header, long_side)
    except pyvips.Error as error:
        raise damaged(_first_line(error)) from None


def _scale(data: bytes, header: Header, long_side: int) -> Image.Image:
    seen = pyvips.Image.new_from_buffer(data, "")  # the header only
    if seen.get("vips-loader") != _LOADERS.get(header.format):
        raise UnusableImageError("the file looks like an image but its header is damaged")
    if (seen.width, seen.height) != header.size:
        width, height = header.size
        raise UnusableImageError(
            f"the image's header is damaged: it claims {width}×{height} and "
            f"{seen.width}×{seen.height}"
        )
    upright = seen.height, seen.width
    if _orientation(seen) not in _SWAPS_AXES:
        upright = seen.width, seen.height
    width, height = fit(upright, long_side)
    # "force": exactly the size Pillow's path gives (its own rounding may differ by a pixel).
    thumb = pyvips.Image.thumbnail_buffer(
        data, width, height=height, size="force", option_string=_LOAD_OPTIONS
    )
    return _to_pillow(_flattened(_in_srgb(thumb)))


def _orientation(image: pyvips.Image) -> int:
    if image.get_typeof("orientation") == 0:
        return 1
    return int(image.get("orientation"))


def _in_srgb(image: pyvips.Image) -> pyvips.Image:
    if image.get_typeof("icc-profile-data") != 0 and image.interpretation in ("srgb", "rgb16"):
        try:
            return image.icc_transform("srgb", embedded=True)
        except pyvips.Error:
            pass  # a broken profile is ignored, like browsers do (and as the Pillow path does)
    if image.interpretation != "srgb" or image.format != "uchar":
        # Palette, greyscale, 1-bit and 16-bit: to 8-bit RGB, 16 bits scaled, not clipped.
        return image.colourspace("srgb")
    return image


def _flattened(image: pyvips.Image) -> pyvips.Image:
    # After the resize, which libvips does premultiplied: the same as flattening first.
    if image.hasalpha():
        image = image.flatten(background=_WHITE)
    if image.format != "uchar":
        image = image.cast("uchar")
    return image


def _to_pillow(image: pyvips.Image) -> Image.Image:
    if image.bands != 3:
        image = image.extract_band(0, n=3)
    return Image.frombytes("RGB", (image.width, image.height), image.write_to_memory())


def _first_line(error: pyvips.Error) -> str:
    detail = str(getattr(error, "detail", "") or "").strip().splitlines()
    return detail[0] if detail else str(error.message)
