"""Deadlines for sslyze's connections: each connection lives at most one timeout, the scan of one
endpoint at most its target deadline.

sslyze's own timeout is per socket read: a peer that drips one byte a second keeps a read alive
for ever. Inside the sslyze worker process (and only there) keysweep hands sslyze sockets that
enforce one deadline per connection, from connect to close, and that tell a ``ConnectionLedger``
what they saw, so that the worker can tell a server that stopped answering from one that answers
slowly.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Stall:
    """A connection on which the server sent nothing for a whole timeout."""

    had_answered: bool  # the server had sent bytes on that connection before it went quiet


class ConnectionLedger:
    """What the worker's connections saw: how many stalled, and whether any ended normally since."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.opened = 0
        self.stalls: list[Stall] = []
        self.completed = 0  # connections closed by the client after the server answered

    def record_open(self) -> None:
        with self._lock:
            self.opened += 1

    def record_stall(self, stall: Stall) -> None:
        with self._lock:
            self.stalls.append(stall)

    def record_close(self, answered: bool) -> None:
        if answered:
            with self._lock:
                self.completed += 1


class DeadlineSocket(socket.socket):
    """A connected socket whose every read and write ends by one deadline, however the peer trickles."""

    _deadline: float
    _ledger: ConnectionLedger
    _limit: float
    _answered: bool
    _stalled: bool

    @classmethod
    def adopt(cls, sock: socket.socket, timeout: float, ledger: ConnectionLedger) -> DeadlineSocket:
        adopted = cls(sock.family, sock.type, sock.proto, fileno=sock.detach())
        adopted._deadline = time.monotonic() + timeout
        adopted._limit = timeout
        adopted._ledger = ledger
        adopted._answered = False
        adopted._stalled = False
        ledger.record_open()
        return adopted

    def _arm(self) -> None:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            self._expired()
        super().settimeout(min(self._limit, remaining))

    def _expired(self) -> None:
        if not self._stalled:
            self._stalled = True
            self._ledger.record_stall(Stall(self._answered))
        raise TimeoutError(f"no complete answer within {self._limit:g}s on this connection")

    def settimeout(self, value: float | None) -> None:
        # sslyze sets its per-read timeout; the connection's deadline stays the bound
        pass

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        self._arm()
        try:
            data = super().recv(bufsize, flags)
        except TimeoutError:
            self._expired()
            raise  # unreachable: _expired raises
        if data:
            self._answered = True
        return data

    def send(self, data: bytes, flags: int = 0) -> int:  # type: ignore[override]
        self._arm()
        try:
            return super().send(data, flags)
        except TimeoutError:
            self._expired()
            raise

    def sendall(self, data: bytes, flags: int = 0) -> None:  # type: ignore[override]
        self._arm()
        try:
            super().sendall(data, flags)
        except TimeoutError:
            self._expired()
            raise

    def close(self) -> None:
        if self.fileno() != -1:
            self._ledger.record_close(self._answered and not self._stalled)
        super().close()


def connect(address: tuple[str, int], timeout: float, ledger: ConnectionLedger) -> DeadlineSocket:
    """A TCP connection whose whole life (connect included) is bounded by ``timeout``."""
    start = time.monotonic()
    sock = socket.create_connection(address, timeout=timeout)
    return DeadlineSocket.adopt(sock, max(0.01, timeout - (time.monotonic() - start)), ledger)
