"""What decoding an image will take of the worker's memory, known from its header before a
pixel is decoded, so a render that cannot fit is refused instead of killing the worker.

Pillow can shrink while decoding only JPEGs (``draft``: 1/2, 1/4, 1/8). PNG and WebP are
always decoded at full size, so a 100 MP PNG costs its full size in the mode it decodes to:
1 byte per pixel for a palette or greyscale image, 2 for 16-bit greyscale, 4 for everything
else (Pillow stores RGB in 4 bytes like RGBA). Conversions after decoding (palette → RGB,
16-bit → 8-bit, flattening transparency) run in bands (``bands``), so they add a fixed
working set rather than another full-size copy.

The factors per format were measured with ``python -m bench.memory`` (README "Memory
limits"): Pillow's WebP decoder keeps libwebp's canvas and a copy of the frame besides the
image (16 bytes per pixel in all); a progressive JPEG keeps every DCT coefficient of the
whole image (2 bytes per sample) whatever the draft size.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from vitrina_worker.rendering.bands import working_bytes

_PIXEL_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
_WEBP_BYTES_PER_PIXEL = 16
_COEFFICIENT_BYTES = 2
_MIB = 1024 * 1024


@dataclass(frozen=True)
class DecodeCost:
    """An image about to be decoded: its size as stored and the bytes decoding it takes."""

    width: int
    height: int
    kind: str
    bytes: int

    def describe(self) -> str:
        """``10000×10000 (100 MP) 16-bit greyscale PNG``."""
        pixels = self.width * self.height
        return f"{self.width}×{self.height} ({pixels / 1e6:.0f} MP) {self.kind}"


_KINDS = {"P": "palette", "1": "black-and-white", "L": "greyscale", "LA": "greyscale"}


def _kind(image: Image.Image, mode: str) -> str:
    name = "16-bit greyscale" if mode.startswith("I;16") else _KINDS.get(mode, "colour")
    return f"{name} {image.format or 'image'}"


def _progressive_coefficients(image: Image.Image, size: tuple[int, int]) -> int:
    if not image.info.get("progressive"):
        return 0
    layers = getattr(image, "layer", None) or [(0, 1, 1, 0)]
    max_h = max(layer[1] for layer in layers)
    max_v = max(layer[2] for layer in layers)
    samples = sum(size[0] * size[1] * layer[1] * layer[2] / (max_h * max_v) for layer in layers)
    return int(samples) * _COEFFICIENT_BYTES


def decode_cost(
    image: Image.Image, stored_size: tuple[int, int], stored_mode: str, long_side: int
) -> DecodeCost:
    """The memory decoding ``image`` takes (opened, its draft set, not loaded): the decoded
    pixels, what the decoder keeps besides, and shrinking it towards ``long_side``.
    ``stored_size`` and ``stored_mode`` are the image's before ``draft``."""
    width, height = image.size
    pixels = width * height
    if image.format == "WEBP":
        decoded = pixels * _WEBP_BYTES_PER_PIXEL
    else:
        decoded = pixels * _PIXEL_BYTES.get(image.mode, 4)
        decoded += _progressive_coefficients(image, stored_size)
    kind = _kind(image, stored_mode)
    shrinking = working_bytes(image.size, long_side)
    return DecodeCost(*stored_size, kind, decoded + shrinking)


def megabytes(size: int) -> str:
    """``1.2 GB`` or ``480 MB`` (decimal, as people read file sizes)."""
    return f"{size / 1e9:.1f} GB" if size >= 1e9 else f"{size / 1e6:.0f} MB"
