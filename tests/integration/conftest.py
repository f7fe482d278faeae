"""Fixtures for the end-to-end tests: a virtual cart, the real drivers, the demo blueprint."""

from __future__ import annotations

import gc
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from station.commands import demo_blueprint, demo_secrets
from station.drivers.android import AdbAndroidDriver, AndroidSettings
from station.drivers.base import SlotCalibration
from station.drivers.ios import IosSettings, UsbmuxIosDriver
from station.jobs.runner import Prepared, prepare
from station.secrets import SecretStore
from station.sim.cart import CartSpec, VirtualCart
from station.sim.scenario import Scenario

KEEP_ADB = ("finish = { disable_usb_debugging = true }", "")


@pytest.fixture(autouse=True)
def collect_garbage() -> Iterator[None]:
    yield
    gc.collect()


@pytest.fixture
def quiet_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxies for loopback HTTP, no real adb binary, no stray usbmuxd address."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("all_proxy", raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("ADBUTILS_ADB_PATH", "/bin/false")
    monkeypatch.delenv("USBMUXD_SOCKET_ADDRESS", raising=False)


@pytest.fixture(scope="session")
def demo_inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(demo blueprint, station data dir with its secrets in a file), made once."""
    root = tmp_path_factory.mktemp("demo")
    demo_secrets(root / "station")
    return demo_blueprint(root / "blueprints"), root / "station"


@pytest.fixture
def blueprint_variant(demo_inputs: tuple[Path, Path]) -> Callable[..., Path]:
    path, _ = demo_inputs

    def make(*replacements: tuple[str, str], name: str) -> Path:
        text = path.read_text(encoding="utf-8")
        for old, new in replacements:
            assert old in text, old
            text = text.replace(old, new)
        target = path.with_name(f"{name}.toml")
        target.write_text(text, encoding="utf-8")
        return target

    return make


@pytest.fixture
def prepared_keep_adb(
    demo_inputs: tuple[Path, Path], blueprint_variant: Callable[..., Path]
) -> Prepared:
    _, data_dir = demo_inputs
    path = blueprint_variant(KEEP_ADB, name="keep-adb")
    return prepare(path, SecretStore(data_dir=data_dir, force_file=True))


@pytest.fixture
def station_dir(tmp_path: Path, demo_inputs: tuple[Path, Path]) -> Path:
    """A fresh station data dir holding the demo secrets (copied)."""
    _, data_dir = demo_inputs
    target = tmp_path / "station"
    target.mkdir()
    (target / "secrets.json").write_bytes((data_dir / "secrets.json").read_bytes())
    (target / "secrets.json").chmod(0o600)
    return target


@pytest.fixture
async def cart_factory(tmp_path: Path, quiet_env: None) -> AsyncIterator[Callable[..., Any]]:
    carts: list[VirtualCart] = []

    async def start(
        *,
        ipads: int,
        androids: int,
        scenario: Scenario | None = None,
        hubs: int = 2,
        time_scale: float = 0.002,
    ) -> VirtualCart:
        spec = CartSpec(
            state_dir=tmp_path / f"cart{len(carts)}",
            ipads=ipads,
            androids=androids,
            hubs=hubs,
            time_scale=time_scale,
            scenario=scenario,
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


@asynccontextmanager
async def drivers_for(
    cart: VirtualCart, station: Path
) -> AsyncIterator[tuple[UsbmuxIosDriver, AdbAndroidDriver]]:
    info = cart.ready_info()
    ios = UsbmuxIosDriver(
        IosSettings(
            pair_records=station / "pair_records",
            usbmux_address=info["usbmux"],
            activation_server=info["activation_url"],
        )
    )
    host, _, port = info["adb"].rpartition(":")
    android = AdbAndroidDriver(AndroidSettings(host=host, port=int(port)))
    try:
        yield ios, android
    finally:
        await ios.close()
        await android.close()


def calibration_of(cart: VirtualCart) -> SlotCalibration:
    return SlotCalibration({s["port"]: s["slot"] for s in cart.ready_info()["slots"]})


def station_command(cart: VirtualCart, station: Path, *args: str) -> list[str]:
    """``python -m station run ...`` pointed at ``cart`` (as a person would type it)."""
    info = cart.ready_info()
    calibration = station / "calibration.json"
    calibration_of(cart).save(calibration)
    return [
        sys.executable,
        "-m",
        "station",
        *args,
        "--data-dir",
        str(station),
        "--file-secrets",
        "--usbmux",
        info["usbmux"],
        "--adb",
        info["adb"],
        "--activation-url",
        info["activation_url"],
        "--usb-snapshot",
        str(cart.usb_snapshot_path),
        "--calibration",
        str(calibration),
    ]
