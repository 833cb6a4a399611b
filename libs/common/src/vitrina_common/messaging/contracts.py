"""Message contracts: small, versioned pydantic models, one subject each. No image bytes.

A contract's ``msg_id`` is stable for the same intent, so JetStream's duplicate window
drops a repeated publish (a retried upload, an outbox relay retry) and the work runs once.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator


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


class ArtifactFailed(Contract):
    """A file the worker was asked for will not come: the job was given up. The bot tells the
    chat in its language, so an admin never waits for a file that is not being made."""

    subject: ClassVar[str] = "events.artifact.failed"
    version: Literal[1] = 1
    # The given-up job's msg_id: one notice per job.
    job_key: str = Field(min_length=1, max_length=200)
    chat_id: int
    # A catalog key rendered in the recipient's language with text_args.
    text_key: str = Field(min_length=1, max_length=200)
    text_args: dict[str, Any] = Field(default_factory=dict)

    def msg_id(self) -> str:
        """One notice per job."""
        return f"artifact-failed:{self.job_key}"


# Longest chart period: a year (the admin picks 7, 30 or 90 days).
MAX_CHART_DAYS = 366
ExportTable = Literal["products", "purchases", "users"]
ChartText = Field(min_length=1, max_length=200)


def _known_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None
    return name


# An IANA name the worker can resolve; a job with another can never succeed (terminated).
TimeZoneName = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_known_zone)]


class ChartTexts(BaseModel):
    """Titles and axis labels of the sales charts in the admin's language.

    The bot renders them from its catalogs when the admin asks: the worker has no catalogs.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")
    revenue_title: str = ChartText
    units_title: str = ChartText
    users_title: str = ChartText
    day_axis: str = ChartText
    stars_axis: str = ChartText
    units_axis: str = ChartText
    users_axis: str = ChartText
    empty_period: str = ChartText


class SalesChartsJob(Contract):
    """Draw revenue per day, units per product and new users per day for a chat.

    The period and the time zone are fixed when the admin asks, so a job redelivered after
    midnight still draws the days the admin saw in the summary.
    """

    subject: ClassVar[str] = "jobs.report.charts"
    version: Literal[1] = 1
    request_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    chat_id: int
    first_day: date
    last_day: date
    # The days are calendar days in this zone (the shop's, when the admin asked).
    timezone: TimeZoneName
    texts: ChartTexts

    @model_validator(mode="after")
    def _period_is_sane(self) -> SalesChartsJob:
        if not 0 <= (self.last_day - self.first_day).days < MAX_CHART_DAYS:
            raise ValueError(f"a period is 1 to {MAX_CHART_DAYS} days, first day first")
        return self

    def msg_id(self) -> str:
        """One set of charts per request."""
        return f"sales-charts:{self.request_id}"


class ExportJob(Contract):
    """Write one table as a CSV for Excel and send it to a chat."""

    subject: ClassVar[str] = "jobs.report.export"
    version: Literal[1] = 1
    request_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    chat_id: int
    table: ExportTable
    # Times in the CSV are local times of this zone.
    timezone: TimeZoneName

    def msg_id(self) -> str:
        """One file per request."""
        return f"export:{self.table}:{self.request_id}"


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
