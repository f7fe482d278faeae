"""A per-hub limit on concurrent large transfers (app installs, file pushes).

Why limit at all: the tablets on one USB 2.0 hub share its bandwidth (processor sharing). With
every transfer at once, all of them crawl and all finish together at the very end; with at most
K at a time, the same bytes cross the hub in the same total time (the hub stays busy), but the
first tablets finish early and move on to their short steps (settings, rename, device owner),
which overlap with the remaining transfers. So the cart's makespan is no worse and usually
shorter, and a person sees finished tablets early. K = 2 (not 1) keeps the hub busy while one
tablet is between its upload and its on-device install, when it sends nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
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


class TransferLimiter:
    """At most ``per_hub`` large transfers at once on each hub; FIFO among waiters."""

    def __init__(self, per_hub: int = DEFAULT_PER_HUB) -> None:
        if per_hub < 1:
            raise ValueError("per_hub must be at least 1")
        self.per_hub = per_hub
        self._semaphores: dict[str, asyncio.Semaphore] = {}
        self.active: dict[str, int] = {}
        self.peak: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def slot(self, hub: str) -> AsyncIterator[None]:
        """Hold one of the hub's transfer slots for the duration of the block."""
        sem = self._semaphores.get(hub)
        if sem is None:
            sem = self._semaphores[hub] = asyncio.Semaphore(self.per_hub)
        async with sem:
            self.active[hub] = self.active.get(hub, 0) + 1
            self.peak[hub] = max(self.peak.get(hub, 0), self.active[hub])
            try:
                yield
            finally:
                self.active[hub] -= 1
