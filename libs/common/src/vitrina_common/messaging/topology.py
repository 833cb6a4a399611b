"""Every stream and bucket Vitrina uses, declared once.

Provisioning (the dev launcher, the Kubernetes provisioning Job, each service at start)
creates or updates exactly these, so the shape never drifts between a laptop and a cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType


@dataclass(frozen=True)
class StreamSpec:
    """A JetStream stream: what it captures, how long it keeps it, and what happens when
    it is full (its ``max_bytes`` come from the settings)."""

    name: str
    subjects: tuple[str, ...]
    retention: RetentionPolicy
    max_age: timedelta | None
    # Publishes carrying the same Nats-Msg-Id within this window are stored once.
    duplicate_window: timedelta
    description: str
    # NEW: a publish to a full stream fails (the publisher retries later); OLD: the oldest
    # messages make room, silently.
    discard: DiscardPolicy


@dataclass(frozen=True)
class BucketSpec:
    """A Key-Value or Object Store bucket.

    A full bucket always refuses the write (discard ``new``, as the NATS clients create
    buckets): dropping the oldest messages would cut chunks out of stored objects, or
    forget a key another replica still relies on (a chat lock, a conversation).
    """

    name: str
    description: str
    ttl: timedelta | None = None
    # Key-Value buckets: revisions kept per key (the current value or its delete marker).
    history: int = 1


JOBS_STREAM = StreamSpec(
    name="JOBS",
    subjects=("jobs.>",),
    # Work-queue: a job is removed once a worker acks it, and only one consumer may bind
    # to a subject, which is the shared durable pull consumer of all worker replicas.
    retention=RetentionPolicy.WORK_QUEUE,
    max_age=timedelta(days=7),
    duplicate_window=timedelta(minutes=10),
    description="Jobs for the worker (rendering, imports, charts, broadcasts)",
    # A job dropped to make room would be work promised and never done; a refused publish
    # stays in the outbox, which retries it.
    discard=DiscardPolicy.NEW,
)

EVENTS_STREAM = StreamSpec(
    name="EVENTS",
    subjects=("events.>",),
    retention=RetentionPolicy.LIMITS,
    max_age=timedelta(days=1),
    duplicate_window=timedelta(minutes=2),
    description="Results the bot reacts to (preview ready, job failed)",
    # Notifications that are dropped after a day anyway (max_age): when the bot stays away
    # long enough to fill the stream, the newest are the ones worth telling, and the worker
    # must keep finishing jobs rather than fail each one on its last publish.
    discard=DiscardPolicy.OLD,
)

STREAMS = (JOBS_STREAM, EVENTS_STREAM)

ORIGINALS_BUCKET = BucketSpec("originals", "Original images as uploaded, keyed by sha256")
PREVIEWS_BUCKET = BucketSpec("previews", "Watermarked previews, keyed by product and sha256")
# Files made for one admin (exports, charts, failed-rows CSVs): sent once, kept a day.
ARTIFACTS_BUCKET = BucketSpec(
    "artifacts", "Exports, charts and reports waiting to be sent", ttl=timedelta(days=1)
)
# A bulk import's CSV and ZIP, from the bot's download until the plan job has stored the
# images as originals (then deleted); the TTL clears imports never started or planned.
IMPORTS_BUCKET = BucketSpec(
    "imports", "CSV and ZIP files of bulk imports until they are planned", ttl=timedelta(days=7)
)
OBJECT_BUCKETS = (ORIGINALS_BUCKET, PREVIEWS_BUCKET, ARTIFACTS_BUCKET, IMPORTS_BUCKET)

# Conversations idle this long expire, and with them the delete markers clearing leaves:
# without a TTL both stay forever. An expired dialog's buttons get "out of date" and a
# fresh menu (the bot's error handler), never a crash. One revision per key: nobody reads
# older ones.
FSM_BUCKET = BucketSpec(
    "fsm", "Bot FSM and dialog state shared by bot replicas", ttl=timedelta(days=30), history=1
)
# One key per chat while a webhook replica handles an update of it; the TTL frees the lock
# of a replica that died holding it.
CHAT_LOCKS_BUCKET = BucketSpec(
    "chat-locks", "Per-chat update locks of webhook bot replicas", ttl=timedelta(seconds=30)
)
# The global send budget (``sending.budget``): one key, the next free send slot, updated
# with compare-and-set by every worker replica. No TTL: the key must outlive quiet hours.
SEND_BUDGET_BUCKET = BucketSpec("send-budget", "Next free Telegram send slot of all replicas")
KV_BUCKETS = (FSM_BUCKET, CHAT_LOCKS_BUCKET, SEND_BUDGET_BUCKET)

STORAGE = StorageType.FILE


@dataclass(frozen=True)
class ConsumerSpec:
    """A durable pull consumer every replica of a service binds to (they share its work)."""

    stream: str
    durable: str
    filter_subject: str


RENDER_PREVIEW_CONSUMER = ConsumerSpec("JOBS", "render-preview", "jobs.preview.render")
BOT_PREVIEW_EVENTS_CONSUMER = ConsumerSpec("EVENTS", "bot-preview-events", "events.preview.>")
BOT_ARTIFACT_EVENTS_CONSUMER = ConsumerSpec("EVENTS", "bot-artifact-events", "events.artifact.>")
# The admin's sales charts and CSV exports: one durable each, shared by worker replicas.
REPORT_CHARTS_CONSUMER = ConsumerSpec("JOBS", "report-charts", "jobs.report.charts")
REPORT_EXPORT_CONSUMER = ConsumerSpec("JOBS", "report-export", "jobs.report.export")
IMPORT_PLAN_CONSUMER = ConsumerSpec("JOBS", "import-plan", "jobs.import.plan")
IMPORT_ROW_CONSUMER = ConsumerSpec("JOBS", "import-row", "jobs.import.row")
IMPORT_REPORT_CONSUMER = ConsumerSpec("JOBS", "import-report", "jobs.import.report")


def max_deliveries_subject(spec: ConsumerSpec) -> str:
    """The advisory subject JetStream publishes on for ``spec``'s exhausted messages."""
    return f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{spec.stream}.{spec.durable}"
