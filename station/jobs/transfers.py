"""Turns on the shared resources: uploads per USB hub (first come first served), station CPU.

Why limit at all: the tablets on one USB 2.0 hub share its bandwidth (processor sharing). With
every upload at once, all of them crawl and all finish together at the very end; with at most
K at a time, the same bytes cross the hub in the same total time (the hub stays busy), but the
first tablets finish early and move on to their short steps (settings, rename, device owner),
which overlap with the remaining uploads. So the cart's makespan is no worse and usually
shorter, and a person sees finished tablets early.

A slot covers the upload only: an app install hands its slot back (``TransferLease.release``,
the drivers' ``uploaded`` callback) as soon as its last byte has left the station, so the hub
moves the next tablet's bytes while this one unpacks. K = 2 rather than 1 covers the gaps
between two uploads (the next tablet opens its AFC / adb session before its first byte flows;
the last write waits for the device's answer), in which a lone upload would leave the hub
idle. Larger K splits the same bandwidth more ways and delays the first finished tablets. On
the benchmark cart (bench/makespan.py, docs/benchmarks.md) K = 1, 2, 3 tie on a quiet machine;
under load K = 1 was slower, and K = 3 finished its first tablets much later.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import heapq
import itertools
from collections.abc import AsyncIterator

DEFAULT_PER_HUB = 2


def hub_of(port_path: str | None) -> str:
    """The hub of a port path: ``"1-2.3"`` -> ``"1-2"``; unknown ports share one key."""
    if not port_path:
        return "?"
    path = port_path.removeprefix("usb:")
    head, dot, _last = path.rpartition(".")
    if dot:
        return head
    bus, dash, _port = path.partition("-")
    return f"{bus}-root" if dash else path


class TransferLease:
    """A place in a hub's line, then one of its slots; :meth:`release` gives up either."""

    def __init__(self, limiter: TransferLimiter, hub: str) -> None:
        self.hub = hub
        self._limiter = limiter
        self._turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.released = False

    @property
    def granted(self) -> bool:
        """The slot is this lease's (until released)."""
        return self._turn.done() and not self.released

    async def wait(self) -> None:
        """Wait for the slot; a cancelled wait keeps the place in line (release gives it up)."""
        if self.released:
            raise RuntimeError("a released transfer lease cannot wait")
        await asyncio.shield(self._turn)

    def release(self) -> None:
        """Give the slot (or the place in line) to the next; any number of times, from callbacks."""
        if self.released:
            return
        self.released = True
        if self._turn.done():
            self._limiter._release(self.hub)
        else:
            self._turn.cancel()
            self._limiter._withdraw(self)

    def _grant(self) -> None:
        self._turn.set_result(None)


class TransferLimiter:
    """At most ``per_hub`` slots held at once on each hub; strictly FIFO among waiters."""

    def __init__(self, per_hub: int = DEFAULT_PER_HUB) -> None:
        if per_hub < 1:
            raise ValueError("per_hub must be at least 1")
        self.per_hub = per_hub
        self._lines: dict[str, collections.deque[TransferLease]] = {}
        self.active: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.granted: dict[str, int] = {}  # slots handed out so far, per hub

    def enqueue(self, hub: str) -> TransferLease:
        """Take a place in the hub's line now (granted at once when a slot is free)."""
        lease = TransferLease(self, hub)
        self._lines.setdefault(hub, collections.deque()).append(lease)
        self._dispatch(hub)
        return lease

    async def acquire(self, hub: str) -> TransferLease:
        """Wait for a slot of ``hub`` (behind everyone who asked earlier) and hold it."""
        lease = self.enqueue(hub)
        try:
            await lease.wait()
        except BaseException:
            lease.release()  # cancelled: leave the line, or pass on a slot granted meanwhile
            raise
        return lease

    @contextlib.asynccontextmanager
    async def slot(self, hub: str) -> AsyncIterator[TransferLease]:
        """Hold one of the hub's slots for the block (or until the lease is released early)."""
        lease = await self.acquire(hub)
        try:
            yield lease
        finally:
            lease.release()

    def waiting(self, hub: str) -> int:
        """How many are in the hub's line without a slot yet."""
        return len(self._lines.get(hub, ()))

    def _dispatch(self, hub: str) -> None:
        line = self._lines[hub]
        while line and self.active.get(hub, 0) < self.per_hub:
            lease = line.popleft()
            self.active[hub] = self.active.get(hub, 0) + 1
            self.peak[hub] = max(self.peak.get(hub, 0), self.active[hub])
            self.granted[hub] = self.granted.get(hub, 0) + 1
            lease._grant()

    def _release(self, hub: str) -> None:
        self.active[hub] -= 1
        self._dispatch(hub)

    def _withdraw(self, lease: TransferLease) -> None:
        self._lines[lease.hub].remove(lease)


class Seats:
    """At most ``count`` holders at once; waiters are served lowest ``rank`` first.

    The station's own work on a tablet (pairing keys, TLS sessions, plists) is CPU: when a
    whole cart starts at once, every tablet gets a sliver and the first one is ready for its
    upload only when nearly all are. Served in plug order, a few at a time, the first tablets
    reach the hub early and the rest get ready while it carries their bytes.
    """

    def __init__(self, count: int) -> None:
        if count < 1:
            raise ValueError("count must be at least 1")
        self.count = count
        self.taken = 0
        self._waiting: list[tuple[float, int, asyncio.Future[None]]] = []
        self._numbers = itertools.count()

    @contextlib.asynccontextmanager
    async def seat(self, rank: float) -> AsyncIterator[None]:
        """Hold a seat for the block, after every waiter of lower ``rank``."""
        if self.taken < self.count and not self._waiting:
            self.taken += 1
        else:
            turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            entry = (rank, next(self._numbers), turn)
            heapq.heappush(self._waiting, entry)
            try:
                await turn
            except BaseException:
                if turn.done() and not turn.cancelled():
                    self._free()  # seated in the same instant: pass the seat on
                elif entry in self._waiting:  # else a release already dropped it
                    self._waiting.remove(entry)
                    heapq.heapify(self._waiting)
                raise
        try:
            yield
        finally:
            self._free()

    def _free(self) -> None:
        while self._waiting:
            _rank, _n, turn = heapq.heappop(self._waiting)
            if not turn.done():
                turn.set_result(None)  # the seat passes on without being freed
                return
        self.taken -= 1
