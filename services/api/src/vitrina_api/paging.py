"""Cursor paging: ``limit`` and ``cursor`` in, ``items`` and ``next_cursor`` out.

A cursor is the last id of the previous page, as 8 big-endian bytes in unpadded base64url
(11 characters). Pages are keyset pages in id order, so rows inserted meanwhile never
shift or repeat a page. Every string the pattern admits decodes; one past the largest id
gives an empty last page.
"""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time,
# and they name values of the enclosing function.
import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Query

CURSOR_PATTERN = r"^[A-Za-z0-9_-]{11}$"
_MAX_ID = 2**63 - 1  # bigint


def encode_cursor(after: int) -> str:
    """The cursor that continues after id ``after``."""
    return base64.urlsafe_b64encode(after.to_bytes(8, "big")).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> int:
    """The id a cursor continues after (clamped to bigint: beyond it there are no rows)."""
    return min(int.from_bytes(base64.urlsafe_b64decode(cursor + "="), "big"), _MAX_ID)


@dataclass(frozen=True)
class PageRequest:
    """What page a list request asks for."""

    after: int | None
    limit: int


def page_request(default_size: int, max_size: int) -> Callable[..., PageRequest]:
    """A dependency reading ``limit`` (1..``max_size``, default ``default_size``) and
    ``cursor`` from the query."""

    def dependency(
        limit: Annotated[
            int, Query(ge=1, le=max_size, description="Items per page.")
        ] = default_size,
        cursor: Annotated[
            str | None,
            Query(
                pattern=CURSOR_PATTERN,
                description="`next_cursor` of the previous page; omit for the first page.",
            ),
        ] = None,
    ) -> PageRequest:
        return PageRequest(after=decode_cursor(cursor) if cursor else None, limit=limit)

    return dependency


def next_cursor(next_after: int | None) -> str | None:
    """The response's ``next_cursor``: None on the last page."""
    return encode_cursor(next_after) if next_after is not None else None
