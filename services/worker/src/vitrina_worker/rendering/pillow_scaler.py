"""Scaling with Pillow: an opened image (its JPEG draft set) → the preview-sized, upright,
sRGB image the watermark goes on. JPEG's shrink-on-decode makes Pillow the fastest way for
JPEGs (``python -m bench.preview``)."""

from __future__ import annotations

import io

from PIL import Image, ImageCms

from vitrina_worker.rendering.bands import resizable
from vitrina_worker.rendering.errors import damaged
from vitrina_worker.rendering.fit import fit

_SRGB = ImageCms.createProfile("sRGB")


def scale_with_pillow(image: Image.Image, long_side: int) -> Image.Image:
    """``image`` decoded, fitted into ``long_side``, in sRGB and upright; raises
    ``UnusableImageError`` for pixels that cannot be decoded."""
    image = _load(image)
    orientation = image.getexif().get(0x0112)
    # Transparency flattened and 16-bit scaled band by band, never as a full-size copy.
    image = resizable(image, long_side)
    target = fit(image.size, long_side)
    if target != image.size:
        # Hamming: a windowed filter, antialiased for downscaling, half the cost of Lanczos
        # at a difference no one sees under a watermark (bench/preview measures the speed).
        image = image.resize(target, Image.Resampling.HAMMING)
    image = _to_srgb(image)
    if orientation:
        # Rotated after scaling (cheaper), and the output carries no EXIF to rotate it twice.
        image = _apply_orientation(image, int(orientation))
    return image


def _load(image: Image.Image) -> Image.Image:
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise damaged(error) from None
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
