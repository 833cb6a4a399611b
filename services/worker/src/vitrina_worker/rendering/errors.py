"""The one failure a render may end in: a file that can never become a preview."""

from __future__ import annotations


class UnusableImageError(ValueError):
    """The file can never become a preview; ``str(error)`` says why, for the admin."""


def damaged(error: object) -> UnusableImageError:
    """The admin's sentence for a decoder that gave up on the pixels."""
    return UnusableImageError(f"the image is damaged or truncated ({error})")
