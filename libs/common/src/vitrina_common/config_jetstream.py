"""How much of JetStream each stream and bucket may take (part of ``NatsSettings``).

Without a limit, one thing that grows (originals of a big import, an export) fills
JetStream's volume, and then every write fails: a shopper's menu state among them. With
one, the thing that grew is refused on its own. JetStream refuses a stream whose
``max_bytes`` do not fit in what is left of the server's ``max_file_store``, which, when
not configured (the Helm chart's default values), is 75 % of the free space nats-server
finds at start: about 1.4 GiB on the chart's 2 GiB volume. The defaults add up to 1129 MiB,
below that with room for what JetStream does not count (file overhead); the README's
budget table says why each is what it is and what to set for a bigger volume.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

MIB = 1024 * 1024
# Small enough for tests that fill a bucket; nothing real fits in less.
_FLOOR = 1024


class JetStreamLimits(BaseModel):
    """``max_bytes`` of every stream and bucket, and when uploads stop filling originals."""

    # Job messages are small JSON (no image bytes): tens of thousands of pending jobs.
    jobs_max_bytes: int = Field(default=64 * MIB, ge=_FLOOR)
    events_max_bytes: int = Field(default=32 * MIB, ge=_FLOOR)
    # Every image sold, as uploaded. The one that grows with the catalog.
    originals_max_bytes: int = Field(default=512 * MIB, ge=_FLOOR)
    previews_max_bytes: int = Field(default=128 * MIB, ge=_FLOOR)
    # Exports and charts, kept a day.
    artifacts_max_bytes: int = Field(default=64 * MIB, ge=_FLOOR)
    # One import's ZIP (APP_CONF__IMPORTS__MAX_ZIP_BYTES, 200 MB) and CSV at a time.
    imports_max_bytes: int = Field(default=256 * MIB, ge=_FLOOR)
    fsm_max_bytes: int = Field(default=64 * MIB, ge=_FLOOR)
    chat_locks_max_bytes: int = Field(default=8 * MIB, ge=_FLOOR)
    # One key: the global send budget's next free slot.
    send_budget_max_bytes: int = Field(default=1 * MIB, ge=_FLOOR)
    # Uploads and imports are refused once storing them would take the originals bucket
    # past this share of its max_bytes: the admin hears why, instead of a write failing
    # halfway through an import.
    originals_full_percent: int = Field(default=90, ge=1, le=100)
