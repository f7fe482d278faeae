"""The emulated usbmuxd, driven by pymobiledevice3's usbmux client and libusbmuxd (idevice_id)."""

from __future__ import annotations

import asyncio
import logging
import os
import plistlib
import random
import shutil
import socket
import struct
from pathlib import Path
from typing import Any

import pytest
from pymobiledevice3 import usbmux
from pymobiledevice3.exceptions import BadDevError, ConnectionFailedError, NotPairedError
from pymobiledevice3.usbmux import (
    BinaryMuxConnection,
    MuxDevice,
    PlistMuxConnection,
    UsbmuxdDeviceRecord,
    UsbmuxdRemoveData,
    parse_usbmuxd_response,
)

from station.sim.inspect import usbmux_devices
from station.sim.ios.device import PairedHost
from station.sim.ios.framing import read_plist, write_plist
from station.sim.ios.pairing import generate_device_identities
from station.sim.ios.services import ServiceContext
from station.sim.ios.usbmux import UsbmuxServer
from tests.sim.ios_fixtures import Cart, make_ipad, running_cart

pytestmark = pytest.mark.timeout(60)


class RawClient:
    """A hand-rolled usbmuxd client, for what the libraries never send."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    @classmethod
    async def open(cls, server: UsbmuxServer) -> RawClient:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, server.address)
        return cls(sock)

    async def send(self, data: bytes) -> None:
        await asyncio.get_running_loop().sock_sendall(self.sock, data)

    async def send_packet(self, version: int, message: int, tag: int, payload: bytes = b"") -> None:
        await self.send(struct.pack("<IIII", 16 + len(payload), version, message, tag) + payload)

    async def send_plist(self, value: dict[str, Any], tag: int = 1) -> None:
        await self.send_packet(1, 8, tag, plistlib.dumps(value))

    async def recv_exactly(self, size: int) -> bytes:
        data = b""
        loop = asyncio.get_running_loop()
        while len(data) < size:
            chunk = await asyncio.wait_for(loop.sock_recv(self.sock, size - len(data)), 5)
            if not chunk:
                raise EOFError
            data += chunk
        return data

    async def recv(self) -> tuple[int, int, int, bytes]:
        length, version, message, tag = struct.unpack("<IIII", await self.recv_exactly(16))
        return version, message, tag, await self.recv_exactly(length - 16)

    async def recv_plist(self) -> tuple[int, dict[str, Any]]:
        version, message, tag, payload = await self.recv()
        assert (version, message) == (1, 8)
        value: dict[str, Any] = plistlib.loads(payload)
        return tag, value

    async def closed(self) -> bool:
        data = await asyncio.wait_for(asyncio.get_running_loop().sock_recv(self.sock, 100), 5)
        return data == b""

    def close(self) -> None:
        self.sock.close()


async def test_list_devices_properties(tmp_path: Path) -> None:
    ipads = [make_ipad(0), make_ipad(1, product_type="iPad12,1")]
    async with running_cart(tmp_path, []) as cart:
        ids = [cart.plug(ipads[0], 0x01120000), cart.plug(ipads[1], 0x01130000)]
        devices = await usbmux.list_devices(usbmux_address=cart.address)
        assert [(d.devid, d.serial, d.connection_type) for d in devices] == [
            (ids[0], ipads[0].udid, "USB"),
            (ids[1], ipads[1].udid, "USB"),
        ]
        assert devices[0].ecid == ipads[0].ecid
        raw = await RawClient.open(cart.server)
        await raw.send_plist({"MessageType": "ListDevices"}, tag=42)
        tag, reply = await raw.recv_plist()
        raw.close()
        assert tag == 42
        first = reply["DeviceList"][0]
        assert first["MessageType"] == "Attached"
        assert first["Properties"] == {
            "ConnectionSpeed": 480000000,
            "ConnectionType": "USB",
            "DeviceID": ids[0],
            "LocationID": 0x01120000,
            "ProductID": ipads[0].model.usb_product_id,
            "SerialNumber": ipads[0].udid,
            "USBSerialNumber": ipads[0].udid.replace("-", ""),
        }
        mux = await usbmux.create_mux(usbmux_address=cart.address)
        assert isinstance(mux, PlistMuxConnection)
        async with mux:
            assert await mux.get_buid() == cart.server.buid


async def test_listen_attach_detach_paired_and_erase(tmp_path: Path) -> None:
    ipad = make_ipad(0)
    async with running_cart(tmp_path, [ipad]) as cart:
        first_id = cart.server.device_ids()[ipad.udid]
        mux = await usbmux.create_mux(usbmux_address=cart.address)
        assert isinstance(mux, PlistMuxConnection)
        async with mux:
            await mux.listen()
            await asyncio.wait_for(mux.receive_device_state_update(), 5)
            assert [(d.devid, d.serial) for d in mux.devices] == [(first_id, ipad.udid)]

            other = make_ipad(1)
            other_id = cart.plug(other)
            await asyncio.wait_for(mux.receive_device_state_update(), 5)
            assert mux.devices[-1] == MuxDevice(other_id, other.udid, "USB")
            cart.server.detach(other.udid)
            await asyncio.wait_for(mux.receive_device_state_update(), 5)
            assert [d.devid for d in mux.devices] == [first_id]

            # what the iPad had before the erase
            ipad.device_name = "Room 12"
            ipad.activation_state = "Activated"
            reboot = asyncio.create_task(cart.server.reboot(ipad.udid, erase=True))
            await asyncio.wait_for(mux.receive_device_state_update(), 5)
            assert mux.devices == []  # Detached
            await asyncio.wait_for(mux.receive_device_state_update(), 5)
            await reboot
            (device,) = mux.devices  # Attached again, under a new DeviceID
            assert device.serial == ipad.udid
            assert device.devid not in (first_id, other_id)
            assert ipad.device_name == "iPad"
            assert ipad.activation_state == "Unactivated"
            assert cart.saved_state(ipad)["device_name"] == "iPad"
            assert cart.server.device_ids() == {ipad.udid: device.devid}

        raw = await RawClient.open(cart.server)
        await raw.send_plist({"MessageType": "Listen", "ProgName": "test"}, tag=5)
        assert (await raw.recv_plist())[1] == {"MessageType": "Result", "Number": 0}
        assert (await raw.recv_plist())[1]["MessageType"] == "Attached"
        lister = await RawClient.open(cart.server)
        await lister.send_plist({"MessageType": "ListListeners"})
        listeners = (await lister.recv_plist())[1]["ListenerList"]
        lister.close()
        assert [entry["ProgName"] for entry in listeners] == ["test"]
        # a pair record saved for a connected DeviceID is announced as Paired
        await _save_record(cart, ipad.udid, cart.server.device_ids()[ipad.udid])
        _, paired = await raw.recv_plist()
        assert paired == {"MessageType": "Paired", "DeviceID": cart.server.device_ids()[ipad.udid]}
        # any command on a listening connection: BADCOMMAND, then close (as usbmuxd)
        await raw.send_plist({"MessageType": "ListDevices"}, tag=6)
        assert (await raw.recv_plist()) == (6, {"MessageType": "Result", "Number": 1})
        assert await raw.closed()
        raw.close()


async def _save_record(cart: Cart, udid: str, device_id: int) -> None:
    mux = await usbmux.create_mux(usbmux_address=cart.address)
    assert isinstance(mux, PlistMuxConnection)
    async with mux:
        await mux.save_pair_record(
            udid, device_id, plistlib.dumps({"HostID": "H", "SystemBUID": "B"})
        )


async def test_pair_records_persist(tmp_path: Path) -> None:
    ipad = make_ipad(0)
    async with running_cart(tmp_path, [ipad]) as cart:
        mux = await usbmux.create_mux(usbmux_address=cart.address)
        assert isinstance(mux, PlistMuxConnection)
        async with mux:
            with pytest.raises(NotPairedError):
                await mux.get_pair_record(ipad.udid)
        await _save_record(cart, ipad.udid, cart.server.device_ids()[ipad.udid])
    async with running_cart(tmp_path, [ipad]) as cart:  # emulator restarted
        mux = await usbmux.create_mux(usbmux_address=cart.address)
        assert isinstance(mux, PlistMuxConnection)
        async with mux:
            assert await mux.get_pair_record(ipad.udid) == {"HostID": "H", "SystemBUID": "B"}
        raw = await RawClient.open(cart.server)
        await raw.send_plist({"MessageType": "DeletePairRecord", "PairRecordID": ipad.udid})
        assert (await raw.recv_plist())[1]["Number"] == 0
        await raw.send_plist({"MessageType": "ReadPairRecord", "PairRecordID": ipad.udid})
        assert (await raw.recv_plist())[1] == {"MessageType": "Result", "Number": 2}
        await raw.send_plist(
            {
                "MessageType": "SavePairRecord",
                "PairRecordID": "x",
                "PairRecordData": b"junkjunkjunk",
            }
        )
        assert (await raw.recv_plist())[1]["Number"] == 22  # EINVAL
        raw.close()
    async with running_cart(tmp_path, [ipad]) as cart:
        mux = await usbmux.create_mux(usbmux_address=cart.address)
        assert isinstance(mux, PlistMuxConnection)
        async with mux:
            with pytest.raises(NotPairedError):
                await mux.get_pair_record(ipad.udid)


async def test_connect_errors(tmp_path: Path) -> None:
    ipad = make_ipad(0)
    async with running_cart(tmp_path, [ipad]) as cart:
        device_id = cart.server.device_ids()[ipad.udid]
        with pytest.raises(BadDevError):
            await MuxDevice(device_id + 100, ipad.udid, "USB").connect(62078, cart.address)
        with pytest.raises(ConnectionFailedError):
            await MuxDevice(device_id, ipad.udid, "USB").connect(1234, cart.address)
        sock = await MuxDevice(device_id, ipad.udid, "USB").connect(62078, cart.address)
        try:
            loop = asyncio.get_running_loop()
            body = plistlib.dumps({"Request": "QueryType"})
            await loop.sock_sendall(sock, struct.pack(">I", len(body)) + body)
            reply = await _read_prefixed(sock)
            assert reply == {"Request": "QueryType", "Type": "com.apple.mobile.lockdown"}
        finally:
            sock.close()


async def _read_prefixed(sock: socket.socket) -> dict[str, Any]:
    loop = asyncio.get_running_loop()

    async def exactly(size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = await asyncio.wait_for(loop.sock_recv(sock, size - len(data)), 5)
            assert chunk
            data += chunk
        return data

    (length,) = struct.unpack(">I", await exactly(4))
    value: dict[str, Any] = plistlib.loads(await exactly(length))
    return value


async def test_binary_protocol_clients(tmp_path: Path) -> None:
    ipad = make_ipad(0)
    async with running_cart(tmp_path, [ipad]) as cart:
        device_id = cart.server.device_ids()[ipad.udid]
        sock = await usbmux.MuxConnection.create_usbmux_socket(cart.address)
        async with BinaryMuxConnection(sock) as mux:
            await mux.listen()
            await asyncio.wait_for(mux.receive_device_state_update(), 5)
            assert mux.devices == [MuxDevice(device_id, ipad.udid, "USB")]
            cart.server.detach(ipad.udid)
            await asyncio.wait_for(mux.receive_device_state_update(), 5)
            assert mux.devices == []
            new_id = cart.plug(ipad)
        sock = await usbmux.MuxConnection.create_usbmux_socket(cart.address)
        async with BinaryMuxConnection(sock) as mux:
            lockdown = await mux.connect(MuxDevice(new_id, ipad.udid, "USB"), 62078)
            body = plistlib.dumps({"Request": "QueryType"})
            await asyncio.get_running_loop().sock_sendall(
                lockdown, struct.pack(">I", len(body)) + body
            )
            assert (await _read_prefixed(lockdown))["Type"] == "com.apple.mobile.lockdown"
        # the raw records a version-0 client gets
        raw = await RawClient.open(cart.server)
        await raw.send_packet(0, 3, 9)
        version, message, tag, payload = await raw.recv()
        assert (version, message, tag, payload) == (0, 1, 9, struct.pack("<I", 0))
        version, message, tag, payload = await raw.recv()
        record = parse_usbmuxd_response(
            struct.pack("<IIII", 16 + len(payload), version, message, tag) + payload
        )
        assert isinstance(record.data, UsbmuxdDeviceRecord)
        assert (record.data.device_id, record.data.serial_number) == (new_id, ipad.udid)
        assert record.data.product_id == ipad.model.usb_product_id
        cart.server.detach(ipad.udid)
        version, message, tag, payload = await raw.recv()
        removed = parse_usbmuxd_response(
            struct.pack("<IIII", 16 + len(payload), version, message, tag) + payload
        )
        assert isinstance(removed.data, UsbmuxdRemoveData)
        assert removed.data.device_id == new_id
        raw.close()


async def test_hostile_clients_do_not_take_it_down(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ipad = make_ipad(0)
    async with running_cart(tmp_path, [ipad]) as cart:
        device_id = cart.server.device_ids()[ipad.udid]
        # a header that claims less than itself: closed
        raw = await RawClient.open(cart.server)
        await raw.send(struct.pack("<IIII", 8, 1, 8, 1))
        assert await raw.closed()
        raw.close()
        # a header that claims 1 GiB: closed
        raw = await RawClient.open(cart.server)
        await raw.send(struct.pack("<IIII", 1 << 30, 1, 8, 1))
        assert await raw.closed()
        raw.close()
        # a plist message whose body is not a plist: closed
        raw = await RawClient.open(cart.server)
        await raw.send_packet(1, 8, 1, b"\x00garbage\xff" * 10)
        assert await raw.closed()
        raw.close()
        # an unknown MessageType and an unknown binary message: BADCOMMAND, still served
        raw = await RawClient.open(cart.server)
        await raw.send_plist({"MessageType": "FormatDisk"}, tag=3)
        assert await raw.recv_plist() == (3, {"MessageType": "Result", "Number": 1})
        await raw.send_packet(1, 77, 4)
        assert await raw.recv_plist() == (4, {"MessageType": "Result", "Number": 1})
        await raw.send_plist({"MessageType": "ReadBUID"}, tag=5)
        assert (await raw.recv_plist())[1] == {"BUID": cart.server.buid}
        raw.close()
        # a protocol version usbmuxd does not know: BADVERSION in binary
        raw = await RawClient.open(cart.server)
        await raw.send_packet(7, 8, 11, plistlib.dumps({"MessageType": "ListDevices"}))
        assert await raw.recv() == (0, 1, 11, struct.pack("<I", 6))
        raw.close()
        # half a header, then gone; a client gone right after Connect
        raw = await RawClient.open(cart.server)
        await raw.send(b"\x10\x00\x00")
        raw.close()
        for _ in range(3):
            sock = await MuxDevice(device_id, ipad.udid, "USB").connect(62078, cart.address)
            sock.close()
        sock = await MuxDevice(device_id, ipad.udid, "USB").connect(62078, cart.address)
        body = plistlib.dumps({"Request": "QueryType"})
        await asyncio.get_running_loop().sock_sendall(
            sock, struct.pack(">I", len(body)) + body[:10]
        )
        sock.close()
        # and everyone else is still served
        devices = await usbmux.list_devices(usbmux_address=cart.address)
        assert [d.serial for d in devices] == [ipad.udid]
        sock = await devices[0].connect(62078, cart.address)
        await asyncio.get_running_loop().sock_sendall(sock, struct.pack(">I", len(body)) + body)
        assert (await _read_prefixed(sock))["Request"] == "QueryType"
        sock.close()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_detach_drops_open_connections(tmp_path: Path) -> None:
    ipad = make_ipad(0)
    async with running_cart(tmp_path, [ipad]) as cart:
        device_id = cart.server.device_ids()[ipad.udid]
        sock = await MuxDevice(device_id, ipad.udid, "USB").connect(62078, cart.address)
        try:
            cart.server.detach(ipad.udid)
            data = await asyncio.wait_for(asyncio.get_running_loop().sock_recv(sock, 10), 5)
            assert data == b""
        except ConnectionResetError:
            pass  # a pulled cable may also look like a reset
        finally:
            sock.close()
        with pytest.raises(BadDevError):
            await MuxDevice(device_id, ipad.udid, "USB").connect(62078, cart.address)


@pytest.mark.skipif(shutil.which("idevice_id") is None, reason="libimobiledevice-utils missing")
async def test_idevice_id_lists_the_cart(tmp_path: Path) -> None:
    ipads = [make_ipad(i) for i in range(3)]
    async with running_cart(tmp_path, ipads) as cart:
        proc = await asyncio.create_subprocess_exec(
            "idevice_id",
            "-l",
            env={**os.environ, "USBMUXD_SOCKET_ADDRESS": cart.address},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err
        assert sorted(out.decode().split()) == sorted(ipad.udid for ipad in ipads)


async def _erase_service(ctx: ServiceContext) -> None:
    """Stands in for MCInstall's EraseDevice: acknowledge, then the device restarts."""
    await read_plist(ctx.reader)
    await write_plist(ctx.writer, {"Status": "Acknowledged"})
    ctx.host.schedule_restart(erase=True)
    await ctx.reader.read()  # the connection drops when the device goes


async def test_service_restarts_device(tmp_path: Path) -> None:
    ipad = make_ipad(0)
    ipad.paired_hosts["HOST"] = PairedHost("HOST", "BUID", "cert", "root")
    async with running_cart(tmp_path, [ipad], {"com.example.erase": _erase_service}) as cart:
        first_id = cart.server.device_ids()[ipad.udid]
        mux = await usbmux.create_mux(usbmux_address=cart.address)
        assert isinstance(mux, PlistMuxConnection)
        async with mux:
            await mux.listen()
            await asyncio.wait_for(mux.receive_device_state_update(), 5)
            dev = cart.server._devices[ipad.udid]
            port = dev._open_service("com.example.erase", False)
            assert port is not None
            sock = await MuxDevice(first_id, ipad.udid, "USB").connect(port, cart.address)
            body = plistlib.dumps({"RequestType": "EraseDevice"})
            await asyncio.get_running_loop().sock_sendall(sock, struct.pack(">I", len(body)) + body)
            assert (await _read_prefixed(sock)) == {"Status": "Acknowledged"}
            await asyncio.wait_for(mux.receive_device_state_update(), 5)  # Detached
            assert mux.devices == []
            sock.close()
            await asyncio.wait_for(mux.receive_device_state_update(), 5)  # back, erased
            (device,) = mux.devices
            assert device.devid != first_id
            assert ipad.paired_hosts == {}
            assert ipad.boot_count == 2


async def test_device_identities_in_threads() -> None:
    identities = await generate_device_identities(3)
    assert len({i.private_key_pem for i in identities}) == 3
    assert all("BEGIN CERTIFICATE" in i.certificate_pem for i in identities)


async def test_random_garbage_never_takes_it_down(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(1234)
    ipad = make_ipad(0)
    async with running_cart(tmp_path, [ipad]) as cart:
        for _ in range(60):
            raw = await RawClient.open(cart.server)
            size = rng.randrange(1, 80)
            junk = bytes(rng.randrange(256) for _ in range(size))
            if rng.random() < 0.5:  # a plausible header in front of the junk
                junk = (
                    struct.pack("<IIII", 16 + size, rng.choice((0, 1, 2)), rng.randrange(10), 1)
                    + junk
                )
            await raw.send(junk)
            raw.close()
        devices = await usbmux.list_devices(usbmux_address=cart.address)
        assert [d.serial for d in devices] == [ipad.udid]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_restart_asks_where_the_ipad_came_back(tmp_path: Path) -> None:
    kept, moved = make_ipad(0), make_ipad(1)
    async with running_cart(tmp_path, [kept]) as cart:
        cart.ipads[moved.udid] = moved
        addresses = iter(range(0x00010005, 0x00010010))
        asked: list[int] = []

        def relocate() -> int:
            asked.append(next(addresses))
            return asked[-1]

        cart.server.attach(
            moved,
            location_id=0x00010004,
            link=cart.link,
            data_dir=cart.data_dir(moved),
            save=cart.save,
            relocate=relocate,
        )
        sock = await usbmux.MuxConnection.create_usbmux_socket(cart.address)
        async with BinaryMuxConnection(sock) as mux:
            await mux.listen()

            async def next_record() -> Any:
                return (await asyncio.wait_for(mux._receive_response(), 5)).data

            first = {(await next_record()).serial_number for _ in range(2)}
            assert first == {kept.udid, moved.udid}
            for ipad in (moved, moved, kept):  # an erase, a reboot, one without relocate
                before = {d["udid"]: d["location_id"] for d in await usbmux_devices(cart.address)}
                restart = asyncio.create_task(cart.server.reboot(ipad.udid, erase=ipad is moved))
                assert isinstance(await next_record(), UsbmuxdRemoveData)
                back = await next_record()
                await restart
                assert isinstance(back, UsbmuxdDeviceRecord)
                assert back.serial_number == ipad.udid
                # The Attached record and ListDevices both carry the LocationID now in force.
                listed = {d["udid"]: d["location_id"] for d in await usbmux_devices(cart.address)}
                assert listed[ipad.udid] == back.location
                if ipad is moved:
                    assert back.location == asked[-1] != before[ipad.udid]
                else:
                    assert back.location == before[ipad.udid] == 0x01100001
        assert len(asked) == 2
