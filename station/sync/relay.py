"""The outbox relay: delivers the station's queued messages, at least once, to their targets."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from station import __version__
from station.store import OutboxRow, OutboxState, Store
from station.sync.backoff import Backoff
from station.sync.targets import Dead, Delivered, Outcome, Retry, StationInfo, Target

log = logging.getLogger("station.sync.relay")

SETTING_LAST_SUCCESS = "sync.last_success"
SETTING_LAST_ERROR = "sync.last_error"
SETTING_LAST_ERROR_AT = "sync.last_error_at"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class DrainReport:
    """What one pass over the due messages did."""

    sent: int = 0
    retried: int = 0
    dead: int = 0
    not_tried: int = 0
    unconfigured: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.retried and not self.dead


class Relay:
    """Moves due outbox rows to their targets; one relay per station process.

    Delivery is at least once: a row is marked sent only after its target confirmed it, so a
    station killed in between sends it again and the target's idempotency absorbs it.
    A target that fails is held back (full-jitter backoff, or its ``Retry-After``) so a dead
    hub is not hammered by every queued row in turn.
    """

    def __init__(
        self,
        store: Store,
        targets: Mapping[str, Target],
        *,
        backoff: Backoff | None = None,
        now: Callable[[], dt.datetime] = _utcnow,
        version: str = __version__,
        max_rows: int = 5000,
    ) -> None:
        self.store = store
        self.targets = dict(targets)
        self.backoff = backoff or Backoff()
        self._now = now
        self._version = version
        self._max_rows = max_rows
        self._held_until: dict[str, dt.datetime] = {}
        self._failures: dict[str, int] = {}
        self._wake = asyncio.Event()

    async def aclose(self) -> None:
        for target in self.targets.values():
            await target.aclose()

    def wake(self) -> None:
        """Ask a running relay to look at the outbox now (after a new result was recorded)."""
        self._wake.set()

    def held_until(self, target: str) -> dt.datetime | None:
        until = self._held_until.get(target)
        return until if until is not None and until > self._now() else None

    async def station_info(self) -> StationInfo:
        pending = await asyncio.to_thread(self.store.outbox, state=OutboxState.PENDING)
        oldest = min((r.created_at for r in pending), default=None)
        return StationInfo(
            station_id=await asyncio.to_thread(lambda: self.store.station_id),
            version=self._version,
            backlog=len(pending),
            oldest_pending=dt.datetime.fromisoformat(oldest) if oldest else None,
        )

    async def drain_once(self) -> DrainReport:
        """Deliver every row due now, once; rows that fail are scheduled, not retried here."""
        report = DrainReport()
        due = await asyncio.to_thread(self.store.outbox_due, limit=self._max_rows)
        if not due:
            return report
        station = await self.station_info()
        by_target: dict[str, list[OutboxRow]] = {}
        for row in due:
            by_target.setdefault(row.target, []).append(row)
        for name, rows in by_target.items():
            target = self.targets.get(name)
            if target is None:
                report.unconfigured[name] = len(rows)
                continue
            if self.held_until(name) is not None:
                report.not_tried += len(rows)
                continue
            await self._drain_target(target, rows, station, report)
        return report

    async def _drain_target(
        self,
        target: Target,
        rows: Sequence[OutboxRow],
        station: StationInfo,
        report: DrainReport,
    ) -> None:
        size = max(1, target.batch_size)
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            outcomes = await target.deliver(chunk, station)
            stop = False
            for row in chunk:
                outcome = outcomes.get(row.id)
                if outcome is None:
                    report.not_tried += 1
                    stop = True
                elif isinstance(outcome, Delivered):
                    await asyncio.to_thread(self.store.outbox_sent, row.id)
                    report.sent += 1
                elif isinstance(outcome, Dead):
                    log.warning(
                        "%s refused outbox row %d (%s %s): %s",
                        target.name,
                        row.id,
                        row.op,
                        row.natural_key,
                        outcome.error,
                    )
                    await asyncio.to_thread(
                        self.store.outbox_failed, row.id, outcome.error, retry_at=None, dead=True
                    )
                    report.dead += 1
                    report.errors.append(f"{target.name}: {outcome.error}")
                else:
                    delay = self.backoff.delay(row.attempts, outcome.after)
                    retry_at = self._now() + dt.timedelta(seconds=delay)
                    await asyncio.to_thread(
                        self.store.outbox_failed, row.id, outcome.error, retry_at=retry_at
                    )
                    report.retried += 1
                    stop = True
            retries = [o for o in outcomes.values() if isinstance(o, Retry)]
            if retries:
                self._hold(target.name, retries[0])
                report.errors.append(f"{target.name}: {retries[0].error}")
            elif any(isinstance(o, Delivered) for o in outcomes.values()):
                self._failures.pop(target.name, None)
                self._held_until.pop(target.name, None)
            await asyncio.to_thread(self._record_status, list(outcomes.values()))
            if stop:
                report.not_tried += len(rows) - start - len(chunk)
                return

    def _hold(self, target: str, retry: Retry) -> None:
        failures = self._failures.get(target, 0)
        self._failures[target] = failures + 1
        delay = self.backoff.delay(failures, retry.after)
        self._held_until[target] = self._now() + dt.timedelta(seconds=delay)
        log.info("%s: %s; next try in %.1f s", target, retry.error, delay)

    def _record_status(self, values: Sequence[Outcome]) -> None:
        ts = self._now().astimezone(dt.UTC).isoformat(timespec="milliseconds")
        if any(isinstance(o, Delivered) for o in values):
            self.store.set_setting(SETTING_LAST_SUCCESS, ts)
        problems = [o for o in values if isinstance(o, Retry | Dead)]
        if problems:
            self.store.set_setting(SETTING_LAST_ERROR, problems[0].error)
            self.store.set_setting(SETTING_LAST_ERROR_AT, ts)

    async def heartbeat(self) -> None:
        """Send a heartbeat to every target that takes one (the hub)."""
        station = await self.station_info()
        for target in self.targets.values():
            beat = getattr(target, "heartbeat", None)
            if beat is None or self.held_until(target.name) is not None:
                continue
            outcome = await beat(station)
            if isinstance(outcome, Retry):
                self._hold(target.name, outcome)

    async def run(
        self, stop: asyncio.Event, *, poll: float = 5.0, heartbeat_every: float = 60.0
    ) -> None:
        """Drain until ``stop`` is set: every ``poll`` seconds, or at once after :meth:`wake`."""
        last_beat: float | None = None
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            self._wake.clear()
            report = await self.drain_once()
            if report.sent or report.dead or report.retried:
                log.info(
                    "sync: %d sent, %d to retry, %d dead", report.sent, report.retried, report.dead
                )
            if last_beat is None or loop.time() - last_beat >= heartbeat_every:
                await self.heartbeat()
                last_beat = loop.time()
            waiter = asyncio.ensure_future(self._wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            try:
                await asyncio.wait({waiter, stopper}, timeout=poll, return_when="FIRST_COMPLETED")
            finally:
                for task in (waiter, stopper):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
