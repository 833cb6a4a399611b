"""``/api/v1/products``: the catalog, read-only."""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time,
# and they name values of the enclosing function.
from http import HTTPStatus
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from vitrina_api.auth import ReadAccess
from vitrina_api.dependencies import RejectUnknownQuery, ShopDataDep
from vitrina_api.paging import PageRequest, next_cursor, page_request
from vitrina_api.problems import ProblemError
from vitrina_api.schemas import Id, ProductOut, ProductPage, Since
from vitrina_common.config import ApiSettings
from vitrina_common.db.models import ProductStatus
from vitrina_common.services.shop_data import ProductFilter


def products_router(settings: ApiSettings) -> APIRouter:
    """The products routes with ``settings``' page sizes."""
    router = APIRouter(
        prefix="/products", tags=["products"], dependencies=[ReadAccess, RejectUnknownQuery]
    )
    paging = page_request(settings.page_size, settings.max_page_size)

    @router.get("", summary="List products in id order")
    async def list_products(
        shop: ShopDataDep,
        page: Annotated[PageRequest, Depends(paging)],
        category_id: Annotated[Id | None, Query()] = None,
        status: Annotated[ProductStatus | None, Query()] = None,
        since: Annotated[Since | None, Query(description="Created at or after.")] = None,
    ) -> ProductPage:
        where = ProductFilter(category_id=category_id, status=status, since=since)
        result = await shop.products(where, page.after, page.limit)
        return ProductPage(
            items=[ProductOut.model_validate(row) for row in result.items],
            next_cursor=next_cursor(result.next_after),
        )

    @router.get("/{product_id}", summary="Get one product")
    async def get_product(shop: ShopDataDep, product_id: Annotated[Id, Path()]) -> ProductOut:
        row = await shop.product(product_id)
        if row is None:
            raise ProblemError(HTTPStatus.NOT_FOUND, "not-found", f"no product {product_id}")
        return ProductOut.model_validate(row)

    return router
