"""`make run`'s launcher: the whole stack up, then down within 10 s with no orphans."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg
import httpx
import psutil
import pytest

from devstack.ports import LOOPBACK
from tests.conftest import ROOT
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.services import wait_for_status

pytestmark = pytest.mark.slow

READY_LINE = re.compile(
    r"ready: .*bot.*?:(\d+)/readyz.*worker.*?:(\d+)/readyz.*api.*?:(\d+)/readyz"
)
API_LINE = re.compile(r"api (http://\S+)/api/v1, docs")
METRICS_LINE = re.compile(r"metrics: bot (\S+) worker (\S+) api (\S+)$")


@dataclass
class Launcher:
    process: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    async def wait_for_line(self, pattern: re.Pattern[str], timeout_s: float) -> re.Match[str]:
        async with asyncio.timeout(timeout_s):
            while True:
                for line in self.lines:
                    if match := pattern.search(line):
                        return match
                if self.process.returncode is not None:
                    raise AssertionError(f"launcher exited early:\n{self.output}")
                await asyncio.sleep(0.1)


async def _collect(process: asyncio.subprocess.Process, lines: list[str]) -> None:
    assert process.stdout is not None
    while line := await process.stdout.readline():
        lines.append(line.decode(errors="replace").rstrip())


@asynccontextmanager
async def launched(env: dict[str, str], cwd: Path) -> AsyncIterator[Launcher]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "devstack",
        cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    launcher = Launcher(process)
    reader = asyncio.create_task(_collect(process, launcher.lines))
    try:
        yield launcher
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await reader


def launcher_env(clean_env: dict[str, str], data_dir: Path, telegram_url: str) -> dict[str, str]:
    return {
        **clean_env,
        "PYTHONPATH": str(ROOT),
        "APP_CONF__BOT__TOKEN": TOKEN,
        "APP_CONF__BOT__API_URL": telegram_url,
        "VITRINA_DEV_DATA_DIR": str(data_dir),
    }


async def _ready_and_children(launcher: Launcher) -> list[psutil.Process]:
    match = await launcher.wait_for_line(READY_LINE, timeout_s=180)
    for port in match.groups():
        await wait_for_status(int(port), "/readyz", 200, timeout_s=10)
    return psutil.Process(launcher.process.pid).children(recursive=True)


async def _every_printed_metrics_url_answers(launcher: Launcher) -> None:
    urls = (await launcher.wait_for_line(METRICS_LINE, timeout_s=5)).groups()
    async with aiohttp.ClientSession() as http:
        for url in urls:
            async with http.get(url) as response:
                assert response.status == 200, url
                assert "# TYPE" in await response.text(), url
    assert "traces: not exported; OTEL_EXPORTER_OTLP_ENDPOINT=" in launcher.output


async def _stop_and_assert_no_orphans(
    launcher: Launcher, children: list[psutil.Process], signum: signal.Signals
) -> None:
    launcher.process.send_signal(signum)
    async with asyncio.timeout(10):
        code = await launcher.process.wait()
    _, alive = psutil.wait_procs(children, timeout=0.5)
    assert alive == [], f"orphans: {alive}"
    assert code == 0, launcher.output


@pytest.mark.timeout(600)
async def test_launcher_runs_everything_and_stops_it_all_within_10_s(
    fake_telegram: FakeTelegram, clean_env: dict[str, str], tmp_path: Path
) -> None:
    data_dir = tmp_path / "devdata"
    env = launcher_env(clean_env, data_dir, fake_telegram.url)
    with socket.socket() as squatter:
        # Someone else holds the preferred Postgres port: the launcher must pick another.
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            squatter.bind((LOOPBACK, 54329))
            squatter.listen()
        except OSError:
            pass  # already taken by something else: the same situation
        async with launched(env, tmp_path) as launcher:
            children = await _ready_and_children(launcher)
            names = {child.name() for child in children}
            assert {"postgres", "nats-server"} <= names
            assert sum("vitrina_bot" in " ".join(c.cmdline()) for c in children) == 1
            assert sum("vitrina_worker" in " ".join(c.cmdline()) for c in children) == 1
            assert sum("vitrina_api" in " ".join(c.cmdline()) for c in children) == 1
            await _load_demo_catalog_and_see_it_rendered(env, tmp_path, data_dir)
            assert await _nats_users_by_connection(data_dir) == {
                "vitrina-bot": {"bot"},
                "vitrina-worker": {"worker"},
            }
            api = (await launcher.wait_for_line(API_LINE, timeout_s=5)).group(1)
            await _read_the_catalog_through_the_api(env, data_dir, api)
            await _every_printed_metrics_url_answers(launcher)
            await _stop_and_assert_no_orphans(launcher, children, signal.SIGTERM)

    # A crashed run leaves postmaster.pid behind; the second run reuses the data anyway.
    (data_dir / "postgres" / "postmaster.pid").write_text(f"{2**22 - 3}\n{data_dir}\n")
    async with launched(env, tmp_path) as launcher:
        children = await _ready_and_children(launcher)
        assert "removed a stale postmaster.pid" in launcher.output
        assert "Running upgrade" not in launcher.output  # schema already at head: reused
        await _stop_and_assert_no_orphans(launcher, children, signal.SIGINT)


async def _load_demo_catalog_and_see_it_rendered(
    env: dict[str, str], cwd: Path, data_dir: Path
) -> None:
    demo = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "devstack.demo", cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await demo.communicate()
    assert demo.returncode == 0, output
    assert b"10 products added" in output
    dsn = json.loads((data_dir / "stack.json").read_text())["database_dsn"]
    connection = await asyncpg.connect(dsn)
    try:
        async with asyncio.timeout(90):
            query = "SELECT count(*) FROM products WHERE status = 'ready'"
            while await connection.fetchval(query) < 10:  # noqa: ASYNC110  (another process)
                await asyncio.sleep(0.2)
    finally:
        await connection.close()


async def _nats_users_by_connection(data_dir: Path) -> dict[str, set[str]]:
    """Who each service's NATS connections authenticated as (the server's own view)."""
    monitor = json.loads((data_dir / "stack.json").read_text())["nats_monitor"]
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{monitor}/connz?auth=true&limit=1000") as response,
    ):
        connections = (await response.json())["connections"]
    users: dict[str, set[str]] = {}
    for connection in connections:
        if connection.get("name", "").startswith("vitrina-"):
            users.setdefault(connection["name"], set()).add(connection.get("authorized_user", ""))
    return users


async def _read_the_catalog_through_the_api(env: dict[str, str], data_dir: Path, api: str) -> None:
    dsn = json.loads((data_dir / "stack.json").read_text())["database_dsn"]
    create = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "vitrina_common.ops", "api-token", "create", "--name", "dev",
        env={**env, "APP_CONF__DB__DSN": dsn}, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    output, _ = await create.communicate()
    assert create.returncode == 0, output
    token = output.decode().splitlines()[-1]
    async with httpx.AsyncClient(
        base_url=api, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        products = (await http.get("/api/v1/products", params={"limit": 20})).json()
    assert len(products["items"]) == 10


async def test_launcher_without_token_says_how_to_get_one(
    clean_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**clean_env, "PYTHONPATH": str(ROOT), "VITRINA_DEV_DATA_DIR": str(tmp_path / "d")}
    async with launched(env, tmp_path) as launcher:
        code = await launcher.process.wait()
    assert code == 2
    assert len(launcher.lines) == 1
    assert "@BotFather" in launcher.output
    assert "APP_CONF__BOT__TOKEN" in launcher.output
    assert not (tmp_path / "d").exists()


def test_launcher_is_the_make_run_target() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run:.*\n\t\$\(PY\) -m devstack$", makefile, re.MULTILINE)
    assert os.access(ROOT / ".ci" / "run", os.X_OK)
