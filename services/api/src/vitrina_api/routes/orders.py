"""``/api/v1/orders``: invoices sent to shoppers, paid or not; read-only."""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time,
# and they name values of the enclosing function.
from http import HTTPStatus
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from vitrina_api.auth import ReadAccess
from vitrina_api.dependencies import RejectUnknownQuery, ShopDataDep
from vitrina_api.paging import PageRequest, next_cursor, page_request
from vitrina_api.problems import ProblemError
from vitrina_api.schemas import Id, OrderOut, OrderPage, Since
from vitrina_common.config import ApiSettings
from vitrina_common.db.models import OrderStatus
from vitrina_common.services.shop_data import OrderFilter


def orders_router(settings: ApiSettings) -> APIRouter:
    """The orders routes with ``settings``' page sizes."""
    router = APIRouter(
        prefix="/orders", tags=["orders"], dependencies=[ReadAccess, RejectUnknownQuery]
    )
    paging = page_request(settings.page_size, settings.max_page_size)

    @router.get("", summary="List orders in id order")
    async def list_orders(
        shop: ShopDataDep,
        page: Annotated[PageRequest, Depends(paging)],
        user_id: Annotated[Id | None, Query(description="The shop's user id.")] = None,
        telegram_user_id: Annotated[Id | None, Query()] = None,
        product_id: Annotated[Id | None, Query()] = None,
        status: Annotated[OrderStatus | None, Query()] = None,
        since: Annotated[Since | None, Query(description="Created at or after.")] = None,
    ) -> OrderPage:
        where = OrderFilter(
            user_id=user_id,
            telegram_user_id=telegram_user_id,
            product_id=product_id,
            status=status,
            since=since,
        )
        result = await shop.orders(where, page.after, page.limit)
        return OrderPage(
            items=[OrderOut.model_validate(row) for row in result.items],
            next_cursor=next_cursor(result.next_after),
        )

    @router.get("/{order_id}", summary="Get one order")
    async def get_order(shop: ShopDataDep, order_id: Annotated[Id, Path()]) -> OrderOut:
        row = await shop.order(order_id)
        if row is None:
            raise ProblemError(HTTPStatus.NOT_FOUND, "not-found", f"no order {order_id}")
        return OrderOut.model_validate(row)

    return router
