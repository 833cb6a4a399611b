"""Child processes that cannot outlive their parent and stop within a deadline."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import pwd
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Runs in the child between fork and exec (after any uid switch, which would clear it):
    # if the launcher is killed with SIGKILL, the kernel sends SIGTERM to this child.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class ChildProcess(Protocol):
    """What a managed process is driven through: ``asyncio.subprocess.Process``, or a
    stand-in with the same parts (the tests' forked services)."""

    @property
    def pid(self) -> int: ...

    @property
    def returncode(self) -> int | None: ...

    async def wait(self) -> int: ...

    def send_signal(self, signal: int) -> None: ...

    def kill(self) -> None: ...


@dataclass
class ManagedProcess:
    """A started child: its name for log prefixes, the process, and how to stop it."""

    name: str
    process: ChildProcess
    stop_signal: signal.Signals = signal.SIGTERM
    _pump: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self.process.pid

    @property
    def running(self) -> bool:
        """True until the child has exited and been reaped."""
        return self.process.returncode is None

    async def stop(self, timeout_s: float) -> int:
        """Send the stop signal, wait up to ``timeout_s``, then SIGKILL; returns the exit code."""
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(self.stop_signal)
            try:
                await asyncio.wait_for(self.process.wait(), timeout_s)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()
        if self._pump is not None:
            await self._pump
        return self.process.returncode if self.process.returncode is not None else -1


async def _pump_lines(
    stream: asyncio.StreamReader, name: str, sink: Callable[[str, str], None]
) -> None:
    while line := await stream.readline():
        sink(name, line.decode(errors="replace").rstrip("\n"))


async def spawn(
    name: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    run_as: str | None = None,
    sink: Callable[[str, str], None] | None = None,
    log_file: str | None = None,
    stop_signal: signal.Signals = signal.SIGTERM,
) -> ManagedProcess:
    """Start ``argv`` in its own session (Ctrl-C reaches only the launcher, which stops the
    children in order) with output sent line by line to ``sink`` or appended to ``log_file``.
    """
    stdout: int | None
    if sink is not None:
        stdout = subprocess.PIPE
    elif log_file is not None:
        stdout = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    else:
        stdout = subprocess.DEVNULL
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # sets PDEATHSIG, needs to run in the child
            user=run_as,
            group=pwd.getpwnam(run_as).pw_gid if run_as else None,
            extra_groups=[] if run_as else None,
        )
    finally:
        if isinstance(stdout, int) and stdout > 0:
            os.close(stdout)
    managed = ManagedProcess(name=name, process=process, stop_signal=stop_signal)
    if sink is not None and process.stdout is not None:
        managed._pump = asyncio.create_task(_pump_lines(process.stdout, name, sink))
    return managed
