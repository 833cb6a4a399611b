"""Pillow keeps the image memory a render frees, for the next render to reuse.

By default Pillow frees every image's blocks at once, and glibc hands memory that large
back to the kernel (mmap, or trimming the thread's heap), so each render faulted its
working set in again: about 3 700 fresh pages per 6 MP JPEG in a worker, a quarter of the
render's CPU (README "Worker pipeline"). With a few blocks cached, a render reuses the
last one's. A render holds at most 3 images at once (decoded, scaled,
watermarked), each in one block of at most Pillow's block size (16 MB), so the cache keeps
at most ``BLOCKS_PER_RENDER`` × 16 MB per render thread: memory the next render would
allocate anyway, inside the decode budget (at least 128 MB a render).
"""

from __future__ import annotations

from PIL import _imaging as pillow_core

# Images one render holds at once, plus one for a decode Pillow splits into two blocks.
BLOCKS_PER_RENDER = 4


def keep_freed_image_blocks(renders: int) -> None:
    """Cache enough freed blocks for ``renders`` renders at once in this process (an
    operator's larger ``PILLOW_BLOCKS_MAX`` stays)."""
    wanted = BLOCKS_PER_RENDER * renders
    if pillow_core.get_blocks_max() < wanted:
        pillow_core.set_blocks_max(wanted)
