"""The cart's USB tree: host controller, hubs, ports and what is plugged into each.

Addresses follow Linux: one bus per host controller, devices numbered 1.. in plug order,
a port path such as ``1-2.4`` (bus 1, root port 2, hub port 4). usbmuxd on Linux reports
``LocationID = (bus << 16) | address`` and adb reports ``usb:<bus>-<path>``, so the
station can match a usbmuxd or adb device to its hub port, and the port to a cart slot.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

APPLE_VENDOR_ID = 0x05AC


@dataclass(frozen=True)
class UsbDescriptor:
    """What a USB scan sees of one device."""

    vendor_id: int
    product_id: int
    manufacturer: str
    product: str
    serial_number: str
    device_class: int = 0
    bcd_usb: int = 0x0200
    bcd_device: int = 0x0100
    # Interfaces as (class, subclass, protocol): Apple usbmux is (0xFF, 0xFE, 0x02),
    # adb is (0xFF, 0x42, 0x01), MTP is (0x06, 0x01, 0x01).
    interfaces: tuple[tuple[int, int, int], ...] = ()
    speed: int = 3  # libusb's numbering: 2 full speed (12 Mbit/s), 3 high speed (480 Mbit/s)


@dataclass(frozen=True)
class PortRef:
    """A physical port: the hub's root port and the port on that hub."""

    bus: int
    root_port: int
    hub_port: int

    @property
    def path(self) -> str:
        """Linux port path, as in ``/sys/bus/usb/devices`` and adb's ``usb:`` devpath."""
        return f"{self.bus}-{self.root_port}.{self.hub_port}"

    @property
    def port_numbers(self) -> tuple[int, ...]:
        return (self.root_port, self.hub_port)


@dataclass
class Attachment:
    """A device currently plugged into a port, with the address the bus gave it."""

    port: PortRef
    address: int
    descriptor: UsbDescriptor

    @property
    def location_id(self) -> int:
        return (self.port.bus << 16) | self.address


@dataclass
class UsbTopology:
    """Hubs of a cart and what is plugged in; every plug gets a new bus address."""

    bus: int = 1
    hubs: int = 2
    ports_per_hub: int = 16
    attachments: dict[str, Attachment] = field(default_factory=dict)  # by port path
    _next_address: int = 2  # 1 is the root hub

    def hub_ports(self) -> list[PortRef]:
        return [
            PortRef(self.bus, hub + 1, port + 1)
            for hub in range(self.hubs)
            for port in range(self.ports_per_hub)
        ]

    def plug(self, port: PortRef, descriptor: UsbDescriptor) -> Attachment:
        if port.path in self.attachments:
            raise ValueError(f"port {port.path} is already in use")
        # Hubs themselves take addresses 2..hubs+1, as on a real bus.
        self._next_address = max(self._next_address, self.hubs + 2)
        attachment = Attachment(port, self._next_address, descriptor)
        self._next_address = self._next_address + 1 if self._next_address < 127 else self.hubs + 2
        self.attachments[port.path] = attachment
        return attachment

    def unplug(self, port: PortRef) -> Attachment | None:
        return self.attachments.pop(port.path, None)

    def snapshot(self) -> dict[str, object]:
        """A JSON-able picture of the bus, for the pyusb backend in another process."""
        return {
            "bus": self.bus,
            "hubs": self.hubs,
            "ports_per_hub": self.ports_per_hub,
            "devices": [
                {
                    "port": asdict(a.port),
                    "address": a.address,
                    "descriptor": asdict(a.descriptor),
                }
                for a in sorted(self.attachments.values(), key=lambda a: a.address)
            ],
        }

    def write_snapshot(self, path: Path) -> None:
        """Write the snapshot atomically so a concurrent reader never sees half a file."""
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.snapshot(), indent=1), encoding="utf-8")
        os.replace(tmp, path)
