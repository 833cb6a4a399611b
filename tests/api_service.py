"""The API service as the tests run it: a real ``python -m vitrina_api`` process on free
loopback ports against a test database, an httpx client, and tokens made by the use case."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devstack.ports import LOOPBACK, free_port
from devstack.processes import ManagedProcess
from tests.services import start_service, wait_for_status
from vitrina_common.db.models import ApiScope
from vitrina_common.services.api_tokens import CreateApiToken

PROBLEM = "application/problem+json"


@dataclass
class RunningApi:
    """A started API process: its base URL and health port."""

    process: ManagedProcess
    url: str
    health_port: int
    log_file: Path


def api_env(base: Mapping[str, str], database_dsn: str, **settings: str) -> dict[str, str]:
    """Environment for an API process on ``database_dsn``; ``settings`` are APP_CONF__API__*."""
    return {
        **base,
        "APP_CONF__DB__DSN": database_dsn,
        "APP_CONF__API__HOST": LOOPBACK,
        "APP_CONF__API__PORT": str(free_port()),
        "APP_CONF__API__HEALTH_PORT": str(free_port()),
        "APP_CONF__TELEMETRY__LOG_FORMAT": "json",
        "PYTHONUNBUFFERED": "1",
        **{f"APP_CONF__API__{name.upper()}": value for name, value in settings.items()},
    }


@asynccontextmanager
async def running_api(env: Mapping[str, str], log_dir: Path) -> AsyncIterator[RunningApi]:
    """Start the API, wait until /readyz says 200, stop it (SIGTERM) afterwards."""
    process, health_port = await start_service("api", env, log_dir)
    try:
        await wait_for_status(health_port, "/readyz", 200, process)
        yield RunningApi(
            process=process,
            url=f"http://{LOOPBACK}:{env['APP_CONF__API__PORT']}",
            health_port=health_port,
            log_file=log_dir / "api.log",
        )
    finally:
        await process.stop(timeout_s=15)


async def issue_token(
    sessions: async_sessionmaker[AsyncSession], *scopes: ApiScope, name: str = "tests"
) -> str:
    """A new token with ``scopes`` (read when none), as ``vitrina-ops api-token create``."""
    return (await CreateApiToken(sessions)(name, scopes)).token


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for ``token``."""
    return {"Authorization": f"Bearer {token}"}


def client(api: RunningApi, token: str | None = None) -> httpx.AsyncClient:
    """An httpx client for ``api``, authenticated with ``token`` when given."""
    return httpx.AsyncClient(base_url=api.url, headers=bearer(token) if token else {}, timeout=10)
