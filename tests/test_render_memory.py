"""A render reuses the image memory the previous render freed, instead of faulting its
working set in from the kernel again (see ``vitrina_worker.rendering.image_memory``)."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from PIL import Image
from PIL import _imaging as pillow_core

from vitrina_worker.rendering.image_memory import BLOCKS_PER_RENDER, keep_freed_image_blocks
from vitrina_worker.rendering.pool import RenderPool
from vitrina_worker.rendering.renderer import RenderOptions


@pytest.fixture(autouse=True)
def pillow_defaults() -> Iterator[None]:
    """Pillow's block cache is process-wide: each test starts without one, and leaves none."""
    before = pillow_core.get_blocks_max()
    pillow_core.set_blocks_max(0)
    yield
    pillow_core.set_blocks_max(before)


def _jpeg(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.linear_gradient("L").resize(size).convert("RGB").save(out, "JPEG")
    return out.getvalue()


async def test_a_render_reuses_the_blocks_the_previous_one_freed() -> None:
    pool = RenderPool(2)
    data = _jpeg((3000, 2000))
    try:
        await pool.render(data, RenderOptions())
        pillow_core.reset_stats()
        await pool.render(data, RenderOptions())
    finally:
        pool.close()

    stats = pillow_core.get_stats()
    assert stats["reused_blocks"] >= 3  # decoded, scaled, watermarked
    assert stats["allocated_blocks"] == 0


def test_the_cache_holds_enough_blocks_for_every_render_thread() -> None:
    RenderPool(3).close()

    assert pillow_core.get_blocks_max() == 3 * BLOCKS_PER_RENDER


def test_an_operators_larger_pillow_blocks_max_stays() -> None:
    pillow_core.set_blocks_max(100)

    keep_freed_image_blocks(2)

    assert pillow_core.get_blocks_max() == 100
