"""Heavy renders leave a mark while they decode, so one that kills the worker is not tried
again at full cost.

A render the budget admits can still take the process down (an estimate off for some file,
other jobs' memory at the same moment). The kernel then kills the whole worker; JetStream
redelivers the job after ack_wait, to this replica or another, up to max_deliver times:
five OOM kills for one image. So before a decode of at least ``HEAVY_DECODE_BYTES`` the
handler stores a small object naming the job, and deletes it once the job settled, however
it ended. A delivery that finds the object knows the previous one died while decoding, and
refuses the image ("too large for this worker's memory") instead of decoding it again.

The mark lives in the ``previews`` bucket (``attempts/<preview key>.<render revision>``),
shared by every replica, next to what the job would have written. Lighter renders leave no
mark: a worker lost mid-render (a node gone) does not fail their products.
"""

from __future__ import annotations

import contextlib

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError, ObjectNotFoundError
from nats.js.object_store import ObjectStore

from vitrina_common.messaging.contracts import RenderPreviewJob
from vitrina_common.messaging.topology import PREVIEWS_BUCKET

# More than any 12 MP photo takes (48 MB decoded, plus the band working set).
HEAVY_DECODE_BYTES = 128 * 1024 * 1024


def attempt_key(job: RenderPreviewJob, preview_key: str) -> str:
    """The mark of ``job``'s decode; a re-render (a new revision) has its own."""
    return f"attempts/{preview_key}.{job.render_revision}"


class RenderAttempts:
    """Marks of heavy decodes in progress; one instance per NATS connection."""

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js
        self._store: ObjectStore | None = None

    async def _bucket(self) -> ObjectStore:
        if self._store is None:
            self._store = await self._js.object_store(PREVIEWS_BUCKET.name)
        return self._store

    async def died_before(self, key: str) -> bool:
        """Whether a previous delivery began this decode and never settled."""
        try:
            await (await self._bucket()).get_info(key)
        except (ObjectNotFoundError, NotFoundError):
            return False
        return True

    async def begin(self, key: str, delivery: int) -> None:
        """Mark the decode as begun by ``delivery``."""
        await (await self._bucket()).put(key, f"delivery {delivery}".encode())

    async def end(self, key: str) -> None:
        """The job settled: remove the mark (gone already is fine)."""
        with contextlib.suppress(ObjectNotFoundError, NotFoundError):
            await (await self._bucket()).delete(key)
