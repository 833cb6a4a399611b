"""What the bot and the worker check at start instead of provisioning.

Only the provision user may create or change streams (the ``provision`` Job, ``make run``):
a service's NATS user may read their configuration and nothing more. So a service waits
until every stream and bucket exists, stops like provisioning would when one is in a shape
that cannot be used (``TopologyConflictError``: the same lines, exit 2), and only logs what
differs in place, which the next provisioning changes.
"""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from vitrina_common.config import NatsSettings
from vitrina_common.logging import get_logger
from vitrina_common.messaging.reconcile import (
    Shape,
    TopologyConflictError,
    differences,
    refusals,
)
from vitrina_common.messaging.targets import topology_targets

log = get_logger(__name__)


class TopologyMissingError(RuntimeError):
    """Streams or buckets do not exist yet: provisioning has not run (or not finished)."""


async def check_jetstream(js: JetStreamContext, nats: NatsSettings) -> None:
    """Return when every stream and bucket exists in a usable shape.

    Raises ``TopologyMissingError`` (worth waiting for) while some are missing, and
    ``TopologyConflictError`` (not worth waiting for) when one cannot serve as configured.
    """
    missing: list[str] = []
    problems: list[str] = []
    for target in topology_targets(nats):
        try:
            info = await js.stream_info(target.stream)
        except NotFoundError:
            missing.append(target.label)
            continue
        current = Shape.of(info.config)
        wanted = Shape.wanted(target, current)
        changes = differences(current, wanted)
        refused = refusals(target, info, current, wanted) if changes else []
        problems += refused
        if changes and not refused:
            log.warning(
                "stream differs from the configuration; provisioning changes it",
                stream=target.stream,
                changes={change.field: str(change) for change in changes},
            )
    if problems:
        raise TopologyConflictError(problems)
    if missing:
        raise TopologyMissingError(
            f"not provisioned yet: {', '.join(missing)} (the provision Job, or "
            "`python -m vitrina_common.ops provision`, creates them)"
        )
