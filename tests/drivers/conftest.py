"""Fixtures for the driver tests: a running virtual cart and drivers pointed at it."""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from station.sim.cart import CartSpec, VirtualCart
from station.sim.scenario import Scenario, SlotOverride

StartCart = Callable[..., Awaitable[VirtualCart]]

DEVICE_TESTS_ENV = "STATION_DEVICE_TESTS"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``device`` need real tablets: they run only with STATION_DEVICE_TESTS=1."""
    if os.environ.get(DEVICE_TESTS_ENV) == "1":
        return
    skip = pytest.mark.skip(reason=f"needs real hardware (set {DEVICE_TESTS_ENV}=1)")
    here = Path(__file__).parent
    for item in items:
        if "device" in item.keywords and item.path.is_relative_to(here):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def collect_garbage() -> Iterator[None]:
    """Leaked sockets are reported by the test that leaked them, not the next one."""
    yield
    gc.collect()


@pytest.fixture
def quiet_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxies for loopback HTTP, no real adb binary, no stray usbmuxd address."""
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
    # adbutils runs `adb start-server` when it finds no server: make that harmless.
    monkeypatch.setenv("ADBUTILS_ADB_PATH", "/bin/false")
    monkeypatch.delenv("USBMUXD_SOCKET_ADDRESS", raising=False)
    monkeypatch.delenv("ANDROID_SERIAL", raising=False)


@pytest.fixture
async def start_cart(tmp_path: Path, quiet_env: None) -> AsyncIterator[StartCart]:
    """Start a cart: ``await start_cart(ipads=1, androids=0, slots={1: SlotOverride(...)})``."""
    carts: list[VirtualCart] = []

    async def start(
        *,
        ipads: int = 1,
        androids: int = 0,
        hubs: int = 1,
        slots: dict[int, SlotOverride] | None = None,
        time_scale: float = 0.002,
    ) -> VirtualCart:
        spec = CartSpec(
            state_dir=tmp_path / f"cart{len(carts)}",
            ipads=ipads,
            androids=androids,
            hubs=hubs,
            time_scale=time_scale,
            scenario=Scenario(slots=dict(slots or {})),
        )
        cart = VirtualCart(spec)
        await cart.start()
        carts.append(cart)
        return cart

    try:
        yield start
    finally:
        for cart in carts:
            await cart.stop()
