"""Start service processes by forking one that has already imported the service.

Importing a service is most of its start: aiogram's ~300 pydantic types, SQLAlchemy,
OpenTelemetry and Sentry take 5-7 s of CPU on a 2-core CI machine, and the suite starts
about 200 bots, workers and APIs. A zygote imports a service once per test process, the way
its ``__main__`` does (collection off); each start is then a fork: the child takes a session
of its own, the test's log file as stdout and stderr, the test's environment, and runs the
service's real ``__main__`` (``runpy``, as ``python -m`` does). From there on it is the
service's own code in its own process: settings, event loop, signals, exit code.

What a fork cannot show is the interpreter's own start and exit, so the tests of those (and
of memory, which must not share pages with a zygote) exec ``python -m vitrina_<service>``;
``VITRINA_TESTS_EXEC_SERVICES=1`` makes every test do so.

The zygote speaks JSON lines on its stdin and stdout: ``{"module", "argv", "env",
"log_file"}`` in, ``{"spawned": pid}`` and ``{"exited": pid, "code": returncode}`` out (a
negative code is the signal that ended the child, as in ``asyncio.subprocess``).
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import ctypes
import gc
import importlib
import io
import json
import os
import runpy
import select
import signal
import subprocess
import sys
import threading
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
EXEC_ENV = "VITRINA_TESTS_EXEC_SERVICES"
_PR_SET_PDEATHSIG = 1
_REAP_EVERY_S = 0.02


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


# --- the zygote process ---------------------------------------------------------------


# The zygote's replies go to this duplicate of its stdout; fd 1 itself goes to stderr, so
# nothing an import prints can garble them.
_channel = 1


def _send(message: dict[str, Any]) -> None:
    os.write(_channel, (json.dumps(message) + "\n").encode())


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write(f"{code}\n")
    return 1


def _become(request: Mapping[str, Any]) -> None:
    """In the forked child: take the request's session, files and environment, run the
    module as ``__main__``, exit with its code. Never returns."""
    code = 70  # EX_SOFTWARE: the child failed before the service ran
    try:
        os.close(_channel)
        os.setsid()
        _die_with_parent()
        log = os.open(request["log_file"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), line_buffering=True)
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), line_buffering=True)
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = [request["module"], *request["argv"]]
        code = 0
        runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
    except SystemExit as stop:
        code = _exit_code(stop.code)
    except BaseException:  # noqa: BLE001  (what an uncaught exception does: print, exit 1)
        traceback.print_exc()
        code = 1
    finally:
        # What the interpreter's exit would still do, then leave without the zygote's.
        try:
            threading._shutdown()  # type: ignore[attr-defined]
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _reap() -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _send({"exited": pid, "code": os.waitstatus_to_exitcode(status)})


def serve(main_module: str) -> None:
    """Import what ``python -m main_module`` imports, as its ``__main__`` would, then fork
    on each request until stdin closes."""
    global _channel  # noqa: PLW0603  (set once, before anything is sent)
    _channel = os.dup(1)
    os.dup2(2, 1)
    gc.disable()  # as the services' __main__ does; run_service freezes and re-enables it
    importlib.import_module(f"{main_module}.__main__")
    # runpy runs __main__ afresh in each child and warns if it finds it imported already;
    # the modules it imports stay.
    del sys.modules[f"{main_module}.__main__"]
    if threading.active_count() != 1:
        _send({"refused": f"the imports started threads: {threading.enumerate()}"})
        return
    _send({"ready": True})
    pending = b""
    while True:
        readable, _, _ = select.select([0], [], [], _REAP_EVERY_S)
        _reap()
        if not readable:
            continue
        chunk = os.read(0, 1 << 16)
        if not chunk:
            return
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            request = json.loads(line)
            pid = os.fork()
            if pid == 0:
                _become(request)
            _send({"spawned": pid})


# --- the tests' side ------------------------------------------------------------------


class ForkedProcess:
    """A child of a zygote, with the parts of ``asyncio.subprocess.Process`` tests use."""

    def __init__(self, pid: int, exited: concurrent.futures.Future[int]) -> None:
        self.pid = pid
        self._exited = exited

    @property
    def returncode(self) -> int | None:
        return self._exited.result() if self._exited.done() else None

    async def wait(self) -> int:
        return await asyncio.wrap_future(self._exited)

    def send_signal(self, signum: int) -> None:
        if self.returncode is not None:
            raise ProcessLookupError(self.pid)
        os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class Zygote:
    """A zygote for one service, started on first use and stopped with the test session."""

    def __init__(self, main_module: str, log_file: Path) -> None:
        self._main_module = main_module
        self._log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._lock = threading.Lock()
        self._spawned: list[concurrent.futures.Future[int]] = []
        self._exits: dict[int, concurrent.futures.Future[int]] = {}
        self._ready: concurrent.futures.Future[bool] = concurrent.futures.Future()

    def _start(self) -> None:
        with self._log_file.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "tests.zygote", self._main_module],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509
            )
        self._reader = threading.Thread(
            target=self._read, name=f"zygote-{self._main_module}", daemon=True
        )
        self._reader.start()

    def _read(self) -> None:
        assert self._process is not None
        assert self._process.stdout is not None
        for line in self._process.stdout:
            message = json.loads(line)
            if "ready" in message:
                self._ready.set_result(True)
            elif "refused" in message:
                self._ready.set_exception(RuntimeError(message["refused"]))
            elif "spawned" in message:
                exited: concurrent.futures.Future[int] = concurrent.futures.Future()
                self._exits[message["spawned"]] = exited
                self._spawned.pop(0).set_result(message["spawned"])
            elif "exited" in message:
                self._exits.pop(message["exited"]).set_result(message["code"])
        if not self._ready.done():
            self._ready.set_exception(RuntimeError(f"zygote died: see {self._log_file}"))
        for waiting in self._spawned:
            waiting.set_exception(RuntimeError(f"zygote died: see {self._log_file}"))

    async def spawn(
        self, module: str, argv: Sequence[str], env: Mapping[str, str], log_file: str
    ) -> ForkedProcess:
        """Fork a child that runs ``python -m module argv...`` with ``env``."""
        with self._lock:
            if self._process is None:
                self._start()
        await asyncio.wrap_future(self._ready)
        spawned: concurrent.futures.Future[int] = concurrent.futures.Future()
        request = {"module": module, "argv": list(argv), "env": dict(env), "log_file": log_file}
        with self._lock:
            assert self._process is not None
            assert self._process.stdin is not None
            self._spawned.append(spawned)
            self._process.stdin.write((json.dumps(request) + "\n").encode())
            self._process.stdin.flush()
        pid = await asyncio.wrap_future(spawned)
        return ForkedProcess(pid, self._exits_of(pid))

    def _exits_of(self, pid: int) -> concurrent.futures.Future[int]:
        # The reader files the exit future before it answers the spawn.
        return self._exits[pid]

    def close(self) -> None:
        """Stop the zygote (its children get SIGTERM from the kernel if still running)."""
        if self._process is None:
            return
        stdin: IO[bytes] | None = self._process.stdin
        if stdin is not None:
            stdin.close()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._reader is not None:
            self._reader.join(10)
        if self._process.stdout is not None:
            self._process.stdout.close()


if __name__ == "__main__":
    serve(sys.argv[1])
