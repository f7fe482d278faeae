"""The one owner of concurrency for the window: the engine's asyncio loop in its own thread.

Events go up through :class:`EventBridge` signals (emitted on the loop thread, delivered
queued on the GUI thread); commands go down with ``call_soon_threadsafe`` and
``run_coroutine_threadsafe``. The GUI thread never waits on a device.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from station.errors import StationError
from station.jobs.events import EventBus, EventType, JobEvent, Subscription
from station.labels.android_qr import provisioning_json, provisioning_qr_png
from station.ui.backend import EngineControl, StationBackend

log = logging.getLogger("station.ui.runtime")

STATE_INTERVAL = 0.05  # seconds: state changes reach the GUI within this, ~20 batches a second
PROGRESS_INTERVAL = 0.1  # seconds: progress reaches the GUI at most ten times a second


class Coalescer:
    """What the GUI thread still has to hear, with progress reduced to its newest value.

    Progress is only worth its newest fraction: it is kept per job (the newest replaces the
    one before) and sent at most every ``progress_interval``. Every other event (attached,
    detached, a step, a job's state, the run) is a state change: never dropped, kept in order
    and sent within ``state_interval``. A job's (or its slot's) pending progress goes out just
    before its next state change, so the GUI never sees a job's events out of order.

    Plain Python, used on the loop thread only; ``now`` is ``time.monotonic()`` seconds.
    """

    def __init__(
        self,
        *,
        state_interval: float = STATE_INTERVAL,
        progress_interval: float = PROGRESS_INTERVAL,
    ) -> None:
        self.state_interval = state_interval
        self.progress_interval = progress_interval
        self._ordered: list[JobEvent] = []
        self._progress: dict[str, JobEvent] = {}  # job -> newest progress, in arrival order
        self._last_sent = float("-inf")
        self._last_progress = float("-inf")
        self.received = 0
        self.replaced = 0

    def add(self, events: Iterable[JobEvent]) -> None:
        for event in events:
            self.received += 1
            if event.type is EventType.PROGRESS and event.job:
                if self._progress.pop(event.job, None) is not None:
                    self.replaced += 1
                self._progress[event.job] = event
                continue
            self._release(event)
            self._ordered.append(event)

    def _release(self, event: JobEvent) -> None:
        """Move the progress that must precede ``event`` into the ordered part."""
        if not self._progress:
            return
        if not event.job:  # the run, a driver's trouble: everything before it goes first
            self._ordered.extend(self._progress.values())
            self._progress.clear()
            return
        for job, pending in list(self._progress.items()):
            if job == event.job or (event.slot is not None and pending.slot == event.slot):
                self._ordered.append(self._progress.pop(job))

    @property
    def pending(self) -> bool:
        return bool(self._ordered or self._progress)

    def due_in(self, now: float) -> float | None:
        """Seconds until :meth:`take` has something to send (0: now), None when nothing."""
        waits = []
        if self._ordered:
            waits.append(self._last_sent + self.state_interval - now)
        if self._progress:
            waits.append(
                max(
                    self._last_sent + self.state_interval,
                    self._last_progress + self.progress_interval,
                )
                - now
            )
        return max(0.0, min(waits)) if waits else None

    def take(self, now: float) -> list[JobEvent]:
        """The batch to send now ([] when nothing is due yet)."""
        if now - self._last_sent < self.state_interval:
            return []
        batch = self._ordered
        self._ordered = []
        if self._progress and now - self._last_progress >= self.progress_interval:
            batch.extend(self._progress.values())
            self._progress.clear()
            self._last_progress = now
        if batch:
            self._last_sent = now
        return batch

    def take_all(self) -> list[JobEvent]:
        """Everything still pending, due or not (the run ended)."""
        batch = [*self._ordered, *self._progress.values()]
        self._ordered = []
        self._progress.clear()
        return batch


class EventBridge(QObject):
    """Carries what happens on the loop thread to the GUI thread.

    Signals:
        events(list): a batch of ``JobEvent`` in order, progress coalesced (:class:`Coalescer`).
        blueprint_loaded(object, object): the path and its validated ``Blueprint``.
        blueprint_failed(object, object): the path and the ``StationError`` explaining why.
        run_started(object): the blueprint path of the run.
        run_ended(object): the run's result object, or None when it was stopped.
        failed(str, str): a command failed (a code for the window to word, and a detail).
        notice(str, str): something was done (a code, and a detail such as where).
        labels_ready(str, object): a purpose ("cart" or "device") and its ``LabelData`` list.
        android_qr(object, str): the enrollment QR as PNG bytes, and the JSON it encodes.
        android_qr_failed(object): the ``StationError`` saying what the technician must set.
        sync_status(object): the ``SyncStatus`` just read.
    """

    events = Signal(list)
    blueprint_loaded = Signal(object, object)
    blueprint_failed = Signal(object, object)
    run_started = Signal(object)
    run_ended = Signal(object)
    failed = Signal(str, str)
    notice = Signal(str, str)
    labels_ready = Signal(str, object)
    android_qr = Signal(object, str)
    android_qr_failed = Signal(object)
    sync_status = Signal(object)


class Runtime:
    """Runs ``backend`` on a dedicated asyncio loop thread and relays its events.

    Args:
        backend: the station, built by the wiring point.
        bridge: created on the GUI thread (so its signals are delivered there).
    """

    def __init__(self, backend: StationBackend, bridge: EventBridge) -> None:
        self.backend = backend
        self.bridge = bridge
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._bus: EventBus | None = None
        self._ready = threading.Event()
        self._stopping: asyncio.Event | None = None
        self._engine: EngineControl | None = None
        self._run_task: asyncio.Task[None] | None = None
        self._watch_task: asyncio.Task[None] | None = None
        self._open_error: BaseException | None = None
        self._status_pending = False
        self._reader: asyncio.Future[JobEvent] | None = None
        self._pumping: tuple[Subscription, Coalescer] | None = None

    # --- lifecycle (GUI thread) -----------------------------------------------------------

    def start(self, timeout: float = 60.0) -> None:
        """Start the loop thread and open the backend; raises what opening raised."""
        self._thread = threading.Thread(target=self._main, name="station-engine")
        self._thread.start()
        if not self._ready.wait(timeout):
            raise StationError("the engine thread did not start", hint="restart the station")
        if self._open_error is not None:
            self._thread.join()
            raise self._open_error

    def shutdown(self, timeout: float = 60.0) -> None:
        """Stop the run and the loop, close the backend, join the thread."""
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.error("the engine thread did not stop within %ss", timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._run_task is not None and not self._run_task.done()

    # --- commands (GUI thread) ------------------------------------------------------------

    def load_blueprint(self, path: Path) -> None:
        self._submit(self._load(path))

    def start_run(self, path: Path) -> None:
        self._call(self._start_run, path)

    def stop_run(self) -> None:
        self._call(self._stop_run)

    def cancel(self, key: str) -> None:
        self._call(self._command, "cancel", key)

    def retry(self, key: str) -> None:
        self._call(self._command, "retry", key)

    def watch_devices(self, on: bool) -> None:
        """Start (or stop) publishing device events without a run (calibration, after a run)."""
        if self._loop is None or self._loop.is_closed():
            return  # shut down: nothing is watched any more
        self._call(self._watch, on)

    def save_calibration(self, slots: Mapping[str, int]) -> None:
        self._submit(self._save_calibration(dict(slots)))

    def set_secret(self, name: str, value: str) -> None:
        self._submit(self._guard(self.backend.set_secret(name, value), "secret"))

    def request_labels(self, jobs: Sequence[Mapping[str, Any]], purpose: str) -> None:
        """Ask for the label data of ``jobs``; it comes back as ``labels_ready``."""
        self._submit(self._labels(list(jobs), purpose))

    def request_android_qr(self) -> None:
        self._submit(self._android_qr())

    def request_sync_status(self) -> None:
        """Read the sync status unless a read is still under way (a slow disk never piles up)."""
        if self._status_pending or self._loop is None or self._loop.is_closed():
            return
        self._status_pending = True
        self._submit(self._sync_status())

    def _call(self, func: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            log.warning("engine thread not running; %s dropped", func.__name__)
            return
        loop.call_soon_threadsafe(func, *args)

    def _submit(self, coro: Coroutine[Any, Any, None]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            coro.close()
            log.warning("engine thread not running; command dropped")
            return
        future = asyncio.run_coroutine_threadsafe(coro, loop)
        future.add_done_callback(self._on_command_done)

    def _on_command_done(self, future: concurrent.futures.Future[None]) -> None:
        if not future.cancelled() and future.exception() is not None:
            self.bridge.failed.emit("command", str(future.exception()))

    # --- the loop thread ------------------------------------------------------------------

    def _main(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._bus = EventBus()
        sub = self._bus.subscribe(maxsize=5000)
        pump = asyncio.ensure_future(self._pump(sub))
        try:
            await self.backend.open()
        except BaseException as exc:
            # Boundary: whatever opening raised goes back to the GUI thread's start().
            self._open_error = exc
            pump.cancel()
            await asyncio.gather(pump, return_exceptions=True)
            self._ready.set()
            return
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            for task in (self._run_task, self._watch_task):
                if task is not None:
                    task.cancel()
            await asyncio.gather(
                *(t for t in (self._run_task, self._watch_task) if t is not None),
                return_exceptions=True,
            )
            sub.close()
            await asyncio.gather(pump, return_exceptions=True)
            await self.backend.close()

    async def _pump(self, sub: Subscription) -> None:
        """One queued signal per batch, coalesced (see :class:`Coalescer`)."""
        coalescer = Coalescer()
        events = aiter(sub)
        self._pumping = (sub, coalescer)
        try:
            while True:
                if self._reader is None:
                    self._reader = asyncio.ensure_future(anext(events))
                # Wait for the next event, or until pending events are due.
                await asyncio.wait({self._reader}, timeout=coalescer.due_in(time.monotonic()))
                if not self._collect(sub, coalescer):
                    self._send(coalescer.take_all())  # the subscription closed: the rest
                    return
                self._send(coalescer.take(time.monotonic()))
        finally:
            self._pumping = None
            reader, self._reader = self._reader, None
            if reader is not None:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)

    def _collect(self, sub: Subscription, coalescer: Coalescer) -> bool:
        """Move what arrived into ``coalescer``, in order; False when the subscription ended."""
        reader = self._reader
        if reader is not None and reader.done():
            self._reader = None
            try:
                first = reader.result()
            except StopAsyncIteration:
                return False
            coalescer.add([first])
        coalescer.add(sub.pending())
        return True

    def _send(self, batch: list[JobEvent]) -> None:
        if batch:
            self.bridge.events.emit(batch)

    def _flush_events(self) -> None:
        """Send everything published so far now (before the run's end is announced)."""
        if self._pumping is not None:
            sub, coalescer = self._pumping
            self._collect(sub, coalescer)
            self._send(coalescer.take_all())

    async def _load(self, path: Path) -> None:
        try:
            blueprint = await self.backend.load_blueprint(path)
        except StationError as exc:
            self.bridge.blueprint_failed.emit(path, exc)
            return
        self.bridge.blueprint_loaded.emit(path, blueprint)

    def _start_run(self, path: Path) -> None:
        if self.running:
            self.bridge.failed.emit("busy", "")
            return
        assert self._bus is not None
        self._engine = None
        self._run_task = asyncio.ensure_future(self._run(path, self._bus))

    async def _run(self, path: Path, bus: EventBus) -> None:
        self.bridge.run_started.emit(path)
        result: object = None
        try:
            result = await self.backend.run(path, bus, self._on_engine)
        except StationError as exc:
            self.bridge.blueprint_failed.emit(path, exc)
        except asyncio.CancelledError:
            result = None
        except Exception as exc:
            # Boundary: a crash of the run is shown in the window, never kills the loop.
            log.exception("the run crashed")
            self.bridge.failed.emit("crashed", repr(exc))
        finally:
            self._engine = None
            # The run's last events go out before its end is announced (both signals are
            # queued to the GUI thread, so they arrive in this order).
            await asyncio.sleep(0)
            self._flush_events()
            self.bridge.run_ended.emit(result)

    def _on_engine(self, engine: EngineControl) -> None:
        self._engine = engine

    def _stop_run(self) -> None:
        if self._run_task is not None:
            self._run_task.cancel()

    def _command(self, name: str, key: str) -> None:
        engine = self._engine
        if engine is None:
            self.bridge.failed.emit("no_run", "")
            return
        try:
            getattr(engine, name)(key)
        except KeyError:
            self.bridge.failed.emit("unknown_device", key)

    def _watch(self, on: bool) -> None:
        if self._watch_task is not None:
            self._watch_task.cancel()
            self._watch_task = None
        if on and self._bus is not None:
            self._watch_task = asyncio.ensure_future(self.backend.watch_devices(self._bus))

    async def _save_calibration(self, slots: dict[str, int]) -> None:
        await self.backend.save_calibration(slots)
        self.bridge.notice.emit("calibration", "")

    async def _labels(self, jobs: list[Mapping[str, Any]], purpose: str) -> None:
        labels = list(await self.backend.label_data(jobs))
        self.bridge.labels_ready.emit(purpose, labels)

    async def _android_qr(self) -> None:
        try:
            payload = await self.backend.android_enrollment()
            png = await asyncio.to_thread(provisioning_qr_png, payload)
        except StationError as exc:
            self.bridge.android_qr_failed.emit(exc)
            return
        self.bridge.android_qr.emit(png, provisioning_json(payload))

    async def _sync_status(self) -> None:
        try:
            status = await self.backend.sync_status()
        except StationError as exc:
            # Read again at the next tick; a status-bar message every few seconds helps nobody.
            log.warning("reading the sync status failed: %s", exc)
            return
        finally:
            self._status_pending = False  # the flag is a plain bool: one writer at a time
        self.bridge.sync_status.emit(status)

    async def _guard(self, coro: Coroutine[Any, Any, None], done: str) -> None:
        await coro
        self.bridge.notice.emit(done, "")
