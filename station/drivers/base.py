"""The drivers' small typed interface: our own frozen dataclasses and Protocols, no vendor types."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import Protocol, runtime_checkable


class Platform(StrEnum):
    IOS = "ios"
    ANDROID = "android"


class Presence(StrEnum):
    """How a tablet is there for the station; anything but READY waits for a person (or time)."""

    READY = "ready"
    NEEDS_TRUST = "needs_trust"
    TRUST_DENIED = "trust_denied"
    LOCKED = "locked"
    UNAUTHORIZED = "unauthorized"
    OFFLINE = "offline"
    CONNECTING = "connecting"
    USB_DEBUGGING_OFF = "usb_debugging_off"
    RECOVERY = "recovery"
    BOOTLOADER = "bootloader"
    NO_PERMISSION = "no_permission"
    NOT_VISIBLE = "not_visible"

    @property
    def hint(self) -> str:
        """What a person at the cart should do, in plain words ("" when nothing)."""
        return _HINTS[self]

    @property
    def needs_person(self) -> bool:
        return self not in (Presence.READY, Presence.OFFLINE, Presence.CONNECTING)


_HINTS: dict[Presence, str] = {
    Presence.READY: "",
    Presence.NEEDS_TRUST: "Unlock the iPad and tap Trust",
    Presence.TRUST_DENIED: "Trust was denied: unplug and plug the iPad back, then tap Trust",
    Presence.LOCKED: "Unlock the iPad",
    Presence.UNAUTHORIZED: (
        "Unlock the tablet and tap Allow on the USB debugging prompt (tick 'Always allow')"
    ),
    Presence.OFFLINE: "Wait: the tablet is going away or restarting; if it stays, replug it",
    Presence.CONNECTING: "Wait: the tablet is connecting",
    Presence.USB_DEBUGGING_OFF: (
        "Turn on USB debugging: Settings > About > tap Build number 7 times, "
        "then Developer options > USB debugging"
    ),
    Presence.RECOVERY: (
        "The iPad is in recovery mode: restore it (Apple Configurator or idevicerestore), "
        "or hold the power button to restart it"
    ),
    Presence.BOOTLOADER: (
        "The tablet is in bootloader or recovery mode: choose 'Reboot system now' on it"
    ),
    Presence.NO_PERMISSION: "The station may not open this USB device: check its udev rules",
    Presence.NOT_VISIBLE: (
        "The tablet is on USB but its service does not see it: replug the cable, "
        "or try another port"
    ),
}


class EventKind(StrEnum):
    ATTACHED = "attached"
    DETACHED = "detached"
    CHANGED = "changed"


@dataclass(frozen=True, kw_only=True)
class DeviceEvent:
    """A tablet came, went or changed presence.

    ``handle`` is unique among the tablets present (iOS: UDID; Android: the ``usb:`` devpath,
    so two tablets sharing a serial stay apart), and is what every driver call takes.
    """

    kind: EventKind
    platform: Platform
    handle: str
    serial: str
    presence: Presence = Presence.READY
    usb_path: str | None = None  # Linux port path, e.g. "1-2.3"
    location_id: int | None = None  # usbmuxd's LocationID (iOS)

    @property
    def hint(self) -> str:
        return self.presence.hint


@dataclass(frozen=True, kw_only=True)
class DeviceInfo:
    """Identity of one tablet as the device reports it."""

    platform: Platform
    handle: str
    serial: str  # iOS: hardware serial number; Android: adb serial (ro.serialno)
    udid: str | None = None  # iOS only
    model: str  # "iPad13,18" / "SM-X200"
    model_name: str = ""  # marketing name or manufacturer
    os_version: str  # "18.1" / "14"
    build: str = ""
    name: str = ""  # the device name a person sees
    usb_path: str | None = None
    location_id: int | None = None
    ecid: int | None = None
    activation_state: str | None = None  # iOS only


@dataclass(frozen=True)
class Progress:
    """How far an operation is (0.0..1.0) and what it is doing."""

    fraction: float
    detail: str = ""


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class AppVersion:
    """An installed app: iOS bundle id / Android package, build version and display version."""

    identifier: str
    version: str  # CFBundleVersion / versionCode
    display_version: str = ""  # CFBundleShortVersionString / versionName
    name: str = ""


@dataclass(frozen=True)
class ProfileSummary:
    identifier: str
    display_name: str
    uuid: str = ""
    version: int = 1
    removal_disallowed: bool = False


@dataclass(frozen=True)
class SupervisionState:
    supervised: bool
    organization: str | None = None
    supervisor_cert_sha256: tuple[str, ...] = ()  # hex SHA-256 of each supervisor cert (DER)
    skip_setup: tuple[str, ...] = ()


class WallpaperWhere(IntEnum):
    """Where a wallpaper goes (MCInstall's ``Where``)."""

    LOCK_SCREEN = 1
    HOME_SCREEN = 2
    BOTH = 3


class UsbKind(StrEnum):
    IPAD = "ipad"
    IPAD_RECOVERY = "ipad_recovery"
    ANDROID_ADB = "android_adb"
    ANDROID_NO_ADB = "android_no_adb"
    OTHER = "other"


@dataclass(frozen=True, kw_only=True)
class UsbPortDevice:
    """A device on a hub port as a USB scan sees it (no daemon involved)."""

    port_path: str  # "1-2.3": bus 1, root port 2, hub port 3
    bus: int
    address: int
    vendor_id: int
    product_id: int
    serial: str | None
    kind: UsbKind
    manufacturer: str = ""
    product: str = ""

    @property
    def location_id(self) -> int:
        """usbmuxd's LocationID for this device on Linux: ``bus << 16 | address``."""
        return (self.bus << 16) | self.address

    @property
    def devpath(self) -> str:
        """adb's devpath for this port."""
        return f"usb:{self.port_path}"

    @property
    def presence(self) -> Presence:
        """What the USB picture alone says about the device."""
        if self.kind is UsbKind.IPAD_RECOVERY:
            return Presence.RECOVERY
        if self.kind is UsbKind.ANDROID_NO_ADB:
            return Presence.USB_DEBUGGING_OFF
        return Presence.READY


@dataclass(frozen=True)
class Attention:
    """A device on USB that the station cannot use until a person acts."""

    device: UsbPortDevice
    slot: int | None
    presence: Presence

    @property
    def hint(self) -> str:
        return self.presence.hint


@dataclass(frozen=True)
class SlotCalibration:
    """Which hub port is which cart slot, measured once per station (ports are physical)."""

    slots: Mapping[str, int] = field(default_factory=dict)  # port path -> slot number

    def __post_init__(self) -> None:
        numbers = list(self.slots.values())
        if len(set(numbers)) != len(numbers):
            raise ValueError("two ports are calibrated to the same slot")
        if any(n < 1 for n in numbers):
            raise ValueError("slot numbers start at 1")

    def slot_for(self, port_path: str | None) -> int | None:
        if port_path is None:
            return None
        return self.slots.get(port_path.removeprefix("usb:"))

    def port_for(self, slot: int) -> str | None:
        for port, number in self.slots.items():
            if number == slot:
                return port
        return None

    @classmethod
    def from_ports(cls, ports: Sequence[str]) -> SlotCalibration:
        """Slots 1..N in the order a person plugged a tablet into each port."""
        return cls({port.removeprefix("usb:"): n for n, port in enumerate(ports, start=1)})

    def to_json(self) -> str:
        ordered = dict(sorted(self.slots.items(), key=lambda item: item[1]))
        return json.dumps({"format": 1, "slots": ordered}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> SlotCalibration:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != 1:
            raise ValueError("not a slot calibration (format 1)")
        slots = data.get("slots")
        if not isinstance(slots, dict) or not all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
            for k, v in slots.items()
        ):
            raise ValueError("slot calibration: 'slots' must map port paths to numbers")
        return cls(dict(slots))

    @classmethod
    def load(cls, path: Path) -> SlotCalibration:
        """The calibration in ``path``; an empty one if the station was never calibrated."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls()
        return cls.from_json(text)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(self.to_json(), encoding="utf-8")
        os.replace(tmp, path)


# --- Protocols -----------------------------------------------------------------------------


@runtime_checkable
class TabletDriver(Protocol):
    """What every platform offers; all calls take the ``handle`` of a :class:`DeviceEvent`."""

    platform: Platform

    def watch(self) -> AsyncIterator[DeviceEvent]:
        """Events from now on: first ATTACHED for every tablet already present."""
        ...

    async def info(self, handle: str) -> DeviceInfo: ...

    async def install_app(
        self,
        handle: str,
        path: Path,
        progress: ProgressCallback | None = None,
        *,
        uploaded: Callable[[], None] | None = None,
    ) -> None:
        """Copy the app to the tablet and install it there.

        ``uploaded`` lets the station free the hub for the next tablet while this one installs:
        the driver calls it exactly once, as soon as the last byte of the app has left the
        station and before it waits for the on-device install. A call that fails before that
        point need not call it (the station frees the hub when the call ends anyway).
        """
        ...

    async def installed_apps(self, handle: str) -> dict[str, AppVersion]:
        """Third-party apps by bundle id / package (cheap: for check-before-act)."""
        ...

    async def device_name(self, handle: str) -> str: ...

    async def rename(self, handle: str, name: str) -> None: ...

    async def close(self) -> None: ...


@runtime_checkable
class IosDriver(TabletDriver, Protocol):
    """iPad operations; ``identity`` is the supervision identity as PEM (certificate + key)."""

    async def pair(self, handle: str, *, identity: bytes | None = None) -> Presence:
        """Pair (supervised pairing when ``identity`` supervises the iPad); READY when paired."""
        ...

    async def activation_state(self, handle: str) -> str: ...

    async def activate(self, handle: str) -> None: ...

    async def erase(self, handle: str) -> None: ...

    async def supervise(
        self, handle: str, *, organization: str, identity: bytes, skip_setup: Sequence[str]
    ) -> None: ...

    async def supervision(self, handle: str) -> SupervisionState: ...

    async def install_profile(
        self, handle: str, payload: bytes, *, identity: bytes | None = None
    ) -> None: ...

    async def remove_profile(
        self, handle: str, identifier: str, *, identity: bytes | None = None
    ) -> None: ...

    async def profiles(self, handle: str) -> list[ProfileSummary]: ...

    async def set_wallpaper(
        self,
        handle: str,
        image: bytes,
        *,
        identity: bytes,
        where: WallpaperWhere = WallpaperWhere.LOCK_SCREEN,
    ) -> None: ...


@runtime_checkable
class AndroidDriver(TabletDriver, Protocol):
    async def set_device_owner(self, handle: str, component: str) -> None: ...

    async def device_owner(self, handle: str) -> str | None: ...

    async def put_setting(self, handle: str, namespace: str, key: str, value: str) -> None: ...

    async def get_setting(self, handle: str, namespace: str, key: str) -> str | None: ...

    async def push_file(
        self,
        handle: str,
        src: Path,
        dest: str,
        progress: ProgressCallback | None = None,
    ) -> None: ...

    async def file_size(self, handle: str, path: str) -> int | None: ...

    async def reboot(self, handle: str) -> None:
        """Reboot and wait until it has booted again (bound it with ``asyncio.timeout``)."""
        ...

    async def wait_ready(self, handle: str) -> None:
        """Wait until the tablet is on adb and has finished booting."""
        ...

    async def disable_usb_debugging(self, handle: str) -> None: ...


@runtime_checkable
class UsbScanner(Protocol):
    async def scan(self) -> list[UsbPortDevice]: ...
