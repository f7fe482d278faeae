"""Hand-written fakes of the driver Protocols, with device-side state and operation counters."""

from __future__ import annotations

import asyncio
import collections
import hashlib
import plistlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from station.blueprint import Blueprint
from station.drivers.base import (
    AppVersion,
    DeviceEvent,
    DeviceInfo,
    EventKind,
    Platform,
    Presence,
    ProfileSummary,
    Progress,
    ProgressCallback,
    SupervisionState,
    UsbKind,
    UsbPortDevice,
    WallpaperWhere,
)
from station.errors import DeviceGone, DeviceRefused, UserActionRequired
from station.secrets import SupervisionIdentity

Hook = Callable[[str], Awaitable[None]]


@dataclass
class FakeTablet:
    """What a tablet keeps on its own (its "disk"); survives replugging and station restarts."""

    serial: str
    udid: str = ""
    model: str = "FakeModel"
    name: str = "Tablet"
    apps: dict[str, str] = field(default_factory=dict)  # id -> version
    # iPad
    trust: str = "accept"  # accept | prompt
    trusted: bool = False
    activation: str = "Unactivated"
    supervisor_sha: str | None = None
    organization: str | None = None
    profiles: dict[str, tuple[str, int]] = field(default_factory=dict)  # id -> (uuid, version)
    wallpaper: str = ""
    # Android
    authorized: bool = True
    owner: str | None = None
    accounts: tuple[str, ...] = ()
    settings: dict[str, str] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)
    usb_debugging: bool = True
    free_bytes: int = 10**10
    # what was done to it, by operation name
    ops: collections.Counter[str] = field(default_factory=collections.Counter)


class _FakeDriver:
    platform: Platform

    def __init__(self) -> None:
        self.present: dict[str, tuple[FakeTablet, str | None]] = {}  # handle -> tablet, port
        self._queues: list[asyncio.Queue[DeviceEvent]] = []
        self.faults: dict[str, list[BaseException]] = collections.defaultdict(list)
        self.hooks: dict[str, Hook] = {}
        self.delays: dict[str, float] = {}
        self.active: collections.Counter[str] = collections.Counter()
        self.peak: collections.Counter[str] = collections.Counter()
        self.installing: collections.Counter[str] = collections.Counter()  # on-device, per hub
        self.installing_peak: collections.Counter[str] = collections.Counter()
        self.closed = False
        self.packages: dict[Path, tuple[str, str]] = {}  # app file -> (id, version)

    # --- test controls ---

    def handle_for(self, tablet: FakeTablet, port: str) -> str:
        raise NotImplementedError

    def _event(
        self,
        kind: EventKind,
        handle: str,
        tablet: FakeTablet,
        port: str | None,
        presence: Presence = Presence.READY,
    ) -> DeviceEvent:
        return DeviceEvent(
            kind=kind,
            platform=self.platform,
            handle=handle,
            serial=tablet.serial,
            presence=presence,
            usb_path=port,
        )

    def _send(self, event: DeviceEvent) -> None:
        for queue in self._queues:
            queue.put_nowait(event)

    def plug(self, tablet: FakeTablet, port: str) -> str:
        handle = self.handle_for(tablet, port)
        self.present[handle] = (tablet, port)
        self._send(self._event(EventKind.ATTACHED, handle, tablet, port))
        return handle

    def unplug(self, handle: str) -> None:
        tablet, port = self.present.pop(handle)
        self._send(self._event(EventKind.DETACHED, handle, tablet, port, Presence.OFFLINE))

    def changed(self, handle: str, presence: Presence) -> None:
        tablet, port = self.present[handle]
        self._send(self._event(EventKind.CHANGED, handle, tablet, port, presence))

    def fail(self, op: str, *errors: BaseException) -> None:
        """The next calls of ``op`` raise these errors, one each."""
        self.faults[op].extend(errors)

    async def _op(self, handle: str, op: str, *, mutating: bool = False) -> FakeTablet:
        if handle not in self.present:
            raise DeviceGone(f"{op}: gone", device=handle)
        tablet = self.present[handle][0]
        hook = self.hooks.get(op)
        if hook is not None:
            await hook(handle)
        if self.faults.get(op):
            raise self.faults[op].pop(0)
        if handle not in self.present:
            raise DeviceGone(f"{op}: gone", device=handle)
        if mutating:
            tablet.ops[op] += 1
        return tablet

    async def _transfer(self, handle: str, op: str, port: str | None) -> None:
        hub = (port or "?").rpartition(".")[0]
        self.active[hub] += 1
        self.peak[hub] = max(self.peak[hub], self.active[hub])
        try:
            await asyncio.sleep(self.delays.get(op, 0.0))
        finally:
            self.active[hub] -= 1
        if handle not in self.present:
            raise DeviceGone(f"{op}: unplugged mid-transfer", device=handle)

    async def _installing(self, handle: str) -> None:
        """The on-device part of an install: the hub carries nothing meanwhile."""
        hub = (self.present[handle][1] or "?").rpartition(".")[0]
        self.installing[hub] += 1
        self.installing_peak[hub] = max(self.installing_peak[hub], self.installing[hub])
        try:
            hook = self.hooks.get("install_on_device")
            if hook is not None:
                await hook(handle)
            await asyncio.sleep(self.delays.get("install_on_device", 0.0))
        finally:
            self.installing[hub] -= 1
        if handle not in self.present:
            raise DeviceGone("install: unplugged while installing", device=handle)

    # --- the Protocol ---

    async def watch(self) -> AsyncIterator[DeviceEvent]:
        queue: asyncio.Queue[DeviceEvent] = asyncio.Queue()
        for handle, (tablet, port) in self.present.items():
            queue.put_nowait(self._event(EventKind.ATTACHED, handle, tablet, port))
        self._queues.append(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._queues.remove(queue)

    async def info(self, handle: str) -> DeviceInfo:
        tablet = await self._op(handle, "info")
        return DeviceInfo(
            platform=self.platform,
            handle=handle,
            serial=tablet.serial,
            udid=tablet.udid or None,
            model=tablet.model,
            os_version="1",
            name=tablet.name,
            usb_path=self.present[handle][1],
        )

    async def install_app(
        self,
        handle: str,
        path: Path,
        progress: ProgressCallback | None = None,
        *,
        uploaded: Callable[[], None] | None = None,
    ) -> None:
        tablet = await self._op(handle, "install_app")
        if tablet.free_bytes < 1000:
            raise DeviceRefused("install: INSTALL_FAILED_INSUFFICIENT_STORAGE", device=handle)
        if progress is not None:
            progress(Progress(0.0, "start"))
        await self._transfer(handle, "install_app", self.present[handle][1])
        if uploaded is not None:
            uploaded()
        await self._installing(handle)
        if progress is not None:
            progress(Progress(1.0, "done"))
        ident, version = self.packages[path]
        tablet.apps[ident] = version
        tablet.ops["install_app"] += 1

    async def installed_apps(self, handle: str) -> dict[str, AppVersion]:
        tablet = await self._op(handle, "installed_apps")
        return {k: AppVersion(k, v) for k, v in tablet.apps.items()}

    async def device_name(self, handle: str) -> str:
        return (await self._op(handle, "device_name")).name

    async def rename(self, handle: str, name: str) -> None:
        (await self._op(handle, "rename", mutating=True)).name = name

    async def close(self) -> None:
        self.closed = True


class FakeIosDriver(_FakeDriver):
    platform = Platform.IOS

    def handle_for(self, tablet: FakeTablet, port: str) -> str:
        return tablet.udid

    async def pair(self, handle: str, *, identity: bytes | None = None) -> Presence:
        tablet = await self._op(handle, "pair")
        ours = identity is not None and tablet.supervisor_sha == _sha(identity)
        if tablet.trusted or ours or tablet.trust == "accept":
            tablet.trusted = True
            return Presence.READY
        return Presence.NEEDS_TRUST

    async def _paired(self, handle: str, op: str, *, mutating: bool = False) -> FakeTablet:
        tablet = await self._op(handle, op, mutating=mutating)
        if not tablet.trusted:
            raise UserActionRequired(f"{op}: not paired", device=handle, hint="Pair first")
        return tablet

    async def activation_state(self, handle: str) -> str:
        return (await self._op(handle, "activation_state")).activation

    async def activate(self, handle: str) -> None:
        (await self._paired(handle, "activate", mutating=True)).activation = "Activated"

    async def erase(self, handle: str) -> None:
        tablet = await self._paired(handle, "erase", mutating=True)
        tablet.apps.clear()
        tablet.profiles.clear()
        tablet.activation = "Unactivated"
        tablet.supervisor_sha = None
        tablet.organization = None
        tablet.trusted = False
        tablet.name = "iPad"
        port = self.present[handle][1]
        assert port is not None

        async def restart() -> None:
            await asyncio.sleep(0.01)
            self.unplug(handle)
            await asyncio.sleep(0.01)
            self.plug(tablet, port)

        self._restart = asyncio.ensure_future(restart())

    async def supervise(
        self, handle: str, *, organization: str, identity: bytes, skip_setup: Sequence[str]
    ) -> None:
        tablet = await self._paired(handle, "supervise", mutating=True)
        tablet.supervisor_sha = _sha(identity)
        tablet.organization = organization

    async def supervision(self, handle: str) -> SupervisionState:
        tablet = await self._paired(handle, "supervision")
        if tablet.supervisor_sha is None:
            return SupervisionState(supervised=False)
        return SupervisionState(
            supervised=True,
            organization=tablet.organization,
            supervisor_cert_sha256=(tablet.supervisor_sha,),
        )

    async def install_profile(
        self, handle: str, payload: bytes, *, identity: bytes | None = None
    ) -> None:
        tablet = await self._paired(handle, "install_profile", mutating=True)
        top = plistlib.loads(payload)
        tablet.profiles[top["PayloadIdentifier"]] = (top["PayloadUUID"], top["PayloadVersion"])
        tablet.settings[f"profile:{top['PayloadIdentifier']}"] = payload.decode()

    async def remove_profile(
        self, handle: str, identifier: str, *, identity: bytes | None = None
    ) -> None:
        (await self._paired(handle, "remove_profile", mutating=True)).profiles.pop(identifier)

    async def profiles(self, handle: str) -> list[ProfileSummary]:
        tablet = await self._paired(handle, "profiles")
        return [
            ProfileSummary(identifier=k, display_name=k, uuid=u, version=v)
            for k, (u, v) in tablet.profiles.items()
        ]

    async def set_wallpaper(
        self,
        handle: str,
        image: bytes,
        *,
        identity: bytes,
        where: WallpaperWhere = WallpaperWhere.LOCK_SCREEN,
    ) -> None:
        tablet = await self._paired(handle, "set_wallpaper", mutating=True)
        tablet.wallpaper = hashlib.sha256(image).hexdigest()


class FakeAndroidDriver(_FakeDriver):
    platform = Platform.ANDROID

    def handle_for(self, tablet: FakeTablet, port: str) -> str:
        return f"usb:{port}"

    async def wait_ready(self, handle: str) -> None:
        tablet = await self._op(handle, "wait_ready")
        if not tablet.authorized:
            raise UserActionRequired(
                "USB debugging is not allowed", device=handle, hint=Presence.UNAUTHORIZED.hint
            )

    async def set_device_owner(self, handle: str, component: str) -> None:
        tablet = await self._op(handle, "set_device_owner", mutating=True)
        if tablet.accounts:
            raise DeviceRefused(
                "java.lang.IllegalStateException: Not allowed to set the device owner because "
                "there are already some accounts on the device",
                device=handle,
            )
        tablet.owner = component

    async def device_owner(self, handle: str) -> str | None:
        return (await self._op(handle, "device_owner")).owner

    async def put_setting(self, handle: str, namespace: str, key: str, value: str) -> None:
        tablet = await self._op(handle, "put_setting", mutating=True)
        tablet.settings[f"{namespace}.{key}"] = value
        if (namespace, key) == ("global", "device_name"):
            tablet.name = value

    async def get_setting(self, handle: str, namespace: str, key: str) -> str | None:
        return (await self._op(handle, "get_setting")).settings.get(f"{namespace}.{key}")

    async def push_file(
        self, handle: str, src: Path, dest: str, progress: ProgressCallback | None = None
    ) -> None:
        tablet = await self._op(handle, "push_file")
        await self._transfer(handle, "push_file", self.present[handle][1])
        tablet.files[dest] = (await asyncio.to_thread(src.stat)).st_size
        tablet.ops["push_file"] += 1

    async def file_size(self, handle: str, path: str) -> int | None:
        return (await self._op(handle, "file_size")).files.get(path)

    async def reboot(self, handle: str) -> None:
        await self._op(handle, "reboot", mutating=True)

    async def disable_usb_debugging(self, handle: str) -> None:
        tablet = await self._op(handle, "disable_usb_debugging", mutating=True)
        tablet.usb_debugging = False
        self.unplug(handle)


def _sha(identity: bytes) -> str:
    """The certificate's SHA-256, as SupervisionIdentity.sha256 computes it."""
    return SupervisionIdentity.from_pem(identity.decode()).sha256


def register_apps(blueprint: Blueprint, ios: FakeIosDriver, android: FakeAndroidDriver) -> None:
    """Tell the fakes what each app file of ``blueprint`` holds (they do not parse packages)."""
    if blueprint.ios is not None:
        for ipa in blueprint.ios.apps:
            ios.packages[ipa.path] = (ipa.info.bundle_id, ipa.info.version)
    if blueprint.android is not None:
        for apk in blueprint.android.apps:
            android.packages[apk.path] = (apk.info.package, str(apk.info.version_code))


class FakeUsbScanner:
    """What a USB scan shows: set ``devices`` to the tablets on the bus."""

    def __init__(self) -> None:
        self.devices: list[UsbPortDevice] = []

    async def scan(self) -> list[UsbPortDevice]:
        return list(self.devices)


def no_adb(serial: str, port: str) -> UsbPortDevice:
    """An Android tablet with USB debugging off, as a USB scan sees it."""
    bus, _, rest = port.partition("-")
    return UsbPortDevice(
        port_path=port,
        bus=int(bus),
        address=10 + int(rest.rpartition(".")[2]),
        vendor_id=0x04E8,
        product_id=0x6860,
        serial=serial,
        kind=UsbKind.ANDROID_NO_ADB,
    )
