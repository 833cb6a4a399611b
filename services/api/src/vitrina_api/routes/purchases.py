"""``/api/v1/purchases``: charges that became copies (refunded ones included); read-only."""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time,
# and they name values of the enclosing function.
from http import HTTPStatus
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from vitrina_api.auth import ReadAccess
from vitrina_api.dependencies import RejectUnknownQuery, ShopDataDep
from vitrina_api.paging import PageRequest, next_cursor, page_request
from vitrina_api.problems import ProblemError
from vitrina_api.schemas import Id, PurchaseOut, PurchasePage, Since
from vitrina_common.config import ApiSettings
from vitrina_common.db.models import PurchaseStatus
from vitrina_common.services.shop_data import PurchaseFilter


def purchases_router(settings: ApiSettings) -> APIRouter:
    """The purchases routes with ``settings``' page sizes."""
    router = APIRouter(
        prefix="/purchases", tags=["purchases"], dependencies=[ReadAccess, RejectUnknownQuery]
    )
    paging = page_request(settings.page_size, settings.max_page_size)

    @router.get("", summary="List purchases in id order")
    async def list_purchases(
        shop: ShopDataDep,
        page: Annotated[PageRequest, Depends(paging)],
        user_id: Annotated[Id | None, Query(description="The shop's user id.")] = None,
        telegram_user_id: Annotated[Id | None, Query()] = None,
        product_id: Annotated[Id | None, Query()] = None,
        status: Annotated[PurchaseStatus | None, Query()] = None,
        since: Annotated[Since | None, Query(description="Purchased at or after.")] = None,
    ) -> PurchasePage:
        where = PurchaseFilter(
            user_id=user_id,
            telegram_user_id=telegram_user_id,
            product_id=product_id,
            status=status,
            since=since,
        )
        result = await shop.purchases(where, page.after, page.limit)
        return PurchasePage(
            items=[PurchaseOut.model_validate(row) for row in result.items],
            next_cursor=next_cursor(result.next_after),
        )

    @router.get("/{purchase_id}", summary="Get one purchase")
    async def get_purchase(shop: ShopDataDep, purchase_id: Annotated[Id, Path()]) -> PurchaseOut:
        row = await shop.purchase(purchase_id)
        if row is None:
            raise ProblemError(HTTPStatus.NOT_FOUND, "not-found", f"no purchase {purchase_id}")
        return PurchaseOut.model_validate(row)

    return router
