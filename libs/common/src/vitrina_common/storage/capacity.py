"""Room left in a bucket, asked before storing something big in it.

A full originals bucket refuses writes (discard new): an upload or an import found out
halfway, with a JetStream error. Asked first, the admin hears at once that the shop's
image storage is full and what to do, and the bucket keeps headroom for what is already
under way (the images of imports being planned, another admin's upload).
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext

from vitrina_common.messaging.topology import IMPORTS_BUCKET, ORIGINALS_BUCKET, BucketSpec

_MIB = 1024 * 1024


@dataclass(frozen=True)
class BucketFill:
    """How much a bucket holds and may hold (``limit`` None: no limit)."""

    bucket: str
    used: int
    limit: int | None

    def percent_after(self, incoming: int) -> float:
        """The share of the limit used once ``incoming`` more bytes are stored."""
        return 0.0 if self.limit is None else 100 * (self.used + incoming) / self.limit


class StorageFullError(RuntimeError):
    """Storing would take a bucket past ``threshold`` percent of what it may hold;
    ``arguments`` fill in the message an admin reads."""

    def __init__(self, fill: BucketFill, incoming: int, threshold: int) -> None:
        super().__init__(
            f"bucket {fill.bucket} holds {fill.used} of {fill.limit} bytes: "
            f"{incoming} more would pass {threshold}%"
        )
        self.fill = fill
        self.arguments: dict[str, str | int] = {
            "percent": round(fill.percent_after(incoming)),
            "threshold": threshold,
            "used_mb": _megabytes(fill.used),
            "limit_mb": _megabytes(fill.limit or 0),
        }


def _megabytes(size: int) -> str:
    return f"{size / _MIB:.1f}".removesuffix(".0")


def _stored_size(incoming: int) -> int:
    # An object is stored in 128 KiB chunks, each a message with its own headers, plus one
    # message of metadata: a little more than the file.
    return incoming + incoming // 64 + 1024


async def bucket_fill(js: JetStreamContext, bucket: BucketSpec) -> BucketFill:
    """What the Object Store ``bucket`` holds and its ``max_bytes``, from its stream's info."""
    info = await js.stream_info(f"OBJ_{bucket.name}")
    limit = info.config.max_bytes
    return BucketFill(bucket.name, info.state.bytes, limit if limit and limit > 0 else None)


class StorageRoom:
    """Refuses what would fill the originals past ``full_percent`` of their limit, or not
    fit in the imports bucket; one instance per NATS connection."""

    def __init__(self, js: JetStreamContext, full_percent: int) -> None:
        self._js = js
        self._full_percent = full_percent

    async def check_originals(self, incoming: int) -> None:
        """``StorageFullError`` when ``incoming`` more bytes of originals would take the
        bucket past the threshold (or it is past it already)."""
        await self._check(ORIGINALS_BUCKET, incoming, self._full_percent)

    async def check_imports(self, incoming: int) -> None:
        """``StorageFullError`` when a file of ``incoming`` bytes does not fit in the
        imports bucket (other imports' files are waiting to be planned)."""
        await self._check(IMPORTS_BUCKET, incoming, 100)

    async def _check(self, bucket: BucketSpec, incoming: int, threshold: int) -> None:
        fill = await bucket_fill(self._js, bucket)
        stored = _stored_size(incoming)
        if fill.percent_after(stored) > threshold:
            raise StorageFullError(fill, stored, threshold)
