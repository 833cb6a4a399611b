"""/apitoken in the bot: an admin makes a token that the running API accepts, lists it and
revokes it; to a shopper the command does not exist."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import select

from devstack.nats import NatsServer
from devstack.postgres import EmbeddedPostgres
from tests.api_service import RunningApi, api_env, client, running_api
from tests.conftest import service_base_env
from tests.storefront import Shop, running_shop, stock_shop, told
from vitrina_common.db.models import ApiToken

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]

ADMIN = 902
SHOPPER = 3001
TOKEN = re.compile(r"vit_[A-Za-z0-9_-]{43}")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def shop(
    postgres: EmbeddedPostgres,
    migrated_template: str,
    nats_server: NatsServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Shop]:
    async with running_shop(
        postgres, migrated_template, nats_server, tmp_path_factory.mktemp("api-tokens-bot"),
        admin_ids=[ADMIN],
        stock=lambda sessions: stock_shop(sessions, "Tokens", ["One"]),
    ) as running:  # fmt: skip
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api(shop: Shop, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningApi]:
    dsn = shop.sessions.kw["bind"].url.render_as_string(hide_password=False)
    dsn = dsn.replace("postgresql+asyncpg://", "postgresql://", 1)
    env = api_env(service_base_env(), dsn)
    async with running_api(env, tmp_path_factory.mktemp("api-tokens-api")) as running:
        yield running


async def test_an_admin_makes_a_write_token_the_api_accepts_then_revokes_it(
    shop: Shop, api: RunningApi
) -> None:
    shop.telegram.push_message(ADMIN, "/apitoken new helpdesk bot write")
    created = await told(shop.telegram, ADMIN, "shown only now")
    match = TOKEN.search(created)
    assert match is not None
    async with shop.sessions() as session:
        row = (await session.execute(select(ApiToken))).scalar_one()
    assert (row.name, sorted(row.scopes), row.created_by) == (
        "helpdesk bot",
        ["read", "write"],
        ADMIN,
    )

    async with client(api, match.group(0)) as http:
        assert (await http.get("/api/v1/products")).status_code == 200
        shop.telegram.push_message(ADMIN, "/apitoken list")
        assert "live" in await told(shop.telegram, ADMIN, "helpdesk bot")
        shop.telegram.push_message(ADMIN, f"/apitoken revoke {row.id}")
        await told(shop.telegram, ADMIN, f"Token {row.id} is revoked")
        assert (await http.get("/api/v1/products")).status_code == 401


async def test_to_a_shopper_the_command_does_not_exist(shop: Shop) -> None:
    shop.telegram.push_message(SHOPPER, "/apitoken new mine write")
    await told(shop.telegram, SHOPPER, "Welcome")

    async with shop.sessions() as session:
        assert await session.scalar(select(ApiToken).where(ApiToken.name == "mine")) is None
    to_shopper = [
        str(call.params.get("text"))
        for call in shop.telegram.calls_of("sendMessage")
        if call.params.get("chat_id") == SHOPPER
    ]
    assert to_shopper
    assert not any(TOKEN.search(text) for text in to_shopper)
