"""The provisioning engine: one asyncio task per device, driven by the drivers' device events.

Plain asyncio, no Qt. Every state change is recorded in the store and published on the
:class:`~station.jobs.events.EventBus`; front ends subscribe and send commands (``cancel``,
``retry``) but never change a job themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from station import messages as msg
from station.blueprint import Blueprint
from station.drivers.base import (
    AndroidDriver,
    DeviceEvent,
    DeviceInfo,
    EventKind,
    IosDriver,
    Platform,
    Presence,
    Progress,
    SlotCalibration,
    TabletDriver,
    UsbKind,
    UsbScanner,
)
from station.errors import (
    DeviceError,
    DeviceGone,
    DeviceRefused,
    InputError,
    ServiceUnavailable,
    StationError,
    UserActionRequired,
)
from station.jobs.android_steps import InstallApk, android_plan
from station.jobs.events import EventBus, EventType, JobEvent, JobState
from station.jobs.ios_steps import InstallIpa, ios_plan
from station.jobs.steps import Step, StepContext
from station.jobs.transfers import (
    DEFAULT_PER_HUB,
    SAMPLES_PER_MODEL,
    Expectation,
    Seats,
    TransferLease,
    TransferLimiter,
    UnpackRates,
    hub_of,
)
from station.secrets import SupervisionIdentity
from station.store import StepStatus, Store
from station.sync.targets import DeviceResult, hub_entry

log = logging.getLogger("station.jobs")

RESULT_STEP = "result"
WAITING_FOR_HUB = "waiting for its turn on the USB hub"
GONE_HINT = msg.GONE_HINT
RETRY_HINT = msg.RETRY_HINT
CART_SETTING = "cart.name"  # the store setting ``station labels`` also reads
RECOVERY_PREFIX = "ios:recovery-"  # job key of a recovery iPad whose UDID cannot be derived
# iBoot's USB serial string: "... CPID:8027 ... ECID:001A2B3C4D5E6F70 ... SRNM:[F9FXXXXXX]".
_IBOOT_FIELD = re.compile(r"(CPID|ECID|SRNM):\[?([0-9A-Za-z]+)\]?")


@dataclass(frozen=True)
class EngineSettings:
    """Tunables that are the station's, not the blueprint's."""

    transfers_per_hub: int = DEFAULT_PER_HUB
    busy_at_once: int = 3  # tablets whose CPU-heavy steps (pairing, ...) run at once
    transfer_stagger: float = 1.0  # seconds between uploads starting on one hub (transfers.py)
    person_poll: float = 2.0  # seconds between looks while waiting for a person
    backoff_scale: float = 1.0  # multiplies the blueprint's backoff (tests: small)
    backoff_cap: float = 120.0
    restart_wait: float = 60.0  # how long to wait for a device to leave after erase
    settle: float = 1.0  # without --expect: how long no new device must appear
    usb_poll: float = 2.0  # seconds between USB scans (adb-invisible tablets, recovery iPads)
    cart_name: str = ""  # recorded with every device (labels); else the store's "cart.name"


class _Gone(Exception):
    """The device left: pause the job until it is back."""


@dataclass(eq=False)
class Job:
    """One device's job: its identity, where it is, and how far it got."""

    key: str
    platform: Platform
    serial: str
    handle: str | None = None
    port: str | None = None
    slot: int | None = None
    state: JobState = JobState.WAITING
    step: str = ""
    detail: str = ""
    hint: str = ""
    presence: Presence = Presence.READY
    device_id: int | None = None
    info: DeviceInfo | None = None
    asset_tag: str = ""
    done_steps: int = 0
    skipped_steps: int = 0
    completed: set[str] = field(default_factory=set)
    task: asyncio.Task[None] | None = None
    present: asyncio.Event = field(default_factory=asyncio.Event)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    cancelled: bool = False
    left_on_purpose: bool = False
    fingerprint: str = ""  # of the step being run
    since: float = field(default_factory=time.monotonic)  # first seen: its rank for CPU seats
    name: str = ""  # the device's name as the station last saw or set it

    def summary(self) -> dict[str, Any]:
        return {
            "job": self.key,
            "platform": self.platform.value,
            "serial": self.serial,
            "slot": self.slot,
            "port": self.port,
            "state": self.state.value,
            "step": self.step,
            "detail": self.detail,
            "hint": self.hint,
            "asset_tag": self.asset_tag,
            "name": self.name,
            "done_steps": self.done_steps,
            "skipped_steps": self.skipped_steps,
        }


class Engine:
    """Runs the blueprint on every device the drivers report, until stopped.

    Args:
        store: the records (every write is one short transaction, called from the loop).
        blueprint: the validated blueprint.
        run_id: the store's run these jobs belong to.
        secrets: values of the blueprint's secrets by name (resolved before the run).
        identity: the supervision identity, when the blueprint supervises iPads.
        ios, android: the drivers (either may be None).
        usb: a USB scanner, to tie an iPad's LocationID to a hub port.
        calibration: hub port -> cart slot.
        bus: where events go.
        clock: monotonic seconds for timing app unpacks (tests pass a fake).
    """

    def __init__(
        self,
        *,
        store: Store,
        blueprint: Blueprint,
        run_id: str,
        secrets: Mapping[str, str] | None = None,
        identity: SupervisionIdentity | None = None,
        ios: IosDriver | None = None,
        android: AndroidDriver | None = None,
        usb: UsbScanner | None = None,
        calibration: SlotCalibration | None = None,
        settings: EngineSettings | None = None,
        bus: EventBus | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.blueprint = blueprint
        self.run_id = run_id
        self.secrets = dict(secrets or {})
        self.identity = identity
        self.ios = ios
        self.android = android
        self.usb = usb
        self.calibration = calibration or SlotCalibration()
        self.settings = settings or EngineSettings()
        self.bus = bus or EventBus()
        self.limiter = TransferLimiter(
            self.settings.transfers_per_hub, stagger=self.settings.transfer_stagger
        )
        self.busy = Seats(self.settings.busy_at_once)
        self.jobs: dict[str, Job] = {}
        self._by_handle: dict[str, Job] = {}
        self._watchers: list[asyncio.Task[None]] = []
        self._changed = asyncio.Event()
        self._rng = rng or random.Random()
        self._locations: dict[int, str] = {}
        self._ios_steps: Sequence[Step[IosDriver]] = ios_plan(blueprint)
        self._android_steps: Sequence[Step[AndroidDriver]] = android_plan(blueprint)
        self.cart = self.settings.cart_name or store.get_setting(CART_SETTING) or ""
        # Unpack rates per device model, from earlier runs' installs and then this run's: the
        # hub's line serves the slowest unpackers first (station/jobs/transfers.py).
        self._clock = clock
        self.unpack = UnpackRates.seeded(
            (_model_key(t.platform, t.model), t.bytes, t.seconds)
            for t in store.unpack_times(per_model=SAMPLES_PER_MODEL)
        )
        self._app_sizes: dict[str, int] = {}

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Restore finished jobs of this run from the records, then watch the drivers."""
        self._restore()
        if self.ios is not None and self._ios_steps:
            self._watchers.append(asyncio.ensure_future(self._watch(self.ios)))
        if self.android is not None and self._android_steps:
            self._watchers.append(asyncio.ensure_future(self._watch(self.android)))
        if self.usb is not None and (
            self._watches(Platform.IOS) or self._watches(Platform.ANDROID)
        ):
            self._watchers.append(asyncio.ensure_future(self._scan_usb(self.usb)))

    async def stop(self) -> None:
        """Stop watching and cancel every running job (its step is recorded interrupted)."""
        tasks = [*self._watchers, *(j.task for j in self.jobs.values() if j.task is not None)]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._watchers.clear()
        self.limiter.close()

    async def __aenter__(self) -> Engine:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def _restore(self) -> None:
        """Devices whose result this run already recorded count as done (after a restart)."""
        for record in self.store.history(run_id=self.run_id, limit=100_000):
            if record.step != RESULT_STEP or record.status is not StepStatus.DONE:
                continue
            device = self.store.device(record.device_id)
            platform = Platform(device.platform)
            if platform is Platform.IOS:
                key = f"ios:{device.udid}"
            elif device.udid.startswith("port:"):
                key = f"android:{device.serial}@{device.udid.removeprefix('port:')}"
            else:
                key = f"android:{device.serial}"
            if key in self.jobs:
                continue
            job = Job(key, platform, device.serial, state=JobState.DONE, device_id=device.id)
            job.detail = msg.FINISHED_BEFORE_RESTART
            tags = self.store.asset_tags(device.id)
            job.asset_tag = tags[-1] if tags else ""
            self.jobs[key] = job
            # Where it sat, from its records: front ends show it in its slot again.
            for event in reversed(self.store.events(run_id=self.run_id, device_id=device.id)):
                if isinstance(event.data.get("port"), str) and event.data["port"]:
                    job.port = event.data["port"]
                    slot = event.data.get("slot")
                    job.slot = (
                        slot if isinstance(slot, int) else self.calibration.slot_for(job.port)
                    )
                    break
            self._publish(
                self._job_event(job, EventType.JOB, state=job.state.value, detail=job.detail)
            )

    # --- waiting for the end --------------------------------------------------------------

    def finished(self, expect: int | None) -> bool:
        """Every job is final and (with ``expect``) at least that many devices were seen."""
        if not self.jobs:
            return False
        if expect is not None and len(self.jobs) < expect:
            return False
        return all(j.state.final for j in self.jobs.values())

    async def wait(self, *, expect: int | None = None, within: float | None = None) -> bool:
        """Wait until :meth:`finished` (True) or ``within`` seconds passed (False)."""
        loop = asyncio.get_running_loop()
        deadline = None if within is None else loop.time() + within
        quiet_since = loop.time()
        while True:
            if self.finished(expect):
                if expect is not None:
                    return True
                if loop.time() - quiet_since >= self.settings.settle:
                    return True
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return self.finished(expect)
            self._changed.clear()
            wait_for = self.settings.settle if remaining is None else min(remaining, 1.0)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait_for):
                    await self._changed.wait()
                    quiet_since = loop.time()

    # --- commands -------------------------------------------------------------------------

    def cancel(self, key: str) -> None:
        """Stop a device's job; its current step is recorded interrupted."""
        job = self.jobs[key]
        if job.state.final:
            return
        job.cancelled = True
        if job.task is not None:
            job.task.cancel()
        else:
            self._set_state(job, JobState.CANCELLED, detail=msg.JOB_CANCELLED)

    def retry(self, key: str) -> None:
        """Start a failed or cancelled job again; steps done so far are skipped."""
        job = self.jobs[key]
        if job.state not in (JobState.FAILED, JobState.CANCELLED):
            return
        job.cancelled = False
        job.hint = ""
        self._set_state(job, JobState.WAITING, detail=msg.JOB_RETRYING)
        self._start_job(job)

    # --- device events --------------------------------------------------------------------

    async def _watch(self, driver: TabletDriver) -> None:
        while True:
            try:
                async for event in driver.watch():
                    await self._on_device_event(event)
            except DeviceError as exc:
                # usbmuxd / adb server away: say so, and look again shortly.
                log.warning("%s driver: %s", driver.platform, exc)
                self._publish(
                    JobEvent(
                        type=EventType.DEVICE,
                        platform=driver.platform.value,
                        state="error",
                        detail=exc.message,
                        hint=exc.hint,
                    )
                )
            await asyncio.sleep(self.settings.person_poll)

    def _watches(self, platform: Platform) -> bool:
        if platform is Platform.IOS:
            return self.ios is not None and bool(self._ios_steps)
        return self.android is not None and bool(self._android_steps)

    async def _scan_usb(self, usb: UsbScanner) -> None:
        """Tablets on USB that no daemon sees are a person's job too.

        Android with USB debugging off: one this blueprint already finished (it switched USB
        debugging off last) counts as done, so a re-run of the cart finishes without anyone
        touching those tablets. iPads in recovery mode: usbmuxd does not list them at all.
        """
        while True:
            try:
                found = await usb.scan()
            except (OSError, StationError) as exc:
                log.warning("USB scan failed: %s", exc)
                await asyncio.sleep(self.settings.usb_poll)
                continue
            self._locations.update({d.location_id: d.port_path for d in found})
            recovering: set[str] = set()
            for device in found:
                if (
                    device.kind is UsbKind.ANDROID_NO_ADB
                    and device.serial
                    and self._watches(Platform.ANDROID)
                ):
                    self._debugging_off(device.serial, device.port_path)
                elif device.kind is UsbKind.IPAD_RECOVERY and self._watches(Platform.IOS):
                    recovering.add(self._in_recovery(device.serial or "", device.port_path))
            self._left_recovery(recovering)
            await asyncio.sleep(self.settings.usb_poll)

    def _in_recovery(self, usb_serial: str, port: str) -> str:
        """Show an iPad in recovery mode as its slot needing a person; returns its job key.

        iPads with an A12 or later (CPID 0x8020 and up) have the UDID ``<CPID>-<ECID>``, so
        their recovery job is the very job that goes on once the iPad starts normally.
        """
        fields = dict(_IBOOT_FIELD.findall(usb_serial))
        ecid, cpid = fields.get("ECID", ""), fields.get("CPID", "")
        try:
            derivable = int(cpid, 16) >= 0x8020 and int(ecid, 16) >= 0
        except ValueError:
            derivable = False
        if derivable:
            key = f"ios:0000{int(cpid, 16):04X}-{int(ecid, 16):016X}"
        else:
            key = f"{RECOVERY_PREFIX}{ecid or port}"
        job = self.jobs.get(key)
        if job is None:
            if not derivable and any(
                j.platform is Platform.IOS and j.handle is not None and j.port == port
                for j in self.jobs.values()
            ):
                return key  # a stale scan: an iPad is up normally on that port now
            job = self.jobs[key] = Job(key, Platform.IOS, fields.get("SRNM", ""))
        if job.state.final or job.handle is not None:
            return key
        job.port = port
        job.slot = self.calibration.slot_for(port)
        job.presence = Presence.RECOVERY
        self._set_state(
            job,
            JobState.NEEDS_PERSON,
            detail=msg.IOS_RECOVERY,
            hint=Presence.RECOVERY.hint,
        )
        return key

    def _left_recovery(self, recovering: set[str]) -> None:
        """Recovery iPads no longer on USB in recovery: restarting normally, or unplugged."""
        for job in list(self.jobs.values()):
            if (
                job.presence is not Presence.RECOVERY
                or job.key in recovering
                or job.handle is not None
                or job.state.final
            ):
                continue
            job.presence = Presence.OFFLINE
            self._set_state(
                job,
                JobState.PAUSED,
                detail=msg.IOS_LEFT_RECOVERY,
                hint=Presence.OFFLINE.hint,
            )

    def _debugging_off(self, serial: str, port: str) -> None:
        same = [
            j for j in self.jobs.values() if j.platform is Platform.ANDROID and j.serial == serial
        ]
        if any(j.handle is not None or j.state.final for j in same):
            return
        job = next((j for j in same if j.port == port), same[0] if same else None)
        if job is None:
            key = f"android:{serial}"
            job = self.jobs[key] = Job(key, Platform.ANDROID, serial)
        job.port = port
        job.slot = self.calibration.slot_for(port)
        done_before = self._finished_before(serial)
        if done_before is not None:
            job.device_id, job.asset_tag = done_before
            job.completed.update(s.key for s in self._android_steps)
            self._finish(job, detail=msg.PROVISIONED_USB_OFF)
            return
        if job.state is not JobState.NEEDS_PERSON:
            self._set_state(
                job,
                JobState.NEEDS_PERSON,
                detail=msg.ADB_CANNOT_SEE,
                hint=Presence.USB_DEBUGGING_OFF.hint,
            )

    def _finished_before(self, serial: str) -> tuple[int, str] | None:
        """(device id, asset tag) if this blueprint finished the tablet in any run."""
        for device in self.store.devices_by_serial(serial):
            if device.platform != Platform.ANDROID.value:
                continue
            for record in self.store.history(device_id=device.id, limit=10_000):
                if record.step != RESULT_STEP or record.status is not StepStatus.DONE:
                    continue
                if self.store.run(record.run_id).blueprint_hash == self.blueprint.content_hash:
                    tags = self.store.asset_tags(device.id)
                    return device.id, tags[-1] if tags else ""
        return None

    async def _port_of(self, event: DeviceEvent) -> str | None:
        if event.usb_path:
            return event.usb_path.removeprefix("usb:")
        if event.location_id is None or self.usb is None:
            return None
        if event.location_id not in self._locations:
            try:
                found = await self.usb.scan()
            except (OSError, StationError) as exc:
                log.warning("USB scan failed: %s", exc)
                return None
            self._locations = {d.location_id: d.port_path for d in found}
        return self._locations.get(event.location_id)

    def _job_for(self, event: DeviceEvent, port: str | None) -> Job:
        if event.platform is Platform.IOS:
            key = f"ios:{event.handle}"
            job = self.jobs.get(key)
            if job is None:
                job = self.jobs[key] = Job(key, Platform.IOS, event.serial or event.handle)
            return job
        same = [
            j
            for j in self.jobs.values()
            if j.platform is Platform.ANDROID and j.serial == event.serial
        ]
        away = [j for j in same if j.handle is None]
        if away:
            # Back in any slot; with twins away, the one last seen on this port.
            return next((j for j in away if j.port == port), away[0])
        key = f"android:{event.serial}"
        if same:
            # Another tablet with this serial is here now: tell them apart by port.
            key = f"{key}@{port or event.handle}"
        job = self.jobs.get(key)
        if job is None:
            job = self.jobs[key] = Job(key, Platform.ANDROID, event.serial)
        return job

    async def _on_device_event(self, event: DeviceEvent) -> None:
        if event.kind is EventKind.DETACHED:
            gone = self._by_handle.pop(event.handle, None)
            self._publish(self._device_event(event, gone))
            if gone is not None:
                self._record(gone, "device.detached", {"handle": event.handle})
                gone.handle = None
                gone.present.clear()
                gone.wake.set()
                if not gone.state.final and gone.task is None:
                    self._set_state(gone, JobState.PAUSED, hint=GONE_HINT)
            return
        job = self._by_handle.get(event.handle)
        if job is None:
            port = await self._port_of(event)
            job = self._job_for(event, port)
            job.handle = event.handle
            job.port = port or job.port
            job.slot = self.calibration.slot_for(port) if port else job.slot
            self._by_handle[event.handle] = job
            self._record(job, "device.attached", {"handle": event.handle, "port": port})
            if job.platform is Platform.IOS:
                self._forget_recovery(job)
        job.presence = event.presence
        self._publish(self._device_event(event, job))
        job.present.set()
        job.wake.set()
        if job.state.final or job.cancelled:
            return
        if job.task is not None and (
            job.presence.needs_person or job.state is JobState.NEEDS_PERSON
        ):
            self._show_presence(job, job.step)
        if job.task is None:
            self._start_job(job)

    def _forget_recovery(self, job: Job) -> None:
        """An iPad came up normally where a recovery iPad (UDID unknown then) was: the same one."""
        for key, other in list(self.jobs.items()):
            if key.startswith(RECOVERY_PREFIX) and other is not job and other.port == job.port:
                del self.jobs[key]
                self._publish(
                    JobEvent(
                        type=EventType.JOB,
                        job=key,
                        platform=Platform.IOS.value,
                        slot=other.slot,
                        port=other.port,
                        state=JobState.CANCELLED.value,
                        detail=msg.STARTED_NORMALLY.fill(job=job.key),
                    )
                )
                self._changed.set()

    def _device_event(self, event: DeviceEvent, job: Job | None) -> JobEvent:
        return JobEvent(
            type=EventType.DEVICE,
            job=job.key if job else "",
            platform=event.platform.value,
            serial=event.serial,
            slot=job.slot if job else None,
            port=job.port if job else event.usb_path,
            state=event.kind.value,
            detail=event.presence.value,
            hint=event.presence.hint,
        )

    # --- jobs -----------------------------------------------------------------------------

    def _start_job(self, job: Job) -> None:
        job.task = asyncio.ensure_future(self._run_job(job))

    async def _run_job(self, job: Job) -> None:
        try:
            await self._drive(job)
        except asyncio.CancelledError:
            if job.cancelled:
                self._set_state(job, JobState.CANCELLED, detail=msg.JOB_CANCELLED, hint="")
            raise
        except Exception as exc:
            # Boundary: a bug in a step or driver fails this one device, never the engine.
            log.exception("%s: job crashed", job.key)
            self._fail(job, msg.INTERNAL_ERROR.fill(error=repr(exc)), msg.REPORT_HINT)
        finally:
            job.task = None
            self._changed.set()

    async def _drive(self, job: Job) -> None:
        while True:
            await self._wait_present(job)
            try:
                await self._sequence(job)
            except _Gone:
                if job.left_on_purpose:
                    break
                continue
            except (DeviceRefused, InputError) as exc:
                self._fail(job, exc.message, exc.hint or RETRY_HINT)
                return
            break
        self._finish(job)

    async def _wait_present(self, job: Job) -> None:
        if job.present.is_set():
            return
        self._set_state(job, JobState.PAUSED, hint=GONE_HINT)
        await job.present.wait()

    def _show_presence(self, job: Job, step: str) -> None:
        """What the driver says of the device (unauthorized, needs trust) is the job's state."""
        if job.presence.needs_person:
            self._set_state(
                job,
                JobState.NEEDS_PERSON,
                step=step,
                detail=msg.TABLET_IS.fill(presence=job.presence.value.replace("_", " ")),
                hint=job.presence.hint,
            )
        else:
            self._set_state(job, JobState.RUNNING, step=step, detail="", hint="")

    def _steps(self, job: Job) -> Sequence[Step[Any]]:
        return self._ios_steps if job.platform is Platform.IOS else self._android_steps

    def _driver(self, job: Job) -> TabletDriver:
        driver = self.ios if job.platform is Platform.IOS else self.android
        assert driver is not None  # a job exists only for a platform with a driver
        return driver

    async def _sequence(self, job: Job) -> None:
        steps = self._steps(job)
        identified = False
        for step in steps:
            if step.key in job.completed:
                continue
            if not step.gate and not identified:
                await self._attempts(job, _Identify())
                identified = True
            await self._attempts(job, step)

    async def _identify(self, job: Job) -> None:
        """Who is this (after pairing): device row, asset tag."""
        handle = self._handle(job)
        info = await self._driver(job).info(handle)
        job.info = info
        job.name = info.name
        if not job.serial or job.platform is Platform.IOS:
            job.serial = info.serial or job.serial
        udid = (info.udid or "") if job.platform is Platform.IOS else ""
        if "@" in job.key:
            udid = "port:" + job.key.partition("@")[2]
        device = self.store.upsert_device(
            job.platform.value, job.serial, udid, model=info.model, name=info.name
        )
        job.device_id = device.id
        if not job.asset_tag:
            job.asset_tag = self.store.allocate_asset_tag(
                self.blueprint.asset_tag, device.id, run_id=self.run_id
            )
        # Where it sits on the cart, for labels in slot order (station labels).
        self._record(job, "device.identified", {"serial": job.serial, "port": job.port})

    def _handle(self, job: Job) -> str:
        if job.handle is None:
            raise _Gone
        return job.handle

    def _context(self, job: Job) -> StepContext[Any]:
        handle = self._handle(job)
        # Gates run before the device is identified: they get what the event told us.
        info = job.info or DeviceInfo(
            platform=job.platform, handle=handle, serial=job.serial, model="", os_version=""
        )

        def progress(p: Progress) -> None:
            self._publish(
                self._job_event(
                    job, EventType.PROGRESS, port=None, fraction=p.fraction, detail=p.detail
                )
            )

        return StepContext(
            driver=self._driver(job),
            handle=handle,
            info=info,
            blueprint=self.blueprint,
            run_id=self.run_id,
            device_id=job.device_id or 0,
            asset_tag=job.asset_tag,
            slot=job.slot,
            hub=hub_of(job.port),
            identity=self.identity,
            secrets=self.secrets,
            progress=progress,
        )

    def _timeout(self, step: Step[Any]) -> float:
        t = self.blueprint.timeouts
        return {"install": t.install, "erase": t.erase}.get(step.timeout_kind, t.step)

    async def _attempts(self, job: Job, step: Step[Any]) -> None:
        """One step until it is done: person states wait, transient errors retry with backoff.

        A large step's attempt gives its hub slot back when it ends, however it ends.
        """
        failures = 0
        while True:
            if job.handle is None:
                raise _Gone
            leases: list[TransferLease] = []
            busy = self.busy.seat(job.since) if step.busy else contextlib.nullcontext()
            try:
                try:
                    # Neither the wait for a seat nor the hub's line count against the time.
                    async with busy, asyncio.timeout(self._timeout(step)) as limit:
                        if isinstance(step, _Identify):
                            await self._identify(job)
                        else:
                            await self._once(job, step, leases, limit)
                finally:
                    for lease in leases:  # a no-op when the upload already freed it
                        lease.release()
                return
            except asyncio.CancelledError:
                # Cancelled by a person or the engine stopping: the step did not finish.
                self._close_running(job, step, msg.STEP_STOPPED)
                raise
            except UserActionRequired as exc:
                self._close_running(job, step, msg.WAITING_FOR_PERSON.fill(reason=exc.message))
                self._set_state(
                    job, JobState.NEEDS_PERSON, step=step.key, detail=exc.message, hint=exc.hint
                )
                await self._wait_person(job)
            except (DeviceGone, _Gone) as exc:
                if step.leaves and job.left_on_purpose:
                    # Switching USB debugging off takes the tablet off adb mid-call: success.
                    self._result(job, step, StepStatus.DONE, job.fingerprint, msg.DEVICE_LEFT)
                    return
                self._close_running(job, step, msg.DEVICE_WENT_AWAY)
                if _attached(job):
                    # Gone while usbmuxd / adb still lists it (restarting): look again soon.
                    await self._sleep_or_wake(job, self.settings.person_poll / 4)
                    continue
                self._set_state(job, JobState.PAUSED, step=step.key, hint=GONE_HINT)
                raise _Gone from exc
            except ServiceUnavailable as exc:
                # The station's usbmuxd / adb server is down (restarting): wait for it, as
                # long as it takes, without using up the step's attempts.
                self._close_running(job, step, msg.RETRYING_BECAUSE.fill(error=exc.message))
                self._set_state(
                    job, JobState.RUNNING, step=step.key, detail=exc.message, hint=exc.hint
                )
                await self._sleep_or_wake(job, self.settings.person_poll)
            except DeviceRefused as exc:
                self._close_running(job, step, exc.message, failed=True)
                hint = step.hint_for(exc) if not isinstance(step, _Identify) else exc.hint
                raise DeviceRefused(exc.message, device=exc.device, hint=hint) from exc
            except InputError:
                self._close_running(job, step, msg.STEP_INPUT_ERROR, failed=True)
                raise
            except (DeviceError, TimeoutError, OSError) as exc:
                failures += 1
                if isinstance(exc, TimeoutError):
                    text = msg.STEP_TIMED_OUT.fill(step=step.key)
                else:  # the message without the hint: the hint goes with the job on its own
                    text = exc.message if isinstance(exc, StationError) else str(exc)
                hopeless = isinstance(exc, DeviceError) and (
                    not isinstance(step, _Identify) and step.permanent(exc)
                )
                if hopeless or failures > self.blueprint.retries.attempts:
                    self._close_running(job, step, text, failed=True)
                    hint = RETRY_HINT
                    if isinstance(exc, DeviceError) and not isinstance(step, _Identify):
                        hint = step.hint_for(exc) or RETRY_HINT
                    raise DeviceRefused(text, device=job.handle or "", hint=hint) from exc
                self._close_running(job, step, msg.RETRYING_BECAUSE.fill(error=text))
                delay = self._backoff(failures)
                self._set_state(
                    job,
                    JobState.RUNNING,
                    step=step.key,
                    detail=msg.RETRY_IN.fill(count=failures, seconds=f"{delay:.1f}"),
                )
                await self._sleep_or_wake(job, delay)

    def _backoff(self, failures: int) -> float:
        """Full jitter: uniform in [0, base * 2^(n-1)], capped (AWS's backoff note)."""
        base = self.blueprint.retries.backoff * self.settings.backoff_scale
        return self._rng.uniform(0, min(self.settings.backoff_cap, base * 2 ** (failures - 1)))

    async def _sleep_or_wake(self, job: Job, seconds: float) -> None:
        job.wake.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await job.wake.wait()

    async def _wait_person(self, job: Job) -> None:
        await self._sleep_or_wake(job, self.settings.person_poll)
        if job.handle is None:
            raise _Gone

    async def _once(
        self,
        job: Job,
        step: Step[Any],
        leases: list[TransferLease] | None = None,
        limit: asyncio.Timeout | None = None,
    ) -> None:
        """Check, act, record: the heart of a step.

        A large step checks first and then waits in its hub's line (its lease goes to
        ``leases``, for the caller to release); the wait does not count against ``limit``.
        """
        ctx = self._context(job)
        # Looking again while a person is needed here keeps saying so: no flip to "working"
        # and back at every look (one event and record per poll, for hours, otherwise).
        waiting = job.state is JobState.NEEDS_PERSON and job.step == step.key
        if step.gate:
            if not waiting:
                self._show_presence(job, step.key)
            await step.run(ctx)
            return
        assert job.device_id is not None
        fingerprint = step.fingerprint(ctx)
        trusted = step.once or step.trust_records
        if trusted and self.store.step_done(job.device_id, step.key, fingerprint):
            self._result(job, step, StepStatus.SKIPPED, fingerprint, msg.DONE_EARLIER)
            return
        if not waiting:
            self._set_state(job, JobState.RUNNING, step=step.key, detail=msg.JOB_CHECKING, hint="")
        if await step.check(ctx):
            self._result(job, step, StepStatus.SKIPPED, fingerprint, msg.ALREADY_DONE)
            return
        uploaded: list[float] = []  # when the last byte left (an app's unpack starts)
        nbytes: int | None = None
        if step.large:
            nbytes = self._app_bytes(step)
            lease = self.limiter.enqueue(hub_of(job.port), self._expectation(job, nbytes))
            if leases is not None:
                leases.append(lease)

            def transfer_done(lease: TransferLease = lease) -> None:
                if not uploaded:
                    uploaded.append(self._clock())
                lease.release()

            ctx = dataclasses.replace(ctx, transfer_done=transfer_done)
            if not lease.granted:
                self._set_state(job, JobState.RUNNING, step=step.key, detail=WAITING_FOR_HUB)
                if limit is not None:
                    limit.reschedule(None)
                await lease.wait()
                if limit is not None:
                    limit.reschedule(asyncio.get_running_loop().time() + self._timeout(step))
        self.store.start_step(self.run_id, job.device_id, step.key, fingerprint)
        self._publish(self._step_event(job, step.key, StepStatus.RUNNING.value, ""))
        self._set_state(job, JobState.RUNNING, step=step.key, detail="")
        job.fingerprint = fingerprint
        if step.leaves:
            job.left_on_purpose = True
        await step.run(ctx)
        if uploaded and nbytes:
            self._learn_unpack(job, step, nbytes, self._clock() - uploaded[0])
        self._result(job, step, StepStatus.DONE, fingerprint, "")
        if step.restarts:
            await self._await_restart(job)

    def _app_bytes(self, step: Step[Any]) -> int | None:
        """The size of the app a step installs; None when it installs none (nothing unpacks)."""
        if not isinstance(step, InstallIpa | InstallApk):
            return None
        key = str(step.app.path)
        if key not in self._app_sizes:
            try:
                self._app_sizes[key] = step.app.path.stat().st_size
            except OSError:
                return 0  # unknown; the install itself reports the missing file
        return self._app_sizes[key]

    def _expectation(self, job: Job, nbytes: int | None) -> Expectation:
        """How long the tablet will unpack after its upload, asked whenever a hub slot frees.

        A file push has nothing to unpack (0: it may go last); an app on a model not timed
        yet is unknown (None: served first, see ``TransferLimiter``).
        """
        if nbytes is None:
            return lambda: 0.0
        model = job.info.model if job.info is not None else ""
        if not model or nbytes <= 0:
            return lambda: None
        key = _model_key(job.platform.value, model)
        return lambda: self.unpack.expected(key, nbytes)

    def _learn_unpack(self, job: Job, step: Step[Any], nbytes: int, seconds: float) -> None:
        """A finished install's unpack time: for this run's line, and for later runs."""
        model = job.info.model if job.info is not None else ""
        if not model or job.device_id is None:
            return
        self.unpack.add(_model_key(job.platform.value, model), nbytes, seconds)
        self.store.record_unpack(
            self.run_id,
            job.device_id,
            platform=job.platform.value,
            model=model,
            step=step.key,
            nbytes=nbytes,
            seconds=seconds,
        )

    async def _await_restart(self, job: Job) -> None:
        """The device restarts after this step: wait for it to leave, then pause until back."""
        self._set_state(job, JobState.RUNNING, detail=msg.JOB_RESTARTING)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.settings.restart_wait):
                while job.handle is not None:
                    await self._sleep_or_wake(job, 1.0)
        raise _Gone

    def _close_running(
        self, job: Job, step: Step[Any], detail: str, *, failed: bool = False
    ) -> None:
        """Complete a step row left ``running`` (the store only updates an open one)."""
        if job.device_id is None or isinstance(step, _Identify) or step.gate:
            return
        open_rows = [
            r
            for r in self.store.history(device_id=job.device_id, run_id=self.run_id, limit=5)
            if r.step == step.key and r.status is StepStatus.RUNNING
        ]
        if not open_rows and not failed:
            return
        status = StepStatus.FAILED if failed else StepStatus.INTERRUPTED
        self.store.record_step_result(
            self.run_id, job.device_id, step.key, status, detail=detail[:500]
        )
        self._publish(self._step_event(job, step.key, status.value, detail))

    def _result(
        self, job: Job, step: Step[Any], status: StepStatus, fingerprint: str, detail: str
    ) -> None:
        assert job.device_id is not None
        self.store.record_step_result(
            self.run_id, job.device_id, step.key, status, fingerprint=fingerprint, detail=detail
        )
        job.completed.add(step.key)
        if status is StepStatus.DONE:
            job.done_steps += 1
        else:
            job.skipped_steps += 1
        self._publish(self._step_event(job, step.key, status.value, detail))

    def _step_event(self, job: Job, step: str, status: str, detail: str) -> JobEvent:
        return self._job_event(job, EventType.STEP, state=status, step=step, detail=detail)

    @staticmethod
    def _job_event(job: Job, type: EventType, **fields: Any) -> JobEvent:
        """An event about ``job``, carrying its identity and where it is (step, slot, port)."""
        identity: dict[str, Any] = {
            "job": job.key,
            "platform": job.platform.value,
            "serial": job.serial,
            "slot": job.slot,
            "port": job.port,
            "step": job.step,
        }
        return JobEvent(type=type, **{**identity, **fields})

    def _outcome(self, job: Job, status: StepStatus, detail: str) -> None:
        """The device's result and its outbox row for the hub, in one transaction."""
        if job.device_id is None:
            return
        model = job.info.model if job.info else ""
        name = (
            self.blueprint.render_device_name(
                asset_tag=job.asset_tag,
                serial=job.serial,
                slot=job.slot if job.slot is not None else "",
                model=model,
            )
            if job.asset_tag
            else ""
        )
        done = status is StepStatus.DONE
        # Device-given text (serial, model, name) is cleaned: a result must always validate.
        result = DeviceResult(
            serial=_printable(job.serial, 64) or _printable(job.key, 64) or "unknown",
            platform="ios" if job.platform is Platform.IOS else "android",
            step=RESULT_STEP,
            status="done" if done else "failed",
            recorded_at=dt.datetime.now(dt.UTC),
            model=_printable(model, 200),
            name=_printable(name, 200),
            operator=_printable(self.blueprint.school.operator, 200),
            school=_printable(self.blueprint.school.id, 200),
            cart=_printable(self.cart, 200),
            slot=job.slot if job.slot is not None and 0 <= job.slot <= 1000 else None,
            run_id=_printable(self.run_id, 200),
            error="" if done else detail[:2000],
            milestone="provisioned" if done else None,
            asset_tag=_printable(job.asset_tag, 200),
        )
        self.store.record_step_result(
            self.run_id,
            job.device_id,
            RESULT_STEP,
            status,
            detail=detail,
            outbox=[hub_entry(result)],
        )

    def _finish(self, job: Job, *, detail: str = "") -> None:
        if any(s.name == "rename" for s in self._steps(job)) and job.asset_tag:
            job.name = self.blueprint.render_device_name(
                asset_tag=job.asset_tag,
                serial=job.serial,
                slot=job.slot if job.slot is not None else "",
                model=job.info.model if job.info is not None else "",
            )
        detail = detail or msg.STEPS_DONE.fill(done=job.done_steps, skipped=job.skipped_steps)
        self._outcome(job, StepStatus.DONE, detail)
        self._set_state(job, JobState.DONE, step="", detail=detail, hint="")

    def _fail(self, job: Job, message: str, hint: str) -> None:
        self._outcome(job, StepStatus.FAILED, message)
        self._set_state(job, JobState.FAILED, detail=message, hint=hint)

    # --- state and events -----------------------------------------------------------------

    def _set_state(
        self,
        job: Job,
        state: JobState,
        *,
        step: str | None = None,
        detail: str | None = None,
        hint: str | None = None,
    ) -> None:
        changed = state is not job.state
        job.state = state
        if step is not None:
            changed = changed or step != job.step
            job.step = step
        if detail is not None:
            changed = changed or detail != job.detail
            job.detail = detail
        if hint is not None:
            changed = changed or hint != job.hint
            job.hint = hint
        if not changed:
            return
        if state is not JobState.RUNNING or job.step == "":
            self._record(job, f"job.{state.value}", {"step": job.step, "detail": job.detail})
        self._publish(
            self._job_event(
                job,
                EventType.JOB,
                state=state.value,
                detail=job.detail,
                hint=job.hint,
                data={"asset_tag": job.asset_tag} if job.asset_tag else {},
            )
        )
        self._changed.set()

    def _record(self, job: Job, kind: str, data: Mapping[str, Any]) -> None:
        """One event in the store; a device's events carry its slot and cart (for labels)."""
        where: dict[str, Any] = {}
        if job.device_id is not None:
            where = {"slot": job.slot, "cart": self.cart, "school": self.blueprint.school.id}
            if job.asset_tag:
                where["asset_tag"] = job.asset_tag
        self.store.record_event(
            kind, {"job": job.key, **where, **data}, run_id=self.run_id, device_id=job.device_id
        )

    def _publish(self, event: JobEvent) -> None:
        self.bus.publish(event)


@dataclass(frozen=True)
class _Identify(Step[Any]):
    """Not a real step: read the device's identity once it answers (after the gates)."""

    name = "identify"


def _printable(text: str, limit: int) -> str:
    """``text`` without control characters, at most ``limit`` long (the hub's field rules)."""
    return "".join(ch for ch in text if ord(ch) >= 32 and ord(ch) != 127)[:limit]


def _model_key(platform: str, model: str) -> str:
    """Unpack rates are per platform and model ("ios:iPad13,18", "android:SM-X200")."""
    return f"{platform}:{model}"


def _attached(job: Job) -> bool:
    """Whether a driver lists the device now (read fresh: it changes while a step awaits)."""
    return job.handle is not None
