"""USB scanning with pyusb: which hub port each tablet sits in, and what a person must do.

usbmuxd and adb only show tablets that are ready for them. A USB scan also shows an iPad in
recovery mode and an Android tablet with USB debugging off, and gives every device its port
path (``1-2.3``), which a per-station :class:`~station.drivers.base.SlotCalibration` turns
into a cart slot. usbmuxd's LocationID (``bus << 16 | address`` on Linux) and adb's
``usb:`` devpath lead back to the same port.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

import usb.core
import usb.util

from station import messages as msg
from station.drivers.base import (
    Attention,
    Presence,
    SlotCalibration,
    UsbKind,
    UsbPortDevice,
)
from station.errors import DeviceError

log = logging.getLogger("station.drivers.usb")

APPLE_VENDOR_ID = 0x05AC
# iBoot recovery mode and DFU (0x1280-0x1283 recovery, 0x1222/0x1227 DFU, 0x1281 is common).
APPLE_RECOVERY_PIDS = frozenset({0x1222, 0x1227, 0x1280, 0x1281, 0x1282, 0x1283})
# iOS devices in normal mode: 0x1290..0x12AF (iPhone/iPad/iPod "Apple Mobile Device").
APPLE_NORMAL_PIDS = range(0x1290, 0x12B0)
USBMUX_INTERFACE = (0xFF, 0xFE, 0x02)
ADB_INTERFACE = (0xFF, 0x42, 0x01)
STILL_IMAGE_CLASS = 0x06  # PTP/MTP
HUB_CLASS = 0x09
# Makers of school tablets whose MTP interface is vendor-specific rather than class 6.
ANDROID_VENDOR_IDS = frozenset(
    {0x04E8, 0x17EF, 0x18D1, 0x0BB4, 0x22B8, 0x2717, 0x12D1, 0x1004, 0x0FCE, 0x2A70, 0x0B05}
)


def _interfaces(dev: Any) -> set[tuple[int, int, int]]:
    """(class, subclass, protocol) of every interface in every configuration."""
    found: set[tuple[int, int, int]] = set()
    with_errors = (usb.core.USBError, ValueError, NotImplementedError)
    try:
        for config in dev:
            for intf in config:
                found.add((intf.bInterfaceClass, intf.bInterfaceSubClass, intf.bInterfaceProtocol))
    except with_errors as exc:
        log.debug("cannot read configurations of %04x:%04x: %s", dev.idVendor, dev.idProduct, exc)
    return found


def _string(dev: Any, index: int) -> str | None:
    """A string descriptor, or None when it is absent or the station may not read it."""
    if not index:
        return None
    try:
        value = usb.util.get_string(dev, index)
    except (usb.core.USBError, ValueError, NotImplementedError) as exc:
        log.debug("cannot read string %d of %04x:%04x: %s", index, dev.idVendor, dev.idProduct, exc)
        return None
    return str(value) if value is not None else None


def classify(
    vendor_id: int, product_id: int, interfaces: Iterable[tuple[int, int, int]]
) -> UsbKind:
    """What kind of device this is, from its IDs and interfaces alone."""
    interfaces = set(interfaces)
    if vendor_id == APPLE_VENDOR_ID:
        if product_id in APPLE_RECOVERY_PIDS:
            return UsbKind.IPAD_RECOVERY
        if USBMUX_INTERFACE in interfaces or product_id in APPLE_NORMAL_PIDS:
            return UsbKind.IPAD
        return UsbKind.OTHER
    if ADB_INTERFACE in interfaces:
        return UsbKind.ANDROID_ADB
    if vendor_id in ANDROID_VENDOR_IDS or any(i[0] == STILL_IMAGE_CLASS for i in interfaces):
        return UsbKind.ANDROID_NO_ADB
    return UsbKind.OTHER


class PyusbScanner:
    """:class:`~station.drivers.base.UsbScanner` over pyusb.

    Args:
        backend: a pyusb backend; None is pyusb's default (libusb). Tests pass the virtual
            cart's backend over its ``usb.json``.
    """

    def __init__(self, backend: Any = None) -> None:
        self._backend = backend

    def _scan_blocking(self) -> list[UsbPortDevice]:
        try:
            found = list(usb.core.find(find_all=True, backend=self._backend))
        except (usb.core.NoBackendError, usb.core.USBError) as exc:
            raise DeviceError(
                msg.USB_SCAN_FAILED.fill(error=exc), hint=msg.USB_ACCESS_HINT
            ) from exc
        devices = []
        for dev in found:
            ports = dev.port_numbers
            if not ports or dev.bDeviceClass == HUB_CLASS:
                continue  # root hubs and hubs are the cart, not tablets
            interfaces = _interfaces(dev)
            if any(i[0] == HUB_CLASS for i in interfaces):
                continue
            devices.append(
                UsbPortDevice(
                    port_path=f"{dev.bus}-{'.'.join(str(p) for p in ports)}",
                    bus=int(dev.bus),
                    address=int(dev.address),
                    vendor_id=int(dev.idVendor),
                    product_id=int(dev.idProduct),
                    serial=_string(dev, dev.iSerialNumber),
                    kind=classify(dev.idVendor, dev.idProduct, interfaces),
                    manufacturer=_string(dev, dev.iManufacturer) or "",
                    product=_string(dev, dev.iProduct) or "",
                )
            )
        return sorted(devices, key=lambda d: d.port_path)

    async def scan(self) -> list[UsbPortDevice]:
        """Every device on a hub port (libusb blocks: the scan runs in a thread)."""
        return await asyncio.to_thread(self._scan_blocking)


def slot_for_location(
    devices: Iterable[UsbPortDevice], calibration: SlotCalibration, location_id: int
) -> int | None:
    """The cart slot of the iPad usbmuxd reports at ``location_id``."""
    for device in devices:
        if device.location_id == location_id:
            return calibration.slot_for(device.port_path)
    return None


def needing_a_person(
    devices: Iterable[UsbPortDevice],
    calibration: SlotCalibration,
    *,
    ios_location_ids: Iterable[int],
    adb_usb_paths: Iterable[str],
) -> list[Attention]:
    """Tablets on USB that usbmuxd or adb does not offer, with what a person must do."""
    locations = set(ios_location_ids)
    paths = {p.removeprefix("usb:") for p in adb_usb_paths}
    result = []
    for device in devices:
        presence: Presence | None = None
        if device.kind in (UsbKind.IPAD_RECOVERY, UsbKind.ANDROID_NO_ADB):
            presence = device.presence
        elif (device.kind is UsbKind.IPAD and device.location_id not in locations) or (
            device.kind is UsbKind.ANDROID_ADB and device.port_path not in paths
        ):
            presence = Presence.NOT_VISIBLE
        if presence is not None:
            result.append(Attention(device, calibration.slot_for(device.port_path), presence))
    return result
