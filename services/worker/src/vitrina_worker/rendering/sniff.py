"""Naming what an unsupported file is, so the admin's message is specific."""

from __future__ import annotations

_SIGNATURES = (
    (b"GIF87a", "a GIF"),
    (b"GIF89a", "a GIF"),
    (b"II*\x00", "a TIFF"),
    (b"MM\x00*", "a TIFF"),
    (b"BM", "a BMP"),
    (b"%PDF", "a PDF"),
    (b"\x00\x00\x00\x0cjP  ", "a JPEG 2000"),
    (b"PK\x03\x04", "a ZIP archive"),
)

SUPPORTED = "send a JPEG, PNG or WebP"


def describe_unsupported(data: bytes) -> str:
    """A sentence saying the file is not a supported image, and what it seems to be."""
    head = data[:512]
    for signature, name in _SIGNATURES:
        if head.startswith(signature):
            return f"the file is {name}, not a supported image: {SUPPORTED}"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return f"the file is a HEIC/AVIF or video, not a supported image: {SUPPORTED}"
    text = head.lstrip().lower()
    if text.startswith(b"<?xml") or b"<svg" in text:
        return f"the file is an SVG (vector) image, which is not supported: {SUPPORTED}"
    if head.startswith((b"\xff\xd8", b"\x89PNG", b"RIFF")):
        return f"the file looks like an image but its header is damaged: {SUPPORTED}"
    return f"the file is not an image this shop accepts: {SUPPORTED}"
