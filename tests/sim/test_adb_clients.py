"""Real, unmodified adb clients (adbutils and Google's adb binary) against the emulated server."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import shutil
import warnings
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import adbutils
import pytest
from adbutils.errors import AdbError, AdbInstallError

from station.sim.android.adb_server import UNAUTHORIZED, AdbServer
from station.sim.android.device import ANDROID_MODELS, VirtualAndroid
from station.sim.artifacts.android import SigningIdentity, make_apk
from station.sim.bandwidth import HubLink
from station.sim.clock import SimClock

ADB = shutil.which("adb")
TIMEOUT = 30


@dataclass
class Cart:
    server: AdbServer
    clock: SimClock
    link: HubLink
    root: Path
    saved: list[str] = field(default_factory=list)

    def plug(self, serial: str, devpath: str, model: str = "SM-X200", **kw: object) -> int:
        tablet = VirtualAndroid(serial=serial, model=ANDROID_MODELS[model], **kw)  # type: ignore[arg-type]
        return self.server.attach(
            tablet,
            devpath=devpath,
            link=self.link,
            data_dir=self.root / devpath,
            save=lambda t: self.saved.append(t.serial),
        )

    def client(self) -> adbutils.AdbClient:
        return adbutils.AdbClient(host="127.0.0.1", port=self.server.port, socket_timeout=TIMEOUT)


@pytest.fixture
async def cart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Cart]:
    # If adbutils ever found no server it would run "adb start-server": make that harmless.
    monkeypatch.setenv("ADBUTILS_ADB_PATH", "/bin/false")
    clock = SimClock(time_scale=0.002)
    server = AdbServer(clock=clock)
    await server.start()
    try:
        yield Cart(server, clock, HubLink(clock), tmp_path)
    finally:
        await server.stop()


async def run(fn: Callable[..., object], *args: object, **kw: object) -> object:
    return await asyncio.wait_for(asyncio.to_thread(fn, *args, **kw), TIMEOUT)


async def adb_error(fn: Callable[..., object], *args: object) -> str:
    """The AdbError text ``fn`` raises.

    adbutils leaves its socket open when the server answers FAIL to a transport request
    (open_transport does not close on check_okay errors); collect it here so the
    ResourceWarning is adbutils' and does not fail an unrelated test later.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            await run(fn, *args)
        except AdbError as exc:
            text = str(exc)
        else:
            raise AssertionError("no AdbError")
        gc.collect()
    return text


# --- adbutils ------------------------------------------------------------------------


async def test_list_extended_shows_usb_path_model_and_transport_id(cart: Cart) -> None:
    tid = cart.plug("R52T30ABCDE", "1-2.3")
    cart.plug("HA1Q2W3E", "1-2.4", model="TB-X606F", state="unauthorized")
    c = cart.client()
    assert await run(c.server_version) == 41
    infos = await run(c.list, extended=True)
    by_serial = {i.serial: i for i in infos}  # type: ignore[attr-defined]
    dev = by_serial["R52T30ABCDE"]
    assert dev.state == "device"
    assert dev.tags == {
        "usb": "1-2.3",
        "product": "gta8wifieea",
        "model": "SM_X200",
        "device": "gta8wifi",
        "transport_id": str(tid),
    }
    unauth = by_serial["HA1Q2W3E"]
    assert unauth.state == "unauthorized"
    assert "model" not in unauth.tags  # the banner is only known after authorisation
    assert [d.serial for d in await run(c.device_list)] == ["R52T30ABCDE"]  # type: ignore[attr-defined]


async def test_track_devices_reports_plug_authorisation_and_unplug(cart: Cart) -> None:
    c = cart.client()
    events = c.track_devices()
    loop = asyncio.get_running_loop()

    async def next_event() -> adbutils.DeviceEvent:
        return await asyncio.wait_for(loop.run_in_executor(None, next, events), TIMEOUT)

    cart.plug("SER1", "1-1", state="unauthorized")
    first = await next_event()
    assert (first.present, first.serial, first.status) == (True, "SER1", "unauthorized")
    cart.server.set_state("1-1", "device")
    changes = {(e.present, e.status) for e in [await next_event(), await next_event()]}
    assert changes == {(False, "absent"), (True, "device")}
    cart.server.detach("1-1")
    seen = [await next_event() for _ in range(3)]
    # "offline" is reported just before the tablet disappears, as with a pulled cable.
    assert [(e.present, e.status) for e in seen] == [
        (False, "absent"),
        (True, "offline"),
        (False, "absent"),
    ]
    await cart.server.stop()  # ends the tracking connection, so the generator can finish
    with pytest.raises(AdbError):
        await next_event()
    events.close()


async def test_shell2_exit_codes_v1_and_v2(cart: Cart) -> None:
    cart.plug("S1", "1-1")
    d = cart.client().device("S1")
    r = await run(d.shell2, "getprop ro.product.model")
    assert (r.returncode, r.output) == (0, "SM-X200\n")  # type: ignore[attr-defined]
    r = await run(d.shell2, "nosuchcmd")
    assert r.returncode == 127  # type: ignore[attr-defined]
    assert "/system/bin/sh: nosuchcmd: inaccessible or not found" in r.output  # type: ignore[attr-defined]
    r = await run(d.shell2, "ls /nonexistent", v2=True)
    assert r.returncode == 1  # type: ignore[attr-defined]
    assert r.stdout == ""  # type: ignore[attr-defined]
    assert r.stderr == "ls: /nonexistent: No such file or directory\n"  # type: ignore[attr-defined]
    r = await run(d.shell2, "settings get global nope && exit 3", v2=True)
    assert (r.returncode, r.stdout) == (3, "null\n")  # type: ignore[attr-defined]
    assert await run(d.getprop, "ro.build.version.sdk") == "34"
    assert await run(d.get_state) == "device"
    assert await run(d.get_devpath) == "usb:1-1"
    assert "shell_v2" in await run(d.get_features)  # type: ignore[operator]


async def test_push_stores_real_file_through_the_hub(cart: Cart, tmp_path: Path) -> None:
    cart.plug("S1", "1-1")
    payload = os.urandom(300_000)
    d = cart.client().device("S1")
    await run(d.sync.push, payload, "/sdcard/Download/HeadwindProvisioning.json")
    assert (tmp_path / "1-1/fs/sdcard/Download/HeadwindProvisioning.json").read_bytes() == payload
    assert cart.link.bytes_total == len(payload)
    info = await run(d.sync.stat, "/sdcard/Download/HeadwindProvisioning.json")
    assert info.size == len(payload)  # type: ignore[attr-defined]
    assert await run(d.sync.read_bytes, "/sdcard/Download/HeadwindProvisioning.json") == payload
    names = [f.path for f in await run(d.sync.list, "/sdcard/Download")]  # type: ignore[attr-defined]
    assert "HeadwindProvisioning.json" in names
    tablet = cart.server.tablets()["1-1"]
    assert "/sdcard/Download/HeadwindProvisioning.json" in tablet.files
    with pytest.raises(AdbError):
        await run(d.sync.push, b"x", "/system/evil")  # read-only: adbd answers FAIL


async def test_install_push_then_pm_install_then_dpm(
    cart: Cart, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="station.sim.android")
    cart.plug("S1", "1-1")
    signer = SigningIdentity.new()
    apk = make_apk(
        tmp_path / "dpc.apk",
        "com.hmdm.launcher",
        3,
        "5.1",
        "Headwind",
        receiver=".AdminReceiver",
        signer=signer,
    )
    d = cart.client().device("S1")
    await run(d.install, str(apk), silent=True)
    services = [r.getMessage() for r in caplog.records if "device service" in r.getMessage()]
    # adbutils' path: sync push, stat, "pm install -r -t" over shell v1, then rm.
    assert [m.split("'")[1] for m in services] == [
        "sync:",
        "sync:",
        "sync:",
        "shell:pm install -r -t /data/local/tmp/unknown.apk",
        "shell:rm /data/local/tmp/unknown.apk",
    ]
    tablet = cart.server.tablets()["1-1"]
    assert tablet.packages["com.hmdm.launcher"].version_code == 3
    assert not (tmp_path / "1-1/fs/data/local/tmp/unknown.apk").exists()  # adbutils rm'd it
    assert "package:com.hmdm.launcher" in await run(d.shell, "pm list packages -3")  # type: ignore[operator]
    r = await run(d.shell2, "dpm set-device-owner com.hmdm.launcher/.AdminReceiver")
    assert r.returncode == 0  # type: ignore[attr-defined]
    assert r.output == (  # type: ignore[attr-defined]
        "Success: Device owner set to package "
        "ComponentInfo{com.hmdm.launcher/com.hmdm.launcher.AdminReceiver}\n"
        "Active admin set to component "
        "{com.hmdm.launcher/com.hmdm.launcher.AdminReceiver}\n"
    )
    assert tablet.device_owner == "com.hmdm.launcher/com.hmdm.launcher.AdminReceiver"
    policy = await run(d.shell, "dumpsys device_policy")
    assert "Device Owner:" in policy  # type: ignore[operator]
    # A downgrade is refused with the real reason; adbutils then uninstalls and retries,
    # which the device owner blocks.
    old = make_apk(tmp_path / "old.apk", "com.hmdm.launcher", 2, "5.0", "Headwind", signer=signer)
    with pytest.raises(AdbInstallError):
        await run(d.install, str(old), silent=True)
    r = await run(d.shell2, "pm install /data/local/tmp/unknown.apk")
    assert r.output.startswith("Failure [INSTALL_FAILED_VERSION_DOWNGRADE")  # type: ignore[attr-defined]


async def test_dpm_refuses_when_accounts_exist(cart: Cart, tmp_path: Path) -> None:
    cart.plug("S1", "1-1", accounts=["com.google:lehrer@example.org"])
    apk = make_apk(tmp_path / "dpc.apk", "org.example.dpc", 1, "1", "DPC", receiver=".R")
    d = cart.client().device("S1")
    await run(d.install, str(apk), silent=True)
    r = await run(d.shell2, "dpm set-device-owner org.example.dpc/.R", v2=True)
    assert r.returncode == 255  # type: ignore[attr-defined]
    assert r.stderr.startswith(  # type: ignore[attr-defined]
        "Exception occurred while executing 'set-device-owner':\n"
        "java.lang.IllegalStateException: Not allowed to set the device owner because "
        "there are already some accounts on the device\n"
    )
    assert cart.server.tablets()["1-1"].device_owner is None


async def test_reboot_then_wait_for_device(cart: Cart) -> None:
    first = cart.plug("S1", "1-1")
    c = cart.client()
    d = c.device("S1")
    await run(d.reboot)
    assert await adb_error(d.shell, "true") in ("device offline", "device 'S1' not found")
    await run(c.wait_for, "S1", state="device", timeout=TIMEOUT)
    infos = await run(c.list, extended=True)
    assert int(infos[0].tags["transport_id"]) != first  # type: ignore[index]
    assert cart.server.tablets()["1-1"].boot_count == 2
    # adbd is back before the boot finishes; sys.boot_completed follows at the end.
    await cart.clock.sleep(ANDROID_MODELS["SM-X200"].boot_seconds)
    assert await run(d.getprop, "sys.boot_completed") == "1"


async def test_two_tablets_with_one_serial(cart: Cart) -> None:
    t1 = cart.plug("0123456789ABCDEF", "1-1")
    t2 = cart.plug("0123456789ABCDEF", "1-2", model="TB-X606F")
    c = cart.client()
    text = await adb_error(c.device("0123456789ABCDEF").shell, "true")
    assert text == "more than one device with serial 0123456789ABCDEF"
    d1, d2 = c.device(transport_id=t1), c.device(transport_id=t2)
    assert await run(d1.getprop, "ro.product.model") == "SM-X200"
    assert await run(d2.getprop, "ro.product.model") == "TB-X606F"
    assert await run(c.device("usb:1-2").getprop, "ro.product.model") == "TB-X606F"


async def test_unauthorized_tablet_gives_the_real_error(cart: Cart) -> None:
    cart.plug("S1", "1-1", state="unauthorized")
    assert await adb_error(cart.client().device("S1").shell, "true") == UNAUTHORIZED


# --- Google's adb binary ------------------------------------------------------------

needs_adb = pytest.mark.skipif(ADB is None, reason="Debian adb is not installed")


async def adb(cart: Cart, *args: str, stdin: bytes = b"") -> tuple[int, str, str]:
    assert ADB is not None
    env = dict(os.environ, ANDROID_ADB_SERVER_PORT=str(cart.server.port), HOME=str(cart.root))
    proc = await asyncio.create_subprocess_exec(
        ADB,
        "-P",
        str(cart.server.port),
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin), TIMEOUT)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@needs_adb
async def test_google_adb_devices_shell_push_install(cart: Cart, tmp_path: Path) -> None:
    cart.plug("R52T30ABCDE", "1-2.3")
    rc, out, err = await adb(cart, "devices", "-l")
    assert rc == 0, err
    assert out.splitlines() == [
        "List of devices attached",
        "R52T30ABCDE            device usb:1-2.3 product:gta8wifieea model:SM_X200 "
        "device:gta8wifi transport_id:1",
        "",
    ]
    rc, out, _ = await adb(cart, "-s", "R52T30ABCDE", "shell", "getprop", "ro.product.model")
    assert (rc, out) == (0, "SM-X200\n")
    rc, out, _ = await adb(cart, "shell", "exit 3")
    assert rc == 3
    src = tmp_path / "wifi.json"
    src.write_bytes(b'{"ssid": "school"}' * 5000)
    rc, out, err = await adb(cart, "push", str(src), "/sdcard/Download/")
    assert rc == 0, err
    assert (tmp_path / "1-2.3/fs/sdcard/Download/wifi.json").read_bytes() == src.read_bytes()
    apk = make_apk(tmp_path / "app.apk", "org.example.app", 7, "1.7", "App", padding_bytes=200_000)
    rc, out, err = await adb(cart, "install", str(apk))
    assert rc == 0, out + err
    assert "Success" in out
    assert cart.server.tablets()["1-2.3"].packages["org.example.app"].version_code == 7
    rc, out, err = await adb(cart, "-s", "R52T30ABCDE", "shell", "nosuch")
    assert rc == 127
    assert "inaccessible or not found" in err
    # The real client did not kill or replace our server.
    rc, out, _ = await adb(cart, "version")
    assert rc == 0
    assert await run(cart.client().server_version) == 41


@needs_adb
async def test_google_adb_errors_reboot_and_downgrade(cart: Cart, tmp_path: Path) -> None:
    cart.plug("0123456789ABCDEF", "1-1")
    cart.plug("0123456789ABCDEF", "1-2", state="unauthorized")
    rc, out, err = await adb(cart, "-s", "0123456789ABCDEF", "shell", "true")
    assert rc == 1
    assert "more than one device with serial 0123456789ABCDEF" in err
    rc, out, err = await adb(cart, "-s", "usb:1-2", "get-state")
    assert rc == 1
    assert "device unauthorized." in err
    signer = SigningIdentity.new()
    new = make_apk(tmp_path / "new.apk", "org.example.app", 2, "2", "App", signer=signer)
    old = make_apk(tmp_path / "old.apk", "org.example.app", 1, "1", "App", signer=signer)
    assert (await adb(cart, "-s", "usb:1-1", "install", str(new)))[0] == 0
    rc, out, err = await adb(cart, "-s", "usb:1-1", "install", str(old))
    assert rc == 1
    assert "Failure [INSTALL_FAILED_VERSION_DOWNGRADE" in out + err
    rc, out, err = await adb(cart, "-s", "usb:1-1", "reboot")
    assert rc == 0, err
    rc, out, err = await adb(cart, "-s", "usb:1-1", "wait-for-usb-device")
    assert rc == 0, err
    assert cart.server.tablets()["1-1"].boot_count == 2


async def test_parallel_installs_share_one_hub(cart: Cart, tmp_path: Path) -> None:
    serials = [f"CART{i:02d}" for i in range(6)]
    for i, serial in enumerate(serials):
        cart.plug(serial, f"1-3.{i + 1}")
    apk = make_apk(tmp_path / "app.apk", "org.example.app", 1, "1", "App", padding_bytes=400_000)
    c = cart.client()
    # One AdbDevice per worker thread, as adbutils takes no locks.
    await asyncio.gather(*(run(c.device(s).install, str(apk), silent=True) for s in serials))
    assert all("org.example.app" in t.packages for t in cart.server.tablets().values())
    assert cart.link.bytes_total == 6 * apk.stat().st_size


async def test_adb_enabled_0_stops_adbd_after_answering(cart: Cart) -> None:
    told: list[bool] = []
    tablet = VirtualAndroid(serial="S1", model=ANDROID_MODELS["SM-X200"])
    cart.server.attach(
        tablet,
        devpath="1-1",
        link=cart.link,
        data_dir=cart.root / "1-1",
        save=lambda t: cart.saved.append(t.serial),
        on_usb_debugging=told.append,
    )
    cart.plug("S2", "1-2")
    c = cart.client()
    events = c.track_devices()
    loop = asyncio.get_running_loop()

    async def next_event() -> adbutils.DeviceEvent:
        return await asyncio.wait_for(loop.run_in_executor(None, next, events), TIMEOUT)

    assert {(e.serial, e.status) for e in [await next_event(), await next_event()]} == {
        ("S1", "device"),
        ("S2", "device"),
    }
    d = c.device("S1")
    # Values AdbService does not take as "off" leave adbd running.
    for value in ("1", "7"):
        r = await run(d.shell2, f"settings put global adb_enabled {value}", v2=True)
        assert r.returncode == 0  # type: ignore[attr-defined]
    assert told == []
    assert await run(d.get_state) == "device"

    r = await run(d.shell2, "settings put global adb_enabled 0", v2=True)
    assert (r.returncode, r.stdout) == (0, "")  # type: ignore[attr-defined]
    seen = [await next_event() for _ in range(3)]
    assert [(e.serial, e.present, e.status) for e in seen] == [
        ("S1", False, "absent"),
        ("S1", True, "offline"),
        ("S1", False, "absent"),
    ]
    assert told == [False]
    assert tablet.usb_debugging is False
    assert tablet.settings["global"]["adb_enabled"] == "0"
    assert "S1" in cart.saved
    assert "not found" in await adb_error(d.get_state)
    assert [i.serial for i in await run(c.list)] == ["S2"]  # type: ignore[attr-defined]
    assert set(cart.server.tablets()) == {"1-1", "1-2"}  # still on its USB port

    # Deleting the setting reads back as 0 too (getInt's default); a v1 shell gets its
    # output before the connection ends.
    d2 = c.device("S2")
    assert await run(d2.shell, "settings delete global adb_enabled") == "Deleted 1 rows"
    seen = [await next_event() for _ in range(3)]
    assert {e.serial for e in seen} == {"S2"}
    assert seen[-1].status == "absent"
    assert await run(c.list) == []
    await cart.server.stop()  # ends the tracking connection
    with pytest.raises(AdbError):
        await next_event()
    events.close()


@needs_adb
async def test_google_adb_switches_usb_debugging_off(cart: Cart) -> None:
    cart.plug("R52T30ABCDE", "1-2.3")
    rc, out, err = await adb(
        cart, "-s", "R52T30ABCDE", "shell", "settings put global adb_enabled 0"
    )
    assert (rc, out) == (0, ""), err
    rc, out, err = await adb(cart, "devices")
    assert (rc, out.strip()) == (0, "List of devices attached"), err
    rc, out, err = await adb(cart, "-s", "R52T30ABCDE", "get-state")
    assert rc == 1
    assert "device 'R52T30ABCDE' not found" in err
    assert cart.server.tablets()["1-2.3"].usb_debugging is False
