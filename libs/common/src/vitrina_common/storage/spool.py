"""Temporary files for what is too big to hold in memory: an import's ZIP, an upload on its
way to the Object Store. They live in one directory per service (``APP_CONF__BOT__TEMP_DIR``,
``APP_CONF__WORKER__TEMP_DIR``; an emptyDir on Kubernetes), so the memory limit is sized for
the work and the disk for the files.

A file is deleted when the block that made it ends, however it ends. A process killed in the
middle (an OOM kill, a node lost) cannot do that, so each start deletes what processes of
the same service that are gone left behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Spool:
    """A directory of temporary files for one service."""

    def __init__(self, directory: Path | None, service: str) -> None:
        self.directory = directory or Path(tempfile.gettempdir())
        self._prefix = f"vitrina-{service}-"

    def prepare(self) -> int:
        """Create the directory and delete the files of this service's processes that are
        gone (their pid is in the name); returns how many were deleted."""
        self.directory.mkdir(parents=True, exist_ok=True)
        deleted = 0
        for path in self.directory.glob(f"{self._prefix}*"):
            pid = path.name.removeprefix(self._prefix).split("-", 1)[0]
            # After a container restart this process may well have the dead one's pid.
            if pid.isdigit() and (int(pid) == os.getpid() or not _alive(int(pid))):
                path.unlink(missing_ok=True)
                deleted += 1
        return deleted

    @contextlib.contextmanager
    def file(self) -> Iterator[tuple[Path, BinaryIO]]:
        """A new empty file open for writing and reading, deleted when the block ends."""
        descriptor, name = tempfile.mkstemp(
            prefix=f"{self._prefix}{os.getpid()}-", dir=self.directory
        )
        path = Path(name)
        try:
            with os.fdopen(descriptor, "w+b") as file:
                yield path, file
        finally:
            path.unlink(missing_ok=True)
