"""Who acts on a ticket. Every use case takes one, and decides from it what is allowed:
the bot passes a shopper or an admin, the HTTP API a token with its scopes."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from vitrina_common.db.models import ActorKind, ApiScope
from vitrina_common.repositories.tickets import ActorRef
from vitrina_common.services.tickets.errors import MissingScope, NotYourTicket, StaffOnly


@dataclass(frozen=True)
class Shopper:
    """A shopper, by Telegram id: sees and touches only the tickets they opened."""

    telegram_id: int


@dataclass(frozen=True)
class Staff:
    """A shop admin in the bot, by Telegram id; refused unless the id is an admin's."""

    telegram_id: int


@dataclass(frozen=True)
class ApiClient:
    """A helpdesk through the HTTP API, by its token's id and scopes (``ApiScope``)."""

    token_id: int
    scopes: frozenset[ApiScope]


Actor = Shopper | Staff | ApiClient


def actor_ref(actor: Actor) -> ActorRef:
    """How ``actor`` is recorded on comments and events."""
    if isinstance(actor, Shopper):
        return ActorRef(ActorKind.AUTHOR, actor.telegram_id, None)
    if isinstance(actor, Staff):
        return ActorRef(ActorKind.STAFF, actor.telegram_id, None)
    return ActorRef(ActorKind.API_TOKEN, None, actor.token_id)


class Access:
    """The access rules, in one place; each method raises or returns."""

    def __init__(self, staff_ids: Collection[int]) -> None:
        self._staff_ids = frozenset(staff_ids)

    def is_staff(self, actor: Actor) -> bool:
        """Whether ``actor`` speaks for the shop (an admin, or any API token)."""
        return isinstance(actor, ApiClient) or (
            isinstance(actor, Staff) and actor.telegram_id in self._staff_ids
        )

    def require_staff(self, actor: Actor, scope: ApiScope) -> None:
        """Only the shop: an admin, or a token with ``scope``."""
        if isinstance(actor, ApiClient):
            if scope not in actor.scopes:
                raise MissingScope(scope)
            return
        if not self.is_staff(actor):
            raise StaffOnly

    def require_ticket(
        self, actor: Actor, scope: ApiScope, ticket_id: int, author_telegram_id: int
    ) -> None:
        """The ticket's author, or the shop (a token with ``scope``)."""
        if isinstance(actor, Shopper):
            if actor.telegram_id != author_telegram_id:
                raise NotYourTicket(ticket_id)
            return
        self.require_staff(actor, scope)

    def is_staff_id(self, telegram_id: int) -> bool:
        """Whether ``telegram_id`` is an admin's (a ticket may be assigned to them)."""
        return telegram_id in self._staff_ids
