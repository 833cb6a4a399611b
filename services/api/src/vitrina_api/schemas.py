"""What the API answers: response bodies and the filters' types."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from vitrina_common.db.models import OrderStatus, ProductStatus, PurchaseStatus

MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# An id in a JSON body is a JSON integer: pydantic's lax mode would also take true, 1.0 or
# "7", which the OpenAPI document calls invalid. Path and query ids arrive as text, so Id
# stays lax.
BodyId = Annotated[int, Field(ge=1, le=MAX_ID, strict=True)]


# RFC 3339 as OpenAPI's date-time means it; pydantic alone would also take a number of seconds.
_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})"
)


def _rfc3339(value: object) -> object:
    if isinstance(value, str) and not _DATE_TIME.fullmatch(value):
        raise ValueError("must be an RFC 3339 date-time with an offset, e.g. 2026-11-01T00:00:00Z")
    return value


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range once converted to UTC") from None


Since = Annotated[AwareDatetime, BeforeValidator(_rfc3339), AfterValidator(_in_utc)]


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ProductOut(_Out):
    """A product as integrations see it (no storage keys, no Telegram file ids)."""

    id: int
    title: str
    description: str
    price_stars: int = Field(description="Price in Telegram Stars.")
    status: ProductStatus
    edition_size: int | None = Field(description="Copies a limited edition sells; null: unlimited.")
    category_id: int
    category_title: str
    created_at: datetime
    updated_at: datetime


class OrderOut(_Out):
    """An order: an invoice sent to a shopper, paid or not."""

    id: int
    user_id: int
    telegram_user_id: int
    product_id: int
    price_stars: int
    status: OrderStatus
    created_at: datetime
    expires_at: datetime
    paid_at: datetime | None


class PurchaseOut(_Out):
    """A purchase: a charge that became a delivered copy (refunded ones included)."""

    id: int
    order_id: int
    user_id: int
    telegram_user_id: int
    product_id: int
    price_stars: int
    status: PurchaseStatus
    telegram_payment_charge_id: str
    created_at: datetime
    refunded_at: datetime | None


class ProductPage(BaseModel):
    """A page of products; ``next_cursor`` is null on the last page."""

    items: list[ProductOut]
    next_cursor: str | None


class OrderPage(BaseModel):
    """A page of orders; ``next_cursor`` is null on the last page."""

    items: list[OrderOut]
    next_cursor: str | None


class PurchasePage(BaseModel):
    """A page of purchases; ``next_cursor`` is null on the last page."""

    items: list[PurchaseOut]
    next_cursor: str | None
