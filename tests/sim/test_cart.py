"""The virtual cart as the real clients see it: pymobiledevice3, adbutils and pyusb.

Nothing here asserts on the emulators' internals alone: each check goes through a real
client library over the cart's sockets (or pyusb through our backend), and compares what it
reports with the slot layout the cart promises.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import usb.core
import usb.util
from adbutils import AdbClient
from adbutils._proto import DeviceEvent
from pymobiledevice3.exceptions import PasswordRequiredError
from pymobiledevice3.lockdown import create_using_usbmux
from pymobiledevice3.services.installation_proxy import InstallationProxyService
from pymobiledevice3.services.mobile_config import MobileConfigService
from pymobiledevice3.usbmux import (
    BinaryMuxConnection,
    MuxConnection,
    UsbmuxdDeviceRecord,
    UsbmuxdRemoveData,
    create_mux,
    list_devices,
)

from station.errors import InputError
from station.sim.artifacts.android import make_apk
from station.sim.artifacts.ios import make_ipa
from station.sim.cart import CartSpec, StateDirError, VirtualCart
from station.sim.control import ControlError, request_async
from station.sim.inspect import lockdown_values, usbmux_devices
from station.sim.ios.device import IPAD_MODELS
from station.sim.scenario import parse_scenario
from station.sim.usb.backend import get_backend

pytestmark = pytest.mark.timeout(60)


async def start_cart(state_dir: Path, monkeypatch: pytest.MonkeyPatch, **kw: Any) -> VirtualCart:
    spec = CartSpec(state_dir=state_dir, **{"time_scale": 0.002, **kw})
    cart = VirtualCart(spec)
    await cart.start()
    # The real tools find the cart through the env vars it announces (as `sim serve` prints).
    for key, value in cart.ready_info()["env"].items():
        monkeypatch.setenv(key, value)
    return cart


@pytest.fixture
async def cart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[VirtualCart]:
    c = await start_cart(tmp_path / "state", monkeypatch, ipads=4, androids=4, hubs=2)
    try:
        yield c
    finally:
        await c.stop()


def adb_client(cart: VirtualCart) -> AdbClient:
    assert cart.adb is not None
    return AdbClient(host="127.0.0.1", port=cart.adb.port, socket_timeout=20)


async def pair(cart: VirtualCart, slot: int, pair_dir: Path) -> dict[str, object]:
    """Pair through pymobiledevice3 while the person at the cart taps Trust."""
    ipad = cart.slots[slot].ipad
    assert ipad is not None

    async def tap(udid: str) -> None:
        if ipad.trust_prompt_open:
            await cart.accept_trust(slot)

    return await lockdown_values(ipad.udid, cart.ready_info()["usbmux"], pair_dir, tap)


async def test_real_clients_see_exactly_the_cart(cart: VirtualCart) -> None:
    info = cart.ready_info()
    ipads = {s.ipad.udid: s for s in cart.slots.values() if s.ipad is not None}
    androids = {s.port.path: s for s in cart.slots.values() if s.android is not None}
    assert len(ipads) == 4
    assert len(androids) == 4

    # pymobiledevice3: the device list, and the full ListDevices reply for LocationIDs.
    assert {d.serial for d in await list_devices()} == set(ipads)
    listed = await usbmux_devices(info["usbmux"])
    assert {d["udid"] for d in listed} == set(ipads)

    # pyusb through our backend: every tablet on its hub port, nothing else but hubs.
    backend = get_backend(Path(info["usb_snapshot"]))
    by_serial = {
        d.serial_number: d
        for d in usb.core.find(find_all=True, backend=backend)
        if d.bDeviceClass != 0x09
    }
    assert len(by_serial) == 8
    for dev in listed:
        slot = ipads[dev["udid"]]
        usb_dev = by_serial[dev["udid"].replace("-", "")]
        assert (usb_dev.idVendor, usb_dev.idProduct) == (0x05AC, dev["product_id"])
        # LocationID = (bus << 16) | address on Linux, and that bus address is the slot's port.
        assert dev["location_id"] == (usb_dev.bus << 16) | usb_dev.address
        assert usb_dev.port_numbers == slot.port.port_numbers

    # adbutils: exactly the Android tablets, each at its slot's port path.
    seen = await asyncio.to_thread(adb_client(cart).list, extended=True)
    assert {d.tags["usb"] for d in seen} == set(androids)
    for d in seen:
        slot = androids[d.tags["usb"]]
        assert slot.android is not None
        assert d.serial == slot.android.serial
        assert d.state == "device"
        usb_dev = by_serial[d.serial]
        assert f"{usb_dev.bus}-{'.'.join(map(str, usb_dev.port_numbers))}" == d.tags["usb"]
        model = await asyncio.to_thread(
            adb_client(cart).device(transport_id=d.transport_id).getprop, "ro.product.model"
        )
        assert model == slot.android.model.model

    # Slots are spread over both hubs, in port order.
    assert [s["port"] for s in info["slots"]] == [
        "1-1.1", "1-1.2", "1-1.3", "1-1.4", "1-2.1", "1-2.2", "1-2.3", "1-2.4",
    ]  # fmt: skip


async def test_restart_keeps_devices_pairing_and_device_owner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state"
    pair_dir = tmp_path / "host-records"
    apk = make_apk(tmp_path / "dpc.apk", "org.example.dpc", 1, "1.0", "DPC", receiver=".Admin")
    cart = await start_cart(state, monkeypatch, ipads=2, androids=2, hubs=1)
    try:
        before = {n: s.device_id for n, s in cart.slots.items()}
        values = await pair(cart, 1, pair_dir)
        assert values["paired"] is True
        android_slot = cart.slots[3]
        assert android_slot.android is not None
        device = adb_client(cart).device(serial=android_slot.android.serial)
        await asyncio.to_thread(device.install, str(apk), silent=True)
        out = await asyncio.to_thread(device.shell, "dpm set-device-owner org.example.dpc/.Admin")
        assert "Success: Device owner set" in out
    finally:
        await cart.stop()

    cart = await start_cart(state, monkeypatch, ipads=2, androids=2, hubs=1)
    try:
        assert {n: s.device_id for n, s in cart.slots.items()} == before
        udid = before[1]
        # The host's pair record still opens a session: the iPad remembers the pairing.
        client = await create_using_usbmux(
            serial=udid, autopair=False, pairing_records_cache_folder=pair_dir
        )
        try:
            assert client.paired
            assert await client.get_value(key="SerialNumber") == cart.slots[1].ipad.serial  # type: ignore[union-attr]
        finally:
            await client.close()
        device = adb_client(cart).device(serial=before[3])
        policy = await asyncio.to_thread(device.shell, "dumpsys device_policy")
        assert "admin=ComponentInfo{org.example.dpc/org.example.dpc.Admin}" in policy or (
            "org.example.dpc" in policy
        )
        assert "org.example.dpc" in await asyncio.to_thread(device.shell, "pm list packages")
    finally:
        await cart.stop()


async def test_unplug_and_plug_over_the_control_channel(cart: VirtualCart) -> None:
    assert cart.control is not None
    address = cart.control.address
    ipad = cart.slots[1].ipad
    tablet = cart.slots[6].android
    assert ipad is not None
    assert tablet is not None
    first_location = cart.slots[1].attachment.location_id  # type: ignore[union-attr]

    # adbutils' tracker runs in a thread (it blocks) until it saw the tablet leave and return.
    client = adb_client(cart)
    tracking = threading.Event()
    events: list[DeviceEvent] = []

    def track() -> None:
        for event in client.track_devices():
            events.append(event)
            tracking.set()
            gone = any(not e.present and e.serial == tablet.serial for e in events)
            back = event.present and event.serial == tablet.serial and event.status == "device"
            if gone and back:
                return

    tracker = asyncio.ensure_future(asyncio.to_thread(track))

    mux = await create_mux()
    try:
        await mux.listen()
        while ipad.udid not in {d.serial for d in mux.devices}:
            await mux.receive_device_state_update()
        old_id = next(d.devid for d in mux.devices if d.serial == ipad.udid)
        await asyncio.to_thread(tracking.wait, 20)

        for slot in (1, 6):
            result = await request_async(address, {"action": "unplug", "slot": slot})
            assert result["plugged"] is False
        while ipad.udid in {d.serial for d in mux.devices}:
            await mux.receive_device_state_update()
        left = await asyncio.to_thread(adb_client(cart).list)
        assert tablet.serial not in {d.serial for d in left}
        backend = get_backend(cart.usb_snapshot_path)
        serials = {d.serial_number for d in usb.core.find(find_all=True, backend=backend)}
        assert ipad.udid.replace("-", "") not in serials
        assert tablet.serial not in serials

        for slot in (1, 6):
            await request_async(address, {"action": "plug", "slot": slot})
        while ipad.udid not in {d.serial for d in mux.devices}:
            await mux.receive_device_state_update()
        new_id = next(d.devid for d in mux.devices if d.serial == ipad.udid)
        assert new_id != old_id  # a new DeviceID after a re-plug, as real usbmuxd does
    finally:
        await mux.close()
    await asyncio.wait_for(tracker, 20)
    statuses = [(e.present, e.status) for e in events if e.serial == tablet.serial]
    # As a real adb server reports a pulled cable: offline first, then gone; then back.
    assert statuses == [
        (True, "device"), (False, "absent"), (True, "offline"), (False, "absent"), (True, "device")
    ]  # fmt: skip
    listed = {d["udid"]: d for d in await usbmux_devices(cart.ready_info()["usbmux"])}
    assert listed[ipad.udid]["location_id"] != first_location  # a new bus address


async def test_control_channel_survives_garbage(cart: VirtualCart) -> None:
    assert cart.control is not None
    host, port = cart.control.address
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for line in (b"\xff\xfe garbage\n", b"[1, 2]\n", b'{"action": "plug", "slot": "x"}\n'):
            writer.write(line)
            await writer.drain()
            reply = await reader.readline()
            assert b'"ok": false' in reply
        writer.write(b'{"action": "info"}\n')
        await writer.drain()
        assert b'"ok": true' in await reader.readline()
    finally:
        writer.close()
        await writer.wait_closed()
    with pytest.raises(ControlError, match="no slot 99"):
        await request_async((host, port), {"action": "unplug", "slot": 99})
    with pytest.raises(ControlError, match="not an iPad"):
        await request_async((host, port), {"action": "accept_trust", "slot": 5})
    with pytest.raises(ControlError, match="unknown action"):
        await request_async((host, port), {"action": "explode", "slot": 1})
    # An endless line is refused, not buffered forever.
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(b"x" * 200_000)
        await writer.drain()
        assert b"too long" in await reader.readline()
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    # A client that vanishes mid-request does not take the cart down.
    _, writer = await asyncio.open_connection(host, port)
    writer.write(b'{"action": "unpl')
    writer.close()
    await writer.wait_closed()
    assert (await request_async((host, port), {"action": "info"}))["hubs"] == 2

    # Reboot answers once the tablet went down; adbutils sees it come back later.
    tablet = cart.slots[5].android
    assert tablet is not None
    result = await request_async((host, port), {"action": "reboot", "slot": 5})
    assert result["plugged"] is False
    for _ in range(400):
        listed = await asyncio.to_thread(adb_client(cart).list)
        if any(d.serial == tablet.serial and d.state == "device" for d in listed):
            break
        await asyncio.sleep(0.025)
    assert tablet.serial in {d.serial for d in listed if d.state == "device"}
    assert tablet.boot_count == 2


SCENARIO = """
[slot.2]
recovery = true

[slot.3]
serial = "0123456789ABCDEF"

[slot.4]
serial = "0123456789ABCDEF"
accounts = ["com.google:lehrer@example.org"]

[slot.5]
adb_state = "unauthorized"

[slot.6]
usb_debugging = false

[[event]]
action = "allow_usb_debugging"
slot = 5
after = { step = "unplug", slot = 1 }

[[event]]
action = "plug"
slot = 1
after = { step = "unplug", delay = 5.0 }
"""


async def test_scenario_devices_and_events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = parse_scenario(SCENARIO, "test")
    cart = await start_cart(
        tmp_path / "state", monkeypatch, ipads=2, androids=4, hubs=2, scenario=scenario
    )
    try:
        # Recovery: on USB as 05ac:1281, not in usbmuxd.
        assert [d.serial for d in await list_devices()] == [cart.slots[1].device_id]
        backend = get_backend(cart.usb_snapshot_path)
        recovery = usb.core.find(idVendor=0x05AC, idProduct=0x1281, backend=backend)
        assert recovery is not None
        assert "ECID:" in recovery.serial_number
        assert recovery.port_numbers == cart.slots[2].port.port_numbers

        listed = await asyncio.to_thread(adb_client(cart).list, extended=True)
        seen = {d.tags["usb"]: d for d in listed}
        path = {n: cart.slots[n].port.path for n in (3, 4, 5, 6)}
        assert set(seen) == {path[3], path[4], path[5]}  # slot 6 has USB debugging off
        assert seen[path[3]].serial == seen[path[4]].serial == "0123456789ABCDEF"
        assert seen[path[5]].state == "unauthorized"
        # With a shared serial the usb: devpath still names one tablet.
        by_path = adb_client(cart).device(serial=f"usb:{path[4]}")
        out = await asyncio.to_thread(by_path.shell, "dpm set-device-owner a.b/.C")
        assert "Unknown admin" in out

        # Events: unplugging slot 1 makes the person at slot 5 tap Allow; slot 1 comes back.
        await cart.unplug(1)
        for _ in range(400):
            listed = await asyncio.to_thread(adb_client(cart).list, extended=True)
            states = {d.tags["usb"]: d.state for d in listed}
            if states.get(path[5]) == "device" and cart.slots[1].attachment is not None:
                break
            await asyncio.sleep(0.025)
        assert states[path[5]] == "device"
        assert [d.serial for d in await list_devices()] == [cart.slots[1].device_id]
    finally:
        await cart.stop()


async def test_unplug_during_a_transfer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = parse_scenario(
        '[[event]]\naction = "unplug"\nslot = 1\nafter = { step = "transfer" }\n', "t"
    )
    # Real-time bandwidth so the 8 MB push takes long enough to be cut off.
    cart = await start_cart(
        tmp_path / "state", monkeypatch, ipads=0, androids=1, hubs=1, time_scale=1.0,
        scenario=scenario,
    )  # fmt: skip
    try:
        assert cart.slots[1].android is not None
        device = adb_client(cart).device(serial=cart.slots[1].android.serial)
        big = tmp_path / "big.bin"
        big.write_bytes(b"\0" * 8_000_000)
        with pytest.raises(Exception):  # noqa: B017, PT011  # adbutils raises several types
            await asyncio.to_thread(device.sync.push, str(big), "/sdcard/big.bin")
        assert cart.slots[1].attachment is None
        assert await asyncio.to_thread(adb_client(cart).list) == []
        assert cart.slots[1].milestones["transfer"] >= 1
    finally:
        await cart.stop()


async def test_reboot_and_recovery(cart: VirtualCart) -> None:
    before = cart.slots[5].attachment
    assert before is not None
    await cart.reboot(5)
    after = cart.slots[5].attachment
    assert after is not None
    assert after.address != before.address  # re-enumerated
    listed = await asyncio.to_thread(adb_client(cart).list, extended=True)
    seen = {d.tags["usb"]: d.state for d in listed}
    assert seen[cart.slots[5].port.path] == "device"

    # A reboot the station asks for over adb: the bus follows the tablet away and back.
    tablet = cart.slots[6].android
    assert tablet is not None
    address = cart.slots[6].attachment.address  # type: ignore[union-attr]
    gone = asyncio.ensure_future(cart.wait_milestone(6, "restart"))
    back = asyncio.ensure_future(cart.wait_milestone(6, "booted"))
    await asyncio.to_thread(adb_client(cart).device(serial=tablet.serial).reboot)
    await asyncio.wait_for(gone, 20)
    backend = get_backend(cart.usb_snapshot_path)
    assert usb.core.find(custom_match=lambda d: d.port_numbers == cart.slots[6].port.port_numbers,
                         backend=backend) is None  # fmt: skip
    await asyncio.wait_for(back, 20)
    assert cart.slots[6].attachment is not None
    assert cart.slots[6].attachment.address != address

    await cart.set_recovery(2)
    ipad = cart.slots[2].ipad
    assert ipad is not None
    assert ipad.udid not in {d.serial for d in await list_devices()}
    await cart.reboot(2)
    assert ipad.udid in {d.serial for d in await list_devices()}


IPAD_SCENARIO = """
[slot.1]
passcode_locked = true
activation_lock = true

[slot.2]
setup_done = true
slow = 3.0
trust = "accept"
"""


async def test_scenario_ipads_behave_as_set_and_survive_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state"
    scenario = parse_scenario(IPAD_SCENARIO, "t")
    cart = await start_cart(state, monkeypatch, ipads=2, androids=0, hubs=1, scenario=scenario)
    try:
        locked = cart.slots[1].ipad
        assert locked is not None
        with pytest.raises(PasswordRequiredError):
            await create_using_usbmux(
                serial=locked.udid, pairing_records_cache_folder=tmp_path / "pairs"
            )
        done = cart.slots[2].ipad
        assert done is not None
        client = await create_using_usbmux(
            serial=done.udid, pairing_records_cache_folder=tmp_path / "pairs"
        )
        try:
            assert await client.get_value("com.apple.PurpleBuddy", "SetupDone") is True
            assert await client.get_value(key="ActivationState") == "Activated"
        finally:
            await client.close()
        assert cart.activation is not None
        assert locked.udid in cart.activation.locked  # the stand-in albert refuses it
        assert done.udid not in cart.activation.locked
        base = IPAD_MODELS[done.model.product_type].boot_seconds
        assert done.model.boot_seconds == pytest.approx(3 * base)
    finally:
        await cart.stop()
    cart = await start_cart(state, monkeypatch, ipads=2, androids=0, hubs=1)
    try:
        again = cart.slots[2].ipad
        assert again is not None
        assert again.udid == done.udid
        assert again.setup_done
        assert again.model.boot_seconds == pytest.approx(3 * base)  # still the slow one
        assert cart.slots[1].ipad is not None
        assert cart.slots[1].ipad.passcode_locked
        assert cart.activation is not None
        assert cart.slots[1].ipad.udid in cart.activation.locked
    finally:
        await cart.stop()


async def test_a_broken_state_dir_is_reported_not_crashed_on(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "cart.json").write_text('{"format": 1, "hubs": 1}')
    cart = VirtualCart(CartSpec(ipads=1, androids=0, hubs=1, state_dir=state))
    with pytest.raises(StateDirError, match="does not load") as info:
        await cart.start()
    assert isinstance(info.value, InputError)
    assert cart.usbmux is None  # nothing left running


TIMED = """
[[event]]
action = "accept_trust"
slot = 1
after = { step = "trust_prompt", delay = 2.0 }

[[event]]
at = 30.0
action = "usb_debugging_off"
slot = 2
"""


async def test_timed_events_run_on_the_cart_clock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cart = await start_cart(
        tmp_path / "state", monkeypatch, ipads=1, androids=1, hubs=1,
        scenario=parse_scenario(TIMED, "t"),
    )  # fmt: skip
    try:
        ipad = cart.slots[1].ipad
        assert ipad is not None
        # Nobody taps anything in this test: the scenario's person accepts the prompt.
        client = await create_using_usbmux(
            serial=ipad.udid, pairing_records_cache_folder=tmp_path / "pairs"
        )
        try:
            assert client.paired
        finally:
            await client.close()
        assert cart.slots[1].milestones["trust_prompt"] == 1
        for _ in range(400):
            if not await asyncio.to_thread(adb_client(cart).list):
                break
            await asyncio.sleep(0.025)
        assert await asyncio.to_thread(adb_client(cart).list) == []
        assert cart.slots[2].attachment is not None  # still on USB, just not to adb
    finally:
        await cart.stop()


async def test_unplug_when_an_ipad_install_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = parse_scenario(
        '[slot.1]\ntrust = "accept"\n\n'
        '[[event]]\naction = "unplug"\nslot = 1\nafter = { step = "install" }\n',
        "t",
    )
    cart = await start_cart(
        tmp_path / "state", monkeypatch, ipads=1, androids=0, hubs=1, scenario=scenario
    )
    try:
        ipad = cart.slots[1].ipad
        assert ipad is not None
        ipa = make_ipa(tmp_path / "app.ipa", "org.example.app", "1", "1.0", "App", 200_000)
        lockdown = await create_using_usbmux(
            serial=ipad.udid, pairing_records_cache_folder=tmp_path / "pairs"
        )
        try:
            with pytest.raises(Exception):  # noqa: B017, PT011  # the cable is gone: any error
                async with InstallationProxyService(lockdown=lockdown) as service:
                    await service.install_from_local(ipa)
        finally:
            await lockdown.close()
        # pymobiledevice3 opens installation_proxy before its AFC upload: the cable went then.
        assert cart.slots[1].milestones["service:com.apple.mobile.installation_proxy"] == 1
        assert cart.slots[1].attachment is None
        assert ipad.apps == {}
        assert ipad.udid not in {d.serial for d in await list_devices()}
    finally:
        await cart.stop()


async def test_an_erase_restart_follows_on_usb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = parse_scenario('[slot.1]\ntrust = "accept"\n', "t")
    cart = await start_cart(
        tmp_path / "state", monkeypatch, ipads=1, androids=0, hubs=1, scenario=scenario
    )
    try:
        ipad = cart.slots[1].ipad
        assert ipad is not None
        backend = get_backend(cart.usb_snapshot_path)
        address = cart.slots[1].attachment.address  # type: ignore[union-attr]
        gone = asyncio.ensure_future(cart.wait_milestone(1, "restart"))
        back = asyncio.ensure_future(cart.wait_milestone(1, "booted"))
        # A listener, as the station's watcher is: it gets the Attached record with LocationID.
        sock = await MuxConnection.create_usbmux_socket(cart.ready_info()["usbmux"])
        async with BinaryMuxConnection(sock) as listener:
            await listener.listen()
            await asyncio.wait_for(listener.receive_device_state_update(), 20)
            lockdown = await create_using_usbmux(
                serial=ipad.udid, pairing_records_cache_folder=tmp_path / "pairs"
            )
            try:
                async with MobileConfigService(lockdown=lockdown) as mc:
                    await mc.erase_device(preserve_data_plan=False, disallow_proximity_setup=False)
            finally:
                await lockdown.close()
            await asyncio.wait_for(gone, 20)
            assert usb.core.find(idVendor=0x05AC, backend=backend) is None  # off the bus
            updates = []
            while not updates or not isinstance(updates[-1], UsbmuxdDeviceRecord):
                update = (await asyncio.wait_for(listener._receive_response(), 20)).data
                if update is not None:  # None: a Paired note, from pairing above
                    updates.append(update)
        detached, attached = updates
        assert isinstance(detached, UsbmuxdRemoveData)
        assert isinstance(attached, UsbmuxdDeviceRecord)
        await asyncio.wait_for(back, 20)
        dev = usb.core.find(idVendor=0x05AC, backend=backend)
        assert dev is not None
        assert dev.address != address  # re-enumerated, as Linux numbers it anew
        assert dev.port_numbers == cart.slots[1].port.port_numbers
        location = (dev.bus << 16) | dev.address
        assert attached.location == location
        listed = await usbmux_devices(cart.ready_info()["usbmux"])
        assert listed[0]["location_id"] == location
        assert cart.ready_info()["slots"][0]["location_id"] == location
        assert ipad.paired_hosts == {}  # erased: the pairing is gone
        usb.util.dispose_resources(dev)
    finally:
        await cart.stop()


async def test_adb_enabled_0_takes_the_tablet_off_adb_but_not_off_usb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cart = await start_cart(
        tmp_path / "state", monkeypatch, ipads=0, androids=2, hubs=1,
        scenario=parse_scenario("[slot.2]\nusb_debugging = false\n", "t"),
    )  # fmt: skip
    try:
        first, second = cart.slots[1].android, cart.slots[2].android
        assert first is not None
        assert second is not None
        backend = get_backend(cart.usb_snapshot_path)

        def on_usb(slot: int) -> usb.core.Device:
            port = cart.slots[slot].port.port_numbers
            dev = usb.core.find(custom_match=lambda d: d.port_numbers == port, backend=backend)
            assert dev is not None
            return dev

        def interfaces(dev: usb.core.Device) -> set[tuple[int, int, int]]:
            cfg = dev.get_active_configuration()
            found = {(i.bInterfaceClass, i.bInterfaceSubClass, i.bInterfaceProtocol) for i in cfg}
            usb.util.dispose_resources(dev)
            return found

        address = on_usb(1).address
        client = adb_client(cart)
        events: list[DeviceEvent] = []
        tracking = threading.Event()

        def track() -> None:
            for event in client.track_devices():
                events.append(event)
                tracking.set()
                wanted = {(first.serial, "device"), (second.serial, "device")}
                if {(e.serial, e.status) for e in events[1:] if e.present} >= wanted:
                    return

        tracker = asyncio.ensure_future(asyncio.to_thread(track))
        await asyncio.to_thread(tracking.wait, 20)
        off = asyncio.ensure_future(cart.wait_milestone(1, "usb_debugging_off"))

        # What the station's driver runs last: the command answers, then adbd stops.
        device = client.device(serial=first.serial)
        result = await asyncio.to_thread(device.shell2, "settings put global adb_enabled 0")
        assert result.returncode == 0
        await asyncio.wait_for(off, 20)
        assert await asyncio.to_thread(client.list) == []
        # Still on USB at the same port, re-enumerated (new address) as MTP only.
        dev = on_usb(1)
        assert dev.serial_number == first.serial
        assert dev.address != address
        assert interfaces(dev) == {(0x06, 0x01, 0x01)}
        info = cart.ready_info()["slots"][0]
        assert (info["usb_debugging"], info["adb_state"], info["plugged"]) == (False, None, True)
        saved = json.loads(cart.slots[1].device_file.read_text(encoding="utf-8"))
        assert saved["usb_debugging"] is False
        assert saved["settings"]["global"]["adb_enabled"] == "0"
        await cart.reboot(1)  # the setting holds: it boots without adbd
        assert await asyncio.to_thread(client.list) == []
        assert interfaces(on_usb(1)) == {(0x06, 0x01, 0x01)}

        # The person switches it back on: the key was kept, so straight to "device". The
        # tablet that started with debugging off never saw this host: "unauthorized" first.
        await cart.allow_usb_debugging(1)
        await cart.allow_usb_debugging(2)
        await asyncio.wait_for(tracker, 20)
        for slot in (1, 2):
            assert (0xFF, 0x42, 0x01) in interfaces(on_usb(slot))
        listed = await asyncio.to_thread(client.list)
        assert {(d.serial, d.state) for d in listed} == {
            (first.serial, "device"),
            (second.serial, "device"),
        }
        assert second.trusted_host is True  # "Always allow" was ticked
    finally:
        await cart.stop()
    statuses = {
        t.serial: [(e.present, e.status) for e in events if e.serial == t.serial]
        for t in (first, second)
    }
    assert statuses[first.serial] == [
        (True, "device"), (False, "absent"), (True, "offline"), (False, "absent"), (True, "device")
    ]  # fmt: skip
    assert statuses[second.serial] == [(True, "unauthorized"), (False, "absent"), (True, "device")]


async def test_debugging_state_survives_a_restart_and_old_state_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state"
    scenario = parse_scenario("[slot.2]\nusb_debugging = false\n", "t")
    cart = await start_cart(state, monkeypatch, ipads=0, androids=2, hubs=1, scenario=scenario)
    try:
        off = asyncio.ensure_future(cart.wait_milestone(1, "usb_debugging_off"))
        serial = cart.slots[1].device_id
        device = adb_client(cart).device(serial=serial)
        await asyncio.to_thread(device.shell, "settings put global adb_enabled 0")
        await asyncio.wait_for(off, 20)
    finally:
        await cart.stop()
    for n in (1, 2):  # as saved before tablets had the trusted_host flag
        device_file = state / f"slot-{n:02d}" / "device.json"
        data = json.loads(device_file.read_text(encoding="utf-8"))
        del data["trusted_host"]
        device_file.write_text(json.dumps(data), encoding="utf-8")

    cart = await start_cart(state, monkeypatch, ipads=0, androids=2, hubs=1)
    try:
        client = adb_client(cart)
        assert await asyncio.to_thread(client.list) == []  # both still have debugging off
        backend = get_backend(cart.usb_snapshot_path)
        on_usb = {d.serial_number for d in usb.core.find(find_all=True, backend=backend)}
        assert {cart.slots[1].device_id, cart.slots[2].device_id} <= on_usb
        await cart.allow_usb_debugging(1)
        seen: list[tuple[str, str]] = []
        wanted = cart.slots[2].device_id
        tracking = threading.Event()

        def track() -> None:
            for event in client.track_devices():
                tracking.set()  # the first list (slot 1) arrived: the tracker is connected
                if event.present and event.serial == wanted:
                    seen.append((event.serial, event.status))
                    if event.status == "device":
                        return

        tracker = asyncio.ensure_future(asyncio.to_thread(track))
        assert await asyncio.to_thread(tracking.wait, 20)
        await cart.allow_usb_debugging(2)
        await asyncio.wait_for(tracker, 20)
        # The tablet the scenario started with debugging off never trusted this host.
        assert seen == [(wanted, "unauthorized"), (wanted, "device")]
        listed = await asyncio.to_thread(client.list)
        assert {(d.serial, d.state) for d in listed} == {
            (cart.slots[1].device_id, "device"),
            (wanted, "device"),
        }
    finally:
        await cart.stop()


async def test_trust_tapped_before_the_prompt_shows(cart: VirtualCart, tmp_path: Path) -> None:
    ipad = cart.slots[2].ipad
    assert ipad is not None
    assert cart.control is not None
    # The person is told to tap Trust before the station asks: they wait for the prompt.
    result = await request_async(cart.control.address, {"action": "accept-trust", "slot": 2})
    assert result["trust_prompt_open"] is False
    client = await create_using_usbmux(serial=ipad.udid, pairing_records_cache_folder=tmp_path)
    try:
        assert client.paired
    finally:
        await client.close()
    await cart.unplug(2)
    with pytest.raises(ControlError, match="not connected"):
        await request_async(cart.control.address, {"action": "deny-trust", "slot": 2})
