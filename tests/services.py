"""Running the real service processes from tests and waiting on their probes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import aiohttp
import psutil

from devstack.nats import new_passwords, service_credentials, user_settings
from devstack.ports import LOOPBACK, free_port
from devstack.processes import ManagedProcess, spawn
from tests.zygote import EXEC_ENV, Zygote
from vitrina_common.config import NatsSettings

# The NATS users' passwords of every server the tests start (loopback only), so a service
# started anywhere in the tests connects as its own user, as in production.
NATS_PASSWORDS = new_passwords()


def nats_settings(url: str, user: str = "admin") -> NatsSettings:
    """Settings of a test's own connection; the admin may do anything (set up, inspect)."""
    return user_settings(url, user, NATS_PASSWORDS)


async def probe(port: int, path: str) -> int | None:
    """The HTTP status of ``path`` on the loopback ``port``, None when nothing answers."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http,
            http.get(f"http://{LOOPBACK}:{port}{path}") as response,
        ):
            return response.status
    except (aiohttp.ClientError, TimeoutError):
        return None


async def wait_for_status(
    port: int, path: str, status: int, process: ManagedProcess | None = None, timeout_s: float = 60
) -> None:
    """Poll until ``path`` answers ``status``; fails early if ``process`` exits."""
    async with asyncio.timeout(timeout_s):
        while await probe(port, path) != status:
            if process is not None and not process.running:
                raise AssertionError(f"{process.name} exited with {process.process.returncode}")
            await asyncio.sleep(0.1)


def service_env(
    base: Mapping[str, str],
    *,
    database_dsn: str,
    nats_url: str,
    telegram_url: str,
    token: str,
) -> dict[str, str]:
    """Environment for a bot or worker subprocess against the test servers."""
    return {
        **base,
        "APP_CONF__DB__DSN": database_dsn,
        "APP_CONF__NATS__URL": nats_url,
        "APP_CONF__BOT__TOKEN": token,
        "APP_CONF__BOT__API_URL": telegram_url,
        "APP_CONF__BOT__HEALTH_PORT": str(free_port()),
        "APP_CONF__WORKER__HEALTH_PORT": str(free_port()),
        "APP_CONF__TELEMETRY__LOG_FORMAT": "json",
        "PYTHONUNBUFFERED": "1",
    }


async def start_service(
    service: str, env: Mapping[str, str], log_dir: Path, *, fresh_interpreter: bool = False
) -> tuple[ManagedProcess, int]:
    """Start ``vitrina-<service>`` as its own NATS user (unless ``env`` names one); returns
    the process and its health port. The process is forked from a zygote that has imported
    the service (``tests.zygote``), unless ``fresh_interpreter`` asks for ``python -m``: for
    tests of the interpreter's start and exit, and of memory."""
    env = {**service_credentials(service, NATS_PASSWORDS), **env}
    port = int(env[f"APP_CONF__{service.upper()}__HEALTH_PORT"])
    log_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240  (test setup, instant)
    log_file = str(log_dir / f"{service}.log")
    module = f"vitrina_{service}"
    # Outside a test session (the benchmarks) there is no zygote: exec as in production.
    if fresh_interpreter or os.environ.get(EXEC_ENV) == "1" or not _zygote_logs:
        process = await spawn(
            service,
            [sys.executable, "-m", module],
            env=env,
            log_file=log_file,
            stop_signal=signal.SIGTERM,
        )
    else:
        forked = await zygote_of(module).spawn(module, [], env, log_file)
        process = ManagedProcess(name=service, process=forked, stop_signal=signal.SIGTERM)
    return process, port


_zygotes: dict[str, Zygote] = {}
_zygote_logs: list[Path] = []


def zygote_of(module: str) -> Zygote:
    """This test process's zygote for ``module``, started on first use."""
    if module not in _zygotes:
        _zygotes[module] = Zygote(module, _zygote_logs[0] / f"zygote-{module}.log")
    return _zygotes[module]


@contextlib.contextmanager
def zygotes_logging_to(log_dir: Path) -> Iterator[None]:
    """For a test session: zygotes log to ``log_dir`` and stop when the session ends."""
    _zygote_logs.insert(0, log_dir)
    try:
        yield
    finally:
        for zygote in _zygotes.values():
            zygote.close()
        _zygotes.clear()
        _zygote_logs.remove(log_dir)


def kill_process_group(process: ManagedProcess) -> None:
    """SIGKILL the process and its children (render pool), as an OOM kill or node loss would."""
    os.killpg(process.pid, signal.SIGKILL)


def process_tree_rss(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants, in bytes."""
    try:
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for member in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += member.memory_info().rss
    return total
