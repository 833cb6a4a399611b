"""Message contracts: small, versioned pydantic models, one subject each. No image bytes.

A contract's ``msg_id`` is stable for the same intent, so JetStream's duplicate window
drops a repeated publish (a retried upload, an outbox relay retry) and the work runs once.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field


class Contract(BaseModel):
    """Base of every message: frozen, unknown fields ignored (newer producers stay readable)."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    subject: ClassVar[str]

    def msg_id(self) -> str:
        """The ``Nats-Msg-Id`` of this message."""
        raise NotImplementedError


Sha256 = Field(pattern=r"^[0-9a-f]{64}$")


def _revised(base: str, revision: int) -> str:
    # Revision 0 keeps the id messages had before revisions existed: a job published by an
    # older bot and its redelivery stay duplicates of each other across an upgrade.
    return base if revision == 0 else f"{base}:r{revision}"


class RenderPreviewJob(Contract):
    """Render the watermarked preview of a product's original."""

    subject: ClassVar[str] = "jobs.preview.render"
    version: Literal[1] = 1
    product_id: int
    original_sha256: str = Sha256
    # Who to tell about the result (the admin who uploaded), if anyone.
    notify_chat_id: int | None = None
    # 0 for the render after an upload; an admin's re-render carries a new number (when it
    # was asked for), so it is a new message to JetStream's duplicate window and the outbox.
    render_revision: int = Field(default=0, ge=0)

    def msg_id(self) -> str:
        """One render per product, original and revision (revision 0 keeps the v1 id)."""
        return _revised(
            f"render-preview:{self.product_id}:{self.original_sha256}", self.render_revision
        )


class PreviewReady(Contract):
    """A preview is stored; the bot uploads it to Telegram once and caches the file_id."""

    subject: ClassVar[str] = "events.preview.ready"
    version: Literal[1] = 1
    product_id: int
    original_sha256: str = Sha256
    preview_key: str
    notify_chat_id: int | None = None
    # The job's revision: a re-render's event must not be dropped as the upload's duplicate.
    render_revision: int = Field(default=0, ge=0)

    def msg_id(self) -> str:
        """One event per rendered preview and revision."""
        return _revised(
            f"preview-ready:{self.product_id}:{self.original_sha256}", self.render_revision
        )


class PreviewFailed(Contract):
    """A render failed for good; the product is marked failed with ``reason``."""

    subject: ClassVar[str] = "events.preview.failed"
    version: Literal[1] = 1
    product_id: int
    original_sha256: str = Sha256
    reason: str
    notify_chat_id: int | None = None
    render_revision: int = Field(default=0, ge=0)

    def msg_id(self) -> str:
        """One event per failed render and revision."""
        return _revised(
            f"preview-failed:{self.product_id}:{self.original_sha256}", self.render_revision
        )


class ArtifactReady(Contract):
    """A file the worker made for a chat (an export, a chart, a failed-rows CSV) is in the
    artifacts bucket; the bot sends it, with a caption from its catalogs, and acks.

    The worker makes files, the bot talks to Telegram: the worker needs no bot token.
    """

    subject: ClassVar[str] = "events.artifact.ready"
    version: Literal[1] = 1
    # Unique per artifact (e.g. "export:products:<job id>"): the object's key and the dedup id.
    artifact_key: str = Field(min_length=1, max_length=200)
    chat_id: int
    filename: str = Field(min_length=1, max_length=128)
    # "document" for CSV and other files, "photo" for a chart PNG (shown inline).
    kind: Literal["document", "photo"] = "document"
    # A catalog key rendered in the recipient's language with caption_args, or None.
    caption_key: str | None = None
    caption_args: dict[str, Any] = Field(default_factory=dict)

    def msg_id(self) -> str:
        """One send per artifact."""
        return f"artifact-ready:{self.artifact_key}"
