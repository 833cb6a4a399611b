"""Helpers for pipeline tests: images, uploads through the real use case, waiting, counting."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Awaitable, Callable, Sequence

import aiohttp
from nats.aio.client import Client
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devstack.ports import LOOPBACK
from vitrina_common.db.models import Product, ProductStatus
from vitrina_common.messaging.contracts import RenderPreviewJob
from vitrina_common.outbox import NATS_PUBLISH, OutboxRelay, nats_publish_handler
from vitrina_common.services.catalog import NewProduct, RegisterUpload, UploadedOriginal
from vitrina_common.storage.objects import ImageStore

SessionFactory = async_sessionmaker[AsyncSession]


def jpeg_bytes(seed: int, size: tuple[int, int] = (64, 48), quality: int = 80) -> bytes:
    """A small JPEG whose content (and so sha256) is unique per ``seed``."""
    image = Image.new("RGB", size, ((seed * 37) % 256, (seed * 91) % 256, (seed * 13) % 256))
    image.putpixel((seed % size[0], (seed // size[0]) % size[1]), (255, 255, 255))
    image.putpixel((0, 0), (seed % 251, seed // 251 % 251, 7))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


async def upload(
    client: Client,
    session_factory: SessionFactory,
    originals: Sequence[tuple[str, bytes]],
    *,
    mime: str = "image/jpeg",
) -> list[RenderPreviewJob]:
    """Store each (title, bytes) original and register it like the bot does; deliver the jobs."""
    store = ImageStore(client.jetstream())
    register = RegisterUpload(session_factory)
    jobs = []
    for title, data in originals:
        sha = await store.put_original(data)
        jobs.append(
            await register(
                NewProduct(title=title, price_stars=10, category="Tests"),
                UploadedOriginal(sha256=sha, size=len(data), mime=mime),
                notify_chat_id=None,
            )
        )
    relay = OutboxRelay(session_factory, {NATS_PUBLISH: nats_publish_handler(client.jetstream())})
    while await relay.deliver_due():
        pass
    return jobs


async def status_counts(session_factory: SessionFactory) -> dict[ProductStatus, int]:
    """Products per status."""
    async with session_factory() as session:
        rows = await session.execute(select(Product.status, func.count()).group_by(Product.status))
        return {status: count for status, count in rows}  # noqa: C416  (Row → typed pair)


async def wait_until(
    condition: Callable[[], Awaitable[bool]], timeout_s: float, poll_s: float = 0.2
) -> None:
    """Poll ``condition`` until true; TimeoutError otherwise."""
    async with asyncio.timeout(timeout_s):
        while not await condition():  # noqa: ASYNC110  (polls state in other processes)
            await asyncio.sleep(poll_s)


async def settled(session_factory: SessionFactory, expected: int) -> bool:
    """True when ``expected`` products are ready or failed (none rendering)."""
    counts = await status_counts(session_factory)
    return counts.get(ProductStatus.READY, 0) + counts.get(ProductStatus.FAILED, 0) >= expected


async def preview_object_count(client: Client) -> int:
    """Objects in the previews bucket."""
    store = await client.jetstream().object_store("previews")
    try:
        return len(await store.list())
    except Exception:  # noqa: BLE001  (nats-py raises NotFoundError for an empty bucket)
        return 0


async def job_outcomes(health_port: int) -> dict[str, float]:
    """The worker's ``vitrina_preview_jobs_total`` counters by outcome, from /metrics."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://{LOOPBACK}:{health_port}/metrics") as response,
    ):
        text = await response.text()
    pattern = re.compile(
        r'^vitrina_preview_jobs_total\{[^}]*outcome="(\w+)"[^}]*\} (\S+)$', re.MULTILINE
    )
    return {outcome: float(value) for outcome, value in pattern.findall(text)}
