"""Renders off the event loop, so heartbeats and acks keep flowing during a long render.

Two kinds, chosen by ``APP_CONF__WORKER__RENDER_POOL``:
- threads (default): Pillow releases the GIL in decode, resize and encode, so threads run
  renders in parallel without copying the original to another process;
- processes: a decoder crash (segfault, OOM kill) takes down a child, not the worker, and
  children are recycled to bound memory; each render pays for shipping the bytes over.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from vitrina_common.config import RenderPool as PoolKind
from vitrina_common.logging import get_logger
from vitrina_worker.rendering.image_memory import keep_freed_image_blocks
from vitrina_worker.rendering.renderer import RenderOptions, render_preview

log = get_logger(__name__)

# A child process is replaced after this many renders, so fragmentation never accumulates.
TASKS_PER_CHILD = 200


class RendererCrashedError(RuntimeError):
    """The render process died (segfault, OOM kill); the job may succeed on a retry."""


class RenderPool:
    """``size`` renderers of the given kind; a process pool is rebuilt if a child dies."""

    def __init__(self, size: int, kind: PoolKind = PoolKind.THREAD) -> None:
        self._size = size
        self._kind = kind
        self._executor = self._new_executor()

    def _new_executor(self) -> Executor:
        if self._kind is PoolKind.THREAD:
            keep_freed_image_blocks(self._size)
            return ThreadPoolExecutor(max_workers=self._size, thread_name_prefix="render")
        # spawn, not fork: the parent runs threads (asyncio, nats) that fork would copy mid-state.
        return ProcessPoolExecutor(
            max_workers=self._size,
            mp_context=multiprocessing.get_context("spawn"),
            max_tasks_per_child=TASKS_PER_CHILD,
            initializer=keep_freed_image_blocks,
            initargs=(1,),
        )

    async def render(self, data: bytes, options: RenderOptions) -> bytes:
        """Render off the loop; ``UnusableImageError`` passes through unchanged."""
        loop = asyncio.get_running_loop()
        executor = self._executor
        try:
            return await loop.run_in_executor(executor, render_preview, data, options)
        except BrokenProcessPool as error:
            if executor is self._executor:
                log.warning("render process died, starting a new pool")
                self._executor = self._new_executor()
            raise RendererCrashedError("the render process died") from error

    def warm_up(self) -> None:
        """Start process children now rather than on the first job."""
        if self._kind is PoolKind.PROCESS:
            for _ in range(self._size):
                self._executor.submit(int)

    def close(self) -> None:
        """Stop the renderers (after their current render)."""
        self._executor.shutdown(wait=True, cancel_futures=True)
