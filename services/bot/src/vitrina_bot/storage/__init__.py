"""Persistent FSM storage for aiogram and aiogram-dialog: a NATS JetStream Key-Value bucket."""

from vitrina_bot.storage.keys import decode_key, encode_key
from vitrina_bot.storage.nats_kv import NatsKVStorage, StorageConflictError, default_key_builder

__all__ = [
    "NatsKVStorage",
    "StorageConflictError",
    "decode_key",
    "default_key_builder",
    "encode_key",
]
