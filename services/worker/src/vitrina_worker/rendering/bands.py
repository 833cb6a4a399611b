"""Bringing a decoded image into a mode the resampler takes, a band of rows at a time.

Resizing copies nothing full-size for RGB, greyscale or CMYK. Every other mode must be
converted first (palette → RGB, 16-bit → 8-bit, transparency flattened onto white), and
converting a 100 MP image whole makes a 400 MB copy beside the 100–200 MB decoded one (and
Pillow's resize of RGBA another, premultiplied). Here each band is converted, flattened
and reduced by an integer factor (a box filter: the first, cheap step of any large
downscale) into a small image, so the extra memory is one band's worth.

Flattening before resizing is what resizing premultiplied and flattening after computes,
so the preview looks the same.
"""

from __future__ import annotations

from PIL import Image

# Rows per band are chosen to hold about this many pixels; a band's conversions take about
# 14 bytes per pixel (source, converted, flattened, the alpha channel).
BAND_PIXELS = 2_000_000
BAND_BYTES = 32 * 1024 * 1024
# Reduced to no less than twice the preview: the resampler then has enough pixels to
# antialias from, as Pillow's own reducing_gap=2.0 does.
REDUCING_GAP = 2
_DIRECT = frozenset({"RGB", "L", "CMYK"})
_WHITE = 255


def _to_eight_bit(band: Image.Image) -> Image.Image:
    if band.mode in ("P", "PA"):
        has_alpha = band.mode == "PA" or "transparency" in band.info
        return band.convert("RGBA" if has_alpha else "RGB")
    if band.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # 16-bit and float greyscale: scaled to 8 bits instead of clipped at 255.
        return band.convert("I").point(lambda value: value / 256).convert("L")
    if band.mode == "1":
        return band.convert("L")
    return band


def _flatten(band: Image.Image) -> Image.Image:
    if band.mode not in ("RGBA", "LA", "RGBa", "La"):
        return band
    mode = "RGB" if band.mode.startswith("RGB") else "L"
    background = Image.new(mode, band.size, _WHITE if mode == "L" else (_WHITE,) * 3)
    background.paste(band.convert(mode), mask=band.getchannel(band.mode[-1]))
    return background


def reduction(size: tuple[int, int], long_side: int) -> int:
    """The integer factor an image of ``size`` is reduced by on its way to ``long_side``."""
    return max(1, max(size) // (long_side * REDUCING_GAP))


def working_bytes(size: tuple[int, int], long_side: int) -> int:
    """What shrinking a decoded image of ``size`` takes besides the image: one band, and
    the reduced image (4 bytes per pixel) the bands are pasted into. For RGB, greyscale and
    CMYK, which skip the bands, it bounds the resampler's intermediate image instead."""
    factor = reduction(size, long_side)
    return BAND_BYTES + 4 * -(-size[0] // factor) * -(-size[1] // factor)


def resizable(image: Image.Image, long_side: int) -> Image.Image:
    """``image`` (loaded) as RGB, L or CMYK without transparency, at most ``REDUCING_GAP``
    times the preview's size when it was larger; the image itself when it needs nothing."""
    if image.mode in _DIRECT:
        return image
    width, height = image.size
    factor = reduction(image.size, long_side)
    rows = max(factor, BAND_PIXELS // width // factor * factor)
    reduced: Image.Image | None = None
    for top in range(0, height, rows):
        band = _flatten(_to_eight_bit(image.crop((0, top, width, min(height, top + rows)))))
        if factor > 1:
            band = band.reduce(factor)
        if reduced is None:
            size = (-(-width // factor), -(-height // factor))
            reduced = Image.new(band.mode, size)
        reduced.paste(band, (0, top // factor))
    assert reduced is not None  # noqa: S101  (an image has at least one row)
    return reduced
