"""``/api/v1/tickets``: the support queue for a helpdesk. Reads need the ``read`` scope,
changes ``write``; what the shopper must hear goes through the outbox (the use cases)."""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time,
# and they name values of the enclosing function.
from datetime import timedelta
from http import HTTPStatus
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from vitrina_api.auth import ReadAccess, WriteAccess, require
from vitrina_api.dependencies import RejectUnknownQuery, TicketsDep
from vitrina_api.openapi import CONFLICTS
from vitrina_api.schemas import Id
from vitrina_api.ticket_schemas import (
    CommentAddedOut,
    CommentOut,
    NewComment,
    NewTicket,
    TicketDetailsOut,
    TicketOut,
    TicketPageOut,
    Transition,
)
from vitrina_common.db.models import ApiScope, TicketStatus
from vitrina_common.services.api_tokens import Principal
from vitrina_common.services.tickets import ApiClient, Shopper, TicketFilter
from vitrina_common.services.tickets.views import MAX_PAGE_SIZE

TicketId = Annotated[Id, Path()]
Reader = Annotated[Principal, Depends(require(ApiScope.READ))]
Writer = Annotated[Principal, Depends(require(ApiScope.WRITE))]
_MAX_AGE_HOURS = 24 * 365 * 10


def _client(principal: Principal) -> ApiClient:
    return ApiClient(token_id=principal.token_id, scopes=principal.scopes)


def _ticket_filter(
    status: Annotated[list[TicketStatus] | None, Query(description="Any of these.")] = None,
    assignee: Annotated[Id | None, Query(description="The admin's Telegram id.")] = None,
    unassigned: Annotated[bool, Query(description="Only tickets nobody took.")] = False,
    author: Annotated[Id | None, Query(description="The shopper's Telegram id.")] = None,
    older_than_hours: Annotated[int | None, Query(ge=0, le=_MAX_AGE_HOURS)] = None,
    oldest_first: bool = False,
) -> TicketFilter:
    return TicketFilter(
        statuses=frozenset(status) if status else None,
        older_than=timedelta(hours=older_than_hours) if older_than_hours is not None else None,
        assignee_telegram_id=assignee,
        unassigned=unassigned,
        author_telegram_id=author,
        oldest_first=oldest_first,
    )


def tickets_router() -> APIRouter:
    """The ticket routes."""
    router = APIRouter(prefix="/tickets", tags=["tickets"], dependencies=[RejectUnknownQuery])

    @router.get("", summary="List tickets, newest first", dependencies=[ReadAccess])
    async def list_tickets(
        tickets: TicketsDep,
        principal: Reader,
        filters: Annotated[TicketFilter, Depends(_ticket_filter)],
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
        cursor: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]+$", max_length=200)] = None,
    ) -> TicketPageOut:
        page = await tickets.list_tickets(_client(principal), filters, cursor=cursor, limit=limit)
        return TicketPageOut.model_validate(page, from_attributes=True)

    @router.get("/{ticket_id}", summary="Get a ticket with its latest comments")
    async def get_ticket(
        tickets: TicketsDep, principal: Reader, ticket_id: TicketId
    ) -> TicketDetailsOut:
        details = await tickets.get(_client(principal), ticket_id)
        return TicketDetailsOut(
            ticket=TicketOut.model_validate(details.ticket),
            product_title=details.product_title,
            comments=[CommentOut.model_validate(comment) for comment in details.comments],
            allowed_moves=sorted(details.allowed_moves),
        )

    @router.post(
        "",
        status_code=HTTPStatus.CREATED,
        summary="Open a ticket on a shopper's behalf",
        dependencies=[WriteAccess],
    )
    async def open_ticket(tickets: TicketsDep, body: NewTicket) -> TicketOut:
        summary = await tickets.open_ticket(
            Shopper(body.author_telegram_id),
            body.text,
            subject=body.subject,
            purchase_id=body.purchase_id,
        )
        return TicketOut.model_validate(summary)

    @router.post(
        "/{ticket_id}/comments",
        status_code=HTTPStatus.CREATED,
        summary="Answer a ticket (the shopper is told in Telegram)",
        openapi_extra=CONFLICTS,
    )
    async def add_comment(
        tickets: TicketsDep, principal: Writer, ticket_id: TicketId, body: NewComment
    ) -> CommentAddedOut:
        added = await tickets.add_comment(_client(principal), ticket_id, body.text)
        return CommentAddedOut.model_validate(added, from_attributes=True)

    @router.post(
        "/{ticket_id}/transitions", summary="Move a ticket, e.g. close it", openapi_extra=CONFLICTS
    )
    async def transition(
        tickets: TicketsDep, principal: Writer, ticket_id: TicketId, body: Transition
    ) -> TicketOut:
        summary = await tickets.transition(
            _client(principal), ticket_id, body.to, expected=body.expected
        )
        return TicketOut.model_validate(summary)

    return router
