"""Errors reach Sentry only when a DSN is set, tagged with release, environment and the
service: a real process with the real SDK, sending to a test ingest endpoint."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from aiohttp import web

from devstack.ports import LOOPBACK, free_port
from tests.conftest import service_base_env

# What a service does at start (setup_telemetry), then an error as aiogram logs one.
_SCRIPT = """
import logging, os, sentry_sdk
from vitrina_common.config import TelemetrySettings
from vitrina_common.telemetry import setup_telemetry
settings = TelemetrySettings(
    sentry_dsn=os.environ.get("DSN") or None, environment="staging", release="vitrina@test-1"
)
setup_telemetry(settings, "bot")
logging.getLogger("aiogram.event").error("Cause exception while process update")
sentry_sdk.flush(5)
"""


@pytest_asyncio.fixture(loop_scope="session")
async def ingest() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A Sentry envelope endpoint on loopback; yields its DSN and the events received."""
    events: list[dict[str, Any]] = []

    async def envelope(request: web.Request) -> web.Response:
        body = await request.read()  # aiohttp has undone the gzip already
        for line in body.splitlines():
            item = json.loads(line) if line.startswith(b"{") else {}
            if "level" in item:
                events.append(item)
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/api/1/envelope/", envelope)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, LOOPBACK, port).start()
    try:
        yield f"http://public@{LOOPBACK}:{port}/1", events
    finally:
        await runner.cleanup()


async def _run(dsn: str) -> None:
    env = {**service_base_env(), "DSN": dsn}
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", _SCRIPT, env=env)
    assert await asyncio.wait_for(process.wait(), 60) == 0


async def test_an_error_log_reaches_sentry_with_release_environment_and_service(
    ingest: tuple[str, list[dict[str, Any]]],
) -> None:
    dsn, events = ingest
    await _run(dsn)

    [event] = events
    assert event["release"] == "vitrina@test-1"
    assert event["environment"] == "staging"
    assert event["tags"]["service"] == "bot"
    assert "Cause exception while process update" in json.dumps(event)


async def test_without_a_dsn_nothing_is_sent(ingest: tuple[str, list[dict[str, Any]]]) -> None:
    _dsn, events = ingest
    await _run("")

    assert events == []
