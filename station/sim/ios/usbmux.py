"""Emulated usbmuxd on TCP loopback: the device list, pair records and Connect to device ports.

Speaks the real protocol (16-byte little-endian header, XML plists for version-1 clients and
the binary records for version-0 ones), so pymobiledevice3 and libusbmuxd (idevice_id,
ideviceinfo) run unchanged with ``USBMUXD_SOCKET_ADDRESS=127.0.0.1:PORT``. Behaviour follows
libimobiledevice's usbmuxd (``src/client.c``): results are echoed with the client's tag in the
client's protocol version, a request over 64 KiB or under 16 bytes closes that client, and
after ``Connect`` answers Result 0 the socket is a raw pipe to the device port: lockdownd on
62078 or a service port that lockdownd's StartService opened.

One difference from libimobiledevice's usbmuxd: a PLIST message whose body does not parse, or
has no MessageType, closes the client (usbmuxd drops it silently and leaves the client hanging).
"""

from __future__ import annotations

import asyncio
import logging
import plistlib
import secrets
import socket
import struct
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from station.sim.bandwidth import HubLink
from station.sim.clock import SimClock
from station.sim.ios.device import VirtualIPad
from station.sim.ios.lockdown import LOCKDOWN_PORT, Lockdownd
from station.sim.ios.services import ServiceContext, ServiceTable
from station.sim.serving import Connections

log = logging.getLogger("station.sim.ios.usbmux")

HEADER = struct.Struct("<IIII")  # length, version, message, tag
MAX_REQUEST = 0x10000  # usbmuxd's CMD_BUF_SIZE
CONNECTION_SPEED = 480_000_000  # USB 2.0 high speed, what usbmuxd reports for iPads
PAIR_RECORD_FILE = "usbmuxd-pair-record.plist"

# message types
MSG_RESULT, MSG_CONNECT, MSG_LISTEN, MSG_ADD, MSG_REMOVE, MSG_PAIRED, MSG_PLIST = (
    1,
    2,
    3,
    4,
    5,
    6,
    8,
)
# result numbers (usbmuxd answers errno values for pair records: ENOENT 2, EINVAL 22)
RESULT_OK, RESULT_BADCOMMAND, RESULT_BADDEV, RESULT_CONNREFUSED, RESULT_BADVERSION = 0, 1, 2, 3, 6
ENOENT, EINVAL = 2, 22


class _Drop(Exception):
    """The client sent something usbmuxd closes the connection for."""


@dataclass(eq=False)
class _MuxClient:
    writer: asyncio.StreamWriter
    number: int
    proto_version: int = 0
    listening: bool = False
    info: dict[str, Any] = field(default_factory=dict)

    def send(self, message: int, tag: int, payload: bytes) -> None:
        if self.writer.is_closing():
            return
        self.writer.write(
            HEADER.pack(HEADER.size + len(payload), self.proto_version, message, tag) + payload
        )

    def send_plist(self, tag: int, value: dict[str, Any]) -> None:
        self.send(MSG_PLIST, tag, plistlib.dumps(value, fmt=plistlib.FMT_XML))

    def send_result(self, tag: int, number: int) -> None:
        if self.proto_version == 1:
            self.send_plist(tag, {"MessageType": "Result", "Number": number})
        else:
            self.send(MSG_RESULT, tag, struct.pack("<I", number))


class _Attached:
    """One iPad on the cart as usbmuxd sees it; also the DeviceHost its services get."""

    def __init__(
        self,
        server: UsbmuxServer,
        ipad: VirtualIPad,
        *,
        device_id: int,
        location_id: int,
        link: HubLink,
        data_dir: Path,
        save: Callable[[VirtualIPad], None],
        relocate: Callable[[], int] | None,
    ) -> None:
        self.server = server
        self.ipad = ipad
        self.device_id = device_id
        self.location_id = location_id
        self.link = link
        self.data_dir = data_dir
        self._save_cb = save
        self.relocate = relocate
        self.ports: dict[int, tuple[str, bool]] = {}
        self.connections: set[asyncio.StreamWriter] = set()
        self.lockdownd = Lockdownd(
            ipad,
            save=self.save,
            notify_paired=lambda: server._notify_paired(self),
            open_service=self._open_service,
        )

    # DeviceHost
    def save(self) -> None:
        self._save_cb(self.ipad)

    def schedule_restart(self, *, erase: bool) -> None:
        self.server._start_reboot(self.ipad.udid, erase=erase)

    def _open_service(self, service: str, escrow_bag_given: bool) -> int | None:
        if service not in self.server._services:
            return None
        while True:
            # A dynamic port, never lockdownd's own (62078 is in the range): a client sent
            # there would reach lockdownd and get "MissingRequest" for its service's request.
            port = 49152 + secrets.randbelow(65535 - 49152)
            if port not in self.ports and port != LOCKDOWN_PORT:
                break
        self.ports[port] = (service, escrow_bag_given)
        return port

    def attached_plist(self) -> dict[str, Any]:
        udid = self.ipad.udid
        return {
            "MessageType": "Attached",
            "DeviceID": self.device_id,
            "Properties": {
                "ConnectionSpeed": CONNECTION_SPEED,
                "ConnectionType": "USB",
                "DeviceID": self.device_id,
                "LocationID": self.location_id,
                "ProductID": self.ipad.model.usb_product_id,
                "SerialNumber": udid,
                "USBSerialNumber": udid.replace("-", ""),
            },
        }

    def binary_record(self) -> bytes:
        serial = self.ipad.udid.encode()[:255].ljust(256, b"\0")
        return (
            struct.pack("<IH", self.device_id, self.ipad.model.usb_product_id)
            + serial
            + struct.pack("<HI", 0, self.location_id)
        )


class UsbmuxServer:
    """usbmuxd for the virtual cart; iPads come and go with :meth:`attach` / :meth:`detach`."""

    def __init__(
        self,
        *,
        clock: SimClock,
        services: ServiceTable,
        host: str = "127.0.0.1",
        port: int = 0,
        buid: str | None = None,
    ) -> None:
        self._clock = clock
        self._services = services
        self._host = host
        self._port = port
        self.buid = buid or str(uuid.uuid4()).upper()
        self._server: asyncio.Server | None = None
        self._address: tuple[str, int] | None = None
        self._devices: dict[str, _Attached] = {}
        self._clients: set[_MuxClient] = set()
        self._connections = Connections(self._on_client, name="usbmuxd")
        self._reboots: dict[str, asyncio.Task[None]] = {}
        self._pair_records: dict[str, bytes] = {}
        self._next_device_id = 1
        self._client_number = 0

    # --- lifecycle ---

    async def start(self) -> None:
        self._server = await self._connections.start_server(self._host, self._port)
        sockname = self._server.sockets[0].getsockname()
        self._address = (sockname[0], sockname[1])
        log.info("usbmuxd listening on %s:%d", *self._address)

    async def stop(self) -> None:
        """Stop listening, drop every client connection and cancel pending reboots."""
        reboots = list(self._reboots.values())
        for task in reboots:
            task.cancel()
        # Every connection ever accepted ends here, the ones accepted as it stops included.
        await self._connections.close(self._server, abort=True)
        self._server = None
        if reboots:
            await asyncio.gather(*reboots, return_exceptions=True)

    @property
    def address(self) -> tuple[str, int]:
        if self._address is None:
            raise RuntimeError("usbmuxd is not started")
        return self._address

    @property
    def socket_address(self) -> str:
        """The ``USBMUXD_SOCKET_ADDRESS`` value both pymobiledevice3 and libusbmuxd accept."""
        host, port = self.address
        return f"{host}:{port}"

    # --- the cart ---

    def attach(
        self,
        ipad: VirtualIPad,
        *,
        location_id: int,
        link: HubLink,
        data_dir: Path,
        save: Callable[[VirtualIPad], None],
        relocate: Callable[[], int] | None = None,
    ) -> int:
        """Plug an iPad in: it gets a new DeviceID and listeners get Attached.

        ``relocate`` is asked for the LocationID when the iPad comes back from restarting by
        itself (erase, reboot): a re-enumerated device gets a new bus address on Linux. Without
        it the iPad keeps ``location_id``.
        """
        if ipad.udid in self._devices:
            raise ValueError(f"{ipad.udid} is already attached")
        device_id = self._new_device_id()
        ipad.trust_prompt_open = False  # a prompt does not survive unplugging or a reboot
        dev = _Attached(
            self,
            ipad,
            device_id=device_id,
            location_id=location_id,
            link=link,
            data_dir=data_dir,
            save=save,
            relocate=relocate,
        )
        self._devices[ipad.udid] = dev
        stored = data_dir / PAIR_RECORD_FILE
        if ipad.udid not in self._pair_records and stored.is_file():
            self._pair_records[ipad.udid] = stored.read_bytes()
        for client in self._listeners():
            self._send_attached(client, dev)
        log.info("attached %s as device %d at 0x%08x", ipad.udid, device_id, location_id)
        return device_id

    def detach(self, udid: str) -> None:
        """Pull the cable: Detached to listeners, the device's open connections drop."""
        task = self._reboots.get(udid)
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        self._unplug(udid)

    def _unplug(self, udid: str) -> _Attached:
        dev = self._devices.pop(udid)
        for client in self._listeners():
            if client.proto_version == 1:
                client.send_plist(0, {"MessageType": "Detached", "DeviceID": dev.device_id})
            else:
                client.send(MSG_REMOVE, 0, struct.pack("<I", dev.device_id))
        for writer in list(dev.connections):
            writer.transport.abort()
        dev.ports.clear()
        log.info("detached %s (device %d)", udid, dev.device_id)
        return dev

    def drop_connections(self, udid: str) -> None:
        """The iPad's daemons restart: every open connection to it ends, it stays attached."""
        dev = self._devices[udid]
        for writer in list(dev.connections):
            writer.transport.abort()
        dev.ports.clear()

    def sessions_started(self, udid: str) -> int:
        """Lockdown sessions hosts have started on this attachment of the iPad."""
        return self._devices[udid].lockdownd.sessions_started

    def device_ids(self) -> dict[str, int]:
        return {udid: dev.device_id for udid, dev in self._devices.items()}

    def accept_trust(self, udid: str) -> None:
        """The person at the iPad taps Trust on the prompt a Pair request opened."""
        self._devices[udid].lockdownd.accept_trust()

    def deny_trust(self, udid: str) -> None:
        self._devices[udid].lockdownd.deny_trust()

    def trust_prompt_open(self, udid: str) -> bool:
        return self._devices[udid].lockdownd.trust_prompt_open

    async def reboot(self, udid: str, *, erase: bool = False) -> None:
        """Detach, (erase,) boot for the model's time and re-attach with a new DeviceID.

        The LocationID comes from the ``relocate`` given at attach, if any (a new bus address).
        """
        dev = self._unplug(udid)
        ipad = dev.ipad
        if erase:
            await self._clock.sleep(ipad.model.erase_seconds)
            ipad.erase()
        else:
            ipad.boot_count += 1
        dev.save()
        await self._clock.sleep(ipad.model.boot_seconds)
        location_id = dev.relocate() if dev.relocate is not None else dev.location_id
        self.attach(
            ipad,
            location_id=location_id,
            link=dev.link,
            data_dir=dev.data_dir,
            save=dev._save_cb,
            relocate=dev.relocate,
        )

    def _start_reboot(self, udid: str, *, erase: bool) -> None:
        if udid in self._reboots:
            return
        task = asyncio.get_running_loop().create_task(self.reboot(udid, erase=erase))
        self._reboots[udid] = task
        task.add_done_callback(lambda _: self._reboots.pop(udid, None))

    # --- internals ---

    def _new_device_id(self) -> int:
        used = {dev.device_id for dev in self._devices.values()}
        while self._next_device_id in used:
            self._next_device_id += 1
        device_id = self._next_device_id
        self._next_device_id += 1
        return device_id

    def _listeners(self) -> list[_MuxClient]:
        return [c for c in self._clients if c.listening]

    def _send_attached(self, client: _MuxClient, dev: _Attached) -> None:
        if client.proto_version == 1:
            client.send_plist(0, dev.attached_plist())
        else:
            client.send(MSG_ADD, 0, dev.binary_record())

    def _notify_paired(self, dev: _Attached) -> None:
        for client in self._listeners():
            if client.proto_version == 1:
                client.send_plist(0, {"MessageType": "Paired", "DeviceID": dev.device_id})
            else:
                client.send(MSG_PAIRED, 0, struct.pack("<I", dev.device_id))

    def _device_by_id(self, device_id: int) -> _Attached | None:
        for dev in self._devices.values():
            if dev.device_id == device_id:
                return dev
        return None

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._client_number += 1
        client = _MuxClient(writer, self._client_number)
        self._clients.add(client)
        try:
            await self._serve(client, reader, writer)
        except (_Drop, ConnectionError, asyncio.IncompleteReadError) as exc:
            log.debug("usbmux client %d closed: %s", client.number, exc)
        finally:
            self._clients.discard(client)
            writer.close()
            with suppress(ConnectionError, asyncio.TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _serve(
        self, client: _MuxClient, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while True:
            try:
                header = await reader.readexactly(HEADER.size)
            except asyncio.IncompleteReadError:
                return
            length, version, message, tag = HEADER.unpack(header)
            if length < HEADER.size or length > MAX_REQUEST:
                raise _Drop(f"request length {length}")
            payload = await reader.readexactly(length - HEADER.size)
            if client.listening:
                # usbmuxd: a command on a listening connection gets BADCOMMAND, then close
                client.send_result(tag, RESULT_BADCOMMAND)
                await writer.drain()
                raise _Drop("command while listening")
            if version not in (0, 1):
                client.send_result(tag, RESULT_BADVERSION)
            elif message == MSG_PLIST:
                client.proto_version = 1
                target = self._plist_command(client, tag, payload)
                if target is not None:
                    await writer.drain()
                    await self._pipe(target, reader, writer)
                    return
            elif message == MSG_LISTEN:
                self._start_listen(client, tag)
            elif message == MSG_CONNECT:
                if len(payload) < 8:
                    raise _Drop("short CONNECT")
                device_id, port_be = struct.unpack("<IH", payload[:6])
                target = self._connect(client, tag, device_id, socket.ntohs(port_be))
                if target is not None:
                    await writer.drain()
                    await self._pipe(target, reader, writer)
                    return
            else:
                client.send_result(tag, RESULT_BADCOMMAND)
            await writer.drain()

    def _start_listen(self, client: _MuxClient, tag: int) -> None:
        client.send_result(tag, RESULT_OK)
        client.listening = True
        for dev in self._devices.values():
            self._send_attached(client, dev)

    def _plist_command(
        self, client: _MuxClient, tag: int, payload: bytes
    ) -> tuple[_Attached, int] | None:
        try:
            request = plistlib.loads(payload)
        except Exception as exc:  # boundary: plistlib raises several unrelated types on garbage
            raise _Drop(f"unparsable plist: {exc}") from exc
        if not isinstance(request, dict) or not isinstance(request.get("MessageType"), str):
            raise _Drop("plist without MessageType")
        for key in ("BundleID", "ClientVersionString", "ProgName", "kLibUSBMuxVersion"):
            if key in request:
                client.info[key] = request[key]
        kind = request["MessageType"]
        if kind == "Listen":
            self._start_listen(client, tag)
        elif kind == "Connect":
            device_id = request.get("DeviceID")
            port = request.get("PortNumber")
            if not isinstance(device_id, int):
                client.send_result(tag, RESULT_BADDEV)
            elif not isinstance(port, int):
                client.send_result(tag, RESULT_BADCOMMAND)
            else:
                return self._connect(client, tag, device_id, socket.ntohs(port & 0xFFFF))
        elif kind == "ListDevices":
            devices = [dev.attached_plist() for dev in self._devices.values()]
            client.send_plist(tag, {"DeviceList": devices})
        elif kind == "ListListeners":
            client.send_plist(
                tag, {"ListenerList": [self._listener_info(c) for c in self._listeners()]}
            )
        elif kind == "ReadBUID":
            client.send_plist(tag, {"BUID": self.buid})
        elif kind == "ReadPairRecord":
            record_id = request.get("PairRecordID")
            if not isinstance(record_id, str):
                client.send_result(tag, EINVAL)
            elif record_id not in self._pair_records:
                client.send_result(tag, ENOENT)
            else:
                client.send_plist(tag, {"PairRecordData": self._pair_records[record_id]})
        elif kind == "SavePairRecord":
            client.send_result(tag, self._save_pair_record(request))
        elif kind == "DeletePairRecord":
            record_id = request.get("PairRecordID")
            if not isinstance(record_id, str):
                client.send_result(tag, EINVAL)
            else:
                self._pair_records.pop(record_id, None)
                dev = self._devices.get(record_id)
                if dev is not None:
                    (dev.data_dir / PAIR_RECORD_FILE).unlink(missing_ok=True)
                client.send_result(tag, RESULT_OK)
        else:
            client.send_result(tag, RESULT_BADCOMMAND)
        return None

    def _listener_info(self, client: _MuxClient) -> dict[str, Any]:
        prog = str(client.info.get("ProgName", "unknown"))
        info: dict[str, Any] = {
            "Blacklisted": False,
            "ConnType": 0,
            "ID String": f"{client.number}-{prog}",
            "ProgName": prog,
            "kLibUSBMuxVersion": int(client.info.get("kLibUSBMuxVersion", 0)),
        }
        if "BundleID" in client.info:
            info["BundleID"] = client.info["BundleID"]
        return info

    def _save_pair_record(self, request: dict[str, Any]) -> int:
        record_id = request.get("PairRecordID")
        data = request.get("PairRecordData")
        if not isinstance(record_id, str) or not isinstance(data, bytes) or len(data) < 8:
            return EINVAL
        try:
            record = plistlib.loads(data)
        except Exception:  # boundary: plistlib raises several unrelated types on garbage
            return EINVAL
        if not isinstance(record, dict):
            return EINVAL
        stored = plistlib.dumps(record, fmt=plistlib.FMT_XML)
        self._pair_records[record_id] = stored
        dev = self._devices.get(record_id)
        if dev is not None:
            dev.data_dir.mkdir(parents=True, exist_ok=True)
            (dev.data_dir / PAIR_RECORD_FILE).write_bytes(stored)
        device_id = request.get("DeviceID")
        if isinstance(device_id, int) and device_id > 0:
            target = self._device_by_id(device_id)
            if target is not None and target.ipad.udid == record_id:
                self._notify_paired(target)
        return RESULT_OK

    def _connect(
        self, client: _MuxClient, tag: int, device_id: int, port: int
    ) -> tuple[_Attached, int] | None:
        dev = self._device_by_id(device_id)
        if dev is None:
            client.send_result(tag, RESULT_BADDEV)
            return None
        if port != LOCKDOWN_PORT and port not in dev.ports:
            client.send_result(tag, RESULT_CONNREFUSED)
            return None
        client.send_result(tag, RESULT_OK)
        self._clients.discard(client)
        return dev, port

    async def _pipe(
        self,
        target: tuple[_Attached, int],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        """The socket now belongs to the device port it connected to."""
        dev, port = target
        if dev.ipad.udid not in self._devices or self._devices[dev.ipad.udid] is not dev:
            return  # unplugged between Connect and now
        dev.connections.add(writer)
        try:
            if port == LOCKDOWN_PORT:
                await dev.lockdownd.serve(reader, writer)
                return
            service, escrow_given = dev.ports.pop(port)
            handler = self._services[service]
            context = ServiceContext(
                ipad=dev.ipad,
                reader=reader,
                writer=writer,
                clock=self._clock,
                link=dev.link,
                data_dir=dev.data_dir,
                host=dev,
                escrow_bag_given=escrow_given,
            )
            try:
                await handler(context)
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                log.info("%s service %s: client gone (%s)", dev.ipad.udid, service, exc)
            except Exception:  # boundary: a broken service must not take usbmuxd down
                log.exception("%s service %s failed", dev.ipad.udid, service)
        finally:
            dev.connections.discard(writer)
