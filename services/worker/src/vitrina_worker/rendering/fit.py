"""The preview's size: the image fitted into a square of ``long_side``, never enlarged."""

from __future__ import annotations


def fit(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    """``size`` scaled to fit ``long_side`` on its longer edge (unchanged when it already fits)."""
    scale = min(1.0, long_side / max(size))
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))
