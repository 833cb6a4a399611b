"""Staff API tokens: made and revoked with ``vitrina-ops api-token``, stored only as a hash,
scoped, and refused by the running API once revoked."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.api_service import api_env, client, running_api
from vitrina_common.db.models import ApiScope, ApiToken
from vitrina_common.services.api_tokens import (
    AuthenticateApiToken,
    CreateApiToken,
    hash_token,
)

pytestmark = pytest.mark.postgres


async def ops(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "vitrina_common.ops", "api-token", *args,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.slow
async def test_a_token_made_with_ops_works_until_revoked_with_ops(
    database: str,
    clean_env: dict[str, str],
    tmp_path: Path,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    env = {**clean_env, "APP_CONF__DB__DSN": database}
    code, out, _ = await ops(env, "create", "--name", "helpdesk", "--scope", "read")
    assert code == 0, out
    token = out.splitlines()[-1]
    async with session_factory() as session:
        stored = (await session.execute(select(ApiToken))).scalar_one()
    assert token.startswith("vit_")
    assert stored.token_hash == hash_token(token)
    assert len(stored.token_hash) == 32  # a sha256 digest, not the token
    _, listed, _ = await ops(env, "list")
    assert "helpdesk" in listed
    assert token not in listed

    async with (
        running_api(api_env(clean_env, database), tmp_path) as api,
        client(api, token) as http,
    ):
        assert (await http.get("/api/v1/products")).status_code == 200
        code, _, _ = await ops(env, "revoke", str(stored.id))
        assert code == 0
        assert (await http.get("/api/v1/products")).status_code == 401

    assert "revoked" in (await ops(env, "list"))[1]
    code, _, err = await ops(env, "revoke", str(stored.id))
    assert code == 1
    assert f"no live token {stored.id}" in err


async def test_write_implies_read_and_no_scope_means_read(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    create = CreateApiToken(session_factory)
    authenticate = AuthenticateApiToken(session_factory, touch_interval=timedelta(0))

    writer = await authenticate((await create("writer", [ApiScope.WRITE])).token)
    reader = await authenticate((await create("reader", [])).token)

    assert writer is not None
    assert writer.scopes == {ApiScope.READ, ApiScope.WRITE}
    assert reader is not None
    assert reader.scopes == {ApiScope.READ}


async def test_a_string_without_the_prefix_is_never_looked_up(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    issued = await CreateApiToken(session_factory)("ci", [ApiScope.READ])
    authenticate = AuthenticateApiToken(session_factory, touch_interval=timedelta(0))

    assert await authenticate(issued.token.removeprefix("vit_")) is None
    assert await authenticate(issued.token + "x") is None
    assert await authenticate(issued.token) is not None
