"""The OpenAPI document, with every error response the API can give documented as
``application/problem+json``: 401 and 403 on every authenticated operation, 404 on every
operation with a path parameter, 400 (not JSON) where a body is read, 422 (with field
errors) wherever input is validated, 409 where a route says its use case can refuse for
the item's state.

FastAPI documents its own 422 body under ``application/json``; that is replaced here, so
a schema-driven client (or tester) finds no status or media type the document omits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from vitrina_api.problems import (
    PROBLEM_MEDIA_TYPE,
    ConflictProblem,
    Problem,
    ValidationProblem,
)

_REF = "#/components/schemas/{model}"


def _problem(description: str, model: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": _REF.format(model=model)}}},
    }
    if headers:
        response["headers"] = headers
    return response


_UNAUTHORIZED = _problem(
    "No token, or an unknown or revoked one.",
    "Problem",
    {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}},
)
_FORBIDDEN = _problem("The token lacks the scope this operation needs.", "Problem")
_NOT_FOUND = _problem("No such item.", "Problem")
_INVALID = _problem("Invalid parameters or body; `errors` says which.", "ValidationProblem")
_MALFORMED = _problem("The body is not JSON.", "Problem")
_CONFLICT = _problem("The item's state forbids this now (see `allowed`).", "ConflictProblem")
# Set on a route (openapi_extra) whose use case can refuse with 409.
CONFLICTS: dict[str, Any] = {"x-vitrina-conflicts": True}


def _component_schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for model in (Problem, ValidationProblem, ConflictProblem):
        schema = model.model_json_schema(ref_template=_REF, mode="serialization")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas


def _document_problems(path: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    if operation.get("security"):
        responses["401"] = _UNAUTHORIZED
        responses["403"] = _FORBIDDEN
    if "{" in path:
        responses["404"] = _NOT_FOUND
    if "422" in responses:
        responses["422"] = _INVALID
    if "requestBody" in operation:
        responses["400"] = _MALFORMED
    if operation.pop("x-vitrina-conflicts", False):
        responses["409"] = _CONFLICT


def problem_openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """``app.openapi``: FastAPI's document with the problem responses added."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        schemas.update(_component_schemas())
        for path, item in document.get("paths", {}).items():
            for operation in item.values():
                _document_problems(path, operation)
        app.openapi_schema = document
        return document

    return openapi
