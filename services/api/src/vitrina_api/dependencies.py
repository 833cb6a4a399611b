"""What every route depends on: its use cases, taken from the application's state (set at
start), and a query string without parameters the route does not know."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from vitrina_common.services.shop_data import ShopData
from vitrina_common.services.tickets import Tickets


def _shop_data(request: Request) -> ShopData:
    shop_data: ShopData = request.app.state.shop_data
    return shop_data


ShopDataDep = Annotated[ShopData, Depends(_shop_data)]


def _tickets(request: Request) -> Tickets:
    tickets: Tickets = request.app.state.tickets
    return tickets


TicketsDep = Annotated[Tickets, Depends(_tickets)]


def _query_names(dependant: Dependant) -> frozenset[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return frozenset(names)


# By id: routes are not hashable, and they live as long as the application.
_KNOWN_QUERY: dict[int, frozenset[str]] = {}


async def _reject_unknown_query(request: Request) -> None:
    # A misspelt filter (?stauts=paid) would otherwise answer every row, looking filtered.
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known = _KNOWN_QUERY.get(id(route))
    if known is None:
        known = _KNOWN_QUERY[id(route)] = _query_names(route.dependant)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", name),
                    "msg": "unknown query parameter",
                    "type": "extra_forbidden",
                }
                for name in unknown
            ]
        )


RejectUnknownQuery = Depends(_reject_unknown_query)
