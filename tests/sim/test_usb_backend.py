"""pyusb over the cart's usb.json: what ``usb.core.find`` and ``usb.util`` report."""

from __future__ import annotations

import asyncio
import errno
from pathlib import Path

import pytest
import usb.core
import usb.util
from adbutils import AdbClient

from station.sim.cart import CartSpec, VirtualCart
from station.sim.inspect import usbmux_devices
from station.sim.scenario import parse_scenario
from station.sim.usb.backend import get_backend
from station.sim.usb.topology import UsbDescriptor, UsbTopology

pytestmark = pytest.mark.timeout(60)

IPAD = UsbDescriptor(
    0x05AC, 0x12AB, "Apple Inc.", "iPad", "00008030001A2B3C4D5E6F70",
    interfaces=((0x06, 0x01, 0x01), (0xFF, 0xFE, 0x02)),
)  # fmt: skip
TABLET = UsbDescriptor(
    0x04E8, 0x6860, "samsung", "SM-X200", "R52W1234ABC",
    interfaces=((0x06, 0x01, 0x01), (0xFF, 0x42, 0x01)),
)  # fmt: skip


def bus(tmp_path: Path) -> tuple[UsbTopology, Path]:
    topology = UsbTopology(hubs=2)
    ports = topology.hub_ports()
    topology.plug(ports[0], IPAD)
    topology.plug(ports[16 + 2], TABLET)
    path = tmp_path / "usb.json"
    topology.write_snapshot(path)
    return topology, path


def test_find_lists_root_hub_hubs_and_tablets(tmp_path: Path) -> None:
    _, path = bus(tmp_path)
    devices = list(usb.core.find(find_all=True, backend=get_backend(path)))
    summary = [(d.bus, d.address, d.idVendor, d.idProduct, d.port_numbers) for d in devices]
    assert summary == [
        (1, 1, 0x1D6B, 0x0002, None),  # xHCI root hub
        (1, 2, 0x05E3, 0x0610, (1,)),
        (1, 3, 0x05E3, 0x0610, (2,)),
        (1, 4, 0x05AC, 0x12AB, (1, 1)),
        (1, 5, 0x04E8, 0x6860, (2, 3)),
    ]
    ipad, tablet = devices[3], devices[4]
    assert usb.util.get_string(ipad, ipad.iSerialNumber) == "00008030001A2B3C4D5E6F70"
    assert (ipad.manufacturer, ipad.product, ipad.serial_number) == (
        "Apple Inc.", "iPad", "00008030001A2B3C4D5E6F70",
    )  # fmt: skip
    assert ipad.langids == (0x0409,)
    assert tablet.serial_number == "R52W1234ABC"
    assert tablet.parent is not None
    assert tablet.parent.port_numbers == (2,)
    assert tablet.parent.parent.idVendor == 0x1D6B
    assert tablet.parent.parent.parent is None
    # Filters work on descriptor fields, as against libusb.
    found = usb.core.find(idVendor=0x05AC, backend=get_backend(path))
    assert found is not None
    assert found.address == 4


def test_interfaces_and_endpoints(tmp_path: Path) -> None:
    _, path = bus(tmp_path)
    ipad = usb.core.find(idVendor=0x05AC, backend=get_backend(path))
    cfg = ipad.get_active_configuration()
    classes = [(i.bInterfaceClass, i.bInterfaceSubClass, i.bInterfaceProtocol) for i in cfg]
    assert classes == [(0x06, 0x01, 0x01), (0xFF, 0xFE, 0x02)]
    mux = usb.util.find_descriptor(cfg, bInterfaceClass=0xFF, bInterfaceSubClass=0xFE)
    assert usb.util.get_string(ipad, mux.iInterface) == "Apple USB Multiplexor"
    directions = sorted(usb.util.endpoint_direction(e.bEndpointAddress) for e in mux)
    assert directions == [usb.util.ENDPOINT_OUT, usb.util.ENDPOINT_IN]
    # The raw descriptors parse back to the same values.
    raw = usb.control.get_descriptor(ipad, 18, usb.util.DESC_TYPE_DEVICE, 0)
    assert bytes(raw[8:12]) == bytes([0xAC, 0x05, 0xAB, 0x12])
    config = usb.control.get_descriptor(ipad, 255, usb.util.DESC_TYPE_CONFIG, 0)
    assert config[2] | (config[3] << 8) == len(config)
    # usbmuxd holds the mux interface on a real station: claiming it is "busy".
    with pytest.raises(usb.core.USBError) as info:
        usb.util.claim_interface(ipad, mux.bInterfaceNumber)
    assert info.value.errno == errno.EBUSY
    usb.util.dispose_resources(ipad)


def test_unplugged_device_and_bad_requests(tmp_path: Path) -> None:
    topology, path = bus(tmp_path)
    backend = get_backend(path)
    ipad = usb.core.find(idVendor=0x05AC, backend=backend)
    with pytest.raises(usb.core.USBError) as stall:
        usb.util.get_string(ipad, 42)  # no such string: the device stalls
    assert stall.value.errno == errno.EPIPE
    with pytest.raises(usb.core.USBError):
        ipad.ctrl_transfer(0xC0, 0x51, 0, 0, 2)  # a vendor request it does not know
    topology.unplug(topology.hub_ports()[0])
    topology.write_snapshot(path)
    with pytest.raises(usb.core.USBError) as gone:
        ipad.ctrl_transfer(0x80, 0x06, 0x0300, 0, 255)
    assert gone.value.errno == errno.ENODEV
    usb.util.dispose_resources(ipad)
    assert usb.core.find(idVendor=0x05AC, backend=backend) is None
    # A mangled snapshot is an I/O error, as libusb reports an unreadable bus.
    (tmp_path / "bad.json").write_text('{"bus": 1, "devices": [')
    with pytest.raises(usb.core.USBError) as bad:
        list(usb.core.find(find_all=True, backend=get_backend(tmp_path / "bad.json")))
    assert bad.value.errno == errno.EIO
    # No cart running: an empty bus, not a crash.
    assert list(usb.core.find(find_all=True, backend=get_backend(tmp_path / "none.json"))) == []


SCENARIO = """
[slot.2]
recovery = true

[slot.4]
usb_debugging = false
"""


async def test_pyusb_sees_exactly_the_cart(tmp_path: Path) -> None:
    spec = CartSpec(
        ipads=2, androids=2, hubs=2, time_scale=0.01, state_dir=tmp_path / "state",
        scenario=parse_scenario(SCENARIO, "t"),
    )  # fmt: skip
    async with VirtualCart(spec) as cart:
        info = cart.ready_info()
        backend = get_backend(Path(info["usb_snapshot"]))
        devices = await asyncio.to_thread(
            lambda: list(usb.core.find(find_all=True, backend=backend))
        )
        tablets = [d for d in devices if d.bDeviceClass != 0x09]
        assert len(devices) == 1 + 2 + 4
        by_port = {d.port_numbers: d for d in tablets}
        assert set(by_port) == {s.port.port_numbers for s in cart.slots.values()}

        normal, recovery = (by_port[cart.slots[n].port.port_numbers] for n in (1, 2))
        assert (normal.idVendor, normal.idProduct) == (0x05AC, 0x12AB)
        assert (recovery.idVendor, recovery.idProduct) == (0x05AC, 0x1281)
        assert recovery.product == "Apple Mobile Device (Recovery Mode)"
        # usbmuxd sees only the normal iPad, and its LocationID is that USB device's address.
        listed = await usbmux_devices(info["usbmux"])
        assert [d["udid"].replace("-", "") for d in listed] == [normal.serial_number]
        assert listed[0]["location_id"] == (normal.bus << 16) | normal.address

        adb_on, adb_off = (by_port[cart.slots[n].port.port_numbers] for n in (3, 4))

        def interfaces(dev: usb.core.Device) -> set[tuple[int, int, int]]:
            cfg = dev.get_active_configuration()
            return {(i.bInterfaceClass, i.bInterfaceSubClass, i.bInterfaceProtocol) for i in cfg}

        assert (0xFF, 0x42, 0x01) in interfaces(adb_on)
        assert interfaces(adb_off) == {(0x06, 0x01, 0x01)}  # MTP only: debugging is off
        assert cart.adb is not None
        client = AdbClient(host="127.0.0.1", port=cart.adb.port, socket_timeout=20)
        seen = await asyncio.to_thread(client.list, extended=True)
        # adb's devpath is the port path pyusb reports: bus-root.hub
        assert [d.tags["usb"] for d in seen] == [
            f"{adb_on.bus}-{'.'.join(map(str, adb_on.port_numbers))}"
        ]
        assert seen[0].serial == adb_on.serial_number
        for dev in devices:
            usb.util.dispose_resources(dev)

        # Turning debugging on re-enumerates the tablet with the adb interface; the old
        # handle is dead, as after a real re-enumeration.
        serial = adb_off.serial_number
        await cart.allow_usb_debugging(4)
        with pytest.raises(usb.core.USBError) as gone:
            adb_off.ctrl_transfer(0x80, 0x06, 0x0100, 0, 18)
        assert gone.value.errno == errno.ENODEV
        again = usb.core.find(custom_match=lambda d: d.serial_number == serial, backend=backend)
        assert (0xFF, 0x42, 0x01) in interfaces(again)
        assert again.address != adb_off.address
        usb.util.dispose_resources(again)


def test_the_bus_is_parsed_again_only_when_the_snapshot_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scan asks for the bus over and over; the file is parsed once per version of it."""
    from station.sim.usb import backend as backend_module

    topology, path = bus(tmp_path)
    parses: list[int] = []
    parse = backend_module.devices_from_snapshot

    def counted(snapshot: dict[str, object]) -> list[object]:
        parses.append(1)
        return parse(snapshot)  # type: ignore[arg-type, return-value]

    monkeypatch.setattr(backend_module, "devices_from_snapshot", counted)
    sim = get_backend(path)
    for _ in range(3):
        devices = list(usb.core.find(find_all=True, backend=sim))
        tablets = [d for d in devices if d.port_numbers and len(d.port_numbers) == 2]
        assert [d.serial_number for d in tablets] == ["00008030001A2B3C4D5E6F70", "R52W1234ABC"]
    assert len(parses) == 1
    # The tablet is unplugged: the next scan sees it gone, and a device object of it fails.
    tablet = usb.core.find(idVendor=0x04E8, backend=sim)
    assert tablet is not None
    topology.unplug(topology.hub_ports()[16 + 2])
    topology.write_snapshot(path)
    assert usb.core.find(idVendor=0x04E8, backend=sim) is None
    assert len(parses) == 2
    with pytest.raises(usb.core.USBError):
        tablet.ctrl_transfer(0x80, 0x06, 0x0100, 0, 18)
