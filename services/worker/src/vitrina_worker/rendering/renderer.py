"""Original bytes → watermarked JPEG preview bytes, or a reason a person can read.

Hostile input is expected: anything that is not a JPEG, PNG or WebP is refused before a
decoder runs, oversized images are refused from their header (decompression bombs), so is
an image whose decoding would not fit the worker's memory (``cost``), and damaged files end
as ``UnusableImageError`` with a sentence for the admin, never a crash.

These checks read the header with Pillow, whichever library then decodes: Pillow for JPEG
(shrink-on-decode), libvips for PNG and WebP (``RenderOptions.libvips_formats``), each the
faster and leaner for its formats by ``python -m bench.preview``. The watermark and the
JPEG encoder are the same for both.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from vitrina_worker.rendering.cost import DecodeCost, decode_cost, megabytes
from vitrina_worker.rendering.errors import UnusableImageError, damaged
from vitrina_worker.rendering.pillow_scaler import scale_with_pillow
from vitrina_worker.rendering.sniff import describe_unsupported
from vitrina_worker.rendering.vips_scaler import Header, scale_with_vips
from vitrina_worker.rendering.watermark import apply_watermark

__all__ = ["RenderOptions", "UnusableImageError", "inspect", "render_preview"]

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP")
# Our own limit (RenderOptions.max_pixels) is checked from the header in _open. Pillow's
# global guard is off: it warns rather than refuses below twice its limit, and setting it
# per call would race between render threads.
Image.MAX_IMAGE_PIXELS = None
TOO_LARGE_FOR_MEMORY = "too large for this worker's memory"
# Where libvips renders faster and in less memory than Pillow (bench.preview): PNG (a faster
# decoder, streamed) and WebP (shrunk while decoded). Pillow keeps JPEG: its shrink-on-decode
# and resampling beat libvips' there.
LIBVIPS_FORMATS = frozenset({"PNG", "WEBP"})


@dataclass(frozen=True)
class RenderOptions:
    """How previews look and what input is acceptable."""

    long_side: int = 1280
    jpeg_quality: int = 85
    max_pixels: int = 100_000_000
    watermark_text: str = "Vitrina"
    # The most one decode may take of the worker's memory (see ``budget``); None: no limit
    # known, only max_pixels holds.
    max_decode_bytes: int | None = None
    # The formats decoded and scaled by libvips; the rest by Pillow.
    libvips_formats: frozenset[str] = LIBVIPS_FORMATS


def _open(data: bytes, max_pixels: int) -> Image.Image:
    if not data:
        raise UnusableImageError("the file is empty")
    try:
        # Reads the header only; no pixel is decoded before the size check below.
        image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except UnidentifiedImageError:
        raise UnusableImageError(describe_unsupported(data)) from None
    except OSError as error:
        # Pillow's WebP plugin builds libwebp's decoder on open: a truncated file fails here.
        raise damaged(error) from None
    width, height = image.size
    if width * height > max_pixels:
        raise UnusableImageError(
            f"the image is {width}×{height} ({width * height / 1e6:.0f} MP), over the limit "
            f"of {max_pixels / 1e6:.0f} MP"
        )
    return image


def _draft(image: Image.Image, long_side: int) -> DecodeCost:
    """Set JPEG shrink-on-decode (the IDCT scales by 1/2, 1/4 or 1/8 to at least the
    target; other formats ignore it) and say what decoding will cost."""
    stored_size, stored_mode = image.size, image.mode
    scale = long_side / max(image.size)
    if scale < 1:
        image.draft("RGB", (int(image.width * scale) + 1, int(image.height * scale) + 1))
    return decode_cost(image, stored_size, stored_mode, long_side)


def _check_memory(cost: DecodeCost, max_decode_bytes: int | None) -> None:
    if max_decode_bytes is not None and cost.bytes > max_decode_bytes:
        raise UnusableImageError(
            f"the image is {cost.describe()}: decoding it takes about {megabytes(cost.bytes)}, "
            f"{TOO_LARGE_FOR_MEMORY} (at most {megabytes(max_decode_bytes)} per image); send "
            "it with fewer pixels, or as a JPEG"
        )


def inspect(data: bytes, options: RenderOptions) -> DecodeCost:
    """What decoding ``data`` will take, from its header; ``UnusableImageError`` for what
    ``render_preview`` would refuse before decoding (type, pixels, memory)."""
    cost = _draft(_open(data, options.max_pixels), options.long_side)
    _check_memory(cost, options.max_decode_bytes)
    return cost


def render_preview(data: bytes, options: RenderOptions) -> bytes:
    """The watermarked JPEG preview of ``data``; raises ``UnusableImageError``."""
    image = _open(data, options.max_pixels)
    header = Header(image.format or "", image.size)
    _check_memory(_draft(image, options.long_side), options.max_decode_bytes)
    if _for_libvips(image, options):
        preview = scale_with_vips(data, header, options.long_side)
    else:
        preview = scale_with_pillow(image, options.long_side)
    apply_watermark(preview, options.watermark_text)
    out = io.BytesIO()
    preview.save(out, "JPEG", quality=options.jpeg_quality)
    return out.getvalue()


def _for_libvips(image: Image.Image, options: RenderOptions) -> bool:
    # An interlaced PNG must be decoded whole by either library, and libvips would keep its
    # 16 bits a sample: Pillow, whose memory the decode budget was measured for, decodes it.
    interlaced = image.format == "PNG" and bool(image.info.get("interlace"))
    return image.format in options.libvips_formats and not interlaced
