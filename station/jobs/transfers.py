"""Turns on the shared resources: uploads per USB hub (longest unpack first), station CPU.

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

Which waiter next: the one expected to unpack longest (:class:`UnpackRates`, learned per
device model). After a hub's last byte the cart still waits for that tablet's unpack, so the
last upload should be a quick unpacker; in the benchmark's model, plug order ends 5 % above
the bound and longest-first ends at it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import heapq
import itertools
import math
import statistics
from collections.abc import AsyncIterator, Callable, Iterable

DEFAULT_PER_HUB = 2
# How many later arrivals may be served before a waiter: bounds the wait of a quick unpacker
# on a hub that keeps getting slower ones (tablets swapped in as others finish). Twice a hub's
# 16 ports, so within one cart's apps it seldom overrides the order.
DEFAULT_MAX_OVERTAKES = 32
SAMPLES_PER_MODEL = 20  # the newest unpack times kept per model

# Seconds a waiting tablet will still work after its last byte (None: unknown), asked anew
# whenever a slot frees.
Expectation = Callable[[], float | None]


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

    def __init__(
        self, limiter: TransferLimiter, hub: str, expected: Expectation | None = None
    ) -> None:
        self.hub = hub
        self._limiter = limiter
        self._turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._expected = expected
        self.released = False
        self.overtaken = 0  # later arrivals served before this one while it waited

    def expected(self) -> float:
        """Seconds the tablet is expected to work after its last byte; unknown: infinite."""
        value = self._expected() if self._expected is not None else None
        return math.inf if value is None or math.isnan(value) else value

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
    """At most ``per_hub`` slots held at once on each hub; waiters by expected unpack.

    A free slot goes to the waiter expected to work longest after its upload, ties in arrival
    order. A waiter without an expectation (unknown) counts as the slowest: it goes first, in
    arrival order, so callers that give none get a strictly FIFO line, and a tablet of a model
    the station has not timed yet is served early, its unpack is measured soonest, and its
    unknown (maybe long) unpack does not become the hub's tail. Expectations are asked anew
    whenever a slot frees, so what was learned meanwhile reorders those still waiting.

    Nobody starves: only waiters are reordered, and a waiter passed over by
    ``max_overtakes`` later arrivals is served before any later arrival.

    With ``stagger`` seconds, a hub's second (third, ...) slot is granted no sooner than that
    after the hub's previous grant. Two uploads of equal size that start together share the
    hub equally, end together and hand over together: the hub idles while both next tablets
    open their sessions, at every turn. Started apart, they stay apart, and one always
    carries bytes while the other hands over.
    """

    def __init__(
        self,
        per_hub: int = DEFAULT_PER_HUB,
        *,
        max_overtakes: int = DEFAULT_MAX_OVERTAKES,
        stagger: float = 0.0,
    ) -> None:
        if per_hub < 1:
            raise ValueError("per_hub must be at least 1")
        if max_overtakes < 0:
            raise ValueError("max_overtakes must not be negative")
        if stagger < 0:
            raise ValueError("stagger must not be negative")
        self.per_hub = per_hub
        self.max_overtakes = max_overtakes
        self.stagger = stagger
        self._last_grant: dict[str, float] = {}
        self._later: dict[str, asyncio.TimerHandle] = {}
        self._lines: dict[str, list[TransferLease]] = {}  # arrival order
        self.active: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.granted: dict[str, int] = {}  # slots handed out so far, per hub

    def enqueue(self, hub: str, expected: Expectation | None = None) -> TransferLease:
        """Take a place in the hub's line now (granted at once when a slot is free).

        Args:
            hub: the hub's key (:func:`hub_of`).
            expected: asked whenever a slot frees: the seconds this tablet will still work
                after its last byte (its unpack), or None when unknown.
        """
        lease = TransferLease(self, hub, expected)
        self._lines.setdefault(hub, []).append(lease)
        self._dispatch(hub)
        return lease

    async def acquire(self, hub: str, expected: Expectation | None = None) -> TransferLease:
        """Wait for a slot of ``hub`` (see :meth:`enqueue` for the order) and hold it."""
        lease = self.enqueue(hub, expected)
        try:
            await lease.wait()
        except BaseException:
            lease.release()  # cancelled: leave the line, or pass on a slot granted meanwhile
            raise
        return lease

    @contextlib.asynccontextmanager
    async def slot(
        self, hub: str, expected: Expectation | None = None
    ) -> AsyncIterator[TransferLease]:
        """Hold one of the hub's slots for the block (or until the lease is released early)."""
        lease = await self.acquire(hub, expected)
        try:
            yield lease
        finally:
            lease.release()

    def waiting(self, hub: str) -> int:
        """How many are in the hub's line without a slot yet."""
        return len(self._lines.get(hub, ()))

    def _next(self, line: list[TransferLease]) -> TransferLease:
        """The waiter to serve: longest expected first, unless an earlier one waited too long."""
        expected = [lease.expected() for lease in line]
        chosen = min(range(len(line)), key=lambda n: (-expected[n], n))
        starved = (n for n in range(chosen) if line[n].overtaken >= self.max_overtakes)
        chosen = next(starved, chosen)
        for earlier in line[:chosen]:
            earlier.overtaken += 1
        return line.pop(chosen)

    def _dispatch(self, hub: str) -> None:
        line = self._lines[hub]
        loop = asyncio.get_running_loop()
        while line and self.active.get(hub, 0) < self.per_hub:
            due = self._last_grant.get(hub, -math.inf) + self.stagger
            if self.active.get(hub, 0) and loop.time() < due:
                # Another upload on this hub began moments ago: start this one a little later,
                # so the two do not end (and hand over) together. Meanwhile the upload that
                # runs has the hub to itself, so nothing of it is lost.
                if hub not in self._later:
                    self._later[hub] = loop.call_at(due, self._dispatch_later, hub)
                return
            lease = self._next(line)
            self.active[hub] = self.active.get(hub, 0) + 1
            self.peak[hub] = max(self.peak.get(hub, 0), self.active[hub])
            self.granted[hub] = self.granted.get(hub, 0) + 1
            self._last_grant[hub] = loop.time()
            lease._grant()

    def _dispatch_later(self, hub: str) -> None:
        self._later.pop(hub, None)
        self._dispatch(hub)

    def close(self) -> None:
        """Drop the timers of staggered grants (the engine stops)."""
        for handle in self._later.values():
            handle.cancel()
        self._later.clear()

    def _release(self, hub: str) -> None:
        self.active[hub] -= 1
        self._dispatch(hub)

    def _withdraw(self, lease: TransferLease) -> None:
        self._lines[lease.hub].remove(lease)


class UnpackRates:
    """Bytes per second each device model unpacks an app at, learned from timed installs.

    An install's unpack is the time from its last byte sent to the step's end; the rate of a
    model is the median of its newest samples, so one slow outlier (a tablet busy with
    something else) does not reorder the line. Keys are whatever the caller uses for a model
    (the engine: platform and ``DeviceInfo.model``).
    """

    def __init__(self, keep: int = SAMPLES_PER_MODEL) -> None:
        if keep < 1:
            raise ValueError("keep must be at least 1")
        self.keep = keep
        self._samples: dict[str, collections.deque[float]] = {}

    @classmethod
    def seeded(
        cls, samples: Iterable[tuple[str, int, float]], keep: int = SAMPLES_PER_MODEL
    ) -> UnpackRates:
        """Rates from earlier samples (model, bytes, seconds), oldest first."""
        rates = cls(keep)
        for model, nbytes, seconds in samples:
            rates.add(model, nbytes, seconds)
        return rates

    def add(self, model: str, nbytes: int, seconds: float) -> None:
        """One timed unpack of ``nbytes`` in ``seconds``; nonsense (no bytes) is ignored."""
        if not model or nbytes <= 0 or not math.isfinite(seconds) or seconds < 0:
            return
        line = self._samples.setdefault(model, collections.deque(maxlen=self.keep))
        line.append(nbytes / max(seconds, 1e-3))

    def rate(self, model: str) -> float | None:
        """The model's bytes per second, None before any sample."""
        samples = self._samples.get(model)
        return statistics.median(samples) if samples else None

    def expected(self, model: str, nbytes: int) -> float | None:
        """Seconds a tablet of ``model`` is expected to unpack ``nbytes`` in, None if unknown."""
        rate = self.rate(model)
        return None if rate is None else nbytes / rate

    @property
    def models(self) -> list[str]:
        """The models with at least one sample."""
        return sorted(self._samples)


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
