"""Shared helpers for the emulated-iPad tests: cached device keys and a running usbmuxd."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from station.sim.bandwidth import HubLink
from station.sim.clock import SimClock
from station.sim.ios.device import IPAD_MODELS, TrustBehaviour, VirtualIPad
from station.sim.ios.pairing import DeviceIdentity, generate_device_identity, new_ipad
from station.sim.ios.services import ServiceTable
from station.sim.ios.usbmux import UsbmuxServer

_IDENTITIES: list[DeviceIdentity] = []


def device_identities(count: int = 4) -> list[DeviceIdentity]:
    """A few RSA device identities made once per test session (key generation is slow)."""
    while len(_IDENTITIES) < count:
        _IDENTITIES.append(generate_device_identity())
    return _IDENTITIES[:count]


def make_ipad(
    index: int = 0, *, product_type: str = "iPad13,18", trust: TrustBehaviour = "accept"
) -> VirtualIPad:
    identity = device_identities()[index % 4]
    ipad = new_ipad(IPAD_MODELS[product_type], identity, index=index)
    ipad.trust = trust
    return ipad


class Cart:
    """A started usbmuxd with iPads attached, each with its own data dir under ``root``."""

    def __init__(self, root: Path, server: UsbmuxServer, clock: SimClock) -> None:
        self.root = root
        self.server = server
        self.clock = clock
        self.link = HubLink(clock)
        self.ipads: dict[str, VirtualIPad] = {}
        self.saves: dict[str, int] = {}

    @property
    def address(self) -> str:
        return self.server.socket_address

    def data_dir(self, ipad: VirtualIPad) -> Path:
        return self.root / ipad.udid

    def save(self, ipad: VirtualIPad) -> None:
        path = self.data_dir(ipad)
        path.mkdir(parents=True, exist_ok=True)
        (path / "ipad.json").write_text(ipad.dumps())
        self.saves[ipad.udid] = self.saves.get(ipad.udid, 0) + 1

    def saved_state(self, ipad: VirtualIPad) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.data_dir(ipad) / "ipad.json").read_text())
        return data

    def plug(self, ipad: VirtualIPad, location_id: int | None = None) -> int:
        self.ipads[ipad.udid] = ipad
        location = location_id if location_id is not None else 0x01100000 + len(self.ipads)
        return self.server.attach(
            ipad,
            location_id=location,
            link=self.link,
            data_dir=self.data_dir(ipad),
            save=self.save,
        )


@asynccontextmanager
async def running_cart(
    root: Path,
    ipads: list[VirtualIPad],
    services: ServiceTable | None = None,
    *,
    time_scale: float = 0.001,
) -> AsyncIterator[Cart]:
    clock = SimClock(time_scale)
    server = UsbmuxServer(clock=clock, services=services or {})
    await server.start()
    cart = Cart(root, server, clock)
    try:
        for ipad in ipads:
            cart.plug(ipad)
        yield cart
    finally:
        await server.stop()


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback HTTP must not go through a proxy from the environment."""
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "http_proxy",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
