"""What each stream and bucket should look like: the topology's declaration plus the
settings (replicas, ``max_bytes``), as the JetStream stream that holds it.

A Key-Value bucket is the stream ``KV_<bucket>`` and an Object Store bucket the stream
``OBJ_<bucket>``; their targets say what the NATS client sets when it creates them, so a
bucket fresh from the client already matches and only what drifted since is changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType

from vitrina_common.config import ENV_PREFIX, NatsSettings
from vitrina_common.messaging.topology import (
    ARTIFACTS_BUCKET,
    CHAT_LOCKS_BUCKET,
    EVENTS_STREAM,
    FSM_BUCKET,
    IMPORTS_BUCKET,
    JOBS_STREAM,
    KV_BUCKETS,
    OBJECT_BUCKETS,
    ORIGINALS_BUCKET,
    PREVIEWS_BUCKET,
    SEND_BUDGET_BUCKET,
    STORAGE,
    STREAMS,
    BucketSpec,
    StreamSpec,
)

# The NATS clients give a Key-Value bucket this duplicate window, or its TTL if shorter.
_KV_DUPLICATE_WINDOW_S = 120.0

# Which setting gives each stream and bucket its max_bytes (a field of JetStreamLimits).
_MAX_BYTES: dict[str, Callable[[NatsSettings], int]] = {
    JOBS_STREAM.name: lambda nats: nats.jobs_max_bytes,
    EVENTS_STREAM.name: lambda nats: nats.events_max_bytes,
    ORIGINALS_BUCKET.name: lambda nats: nats.originals_max_bytes,
    PREVIEWS_BUCKET.name: lambda nats: nats.previews_max_bytes,
    ARTIFACTS_BUCKET.name: lambda nats: nats.artifacts_max_bytes,
    IMPORTS_BUCKET.name: lambda nats: nats.imports_max_bytes,
    FSM_BUCKET.name: lambda nats: nats.fsm_max_bytes,
    CHAT_LOCKS_BUCKET.name: lambda nats: nats.chat_locks_max_bytes,
    SEND_BUDGET_BUCKET.name: lambda nats: nats.send_budget_max_bytes,
}


class TargetKind(StrEnum):
    STREAM = "stream"
    KEY_VALUE = "key-value bucket"
    OBJECT_STORE = "object store"


@dataclass(frozen=True)
class Target:
    """The settings of one JetStream stream that provisioning creates and keeps."""

    kind: TargetKind
    # What an operator knows it by (JOBS, originals) and JetStream's name (OBJ_originals).
    name: str
    stream: str
    description: str
    replicas: int
    max_bytes: int
    # Seconds; 0 keeps messages until another limit removes them.
    max_age_s: float
    discard: DiscardPolicy
    retention: RetentionPolicy
    storage: StorageType
    # None: not ours to manage (a bucket's subjects and window are the client's).
    subjects: tuple[str, ...] | None
    duplicate_window_s: float | None
    # Key-Value history: revisions kept per key (the stream's max_msgs_per_subject).
    history: int | None
    # The variable that sets max_bytes, for messages that tell an operator what to change.
    max_bytes_setting: str

    @property
    def label(self) -> str:
        """How messages name it: ``object store originals``."""
        return f"{self.kind.value} {self.name}"


def _setting_name(name: str) -> str:
    return f"{ENV_PREFIX}NATS__{name.upper().replace('-', '_')}_MAX_BYTES"


def stream_target(spec: StreamSpec, replicas: int, max_bytes: int) -> Target:
    """A stream as ``spec`` declares it."""
    return Target(
        kind=TargetKind.STREAM,
        name=spec.name,
        stream=spec.name,
        description=spec.description,
        replicas=replicas,
        max_bytes=max_bytes,
        max_age_s=spec.max_age.total_seconds() if spec.max_age else 0.0,
        discard=spec.discard,
        retention=spec.retention,
        storage=STORAGE,
        subjects=spec.subjects,
        duplicate_window_s=spec.duplicate_window.total_seconds(),
        history=None,
        max_bytes_setting=_setting_name(spec.name),
    )


def bucket_target(kind: TargetKind, spec: BucketSpec, replicas: int, max_bytes: int) -> Target:
    """A Key-Value or Object Store bucket as ``spec`` declares it."""
    ttl_s = spec.ttl.total_seconds() if spec.ttl else 0.0
    key_value = kind is TargetKind.KEY_VALUE
    window = min(_KV_DUPLICATE_WINDOW_S, ttl_s or _KV_DUPLICATE_WINDOW_S) if key_value else None
    return Target(
        kind=kind,
        name=spec.name,
        stream=f"{'KV' if key_value else 'OBJ'}_{spec.name}",
        description=spec.description,
        replicas=replicas,
        max_bytes=max_bytes,
        max_age_s=ttl_s,
        discard=DiscardPolicy.NEW,
        retention=RetentionPolicy.LIMITS,
        storage=STORAGE,
        subjects=None,
        duplicate_window_s=window,
        history=spec.history if key_value else None,
        max_bytes_setting=_setting_name(spec.name),
    )


def topology_targets(nats: NatsSettings) -> list[Target]:
    """Every stream and bucket of the topology, with the replicas and sizes of ``nats``."""
    replicas = nats.stream_replicas
    return [
        *(stream_target(spec, replicas, _MAX_BYTES[spec.name](nats)) for spec in STREAMS),
        *(
            bucket_target(TargetKind.OBJECT_STORE, spec, replicas, _MAX_BYTES[spec.name](nats))
            for spec in OBJECT_BUCKETS
        ),
        *(
            bucket_target(TargetKind.KEY_VALUE, spec, replicas, _MAX_BYTES[spec.name](nats))
            for spec in KV_BUCKETS
        ),
    ]
