"""The virtual cart: emulated tablets on emulated hubs, served by usbmuxd and adb emulators.

A :class:`VirtualCart` owns everything a physical cart plus its host would have: the hubs and
their shared bandwidth, the USB bus (``usb.json`` for USB scans), usbmuxd with lockdownd and
services for the iPads, an adb server for the Android tablets, and Apple's activation server.
People's actions and faults (tap Trust, pull a cable, reboot) are methods, callable from the
control channel and from scenario events. Everything a restart must keep lives in the state
directory: one JSON per device, a ``cart.json`` for the slots, per-device data folders.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import random
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar

from station.errors import InputError
from station.sim.android.adb_server import ADBD_UP_FRACTION, AdbServer
from station.sim.android.device import ANDROID_MODELS, AndroidModel, VirtualAndroid
from station.sim.bandwidth import USB2_HUB_BYTES_PER_S, HubLink
from station.sim.clock import SimClock
from station.sim.control import ControlServer
from station.sim.ios import activation, afc, instproxy, mcinstall
from station.sim.ios.activation import ActivationServer, MobileActivationd
from station.sim.ios.device import IPAD_MODELS, IPadModel, VirtualIPad
from station.sim.ios.pairing import DeviceIdentity, generate_device_identities
from station.sim.ios.services import ServiceContext, ServiceHandler, ServiceTable
from station.sim.ios.usbmux import UsbmuxServer
from station.sim.scenario import ACTIONS, Event, Scenario, SlotOverride
from station.sim.usb.topology import (
    APPLE_VENDOR_ID,
    Attachment,
    PortRef,
    UsbDescriptor,
    UsbTopology,
)

log = logging.getLogger("station.sim.cart")

DeviceKind = Literal["ipad", "android"]

CART_FILE = "cart.json"
USB_FILE = "usb.json"
CART_FORMAT = 1

APPLE_RECOVERY_PID = 0x1281
USBMUX_INTERFACE = (0xFF, 0xFE, 0x02)
ADB_INTERFACE = (0xFF, 0x42, 0x01)
PTP_MTP_INTERFACE = (0x06, 0x01, 0x01)
# iBoot's recovery mode offers one vendor interface (unsure of the exact triple).
RECOVERY_INTERFACE = (0xFF, 0xFF, 0x00)

INSTALL_SERVICE = "com.apple.mobile.installation_proxy"
WATCH_INTERVAL = 0.02  # wall seconds between looks at what the iPads did on their own
# Device seconds a person takes to read "Allow USB debugging?" and tap Allow.
ALLOW_TAP_SECONDS = 2.0

# A school cart is mostly the cheapest current models (weights are a plausible mix, not data).
_IPAD_MIX = {"iPad12,1": 5, "iPad13,18": 3, "iPad14,1": 1, "iPad13,16": 1}
_ANDROID_MIX = {"SM-X200": 5, "TB-X606F": 3, "Pixel Tablet": 2}


_M = TypeVar("_M", IPadModel, AndroidModel)


class StateDirError(InputError):
    """A state directory whose saved cart or devices cannot be read back."""


@dataclass(frozen=True, kw_only=True)
class CartSpec:
    """What cart to build: counts, hubs, speed, addresses, where its state lives."""

    ipads: int = 4
    androids: int = 4
    hubs: int = 2
    ports_per_hub: int = 16
    time_scale: float = 1.0
    usbmux: tuple[str, int] = ("127.0.0.1", 0)
    adb_port: int = 0
    state_dir: Path
    scenario: Scenario | None = None
    seed: int = 0
    # Device bytes each payload byte stands for: benchmarks copy 10 MB apps that cost the
    # time of 1 GB ones (byte_scale=100), so the hub and install rates shrink by as much.
    byte_scale: float = 1.0

    def __post_init__(self) -> None:
        if self.ipads < 0 or self.androids < 0:
            raise ValueError("device counts must be >= 0")
        if self.byte_scale <= 0:
            raise ValueError("byte_scale must be > 0")
        if self.hubs < 1 or self.ports_per_hub < 1:
            raise ValueError("a cart needs at least one hub with one port")
        if self.ipads + self.androids > self.hubs * self.ports_per_hub:
            raise ValueError(
                f"{self.ipads + self.androids} devices do not fit on "
                f"{self.hubs} hubs x {self.ports_per_hub} ports"
            )


class SlotLink(HubLink):
    """One port's view of its hub's bandwidth: shares the hub, and reports transfers."""

    def __init__(
        self, clock: SimClock, hub: HubLink, on_start: Callable[[], None], slow: float = 1.0
    ) -> None:
        super().__init__(clock, hub.bytes_per_s)
        self.hub = hub
        self._on_start = on_start
        self._slot_active = 0
        self.slow = slow

    @property
    def active_transfers(self) -> int:
        """Transfers running on the whole hub (what this port competes with)."""
        return self.hub.active_transfers

    @property
    def slot_active(self) -> int:
        """Transfers running on this port only."""
        return self._slot_active

    async def transfer(self, nbytes: int) -> None:
        if nbytes <= 0:
            return
        self._slot_active += 1
        try:
            self._on_start()
            await self.hub.transfer(nbytes)
            if self.slow > 1.0:
                # A slow device (old flash, bad cable) takes longer for the same bytes
                # without taking a bigger share of the hub from its neighbours.
                await self._clock.sleep((self.slow - 1.0) * nbytes / self.bytes_per_s)
            self.bytes_total += nbytes
        finally:
            self._slot_active -= 1


@dataclass
class Slot:
    """One cart slot: a hub port and the tablet that lives in it."""

    number: int
    kind: DeviceKind
    port: PortRef
    link: SlotLink
    folder: Path
    ipad: VirtualIPad | None = None
    android: VirtualAndroid | None = None
    slow: float = 1.0
    recovery: bool = False
    activation_lock: bool = False
    plugged: bool = True
    attachment: Attachment | None = None
    mux_device_id: int | None = None
    adb_attached: bool = False
    milestones: dict[str, int] = field(default_factory=dict)

    @property
    def device_file(self) -> Path:
        return self.folder / "device.json"

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    @property
    def device_id(self) -> str:
        if self.ipad is not None:
            return self.ipad.udid
        assert self.android is not None
        return self.android.serial


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _slow_ipad_model(model: IPadModel, factor: float) -> IPadModel:
    if factor == 1.0:
        return model
    return replace(
        model,
        erase_seconds=model.erase_seconds * factor,
        boot_seconds=model.boot_seconds * factor,
        install_bytes_per_s=model.install_bytes_per_s / factor,
    )


def _slow_android_model(model: AndroidModel, factor: float) -> AndroidModel:
    if factor == 1.0:
        return model
    return replace(
        model,
        boot_seconds=model.boot_seconds * factor,
        install_bytes_per_s=model.install_bytes_per_s / factor,
    )


def _byte_scaled(model: _M, byte_scale: float) -> _M:
    """The model with its install rate in payload bytes when a byte stands for ``byte_scale``."""
    if byte_scale == 1.0:
        return model
    return replace(model, install_bytes_per_s=model.install_bytes_per_s / byte_scale)


def _android_serial(rng: random.Random, model: AndroidModel) -> str:
    """Serials shaped like the vendor's: Samsung R52..., Lenovo HA..., Pixel hex-like."""
    upper = "ABCDEFGHJKLMNPQRSTVWXYZ0123456789"
    if model.manufacturer == "samsung":
        return "R52" + "".join(rng.choice(upper) for _ in range(8))
    if model.manufacturer == "LENOVO":
        return "HA1" + "".join(rng.choice(upper) for _ in range(5))
    return "".join(rng.choice("0123456789ABCDEF") for _ in range(14))


def slot_ports(ipads: int, androids: int, hubs: int, ports_per_hub: int) -> list[PortRef]:
    """Port of each slot: slots fill hub 1 then hub 2 ..., evenly spread over the hubs."""
    total = ipads + androids
    per_hub = max(1, math.ceil(total / hubs))
    if per_hub > ports_per_hub:
        raise ValueError(f"{total} slots need {per_hub} ports per hub, hubs have {ports_per_hub}")
    return [PortRef(1, (n // per_hub) + 1, (n % per_hub) + 1) for n in range(total)]


class VirtualCart:
    """A running virtual cart (async context manager): devices, hubs and the host's servers.

    Args:
        spec: what to build; if ``spec.state_dir`` already holds a cart, that cart's devices
            come back in their slots with their state, whatever the counts in ``spec`` say.
        services: the lockdown service handlers; defaults to the full iPad service set.
    """

    def __init__(self, spec: CartSpec, *, services: ServiceTable | None = None) -> None:
        self.spec = spec
        self.state_dir = Path(spec.state_dir)
        self.clock = SimClock(spec.time_scale)
        self.scenario = spec.scenario or Scenario()
        self.slots: dict[int, Slot] = {}
        self.hub_links: list[HubLink] = []
        self.topology = UsbTopology(hubs=spec.hubs, ports_per_hub=spec.ports_per_hub)
        self._services = services
        self.usbmux: UsbmuxServer | None = None
        self.adb: AdbServer | None = None
        self.activation: ActivationServer | None = None
        self.control: ControlServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._milestone_waiters: list[tuple[int, str, asyncio.Future[None]]] = []
        self._action_lock = asyncio.Lock()
        self._started = False

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> VirtualCart:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Build or load the devices, start the servers, plug every device in."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        await self._load_or_create()
        services = self._services if self._services is not None else default_services()
        locked = {s.ipad.udid for s in self.slots.values() if s.ipad and s.activation_lock}
        self.activation = ActivationServer(locked=locked)
        self.usbmux = UsbmuxServer(
            clock=self.clock,
            services=self._hooked_services(services),
            host=self.spec.usbmux[0],
            port=self.spec.usbmux[1],
        )
        self.adb = AdbServer(clock=self.clock, host="127.0.0.1", port=self.spec.adb_port)
        try:
            await self.activation.start()
            await self.usbmux.start()
            await self.adb.start()
            self.topology.write_snapshot(self.usb_snapshot_path)
            for slot in self.slots.values():
                if slot.plugged:
                    self._plug(slot)
            self.control = ControlServer(self.act, self.ready_info, state_dir=self.state_dir)
            await self.control.start()
        except BaseException:
            await self.stop()
            raise
        self._started = True
        self._save_cart()
        for event in self.scenario.events:
            self._spawn(self._run_event(event))
        self._spawn(self._watch_devices())
        log.info(
            "cart ready: %d iPads, %d Android tablets on %d hubs (time scale %g)",
            sum(1 for s in self.slots.values() if s.kind == "ipad"),
            sum(1 for s in self.slots.values() if s.kind == "android"),
            self._hubs,
            self.spec.time_scale,
        )

    async def stop(self) -> None:
        """Stop events and servers; every device's state is already on disk."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for waiter in self._milestone_waiters:
            waiter[2].cancel()
        self._milestone_waiters.clear()
        if self.control is not None:
            await self.control.stop()
            self.control = None
        if self._started:
            for slot in self.slots.values():
                self._save_device(slot)
            self._save_cart()
            # Cart off: a USB scan finds no tablets (the backend reads a missing file as empty).
            with contextlib.suppress(FileNotFoundError):
                self.usb_snapshot_path.unlink()
        if self.adb is not None:
            await self.adb.stop()
            self.adb = None
        if self.usbmux is not None:
            await self.usbmux.stop()
            self.usbmux = None
        if self.activation is not None:
            await self.activation.stop()
            self.activation = None
        self._started = False

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("cart background task failed", exc_info=task.exception())

    # ------------------------------------------------------------------ state dir

    @property
    def usb_snapshot_path(self) -> Path:
        return self.state_dir / USB_FILE

    async def _load_or_create(self) -> None:
        cart_file = self.state_dir / CART_FILE
        for _n in range(self.spec.hubs):
            self.hub_links.append(self._hub_link())
        if cart_file.exists():
            try:
                self._load(json.loads(cart_file.read_text(encoding="utf-8")))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise StateDirError(
                    f"{self.state_dir}: the saved cart does not load ({type(exc).__name__}: {exc})",
                    hint="use another --state-dir, or delete this one to start a new cart",
                ) from exc
        else:
            self.scenario.check_against(self.spec.ipads, self.spec.androids)
            await self._create()
        self.topology = UsbTopology(hubs=self._hubs, ports_per_hub=self._ports_per_hub)

    def _hub_link(self) -> HubLink:
        return HubLink(self.clock, USB2_HUB_BYTES_PER_S / self.spec.byte_scale)

    def _make_slot(self, number: int, kind: DeviceKind, port: PortRef, slow: float) -> Slot:
        hub = self.hub_links[port.root_port - 1]
        link = SlotLink(self.clock, hub, lambda: self._on_transfer(slot), slow)
        slot = Slot(number, kind, port, link, self.state_dir / f"slot-{number:02d}", slow=slow)
        slot.data_dir.mkdir(parents=True, exist_ok=True)
        return slot

    async def _create(self) -> None:
        spec = self.spec
        self._hubs, self._ports_per_hub = spec.hubs, spec.ports_per_hub
        rng = random.Random(spec.seed)
        ports = slot_ports(spec.ipads, spec.androids, spec.hubs, spec.ports_per_hub)
        overrides = self.scenario.slots
        ipad_slots = list(range(1, spec.ipads + 1))
        # RSA keys take ~0.1 s each: make them in worker threads.
        identities = await generate_device_identities(len(ipad_slots))
        for index, number in enumerate(ipad_slots):
            override = overrides.get(number, SlotOverride())
            slot = self._make_slot(number, "ipad", ports[number - 1], override.slow)
            slot.ipad = self._new_ipad(rng, override, identities[index])
            slot.recovery = override.recovery
            slot.activation_lock = override.activation_lock
            self.slots[number] = slot
        for number in range(spec.ipads + 1, spec.ipads + spec.androids + 1):
            override = overrides.get(number, SlotOverride())
            slot = self._make_slot(number, "android", ports[number - 1], override.slow)
            slot.android = self._new_android(rng, override)
            self.slots[number] = slot
        for slot in self.slots.values():
            self._save_device(slot)

    def _new_ipad(
        self, rng: random.Random, override: SlotOverride, identity: DeviceIdentity
    ) -> VirtualIPad:
        if override.model is not None:
            model = IPAD_MODELS[override.model]
        else:
            model = IPAD_MODELS[rng.choices(list(_IPAD_MIX), weights=list(_IPAD_MIX.values()))[0]]
        # Same shapes as new_identity_numbers, but drawn from the cart's seed.
        ecid = rng.getrandbits(52) | (1 << 48)
        udid = f"{model.cpu_prefix}-{ecid:016X}"
        serial = "".join(rng.choice("BCDFGHJKLMNPQRSTVWXYZ0123456789") for _ in range(10))
        wifi = "f0:18:98:" + ":".join(f"{rng.getrandbits(8):02x}" for _ in range(3))
        ipad = VirtualIPad(
            udid=udid,
            serial=override.serial or serial,
            ecid=ecid,
            model=_byte_scaled(_slow_ipad_model(model, override.slow), self.spec.byte_scale),
            wifi_address=wifi,
            device_private_key_pem=identity.private_key_pem,
            device_certificate_pem=identity.certificate_pem,
            product_version=model.product_version,
            build_version=model.build_version,
        )
        if override.trust is not None:
            ipad.trust = override.trust
        if override.passcode_locked is not None:
            ipad.passcode_locked = override.passcode_locked
        if override.setup_done is not None:
            ipad.setup_done = override.setup_done
            if override.setup_done:
                ipad.activation_state = "Activated"
        if override.activated is not None:
            ipad.activation_state = "Activated" if override.activated else "Unactivated"
        if override.device_name is not None:
            ipad.device_name = override.device_name
        if override.free_bytes is not None:
            ipad.used_bytes = max(0, model.storage_bytes - override.free_bytes)
        return ipad

    def _new_android(self, rng: random.Random, override: SlotOverride) -> VirtualAndroid:
        if override.model is not None:
            model = ANDROID_MODELS[override.model]
        else:
            name = rng.choices(list(_ANDROID_MIX), weights=list(_ANDROID_MIX.values()))[0]
            model = ANDROID_MODELS[name]
        serial = _android_serial(rng, model)
        tablet = VirtualAndroid(
            serial=override.serial or serial,
            model=_byte_scaled(_slow_android_model(model, override.slow), self.spec.byte_scale),
        )
        if override.accounts is not None:
            tablet.accounts = list(override.accounts)
        if override.usb_debugging is not None:
            tablet.usb_debugging = override.usb_debugging
            tablet.settings["global"]["adb_enabled"] = "1" if override.usb_debugging else "0"
        if override.adb_state is not None:
            tablet.state = override.adb_state
        # A tablet that is "device" has this host's key; one with debugging off or an open
        # RSA prompt has not (yet), so switching debugging on shows "unauthorized" first.
        tablet.trusted_host = tablet.usb_debugging and tablet.state == "device"
        if override.free_bytes is not None:
            tablet.used_bytes = max(0, model.storage_bytes - override.free_bytes)
        return tablet

    def _load(self, data: dict[str, Any]) -> None:
        if data.get("format") != CART_FORMAT:
            raise ValueError(f"{self.state_dir / CART_FILE}: unknown cart format")
        self._hubs = int(data["hubs"])
        self._ports_per_hub = int(data["ports_per_hub"])
        while len(self.hub_links) < self._hubs:
            self.hub_links.append(self._hub_link())
        del self.hub_links[self._hubs :]
        spec = self.spec
        counts = (data["ipads"], data["androids"])
        if counts != (spec.ipads, spec.androids) or self._hubs != spec.hubs:
            log.warning(
                "state dir %s holds a cart of %d iPads + %d Android on %d hubs; using it",
                self.state_dir,
                counts[0],
                counts[1],
                self._hubs,
            )
        for entry in data["slots"]:
            port = PortRef(**entry["port"])
            slot = self._make_slot(int(entry["slot"]), entry["kind"], port, float(entry["slow"]))
            device = json.loads(slot.device_file.read_text(encoding="utf-8"))
            if slot.kind == "ipad":
                ipad = VirtualIPad.from_json(device)
                ipad.model = _byte_scaled(
                    _slow_ipad_model(ipad.model, slot.slow), self.spec.byte_scale
                )
                slot.ipad = ipad
            else:
                tablet = VirtualAndroid.from_json(device)
                tablet.model = _byte_scaled(
                    _slow_android_model(tablet.model, slot.slow), self.spec.byte_scale
                )
                if "trusted_host" not in device:  # saved before the flag existed
                    tablet.trusted_host = tablet.usb_debugging and tablet.state == "device"
                slot.android = tablet
            slot.recovery = bool(entry.get("recovery", False))
            slot.activation_lock = bool(entry.get("activation_lock", False))
            slot.plugged = bool(entry.get("plugged", True))
            self.slots[slot.number] = slot

    def _save_device(self, slot: Slot) -> None:
        device = slot.ipad if slot.ipad is not None else slot.android
        assert device is not None
        _write_atomic(slot.device_file, device.dumps())

    def _save_cart(self) -> None:
        data = {
            "format": CART_FORMAT,
            "ipads": sum(1 for s in self.slots.values() if s.kind == "ipad"),
            "androids": sum(1 for s in self.slots.values() if s.kind == "android"),
            "hubs": self._hubs,
            "ports_per_hub": self._ports_per_hub,
            "seed": self.spec.seed,
            "time_scale": self.spec.time_scale,
            "slots": [
                {
                    "slot": s.number,
                    "kind": s.kind,
                    "id": s.device_id,
                    "port": asdict(s.port),
                    "file": str(s.device_file.relative_to(self.state_dir)),
                    "slow": s.slow,
                    "recovery": s.recovery,
                    "activation_lock": s.activation_lock,
                    "plugged": s.plugged,
                }
                for s in sorted(self.slots.values(), key=lambda s: s.number)
            ],
        }
        _write_atomic(self.state_dir / CART_FILE, json.dumps(data, indent=1))

    # ------------------------------------------------------------------ USB and emulators

    def _descriptor(self, slot: Slot) -> UsbDescriptor:
        if slot.ipad is not None:
            ipad = slot.ipad
            if slot.recovery:
                cpid = ipad.model.cpu_prefix[-4:]
                serial = (
                    f"SDOM:01 CPID:{cpid} CPRV:11 CPFM:03 SCEP:01 BDID:0C "
                    f"ECID:{ipad.ecid:016X} IBFL:3C SRNM:[{ipad.serial}]"
                )
                return UsbDescriptor(
                    APPLE_VENDOR_ID,
                    APPLE_RECOVERY_PID,
                    "Apple Inc.",
                    "Apple Mobile Device (Recovery Mode)",
                    serial,
                    interfaces=(RECOVERY_INTERFACE,),
                )
            return UsbDescriptor(
                APPLE_VENDOR_ID,
                ipad.model.usb_product_id,
                "Apple Inc.",
                "iPad",
                ipad.udid.replace("-", ""),
                bcd_device=0x1801,
                interfaces=(PTP_MTP_INTERFACE, USBMUX_INTERFACE),
            )
        tablet = slot.android
        assert tablet is not None
        interfaces: tuple[tuple[int, int, int], ...] = (PTP_MTP_INTERFACE,)
        if tablet.usb_debugging:
            interfaces += (ADB_INTERFACE,)
        return UsbDescriptor(
            tablet.model.usb_vendor_id,
            tablet.model.usb_product_id,
            tablet.model.manufacturer,
            tablet.model.model,
            tablet.serial,
            bcd_device=0x0400,
            interfaces=interfaces,
        )

    def _saver(self, slot: Slot) -> Callable[..., None]:
        def save(*_device: object) -> None:
            self._save_device(slot)

        return save

    def _plug(self, slot: Slot) -> None:
        """Enumerate on the bus (new address), then appear to usbmuxd or adb as a real one does."""
        assert self.usbmux is not None
        assert self.adb is not None
        slot.attachment = self.topology.plug(slot.port, self._descriptor(slot))
        slot.plugged = True
        self.topology.write_snapshot(self.usb_snapshot_path)
        if slot.ipad is not None and not slot.recovery:
            slot.mux_device_id = self.usbmux.attach(
                slot.ipad,
                location_id=slot.attachment.location_id,
                link=slot.link,
                data_dir=slot.data_dir,
                save=self._saver(slot),
                relocate=lambda: self._reenumerate(slot),
            )
        elif slot.android is not None and slot.android.usb_debugging:
            self.adb.attach(
                slot.android,
                devpath=slot.port.path,
                link=slot.link,
                data_dir=slot.data_dir,
                save=self._saver(slot),
                on_usb_debugging=lambda enabled: self._on_usb_debugging(slot, enabled),
            )
            slot.adb_attached = True

    def _reenumerate(self, slot: Slot) -> int:
        """An iPad back from restarting by itself: on the bus again, at a new address.

        usbmuxd asks for the LocationID it will announce; Linux numbers the device anew, so
        the bus snapshot, pyusb and that LocationID agree on the new address.
        """
        if not slot.plugged:
            # Unplugging cancels usbmuxd's restart first; keep whatever it had, to be safe.
            return slot.attachment.location_id if slot.attachment is not None else 0
        self.topology.unplug(slot.port)
        slot.attachment = self.topology.plug(slot.port, self._descriptor(slot))
        self.topology.write_snapshot(self.usb_snapshot_path)
        return slot.attachment.location_id

    def _on_usb_debugging(self, slot: Slot, enabled: bool) -> None:
        """The tablet switched USB debugging off itself (``settings put global adb_enabled 0``)."""
        if enabled:
            return  # adbd can only be asked over adb, so only "off" comes this way
        # Synchronous on purpose: the bus and adb change together, between two looks of
        # the watcher, so it does not take the tablet leaving adb for a restart.
        self._debugging_off(slot)
        self._milestone(slot, "usb_debugging_off")

    def _debugging_off(self, slot: Slot) -> None:
        """adbd stops: the tablet leaves adb and re-enumerates on USB as MTP only."""
        tablet = slot.android
        assert tablet is not None
        tablet.usb_debugging = False
        tablet.settings["global"]["adb_enabled"] = "0"
        if slot.plugged and slot.attachment is not None:
            self._unplug(slot)
            self._plug(slot)
        elif slot.adb_attached:
            # Restarting (off the bus): it boots without adbd and comes back MTP only; it
            # shows up on the bus now rather than at the end of its boot (a simplification).
            assert self.adb is not None
            self.adb.detach(slot.port.path)
            slot.adb_attached = False
            if slot.plugged:
                slot.attachment = self.topology.plug(slot.port, self._descriptor(slot))
                self.topology.write_snapshot(self.usb_snapshot_path)
        self._save_device(slot)

    def _unplug(self, slot: Slot) -> None:
        assert self.usbmux is not None
        assert self.adb is not None
        if slot.ipad is not None and slot.mux_device_id is not None:
            # During a restart the iPad began itself (erase), usbmuxd has it detached already;
            # detach() still cancels that restart before it finds nothing to remove.
            with contextlib.suppress(KeyError):
                self.usbmux.detach(slot.ipad.udid)
            slot.mux_device_id = None
        if slot.adb_attached:
            self.adb.detach(slot.port.path)
            slot.adb_attached = False
        self.topology.unplug(slot.port)
        slot.attachment = None
        self.topology.write_snapshot(self.usb_snapshot_path)

    def _hooked_services(self, services: ServiceTable) -> dict[str, ServiceHandler]:
        """The service table, each handler wrapped to report "service started" milestones."""
        return {name: self._hook_service(name, handler) for name, handler in services.items()}

    def _hook_service(self, name: str, handler: ServiceHandler) -> ServiceHandler:
        async def hooked(ctx: ServiceContext) -> None:
            slot = self._slot_of_ipad(ctx.ipad)
            if slot is not None:
                self._milestone(slot, f"service:{name}")
                if name == INSTALL_SERVICE:
                    self._milestone(slot, "install")
            await handler(ctx)

        return hooked

    def _slot_of_ipad(self, ipad: VirtualIPad) -> Slot | None:
        for slot in self.slots.values():
            if slot.ipad is ipad or (slot.ipad is not None and slot.ipad.udid == ipad.udid):
                return slot
        return None

    def _on_transfer(self, slot: Slot) -> None:
        self._milestone(slot, "transfer")
        if slot.kind == "android":
            # The adb server has no hook for "pm install" starting; on Android an install
            # always begins by moving the APK over USB (sync push or streamed install).
            self._milestone(slot, "install")

    async def _watch_devices(self) -> None:
        """Follow what tablets do on their own: trust prompts, and restarts.

        An erase (MCInstall EraseDevice) restarts an iPad inside usbmuxd, and ``adb reboot``
        restarts an Android tablet inside the adb server; on USB the device leaves and
        returns at a new bus address, as Linux numbers a re-enumerated device anew. For an
        iPad usbmuxd asks the cart for that address (:meth:`_reenumerate`) so its LocationID
        and the bus agree; an Android tablet is re-plugged here (adb only shows the port).
        """
        assert self.usbmux is not None
        assert self.adb is not None
        prompts: dict[int, bool] = {}
        gone: set[int] = set()
        while True:
            await asyncio.sleep(WATCH_INTERVAL)
            attached = self.usbmux.device_ids()
            changed = False
            for s in self.slots.values():
                if s.ipad is not None:
                    prompt = s.ipad.trust_prompt_open
                    if prompt and not prompts.get(s.number):
                        self._milestone(s, "trust_prompt")
                    prompts[s.number] = prompt
                    if s.mux_device_id is None:
                        gone.discard(s.number)  # unplugged (or recovery): not restarting
                        continue
                    device_id = attached.get(s.ipad.udid)
                    if device_id not in (None, s.mux_device_id) and s.number not in gone:
                        # Left and came back between two looks (a new DeviceID tells).
                        gone.add(s.number)
                        self._milestone(s, "restart")
                    here = device_id is not None
                elif s.adb_attached:
                    here = self.adb.transport_id(s.port.path) is not None
                else:
                    gone.discard(s.number)
                    continue
                if not here and s.attachment is not None and s.number not in gone:
                    gone.add(s.number)
                    self.topology.unplug(s.port)
                    s.attachment = None
                    changed = True
                    self._milestone(s, "restart")
                elif here and s.number in gone:
                    gone.discard(s.number)
                    if s.attachment is None:
                        # (An iPad usually is on the bus already: usbmuxd re-plugged it.)
                        s.attachment = self.topology.plug(s.port, self._descriptor(s))
                        changed = True
                    if s.ipad is not None:
                        s.mux_device_id = attached[s.ipad.udid]
                    self._milestone(s, "booted")
            if changed:
                self.topology.write_snapshot(self.usb_snapshot_path)

    # ------------------------------------------------------------------ milestones and events

    def _milestone(self, slot: Slot, step: str) -> None:
        slot.milestones[step] = slot.milestones.get(step, 0) + 1
        log.debug("slot %d: %s", slot.number, step)
        keep = []
        for number, wanted, future in self._milestone_waiters:
            if number == slot.number and wanted == step and not future.done():
                future.set_result(None)
            elif not future.done():
                keep.append((number, wanted, future))
        self._milestone_waiters = keep

    async def wait_milestone(self, slot: int, step: str) -> None:
        """Wait until ``step`` next happens on ``slot`` (see the scenario module for steps)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._milestone_waiters.append((slot, step, future))
        await future

    async def _run_event(self, event: Event) -> None:
        if event.at is not None:
            await self.clock.sleep(event.at)
        elif event.after is not None:
            watch = event.after.slot if event.after.slot is not None else event.slot
            await self.wait_milestone(watch, event.after.step)
            await self.clock.sleep(event.after.delay)
        log.info("scenario: %s on slot %d", event.action, event.slot)
        try:
            await self.act(event.action, event.slot)
        except (ValueError, LookupError) as exc:
            log.warning("scenario event %s on slot %d failed: %s", event.action, event.slot, exc)

    # ------------------------------------------------------------------ people's actions

    def slot(self, number: int) -> Slot:
        try:
            return self.slots[number]
        except KeyError:
            raise LookupError(f"no slot {number} (the cart has 1..{len(self.slots)})") from None

    async def act(self, action: str, slot: int) -> dict[str, Any]:
        """Perform a named action (a person's or a fault) on a slot; returns the slot's info."""
        action = action.replace("-", "_")
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}; known: {', '.join(ACTIONS)}")
        if action == "reboot":
            # A person presses the button and walks away: answer once the device went down.
            await self.start_reboot(slot)
        else:
            method: Callable[[int], Awaitable[None]] = getattr(self, action)
            await method(slot)
        return self._slot_info(self.slot(slot))

    async def start_reboot(self, slot: int) -> None:
        """Begin :meth:`reboot` in the background; return when the device has gone down."""
        went_down = asyncio.ensure_future(self.wait_milestone(slot, "reboot"))
        task = self._spawn(self.reboot(slot))
        try:
            await asyncio.wait({went_down, task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            went_down.cancel()
        error = task.exception() if task.done() and not task.cancelled() else None
        if error is not None:
            raise error

    async def unplug(self, slot: int) -> None:
        """Pull the cable: the device leaves usbmuxd / adb and the USB bus."""
        s = self.slot(slot)
        async with self._action_lock:
            if not s.plugged:
                raise ValueError(f"slot {slot} is not plugged in")
            self._unplug(s)
            s.plugged = False
            self._save_cart()
        self._milestone(s, "unplug")

    async def plug(self, slot: int) -> None:
        """Plug the cable back: a new bus address, a new usbmuxd DeviceID / adb transport."""
        s = self.slot(slot)
        async with self._action_lock:
            if s.plugged:
                raise ValueError(f"slot {slot} is already plugged in")
            self._plug(s)
            self._save_cart()
        self._milestone(s, "plug")

    def _ipad_slot(self, slot: int) -> Slot:
        s = self.slot(slot)
        if s.ipad is None:
            raise ValueError(f"slot {slot} holds an Android tablet, not an iPad")
        return s

    def _android_slot(self, slot: int) -> Slot:
        s = self.slot(slot)
        if s.android is None:
            raise ValueError(f"slot {slot} holds an iPad, not an Android tablet")
        return s

    async def accept_trust(self, slot: int) -> None:
        """The person taps Trust on the iPad's prompt (or on the next one, if none shows yet)."""
        await self._answer_trust(slot, accept=True)

    async def deny_trust(self, slot: int) -> None:
        """The person taps Don't Trust (now, or on the next prompt)."""
        await self._answer_trust(slot, accept=False)

    async def _answer_trust(self, slot: int, *, accept: bool) -> None:
        s = self._ipad_slot(slot)
        assert self.usbmux is not None
        assert s.ipad is not None
        if s.mux_device_id is None or s.ipad.udid not in self.usbmux.device_ids():
            raise ValueError(f"the iPad in slot {slot} is not connected to usbmuxd")
        if not self.usbmux.trust_prompt_open(s.ipad.udid):
            # The person stays at the iPad and answers when the prompt comes up.
            self._spawn(self._answer_next_prompt(s, accept=accept))
            return
        answer = self.usbmux.accept_trust if accept else self.usbmux.deny_trust
        answer(s.ipad.udid)
        self._milestone(s, "accept_trust" if accept else "deny_trust")

    async def _answer_next_prompt(self, s: Slot, *, accept: bool) -> None:
        await self.wait_milestone(s.number, "trust_prompt")
        with contextlib.suppress(ValueError):  # unplugged meanwhile: nobody to answer
            await self._answer_trust(s.number, accept=accept)

    async def allow_usb_debugging(self, slot: int) -> None:
        """Enable USB debugging if off, and tap Allow on the RSA prompt: adb sees ``device``.

        Switching debugging on re-enumerates the tablet with its adb interface. A tablet
        that kept this host's key comes back ``device``; any other shows ``unauthorized``
        until the person, :data:`ALLOW_TAP_SECONDS` later, taps Allow with "Always allow"
        ticked (so the next time it is trusted). Returns once the tablet is ``device``.
        """
        s = self._android_slot(slot)
        tablet = s.android
        assert tablet is not None
        async with self._action_lock:
            prompt_opened = False
            if not tablet.usb_debugging:
                tablet.usb_debugging = True
                tablet.settings["global"]["adb_enabled"] = "1"
                tablet.state = "device" if tablet.trusted_host else "unauthorized"
                if s.plugged and s.attachment is not None:
                    self._unplug(s)
                    self._plug(s)
                prompt_opened = s.adb_attached and tablet.state == "unauthorized"
                self._save_device(s)
            if not prompt_opened:
                self._tap_allow(s)
        if prompt_opened:
            await self.clock.sleep(ALLOW_TAP_SECONDS)
            async with self._action_lock:
                # Unplugged or switched off meanwhile: the prompt went with it.
                if s.adb_attached and tablet.usb_debugging and tablet.state == "unauthorized":
                    self._tap_allow(s)
        self._milestone(s, "allow_usb_debugging")

    def _tap_allow(self, s: Slot) -> None:
        """Allow, with "Always allow from this computer" ticked: the key is kept."""
        assert s.android is not None
        s.android.trusted_host = True
        if s.adb_attached:
            assert self.adb is not None
            self.adb.set_state(s.port.path, "device")
        else:
            s.android.state = "device"
        self._save_device(s)

    async def usb_debugging_off(self, slot: int) -> None:
        """Turn USB debugging off: the tablet stays on USB (MTP) but leaves adb."""
        s = self._android_slot(slot)
        assert s.android is not None
        async with self._action_lock:
            if s.android.usb_debugging or s.adb_attached:
                self._debugging_off(s)
        self._milestone(s, "usb_debugging_off")

    async def set_recovery(self, slot: int) -> None:
        """The iPad drops into recovery mode: on USB as 05ac:1281, gone from usbmuxd."""
        s = self._ipad_slot(slot)
        async with self._action_lock:
            s.recovery = True
            if s.plugged:
                self._unplug(s)
                self._plug(s)
            self._save_cart()
        self._milestone(s, "set_recovery")

    async def reboot(self, slot: int) -> None:
        """Hold the power button: the device leaves, boots for the model's time, comes back.

        A reboot re-enumerates on USB, so the device comes back with a new bus address (and
        usbmuxd LocationID / adb transport id). An iPad in recovery mode boots normally.
        """
        s = self.slot(slot)
        async with self._action_lock:
            if not s.plugged or s.attachment is None:
                raise ValueError(f"slot {slot} is not plugged in (or already rebooting)")
            if s.android is not None and s.adb_attached:
                assert self.adb is not None
                # adbd goes offline at once; the USB device re-enumerates when adbd is back.
                self.topology.unplug(s.port)
                s.attachment = None
                self.topology.write_snapshot(self.usb_snapshot_path)
                self._milestone(s, "reboot")
                reboot = asyncio.ensure_future(self.adb.reboot(s.port.path))
            else:
                self._unplug(s)
                self._milestone(s, "reboot")
                reboot = None
        if s.ipad is not None:
            s.ipad.boot_count += 1
            boot = s.ipad.model.boot_seconds
        else:
            assert s.android is not None
            boot = s.android.model.boot_seconds * (ADBD_UP_FRACTION if reboot else 1.0)
            if reboot is None:
                s.android.boot_count += 1
        self._save_device(s)
        try:
            await self.clock.sleep(boot)
            async with self._action_lock:
                s.recovery = False
                if s.plugged and s.attachment is None:
                    if reboot is not None:
                        s.attachment = self.topology.plug(s.port, self._descriptor(s))
                        self.topology.write_snapshot(self.usb_snapshot_path)
                    else:
                        self._plug(s)
                    self._save_cart()
            if reboot is not None:
                await reboot
        finally:
            if reboot is not None and not reboot.done():
                reboot.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reboot
        self._milestone(s, "booted")

    # ------------------------------------------------------------------ what clients need

    def _slot_info(self, s: Slot) -> dict[str, Any]:
        info: dict[str, Any] = {
            "slot": s.number,
            "kind": s.kind,
            "port": s.port.path,
            "plugged": s.attachment is not None,
            "usb_address": s.attachment.address if s.attachment else None,
        }
        if s.ipad is not None:
            ipad = s.ipad
            info.update(
                udid=ipad.udid,
                serial=ipad.serial,
                model=ipad.model.product_type,
                name=ipad.model.marketing_name,
                mode="recovery" if s.recovery else "normal",
                location_id=s.attachment.location_id if s.attachment else None,
                usbmux_device_id=self._mux_ids().get(ipad.udid),
                supervised=ipad.supervised,
                trust_prompt_open=ipad.trust_prompt_open,
                paired_hosts=len(ipad.paired_hosts),
            )
        else:
            tablet = s.android
            assert tablet is not None
            info.update(
                serial=tablet.serial,
                model=tablet.model.model,
                manufacturer=tablet.model.manufacturer,
                devpath=f"usb:{s.port.path}",
                usb_debugging=tablet.usb_debugging,
                adb_state=tablet.state if s.adb_attached else None,
                device_owner=tablet.device_owner,
            )
        return info

    def _mux_ids(self) -> dict[str, int]:
        return self.usbmux.device_ids() if self.usbmux is not None else {}

    def ready_info(self) -> dict[str, Any]:
        """Addresses, env vars for the real client tools, the USB snapshot and every slot."""
        if self.usbmux is None or self.adb is None or self.activation is None:
            raise RuntimeError("cart is not running")
        mux_host, mux_port = self.usbmux.address
        mux = f"{mux_host}:{mux_port}"
        control = self.control.address if self.control is not None else None
        return {
            "usbmux": mux,
            "adb": f"127.0.0.1:{self.adb.port}",
            "activation_url": self.activation.url,
            "control": f"{control[0]}:{control[1]}" if control else None,
            "env": {
                "USBMUXD_SOCKET_ADDRESS": mux,
                "ANDROID_ADB_SERVER_HOST": "127.0.0.1",
                "ANDROID_ADB_SERVER_PORT": str(self.adb.port),
            },
            "usb_snapshot": str(self.usb_snapshot_path),
            "state_dir": str(self.state_dir),
            "time_scale": self.spec.time_scale,
            "hubs": self._hubs,
            "slots": [
                self._slot_info(s) for s in sorted(self.slots.values(), key=lambda s: s.number)
            ],
        }


def default_services() -> dict[str, ServiceHandler]:
    """The lockdown services of a real iPad that the station uses."""
    return {
        mcinstall.SERVICE_NAME: mcinstall.handle_mcinstall,
        instproxy.SERVICE_NAME: instproxy.handle_instproxy,
        afc.SERVICE_NAME: afc.handle_afc,
        activation.SERVICE_NAME: MobileActivationd().handle,
    }
