"""What a lockdown service handler gets: the connection, the iPad and the device's host.

lockdownd's StartService opens a port on the emulated iPad; when a client connects to it
through usbmuxd, the handler registered for that service name runs with a
:class:`ServiceContext`. Handlers are passed in as a mapping (no global registry).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from station.sim.bandwidth import HubLink
from station.sim.clock import SimClock
from station.sim.ios.device import VirtualIPad


class DeviceHost(Protocol):
    """The side of the emulator a service may ask for device-level effects."""

    def save(self) -> None:
        """Persist the iPad's state (after any change a restart must keep)."""

    def schedule_restart(self, *, erase: bool) -> None:
        """Detach, (erase,) boot for the model's time, re-attach with a new DeviceID."""


@dataclass
class ServiceContext:
    ipad: VirtualIPad
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    clock: SimClock
    link: HubLink  # the hub this iPad is plugged into: uploads share its bandwidth
    data_dir: Path  # this iPad's folder in the state dir; AFC's media root is data_dir / "Media"
    host: DeviceHost
    escrow_bag_given: bool = False  # StartService came with the EscrowBag


ServiceHandler = Callable[[ServiceContext], Awaitable[None]]
ServiceTable = Mapping[str, ServiceHandler]
