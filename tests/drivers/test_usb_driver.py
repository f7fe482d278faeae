"""USB scans through pyusb over the virtual cart's bus, slot calibration, what needs a person."""

from __future__ import annotations

from pathlib import Path

import pytest

from station.drivers.android import AdbAndroidDriver, AndroidSettings
from station.drivers.base import Presence, SlotCalibration, UsbKind, UsbScanner
from station.drivers.ios import IosSettings, UsbmuxIosDriver
from station.drivers.usb import PyusbScanner, classify, needing_a_person, slot_for_location
from station.sim.cart import VirtualCart
from station.sim.scenario import SlotOverride
from station.sim.usb.backend import get_backend
from tests.drivers.conftest import StartCart

pytestmark = pytest.mark.timeout(60)


def scanner(cart: VirtualCart) -> PyusbScanner:
    return PyusbScanner(get_backend(cart.usb_snapshot_path))


def calibration(cart: VirtualCart) -> SlotCalibration:
    """What a person calibrating the cart would record: slot n's port, for every slot."""
    return SlotCalibration.from_ports([cart.slots[n].port.path for n in sorted(cart.slots)])


async def test_scan_finds_every_tablet_in_its_port(start_cart: StartCart) -> None:
    cart = await start_cart(ipads=2, androids=2, hubs=2)
    usb = scanner(cart)
    assert isinstance(usb, UsbScanner)
    found = {d.port_path: d for d in await usb.scan()}
    assert set(found) == {s.port.path for s in cart.slots.values()}
    for slot in cart.slots.values():
        device = found[slot.port.path]
        assert slot.attachment is not None
        assert device.address == slot.attachment.address
        if slot.ipad is not None:
            assert device.kind is UsbKind.IPAD
            assert device.serial == slot.ipad.udid.replace("-", "")
            assert device.location_id == slot.attachment.location_id
        else:
            assert slot.android is not None
            assert device.kind is UsbKind.ANDROID_ADB
            assert device.serial == slot.android.serial
            assert device.devpath == f"usb:{slot.port.path}"


async def test_calibration_maps_usbmuxd_and_adb_to_slots(
    start_cart: StartCart, tmp_path: Path
) -> None:
    cart = await start_cart(ipads=2, androids=2, hubs=2)
    cal = calibration(cart)
    path = tmp_path / "station" / "slots.json"
    cal.save(path)
    loaded = SlotCalibration.load(path)
    assert loaded == cal
    assert SlotCalibration.load(tmp_path / "never-calibrated.json") == SlotCalibration()

    info = cart.ready_info()
    ios = UsbmuxIosDriver(
        IosSettings(pair_records=tmp_path / "pair", usbmux_address=info["usbmux"])
    )
    assert cart.adb is not None
    adb = AdbAndroidDriver(AndroidSettings(host="127.0.0.1", port=cart.adb.port))
    devices = await scanner(cart).scan()
    for event in await ios.devices():
        assert event.location_id is not None
        slot = slot_for_location(devices, loaded, event.location_id)
        ipad = cart.slots[slot].ipad if slot is not None else None
        assert ipad is not None
        assert ipad.udid == event.handle
    for event in await adb.devices():
        slot = loaded.slot_for(event.handle)
        assert slot is not None
        tablet = cart.slots[slot].android
        assert tablet is not None
        assert tablet.serial == event.serial


def test_calibration_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="same slot"):
        SlotCalibration({"1-1.1": 1, "1-1.2": 1})
    with pytest.raises(ValueError, match="start at 1"):
        SlotCalibration({"1-1.1": 0})
    for text in ('{"format": 2}', '{"format": 1, "slots": {"1-1.1": "one"}}', "[]"):
        with pytest.raises(ValueError, match="calibration"):
            SlotCalibration.from_json(text)
    cal = SlotCalibration.from_ports(["usb:1-1.3", "1-1.1"])
    assert cal.slot_for("usb:1-1.3") == 1
    assert cal.port_for(2) == "1-1.1"
    assert cal.slot_for("1-9.9") is None
    assert cal.slot_for(None) is None


async def test_recovery_ipad_and_debugging_off_tablet_need_a_person(
    start_cart: StartCart, tmp_path: Path
) -> None:
    cart = await start_cart(
        ipads=2,
        androids=2,
        hubs=1,
        slots={2: SlotOverride(recovery=True), 4: SlotOverride(usb_debugging=False)},
    )
    info = cart.ready_info()
    ios = UsbmuxIosDriver(
        IosSettings(pair_records=tmp_path / "pair", usbmux_address=info["usbmux"])
    )
    assert cart.adb is not None
    adb = AdbAndroidDriver(AndroidSettings(host="127.0.0.1", port=cart.adb.port))
    cal = calibration(cart)

    async def attention() -> dict[int | None, Presence]:
        found = needing_a_person(
            await scanner(cart).scan(),
            cal,
            ios_location_ids=[e.location_id for e in await ios.devices() if e.location_id],
            adb_usb_paths=[e.usb_path for e in await adb.devices() if e.usb_path],
        )
        return {a.slot: a.presence for a in found}

    needs = await attention()
    assert needs == {2: Presence.RECOVERY, 4: Presence.USB_DEBUGGING_OFF}
    assert "recovery" in Presence.RECOVERY.hint
    assert "USB debugging" in needs[4].hint
    kinds = {d.port_path: d.kind for d in await scanner(cart).scan()}
    assert kinds[cart.slots[2].port.path] is UsbKind.IPAD_RECOVERY
    assert kinds[cart.slots[4].port.path] is UsbKind.ANDROID_NO_ADB
    assert len(await ios.devices()) == 1
    assert len(await adb.devices()) == 1

    # The person switches debugging on: the tablet re-enumerates with adb and leaves the list.
    await cart.allow_usb_debugging(4)
    assert await attention() == {2: Presence.RECOVERY}
    # An iPad usbmuxd does not offer (here: a usbmuxd that lost it) is "not visible".
    found = needing_a_person(
        await scanner(cart).scan(), cal, ios_location_ids=[], adb_usb_paths=["usb:x"]
    )
    assert {a.slot: a.presence for a in found} == {
        1: Presence.NOT_VISIBLE,
        2: Presence.RECOVERY,
        3: Presence.NOT_VISIBLE,
        4: Presence.NOT_VISIBLE,
    }


def test_classify() -> None:
    assert classify(0x05AC, 0x12AB, []) is UsbKind.IPAD
    assert classify(0x05AC, 0x1281, [(0xFF, 0xFF, 0x00)]) is UsbKind.IPAD_RECOVERY
    assert classify(0x05AC, 0x024F, [(0x03, 0x01, 0x01)]) is UsbKind.OTHER  # a keyboard
    assert classify(0x04E8, 0x6860, [(0xFF, 0x42, 0x01)]) is UsbKind.ANDROID_ADB
    assert classify(0x04E8, 0x6860, [(0xFF, 0xFF, 0x00)]) is UsbKind.ANDROID_NO_ADB
    assert classify(0x1234, 0x0001, [(0x06, 0x01, 0x01)]) is UsbKind.ANDROID_NO_ADB
    assert classify(0x0781, 0x5581, [(0x08, 0x06, 0x50)]) is UsbKind.OTHER  # a USB stick


@pytest.mark.device
async def test_real_usb_bus_scans() -> None:
    """On a station with libusb and a tablet attached: the real bus gives port paths."""
    devices = await PyusbScanner().scan()
    if not devices:
        pytest.skip("no USB devices on this machine")
    assert all(d.port_path.count("-") == 1 for d in devices)
