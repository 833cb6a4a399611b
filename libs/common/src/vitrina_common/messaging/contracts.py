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


class RenderPreviewJob(Contract):
    """Render the watermarked preview of a product's original."""

    subject: ClassVar[str] = "jobs.preview.render"
    version: Literal[1] = 1
    product_id: int
    original_sha256: str = Sha256
    # Who to tell about the result (the admin who uploaded), if anyone.
    notify_chat_id: int | None = None

    def msg_id(self) -> str:
        """One render per product and original."""
        return f"render-preview:{self.product_id}:{self.original_sha256}"


class PreviewReady(Contract):
    """A preview is stored; the bot uploads it to Telegram once and caches the file_id."""

    subject: ClassVar[str] = "events.preview.ready"
    version: Literal[1] = 1
    product_id: int
    original_sha256: str = Sha256
    preview_key: str
    notify_chat_id: int | None = None

    def msg_id(self) -> str:
        """One event per rendered preview."""
        return f"preview-ready:{self.product_id}:{self.original_sha256}"


class PreviewFailed(Contract):
    """A render failed for good; the product is marked failed with ``reason``."""

    subject: ClassVar[str] = "events.preview.failed"
    version: Literal[1] = 1
    product_id: int
    original_sha256: str = Sha256
    reason: str
    notify_chat_id: int | None = None

    def msg_id(self) -> str:
        """One event per failed render."""
        return f"preview-failed:{self.product_id}:{self.original_sha256}"


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


class ImportPlanJob(Contract):
    """Read a bulk import's CSV and ZIP (in the ``imports`` bucket), store its images, record
    every row with its outcome or plan, and queue one ``ImportRowJob`` per valid row."""

    subject: ClassVar[str] = "jobs.import.plan"
    version: Literal[1] = 1
    batch_id: int

    def msg_id(self) -> str:
        """One plan per import."""
        return f"import-plan:{self.batch_id}"


class ImportRowJob(Contract):
    """Create the product of one planned import row, with its render job, exactly once."""

    subject: ClassVar[str] = "jobs.import.row"
    version: Literal[1] = 1
    batch_id: int
    row_number: int
    # vitrina_common.imports.row_key: the product's identity (products.import_key).
    row_key: str = Sha256

    def msg_id(self) -> str:
        """One job per product per import. The batch is part of it: the same files sent
        again within the duplicate window must still run (and answer "already imported")."""
        return f"import-row:{self.batch_id}:{self.row_key}"


class ImportReportJob(Contract):
    """An import finished with failed rows: make the failed-rows CSV and send it."""

    subject: ClassVar[str] = "jobs.import.report"
    version: Literal[1] = 1
    batch_id: int

    def msg_id(self) -> str:
        """One report per import."""
        return f"import-report:{self.batch_id}"
