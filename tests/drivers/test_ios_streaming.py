"""The iPad app upload streams from disk, and frees the hub before installd is done."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tracemalloc
from pathlib import Path

import pytest
from pymobiledevice3.services.afc import AfcService

from station.drivers.base import Progress
from station.drivers.ios import IosSettings, UsbmuxIosDriver
from station.drivers.ios_upload import UPLOAD_CHUNK, AppFile, stream_to_afc
from station.errors import InputError
from station.jobs.transfers import TransferLimiter
from station.sim.artifacts.ios import make_ipa
from station.sim.cart import VirtualCart
from station.sim.scenario import SlotOverride
from tests.drivers.conftest import StartCart

pytestmark = pytest.mark.timeout(60)

BUNDLE = "org.school.atlas"


def ios_driver(cart: VirtualCart, folder: Path) -> UsbmuxIosDriver:
    assert cart.activation is not None
    return UsbmuxIosDriver(
        IosSettings(
            pair_records=folder,
            usbmux_address=cart.ready_info()["usbmux"],
            activation_server=cart.activation.url,
        )
    )


async def paired_ipad(start_cart: StartCart, tmp_path: Path) -> tuple[VirtualCart, str]:
    cart = await start_cart(ipads=1, slots={1: SlotOverride(trust="accept")})
    ipad = cart.slots[1].ipad
    assert ipad is not None
    return cart, ipad.udid


async def test_the_upload_frees_the_hub_slot_before_the_install_is_done(
    start_cart: StartCart, tmp_path: Path
) -> None:
    """Through pymobiledevice3: ``uploaded`` comes once, after the last byte, before installd."""
    cart, handle = await paired_ipad(start_cart, tmp_path)
    ipad = cart.slots[1].ipad
    assert ipad is not None
    driver = ios_driver(cart, tmp_path / "pair")
    await driver.pair(handle)
    ipa = make_ipa(tmp_path / "atlas.ipa", BUNDLE, "3", "3.0", "Atlas", 6 * UPLOAD_CHUNK)
    limiter = TransferLimiter(1)
    lease = await limiter.acquire("1-1")
    timeline: list[str] = []
    progress: list[Progress] = []

    def uploaded() -> None:
        timeline.append("uploaded")
        # Every byte is on the device, nothing installed yet.
        assert cart.slots[1].milestones.get("install", 0) == 0
        assert BUNDLE not in ipad.apps
        lease.release()

    async def next_tablet() -> None:
        second = await limiter.acquire("1-1")
        timeline.append("next tablet uploads" + (" (installed)" if BUNDLE in ipad.apps else ""))
        second.release()

    waiting = asyncio.ensure_future(next_tablet())
    await driver.install_app(handle, ipa, progress.append, uploaded=uploaded)
    timeline.append("install_app returned")
    await waiting

    assert timeline == ["uploaded", "next tablet uploads", "install_app returned"]
    assert limiter.peak["1-1"] == 1
    assert limiter.active["1-1"] == 0
    uploads = [p.fraction for p in progress if p.detail.startswith("Uploading")]
    assert len(uploads) >= 6  # one per chunk at least
    assert uploads[-1] == 0.5
    assert progress[-1] == Progress(1.0, "Installed atlas.ipa")
    apps = await driver.installed_apps(handle)  # asked the (virtual) device again
    assert apps[BUNDLE].version == "3"


async def test_the_upload_holds_chunks_not_the_app(start_cart: StartCart, tmp_path: Path) -> None:
    """A 40 MB app costs the station a few chunks of memory while it is uploaded."""
    cart, handle = await paired_ipad(start_cart, tmp_path)
    driver = ios_driver(cart, tmp_path / "pair")
    await driver.pair(handle)
    size = 40 * UPLOAD_CHUNK
    ipa = make_ipa(tmp_path / "big.ipa", BUNDLE, "1", "1.0", "Big", size)
    peaks: list[int] = []

    def uploaded() -> None:
        peaks.append(tracemalloc.get_traced_memory()[1])

    tracemalloc.start()
    try:
        await driver.install_app(handle, ipa, uploaded=uploaded)
    finally:
        tracemalloc.stop()
    # The whole process (the virtual iPad's AFC server included) during the upload.
    (peak,) = peaks
    assert peak < size // 3, f"{peak / 1e6:.1f} MB traced while uploading {size / 1e6:.0f} MB"
    assert BUNDLE in await driver.installed_apps(handle)


async def test_a_missing_app_is_an_input_error_before_anything_is_sent(
    start_cart: StartCart, tmp_path: Path
) -> None:
    cart, handle = await paired_ipad(start_cart, tmp_path)
    driver = ios_driver(cart, tmp_path / "pair")
    await driver.pair(handle)
    called: list[str] = []
    for bad in (tmp_path / "nothing.ipa", tmp_path):
        with pytest.raises(InputError, match="no such app file"):
            await driver.install_app(handle, bad, uploaded=lambda: called.append("x"))
    assert called == []
    assert cart.slots[1].milestones.get("service:com.apple.afc", 0) == 0


async def test_pipelined_chunks_arrive_whole_and_in_order(
    start_cart: StartCart, tmp_path: Path
) -> None:
    """Writes in flight together still land in order: the iPad's copy is the file, byte for byte."""
    cart, handle = await paired_ipad(start_cart, tmp_path)
    driver = ios_driver(cart, tmp_path / "pair")
    await driver.pair(handle)
    data = os.urandom(5 * UPLOAD_CHUNK + 12345)
    source = tmp_path / "random.bin"
    source.write_bytes(data)
    confirmed: list[int] = []
    async with driver._lockdown(handle, "test upload") as client, AfcService(client) as afc:
        app = AppFile(source)
        await app.open()
        try:
            await stream_to_afc(afc, app, "/random.bin", confirmed.append)
        finally:
            await app.close()
        copy = await afc.get_file_contents("/random.bin")
    assert hashlib.sha256(copy).hexdigest() == hashlib.sha256(data).hexdigest()
    assert confirmed[-1] == len(data)
    assert confirmed == sorted(confirmed)
    assert len(confirmed) == 6
