"""What a shopper's tap costs the bot, counted under the real bot wiring against a real
Postgres and NATS and the fake Bot API (``tests.bot_costs``, run in a process of its own by
``bench.bot_costs``). These counts do not depend on load: a change that adds a query or a KV
operation to a page turn fails here, not in a benchmark nobody reran."""

from __future__ import annotations

import pytest
from nats.aio.client import Client

from bench.bot import stock
from bench.bot_costs import ScreenCost, screen_costs
from devstack.nats import NatsServer
from vitrina_common.config import BotMode

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]

# A page turn answers the press and edits the page in place: two Bot API calls.
PAGE_TURN_CALLS = 2


def _cost_of(table: list[ScreenCost], name: str) -> ScreenCost:
    return next(screen for screen in table if screen.name == name)


async def test_a_page_turn_costs_one_query_and_one_kv_write_in_polling_mode(
    database: str, nats_server: NatsServer, nats_client: Client
) -> None:
    del nats_client  # provisions the FSM bucket
    await stock(database, products=100, categories=2)

    table = await screen_costs(database, nats_server.url, BotMode.POLLING, nats_server.passwords)

    page_turn = _cost_of(table, "next page").costs
    assert (page_turn.db, page_turn.kv, page_turn.bot_api) == (1, 1, PAGE_TURN_CALLS)
    # Entering a category: its page and whether the shopper follows it (kept for the visit);
    # a card: the product, ownership and the ♡, each one autocommit statement.
    assert _cost_of(table, "category page").costs.db == 2
    assert _cost_of(table, "product card").costs.db == 3
    # Going back reads nothing from the database: categories are shared, the stack is local.
    back = _cost_of(table, "back to categories").costs
    assert back.db == 0


async def test_a_webhook_page_turn_admits_the_update_in_one_round_trip(
    database: str, nats_server: NatsServer, nats_client: Client
) -> None:
    del nats_client
    await stock(database, products=100, categories=2)

    table = await screen_costs(database, nats_server.url, BotMode.WEBHOOK, nats_server.passwords)

    page_turn = _cost_of(table, "next page").costs
    # The dedup INSERT and the page query; no BEGIN/COMMIT around the INSERT.
    assert page_turn.db == 2
    # The chat lock taken at the revision this replica released it (so the state, stack
    # and context come from its proven copies), the context written, the lock released.
    # 2 needs the records and the lock in one record (see README, Performance).
    assert page_turn.kv <= 3
    assert page_turn.bot_api == PAGE_TURN_CALLS
