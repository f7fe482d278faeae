"""The emulated adb server at the wire level: framing, errors, hostile clients, the shell."""

from __future__ import annotations

import asyncio
import contextlib
import random
import struct
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from station.sim.android.adb_server import AdbServer
from station.sim.android.device import ANDROID_MODELS, AndroidModel, VirtualAndroid
from station.sim.android.shell import Output, Shell, ShellEnv, tokenize
from station.sim.android.sync import DeviceFiles
from station.sim.artifacts.android import make_apk
from station.sim.bandwidth import HubLink
from station.sim.clock import SimClock

TIMEOUT = 10


class Conn:
    """A raw client connection, speaking the host protocol by hand."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, request: str | bytes) -> None:
        data = request.encode() if isinstance(request, str) else request
        self.writer.write(b"%04x" % len(data) + data)
        await self.writer.drain()

    async def read(self, n: int) -> bytes:
        return await asyncio.wait_for(self.reader.readexactly(n), TIMEOUT)

    async def status(self) -> str:
        """OKAY, or the FAIL message."""
        head = await self.read(4)
        if head == b"OKAY":
            return "OKAY"
        assert head == b"FAIL"
        return "FAIL " + (await self.block())

    async def block(self) -> str:
        return (await self.read(int(await self.read(4), 16))).decode()

    async def rest(self) -> bytes:
        return await asyncio.wait_for(self.reader.read(), TIMEOUT)

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


class Rig:
    def __init__(self, server: AdbServer, root: Path, clock: SimClock) -> None:
        self.server, self.root, self.clock = server, root, clock
        self.link = HubLink(clock)
        self.conns: list[Conn] = []

    def plug(
        self, serial: str, devpath: str, model: AndroidModel | None = None, **kw: object
    ) -> int:
        tablet = VirtualAndroid(serial, model or ANDROID_MODELS["SM-X200"], **kw)  # type: ignore[arg-type]
        return self.server.attach(
            tablet,
            devpath=devpath,
            link=self.link,
            data_dir=self.root / devpath,
            save=lambda t: None,
        )

    async def connect(self) -> Conn:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.server.port)
        conn = Conn(reader, writer)
        self.conns.append(conn)
        return conn

    async def query(self, request: str) -> str:
        c = await self.connect()
        await c.send(request)
        status = await c.status()
        if status != "OKAY":
            return status
        return await c.block()

    async def service(self, serial: str, service: str) -> Conn:
        c = await self.connect()
        await c.send(f"host:transport:{serial}")
        assert await c.status() == "OKAY"
        await c.send(service)
        assert await c.status() == "OKAY"
        return c

    async def shell(self, serial: str, command: str) -> tuple[int, bytes, bytes]:
        c = await self.service(serial, f"shell,v2,raw:{command}")
        out, err = b"", b""
        while True:
            head = await c.read(5)
            data = await c.read(struct.unpack("<I", head[1:])[0])
            if head[0] == 1:
                out += data
            elif head[0] == 2:
                err += data
            elif head[0] == 3:
                return data[0], out, err


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    clock = SimClock(time_scale=0.001)
    server = AdbServer(clock=clock)
    await server.start()
    r = Rig(server, tmp_path, clock)
    try:
        yield r
    finally:
        for c in r.conns:
            await c.close()
        await server.stop()


async def test_version_devices_and_unknown_service(rig: Rig) -> None:
    rig.plug("SER1", "1-4.2")
    assert await rig.query("host:version") == "0029"
    assert await rig.query("host:devices") == "SER1\tdevice\n"
    assert await rig.query("host:devices-l") == (
        "SER1                   device usb:1-4.2 product:gta8wifieea model:SM_X200 "
        "device:gta8wifi transport_id:1\n"
    )
    assert await rig.query("host:frobnicate") == "FAIL unknown host service"
    assert await rig.query("host-serial:usb:1-4.2:get-serialno") == "SER1"
    assert await rig.query("host-serial:model:SM_X200:get-devpath") == "usb:1-4.2"
    assert await rig.query("host-serial:NOPE:get-state") == "FAIL device 'NOPE' not found"
    assert await rig.query("host-transport-id:9:get-state") == (
        "FAIL no device with transport id '9'"
    )
    assert await rig.query("host:features") == "shell_v2,cmd,fixed_push_mkdir"
    assert "stat_v2" in await rig.query("host:host-features")


async def test_tport_returns_the_transport_id_then_a_device_service(rig: Rig) -> None:
    tid = rig.plug("SER1", "1-1")
    c = await rig.connect()
    await c.send("host:tport:serial:SER1")
    assert await c.status() == "OKAY"
    assert struct.unpack("<Q", await c.read(8))[0] == tid
    await c.send("shell:echo hi; echo X4EXIT:$?")
    assert await c.status() == "OKAY"
    assert await c.rest() == b"hi\nX4EXIT:0\n"
    c = await rig.connect()
    await c.send("host:transport-any")
    assert await c.status() == "OKAY"
    await c.send("frob:")
    assert await c.status() == "FAIL closed"


async def test_ambiguous_offline_and_unauthorized_errors(rig: Rig) -> None:
    rig.plug("SAME", "1-1")
    rig.plug("SAME", "1-2", state="unauthorized")
    assert (
        await rig.query("host-serial:SAME:features") == "FAIL more than one device with serial SAME"
    )
    assert await rig.query("host:tport:any") == "FAIL more than one device/emulator"
    assert (await rig.query("host-serial:usb:1-2:get-state")).startswith(
        "FAIL device unauthorized.\nThis adb server's $ADB_VENDOR_KEYS is not set\n"
    )
    c = await rig.connect()
    await c.send("host-serial:SAME:wait-for-any-device")
    assert await c.status() == "OKAY"
    assert await c.status() == "FAIL more than one device with serial SAME"
    rig.server.detach("1-2")
    assert await rig.query("host-serial:SAME:get-state") == "device"


async def test_wait_for_sends_the_second_okay_when_the_state_is_reached(rig: Rig) -> None:
    rig.plug("S1", "1-1", state="unauthorized")
    c = await rig.connect()
    await c.send("host-serial:S1:wait-for-usb-device")
    assert await c.status() == "OKAY"
    second = asyncio.ensure_future(c.status())
    await asyncio.sleep(0.05)
    assert not second.done()
    rig.server.set_state("1-1", "device")
    assert await second == "OKAY"


async def test_track_devices_l_sends_full_list_then_changes(rig: Rig) -> None:
    rig.plug("S1", "1-1")
    c = await rig.connect()
    await c.send("host:track-devices-l")
    assert await c.status() == "OKAY"
    assert (await c.block()).startswith("S1                     device usb:1-1 product:")
    rig.plug("S2", "1-2", state="unauthorized")
    assert (await c.block()).endswith(
        "S2                     unauthorized usb:1-2 transport_id:2\n"
    )


async def test_hostile_framing_closes_only_that_connection(rig: Rig) -> None:
    rig.plug("S1", "1-1")
    bad = await rig.connect()
    bad.writer.write(b"zz12host:version")
    await bad.writer.drain()
    assert await bad.rest() == b""  # closed, no reply
    half = await rig.connect()
    half.writer.write(b"0020host:ver")  # promises more than it sends, then leaves
    await half.writer.drain()
    await half.close()
    device_service_first = await rig.connect()
    await device_service_first.send("shell:id")
    assert await device_service_first.status() == "FAIL unknown host service"
    assert await rig.query("host:version") == "0029"  # the server is fine


async def test_garbage_sync_ids_and_vanishing_pusher(rig: Rig, tmp_path: Path) -> None:
    rig.plug("S1", "1-1")
    c = await rig.service("S1", "sync:")
    c.writer.write(b"JUNK" + struct.pack("<I", 4) + b"abcd")
    await c.writer.drain()
    # adbd answers an unknown sync id with FAIL naming it, then hangs up.
    assert await c.rest() == b"FAIL\x18\x00\x00\x00unknown command 4b4e554a"
    c = await rig.service("S1", "sync:")
    path = b"/sdcard/big.bin,33188"
    c.writer.write(b"SEND" + struct.pack("<I", len(path)) + path)
    c.writer.write(b"DATA" + struct.pack("<I", 1000) + bytes(1000))
    c.writer.write(b"DATA" + struct.pack("<I", 5000) + bytes(10))  # then the client vanishes
    await c.writer.drain()
    await c.close()
    c = await rig.service("S1", "sync:")
    c.writer.write(b"STAT" + struct.pack("<I", 12) + b"/sdcard/big.bin")
    await c.writer.drain()
    assert await c.read(16) == b"STAT" + bytes(12)  # nothing was stored
    c.writer.write(b"DATA" + struct.pack("<I", 10**9))  # outside SEND: protocol error
    await c.writer.drain()
    assert (await c.rest()).startswith(b"FAIL")
    assert list((tmp_path / "1-1/fs/sdcard").glob(".station-*")) == []
    assert await rig.query("host:version") == "0029"


async def test_push_path_traversal_stays_inside_the_data_dir(rig: Rig, tmp_path: Path) -> None:
    rig.plug("S1", "1-1")
    c = await rig.service("S1", "sync:")
    path = b"/sdcard/../../../../../../tmp/escape.txt,33188"
    c.writer.write(b"SEND" + struct.pack("<I", len(path)) + path)
    c.writer.write(b"DATA" + struct.pack("<I", 2) + b"hi" + b"DONE" + struct.pack("<I", 0))
    await c.writer.drain()
    assert (await c.read(8))[:4] == b"FAIL"
    assert not (tmp_path.parent / "escape.txt").exists()
    c = await rig.service("S1", "sync:")
    path = b"/sdcard/a/b/../c.txt,33188"
    c.writer.write(b"SEND" + struct.pack("<I", len(path)) + path)
    c.writer.write(b"DATA" + struct.pack("<I", 2) + b"hi" + b"DONE" + struct.pack("<I", 0))
    await c.writer.drain()
    assert await c.read(8) == b"OKAY" + bytes(4)
    assert (tmp_path / "1-1/fs/sdcard/a/c.txt").read_bytes() == b"hi"


async def test_storage_full_push_and_install(rig: Rig, tmp_path: Path) -> None:
    small = AndroidModel(
        **{**ANDROID_MODELS["SM-X200"].__dict__, "storage_bytes": 6 * 10**9 + 50_000}
    )
    rig.plug("S1", "1-1", model=small)
    c = await rig.service("S1", "sync:")
    path = b"/sdcard/big.bin,33188"
    c.writer.write(b"SEND" + struct.pack("<I", len(path)) + path)
    for _ in range(2):
        c.writer.write(b"DATA" + struct.pack("<I", 40_000) + bytes(40_000))
    c.writer.write(b"DONE" + struct.pack("<I", 0))
    await c.writer.drain()
    assert await c.read(4) == b"FAIL"
    msg = await c.read(struct.unpack("<I", await c.read(4))[0])
    assert msg == b"write failed: No space left on device"
    apk = make_apk(tmp_path / "a.apk", "org.example.big", 1, "1", "Big", padding_bytes=100_000)
    data = apk.read_bytes()
    c = await rig.service("S1", f"exec:cmd package 'install' -S {len(data)}")
    c.writer.write(data)
    await c.writer.drain()
    assert await c.rest() == b"Failure [INSTALL_FAILED_INSUFFICIENT_STORAGE]\n"


async def test_streamed_install_and_vanishing_installer(rig: Rig, tmp_path: Path) -> None:
    rig.plug("S1", "1-1")
    apk = make_apk(tmp_path / "a.apk", "org.example.app", 4, "4.0", "App", padding_bytes=70_000)
    data = apk.read_bytes()
    c = await rig.service("S1", f"exec:cmd package 'install' -S {len(data)}")
    c.writer.write(data[:50_000])
    await c.writer.drain()
    await c.close()  # gone mid-install
    c = await rig.service("S1", f"exec:cmd package 'install' -r -t -S {len(data)}")
    c.writer.write(data)
    await c.writer.drain()
    assert await c.rest() == b"Success\n"
    tablet = rig.server.tablets()["1-1"]
    assert tablet.packages["org.example.app"].version_code == 4
    junk = b"PK\x03\x04 this is not a zip at all" * 10
    c = await rig.service("S1", f"exec:cmd package install -S {len(junk)}")
    c.writer.write(junk)
    await c.writer.drain()
    assert (await c.rest()).startswith(b"Failure [INSTALL_PARSE_FAILED_NOT_APK: Failed to parse ")
    _, out, _ = await rig.shell("S1", "dumpsys package org.example.app")
    assert list((tmp_path / "1-1/fs/data/local/tmp").iterdir()) == []  # staging cleaned up
    assert b"versionCode=4 " in out
    assert b"versionName=4.0\n" in out


async def test_shell_texts_and_exit_codes(rig: Rig) -> None:
    rig.plug("S1", "1-1", users=[0, 999])
    sh = rig.shell
    assert await sh("S1", "foo") == (127, b"", b"/system/bin/sh: foo: inaccessible or not found\n")
    assert await sh("S1", "false || echo 'a b' && echo \"$?\"") == (0, b"a b\n0\n", b"")
    assert await sh("S1", "settings put secure user_setup_complete 1") == (0, b"", b"")
    assert await sh("S1", "settings get secure user_setup_complete") == (0, b"1\n", b"")
    assert await sh("S1", "settings get global missing") == (0, b"null\n", b"")
    assert await sh("S1", "getprop ro.build.version.release") == (0, b"14\n", b"")
    assert await sh("S1", "setprop persist.x 5; getprop persist.x") == (0, b"5\n", b"")
    code, _, err = await sh("S1", "setprop ro.serialno X")
    assert code == 1
    assert err.startswith(b"Failed to set property 'ro.serialno' to 'X'.")
    code, _, err = await sh("S1", "rm /sdcard/nothing")
    assert (code, err) == (1, b"rm: /sdcard/nothing: No such file or directory\n")
    assert (await sh("S1", "rm -f /sdcard/nothing"))[0] == 0
    assert await sh("S1", "mkdir -p /sdcard/x/y && ls /sdcard/x") == (0, b"y\n", b"")
    assert await sh("S1", "echo hello > /sdcard/x/f; cat /sdcard/x/f") == (0, b"hello\n", b"")
    code, out, _ = await sh("S1", "pm list users")
    assert out == b"Users:\n\tUserInfo{0:Owner:c13} running\n\tUserInfo{999:User 999:410} running\n"
    code, _, err = await sh("S1", "pm grant org.nope android.permission.CAMERA")
    assert code == 255
    assert b"java.lang.IllegalArgumentException: Unknown package: org.nope" in err
    code, _, err = await sh("S1", "dpm set-device-owner org.nope/.R")
    assert b"Unknown admin: ComponentInfo{org.nope/org.nope.R}" in err
    assert await sh("S1", "pm list packages | grep android.shell") == (
        0,
        b"package:com.android.shell\n",
        b"",
    )
    assert (await sh("S1", "getprop > /sdcard/p; echo b >> /sdcard/p"))[0] == 0
    _, props, _ = await sh("S1", "cat /sdcard/p")
    assert props.startswith(b"[dev.bootcomplete]: [1]\n")
    assert props.endswith(b"\nb\n")
    assert await sh("S1", "rm -rf /sdcard/x/* /sdcard/none*; ls /sdcard/x; echo '*'") == (
        0,
        b"*\n",
        b"",
    )
    code, out, _ = await sh("S1", "id")
    assert out.startswith(b"uid=2000(shell) gid=2000(shell)")
    assert (await sh("S1", "exit 300"))[0] == 44


async def test_dpm_preconditions_in_order(rig: Rig, tmp_path: Path) -> None:
    rig.plug("S1", "1-1", users=[0, 10])
    apk = make_apk(tmp_path / "d.apk", "org.example.dpc", 1, "1", "DPC", receiver=".R")
    c = await rig.service("S1", f"exec:cmd package install -S {apk.stat().st_size}")
    c.writer.write(apk.read_bytes())
    await c.writer.drain()
    assert await c.rest() == b"Success\n"
    code, _, err = await rig.shell("S1", "dpm set-device-owner --user 0 org.example.dpc/.R")
    assert code == 255
    assert b"already several users on the device" in err
    tablet = rig.server.tablets()["1-1"]
    tablet.users = [0]
    code, out, _ = await rig.shell("S1", "dpm set-device-owner org.example.dpc/.R")
    assert code == 0
    code, _, err = await rig.shell("S1", "dpm set-device-owner org.example.dpc/.R")
    assert b"is already set" in err
    code, out, _ = await rig.shell("S1", "pm uninstall org.example.dpc")
    assert out == b"Failure [DELETE_FAILED_DEVICE_POLICY_MANAGER]\n"


async def test_older_android_prints_dpm_errors_as_a_java_trace(rig: Rig, tmp_path: Path) -> None:
    rig.plug("L1", "1-1", model=ANDROID_MODELS["TB-X606F"], accounts=["com.google:a@b.c"])
    apk = make_apk(tmp_path / "d.apk", "org.example.dpc", 1, "1", "DPC", receiver=".R")
    c = await rig.service("L1", f"exec:cmd package install -S {apk.stat().st_size}")
    c.writer.write(apk.read_bytes())
    await c.writer.drain()
    assert await c.rest() == b"Success\n"
    code, _, err = await rig.shell("L1", "dpm set-device-owner org.example.dpc/.R")
    assert code == 1
    assert err.startswith(
        b"java.lang.IllegalStateException: Not allowed to set the device owner because there "
        b"are already some accounts on the device\n\tat android.os.Parcel"
    )


async def test_kill_stops_the_server(rig: Rig) -> None:
    c = await rig.connect()
    await c.send("host:kill")
    assert await c.status() == "OKAY"
    assert await c.rest() == b""
    for _ in range(100):
        try:
            _, w = await asyncio.open_connection("127.0.0.1", rig.server.port)
        except OSError:
            break
        w.close()
        await w.wait_closed()
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("still listening after host:kill")


def test_tokenizer_quotes_operators_and_status() -> None:
    assert tokenize("echo 'a;b' \"c d\" e\\ f;x&&y||z") == [
        "echo",
        "a;b",
        "c d",
        "e f",
        "\x01;",
        "x",
        "\x01&&",
        "y",
        "\x01||",
        "z",
    ]
    assert tokenize("echo X4EXIT:$?") == ["echo", "X4EXIT:\x00?"]
    assert tokenize("echo '$?'") == ["echo", "$?"]
    with pytest.raises(SyntaxError):
        tokenize("echo 'open")


async def install(rig: Rig, serial: str, apk: Path) -> bytes:
    data = await asyncio.to_thread(apk.read_bytes)
    c = await rig.service(serial, f"exec:cmd package 'install' -S {len(data)}")
    c.writer.write(data)
    await c.writer.drain()
    return await c.rest()


async def test_android_11_needs_a_v2_signature_for_target_30(rig: Rig, tmp_path: Path) -> None:
    rig.plug("S1", "1-1")
    v1_new = make_apk(tmp_path / "a.apk", "org.example.a", 1, "1", "A", target_sdk=34, v2=False)
    assert await install(rig, "S1", v1_new) == (
        b"Failure [INSTALL_PARSE_FAILED_NO_CERTIFICATES: Scanning Failed.: No signature found "
        b"in package of version 2 or newer for package org.example.a]\n"
    )
    v1_old = make_apk(tmp_path / "b.apk", "org.example.b", 1, "1", "B", target_sdk=29, v2=False)
    assert await install(rig, "S1", v1_old) == b"Success\n"
    too_new = make_apk(tmp_path / "c.apk", "org.example.c", 1, "1", "C", min_sdk=35)
    assert (await install(rig, "S1", too_new)).startswith(b"Failure [INSTALL_FAILED_OLDER_SDK:")


async def send_and_hang_up(c: Conn, blob: bytes) -> None:
    """Send ``blob`` and our EOF; the server may already have closed on us, which is fine."""
    with contextlib.suppress(OSError):
        c.writer.write(blob)
        await c.writer.drain()
        c.writer.write_eof()
    await c.rest()


async def test_random_garbage_never_takes_the_server_down(rig: Rig) -> None:
    rig.plug("S1", "1-1")
    rnd = random.Random(1234)
    for _ in range(40):
        c = await rig.connect()
        blob = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 64)))
        if rnd.random() < 0.5:
            blob = b"%04x" % len(blob) + blob
        await send_and_hang_up(c, blob)
    for service in ("sync:", "shell,v2,raw:cat", "exec:cmd package install -S 99"):
        c = await rig.service("S1", service)
        await send_and_hang_up(c, bytes(rnd.randrange(256) for _ in range(300)))
    assert await rig.query("host:version") == "0029"
    assert await rig.shell("S1", "echo ok") == (0, b"ok\n", b"")


async def test_adb_enabled_0_from_a_client_that_hangs_up(rig: Rig) -> None:
    told: asyncio.Queue[tuple[str, bool]] = asyncio.Queue()
    tablets = {}

    def teller(serial: str) -> Callable[[bool], None]:
        return lambda on: told.put_nowait((serial, on))

    for serial, devpath in (("S1", "1-1"), ("S2", "1-2")):
        tablets[serial] = VirtualAndroid(serial, ANDROID_MODELS["SM-X200"])
        rig.server.attach(
            tablets[serial],
            devpath=devpath,
            link=rig.link,
            data_dir=rig.root / devpath,
            save=lambda t: None,
            on_usb_debugging=teller(serial),
        )
    # The client sends the command and goes at once: adbd still stops when it has run.
    c = await rig.connect()
    await c.send("host:transport:S1")
    assert await c.status() == "OKAY"
    await c.send("shell:settings put global adb_enabled 0")
    await c.close()
    rig.conns.remove(c)
    assert await asyncio.wait_for(told.get(), TIMEOUT) == ("S1", False)
    assert await rig.query("host:devices") == "S2\tdevice\n"
    assert await rig.query("host-serial:S1:get-state") == "FAIL device 'S1' not found"

    # Pulled while the command still runs: the owner is told, nothing breaks.
    c = await rig.service("S2", "shell:settings put global adb_enabled abc; sleep 50")
    rig.server.detach("1-2")
    assert await c.rest() == b""
    assert await asyncio.wait_for(told.get(), TIMEOUT) == ("S2", False)
    assert tablets["S2"].usb_debugging is False
    assert await rig.query("host:devices") == ""

    # A reboot while debugging is off boots without adbd.
    await rig.server.reboot("1-1")
    assert await rig.query("host:devices") == ""
    assert rig.server.transport_id("1-1") is None
    assert await rig.query("host:version") == "0029"
    assert told.empty()


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    line=st.lists(st.sampled_from([*"ab '\"$?;&|>2\\\nx-", "rm ", "cat ", "pm ", "/sdcard"])).map(
        "".join
    )
)
def test_the_shell_survives_any_command_line(tmp_path: Path, line: str) -> None:
    tablet = VirtualAndroid("S1", ANDROID_MODELS["SM-X200"])
    clock = SimClock(0)
    env = ShellEnv(
        tablet=tablet,
        files=DeviceFiles(tablet, tmp_path / "fs"),
        clock=clock,
        link=HubLink(clock),
        save=lambda: None,
        reboot=lambda: None,
        boot_completed=lambda: True,
    )
    status = asyncio.run(Shell(env).run(line, Output()))
    assert 0 <= status <= 255
