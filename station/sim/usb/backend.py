"""A pyusb backend over the virtual cart's ``usb.json``, so ``usb.core.find`` sees the cart.

The cart rewrites the snapshot on every plug and unplug; this backend re-reads it on each
enumeration, so a USB scan in any process (the station's slot mapper, ``lsusb``-like tools)
sees the same bus a Linux host would: the xHCI root hub, one hub per root port and the
tablets on the hub ports, with their descriptors and string descriptors. Only standard
control requests are answered; bulk transfers to the tablets fail the way they do on a real
host where usbmuxd and the adb server already hold the interfaces. A device that has a
:class:`UsbFunction` behind its port (the emulated label printer, ``printer.py``) takes bulk
transfers: OUT data goes to the function, IN reads return what it has to say. The functions
live in the process that built the backend.
"""

from __future__ import annotations

import array
import errno
import json
import logging
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import usb.backend
import usb.core

log = logging.getLogger("station.sim.usb")

APPLE_VENDOR_ID = 0x05AC

# libusb error codes, kept in USBError.backend_error_code as the libusb1 backend does.
LIBUSB_ERROR_IO = -1
LIBUSB_ERROR_INVALID_PARAM = -2
LIBUSB_ERROR_NO_DEVICE = -4
LIBUSB_ERROR_BUSY = -6
LIBUSB_ERROR_OVERFLOW = -8
LIBUSB_ERROR_PIPE = -9
LIBUSB_ERROR_NOT_SUPPORTED = -12

SPEED_FULL = 2
SPEED_HIGH = 3
LANGID_EN_US = 0x0409

DESC_DEVICE = 0x01
DESC_CONFIG = 0x02
DESC_STRING = 0x03
DESC_INTERFACE = 0x04
DESC_ENDPOINT = 0x05

REQ_GET_STATUS = 0x00
REQ_GET_DESCRIPTOR = 0x06
REQ_GET_CONFIGURATION = 0x08
REQ_SET_CONFIGURATION = 0x09

# Interfaces a host daemon owns on a real station: claiming them gives "Resource busy".
_DAEMON_INTERFACES = {(0xFF, 0xFE, 0x02), (0xFF, 0x42, 0x01)}

_INTERFACE_NAMES = {
    (0xFF, 0xFE, 0x02): "Apple USB Multiplexor",
    (0xFF, 0x42, 0x01): "ADB Interface",
    (0x06, 0x01, 0x01): "MTP",
    (0x09, 0x00, 0x00): "",
}

PRINTER_CLASS = 0x07  # Linux binds usblp to these interfaces until someone detaches it


class UsbFunction(Protocol):
    """The logic behind an emulated device's bulk endpoints."""

    def bulk_out(self, endpoint: int, data: bytes) -> int:
        """Take an OUT transfer; return how many bytes were taken."""
        ...

    def bulk_in(self, endpoint: int, size: int) -> bytes:
        """Answer an IN transfer with at most ``size`` bytes (b"": a zero-length packet)."""
        ...


@dataclass(frozen=True)
class EndpointDesc:
    bEndpointAddress: int
    bmAttributes: int
    wMaxPacketSize: int
    bInterval: int
    bLength: int = 7
    bDescriptorType: int = DESC_ENDPOINT
    bRefresh: int = 0
    bSynchAddress: int = 0
    extra_descriptors: tuple[int, ...] = ()

    def to_bytes(self) -> bytes:
        return struct.pack(
            "<BBBBHB",
            self.bLength,
            self.bDescriptorType,
            self.bEndpointAddress,
            self.bmAttributes,
            self.wMaxPacketSize,
            self.bInterval,
        )


@dataclass(frozen=True)
class InterfaceDesc:
    bInterfaceNumber: int
    bInterfaceClass: int
    bInterfaceSubClass: int
    bInterfaceProtocol: int
    iInterface: int
    endpoints: tuple[EndpointDesc, ...]
    bAlternateSetting: int = 0
    bLength: int = 9
    bDescriptorType: int = DESC_INTERFACE
    extra_descriptors: tuple[int, ...] = ()

    @property
    def bNumEndpoints(self) -> int:
        return len(self.endpoints)

    def to_bytes(self) -> bytes:
        head = struct.pack(
            "<BBBBBBBBB",
            self.bLength,
            self.bDescriptorType,
            self.bInterfaceNumber,
            self.bAlternateSetting,
            self.bNumEndpoints,
            self.bInterfaceClass,
            self.bInterfaceSubClass,
            self.bInterfaceProtocol,
            self.iInterface,
        )
        return head + b"".join(ep.to_bytes() for ep in self.endpoints)


@dataclass(frozen=True)
class ConfigDesc:
    interfaces: tuple[InterfaceDesc, ...]
    bConfigurationValue: int = 1
    iConfiguration: int = 0
    bmAttributes: int = 0xC0
    bMaxPower: int = 250  # in 2 mA units: 500 mA
    bLength: int = 9
    bDescriptorType: int = DESC_CONFIG
    extra_descriptors: tuple[int, ...] = ()

    @property
    def bNumInterfaces(self) -> int:
        return len(self.interfaces)

    @property
    def wTotalLength(self) -> int:
        return len(self.to_bytes())

    def to_bytes(self) -> bytes:
        body = b"".join(i.to_bytes() for i in self.interfaces)
        head = struct.pack(
            "<BBHBBBBB",
            self.bLength,
            self.bDescriptorType,
            9 + len(body),
            self.bNumInterfaces,
            self.bConfigurationValue,
            self.iConfiguration,
            self.bmAttributes,
            self.bMaxPower,
        )
        return head + body


@dataclass(frozen=True)
class DeviceDesc:
    """Device descriptor plus where the device sits, as pyusb reads it from a backend."""

    idVendor: int
    idProduct: int
    bcdUSB: int
    bcdDevice: int
    bDeviceClass: int
    bus: int
    address: int
    port_number: int
    port_numbers: tuple[int, ...] | None
    iManufacturer: int = 1
    iProduct: int = 2
    iSerialNumber: int = 3
    bDeviceSubClass: int = 0
    bDeviceProtocol: int = 0
    bMaxPacketSize0: int = 64
    bNumConfigurations: int = 1
    bLength: int = 18
    bDescriptorType: int = DESC_DEVICE
    speed: int = SPEED_HIGH

    def to_bytes(self) -> bytes:
        return struct.pack(
            "<BBHBBBBHHHBBBB",
            self.bLength,
            self.bDescriptorType,
            self.bcdUSB,
            self.bDeviceClass,
            self.bDeviceSubClass,
            self.bDeviceProtocol,
            self.bMaxPacketSize0,
            self.idVendor,
            self.idProduct,
            self.bcdDevice,
            self.iManufacturer,
            self.iProduct,
            self.iSerialNumber,
            self.bNumConfigurations,
        )


@dataclass(frozen=True)
class SimUsbDevice:
    """One device on the emulated bus: what the backend hands pyusb as the device id."""

    desc: DeviceDesc
    config: ConfigDesc
    strings: tuple[str, ...]  # string descriptor i is strings[i - 1]
    parent_address: int | None  # None for the root hub
    daemon_interfaces: frozenset[int] = field(default_factory=frozenset)

    @property
    def key(self) -> tuple[int, int]:
        return (self.desc.bus, self.desc.address)

    @property
    def port_path(self) -> str:
        """``1-2.16``: bus, root port, hub port (the root hub is ``1-0``)."""
        ports = self.desc.port_numbers or (0,)
        return f"{self.desc.bus}-{'.'.join(str(p) for p in ports)}"

    def interface(self, number: int) -> InterfaceDesc | None:
        for intf in self.config.interfaces:
            if intf.bInterfaceNumber == number:
                return intf
        return None


@dataclass
class _Handle:
    device: SimUsbDevice
    configuration: int = 1
    claimed: set[int] = field(default_factory=set)


def _endpoints_for(
    klass: tuple[int, int, int], number: int, speed: int = SPEED_HIGH
) -> tuple[EndpointDesc, ...]:
    """Bulk in/out for data interfaces, plus an interrupt-in for MTP events and hubs."""
    if klass[0] == 0x09:
        return (EndpointDesc(0x81, 0x03, 1, 12),)
    packet = 512 if speed >= SPEED_HIGH else 64  # bulk packets: 512 bytes at high speed only
    if klass[0] == PRINTER_CLASS:
        # Brother's QL printers: bulk IN 0x81 and bulk OUT 0x02.
        return (EndpointDesc(0x81, 0x02, packet, 0), EndpointDesc(0x02, 0x02, packet, 0))
    eps: tuple[EndpointDesc, ...] = (
        EndpointDesc(0x80 | (2 * number + 1), 0x02, packet, 0),
        EndpointDesc(2 * number + 1, 0x02, packet, 0),
    )
    if klass == (0x06, 0x01, 0x01):
        eps += (EndpointDesc(0x80 | (2 * number + 2), 0x03, 28, 6),)
    return eps


def _build(
    *,
    vendor: int,
    product: int,
    bcd_usb: int,
    bcd_device: int,
    device_class: int,
    bus: int,
    address: int,
    port_numbers: tuple[int, ...] | None,
    manufacturer: str,
    product_name: str,
    serial: str,
    interfaces: list[tuple[int, int, int]],
    parent_address: int | None,
    speed: int = SPEED_HIGH,
) -> SimUsbDevice:
    strings = [manufacturer, product_name]
    if serial:
        strings.append(serial)
    i_serial = 3 if serial else 0
    intfs: list[InterfaceDesc] = []
    daemon: set[int] = set()
    for number, klass in enumerate(interfaces):
        name = _INTERFACE_NAMES.get(klass, "")
        if vendor == APPLE_VENDOR_ID and klass == (0x06, 0x01, 0x01):
            name = "PTP"  # iPads offer photos over PTP, not MTP
        i_name = 0
        if name:
            strings.append(name)
            i_name = len(strings)
        intfs.append(InterfaceDesc(number, *klass, i_name, _endpoints_for(klass, number, speed)))
        if klass in _DAEMON_INTERFACES:
            daemon.add(number)
    desc = DeviceDesc(
        idVendor=vendor,
        idProduct=product,
        bcdUSB=bcd_usb,
        bcdDevice=bcd_device,
        bDeviceClass=device_class,
        bus=bus,
        address=address,
        port_number=port_numbers[-1] if port_numbers else 0,
        port_numbers=port_numbers,
        iSerialNumber=i_serial,
        bDeviceProtocol=1 if device_class == 0x09 else 0,
        bMaxPacketSize0=64 if speed >= SPEED_FULL else 8,
        speed=speed,
    )
    return SimUsbDevice(
        desc, ConfigDesc(tuple(intfs)), tuple(strings), parent_address, frozenset(daemon)
    )


def devices_from_snapshot(snapshot: dict[str, Any]) -> list[SimUsbDevice]:
    """The whole bus of a ``UsbTopology.snapshot()``: root hub, hubs, then plugged devices."""
    bus = int(snapshot["bus"])
    hubs = int(snapshot["hubs"])
    out = [
        _build(
            vendor=0x1D6B,
            product=0x0002,
            bcd_usb=0x0200,
            bcd_device=0x0601,
            device_class=0x09,
            bus=bus,
            address=1,
            port_numbers=None,
            manufacturer="Linux 6.1.0 xhci-hcd",
            product_name="xHCI Host Controller",
            serial="0000:00:14.0",
            interfaces=[(0x09, 0x00, 0x00)],
            parent_address=None,
        )
    ]
    # Hubs get addresses 2..hubs+1 at enumeration, one per root port (UsbTopology's rule).
    for hub in range(hubs):
        out.append(
            _build(
                vendor=0x05E3,
                product=0x0610,
                bcd_usb=0x0210,
                bcd_device=0x9226,
                device_class=0x09,
                bus=bus,
                address=hub + 2,
                port_numbers=(hub + 1,),
                manufacturer="GenesysLogic",
                product_name="USB2.1 Hub",
                serial="",
                interfaces=[(0x09, 0x00, 0x00)],
                parent_address=1,
            )
        )
    for entry in snapshot["devices"]:
        port = entry["port"]
        desc = entry["descriptor"]
        out.append(
            _build(
                vendor=int(desc["vendor_id"]),
                product=int(desc["product_id"]),
                bcd_usb=int(desc.get("bcd_usb", 0x0200)),
                bcd_device=int(desc.get("bcd_device", 0x0100)),
                device_class=int(desc.get("device_class", 0)),
                bus=int(port["bus"]),
                address=int(entry["address"]),
                port_numbers=(int(port["root_port"]), int(port["hub_port"])),
                manufacturer=str(desc["manufacturer"]),
                product_name=str(desc["product"]),
                serial=str(desc["serial_number"]),
                interfaces=[(int(a), int(b), int(c)) for a, b, c in desc["interfaces"]],
                parent_address=int(port["root_port"]) + 1,
                speed=int(desc.get("speed", SPEED_HIGH)),
            )
        )
    return out


def _usb_error(message: str, code: int, err: int) -> usb.core.USBError:
    return usb.core.USBError(message, code, err)


def _no_device() -> usb.core.USBError:
    return _usb_error(
        "No such device (it may have been disconnected)", LIBUSB_ERROR_NO_DEVICE, errno.ENODEV
    )


def _stall() -> usb.core.USBError:
    return _usb_error("Pipe error", LIBUSB_ERROR_PIPE, errno.EPIPE)


class SimUsbBackend(usb.backend.IBackend):  # type: ignore[misc]  # pyusb is untyped
    """pyusb's backend interface over a ``usb.json`` snapshot file.

    Args:
        snapshot_path: the cart's ``usb.json``.
        functions: by port path (``1-2.16``), the logic behind a device's bulk endpoints.
    """

    def __init__(
        self, snapshot_path: Path, functions: Mapping[str, UsbFunction] | None = None
    ) -> None:
        super().__init__()
        self.snapshot_path = Path(snapshot_path)
        self.functions = dict(functions or {})
        # (bus, address, interface) whose kernel driver (usblp) was detached.
        self._detached: set[tuple[int, int, int]] = set()
        self._cached: tuple[tuple[int, int, int], list[SimUsbDevice]] | None = None

    def _read(self) -> list[SimUsbDevice]:
        """The bus as the snapshot says now; parsed again only when the file changed.

        A scan asks for the bus (and whether each device is still there) a hundred times or
        more; parsing the file every time made one scan of a 30-tablet cart take 0.27 s,
        where libusb on a real bus takes milliseconds.
        """
        try:
            stat = self.snapshot_path.stat()
        except FileNotFoundError:
            # No cart running: a bus with nothing on it, like a host without that controller.
            return []
        version = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        cached = self._cached
        if cached is not None and cached[0] == version:
            return list(cached[1])
        try:
            text = self.snapshot_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        try:
            devices = devices_from_snapshot(json.loads(text))
            self._cached = (version, devices)
            return list(devices)
        except (ValueError, KeyError, TypeError) as exc:
            # What libusb reports when it cannot read the bus: an I/O error, not a crash.
            log.warning("unreadable USB snapshot %s: %s", self.snapshot_path, exc)
            raise _usb_error("Input/Output Error", LIBUSB_ERROR_IO, errno.EIO) from exc

    def _present(self, dev: SimUsbDevice) -> bool:
        """Still on the bus with the same address (a re-plug gets a new one, as on Linux)."""
        return any(d.key == dev.key and d.desc == dev.desc for d in self._read())

    def enumerate_devices(self) -> list[SimUsbDevice]:
        return self._read()

    def get_parent(self, dev: SimUsbDevice) -> SimUsbDevice | None:
        if dev.parent_address is None:
            return None
        for other in self._read():
            if other.key == (dev.desc.bus, dev.parent_address):
                return other
        return None

    def get_device_descriptor(self, dev: SimUsbDevice) -> DeviceDesc:
        return dev.desc

    def get_configuration_descriptor(self, dev: SimUsbDevice, config: int) -> ConfigDesc:
        if config != 0:
            raise IndexError("Invalid configuration index " + str(config))
        return dev.config

    def get_interface_descriptor(
        self, dev: SimUsbDevice, intf: int, alt: int, config: int
    ) -> InterfaceDesc:
        cfg = self.get_configuration_descriptor(dev, config)
        if not 0 <= intf < len(cfg.interfaces):
            raise IndexError("Invalid interface index " + str(intf))
        if alt != 0:
            raise IndexError("Invalid alternate setting index " + str(alt))
        return cfg.interfaces[intf]

    def get_endpoint_descriptor(
        self, dev: SimUsbDevice, ep: int, intf: int, alt: int, config: int
    ) -> EndpointDesc:
        interface = self.get_interface_descriptor(dev, intf, alt, config)
        if not 0 <= ep < len(interface.endpoints):
            raise IndexError("Invalid endpoint index " + str(ep))
        return interface.endpoints[ep]

    def open_device(self, dev: SimUsbDevice) -> _Handle:
        if not self._present(dev):
            raise _no_device()
        return _Handle(dev)

    def close_device(self, dev_handle: _Handle) -> None:
        dev_handle.claimed.clear()

    def set_configuration(self, dev_handle: _Handle, config_value: int) -> None:
        if not self._present(dev_handle.device):
            raise _no_device()
        if config_value != dev_handle.device.config.bConfigurationValue:
            raise _usb_error("Invalid parameter", LIBUSB_ERROR_INVALID_PARAM, errno.EINVAL)
        dev_handle.configuration = config_value

    def get_configuration(self, dev_handle: _Handle) -> int:
        return dev_handle.configuration

    def set_interface_altsetting(self, dev_handle: _Handle, intf: int, altsetting: int) -> None:
        if altsetting != 0:
            raise _stall()

    def claim_interface(self, dev_handle: _Handle, intf: int) -> None:
        if not self._present(dev_handle.device):
            raise _no_device()
        if intf in dev_handle.device.daemon_interfaces or self._usblp_bound(
            dev_handle.device, intf
        ):
            # usbmuxd / the adb server / the kernel's usblp hold these on a real station.
            raise _usb_error("Resource busy", LIBUSB_ERROR_BUSY, errno.EBUSY)
        dev_handle.claimed.add(intf)

    def release_interface(self, dev_handle: _Handle, intf: int) -> None:
        dev_handle.claimed.discard(intf)

    def _no_transfer(self, dev_handle: _Handle, *_: object) -> int:
        if not self._present(dev_handle.device):
            raise _no_device()
        raise _usb_error("Input/Output Error", LIBUSB_ERROR_IO, errno.EIO)

    intr_write = intr_read = iso_write = iso_read = _no_transfer

    def _function(self, dev_handle: _Handle, ep: int, intf: int) -> UsbFunction:
        """The function behind endpoint ``ep``, after the checks libusb's transfer makes."""
        dev = dev_handle.device
        if not self._present(dev):
            raise _no_device()
        function = self.functions.get(dev.port_path)
        interface = dev.interface(intf)
        if function is None or interface is None:
            raise _usb_error("Input/Output Error", LIBUSB_ERROR_IO, errno.EIO)
        if intf not in dev_handle.claimed:
            # libusb lets an unclaimed transfer through; Linux refuses it.
            raise _usb_error("Resource busy", LIBUSB_ERROR_BUSY, errno.EBUSY)
        if not any(e.bEndpointAddress == ep for e in interface.endpoints):
            raise _usb_error("Entity not found", -5, errno.ENOENT)
        return function

    def bulk_write(
        self, dev_handle: _Handle, ep: int, intf: int, data: array.array[int], timeout: int
    ) -> int:
        function = self._function(dev_handle, ep, intf)
        if ep & 0x80:
            raise _usb_error("Invalid parameter", LIBUSB_ERROR_INVALID_PARAM, errno.EINVAL)
        return function.bulk_out(ep, data.tobytes())

    def bulk_read(
        self, dev_handle: _Handle, ep: int, intf: int, buff: array.array[int], timeout: int
    ) -> int:
        function = self._function(dev_handle, ep, intf)
        if not ep & 0x80:
            raise _usb_error("Invalid parameter", LIBUSB_ERROR_INVALID_PARAM, errno.EINVAL)
        size = len(buff) * buff.itemsize
        data = function.bulk_in(ep, size)
        if len(data) > size:
            # The device sent more than the host asked for: libusb drops it and says so.
            raise _usb_error("Overflow", LIBUSB_ERROR_OVERFLOW, errno.EOVERFLOW)
        for i, byte in enumerate(data):
            buff[i] = byte
        return len(data)

    def _usblp_bound(self, dev: SimUsbDevice, intf: int) -> bool:
        interface = dev.interface(intf)
        return (
            interface is not None
            and interface.bInterfaceClass == PRINTER_CLASS
            and (dev.desc.bus, dev.desc.address, intf) not in self._detached
        )

    def ctrl_transfer(
        self,
        dev_handle: _Handle,
        bmRequestType: int,
        bRequest: int,
        wValue: int,
        wIndex: int,
        data: array.array[int],
        timeout: int,
    ) -> int | array.array[int]:
        dev = dev_handle.device
        if not self._present(dev):
            raise _no_device()
        request_in = bool(bmRequestType & 0x80)
        standard_device = bmRequestType & 0x7F == 0
        if not standard_device:
            raise _stall()
        if request_in and bRequest == REQ_GET_DESCRIPTOR:
            payload = self._descriptor(dev, wValue >> 8, wValue & 0xFF, wIndex)
        elif request_in and bRequest == REQ_GET_STATUS:
            payload = b"\x01\x00"  # self-powered
        elif request_in and bRequest == REQ_GET_CONFIGURATION:
            payload = bytes([dev_handle.configuration])
        elif not request_in and bRequest == REQ_SET_CONFIGURATION:
            self.set_configuration(dev_handle, wValue)
            return 0
        else:
            raise _stall()
        n = min(len(payload), len(data) * data.itemsize)
        for i in range(n):
            data[i] = payload[i]
        return n

    @staticmethod
    def _descriptor(dev: SimUsbDevice, kind: int, index: int, langid: int) -> bytes:
        if kind == DESC_DEVICE and index == 0:
            return dev.desc.to_bytes()
        if kind == DESC_CONFIG and index == 0:
            return dev.config.to_bytes()
        if kind == DESC_STRING:
            if index == 0:
                return struct.pack("<BBH", 4, DESC_STRING, LANGID_EN_US)
            if langid != LANGID_EN_US or not 1 <= index <= len(dev.strings):
                raise _stall()
            text = dev.strings[index - 1].encode("utf-16-le")[:252]
            return bytes([2 + len(text), DESC_STRING]) + text
        raise _stall()

    def clear_halt(self, dev_handle: _Handle, ep: int) -> None:
        if not self._present(dev_handle.device):
            raise _no_device()

    def reset_device(self, dev_handle: _Handle) -> None:
        if not self._present(dev_handle.device):
            raise _no_device()

    def is_kernel_driver_active(self, dev_handle: _Handle, intf: int) -> bool:
        # Linux binds "hub" to hubs and usblp to printers; the tablets' interfaces are held by
        # user-space daemons.
        dev = dev_handle.device
        return dev.desc.bDeviceClass == 0x09 or self._usblp_bound(dev, intf)

    def detach_kernel_driver(self, dev_handle: _Handle, intf: int) -> None:
        dev = dev_handle.device
        if self._usblp_bound(dev, intf):
            self._detached.add((dev.desc.bus, dev.desc.address, intf))
        elif dev.desc.bDeviceClass != 0x09:
            raise _usb_error("Entity not found", -5, errno.ENOENT)

    def attach_kernel_driver(self, dev_handle: _Handle, intf: int) -> None:
        dev = dev_handle.device
        if intf in dev_handle.claimed:
            raise _usb_error("Resource busy", LIBUSB_ERROR_BUSY, errno.EBUSY)
        self._detached.discard((dev.desc.bus, dev.desc.address, intf))


def get_backend(
    snapshot_path: Path, functions: Mapping[str, UsbFunction] | None = None
) -> SimUsbBackend:
    """The backend to pass as ``usb.core.find(..., backend=...)`` for a cart's ``usb.json``."""
    return SimUsbBackend(snapshot_path, functions)
