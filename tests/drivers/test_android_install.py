"""The Android driver's app install: the streamed path, its ``uploaded`` moment, the old path."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from station.drivers.android import AdbAndroidDriver, AndroidSettings
from station.drivers.base import Progress
from station.errors import DeviceGone, DeviceRefused, InputError
from station.sim.android import adb_server, shell
from station.sim.artifacts.android import make_apk
from station.sim.cart import VirtualCart
from station.sim.scenario import SlotOverride
from tests.drivers.conftest import StartCart

pytestmark = pytest.mark.timeout(60)

PACKAGE = "org.school.reader"


def adb_driver(cart: VirtualCart) -> AdbAndroidDriver:
    assert cart.adb is not None
    return AdbAndroidDriver(
        AndroidSettings(host="127.0.0.1", port=cart.adb.port, socket_timeout=30)
    )


def handle(cart: VirtualCart, slot: int) -> str:
    return f"usb:{cart.slots[slot].port.path}"


class InstallGate:
    """Holds the emulated package manager before it installs, until the driver says uploaded.

    If the driver waited for the install's answer before calling ``uploaded``, the install
    would never finish: the test then fails on its timeout instead of passing by luck.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch, cart: VirtualCart) -> None:
        self.opened = asyncio.Event()
        self.staged: list[str] = []  # the file the package manager installs from
        self.calls: list[dict[str, Any]] = []
        self.progress: list[Progress] = []
        self._cart = cart
        original: Callable[..., Awaitable[int]] = shell._finish_install

        async def gated(sh: shell.Shell, host_path: Path, flags: set[str], out: Any) -> int:
            self.staged.append(host_path.name)
            await self.opened.wait()
            return await original(sh, host_path, flags, out)

        monkeypatch.setattr(shell, "_finish_install", gated)

    def uploaded(self) -> None:
        tablet = self._cart.slots[1].android
        assert tablet is not None
        self.calls.append(
            {
                "installed": PACKAGE in tablet.packages,
                "last_progress": self.progress[-1] if self.progress else None,
            }
        )
        self.opened.set()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_uploaded_fires_once_after_the_last_byte_and_before_the_install_ends(
    start_cart: StartCart, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cart = await start_cart(ipads=0, androids=1)
    driver = adb_driver(cart)
    apk = make_apk(tmp_path / "r.apk", PACKAGE, 42, "4.2.0", "Reader", padding_bytes=2_000_000)
    gate = InstallGate(monkeypatch, cart)
    link = cart.slots[1].link
    before = link.bytes_total

    async with asyncio.timeout(30):
        await driver.install_app(handle(cart, 1), apk, gate.progress.append, uploaded=gate.uploaded)

    assert len(gate.calls) == 1
    call = gate.calls[0]
    assert call["installed"] is False  # the tablet was still installing
    # Every byte had been sent: the copy had reported its end, "Installing" came after.
    assert call["last_progress"] == Progress(0.8, "Copying r.apk")
    details = [p.detail for p in gate.progress]
    assert details.index("Installing r.apk") > details.index("Copying r.apk")
    assert gate.progress[-1] == Progress(1.0, "Installed r.apk")
    # Streamed (adb install's path): the package manager read the APK from its own session.
    assert len(gate.staged) == 1
    assert "vmdl" in gate.staged[0]
    tablet = cart.slots[1].android
    assert tablet is not None
    assert link.bytes_total - before == apk.stat().st_size
    assert tablet.packages[PACKAGE].apk_sha256 == sha256(apk)
    assert not [p for p in tablet.files if p.endswith(".apk")]


async def test_a_refusal_after_the_upload_still_called_uploaded_once(
    start_cart: StartCart, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cart = await start_cart(ipads=0, androids=1)
    driver = adb_driver(cart)
    bad = tmp_path / "bad.apk"
    bad.write_bytes(b"not a zip" * 10_000)
    gate = InstallGate(monkeypatch, cart)
    with pytest.raises(DeviceRefused) as refused:
        async with asyncio.timeout(30):
            await driver.install_app(handle(cart, 1), bad, uploaded=gate.uploaded)
    assert "INSTALL_PARSE_FAILED_NOT_APK" in refused.value.message
    assert len(gate.calls) == 1


async def test_no_uploaded_when_the_tablet_goes_before_the_last_byte(
    start_cart: StartCart, tmp_path: Path
) -> None:
    cart = await start_cart(ipads=0, androids=1, time_scale=1.0, slots={1: SlotOverride(slow=20)})
    driver = adb_driver(cart)
    apk = make_apk(tmp_path / "big.apk", "org.school.big", 1, "1", "Big", padding_bytes=4_000_000)
    calls: list[None] = []
    install = asyncio.ensure_future(
        driver.install_app(handle(cart, 1), apk, uploaded=lambda: calls.append(None))
    )
    await cart.wait_milestone(1, "transfer")
    await cart.unplug(1)
    with pytest.raises(DeviceGone):
        await install
    assert calls == []
    tablet = cart.slots[1].android
    assert tablet is not None
    assert "org.school.big" not in tablet.packages


async def test_a_tablet_gone_after_the_upload_is_gone_not_refused(
    start_cart: StartCart, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stream ends without an answer: the engine must wait for the tablet, not give up."""
    cart = await start_cart(ipads=0, androids=1)
    driver = adb_driver(cart)
    apk = make_apk(tmp_path / "r.apk", PACKAGE, 1, "1.0", "Reader", padding_bytes=300_000)
    InstallGate(monkeypatch, cart)  # the install never ends on its own
    pulled: list[asyncio.Future[None]] = []

    def uploaded() -> None:
        pulled.append(asyncio.ensure_future(cart.unplug(1)))

    with pytest.raises(DeviceGone) as gone:
        async with asyncio.timeout(30):
            await driver.install_app(handle(cart, 1), apk, uploaded=uploaded)
    assert len(pulled) == 1
    await pulled[0]
    assert gone.value.device == handle(cart, 1)
    tablet = cart.slots[1].android
    assert tablet is not None
    assert PACKAGE not in tablet.packages


async def test_a_tablet_without_cmd_gets_the_apk_pushed_and_pm_installed(
    start_cart: StartCart, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before Android 7 adbd has no ``cmd``: push, ``pm install``, remove, as adb does."""
    monkeypatch.setattr(adb_server, "DEVICE_FEATURES", ("shell_v2",))
    cart = await start_cart(ipads=0, androids=1)
    driver = adb_driver(cart)
    apk = make_apk(tmp_path / "r.apk", PACKAGE, 7, "0.7", "Reader", padding_bytes=500_000)
    gate = InstallGate(monkeypatch, cart)

    async with asyncio.timeout(30):
        await driver.install_app(handle(cart, 1), apk, gate.progress.append, uploaded=gate.uploaded)

    assert len(gate.calls) == 1
    assert gate.calls[0]["installed"] is False
    assert gate.calls[0]["last_progress"] == Progress(0.8, "Copying r.apk")
    assert len(gate.staged) == 1
    assert gate.staged[0].startswith("station-")  # pm read the pushed copy
    tablet = cart.slots[1].android
    assert tablet is not None
    assert tablet.packages[PACKAGE].version_code == 7
    assert not [p for p in tablet.files if p.endswith(".apk")]


async def test_google_adb_and_the_driver_agree_on_the_streamed_install(
    start_cart: StartCart, tmp_path: Path
) -> None:
    """The real ``adb install`` takes the same emulated path (when Debian's adb is there)."""
    adb = shutil.which("adb")
    if adb is None:
        pytest.skip("Google's adb is not installed")
    cart = await start_cart(ipads=0, androids=1)
    assert cart.adb is not None
    tablet = cart.slots[1].android
    assert tablet is not None
    apk = make_apk(tmp_path / "r.apk", PACKAGE, 1, "1.0", "Reader", padding_bytes=300_000)
    proc = await asyncio.create_subprocess_exec(
        adb, "-P", str(cart.adb.port), "-s", handle(cart, 1), "install", "-r", "-t", str(apk),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, out
    assert b"Success" in out
    newer = make_apk(tmp_path / "r2.apk", PACKAGE, 2, "2.0", "Reader", padding_bytes=300_000)
    await adb_driver(cart).install_app(handle(cart, 1), newer)
    assert tablet.packages[PACKAGE].version_code == 2
    assert tablet.packages[PACKAGE].apk_sha256 == sha256(newer)


async def test_a_folder_is_no_app(start_cart: StartCart, tmp_path: Path) -> None:
    cart = await start_cart(ipads=0, androids=1)
    with pytest.raises(InputError):
        await adb_driver(cart).install_app(handle(cart, 1), tmp_path)


async def test_uploaded_means_the_tablet_took_the_bytes_not_a_socket_buffer(
    start_cart: StartCart, tmp_path: Path
) -> None:
    """On a hub that is the bottleneck, ``uploaded`` frees the hub for the next tablet: by
    then nearly every byte must have crossed it, not megabytes still waiting in socket
    buffers (which the next tablet's upload would then share the hub with)."""
    cart = await start_cart(ipads=0, androids=1, time_scale=0.5)  # the hub: 70 MB/s
    driver = adb_driver(cart)
    apk = make_apk(tmp_path / "big.apk", PACKAGE, 7, "7.0", "Big", padding_bytes=12_000_000)
    link = cart.slots[1].link
    before = link.bytes_total
    crossed: list[int] = []
    async with asyncio.timeout(30):
        await driver.install_app(
            handle(cart, 1), apk, uploaded=lambda: crossed.append(link.bytes_total - before)
        )
    size = apk.stat().st_size
    assert len(crossed) == 1
    # What may still be on the way: our send buffer and the adb server's receive buffer
    # (256 KB each, doubled by Linux) and a block in flight; far less than before (~10 MB).
    assert size - crossed[0] <= 1_600_000, (size, crossed)
    assert link.bytes_total - before == size
