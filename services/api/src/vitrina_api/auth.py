"""Staff API tokens on every route: ``Authorization: Bearer vit_…``.

No, malformed, unknown or revoked token: 401 with ``WWW-Authenticate: Bearer``; a live
token without the route's scope: 403.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from vitrina_api.problems import ProblemError
from vitrina_common.db.models import ApiScope
from vitrina_common.services.api_tokens import AuthenticateApiToken, Principal

REALM = 'Bearer realm="vitrina"'

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="apiToken",
    description="A staff API token (`vitrina-ops api-token create --name … --scope read`).",
)


def _unauthorized(detail: str, *, invalid: bool) -> ProblemError:
    challenge = f'{REALM}, error="invalid_token"' if invalid else REALM
    return ProblemError(
        HTTPStatus.UNAUTHORIZED,
        "invalid-token" if invalid else "missing-token",
        detail,
        headers={"WWW-Authenticate": challenge},
    )


def require(scope: ApiScope) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits live tokens holding ``scope``."""

    async def authenticated(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Principal:
        if credentials is None:
            raise _unauthorized("send Authorization: Bearer <token>", invalid=False)
        authenticate: AuthenticateApiToken = request.app.state.authenticate
        principal = await authenticate(credentials.credentials)
        if principal is None:
            raise _unauthorized("the token is unknown or revoked", invalid=True)
        if scope not in principal.scopes:
            raise ProblemError(
                HTTPStatus.FORBIDDEN,
                "insufficient-scope",
                f"this token lacks the {scope.value!r} scope",
            )
        return principal

    return authenticated


ReadAccess = Depends(require(ApiScope.READ))
WriteAccess = Depends(require(ApiScope.WRITE))
