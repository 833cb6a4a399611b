"""Renders in a process pool: the event loop keeps acking and heartbeating meanwhile,
a decoder crash kills a child, not the worker, and recycled children bound memory."""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from vitrina_common.logging import get_logger
from vitrina_worker.rendering.renderer import RenderOptions, render_preview

log = get_logger(__name__)

# A child is replaced after this many renders, so fragmentation never accumulates.
TASKS_PER_CHILD = 200


class RendererCrashedError(RuntimeError):
    """The render process died (segfault, OOM kill); the job may succeed on a retry."""


class RenderPool:
    """A process pool of ``size`` renderers, rebuilt if a child dies."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        # spawn, not fork: the parent runs threads (asyncio, nats) that fork would copy mid-state.
        return ProcessPoolExecutor(
            max_workers=self._size,
            mp_context=multiprocessing.get_context("spawn"),
            max_tasks_per_child=TASKS_PER_CHILD,
        )

    async def render(self, data: bytes, options: RenderOptions) -> bytes:
        """Render in a child process; ``UnusableImageError`` passes through unchanged."""
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
        """Start the children now rather than on the first job."""
        for _ in range(self._size):
            self._executor.submit(int)

    def close(self) -> None:
        """Stop the children (after their current render)."""
        self._executor.shutdown(wait=True, cancel_futures=True)
