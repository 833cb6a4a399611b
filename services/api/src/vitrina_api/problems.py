"""RFC 9457 problem details: every error of the API is ``application/problem+json``.

``type`` is a relative URI under ``/api/problems/`` naming the kind of problem (or
``about:blank`` when the status says it all), ``title`` is short and fixed per type,
``detail`` is about this occurrence, ``instance`` is the request's path. Extension members
(``errors`` of a 422, ``allowed`` of a 409) sit beside them.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from vitrina_common.logging import get_logger

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "/api/problems/"
log = get_logger(__name__)


class Problem(BaseModel):
    """An error, as RFC 9457 problem details."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(default="about:blank", examples=["/api/problems/invalid-token"])
    title: str = Field(examples=["Unauthorized"])
    status: int = Field(ge=400, le=599, examples=[401])
    detail: str | None = Field(default=None, examples=["the token is unknown or revoked"])
    instance: str | None = Field(default=None, examples=["/api/v1/products"])


class FieldError(BaseModel):
    """One invalid input: where (``loc``, e.g. ``["query", "limit"]``) and why."""

    loc: list[str | int]
    msg: str
    type: str


class ValidationProblem(Problem):
    """A 422: the request's parameters or body did not validate."""

    errors: list[FieldError]


class ConflictProblem(Problem):
    """A 409: the item's state forbids this now. An illegal move lists the ``allowed``
    ones (empty for a closed ticket) and the ``current`` status."""

    current: str | None = None
    allowed: list[str] | None = None


class ProblemError(Exception):
    """Raised by routes and dependencies; answered as a problem response."""

    def __init__(
        self,
        status: HTTPStatus,
        slug: str | None = None,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or status.phrase)
        self.status = status
        self.type = PROBLEM_BASE + slug if slug else "about:blank"
        self.detail = detail
        self.headers = headers or {}
        self.extensions = extensions


def problem_response(
    request: Request,
    status: int,
    *,
    type_: str = "about:blank",
    detail: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """A problem+json response for ``request``."""
    body: dict[str, Any] = {
        "type": type_,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extensions,
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


async def _problem_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ProblemError)  # noqa: S101  (registered for this type only)
    return problem_response(
        request,
        error.status,
        type_=error.type,
        detail=error.detail,
        headers=error.headers,
        **error.extensions,
    )


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    # Starlette's own: unknown routes (404), wrong methods (405, with its Allow header).
    assert isinstance(error, StarletteHTTPException)  # noqa: S101
    phrase = HTTPStatus(error.status_code).phrase
    detail = None if error.detail == phrase else str(error.detail)
    headers = dict(error.headers) if error.headers else None
    return problem_response(request, error.status_code, detail=detail, headers=headers)


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)  # noqa: S101
    errors = [
        {
            "loc": [part if isinstance(part, int) else str(part) for part in item["loc"]],
            "msg": str(item["msg"]),
            "type": str(item["type"]),
        }
        for item in error.errors()
    ]
    return problem_response(
        request,
        HTTPStatus.UNPROCESSABLE_ENTITY,
        type_=PROBLEM_BASE + "validation",
        detail="the request's parameters or body are invalid; see errors",
        errors=errors,
    )


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.error("request failed", path=request.url.path, method=request.method, exc_info=error)
    return problem_response(request, HTTPStatus.INTERNAL_SERVER_ERROR)


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` as problem details."""
    app.add_exception_handler(ProblemError, _problem_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
