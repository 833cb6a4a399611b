"""Use cases of the product pipeline: register an upload, record a render's outcome."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.db.models import Product, ProductStatus
from vitrina_common.messaging.contracts import RenderPreviewJob
from vitrina_common.outbox import enqueue_publish
from vitrina_common.repositories.categories import CategoryRepository
from vitrina_common.repositories.outbox import OutboxRepository
from vitrina_common.repositories.products import ProductRepository

SessionFactory = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class UploadedOriginal:
    """An original already stored in the Object Store under its sha256."""

    sha256: str
    size: int
    mime: str
    # Telegram's id of the same file, when it came as a document: sending it later is free.
    telegram_file_id: str | None = None


@dataclass(frozen=True)
class NewProduct:
    """What an admin said about an upload."""

    title: str
    price_stars: int
    category: str
    description: str = ""


class RegisterUpload:
    """Create the product in ``rendering`` and, in the same transaction, the render job.

    The job goes through the outbox: if the process dies right after the commit, the relay
    still publishes it; if it is published twice, JetStream's dedup keeps one.
    """

    def __init__(self, session_factory: SessionFactory) -> None:
        self._session_factory = session_factory

    async def __call__(
        self, product: NewProduct, original: UploadedOriginal, notify_chat_id: int | None
    ) -> RenderPreviewJob:
        """Commit product + outbox row; returns the job that will be published."""
        async with self._session_factory() as session, session.begin():
            category = await CategoryRepository(session).get_or_create(product.category)
            row = await ProductRepository(session).add(
                Product(
                    category_id=category.id,
                    title=product.title,
                    description=product.description,
                    price_stars=product.price_stars,
                    status=ProductStatus.RENDERING,
                    original_key=original.sha256,
                    original_sha256=original.sha256,
                    original_size=original.size,
                    original_mime=original.mime,
                    original_file_id=original.telegram_file_id,
                )
            )
            job = RenderPreviewJob(
                product_id=row.id, original_sha256=original.sha256, notify_chat_id=notify_chat_id
            )
            await enqueue_publish(OutboxRepository(session), job)
        return job


class RecordPreviewOutcome:
    """The worker's side: a render finished (ready) or failed for good (failed).

    Each use case is one statement: the read before a render, and the guarded update after
    it. On ``statement_sessions`` (autocommit, ``create_read_session_factory``) each is its
    own transaction, committed when it returns: 1 round trip instead of 3 (BEGIN, the
    statement, COMMIT or ROLLBACK), per render job.
    """

    def __init__(
        self, session_factory: SessionFactory, statement_sessions: SessionFactory | None = None
    ) -> None:
        self._sessions = statement_sessions or session_factory

    async def ready(self, product_id: int, original_sha256: str, preview_key: str) -> bool:
        """Mark ready; False when the product was not rendering this original any more."""
        async with self._sessions() as session, session.begin():
            return await ProductRepository(session).mark_preview_ready(
                product_id, original_sha256, preview_key
            )

    async def failed(self, product_id: int, original_sha256: str, reason: str) -> bool:
        """Mark failed with ``reason``; False when it was not rendering this original."""
        async with self._sessions() as session, session.begin():
            return await ProductRepository(session).mark_preview_failed(
                product_id, original_sha256, reason
            )

    async def product(self, product_id: int) -> Product | None:
        """The product as it is now (read-only)."""
        async with self._sessions() as session:
            return await ProductRepository(session).get(product_id)


class CachePreviewFileId:
    """The bot uploaded a preview to Telegram: reuse its file_id for every later view."""

    def __init__(self, session_factory: SessionFactory) -> None:
        self._session_factory = session_factory

    async def __call__(self, product_id: int, preview_key: str, file_id: str) -> None:
        """Store the file_id if ``preview_key`` is still the product's preview."""
        async with self._session_factory() as session, session.begin():
            await ProductRepository(session).cache_preview_file_id(product_id, preview_key, file_id)
