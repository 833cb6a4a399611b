"""The subjects each JetStream operation of nats.py publishes to, for granting exactly those.

- a stream's or bucket's info: ``$JS.API.STREAM.INFO.<stream>``;
- creating or updating a durable consumer: ``$JS.API.CONSUMER.CREATE.<stream>.<name>.<filter>``;
  pulling from it ``$JS.API.CONSUMER.MSG.NEXT.<stream>.<name>``, settling a message (ack,
  nak, term, in progress) its reply subject ``$JS.ACK.<stream>.<name>.…``;
- reading an object: its metadata ``$JS.API.STREAM.MSG.GET.OBJ_<bucket>`` (which can fetch
  any message of the bucket), its chunks through an ordered consumer
  (``$JS.API.STREAM.NAMES`` to find the stream, ``$JS.API.CONSUMER.CREATE.OBJ_<bucket>``,
  flow control ``$JS.FC.OBJ_<bucket>.…``); writing one ``$O.<bucket>.C.…`` and ``.M.…``;
  replacing or deleting one also purges its old chunks, ``$JS.API.STREAM.PURGE.OBJ_<bucket>``
  (the purge's filter is in the request body: whoever may purge a bucket may empty it);
- Key-Value: writes ``$KV.<bucket>.…``, reads ``$JS.API.STREAM.MSG.GET.KV_<bucket>`` or, on a
  bucket with direct gets, ``$JS.API.DIRECT.GET.KV_<bucket>…``.
"""

from __future__ import annotations

from collections.abc import Iterable

from vitrina_common.messaging.topology import BucketSpec, ConsumerSpec

API = "$JS.API"


def object_stream(bucket: BucketSpec) -> str:
    """The stream that holds an Object Store bucket."""
    return f"OBJ_{bucket.name}"


def stream_info(streams: Iterable[str]) -> list[str]:
    """Reading the configuration and state of ``streams`` (binding a bucket does it)."""
    return [*(f"{API}.STREAM.INFO.{stream}" for stream in streams), f"{API}.STREAM.NAMES"]


def pull(spec: ConsumerSpec) -> list[str]:
    """Create or update, pull from and settle the messages of one durable consumer."""
    name = f"{spec.stream}.{spec.durable}"
    return [
        f"{API}.CONSUMER.CREATE.{name}.>",
        f"{API}.CONSUMER.INFO.{name}",
        f"{API}.CONSUMER.MSG.NEXT.{name}",
        f"$JS.ACK.{name}.>",
    ]


def look_up(bucket: BucketSpec) -> list[str]:
    """Whether an object exists (a message get: it can read any message of the bucket)."""
    return [f"{API}.STREAM.MSG.GET.{object_stream(bucket)}"]


def read(bucket: BucketSpec) -> list[str]:
    """Reading objects whole."""
    stream = object_stream(bucket)
    return [*look_up(bucket), f"{API}.CONSUMER.CREATE.{stream}", f"$JS.FC.{stream}.>"]


def write(bucket: BucketSpec) -> list[str]:
    """Storing objects (chunks and metadata)."""
    return [f"$O.{bucket.name}.>"]


def replace(bucket: BucketSpec) -> list[str]:
    """Overwriting or deleting objects, which purges their old chunks."""
    return [f"{API}.STREAM.PURGE.{object_stream(bucket)}"]


def key_value(bucket: BucketSpec) -> list[str]:
    """Reading and writing the keys of a Key-Value bucket."""
    stream = f"KV_{bucket.name}"
    return [
        f"$KV.{bucket.name}.>",
        f"{API}.STREAM.MSG.GET.{stream}",
        f"{API}.DIRECT.GET.{stream}",
        f"{API}.DIRECT.GET.{stream}.>",
    ]
