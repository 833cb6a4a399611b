"""Use cases the routes call, taken from the application's state (set at start)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from vitrina_common.services.shop_data import ShopData


def _shop_data(request: Request) -> ShopData:
    shop_data: ShopData = request.app.state.shop_data
    return shop_data


ShopDataDep = Annotated[ShopData, Depends(_shop_data)]
