"""Unique dialog intent ids.

aiogram-dialog names each opened dialog ``time() % 1e8 + randint(0, 99) * 1e8``: two dialogs
opened in one chat within the same second get the same id one time in a hundred, and the
second then overwrites the first's context (the shopper's next tap lands on the wrong
screen or on "menu out of date"). The benchmark hit it at ~1% of /start → Catalog cycles.
Until upstream changes it (Tishka17/aiogram_dialog PR #501), ids here are 44 random bits:
eight characters in callback data, and no collision in practice.
"""

from __future__ import annotations

import secrets

from aiogram_dialog.api.entities import stack

INTENT_ID_BITS = 44


def new_intent_id() -> str:
    """A random intent id in aiogram-dialog's own alphabet."""
    return stack.id_to_str(secrets.randbits(INTENT_ID_BITS))


def install() -> None:
    """Make aiogram-dialog open every new dialog under a random id (idempotent)."""
    # Stack.push looks ``new_id`` up in its module at call time, so this replaces it there.
    stack.new_id = new_intent_id
