"""The Android driver against the virtual cart's adb server, through adbutils."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from station.drivers.android import AdbAndroidDriver, AndroidSettings
from station.drivers.base import AndroidDriver, DeviceEvent, EventKind, Platform, Presence, Progress
from station.errors import (
    DeviceError,
    DeviceGone,
    DeviceProtocolError,
    DeviceRefused,
    UserActionRequired,
)
from station.sim.android.device import VirtualAndroid
from station.sim.artifacts.android import make_apk
from station.sim.cart import VirtualCart
from station.sim.scenario import SlotOverride
from tests.drivers.conftest import StartCart

pytestmark = pytest.mark.timeout(60)

SHARED_SERIAL = "0123456789ABCDEF"


def adb_driver(cart: VirtualCart) -> AdbAndroidDriver:
    assert cart.adb is not None
    return AdbAndroidDriver(
        AndroidSettings(host="127.0.0.1", port=cart.adb.port, socket_timeout=30, poll_interval=0.02)
    )


def handle(cart: VirtualCart, slot: int) -> str:
    return f"usb:{cart.slots[slot].port.path}"


def tablet(cart: VirtualCart, slot: int) -> VirtualAndroid:
    t = cart.slots[slot].android
    assert t is not None
    return t


async def next_event(
    events: AsyncIterator[DeviceEvent], kind: EventKind | None = None
) -> DeviceEvent:
    async with asyncio.timeout(20):
        async for event in events:
            if kind is None or event.kind is kind:
                return event
    raise AssertionError("watch ended")


async def test_track_tells_same_serials_apart_and_follows_authorization(
    start_cart: StartCart,
) -> None:
    cart = await start_cart(
        ipads=0,
        androids=3,
        slots={
            1: SlotOverride(serial=SHARED_SERIAL),
            2: SlotOverride(adb_state="unauthorized"),
            3: SlotOverride(serial=SHARED_SERIAL),
        },
    )
    driver = adb_driver(cart)
    assert isinstance(driver, AndroidDriver)
    async with contextlib.aclosing(driver.watch()) as events:
        seen = {}
        for _ in range(3):
            event = await next_event(events)
            assert event.kind is EventKind.ATTACHED
            assert event.platform is Platform.ANDROID
            seen[event.handle] = event
        assert set(seen) == {handle(cart, n) for n in (1, 2, 3)}
        assert seen[handle(cart, 1)].serial == seen[handle(cart, 3)].serial == SHARED_SERIAL
        assert seen[handle(cart, 1)].usb_path == cart.slots[1].port.path
        waiting = seen[handle(cart, 2)]
        assert waiting.presence is Presence.UNAUTHORIZED
        assert "Allow" in waiting.hint

        await cart.allow_usb_debugging(2)
        changed = await next_event(events, EventKind.CHANGED)
        assert (changed.handle, changed.presence) == (handle(cart, 2), Presence.READY)

        await cart.unplug(3)
        gone = await next_event(events, EventKind.DETACHED)
        assert gone.handle == handle(cart, 3)
    listed = {e.handle: e for e in await driver.devices()}
    assert set(listed) == {handle(cart, 1), handle(cart, 2)}


async def test_identity_and_per_port_operations_with_shared_serials(
    start_cart: StartCart,
) -> None:
    cart = await start_cart(
        ipads=0,
        androids=2,
        slots={1: SlotOverride(serial=SHARED_SERIAL), 2: SlotOverride(serial=SHARED_SERIAL)},
    )
    driver = adb_driver(cart)
    first, second = handle(cart, 1), handle(cart, 2)
    info = await driver.info(first)
    t = tablet(cart, 1)
    assert info.serial == SHARED_SERIAL
    assert info.model == t.model.model
    assert info.model_name == t.model.manufacturer
    assert info.os_version == t.model.release
    assert info.usb_path == cart.slots[1].port.path

    await driver.rename(first, "NORD-A001")
    assert await driver.device_name(first) == "NORD-A001"
    assert await driver.device_name(second) == tablet(cart, 2).model.model
    assert tablet(cart, 1).settings["global"]["device_name"] == "NORD-A001"
    assert "device_name" not in tablet(cart, 2).settings["global"]

    await driver.put_setting(second, "secure", "user_setup_complete", "1")
    assert await driver.get_setting(second, "secure", "user_setup_complete") == "1"
    assert await driver.get_setting(first, "secure", "user_setup_complete") is None
    await driver.put_setting(first, "system", "screen_off_timeout", "600000 ; reboot")
    assert await driver.get_setting(first, "system", "screen_off_timeout") == "600000 ; reboot"


async def test_install_with_progress_and_read_back(start_cart: StartCart, tmp_path: Path) -> None:
    cart = await start_cart(ipads=0, androids=1)
    driver = adb_driver(cart)
    h = handle(cart, 1)
    apk = make_apk(
        tmp_path / "reader.apk", "org.school.reader", 42, "4.2.0", "Reader", padding_bytes=300_000
    )
    seen: list[Progress] = []
    await driver.install_app(h, apk, seen.append)
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions)
    assert fractions[0] < 0.8
    assert 0.8 in fractions
    assert fractions[-1] == 1.0
    assert len(fractions) > 5  # the push reports as it goes
    apps = await driver.installed_apps(h)
    assert apps["org.school.reader"].version == "42"
    assert apps["org.school.reader"].display_version == "4.2.0"
    assert "com.android.settings" not in apps
    # The staged APK is gone again.
    assert not [p for p in tablet(cart, 1).files if p.endswith(".apk")]

    bad = tmp_path / "bad.apk"
    bad.write_bytes(b"this is not a zip")
    with pytest.raises(DeviceRefused) as refused:
        await driver.install_app(h, bad)
    assert "INSTALL_PARSE_FAILED_NOT_APK" in refused.value.message
    assert refused.value.device == h


async def test_device_owner_and_the_accounts_refusal(start_cart: StartCart, tmp_path: Path) -> None:
    cart = await start_cart(
        ipads=0, androids=2, slots={2: SlotOverride(accounts=("com.google:lehrer@example.org",))}
    )
    driver = adb_driver(cart)
    dpc = make_apk(
        tmp_path / "dpc.apk", "com.hmdm.launcher", 100, "5.0", "MDM", receiver=".AdminReceiver"
    )
    component = "com.hmdm.launcher/.AdminReceiver"
    for slot in (1, 2):
        await driver.install_app(handle(cart, slot), dpc)

    assert await driver.device_owner(handle(cart, 1)) is None
    await driver.set_device_owner(handle(cart, 1), component)
    assert await driver.device_owner(handle(cart, 1)) == (
        "com.hmdm.launcher/com.hmdm.launcher.AdminReceiver"
    )
    await driver.set_device_owner(handle(cart, 1), component)  # already: nothing to do
    assert tablet(cart, 1).device_owner == "com.hmdm.launcher/com.hmdm.launcher.AdminReceiver"

    with pytest.raises(DeviceRefused) as refused:
        await driver.set_device_owner(handle(cart, 2), component)
    assert (
        "Not allowed to set the device owner because there are already some accounts "
        "on the device" in refused.value.message
    )
    assert "account" in refused.value.hint.lower()
    assert tablet(cart, 2).device_owner is None


async def test_push_file_with_progress(start_cart: StartCart, tmp_path: Path) -> None:
    cart = await start_cart(ipads=0, androids=1)
    driver = adb_driver(cart)
    h = handle(cart, 1)
    src = tmp_path / "HeadwindProvisioning.json"
    src.write_bytes(b'{"baseUrl": "https://mdm.example.org"}' + b" " * 200_000)
    dest = "/sdcard/Download/HeadwindProvisioning.json"
    assert await driver.file_size(h, dest) is None
    seen: list[Progress] = []
    await driver.push_file(h, src, dest, seen.append)
    assert await driver.file_size(h, dest) == src.stat().st_size
    assert seen[-1].fraction == 1.0
    assert [p.fraction for p in seen] == sorted(p.fraction for p in seen)


async def test_reboot_waits_until_booted(start_cart: StartCart) -> None:
    cart = await start_cart(ipads=0, androids=1)
    driver = adb_driver(cart)
    h = handle(cart, 1)
    boots = tablet(cart, 1).boot_count
    async with asyncio.timeout(30):
        await driver.reboot(h)
    assert tablet(cart, 1).boot_count == boots + 1
    assert (await driver.info(h)).serial == tablet(cart, 1).serial
    await driver.wait_ready(h)


async def test_disable_usb_debugging(start_cart: StartCart) -> None:
    cart = await start_cart(ipads=0, androids=1)
    driver = adb_driver(cart)
    await driver.disable_usb_debugging(handle(cart, 1))
    assert tablet(cart, 1).settings["global"]["adb_enabled"] == "0"


async def test_unauthorized_tablet_needs_a_person(start_cart: StartCart) -> None:
    cart = await start_cart(ipads=0, androids=1, slots={1: SlotOverride(adb_state="unauthorized")})
    driver = adb_driver(cart)
    with pytest.raises(UserActionRequired) as waiting:
        await driver.info(handle(cart, 1))
    assert waiting.value.hint == Presence.UNAUTHORIZED.hint


async def test_garbage_from_the_server_is_a_protocol_error() -> None:
    async def babble(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)
        writer.write(b"WHAT0000")
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(babble, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        driver = AdbAndroidDriver(AndroidSettings(host="127.0.0.1", port=port, socket_timeout=5))
        with pytest.raises(DeviceProtocolError):
            await driver.devices()
    finally:
        server.close()
        await server.wait_closed()


# adbutils' AdbConnection._create_socket does not close its socket when connect() fails, so
# the garbage collector reports it; the leak is the library's, one socket per failed call.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_no_adb_server_says_so(quiet_env: None) -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    driver = AdbAndroidDriver(AndroidSettings(host="127.0.0.1", port=port, socket_timeout=5))
    with pytest.raises(DeviceError) as missing:
        await driver.devices()
    assert "adb" in missing.value.hint


@pytest.mark.device
async def test_real_adb_server_lists_tablets() -> None:
    """On a station with adb and a tablet with USB debugging allowed: identity by port."""
    driver = AdbAndroidDriver()
    ready = [e for e in await driver.devices() if e.presence is Presence.READY]
    if not ready:
        pytest.skip("no authorized Android tablet attached")
    info = await driver.info(ready[0].handle)
    assert info.model
    assert info.os_version


async def test_unplug_mid_install_is_device_gone(start_cart: StartCart, tmp_path: Path) -> None:
    cart = await start_cart(ipads=0, androids=1, time_scale=1.0, slots={1: SlotOverride(slow=20)})
    driver = adb_driver(cart)
    apk = make_apk(tmp_path / "big.apk", "org.school.big", 1, "1", "Big", padding_bytes=2_000_000)
    install = asyncio.ensure_future(driver.install_app(handle(cart, 1), apk))
    await cart.wait_milestone(1, "transfer")
    await cart.unplug(1)
    with pytest.raises(DeviceGone) as gone:
        await install
    assert gone.value.device == handle(cart, 1)
    assert "org.school.big" not in tablet(cart, 1).packages


async def test_watch_ends_with_an_error_when_the_adb_server_dies(start_cart: StartCart) -> None:
    cart = await start_cart(ipads=0, androids=1)
    driver = adb_driver(cart)
    assert cart.adb is not None
    async with contextlib.aclosing(driver.watch()) as events:
        await next_event(events, EventKind.ATTACHED)
        await cart.adb.stop()
        with pytest.raises(DeviceError) as ended:
            await next_event(events)
    assert "adb" in ended.value.hint


async def test_quiet_watch_outlives_the_socket_timeout(start_cart: StartCart) -> None:
    cart = await start_cart(ipads=0, androids=1)
    assert cart.adb is not None
    driver = AdbAndroidDriver(
        AndroidSettings(host="127.0.0.1", port=cart.adb.port, socket_timeout=0.05)
    )
    async with contextlib.aclosing(driver.watch()) as events:
        await next_event(events, EventKind.ATTACHED)
        await asyncio.sleep(0.3)  # several socket timeouts with nothing to report
        await cart.unplug(1)
        gone = await next_event(events, EventKind.DETACHED)
    assert gone.handle == handle(cart, 1)


async def test_adb_server_address_comes_from_the_environment(
    start_cart: StartCart, monkeypatch: pytest.MonkeyPatch
) -> None:
    cart = await start_cart(ipads=0, androids=1)
    assert cart.adb is not None
    monkeypatch.setenv("ANDROID_ADB_SERVER_HOST", "127.0.0.1")
    monkeypatch.setenv("ANDROID_ADB_SERVER_PORT", str(cart.adb.port))
    driver = AdbAndroidDriver()
    assert [e.handle for e in await driver.devices()] == [handle(cart, 1)]


async def test_full_storage_keeps_the_devices_reason(start_cart: StartCart, tmp_path: Path) -> None:
    """The package manager's and adbd's sync FAIL text survive (adbutils reports only "FAIL")."""
    cart = await start_cart(ipads=0, androids=1, slots={1: SlotOverride(free_bytes=100_000)})
    driver = adb_driver(cart)
    h = handle(cart, 1)
    apk = make_apk(tmp_path / "big.apk", "org.school.big", 1, "1", "Big", padding_bytes=400_000)
    with pytest.raises(DeviceRefused) as refused:
        await driver.install_app(h, apk)
    assert refused.value.message.startswith("install big.apk: not enough storage")
    assert "INSTALL_FAILED_INSUFFICIENT_STORAGE" in refused.value.message  # pm's own words
    assert refused.value.hint == "Free space on the tablet or factory-reset it"
    assert refused.value.device == h
    assert "org.school.big" not in tablet(cart, 1).packages
    assert not [p for p in tablet(cart, 1).files if p.endswith(".apk")]
    with pytest.raises(DeviceRefused) as pushed:
        await driver.push_file(h, apk, "/sdcard/Download/big.apk")
    assert pushed.value.message.startswith("push big.apk: not enough storage")
    assert "No space left on device" in pushed.value.message  # adbd's own words
    # The tablet still answers afterwards, and a file that fits still goes through.
    small = tmp_path / "small.txt"
    small.write_bytes(b"x" * 1000)
    await driver.push_file(h, small, "/sdcard/Download/small.txt")
    assert await driver.file_size(h, "/sdcard/Download/small.txt") == 1000


async def test_sync_refusal_other_than_storage_keeps_its_text(
    start_cart: StartCart, tmp_path: Path
) -> None:
    cart = await start_cart(ipads=0, androids=1)
    driver = adb_driver(cart)
    small = tmp_path / "small.txt"
    small.write_bytes(b"hello")
    with pytest.raises(DeviceRefused) as refused:
        await driver.push_file(handle(cart, 1), small, "/system/bin/small.txt")
    assert refused.value.message.startswith("push small.txt: ")
    assert refused.value.message.removeprefix("push small.txt: ") != "FAIL"
    assert "Read-only file system" in refused.value.message or "Permission" in refused.value.message


async def test_the_driver_works_while_asyncio_s_default_threads_are_all_busy(
    start_cart: StartCart,
) -> None:
    # Found by the makespan benchmark: streamed installs hold a thread each until the package
    # manager answers; on asyncio's shared default pool (cores + 4) they starved everything
    # else. The driver's calls run on its own threads.
    cart = await start_cart(ipads=0, androids=2)
    driver = adb_driver(cart)
    loop = asyncio.get_running_loop()
    busy = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="busy")
    loop.set_default_executor(busy)
    release = threading.Event()
    blocker = loop.run_in_executor(None, release.wait)
    try:
        async with asyncio.timeout(30):
            infos = [await driver.info(handle(cart, slot)) for slot in (1, 2)]
            await driver.put_setting(handle(cart, 1), "global", "device_name", "Tablet 1")
        assert [i.serial for i in infos] == [tablet(cart, 1).serial, tablet(cart, 2).serial]
        assert not blocker.done()  # the default pool's only thread was taken all along
    finally:
        release.set()
        await blocker
        await driver.close()


async def test_closing_the_driver_ends_calls_still_in_flight(start_cart: StartCart) -> None:
    # A station stopped mid-run: a call blocked in a socket read (a long install) must not
    # keep its thread, or the interpreter waits for it at exit.
    cart = await start_cart(ipads=0, androids=1)
    driver = adb_driver(cart)
    h = handle(cart, 1)
    # An hour on the tablet's clock, far beyond this test's timeout at the cart's time scale.
    seconds = 3600 / cart.spec.time_scale
    call = asyncio.ensure_future(driver._shell(h, "wait", "sleep", str(seconds)))
    async with asyncio.timeout(30):
        await asyncio.sleep(0.3)  # the shell is running on the tablet by now
        assert driver._client.open
        assert not call.done()
        await driver.close()
        with pytest.raises(DeviceError):
            await call


async def test_closing_the_driver_after_its_calls_ended_is_quiet(start_cart: StartCart) -> None:
    cart = await start_cart(ipads=0, androids=1)
    driver = adb_driver(cart)
    assert (await driver.info(handle(cart, 1))).serial == tablet(cart, 1).serial
    # A call's connection that is closed but not yet garbage-collected (as under load).
    ended = await asyncio.to_thread(driver._client.make_connection)
    ended.close()
    assert ended in driver._client.open
    await driver.close()
    await driver.close()
