"""Choosing loopback TCP ports."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from typing import TypeVar

LOOPBACK = "127.0.0.1"
PORT_TRIES = 3
T = TypeVar("T")


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    """True when nothing listens on ``host:port`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = LOOPBACK) -> int:
    """A port the kernel says is free now (another process may still take it later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def preferred_or_free_port(preferred: int, host: str = LOOPBACK) -> int:
    """``preferred`` when free, else any free port: a busy port never blocks the launcher."""
    return preferred if port_is_free(preferred, host) else free_port(host)


async def start_on_free_ports(
    preferred: tuple[int, ...],
    start: Callable[[tuple[int, ...]], Awaitable[T]],
    *,
    start_errors: tuple[type[Exception], ...],
    retrying: Callable[[Exception], None],
) -> T:
    """``start`` a server on ``preferred`` ports, or free ones where those are busy.

    A port free when chosen can be taken before the server binds it (another program
    starting at that moment): when ``start`` fails and one of its ports is busy now, it is
    tried again on ports chosen afresh (``retrying`` is told why), up to ``PORT_TRIES``
    times. A failure with its ports still free (a damaged data directory) is raised at once.
    """
    for tries_left in reversed(range(PORT_TRIES)):
        ports = tuple(preferred_or_free_port(port) for port in preferred)
        try:
            return await start(ports)
        except start_errors as error:
            if not tries_left or all(port_is_free(port) for port in ports):
                raise
            retrying(error)
    raise AssertionError("unreachable: the last try returns or raises")
