"""Synthetic photo-like test images: smooth shapes, gradients and grain, so codecs and
resamplers do the work a real photo makes them do (flat colour would flatter everyone)."""

from __future__ import annotations

import io

from PIL import Image, ImageChops, ImageFilter


def photo(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """An RGB image of ``size`` that compresses like a photograph."""
    width, height = size
    channels = []
    for channel in range(3):
        blobs = Image.effect_noise((max(width // 64, 8), max(height // 64, 8)), 60 + 10 * seed)
        blobs = blobs.resize(size, Image.Resampling.BICUBIC)
        ramp = Image.linear_gradient("L").resize(size)
        if channel == 1:
            ramp = ramp.transpose(Image.Transpose.ROTATE_90).resize(size)
        grain = Image.effect_noise(size, 10 + channel).filter(ImageFilter.BoxBlur(1))
        channels.append(ImageChops.add(ImageChops.add(blobs, ramp, scale=2.0), grain, scale=1.2))
    return Image.merge("RGB", channels)


def encoded(image: Image.Image, fmt: str) -> bytes:
    """``image`` as camera-like JPEG (q92), PNG (default level) or WebP (q90) bytes."""
    out = io.BytesIO()
    quality = {"JPEG": 92, "WEBP": 90}.get(fmt)
    params: dict[str, object] = {} if quality is None else {"quality": quality}
    image.save(out, fmt, **params)
    return out.getvalue()
