"""The Android driver: adbutils against an adb server, behind the station's typed interface.

adbutils blocks, so every call runs in a worker thread with its own adb connection (the
library holds no locks and shares nothing between calls). A tablet's handle is its ``usb:``
devpath, which adb accepts wherever it takes a serial: cheap tablets share serials such as
``0123456789ABCDEF``, a port never does. Only device services are addressed by handle
(``host:tport:serial:usb:1-2.3``); the state of a tablet comes from ``host:devices-l``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import logging
import re
import socket
import stat
import struct
import time
import uuid
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

from adbutils import AdbClient, AdbDevice
from adbutils.errors import AdbError, AdbSyncError

from station import messages as msg
from station.drivers.base import (
    AppVersion,
    DeviceEvent,
    DeviceInfo,
    EventKind,
    Platform,
    Presence,
    Progress,
    ProgressCallback,
)
from station.drivers.errors import ADB_SERVER_HINT, map_adb_errors
from station.errors import DeviceError, DeviceGone, DeviceProtocolError, DeviceRefused, InputError

log = logging.getLogger("station.drivers.android")

T = TypeVar("T")

_PRESENCE = {
    "device": Presence.READY,
    "unauthorized": Presence.UNAUTHORIZED,
    "offline": Presence.OFFLINE,
    "authorizing": Presence.CONNECTING,
    "connecting": Presence.CONNECTING,
    "bootloader": Presence.BOOTLOADER,
    "recovery": Presence.BOOTLOADER,
    "rescue": Presence.BOOTLOADER,
    "sideload": Presence.BOOTLOADER,
    "no permissions": Presence.NO_PERMISSION,
}
_PROP_LINE = re.compile(r"^\[(?P<key>[^\]]+)\]: \[(?P<value>.*)\]$")
_PACKAGE_LINE = re.compile(r"^package:(?P<name>\S+)(?: versionCode:(?P<code>\d+))?")
_OWNER = re.compile(r"Device Owner:.*?admin=ComponentInfo\{(?P<component>[^}]+)\}", re.DOTALL)
_JAVA_EXCEPTION = re.compile(r"^(?:[a-z]\w*\.)+\w*(?:Exception|Error): ")
_NAMESPACES = ("global", "secure", "system")
_SETTING_KEY = re.compile(r"^[A-Za-z0-9_.\-]+$")
_PROGRESS_STEP = 0.01
_SYNC_CHUNK = 64 * 1024  # adbd's largest sync DATA message
_STREAM_BLOCK = 256 * 1024  # bytes per read and send of a streamed install
_STREAM_SEND_BUFFER = 256 * 1024  # socket send buffer of a streamed install (see there)
_INSTALL_FLAGS = ("-r", "-t")  # replace an installed version; allow test-only APKs
_NO_STORAGE = "INSTALL_FAILED_INSUFFICIENT_STORAGE"
_NO_SPACE = ("no space left", "enospc", "not enough space")
STORAGE_HINT = "Free space on the tablet or factory-reset it"


@dataclass(frozen=True, kw_only=True)
class AndroidSettings:
    """Where the adb server is (``None``: ANDROID_ADB_SERVER_HOST/PORT, else 127.0.0.1:5037)."""

    host: str | None = None
    port: int | None = None
    socket_timeout: float = 600.0  # one call's socket; a 2 GB APK push stays under it
    poll_interval: float = 0.5  # while waiting for a reboot to finish
    staging_dir: str = "/data/local/tmp"
    # adbutils blocks: every call in flight holds a thread (a streamed install holds one until
    # the package manager answers). A cart of 30 needs more than asyncio's default pool
    # (cores + 4), which the rest of the station shares; threads start only when needed.
    threads: int = 64


@dataclass(frozen=True)
class _Listed:
    handle: str
    serial: str
    state: str
    usb_path: str | None
    transport_id: int | None


def _handle(serial: str, usb: str | None) -> str:
    return f"usb:{usb}" if usb else serial


def _parse_listing(text: str) -> dict[str, _Listed]:
    """``host:devices-l`` lines, by handle (adb's format: serial, state, then key:value tags)."""
    found: dict[str, _Listed] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        serial, rest = parts[0], parts[1:]
        state = "no permissions" if rest[:2] == ["no", "permissions"] else rest[0]
        tags = dict(p.split(":", 1) for p in rest if ":" in p and not p.startswith("("))
        tid = tags.get("transport_id", "")
        entry = _Listed(
            handle=_handle(serial, tags.get("usb")),
            serial=serial,
            state=state,
            usb_path=tags.get("usb"),
            transport_id=int(tid) if tid.isdigit() else None,
        )
        found[entry.handle] = entry
    return found


def _presence(state: str) -> Presence:
    return _PRESENCE.get(state, Presence.OFFLINE)


def _event(kind: EventKind, entry: _Listed) -> DeviceEvent:
    return DeviceEvent(
        kind=kind,
        platform=Platform.ANDROID,
        handle=entry.handle,
        serial=entry.serial,
        presence=Presence.OFFLINE if kind is EventKind.DETACHED else _presence(entry.state),
        usb_path=entry.usb_path,
    )


def _normal_component(component: str) -> str:
    """``pkg/.Receiver`` and ``pkg/pkg.Receiver`` name the same receiver."""
    pkg, _, cls = component.partition("/")
    return f"{pkg}/{pkg}{cls}" if cls.startswith(".") else component


def _refusal_text(output: str) -> str:
    """The line of a failed command that says why (an exception or a Failure [...])."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in lines:
        if _JAVA_EXCEPTION.match(line):
            return line
    for line in lines:
        if line.startswith(("Failure", "Error")):
            return line
    return lines[0] if lines else "(no output)"


def _owner_hint(text: str) -> str:
    if "accounts" in text:
        return msg.OWNER_ACCOUNTS_HINT
    if "several users" in text:
        return msg.OWNER_USERS_HINT
    if "already set" in text or "already provisioned" in text:
        return msg.OWNER_RESET_HINT
    return msg.OWNER_CHECK_HINT


def _regular_file_size(path: Path) -> int | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size if stat.S_ISREG(st.st_mode) else None


def _send_file(
    sock: socket.socket, path: Path, size: int, report: Callable[[float], None] | None
) -> None:
    """``size`` bytes of ``path`` on ``sock`` through one reused buffer, reporting each 1 %.

    Read and send as ``adb install`` does: the receiving end (the adb server, or the virtual
    cart) gets freshly written data; ``sendfile`` measured no faster here, and on Windows
    Python falls back to 8 KiB sends for it.
    """
    block = max(_SYNC_CHUNK, min(_STREAM_BLOCK, size // 100))  # small apps: several reports
    buffer = memoryview(bytearray(block))
    sent, reported = 0, 0.0
    with path.open("rb", buffering=0) as source:
        while sent < size:
            n = source.readinto(buffer[: min(block, size - sent)])
            if not n:
                raise InputError(msg.APP_FILE_SHRANK.fill(path=path))
            sock.sendall(buffer[:n])
            sent += n
            fraction = sent / size
            if report is not None and (fraction - reported >= _PROGRESS_STEP or sent == size):
                reported = fraction
                report(fraction)


def _close_at_once(conn: Any) -> None:
    """Close a connection whose answer is read (or no longer wanted).

    WORKAROUND: adbutils 2.12's ``AdbConnection.close`` sleeps 10 ms after shutting down
    its side, twice per install here; the server has nothing more to say on these.
    """
    with contextlib.suppress(AdbError):  # AdbError: adbutils already closed it
        conn.conn.close()


def _install_refused(handle: str, action: str, output: str) -> DeviceRefused:
    """The package manager's refusal, with a storage hint when it ran out of room."""
    text = _refusal_text(output)
    if _NO_STORAGE in text:
        return DeviceRefused(
            msg.NOT_ENOUGH_STORAGE.fill(action=action, reply=text), device=handle, hint=STORAGE_HINT
        )
    return DeviceRefused(msg.ADB_REFUSED.fill(action=action, reply=text), device=handle)


class _ProgressReader:
    """A file wrapper that reports bytes read (the sync push reads it in 64 KiB pieces)."""

    def __init__(self, handle: IO[bytes], size: int, report: Callable[[float], None]) -> None:
        self._handle = handle
        self._size = max(1, size)
        self._done = 0
        self._last = -1.0
        self._report = report

    def read(self, n: int = -1) -> bytes:
        data = self._handle.read(n)
        self._done += len(data)
        fraction = min(1.0, self._done / self._size)
        if fraction - self._last >= _PROGRESS_STEP or (fraction == 1.0 and self._last < 1.0):
            self._last = fraction
            self._report(fraction)
        return data

    def close(self) -> None:
        self._handle.close()


class _Client(AdbClient):  # type: ignore[misc]  # adbutils is untyped
    """An AdbClient that knows its open connections, so closing the driver can cut them.

    A call in flight blocks a thread in a socket read for up to ``socket_timeout`` (a long
    install); the interpreter waits for such threads at exit, so a station stopped mid-run
    would hang. Shutting the sockets down ends those reads at once.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.open: weakref.WeakSet[Any] = weakref.WeakSet()

    def make_connection(self, timeout: float | None = None) -> Any:
        conn = super().make_connection(timeout=timeout)
        self.open.add(conn)
        return conn

    def cut_all(self) -> None:
        for conn in list(self.open):
            # AdbError: that call already closed its connection (still awaiting collection).
            with contextlib.suppress(OSError, AdbError):
                conn.conn.shutdown(socket.SHUT_RDWR)


class _Device(AdbDevice):  # type: ignore[misc]  # adbutils is untyped
    """An AdbDevice whose transport connection is closed when adb refuses it.

    WORKAROUND: adbutils 2.12's ``BaseDevice.open_transport`` leaves the socket open when
    the server answers FAIL (an unauthorized or vanished tablet), one leak per call; it also
    asks the server's version before every transport. Stations run adb >= 1.0.41, which has
    ``host:tport``.
    """

    def open_transport(self, command: str | None = None, timeout: float | None = None) -> Any:
        conn = self._client.make_connection(timeout=timeout)
        try:
            if command:
                conn.send_command(f"host-serial:{self._serial}:{command}")
                conn.check_okay()
            else:
                conn.send_command(f"host:tport:serial:{self._serial}")
                conn.check_okay()
                conn.read(8)  # the transport id
        except BaseException:
            conn.close()
            raise
        return conn


class AdbAndroidDriver:
    """:class:`~station.drivers.base.AndroidDriver` over adbutils."""

    platform = Platform.ANDROID

    def __init__(self, settings: AndroidSettings | None = None) -> None:
        self._settings = settings or AndroidSettings()
        self._client = _Client(
            host=self._settings.host,
            port=self._settings.port,
            socket_timeout=self._settings.socket_timeout,
        )
        self._threads: concurrent.futures.ThreadPoolExecutor | None = None

    # --- plumbing ---

    async def _in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn`` on the driver's own threads (not asyncio's default pool, see ``threads``)."""
        if self._threads is None:
            self._threads = concurrent.futures.ThreadPoolExecutor(
                self._settings.threads, thread_name_prefix="adb"
            )
        return await asyncio.get_running_loop().run_in_executor(
            self._threads, functools.partial(fn, *args)
        )

    def _device(self, handle: str) -> _Device:
        return _Device(self._client, serial=handle)

    async def _run(self, handle: str, action: str, fn: Callable[..., T], *args: Any) -> T:
        with map_adb_errors(handle, action):
            return await self._in_thread(fn, *args)

    def _shell_blocking(self, handle: str, command: list[str]) -> tuple[int, str]:
        # Shell v1 with adbutils' exit-code marker: v2 would first ask for features with
        # host-serial:<handle>:features, which adb parses badly for "usb:" handles.
        result = self._device(handle).shell2(command, timeout=self._settings.socket_timeout)
        return int(result.returncode), str(result.output)

    async def _shell(self, handle: str, action: str, *command: str) -> tuple[int, str]:
        return await self._run(handle, action, self._shell_blocking, handle, list(command))

    def _list_blocking(self) -> str:
        with self._client.make_connection() as conn:
            conn.send_command("host:devices-l")
            conn.check_okay()
            return str(conn.read_string_block())

    async def _listed(self) -> dict[str, _Listed]:
        return _parse_listing(await self._run("adb", msg.ACTION_LIST_DEVICES, self._list_blocking))

    async def devices(self) -> list[DeviceEvent]:
        """What adb sees now, including unauthorized and offline tablets, as ATTACHED events."""
        return [_event(EventKind.ATTACHED, e) for e in (await self._listed()).values()]

    # --- discovery ---

    async def watch(self) -> AsyncIterator[DeviceEvent]:
        """``host:track-devices-l`` as events; a state change is one CHANGED event."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | BaseException] = asyncio.Queue()

        def open_tracker() -> Any:
            conn = self._client.make_connection()
            try:
                # The tracker waits for changes for hours: no socket timeout on it.
                conn.conn.settimeout(None)
                conn.send_command("host:track-devices-l")
                conn.check_okay()
            except BaseException:
                conn.close()
                raise
            return conn

        conn = await self._run("adb", msg.ACTION_TRACK_DEVICES, open_tracker)
        closing = False

        def pump() -> None:
            try:
                while True:
                    text = conn.read_string_block()
                    loop.call_soon_threadsafe(queue.put_nowait, text)
            except (AdbError, OSError, ValueError) as exc:
                if not closing:
                    loop.call_soon_threadsafe(queue.put_nowait, exc)

        reader = asyncio.ensure_future(self._in_thread(pump))
        known: dict[str, _Listed] = {}
        try:
            while True:
                item = await queue.get()
                if isinstance(item, BaseException):
                    raise DeviceError(
                        msg.ADB_TRACKING_ENDED.fill(error=repr(item)), hint=ADB_SERVER_HINT
                    ) from item
                current = _parse_listing(item)
                for handle in [h for h in known if h not in current]:
                    yield _event(EventKind.DETACHED, known.pop(handle))
                for handle, entry in current.items():
                    before = known.get(handle)
                    known[handle] = entry
                    if before is None:
                        yield _event(EventKind.ATTACHED, entry)
                    elif before.state != entry.state:
                        yield _event(EventKind.CHANGED, entry)
        finally:
            closing = True
            # Wake the blocked reader: shutdown interrupts its recv, close alone may not.
            with contextlib.suppress(OSError, AdbError):
                conn.conn.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError, AdbError, asyncio.CancelledError):
                await reader
            conn.close()

    # --- identity ---

    async def _props(self, handle: str) -> dict[str, str]:
        code, output = await self._shell(handle, msg.ACTION_READ_PROPERTIES, "getprop")
        if code != 0:
            raise DeviceProtocolError(msg.GETPROP_FAILED.fill(reply=output.strip()), device=handle)
        props = {}
        for line in output.splitlines():
            match = _PROP_LINE.match(line.strip())
            if match:
                props[match["key"]] = match["value"]
        return props

    async def info(self, handle: str) -> DeviceInfo:
        listed = (await self._listed()).get(handle)
        if listed is None:
            raise DeviceGone(
                msg.ADB_DOES_NOT_SEE.fill(action=msg.ACTION_INFO, handle=handle), device=handle
            )
        props = await self._props(handle)
        return DeviceInfo(
            platform=Platform.ANDROID,
            handle=handle,
            serial=props.get("ro.serialno") or listed.serial,
            model=props.get("ro.product.model", ""),
            model_name=props.get("ro.product.manufacturer", ""),
            os_version=props.get("ro.build.version.release", ""),
            build=props.get("ro.build.id", ""),
            name=await self.device_name(handle),
            usb_path=listed.usb_path,
        )

    async def device_name(self, handle: str) -> str:
        name = await self.get_setting(handle, "global", "device_name")
        if name is None:
            return (await self._props(handle)).get("ro.product.model", "")
        return name

    async def rename(self, handle: str, name: str) -> None:
        await self.put_setting(handle, "global", "device_name", name)
        await self.put_setting(handle, "secure", "bluetooth_name", name)

    # --- settings ---

    @staticmethod
    def _check_setting(namespace: str, key: str) -> None:
        if namespace not in _NAMESPACES:
            raise InputError(
                msg.SETTING_NAMESPACE.fill(namespace=namespace, choices=", ".join(_NAMESPACES))
            )
        if not _SETTING_KEY.match(key):
            raise InputError(msg.SETTING_KEY_CHARACTERS.fill(key=key))

    async def put_setting(self, handle: str, namespace: str, key: str, value: str) -> None:
        self._check_setting(namespace, key)
        code, output = await self._shell(
            handle, f"set {namespace}.{key}", "settings", "put", namespace, key, value
        )
        if code != 0:
            raise DeviceRefused(
                msg.ADB_REFUSED.fill(
                    action=msg.ACTION_SET.fill(name=f"{namespace}.{key}"),
                    reply=_refusal_text(output),
                ),
                device=handle,
            )

    async def get_setting(self, handle: str, namespace: str, key: str) -> str | None:
        self._check_setting(namespace, key)
        code, output = await self._shell(
            handle, f"read {namespace}.{key}", "settings", "get", namespace, key
        )
        if code != 0:
            raise DeviceRefused(
                msg.ADB_REFUSED.fill(
                    action=msg.ACTION_READ.fill(name=f"{namespace}.{key}"),
                    reply=_refusal_text(output),
                ),
                device=handle,
            )
        value = output.rstrip("\r\n")
        return None if value == "null" else value

    # --- files and apps ---

    def _sync_send(self, handle: str, source: Any, dest: str, mode: int) -> None:
        """A sync SEND that keeps adbd's reason when it refuses the file.

        WORKAROUND: adbutils 2.12's ``sync.push`` reads only the four bytes ``FAIL`` and
        raises ``AdbError("FAIL")``, dropping the text that follows (``write failed: No
        space left on device``). adbd drains DATA until DONE after a failure, then answers
        ``FAIL`` + length + text; if it hangs up early, the answer is still readable.
        """
        spec = f"{dest},{stat.S_IFREG | mode}".encode()
        with self._device(handle).open_transport(timeout=None) as conn:
            conn.send_command("sync:")
            conn.check_okay()
            try:
                conn.conn.sendall(b"SEND" + struct.pack("<I", len(spec)) + spec)
                while chunk := source.read(_SYNC_CHUNK):
                    conn.conn.sendall(b"DATA" + struct.pack("<I", len(chunk)) + chunk)
                conn.conn.sendall(b"DONE" + struct.pack("<I", int(time.time())))
            except OSError as exc:
                log.debug("%s: sync push cut short (%s); reading adbd's answer", handle, exc)
            try:
                status = conn.read(4)
                if status == b"FAIL":
                    head = conn.read(4)
                    length = struct.unpack("<I", head)[0] if len(head) == 4 else 0
                    text = conn.read(min(length, 4096)).decode("utf-8", errors="replace")
                    raise AdbSyncError(text or "FAIL")
            except OSError as exc:
                raise AdbError(f"connection closed ({exc})") from exc
            if status != b"OKAY":
                raise AdbError(f"connection closed (sync answered {status!r})")

    def _push_blocking(
        self,
        handle: str,
        src: Path,
        dest: str,
        report: Callable[[float], None] | None,
        action: str,
    ) -> int:
        size = src.stat().st_size
        with src.open("rb") as handle_file:
            reader: Any = (
                handle_file if report is None else _ProgressReader(handle_file, size, report)
            )
            try:
                self._sync_send(handle, reader, dest, 0o644)
            except AdbSyncError as exc:
                text = " ".join(str(a) for a in exc.args)
                if any(s in text.lower() for s in _NO_SPACE):
                    raise DeviceRefused(
                        f"{action}: not enough storage on the tablet ({text})",
                        device=handle,
                        hint=STORAGE_HINT,
                    ) from exc
                raise
        info = self._device(handle).sync.stat(dest)
        if info.size != size or not stat.S_ISREG(info.mode):
            raise DeviceRefused(
                f"{action}: {dest} has {info.size} bytes on the tablet, not {size}",
                device=handle,
                hint=STORAGE_HINT,
            )
        return size

    def _reporter(
        self, progress: ProgressCallback | None, low: float, high: float, detail: str
    ) -> Callable[[float], None] | None:
        """A thread-safe progress report scaled into [low, high] (called on the loop)."""
        if progress is None:
            return None
        loop = asyncio.get_running_loop()

        def report(fraction: float) -> None:
            loop.call_soon_threadsafe(progress, Progress(low + (high - low) * fraction, detail))

        return report

    async def push_file(
        self, handle: str, src: Path, dest: str, progress: ProgressCallback | None = None
    ) -> None:
        if not await self._in_thread(src.is_file):
            raise InputError(msg.NO_SUCH_FILE.fill(path=src))
        report = self._reporter(progress, 0.0, 1.0, msg.COPYING.fill(file=src.name))
        action = msg.ACTION_PUSH.fill(file=src.name)
        await self._run(handle, action, self._push_blocking, handle, src, dest, report, action)
        await asyncio.sleep(0)  # let the last threadsafe progress report run first

    async def file_size(self, handle: str, path: str) -> int | None:
        info = await self._run(
            handle, msg.ACTION_STAT.fill(path=path), lambda: self._device(handle).sync.stat(path)
        )
        if info.mode == 0 and info.size == 0:
            return None
        return int(info.size)

    async def install_app(
        self,
        handle: str,
        path: Path,
        progress: ProgressCallback | None = None,
        *,
        uploaded: Callable[[], None] | None = None,
    ) -> None:
        """Stream the APK into ``cmd package install -S``, as ``adb install`` does.

        A tablet without ``cmd`` (before Android 7) gets it pushed and ``pm install``-ed.
        ``uploaded`` runs on the loop once the last byte is out, before the tablet's answer.
        """
        size = await self._in_thread(_regular_file_size, path)
        if size is None:
            raise InputError(msg.NO_APP_FILE.fill(path=path))
        action = msg.ACTION_INSTALL.fill(file=path.name)
        loop = asyncio.get_running_loop()

        def sent_all() -> None:  # in the worker thread
            loop.call_soon_threadsafe(on_uploaded)

        def on_uploaded() -> None:
            if uploaded is not None:
                uploaded()
            if progress is not None:
                progress(Progress(0.8, msg.INSTALLING.fill(file=path.name)))

        report = self._reporter(progress, 0.0, 0.8, msg.COPYING.fill(file=path.name))
        output = await self._run(
            handle, action, self._stream_install_blocking, handle, path, size, report, sent_all
        )
        await asyncio.sleep(0)  # the worker's last call_soon_threadsafe calls run first
        if output is None:
            output = await self._install_pushed(handle, path, progress, uploaded, action)
        if "Success" not in output:
            raise _install_refused(handle, action, output)
        if progress is not None:
            progress(Progress(1.0, msg.INSTALLED.fill(file=path.name)))

    def _stream_install_blocking(
        self,
        handle: str,
        path: Path,
        size: int,
        report: Callable[[float], None] | None,
        sent_all: Callable[[], None],
    ) -> str | None:
        """One ``exec:cmd package install -S`` stream: the APK out, the tablet's answer back.

        None when the tablet has no ``cmd``. The features are asked by the transport id of
        this stream, not by handle (adb parses ``host-serial:`` badly for ``usb:`` handles,
        see ``_shell_blocking``). When adbd hangs up before it took every byte (it refused
        the session), its answer is returned and ``sent_all`` is not called.
        """
        conn = self._client.make_connection(timeout=None)
        try:
            conn.send_command(f"host:tport:serial:{handle}")
            conn.check_okay()
            raw = conn.read(8)
            if len(raw) != 8:
                raise AdbError("connection closed before the transport id")
            if "cmd" not in self._features_blocking(struct.unpack("<Q", raw)[0]):
                return None
            conn.send_command(f"exec:cmd package install {' '.join(_INSTALL_FLAGS)} -S {size}")
            conn.check_okay()
            # "Uploaded" frees the hub for the next tablet: it should mean the adb server took
            # the bytes, not that megabytes of them still wait in our own socket buffer.
            conn.conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _STREAM_SEND_BUFFER)
            try:
                _send_file(conn.conn, path, size, report)
            except TimeoutError:
                raise
            except OSError as exc:
                log.debug("%s: install stream cut short (%s); reading adbd's answer", handle, exc)
                with contextlib.suppress(OSError):
                    if answer := str(conn.read_until_close()).strip():
                        return answer
                raise AdbError(f"connection closed ({exc})") from exc
            sent_all()
            answer = str(conn.read_until_close())
            if not answer.strip():
                # adbd always answers Success or Failure: the tablet went away meanwhile.
                raise AdbError("connection closed before the install's answer")
            return answer
        finally:
            _close_at_once(conn)

    def _features_blocking(self, transport_id: int) -> list[str]:
        conn = self._client.make_connection()
        try:
            conn.send_command(f"host-transport-id:{transport_id}:features")
            conn.check_okay()
            return str(conn.read_string_block()).split(",")
        finally:
            _close_at_once(conn)

    async def _install_pushed(
        self,
        handle: str,
        path: Path,
        progress: ProgressCallback | None,
        uploaded: Callable[[], None] | None,
        action: str,
    ) -> str:
        """Push to the staging folder, ``pm install`` from there, remove it; pm's answer."""
        staged = f"{self._settings.staging_dir}/station-{uuid.uuid4().hex}.apk"
        report = self._reporter(progress, 0.0, 0.8, msg.COPYING.fill(file=path.name))
        try:
            await self._run(
                handle, action, self._push_blocking, handle, path, staged, report, action
            )
            await asyncio.sleep(0)
            if uploaded is not None:
                uploaded()
            if progress is not None:
                progress(Progress(0.8, msg.INSTALLING.fill(file=path.name)))
            code, output = await self._shell(
                handle, action, "pm", "install", *_INSTALL_FLAGS, staged
            )
        finally:
            with contextlib.suppress(DeviceGone, DeviceProtocolError, DeviceRefused):
                await self._shell(handle, msg.ACTION_REMOVE_STAGED, "rm", "-f", staged)
        if code != 0:
            raise _install_refused(handle, action, output)
        return output

    async def installed_apps(self, handle: str) -> dict[str, AppVersion]:
        """Third-party packages with versionCode and versionName."""
        code, output = await self._shell(
            handle, "list packages", "pm", "list", "packages", "-3", "--show-versioncode"
        )
        if code != 0:
            raise DeviceProtocolError(
                msg.UNEXPECTED_ANSWER.fill(action=msg.ACTION_LIST_PACKAGES, error=output.strip()),
                device=handle,
            )
        apps = {}
        for line in output.splitlines():
            match = _PACKAGE_LINE.match(line.strip())
            if not match:
                continue
            name = match["name"]
            _, dump = await self._shell(
                handle, msg.ACTION_READ.fill(name=name), "dumpsys", "package", name
            )
            version_name = re.search(r"versionName=(\S+)", dump)
            code_match = re.search(r"versionCode=(\d+)", dump)
            apps[name] = AppVersion(
                identifier=name,
                version=match["code"] or (code_match[1] if code_match else ""),
                display_version=version_name[1] if version_name else "",
            )
        return apps

    # --- device owner ---

    async def device_owner(self, handle: str) -> str | None:
        """The device owner's component as ``pkg/full.ClassName``, or None."""
        _, output = await self._shell(
            handle, msg.ACTION_READ_DEVICE_OWNER, "dumpsys", "device_policy"
        )
        match = _OWNER.search(output)
        return match["component"] if match else None

    async def set_device_owner(self, handle: str, component: str) -> None:
        """``dpm set-device-owner``; a no-op if it already is the owner."""
        if "/" not in component:
            raise InputError(msg.OWNER_NOT_COMPONENT.fill(component=component))
        current = await self.device_owner(handle)
        if current is not None and _normal_component(current) == _normal_component(component):
            return
        code, output = await self._shell(
            handle, "set device owner", "dpm", "set-device-owner", component
        )
        if code != 0 or "Success" not in output:
            text = _refusal_text(output)
            raise DeviceRefused(
                msg.ADB_REFUSED.fill(action=msg.ACTION_SET_DEVICE_OWNER, reply=text),
                device=handle,
                hint=_owner_hint(text),
            )
        log.info("%s: device owner %s", handle, component)

    # --- power and USB debugging ---

    def _reboot_blocking(self, handle: str) -> None:
        with self._device(handle).open_transport() as conn:
            conn.send_command("reboot:")
            conn.check_okay()

    async def reboot(self, handle: str) -> None:
        """Reboot and wait until adb sees it booted (a new transport, boot completed)."""
        before = (await self._listed()).get(handle)
        if before is None:
            raise DeviceGone(
                msg.ADB_DOES_NOT_SEE.fill(action=msg.ACTION_REBOOT, handle=handle), device=handle
            )
        await self._run(handle, msg.ACTION_REBOOT, self._reboot_blocking, handle)
        log.info("%s: rebooting", handle)
        await self._wait_booted(handle, not_transport=before.transport_id)

    async def wait_ready(self, handle: str) -> None:
        await self._wait_booted(handle, not_transport=None)

    async def _wait_booted(self, handle: str, *, not_transport: int | None) -> None:
        while True:
            entry = (await self._listed()).get(handle)
            fresh = entry is not None and (
                not_transport is None or entry.transport_id != not_transport
            )
            if entry is not None and fresh and entry.state == "device":
                with contextlib.suppress(DeviceGone, DeviceProtocolError):
                    code, output = await self._shell(
                        handle, "read boot state", "getprop", "sys.boot_completed"
                    )
                    if code == 0 and output.strip() == "1":
                        return
            await asyncio.sleep(self._settings.poll_interval)

    async def disable_usb_debugging(self, handle: str) -> None:
        """Turn USB debugging off; adbd stops, so the tablet leaves adb (last step of a job)."""
        try:
            await self.put_setting(handle, "global", "adb_enabled", "0")
        except (DeviceGone, DeviceProtocolError) as exc:
            # adbd may be gone before it reports the command's exit status.
            log.info("%s: adb went away while turning debugging off (%s)", handle, exc)
        log.info("%s: USB debugging off", handle)

    async def close(self) -> None:
        """End the calls still in flight and let the threads go (a later call starts new
        ones); each call had its own connection."""
        self._client.cut_all()  # calls still in flight end now, with an error
        if self._threads is not None:
            self._threads.shutdown(wait=False, cancel_futures=True)
            self._threads = None
