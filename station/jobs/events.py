"""The engine's one event stream: every state change, fanned out to bounded queues."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import enum
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any


class JobState(enum.StrEnum):
    """Where one device's job is (Picard's ``File.State``: callbacks check it before acting)."""

    WAITING = "waiting"  # seen, not started yet
    RUNNING = "running"
    NEEDS_PERSON = "needs_person"  # a person must act at the tablet (hint says what)
    PAUSED = "paused"  # the tablet went away mid-job; resumes when it is back
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


class EventType(enum.StrEnum):
    DEVICE = "device"  # attached / detached / presence changed
    JOB = "job"  # job state changed
    STEP = "step"  # a step started / finished
    PROGRESS = "progress"  # fraction of a long step (coalesced for slow subscribers)
    RUN = "run"  # the run started / finished


@dataclass(frozen=True, kw_only=True)
class JobEvent:
    """One thing that happened; ``job`` is the device identity the job is keyed by."""

    type: EventType
    job: str = ""
    platform: str = ""
    serial: str = ""
    slot: int | None = None
    port: str | None = None
    state: str = ""  # JobState for JOB, StepStatus for STEP, EventKind for DEVICE
    step: str = ""
    detail: str = ""
    hint: str = ""
    fraction: float | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    ts: str = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
    )

    def to_json(self) -> dict[str, Any]:
        """A plain dict for JSON lines (None and empty values left out)."""
        out: dict[str, Any] = {"ts": self.ts, "type": self.type.value}
        for key in ("job", "platform", "serial", "slot", "port", "state", "step", "detail"):
            value = getattr(self, key)
            if value not in (None, ""):
                out[key] = value
        if self.hint:
            out["hint"] = self.hint
        if self.fraction is not None:
            out["fraction"] = round(self.fraction, 3)
        if self.data:
            out["data"] = dict(self.data)
        return out


class Subscription:
    """One subscriber's bounded queue; iterate it with ``async for``.

    A slow subscriber never blocks the engine: pending progress events of the same job and
    step are replaced by the newest one, and when the queue is still full the oldest progress
    event (else the oldest event) is dropped and counted in ``dropped``.
    """

    def __init__(self, bus: EventBus, maxsize: int) -> None:
        self._bus = bus
        self._maxsize = maxsize
        self._items: collections.deque[JobEvent] = collections.deque()
        self._ready = asyncio.Event()
        self._closed = False
        self.dropped = 0

    def _put(self, event: JobEvent) -> None:
        if self._closed:
            return
        if event.type is EventType.PROGRESS:
            for i, pending in enumerate(self._items):
                if (
                    pending.type is EventType.PROGRESS
                    and pending.job == event.job
                    and pending.step == event.step
                ):
                    self._items[i] = event
                    self._ready.set()
                    return
        if len(self._items) >= self._maxsize:
            victim = next((i for i, e in enumerate(self._items) if e.type is EventType.PROGRESS), 0)
            del self._items[victim]
            self.dropped += 1
        self._items.append(event)
        self._ready.set()

    def close(self) -> None:
        """Stop this subscription; the iterator ends after the events already queued."""
        self._closed = True
        self._ready.set()
        self._bus._forget(self)

    def pending(self) -> list[JobEvent]:
        """Take every queued event without waiting."""
        items = list(self._items)
        self._items.clear()
        self._ready.clear()
        return items

    def __aiter__(self) -> AsyncIterator[JobEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[JobEvent]:
        while True:
            while self._items:
                yield self._items.popleft()
            if self._closed:
                return
            self._ready.clear()
            await self._ready.wait()


class EventBus:
    """Fan-out of :class:`JobEvent` to every subscriber (CLI table, JSON lines, the window)."""

    def __init__(self, *, maxsize: int = 1000) -> None:
        self._subscribers: list[Subscription] = []
        self._maxsize = maxsize

    def subscribe(self, *, maxsize: int | None = None) -> Subscription:
        sub = Subscription(self, maxsize or self._maxsize)
        self._subscribers.append(sub)
        return sub

    def _forget(self, sub: Subscription) -> None:
        if sub in self._subscribers:
            self._subscribers.remove(sub)

    def publish(self, event: JobEvent) -> None:
        """Never blocks and never raises for a subscriber's sake."""
        for sub in list(self._subscribers):
            sub._put(event)

    def close(self) -> None:
        for sub in list(self._subscribers):
            sub.close()
