"""The launcher's ports: a port free when chosen but taken before the server binds it (two
programs starting at once) costs a retry on another port, not a failed `make run`."""

from __future__ import annotations

import socket

import pytest

from devstack.ports import LOOPBACK, PORT_TRIES, free_port, start_on_free_ports


class BindError(RuntimeError):
    pass


class Server:
    """Fails the way Postgres does when its port went to someone else first."""

    def __init__(self, *, snatched_starts: int = 0, broken: bool = False) -> None:
        self.snatched_starts = snatched_starts
        self.broken = broken
        self.tried: list[tuple[int, ...]] = []
        self.squatters: list[socket.socket] = []

    async def start(self, ports: tuple[int, ...]) -> tuple[int, ...]:
        self.tried.append(ports)
        if self.broken:
            raise BindError("damaged data directory")
        if len(self.tried) <= self.snatched_starts:
            squatter = socket.socket()
            squatter.bind((LOOPBACK, ports[-1]))
            squatter.listen()
            self.squatters.append(squatter)
            raise BindError(f"port {ports[-1]} taken")
        return ports

    def close(self) -> None:
        for squatter in self.squatters:
            squatter.close()


async def test_a_port_snatched_before_the_bind_is_replaced_by_another() -> None:
    server, retries = Server(snatched_starts=1), list[Exception]()
    preferred = (free_port(), free_port())
    try:
        ports = await start_on_free_ports(
            preferred, server.start, start_errors=(BindError,), retrying=retries.append
        )
    finally:
        server.close()

    assert server.tried[0] == preferred
    assert len(server.tried) == 2
    assert ports == server.tried[1]
    assert ports[1] != server.tried[0][1]
    assert [str(error) for error in retries] == [f"port {server.tried[0][1]} taken"]


async def test_a_failure_with_its_ports_still_free_is_not_retried() -> None:
    server = Server(broken=True)

    with pytest.raises(BindError, match="damaged"):
        await start_on_free_ports(
            (free_port(),), server.start, start_errors=(BindError,), retrying=print
        )

    assert len(server.tried) == 1


async def test_ports_snatched_every_time_give_up_after_a_few_tries() -> None:
    server = Server(snatched_starts=PORT_TRIES)
    try:
        with pytest.raises(BindError, match="taken"):
            await start_on_free_ports(
                (free_port(),), server.start, start_errors=(BindError,), retrying=lambda _: None
            )
    finally:
        server.close()

    assert len(server.tried) == PORT_TRIES
