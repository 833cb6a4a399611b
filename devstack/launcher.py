"""``make run``: the whole stack on one machine, stopped in order by Ctrl-C or SIGTERM.

Order of start: Postgres → NATS → JetStream topology → migrations → bot + worker + api.
Order of stop: bot + worker + api (they drain) → NATS + Postgres. Every child runs in its own
session and dies with the launcher even if the launcher is SIGKILLed (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from dotenv import dotenv_values

from devstack.nats import NatsServer, NatsStartError, credentials_env, service_credentials
from devstack.ports import LOOPBACK, preferred_or_free_port, start_on_free_ports
from devstack.postgres import EmbeddedPostgres, PostgresStartError
from devstack.processes import ManagedProcess, spawn
from vitrina_common.config import (
    CONFIG_ERROR_EXIT_CODE,
    LogFormat,
    Settings,
    TelemetrySettings,
    load_settings,
)
from vitrina_common.logging import configure_logging
from vitrina_common.messaging.connection import connect_nats
from vitrina_common.messaging.provisioning import provision_jetstream
from vitrina_common.messaging.reconcile import TopologyConflictError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TOKEN_ENV = "APP_CONF__BOT__TOKEN"  # noqa: S105  (a variable name, not a secret)
DATA_DIR_ENV = "VITRINA_DEV_DATA_DIR"
DATABASE = "vitrina"
STATE_FILE = "stack.json"
SERVICES_STOP_TIMEOUT_S = 5.0
SERVERS_STOP_TIMEOUT_S = 4.0
READY_TIMEOUT_S = 120.0
SERVICES = ("bot", "worker", "api")
# How to get a staff credential for the API (the launcher knows the DSN to put in front).
API_ACCESS_COMMAND = "python -m vitrina_common.ops api-token create --name me --scope write"
NO_TOKEN_MESSAGE = (
    f"vitrina: no bot token. Create a bot with @BotFather in Telegram (/newbot), then put "
    f"{TOKEN_ENV}=<token> into .env in {Path.cwd()} (or export it) and run `make run` again."
)


def say(name: str, line: str) -> None:
    """Print one line of a child (or of the launcher) with its name as prefix."""
    print(f"{name:>8} | {line}", flush=True)


class _PrefixedStdout(io.TextIOBase):
    """Lets the launcher's own log records (provisioning…) carry the ``vitrina |`` prefix."""

    def write(self, text: str) -> int:
        for line in text.splitlines():
            say("vitrina", line)
        return len(text)

    def isatty(self) -> bool:
        return sys.stdout.isatty()


class ChildExitedError(RuntimeError):
    """A service or server exited while the stack was supposed to run."""


@dataclass
class Stack:
    """The running children, stopped in reverse order of tiers."""

    servers: list[ManagedProcess] = field(default_factory=list)
    services: list[ManagedProcess] = field(default_factory=list)

    async def stop(self) -> None:
        """Services first (so they drain against live servers), then the servers."""
        await asyncio.gather(*(p.stop(SERVICES_STOP_TIMEOUT_S) for p in self.services))
        await asyncio.gather(*(p.stop(SERVERS_STOP_TIMEOUT_S) for p in self.servers))

    async def wait_first_exit(self) -> ManagedProcess:
        """Block until any child exits and return it."""
        children = {
            asyncio.ensure_future(p.process.wait()): p for p in (*self.servers, *self.services)
        }
        done, pending = await asyncio.wait(children, return_when=asyncio.FIRST_COMPLETED)
        for waiter in pending:
            waiter.cancel()
        return children[done.pop()]

    def first_exited(self) -> ManagedProcess | None:
        """A child that is no longer running, if any."""
        return next((p for p in (*self.servers, *self.services) if not p.running), None)


def _user_env() -> dict[str, str]:
    # The services read .env themselves; the launcher only needs it to check the token.
    from_file = {k: v for k, v in dotenv_values(".env").items() if v is not None}
    return {**from_file, **os.environ}


def _service_env(base: Mapping[str, str], pg: EmbeddedPostgres, nats: NatsServer) -> dict[str, str]:
    return {
        # Children write to our pipe, which would make them pick JSON; a person reads this.
        "APP_CONF__TELEMETRY__LOG_FORMAT": "console",
        **base,
        # A DSN beats the parts, so a DSN in the developer's .env cannot point us elsewhere.
        "APP_CONF__DB__DSN": pg.dsn(DATABASE),
        "APP_CONF__NATS__URL": nats.url,
        "APP_CONF__BOT__HEALTH_PORT": str(preferred_or_free_port(8080)),
        "APP_CONF__WORKER__HEALTH_PORT": str(preferred_or_free_port(8081)),
        # The API on loopback only: a laptop's API is for the developer, not the network.
        "APP_CONF__API__HOST": LOOPBACK,
        "APP_CONF__API__PORT": str(preferred_or_free_port(8082)),
        "APP_CONF__API__HEALTH_PORT": str(preferred_or_free_port(8083)),
        "PYTHONUNBUFFERED": "1",
    }


def _credentials(user: str, nats: NatsServer) -> dict[str, str]:
    # Values the developer's .env may hold for another server do not apply to ours.
    return credentials_env(user, nats.passwords)


async def _wait_ready(stack: Stack, urls: Mapping[str, str]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT_S
    pending = dict(urls)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
        while pending:
            if (exited := stack.first_exited()) is not None:
                raise ChildExitedError(
                    f"{exited.name} exited with code {exited.process.returncode}"
                )
            for name, url in list(pending.items()):
                try:
                    async with http.get(url) as response:
                        if response.status == 200:
                            del pending[name]
                except (aiohttp.ClientError, TimeoutError):
                    pass
            if loop.time() > deadline:
                say(
                    "vitrina",
                    f"still not ready after {READY_TIMEOUT_S:.0f} s: {', '.join(pending)}",
                )
                deadline = loop.time() + READY_TIMEOUT_S
            await asyncio.sleep(0.2)


async def _migrate(env: Mapping[str, str]) -> None:
    alembic_ini = str(PROJECT_ROOT / "alembic.ini")
    migrate = await spawn(
        "migrate",
        [sys.executable, "-m", "alembic", "-c", alembic_ini, "upgrade", "head"],
        env=env, sink=say,
        stop_signal=signal.SIGINT,
    )  # fmt: skip
    try:
        code = await migrate.process.wait()
    except asyncio.CancelledError:
        # Each revision is one transaction: interrupted, Postgres rolls back the one in
        # progress; the revisions before it stay, and the next run continues from there.
        await migrate.stop(SERVICES_STOP_TIMEOUT_S)
        say("vitrina", "migrations interrupted; the revision in progress was rolled back")
        raise
    await migrate.stop(1)
    if code != 0:
        raise ChildExitedError(f"migrations failed with exit code {code} (see the lines above)")


async def _start_postgres(
    data_dir: Path, port: int
) -> tuple[EmbeddedPostgres, ManagedProcess, str | None]:
    pg = EmbeddedPostgres(data_dir / "postgres", port)
    process, note = await pg.start(sink=say)
    return pg, process, note


async def _start_nats(
    data_dir: Path, port: int, monitor_port: int
) -> tuple[NatsServer, ManagedProcess]:
    nats = NatsServer(data_dir / "nats", port, monitor_port)
    return nats, await nats.start(sink=say)


def _retrying(error: Exception) -> None:
    say("vitrina", f"{error}; a port was taken meanwhile, starting again on another")


async def run_stack(stack: Stack, data_dir: Path, user_env: Mapping[str, str]) -> None:
    """Start everything, then wait until a child exits (an error) or we are cancelled."""
    pg, process, note = await start_on_free_ports(
        (54329,),
        lambda ports: _start_postgres(data_dir, ports[0]),
        start_errors=(PostgresStartError,),
        retrying=_retrying,
    )
    stack.servers.append(process)
    if note:
        say("vitrina", note)
    await pg.ensure_database(DATABASE)
    nats, process = await start_on_free_ports(
        (4222, 8222),
        lambda ports: _start_nats(data_dir, *ports),
        start_errors=(NatsStartError,),
        retrying=_retrying,
    )
    stack.servers.append(process)
    env = _service_env(user_env, pg, nats)
    # Provisioning is the provision user's; each service connects as its own user.
    settings = load_settings("vitrina", _settings_type(env | _credentials("provision", nats)))
    client = await connect_nats(settings.nats, name="vitrina-launcher")
    try:
        await provision_jetstream(client.jetstream(), settings.nats)
    finally:
        await client.close()
    await _migrate(env)
    for service in SERVICES:
        argv = [sys.executable, "-m", f"vitrina_{service}"]
        service_env = env | service_credentials(service, nats.passwords)
        stack.services.append(await spawn(service, argv, env=service_env, sink=say))
    health = {
        "bot": f"http://{LOOPBACK}:{env['APP_CONF__BOT__HEALTH_PORT']}/readyz",
        "worker": f"http://{LOOPBACK}:{env['APP_CONF__WORKER__HEALTH_PORT']}/readyz",
        "api": f"http://{LOOPBACK}:{env['APP_CONF__API__HEALTH_PORT']}/readyz",
    }
    await _wait_ready(stack, health)
    # Where the stack is, for `make demo-data` and other tools (the NATS passwords of this
    # run, e.g. admin's for the nats CLI: owner-only); removed when we stop.
    api = f"http://{LOOPBACK}:{env['APP_CONF__API__PORT']}"
    state = {
        "database_dsn": pg.dsn(DATABASE),
        "nats_url": nats.url,
        "nats_monitor": nats.monitor_url,
        "nats_passwords": nats.passwords,
        "probes": health,
        "api": api,
    }
    state_file = data_dir / STATE_FILE
    state_file.touch(mode=0o600)
    state_file.chmod(0o600)
    state_file.write_text(json.dumps(state, indent=2))
    say("vitrina", f"ready: postgres {pg.dsn(DATABASE)}, nats {nats.url}, probes {health}")
    say("vitrina", f"api {api}/api/v1, docs {api}/api/docs")
    say("vitrina", f"api token: APP_CONF__DB__DSN={pg.dsn(DATABASE)} {API_ACCESS_COMMAND}")
    for line in observability_lines(env):
        say("vitrina", line)
    say("vitrina", "press Ctrl-C to stop")
    exited = await stack.wait_first_exit()
    raise ChildExitedError(f"{exited.name} exited with code {exited.process.returncode}")


def observability_lines(env: Mapping[str, str]) -> list[str]:
    """Where to look: each service's /metrics, and where traces go (README "Observability")."""
    metrics = " ".join(
        f"{service} http://{LOOPBACK}:{env[f'APP_CONF__{service.upper()}__HEALTH_PORT']}/metrics"
        for service in SERVICES
    )
    endpoint = env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    traces = (
        f"traces: exported over OTLP to {endpoint}"
        if endpoint
        else "traces: not exported; OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 in .env "
        'sends them to a local Jaeger or collector (README "Tracing")'
    )
    return [f"metrics: {metrics}", traces]


def _settings_type(env: Mapping[str, str]) -> type[Settings]:
    # Validate what the services will see (their env, not the launcher's) before starting them.
    os.environ.update(env)
    return Settings


async def main() -> int:
    """Run the stack until Ctrl-C / SIGTERM; the process exit code."""
    user_env = _user_env()
    if not user_env.get(TOKEN_ENV):
        print(NO_TOKEN_MESSAGE, file=sys.stderr)
        return CONFIG_ERROR_EXIT_CODE
    data_dir = Path(user_env.get(DATA_DIR_ENV, ".devdata")).resolve()  # noqa: ASYNC240
    data_dir.mkdir(parents=True, exist_ok=True)
    configure_logging(
        TelemetrySettings(log_format=LogFormat.CONSOLE), "launcher", stream=_PrefixedStdout()
    )
    stack = Stack()
    running = asyncio.current_task()
    if running is None:
        raise RuntimeError("main() must run as a task")
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, running.cancel)
    code = 0
    try:
        await run_stack(stack, data_dir, user_env)
    except asyncio.CancelledError:
        say("vitrina", "stopping")
    except TopologyConflictError as conflict:
        for problem in conflict.problems:
            say("vitrina", f"config error: {problem}")
        code = CONFIG_ERROR_EXIT_CODE
    except (ChildExitedError, RuntimeError, OSError) as error:
        say("vitrina", f"error: {error}")
        code = 1
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await stack.stop()
        (data_dir / STATE_FILE).unlink(missing_ok=True)
    say("vitrina", "stopped")
    return code
