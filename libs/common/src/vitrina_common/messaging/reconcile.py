"""Bringing an existing stream or bucket to its target: what JetStream changes in place is
changed (one log line per stream, each field from → to); what it cannot change, or what
would lose or block data, is refused with a line saying how to migrate.

In place: replicas (up or down), max_bytes, max_age / TTL, discard policy, Key-Value
history, duplicate window, description, retention between limits and interest, and added
subjects. Refused: storage type, retention to or from work-queue (both nats-server
refusals), dropped subjects (their messages and consumers would be orphaned), and max_bytes
below what a discard-new stream already holds (it would refuse every write).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import Enum

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig, StreamInfo
from nats.js.errors import BadRequestError, ServerError

from vitrina_common.logging import get_logger
from vitrina_common.messaging.targets import Target

log = get_logger(__name__)

_MIB = 1024 * 1024
_TOO_FEW_SERVERS = (
    "APP_CONF__NATS__STREAM_REPLICAS must not exceed the JetStream servers of the cluster, "
    "each with room for the stream's max_bytes"
)
# nats-server error codes whose cause is our configuration, with what to do about it.
_SERVER_HINTS = {
    10074: "APP_CONF__NATS__STREAM_REPLICAS must be 1 on a NATS server that is not clustered",
    10005: _TOO_FEW_SERVERS,  # no suitable peers for placement
    10023: _TOO_FEW_SERVERS,  # insufficient resources
    10047: (  # insufficient storage resources available
        "the max_bytes of all streams and buckets must fit in the servers' JetStream storage "
        "(max_file_store): lower the APP_CONF__NATS__*_MAX_BYTES settings or give JetStream more"
    ),
}


class TopologyConflictError(RuntimeError):
    """Streams or buckets differ from the topology in ways provisioning will not change;
    ``problems`` holds one line each, naming the stream, the field and how to migrate."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Shape:
    """The fields of a stream's configuration that provisioning manages; None: not compared."""

    description: str
    num_replicas: int
    max_bytes: int
    max_age: float
    discard: DiscardPolicy
    retention: RetentionPolicy
    storage: StorageType
    duplicate_window: float
    subjects: frozenset[str] | None = None
    max_msgs_per_subject: int | None = None

    @classmethod
    def of(cls, config: StreamConfig) -> Shape:
        """What the server says, its defaults made explicit."""
        return cls(
            description=config.description or "",
            num_replicas=config.num_replicas or 1,
            max_bytes=config.max_bytes if config.max_bytes is not None else -1,
            max_age=config.max_age or 0.0,
            discard=DiscardPolicy(config.discard or DiscardPolicy.OLD),
            retention=RetentionPolicy(config.retention or RetentionPolicy.LIMITS),
            storage=StorageType(config.storage or StorageType.FILE),
            duplicate_window=config.duplicate_window or 0.0,
            subjects=frozenset(config.subjects or ()),
            max_msgs_per_subject=config.max_msgs_per_subject,
        )

    @classmethod
    def wanted(cls, target: Target, current: Shape) -> Shape:
        """What ``target`` asks of a stream that is ``current`` now."""
        window = target.duplicate_window_s
        if window is None:
            window = current.duplicate_window
        # JetStream refuses a duplicate window longer than the stream's max age.
        if target.max_age_s and window > target.max_age_s:
            window = target.max_age_s
        return cls(
            description=target.description,
            num_replicas=target.replicas,
            max_bytes=target.max_bytes,
            max_age=target.max_age_s,
            discard=target.discard,
            retention=target.retention,
            storage=target.storage,
            duplicate_window=window,
            subjects=frozenset(target.subjects) if target.subjects is not None else None,
            max_msgs_per_subject=target.history,
        )


@dataclass(frozen=True)
class Change:
    """One field of one stream that differs from its target."""

    field: str
    before: object
    after: object

    def __str__(self) -> str:
        return f"{_shown(self.field, self.before)} → {_shown(self.field, self.after)}"

    def value(self) -> object:
        """``after`` as the stream's configuration takes it."""
        return sorted(self.after) if isinstance(self.after, frozenset) else self.after


def _human(size: int) -> str:
    for unit, name in ((1024 * _MIB, "GiB"), (_MIB, "MiB"), (1024, "KiB")):
        if size >= unit:
            return f"{size / unit:.1f} {name}"
    return f"{size} B"


def _shown(field: str, value: object) -> str:
    if field == "max_bytes" and isinstance(value, int):
        return "unlimited" if value < 0 else f"{value} ({_human(value)})"
    if isinstance(value, frozenset):
        return ", ".join(sorted(value))
    return str(value.value if isinstance(value, Enum) else value)


def differences(current: Shape, wanted: Shape) -> list[Change]:
    """The fields where ``current`` differs from ``wanted``, in a stable order."""
    changes = []
    for field in fields(Shape):
        after = getattr(wanted, field.name)
        before = getattr(current, field.name)
        if after is not None and before != after:
            changes.append(Change(field.name, before, after))
    return changes


def _covers(wide: str, narrow: str) -> bool:
    """Whether every subject the filter ``narrow`` matches, ``wide`` matches too."""
    wide_parts, narrow_parts = wide.split("."), narrow.split(".")
    for index, part in enumerate(wide_parts):
        if part == ">":
            return len(narrow_parts) > index
        if index >= len(narrow_parts) or narrow_parts[index] == ">":
            return False
        if part not in {"*", narrow_parts[index]}:
            return False
    return len(wide_parts) == len(narrow_parts)


def _migrate(target: Target) -> str:
    stream = target.stream
    return (
        f"Migrate: back up with `nats stream backup {stream} <dir>`, delete it with "
        f"`nats stream rm {stream}`, then start again (it is created as declared) or restore "
        f"the backup with a corrected config (`nats stream restore <dir> --config <file>`)"
    )


def _where(target: Target) -> str:
    # A bucket is known by its name, JetStream's commands need its stream's.
    if target.stream == target.name:
        return target.label
    return f"{target.label} (JetStream stream {target.stream})"


def refusals(target: Target, info: StreamInfo, current: Shape, wanted: Shape) -> list[str]:
    """One line per change that must not be made in place, saying how to migrate."""
    where = _where(target)
    problems: list[str] = []
    if current.storage != wanted.storage:
        problems.append(
            f"{where}: storage is {current.storage.value}, the topology needs "
            f"{wanted.storage.value}, and JetStream cannot change it in place. " + _migrate(target)
        )
    if current.retention != wanted.retention and RetentionPolicy.WORK_QUEUE in (
        current.retention,
        wanted.retention,
    ):
        problems.append(
            f"{where}: retention is {current.retention.value}, the topology needs "
            f"{wanted.retention.value}, and JetStream cannot change it to or from work-queue "
            "in place. " + _migrate(target)
        )
    dropped: list[str] = []
    if current.subjects is not None and wanted.subjects is not None:
        wide = wanted.subjects
        dropped = [old for old in current.subjects if not any(_covers(w, old) for w in wide)]
    if dropped:
        problems.append(
            f"{where}: the topology drops its subjects {', '.join(sorted(dropped))}, whose "
            "messages and consumers would be orphaned. " + _migrate(target)
        )
    held = info.state.bytes
    shrinks = wanted.max_bytes != current.max_bytes and 0 < wanted.max_bytes < held
    if shrinks and wanted.discard is DiscardPolicy.NEW:
        problems.append(
            f"{where}: holds {_shown('max_bytes', held)}, more than "
            f"{target.max_bytes_setting} = {_shown('max_bytes', wanted.max_bytes)}, so it would "
            "refuse every write. Set it to at least what it holds, or make room in it first"
        )
    return problems


async def reconcile(js: JetStreamContext, target: Target, info: StreamInfo) -> list[Change]:
    """Update the stream of ``info`` to ``target`` and return what changed (nothing when it
    matches); ``TopologyConflictError`` when a change must not or cannot be made in place."""
    current = Shape.of(info.config)
    wanted = Shape.wanted(target, current)
    changes = differences(current, wanted)
    if not changes:
        return []
    problems = refusals(target, info, current, wanted)
    if problems:
        raise TopologyConflictError(problems)
    updated = info.config.evolve(**{change.field: change.value() for change in changes})
    try:
        await js.update_stream(updated)
    except (BadRequestError, ServerError) as error:
        raise refused_by_server(target, "change", changes, error) from error
    log.info(
        "stream reconciled",
        stream=target.stream,
        kind=target.kind.value,
        changes={change.field: str(change) for change in changes},
    )
    return changes


def refused_by_server(
    target: Target, action: str, changes: list[Change], error: BadRequestError | ServerError
) -> TopologyConflictError:
    """The configuration error that a refusal by nats-server stands for."""
    what = "; ".join(f"{change.field} {change}" for change in changes)
    line = (
        f"{_where(target)}: JetStream refused the {action}"
        f"{f' ({what})' if what else ''}: {error.description} (error {error.err_code})"
    )
    hint = _SERVER_HINTS.get(error.err_code or 0)
    return TopologyConflictError([f"{line}. {hint}" if hint else line])
