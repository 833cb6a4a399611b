"""Original bytes → watermarked JPEG preview bytes, or a reason a person can read.

Hostile input is expected: anything that is not a JPEG, PNG or WebP is refused before a
decoder runs, oversized images are refused from their header (decompression bombs), so is
an image whose decoding would not fit the worker's memory (``cost``), and damaged files end
as ``UnusableImageError`` with a sentence for the admin, never a crash.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageCms, UnidentifiedImageError

from vitrina_worker.rendering.bands import resizable
from vitrina_worker.rendering.cost import DecodeCost, decode_cost, megabytes
from vitrina_worker.rendering.sniff import describe_unsupported
from vitrina_worker.rendering.watermark import apply_watermark

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP")
# Our own limit (RenderOptions.max_pixels) is checked from the header in _open. Pillow's
# global guard is off: it warns rather than refuses below twice its limit, and setting it
# per call would race between render threads.
Image.MAX_IMAGE_PIXELS = None
_SRGB = ImageCms.createProfile("sRGB")
_WHITE = (255, 255, 255)
TOO_LARGE_FOR_MEMORY = "too large for this worker's memory"


class UnusableImageError(ValueError):
    """The file can never become a preview; ``str(error)`` says why, for the admin."""


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


def _open(data: bytes, max_pixels: int) -> Image.Image:
    if not data:
        raise UnusableImageError("the file is empty")
    try:
        # Reads the header only; no pixel is decoded before the size check below.
        image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except UnidentifiedImageError:
        raise UnusableImageError(describe_unsupported(data)) from None
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


def _load(image: Image.Image) -> Image.Image:
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise UnusableImageError(f"the image is damaged or truncated ({error})") from None
    return image


def _to_srgb(image: Image.Image) -> Image.Image:
    profile = image.info.get("icc_profile")
    if profile and image.mode in ("RGB", "CMYK"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError):
            converted = None  # a broken profile is ignored, like browsers do
        if converted is not None:
            return converted
    return image if image.mode == "RGB" else image.convert("RGB")


def render_preview(data: bytes, options: RenderOptions) -> bytes:
    """The watermarked JPEG preview of ``data``; raises ``UnusableImageError``."""
    image = _open(data, options.max_pixels)
    _check_memory(_draft(image, options.long_side), options.max_decode_bytes)
    image = _load(image)
    orientation = image.getexif().get(0x0112)
    # Transparency flattened and 16-bit scaled band by band, never as a full-size copy.
    image = resizable(image, options.long_side)
    target = _fit(image.size, options.long_side)
    if target != image.size:
        # Hamming: a windowed filter, antialiased for downscaling, half the cost of Lanczos
        # at a difference no one sees under a watermark (bench/preview measures the speed).
        image = image.resize(target, Image.Resampling.HAMMING)
    image = _to_srgb(image)
    if orientation:
        # Rotated after scaling (cheaper), and the output carries no EXIF to rotate it twice.
        image = _apply_orientation(image, int(orientation))
    apply_watermark(image, options.watermark_text)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=options.jpeg_quality)
    return out.getvalue()


def _fit(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    scale = min(1.0, long_side / max(size))
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _apply_orientation(image: Image.Image, orientation: int) -> Image.Image:
    method = _TRANSPOSE.get(orientation)
    return image.transpose(method) if method is not None else image
