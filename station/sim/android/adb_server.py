"""An adb server (host protocol, as AOSP adb 1.0.41 speaks it) with emulated tablets behind it.

Real clients (adbutils, Google's ``adb`` binary) connect to it on 127.0.0.1 as they would to
``adb start-server``. Each plugged tablet is one USB transport, keyed by its devpath: cheap
tablets may share a serial, and then ``-s SERIAL`` fails exactly as the real server does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
import struct
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from station.sim.android.device import AdbState, VirtualAndroid
from station.sim.android.shell import Output, Shell, ShellEnv, StdinGone
from station.sim.android.sync import DeviceFiles, serve_sync
from station.sim.bandwidth import HubLink
from station.sim.clock import SimClock
from station.sim.serving import Connections

log = logging.getLogger("station.sim.android")

ADB_SERVER_VERSION = 41
MAX_REQUEST = 1024 * 1024  # adb's MAX_PAYLOAD: longer requests are a protocol error
RECEIVE_BUFFER = 256 * 1024  # bytes a client's connection may hold unread (see start)
# What our adbd implements. shell_v2 and cmd make adbutils and adb use shell v2 and the
# streamed "exec:cmd package install -S" path; without stat_v2/ls_v2/sendrecv_v2 sync stays v1.
DEVICE_FEATURES = ("shell_v2", "cmd", "fixed_push_mkdir")
HOST_FEATURES = (
    "shell_v2",
    "cmd",
    "stat_v2",
    "ls_v2",
    "fixed_push_mkdir",
    "apex",
    "abb",
    "fixed_push_symlink_timestamp",
    "abb_exec",
    "remount_shell",
    "track_app",
    "sendrecv_v2",
    "sendrecv_v2_brotli",
    "sendrecv_v2_lz4",
    "sendrecv_v2_zstd",
    "sendrecv_v2_dry_run_send",
)
UNAUTHORIZED = (
    "device unauthorized.\n"
    "This adb server's $ADB_VENDOR_KEYS is not set\n"
    "Try 'adb kill-server' if that seems wrong.\n"
    "Otherwise check for a confirmation dialog on your device."
)
# Device boots in two phases: adbd is up (transport back) at this fraction of boot time,
# sys.boot_completed is set at the end.
ADBD_UP_FRACTION = 0.6
_WAIT_FOR = re.compile(
    r"^wait-for-(any|usb|local)-(device|recovery|rescue|sideload|bootloader|disconnect)$"
)
_HOST_SERIAL_CMDS = ("features", "get-state", "get-serialno", "get-devpath", "list-forward")

# Shell v2 packet ids (shell_protocol.h).
_ID_STDIN, _ID_STDOUT, _ID_STDERR, _ID_EXIT, _ID_CLOSE_STDIN, _ID_WINDOW = 0, 1, 2, 3, 4, 5


class _Fail(Exception):
    """A request the server answers with FAIL and this message."""


def _frame(text: str | bytes) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    return b"%04x" % len(data) + data


def _okay(text: str | None = None) -> bytes:
    return b"OKAY" if text is None else b"OKAY" + _frame(text)


def _failmsg(text: str) -> bytes:
    return b"FAIL" + _frame(text)


def _sanitize(value: str, alphanumeric: bool) -> str:
    if alphanumeric:
        return "".join(c if c.isalnum() else "_" for c in value)
    return value.replace("\n", "_")


@dataclass
class _Port:
    """A USB port with a tablet plugged in (present across reboots)."""

    devpath: str
    tablet: VirtualAndroid
    link: HubLink
    files: DeviceFiles
    save: Callable[[VirtualAndroid], None]
    on_usb_debugging: Callable[[bool], None] | None = None
    transport: _Transport | None = None
    boots: int = 0  # reboots started here; only the latest one brings adbd back
    adbd_stopping: bool = False  # adb_enabled went 0: adbd stops once the command answered


@dataclass
class _Transport:
    """One adb transport: exists while adbd on the tablet talks to the server."""

    id: int
    port: _Port
    offline: bool = False  # going away (cable pulled, rebooting)
    boot_completed: bool = True
    streams: set[asyncio.StreamWriter] = field(default_factory=set)

    @property
    def tablet(self) -> VirtualAndroid:
        return self.port.tablet

    @property
    def state(self) -> str:
        return "offline" if self.offline else self.port.tablet.state

    @property
    def devpath(self) -> str:
        return "usb:" + self.port.devpath

    @property
    def banner_known(self) -> bool:
        """product/model/device come from adbd's CNXN banner, which needs authorisation."""
        return self.port.tablet.state == "device"

    def matches(self, target: str) -> bool:
        """adb's MatchesTarget: serial, devpath, or product:/model:/device: qualifiers."""
        t, m = self.tablet, self.tablet.model
        if target in (t.serial, self.devpath):
            return True
        if not self.banner_known:
            return False  # qualifiers come from adbd's banner, sent only once authorised
        return target in (f"product:{m.product}", f"model:{_sanitize(m.model, True)}") or (
            target == f"device:{m.device}"
        )


class AdbServer:
    """The emulated adb server; the cart plugs tablets in with :meth:`attach`."""

    def __init__(self, *, clock: SimClock, host: str = "127.0.0.1", port: int = 0) -> None:
        self._clock = clock
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None
        self._ports: dict[str, _Port] = {}
        self._next_id = 1
        self._trackers: dict[asyncio.StreamWriter, tuple[bool, str | None]] = {}
        self._changed = asyncio.Event()  # replaced on every change; waiters keep the old one
        self._connections = Connections(self._on_connection, name="adb server")
        self._bg_tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._executor: ThreadPoolExecutor | None = None

    # --- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="adb-sim")
        self._server = await self._connections.start_server(self._host, self._port)
        for listener in self._server.sockets:
            # Connections inherit it: a tablet holds little of a client's stream it has not
            # taken over USB yet. Linux would let a loopback socket buffer megabytes, which
            # at the cart's byte scale (1 byte = 100) is a tenth of a large app "sent" to a
            # tablet that has not received it.
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        self._port = self._server.sockets[0].getsockname()[1]
        log.info("adb server listening on %s:%d", self._host, self._port)

    async def stop(self) -> None:
        """Stop listening, end every connection and background boot, and wait for them."""
        self._stopping = True
        tasks = [t for t in self._bg_tasks if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        # Every connection ever accepted ends here, the ones accepted as it stops included.
        await self._connections.close(self._server, abort=False)
        self._server = None
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    @property
    def port(self) -> int:
        return self._port

    # --- the cart's side -------------------------------------------------------------

    def attach(
        self,
        tablet: VirtualAndroid,
        *,
        devpath: str,
        link: HubLink,
        data_dir: Path,
        save: Callable[[VirtualAndroid], None],
        on_usb_debugging: Callable[[bool], None] | None = None,
    ) -> int:
        """Plug ``tablet`` into the USB port ``devpath`` (e.g. "1-2.3"); return its transport id.

        ``on_usb_debugging(False)`` is called once the tablet switched USB debugging off
        (``settings put global adb_enabled 0``): adbd has stopped, the tablet left adb and
        its port here has no transport. On USB it is now an MTP-only device, which is the
        owner's business: it should :meth:`detach` and re-plug the tablet without adb.
        """
        if devpath in self._ports:
            raise ValueError(f"port {devpath} is already in use")
        files = DeviceFiles(tablet, data_dir / "fs")
        port = _Port(devpath, tablet, link, files, save, on_usb_debugging)
        self._ports[devpath] = port
        return self._new_transport(port).id

    def detach(self, devpath: str) -> None:
        """Pull the cable: trackers see the tablet go "offline", then disappear."""
        port = self._ports.get(devpath)
        if port is None:
            return
        self._drop_transport(port)
        del self._ports[devpath]

    def set_state(self, devpath: str, state: AdbState) -> None:
        """Change what the tablet's adbd reports (a person tapped Allow: unauthorized→device)."""
        port = self._ports[devpath]
        port.tablet.state = state
        port.save(port.tablet)
        self._notify()

    async def reboot(self, devpath: str) -> None:
        """Reboot: the transport goes offline and away, adbd returns during boot."""
        port = self._ports.get(devpath)
        if port is None:
            return
        self._drop_transport(port)
        port.boots += 1
        generation = port.boots
        port.tablet.boot_count += 1
        port.save(port.tablet)
        boot = port.tablet.model.boot_seconds
        await self._clock.sleep(boot * ADBD_UP_FRACTION)
        if self._ports.get(devpath) is not port or port.boots != generation or self._stopping:
            return  # unplugged, or rebooted again, while booting
        if not port.tablet.usb_debugging:
            return  # adbd is not started at boot while USB debugging is off
        transport = self._new_transport(port, boot_completed=False)
        await self._clock.sleep(boot * (1 - ADBD_UP_FRACTION))
        transport.boot_completed = True

    def tablets(self) -> dict[str, VirtualAndroid]:
        return {devpath: port.tablet for devpath, port in self._ports.items()}

    def transport_id(self, devpath: str) -> int | None:
        """The current transport id of the tablet in ``devpath`` (None while rebooting)."""
        port = self._ports.get(devpath)
        return port.transport.id if port and port.transport else None

    # --- transports ------------------------------------------------------------------

    def _new_transport(self, port: _Port, *, boot_completed: bool = True) -> _Transport:
        transport = _Transport(self._next_id, port, boot_completed=boot_completed)
        self._next_id += 1
        port.transport = transport
        self._notify()
        return transport

    def _drop_transport(self, port: _Port) -> None:
        transport = port.transport
        if transport is None:
            return
        transport.offline = True
        self._notify()
        port.transport = None
        for writer in list(transport.streams):
            writer.close()
        transport.streams.clear()
        self._notify()

    def _adb_setting(self, port: _Port, enabled: bool) -> None:
        """adb_enabled changed on the tablet: when it went off, adbd stops after this command."""
        if enabled or not port.tablet.usb_debugging:
            return  # adbd is running (we are talking to it) and stays so
        port.tablet.usb_debugging = False
        port.save(port.tablet)
        port.adbd_stopping = True

    def _stop_adbd(self, port: _Port) -> None:
        """adbd stopped on the tablet: its transport goes away and the owner is told."""
        port.adbd_stopping = False
        if self._stopping:
            return  # the server is going away; the tablet's saved state already says "off"
        if self._ports.get(port.devpath) is port:
            self._drop_transport(port)
        log.info("%s: USB debugging switched off, adbd stopped", port.tablet.serial)
        if port.on_usb_debugging is not None:
            port.on_usb_debugging(False)

    def _request_reboot(self, devpath: str) -> None:
        """From ``adb reboot`` / shell ``reboot``: offline at once, the rest in the background."""
        port = self._ports.get(devpath)
        if port is None or port.transport is None:
            return
        port.transport.offline = True
        self._notify()
        self._spawn(self.reboot(devpath))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._bg_tasks.add(task)
        task.add_done_callback(self._bg_tasks.discard)

    def _transports(self) -> list[_Transport]:
        ts = [p.transport for p in self._ports.values() if p.transport is not None]
        return sorted(ts, key=lambda t: t.tablet.serial)  # as adb sorts: by serial

    def _listing(self, long: bool) -> str:
        lines = []
        for t in self._transports():
            if not long:
                lines.append(f"{t.tablet.serial}\t{t.state}\n")
                continue
            line = f"{t.tablet.serial:<22} {t.state} {t.devpath}"
            if t.banner_known:
                m = t.tablet.model
                line += f" product:{_sanitize(m.product, False)}"
                line += f" model:{_sanitize(m.model, True)}"
                line += f" device:{_sanitize(m.device, False)}"
            lines.append(f"{line} transport_id:{t.id}\n")
        return "".join(lines)

    def _notify(self) -> None:
        """Tell every tracker (if its view changed) and wake every wait-for."""
        for writer, (long, last) in list(self._trackers.items()):
            text = self._listing(long)
            if text != last and not writer.is_closing():
                writer.write(_frame(text))
                self._trackers[writer] = (long, text)
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _acquire(self, kind: str, serial: str | None, tid: int | None) -> _Transport:
        """adb's acquire_one_transport, with its error texts."""
        if tid is not None:
            error = f"no device with transport id '{tid}'"
        elif serial is not None:
            error = f"device '{serial}' not found"
        elif kind == "local":
            error = "no emulators found"
        elif kind == "any":
            error = "no devices/emulators found"
        else:
            error = "no devices found"
        result: _Transport | None = None
        for t in self._transports():
            if tid is not None:
                if t.id == tid:
                    result = t
                    break
            elif serial is not None:
                if t.matches(serial):
                    if result is not None:
                        raise _Fail(f"more than one device with serial {serial}")
                    result = t
            elif kind in ("usb", "any"):
                if result is not None:
                    raise _Fail(
                        "more than one USB device"
                        if kind == "usb"
                        else "more than one device/emulator"
                    )
                result = t
        if result is None:
            raise _Fail(error)
        if result.state == "unauthorized":
            raise _Fail(UNAUTHORIZED)
        if result.state == "offline":
            raise _Fail("device offline")
        return result

    # --- connections -----------------------------------------------------------------

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, StdinGone) as exc:
            log.debug("adb client went away: %r", exc)
        except OSError:
            # The host's disk under the state dir failed; only this connection ends.
            log.exception("adb connection failed on a host I/O error")
        finally:
            self._trackers.pop(writer, None)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
                await writer.wait_closed()

    @staticmethod
    async def _read_request(reader: asyncio.StreamReader) -> str | None:
        """One hex4-framed request; None when the client hung up or sent a bad length."""
        try:
            head = await reader.readexactly(4)
        except asyncio.IncompleteReadError:
            return None
        if not all(c in b"0123456789abcdefABCDEF" for c in head):
            log.info("adb: bad request length %r, closing", head)
            return None
        length = int(head, 16)
        if not 0 < length <= MAX_REQUEST:
            return None
        try:
            return (await reader.readexactly(length)).decode("utf-8", errors="replace")
        except asyncio.IncompleteReadError:
            return None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await self._read_request(reader)
        if request is None:
            return
        log.debug("host request %r", request)
        try:
            transport = await self._host_request(request, reader, writer)
        except _Fail as exc:
            writer.write(_failmsg(str(exc)))
            await writer.drain()
            return
        if transport is None:
            await writer.drain()
            return
        # The connection now talks to the tablet's adbd: one service request follows.
        service = await self._read_request(reader)
        if service is None:
            return
        log.debug("device service %r on transport %d", service, transport.id)
        if transport.offline or transport.port.transport is not transport:
            writer.write(_failmsg("device offline"))
            return
        transport.streams.add(writer)
        try:
            await self._device_service(transport, service, reader, writer)
        finally:
            transport.streams.discard(writer)
            if transport.port.adbd_stopping:
                # The command's answer went out first, as the tablet's AdbService reacts
                # to the setting a moment after "settings put" returned.
                self._stop_adbd(transport.port)

    async def _host_request(
        self, request: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> _Transport | None:
        """Answer a host request; return the transport when the connection switches to it."""
        kind, serial, tid = "any", None, None
        if request.startswith("host-serial:"):
            serial, cmd = self._split_serial(request[len("host-serial:") :])
        elif request.startswith("host-transport-id:"):
            id_text, _, cmd = request[len("host-transport-id:") :].partition(":")
            if not id_text.isdigit():
                raise _Fail(f"invalid transport id '{id_text}'")
            tid = int(id_text)
        elif request.startswith("host-usb:"):
            kind, cmd = "usb", request[len("host-usb:") :]
        elif request.startswith("host-local:"):
            kind, cmd = "local", request[len("host-local:") :]
        elif request.startswith("host:"):
            cmd = request[len("host:") :]
        else:
            raise _Fail("unknown host service")  # a device service without a transport

        if cmd == "version":
            writer.write(_okay(f"{ADB_SERVER_VERSION:04x}"))
        elif cmd == "kill":
            writer.write(_okay())
            await writer.drain()
            self._spawn(self.stop())
        elif cmd in ("devices", "devices-l"):
            writer.write(_okay(self._listing(cmd == "devices-l")))
        elif cmd in ("track-devices", "track-devices-l"):
            await self._track(cmd == "track-devices-l", reader, writer)
        elif cmd == "host-features":
            writer.write(_okay(",".join(HOST_FEATURES)))
        elif cmd == "features":
            self._acquire(kind, serial, tid)
            writer.write(_okay(",".join(DEVICE_FEATURES)))
        elif cmd == "get-state":
            writer.write(_okay(self._acquire(kind, serial, tid).state))
        elif cmd == "get-serialno":
            writer.write(_okay(self._acquire(kind, serial, tid).tablet.serial))
        elif cmd == "get-devpath":
            writer.write(_okay(self._acquire(kind, serial, tid).devpath))
        elif cmd == "list-forward":
            writer.write(_okay(""))
        elif m := _WAIT_FOR.match(cmd):
            await self._wait_for(m.group(1), m.group(2), serial, tid, reader, writer)
        elif cmd.startswith("tport:"):
            which = cmd[len("tport:") :]
            if which.startswith("serial:"):
                t = self._acquire("any", which[len("serial:") :], None)
            elif which in ("any", "usb", "local"):
                t = self._acquire(which, None, None)
            else:
                raise _Fail("unknown host service")
            writer.write(b"OKAY" + struct.pack("<Q", t.id))
            return t
        elif cmd.startswith("transport"):
            return self._legacy_transport(cmd, writer)
        else:
            raise _Fail("unknown host service")
        return None

    def _legacy_transport(self, cmd: str, writer: asyncio.StreamWriter) -> _Transport:
        if cmd.startswith("transport:"):
            t = self._acquire("any", cmd[len("transport:") :], None)
        elif cmd.startswith("transport-id:"):
            id_text = cmd[len("transport-id:") :]
            if not id_text.isdigit():
                raise _Fail(f"invalid transport id '{id_text}'")
            t = self._acquire("any", None, int(id_text))
        elif cmd in ("transport-any", "transport-usb", "transport-local"):
            t = self._acquire(cmd[len("transport-") :], None, None)
        else:
            raise _Fail("unknown host service")
        writer.write(_okay())
        return t

    @staticmethod
    def _split_serial(rest: str) -> tuple[str, str]:
        """``S:cmd`` where S may itself contain colons (``usb:1-2.3``)."""
        for i, c in enumerate(rest):
            if c != ":":
                continue
            cmd = rest[i + 1 :]
            if cmd in _HOST_SERIAL_CMDS or _WAIT_FOR.match(cmd) or cmd.startswith("forward:"):
                return rest[:i], cmd
        serial, _, cmd = rest.rpartition(":")
        return serial, cmd

    async def _track(
        self, long: bool, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        text = self._listing(long)
        writer.write(_okay() + _frame(text))
        self._trackers[writer] = (long, text)
        await writer.drain()
        # Kept open until the client goes; anything it sends is ignored.
        while await reader.read(4096):
            pass

    async def _wait_for(
        self,
        kind: str,
        state: str,
        serial: str | None,
        tid: int | None,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        """First OKAY at once, the second when a matching transport is in ``state``."""
        writer.write(_okay())
        await writer.drain()
        gone = asyncio.ensure_future(reader.read(1))
        waiter: asyncio.Task[Literal[True]] | None = None
        try:
            while True:
                matching = [
                    t
                    for t in self._transports()
                    if kind != "local"  # no emulators here
                    and (
                        (tid is not None and t.id == tid)
                        or (tid is None and (serial is None or t.matches(serial)))
                    )
                ]
                if serial is not None and len(matching) > 1:
                    writer.write(_failmsg(f"more than one device with serial {serial}"))
                    return
                if state == "disconnect" and not matching:
                    break
                if state != "disconnect" and any(t.state == state for t in matching):
                    break
                waiter = asyncio.ensure_future(self._changed.wait())
                await asyncio.wait((waiter, gone), return_when=asyncio.FIRST_COMPLETED)
                if gone.done():
                    return  # the client gave up waiting
            writer.write(_okay())
        finally:
            gone.cancel()
            if waiter is not None:
                waiter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await gone
            with contextlib.suppress(asyncio.CancelledError):
                if waiter is not None:
                    await waiter

    # --- device services (what adbd on the tablet answers) ---------------------------

    def _shell_env(self, t: _Transport, stdin: asyncio.StreamReader | None) -> ShellEnv:
        port = t.port
        return ShellEnv(
            tablet=t.tablet,
            files=port.files,
            clock=self._clock,
            link=port.link,
            save=lambda: port.save(port.tablet),
            reboot=lambda: self._request_reboot(port.devpath),
            boot_completed=lambda: t.boot_completed,
            stdin=stdin,
            executor=self._executor,
            adb_enabled=lambda enabled: self._adb_setting(port, enabled),
        )

    async def _device_service(
        self,
        t: _Transport,
        service: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        if service.startswith("shell,") or service.startswith("shell:"):
            options, _, command = service[len("shell") :].partition(":")
            if "v2" in options.split(","):
                writer.write(_okay())
                await self._shell_v2(t, command, reader, writer)
                return
            writer.write(_okay())
            await self._shell_raw(t, command, reader, writer)
        elif service.startswith("exec:"):
            writer.write(_okay())
            await self._shell_raw(t, service[len("exec:") :], reader, writer)
        elif service == "sync:":
            writer.write(_okay())
            port = t.port
            await serve_sync(reader, writer, port.files, port.link, lambda: port.save(port.tablet))
        elif service.startswith("reboot:"):
            writer.write(_okay())
            await writer.drain()
            self._request_reboot(t.port.devpath)
        elif service in ("root:", "remount:"):
            writer.write(_okay())
            writer.write(b"adbd cannot run as root in production builds\n")
        else:
            # adbd refuses the stream; the server reports it as "closed".
            writer.write(_failmsg("closed"))
        await writer.drain()

    async def _shell_raw(
        self,
        t: _Transport,
        command: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        """``shell:`` (v1) and ``exec:``: stdin is the raw stream, output merged, no exit code."""
        out = Output()
        await Shell(self._shell_env(t, reader)).run(command, out)
        for _, data in out.pieces:
            writer.write(data)

    async def _shell_v2(
        self,
        t: _Transport,
        command: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        """Shell protocol v2: packets of id + u32 LE length; stdin arrives the same way."""
        stdin = asyncio.StreamReader()

        async def demux() -> None:
            while True:
                try:
                    head = await reader.readexactly(5)
                    length = struct.unpack("<I", head[1:])[0]
                    if length > MAX_REQUEST:
                        break
                    data = await reader.readexactly(length)
                except (asyncio.IncompleteReadError, ConnectionError):
                    break
                if head[0] == _ID_STDIN:
                    stdin.feed_data(data)
                elif head[0] == _ID_CLOSE_STDIN:
                    stdin.feed_eof()
            if not stdin.at_eof():
                stdin.feed_eof()

        pump = asyncio.ensure_future(demux())
        try:
            out = Output()
            status = await Shell(self._shell_env(t, stdin)).run(command, out)
            for stream, data in out.pieces:
                writer.write(bytes([stream]) + struct.pack("<I", len(data)) + data)
            writer.write(bytes([_ID_EXIT]) + struct.pack("<I", 1) + bytes([status & 0xFF]))
            await writer.drain()
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
