"""The ticket use cases' refusals as problem details: not found 404, access 403, state 409
(an illegal move lists the ``allowed`` ones), input 422 (with ``errors`` like validation)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from vitrina_api.problems import PROBLEM_BASE, problem_response
from vitrina_common.services.tickets import (
    AccessDenied,
    IllegalTransition,
    InvalidTicketInput,
    TicketChanged,
    TicketClosed,
    TicketError,
    TicketNotFound,
)

# Where each input the use cases check comes from in a request.
_LOCATIONS = {"cursor": "query"}


def _response(request: Request, error: TicketError) -> JSONResponse:
    if isinstance(error, TicketNotFound):
        return problem_response(
            request, HTTPStatus.NOT_FOUND, type_=PROBLEM_BASE + "not-found", detail=str(error)
        )
    if isinstance(error, AccessDenied):
        return problem_response(
            request, HTTPStatus.FORBIDDEN, type_=PROBLEM_BASE + "forbidden", detail=str(error)
        )
    if isinstance(error, InvalidTicketInput):
        where = _LOCATIONS.get(error.field, "body")
        return problem_response(
            request,
            HTTPStatus.UNPROCESSABLE_ENTITY,
            type_=PROBLEM_BASE + "validation",
            detail=str(error),
            errors=[{"loc": [where, error.field], "msg": str(error), "type": error.problem}],
        )
    return _conflict(request, error)


def _conflict(request: Request, error: TicketError) -> JSONResponse:
    # TicketConflict and its kinds: the ticket's state forbids this now.
    extensions: dict[str, Any] = {}
    slug = "ticket-conflict"
    if isinstance(error, IllegalTransition):
        slug = "illegal-transition"
        extensions = {"current": error.current, "allowed": sorted(error.allowed)}
    elif isinstance(error, TicketClosed):
        slug = "ticket-closed"
        extensions = {"allowed": []}
    elif isinstance(error, TicketChanged):
        slug = "ticket-changed"
        extensions = {"current": error.current}
    return problem_response(
        request, HTTPStatus.CONFLICT, type_=PROBLEM_BASE + slug, detail=str(error), **extensions
    )


async def _ticket_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, TicketError)  # noqa: S101  (registered for this type only)
    return _response(request, error)


def install_ticket_errors(app: FastAPI) -> None:
    """Answer the ticket use cases' refusals as problem details."""
    app.add_exception_handler(TicketError, _ticket_error)
