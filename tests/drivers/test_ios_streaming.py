"""The iPad app upload streams from disk, and frees the hub before installd is done."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import os
import struct
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from pymobiledevice3 import exceptions as pmd3
from pymobiledevice3.services.afc import AfcError

from station.drivers import ios_upload
from station.drivers.base import Progress
from station.drivers.ios import IosSettings, UsbmuxIosDriver
from station.drivers.ios_upload import UPLOAD_CHUNK, AppFile, QuietAfc, stream_to_afc
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
    async with driver._lockdown(handle, "test upload") as client, QuietAfc(client) as afc:
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


async def upload(afc: QuietAfc, path: Path, remote: str, sent: Callable[[int], None]) -> None:
    app = AppFile(path)
    await app.open()
    try:
        await stream_to_afc(afc, app, remote, sent)
    finally:
        await app.close()


@pytest.mark.parametrize("chunks", [0, 1, 3])
@pytest.mark.parametrize("extra", [-1, 0, 1])
async def test_every_size_around_a_chunk_boundary_arrives_byte_for_byte(
    start_cart: StartCart, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunks: int, extra: int
) -> None:
    """Packets built in the reused buffers: the last one short, none empty, none left over."""
    chunk = 4096
    monkeypatch.setattr(ios_upload, "UPLOAD_CHUNK", chunk)
    size = max(0, chunks * chunk + extra)
    cart, handle = await paired_ipad(start_cart, tmp_path)
    driver = ios_driver(cart, tmp_path / "pair")
    await driver.pair(handle)
    data = os.urandom(size)
    source = tmp_path / "app.bin"
    source.write_bytes(data)
    confirmed: list[int] = []
    async with driver._lockdown(handle, "test upload") as client, QuietAfc(client) as afc:
        await upload(afc, source, "/app.bin", confirmed.append)
        assert await afc.get_file_contents("/app.bin") == data
        assert afc._afc_pending == {}
    # One confirmation per packet sent, each a chunk more than the last but the final one.
    expected = [min(size, n * chunk) for n in range(1, -(-size // chunk) + 1)]
    assert confirmed == expected


async def test_the_librarys_own_requests_share_the_connection_with_the_writes(
    start_cart: StartCart, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Packet numbers stay in step: a listdir or stat in the middle of an upload gets its answer."""
    monkeypatch.setattr(ios_upload, "UPLOAD_CHUNK", 64 * 1024)
    cart, handle = await paired_ipad(start_cart, tmp_path)
    driver = ios_driver(cart, tmp_path / "pair")
    await driver.pair(handle)
    data = os.urandom(40 * 64 * 1024 + 99)
    source = tmp_path / "app.bin"
    source.write_bytes(data)
    async with driver._lockdown(handle, "test upload") as client, QuietAfc(client) as afc:
        await afc.makedirs("/Other")
        asked: list[list[str]] = []

        async def ask_meanwhile() -> None:
            for _ in range(20):
                asked.append(await afc.listdir("/"))

        await asyncio.gather(upload(afc, source, "/app.bin", lambda _: None), ask_meanwhile())
        assert all("Other" in names for names in asked), asked
        assert (await afc.stat("/app.bin"))["st_size"] == len(data)
        assert await afc.get_file_contents("/app.bin") == data


async def test_a_write_the_ipad_refuses_ends_the_upload_with_nothing_in_flight(
    start_cart: StartCart, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The iPad's storage fills up mid-upload: afcd's error, the file closed, the link usable."""
    monkeypatch.setattr(ios_upload, "UPLOAD_CHUNK", 64 * 1024)
    cart, handle = await paired_ipad(start_cart, tmp_path)
    ipad = cart.slots[1].ipad
    assert ipad is not None
    driver = ios_driver(cart, tmp_path / "pair")
    await driver.pair(handle)
    source = tmp_path / "app.bin"
    source.write_bytes(os.urandom(20 * 64 * 1024))

    def fill_up(done: int) -> None:
        ipad.used_bytes = ipad.model.storage_bytes

    async with driver._lockdown(handle, "test upload") as client, QuietAfc(client) as afc:
        with pytest.raises(pmd3.AfcException) as refused:
            await upload(afc, source, "/app.bin", fill_up)
        assert refused.value.status == AfcError.NO_SPACE_LEFT
        assert afc._afc_pending == {}
        # The handle was closed on the iPad and the next request is answered as its own.
        assert "app.bin" in await afc.listdir("/")
        ipad.used_bytes = 0
        await afc.rm_single("/app.bin")
        assert "app.bin" not in await afc.listdir("/")


async def test_a_cancelled_upload_waits_for_its_writes_and_leaves_the_link_in_step(
    start_cart: StartCart, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancelled with writes in flight: each is answered before the cancellation goes on."""
    chunk = 64 * 1024
    monkeypatch.setattr(ios_upload, "UPLOAD_CHUNK", chunk)
    cart, handle = await paired_ipad(start_cart, tmp_path)
    driver = ios_driver(cart, tmp_path / "pair")
    await driver.pair(handle)
    data = os.urandom(30 * chunk)
    source = tmp_path / "app.bin"
    source.write_bytes(data)
    async with driver._lockdown(handle, "test upload") as client, QuietAfc(client) as afc:
        confirmed: list[int] = []

        def cancel_after_two(done: int) -> None:
            confirmed.append(done)
            if len(confirmed) == 2:
                task.cancel()

        task = asyncio.ensure_future(upload(afc, source, "/app.bin", cancel_after_two))
        with pytest.raises(asyncio.CancelledError):
            await task
        assert afc._afc_pending == {}
        # What arrived is a prefix of the file, whole chunks only; then the same connection
        # uploads the whole file again, byte for byte.
        partial = await afc.get_file_contents("/app.bin")
        assert len(partial) % chunk == 0
        assert chunk * 2 <= len(partial) < len(data)
        assert partial == data[: len(partial)]
        await upload(afc, source, "/app.bin", lambda _: None)
        assert await afc.get_file_contents("/app.bin") == data


async def test_an_unplug_with_writes_in_flight_is_a_dropped_connection_and_no_log_noise(
    start_cart: StartCart, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every write's future fails with the connection; none is left unretrieved."""
    monkeypatch.setattr(ios_upload, "UPLOAD_CHUNK", 64 * 1024)
    loop = asyncio.get_running_loop()
    unhandled: list[dict[str, object]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: unhandled.append(context))
    try:
        cart, handle = await paired_ipad(start_cart, tmp_path)
        driver = ios_driver(cart, tmp_path / "pair")
        await driver.pair(handle)
        source = tmp_path / "app.bin"
        source.write_bytes(os.urandom(40 * 64 * 1024))
        pulled: list[asyncio.Future[None]] = []

        def unplug_once(done: int) -> None:
            if not pulled:
                pulled.append(asyncio.ensure_future(cart.unplug(1)))

        async with driver._lockdown(handle, "test upload") as client, QuietAfc(client) as afc:
            with pytest.raises(pmd3.ConnectionTerminatedError):
                await upload(afc, source, "/app.bin", unplug_once)
            await pulled[0]
            assert afc._afc_pending == {}
        for _ in range(3):
            await asyncio.sleep(0)
            gc.collect()
    finally:
        loop.set_exception_handler(previous)
    assert not [c for c in unhandled if "never retrieved" in str(c.get("message"))], unhandled


@pytest.mark.parametrize("cached", ["all", "a third", "none", "no RWF_NOWAIT"])
async def test_the_app_file_reads_whole_chunks_whatever_the_page_cache_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cached: str
) -> None:
    """Bytes the page cache lacks are read on the file's thread, the chunk still whole."""
    real = ios_upload._read_cached
    if cached == "a third":
        monkeypatch.setattr(
            ios_upload, "_read_cached", lambda fd, buf, at: real(fd, buf[: len(buf) // 3], at)
        )
    elif cached == "none":
        monkeypatch.setattr(ios_upload, "_read_cached", lambda fd, buf, at: 0)
    elif cached == "no RWF_NOWAIT":
        monkeypatch.delattr(os, "RWF_NOWAIT", raising=False)
    data = os.urandom(3 * 1000 + 7)
    path = tmp_path / "app.ipa"
    path.write_bytes(data)
    app = AppFile(path)
    await app.open()
    try:
        assert app.size == len(data)
        buffer = bytearray(1000)
        pieces = []
        while size := await app.readinto(memoryview(buffer)):
            pieces.append(bytes(buffer[:size]))
        assert await app.readinto(memoryview(buffer)) == 0
    finally:
        await app.close()
    assert [len(p) for p in pieces] == [1000, 1000, 1000, 7]
    assert b"".join(pieces) == data


async def test_a_client_that_vanishes_inside_a_large_write_leaves_afcd_serving(
    start_cart: StartCart, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Half a 1 MiB WRITE, then the socket closes: nothing is stored, the next client is served."""
    cart, handle = await paired_ipad(start_cart, tmp_path)
    driver = ios_driver(cart, tmp_path / "pair")
    await driver.pair(handle)
    async with driver._lockdown(handle, "test upload") as client:
        async with QuietAfc(client) as afc:
            file = await afc.fopen("/half.bin", "w")
            entire = ios_upload.WRITE_HEAD + UPLOAD_CHUNK
            header = struct.pack("<8sQQQQQ", b"CFA6LPAA", entire, 48, afc.packet_num, 0x10, file)
            writer = afc.service.writer
            writer.write(header + bytes(UPLOAD_CHUNK // 2))
            await writer.drain()
            await asyncio.sleep(0.05)  # not needed for the outcome: lets afcd read the half
            transport = writer.transport
            assert isinstance(transport, asyncio.WriteTransport)
            transport.abort()
        async with QuietAfc(client) as afc:
            assert (await afc.stat("/half.bin"))["st_size"] == 0
            await afc.set_file_contents("/whole.bin", b"x" * 100_000)
            assert await afc.get_file_contents("/whole.bin") == b"x" * 100_000
    assert "AFC client vanished inside a packet" in caplog.text
