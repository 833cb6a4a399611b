"""The FastAPI application: routers under ``/api/v1``, problem details, OpenAPI at
``/api/openapi.json`` and Swagger UI at ``/api/docs``."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, FastAPI

from vitrina_api.metrics import install_request_metrics
from vitrina_api.openapi import problem_openapi
from vitrina_api.problems import install_problem_handlers
from vitrina_api.routes.orders import orders_router
from vitrina_api.routes.products import products_router
from vitrina_api.routes.purchases import purchases_router
from vitrina_api.routes.tickets import tickets_router
from vitrina_api.ticket_errors import install_ticket_errors
from vitrina_api.tracing import install_request_tracing
from vitrina_common.config import ApiSettings
from vitrina_common.services.api_tokens import AuthenticateApiToken
from vitrina_common.services.shop_data import ShopData
from vitrina_common.services.tickets import Tickets

DESCRIPTION = """Shop data and the support queue for integrations. Every request needs a
staff API token: `Authorization: Bearer vit_…` (`vitrina-ops api-token create --name …
--scope read`, and `--scope write` to answer and move tickets).
Lists are pages in id order: pass the `next_cursor` of one page as `cursor` to get the
next; it is null on the last page. Errors are RFC 9457 problem details."""


@dataclass(frozen=True)
class UseCases:
    """What the routes call."""

    authenticate: AuthenticateApiToken
    shop_data: ShopData
    tickets: Tickets


def create_app(settings: ApiSettings, use_cases: UseCases) -> FastAPI:
    """The application, its routes calling ``use_cases``."""
    app = FastAPI(
        title="Vitrina API",
        version="1",
        description=DESCRIPTION,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.authenticate = use_cases.authenticate
    app.state.shop_data = use_cases.shop_data
    app.state.tickets = use_cases.tickets
    install_problem_handlers(app)
    install_ticket_errors(app)
    v1 = APIRouter(prefix="/api/v1")
    v1.include_router(products_router(settings))
    v1.include_router(orders_router(settings))
    v1.include_router(purchases_router(settings))
    v1.include_router(tickets_router())
    app.include_router(v1)
    app.openapi = problem_openapi(app)  # type: ignore[method-assign]
    install_request_metrics(app)
    # Added last, so it runs first: the span covers the metrics middleware too.
    install_request_tracing(app)
    return app
