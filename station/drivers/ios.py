"""The iPad driver: pymobiledevice3 over usbmuxd, behind the station's typed interface.

A tablet's lockdown session (TLS, pair record, the device's values) is kept between calls
and reused while it is idle and still answers; it is dropped on any error, when the iPad
detaches or is erased, and after a while unused. A new session per call cost the station
more CPU than the iPad's own steps (a connect, several plists and a TLS handshake each).
Discovery listens to usbmuxd (``Listen``) on a small plist connection of our own, because
pymobiledevice3's ``MuxDevice`` keeps neither LocationID nor the Paired notification.
Activation runs the library's mobileactivationd calls but does the two HTTP posts itself, so
the server URL is a setting (Apple's in the field, the virtual cart's stand-in in tests)
instead of a module constant.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import io
import logging
import os
import plistlib
import struct
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from uuid import uuid4

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7
from PIL import Image, ImageDraw, ImageFont
from pymobiledevice3 import exceptions as pmd3
from pymobiledevice3 import usbmux
from pymobiledevice3.lockdown import SYSTEM_BUID, UsbmuxLockdownClient
from pymobiledevice3.service_connection import ServiceConnection
from pymobiledevice3.services.installation_proxy import (
    TEMP_REMOTE_BASEDIR,
    InstallationProxyService,
)
from pymobiledevice3.services.mobile_activation import MobileActivationService
from pymobiledevice3.services.mobile_config import MobileConfigService

from station import messages as msg
from station.drivers.base import (
    AppVersion,
    DeviceEvent,
    DeviceInfo,
    EventKind,
    Platform,
    Presence,
    ProfileSummary,
    Progress,
    ProgressCallback,
    SupervisionState,
    WallpaperWhere,
)
from station.drivers.errors import GONE_HINT, USBMUXD_HINT, map_ios_errors
from station.drivers.ios_upload import AppFile, QuietAfc, install_staged, stream_to_afc
from station.errors import (
    DeviceError,
    DeviceGone,
    DeviceProtocolError,
    DeviceRefused,
    InputError,
    ServiceUnavailable,
    UserActionRequired,
)

log = logging.getLogger("station.drivers.ios")

LOCKDOWN_PORT = 62078
APPLE_ACTIVATION_SERVER = "https://albert.apple.com"
DRM_HANDSHAKE_PATH = "/deviceservices/drmHandshake"
DEVICE_ACTIVATION_PATH = "/deviceservices/deviceActivation"
# What Apple's activation client sends; the server answers differently to unknown agents.
ACTIVATION_USER_AGENT = (
    "iOS Device Activator (MobileActivation-20 built on Jan 15 2012 at 19:07:28)"
)
DEFAULT_USBMUXD_PATH = "/var/run/usbmuxd"

_MUX_HEADER = struct.Struct("<IIII")  # length, version, message, tag
_MUX_PLIST, _MUX_VERSION_PLIST = 8, 1
_MUX_MAX_MESSAGE = 1 << 20


@dataclass(frozen=True, kw_only=True)
class IosSettings:
    """Where usbmuxd, the pair records and the activation server are.

    ``usbmux_address``: ``host:port`` (TCP) or a unix socket path; ``None`` means the
    ``USBMUXD_SOCKET_ADDRESS`` environment variable, else ``/var/run/usbmuxd``.
    """

    pair_records: Path
    usbmux_address: str | None = None
    activation_server: str = APPLE_ACTIVATION_SERVER
    label: str = "enrollment-station"
    host_name: str | None = None  # seeds the HostID (pymobiledevice3: the machine's name)
    http_timeout: float = 60.0

    def resolved_usbmux_address(self) -> str:
        return (
            self.usbmux_address or os.environ.get("USBMUXD_SOCKET_ADDRESS") or DEFAULT_USBMUXD_PATH
        )


# --- the usbmuxd wire, for Listen and ListDevices ------------------------------------------


class _MuxWire:
    """One plist-protocol usbmuxd connection (XML plists, as libusbmuxd sends them)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._tag = 0

    @classmethod
    async def open(cls, address: str) -> _MuxWire:
        try:
            if ":" in address:
                host, _, port = address.rpartition(":")
                reader, writer = await asyncio.open_connection(host, int(port))
            else:
                reader, writer = await asyncio.open_unix_connection(address)
        except (OSError, ValueError) as exc:
            raise ServiceUnavailable(
                msg.USBMUXD_AT_UNREACHABLE.fill(address=address, error=exc), hint=USBMUXD_HINT
            ) from exc
        return cls(reader, writer)

    async def send(self, message: Mapping[str, Any]) -> int:
        self._tag += 1
        body = plistlib.dumps(
            {"ClientVersionString": "enrollment-station", "ProgName": "station", **message},
            fmt=plistlib.FMT_XML,
        )
        header = _MUX_HEADER.pack(
            _MUX_HEADER.size + len(body), _MUX_VERSION_PLIST, _MUX_PLIST, self._tag
        )
        self._writer.write(header + body)
        await self._writer.drain()
        return self._tag

    async def read(self) -> dict[str, Any]:
        """The next message; DeviceError when usbmuxd hangs up, DeviceProtocolError on garbage."""
        try:
            header = await self._reader.readexactly(_MUX_HEADER.size)
            length, version, kind, _tag = _MUX_HEADER.unpack(header)
            if not _MUX_HEADER.size <= length <= _MUX_MAX_MESSAGE:
                raise DeviceProtocolError(msg.USBMUXD_MESSAGE_SIZE.fill(size=length))
            body = await self._reader.readexactly(length - _MUX_HEADER.size)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            raise ServiceUnavailable(msg.USBMUXD_CLOSED, hint=USBMUXD_HINT) from exc
        if version != _MUX_VERSION_PLIST or kind != _MUX_PLIST:
            raise DeviceProtocolError(
                msg.USBMUXD_MESSAGE_TYPE.fill(kind_number=kind, version=version)
            )
        try:
            value = plistlib.loads(body)
        except (plistlib.InvalidFileException, ValueError) as exc:
            raise DeviceProtocolError(msg.USBMUXD_BAD_PLIST) from exc
        if not isinstance(value, dict):
            raise DeviceProtocolError(msg.USBMUXD_PLIST_NOT_DICT)
        return value

    async def request(self, message: Mapping[str, Any]) -> dict[str, Any]:
        await self.send(message)
        return await self.read()

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(ConnectionError, TimeoutError):
            async with asyncio.timeout(2.0):
                await self._writer.wait_closed()


def _attached(message: Mapping[str, Any]) -> tuple[int, str, int | None] | None:
    """(DeviceID, serial, LocationID) of an Attached record over USB, else None."""
    props = message.get("Properties")
    if not isinstance(props, dict) or props.get("ConnectionType", "USB") != "USB":
        return None
    device_id = message.get("DeviceID", props.get("DeviceID"))
    serial = props.get("SerialNumber")
    location = props.get("LocationID")
    if not isinstance(device_id, int) or not isinstance(serial, str):
        raise DeviceProtocolError(msg.USBMUXD_ATTACHED_WITHOUT_ID.fill(record=repr(message)))
    return device_id, serial, location if isinstance(location, int) else None


# --- supervision identity -------------------------------------------------------------------


def _identity_cert(identity: bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(identity)
    except ValueError as exc:
        raise InputError(
            msg.IDENTITY_NO_CERTIFICATE,
            hint=msg.IDENTITY_PEM_HINT,
        ) from exc


def _identity_cert_der(identity: bytes) -> bytes:
    return _identity_cert(identity).public_bytes(Encoding.DER)


@dataclass(frozen=True)
class _Supervisor:
    """The supervision identity, parsed once per driver (an RSA key load costs ~50 ms)."""

    certificate: x509.Certificate
    certificate_der: bytes
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    @classmethod
    def load(cls, identity: bytes) -> _Supervisor:
        certificate = _identity_cert(identity)
        try:
            key = serialization.load_pem_private_key(identity, password=None)
        except (ValueError, TypeError) as exc:
            raise InputError(msg.IDENTITY_NO_KEY, hint=msg.IDENTITY_PEM_HINT) from exc
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise InputError(msg.IDENTITY_NO_KEY, hint=msg.IDENTITY_PEM_HINT)
        return cls(certificate, certificate.public_bytes(Encoding.DER), key)

    def sign(self, challenge: bytes) -> bytes:
        """The challenge signed as MCInstall's Escalate (and supervised pairing) expect."""
        return (
            pkcs7.PKCS7SignatureBuilder()
            .set_data(challenge)
            .add_signer(self.certificate, self.key, hashes.SHA256())
            .sign(Encoding.DER, [pkcs7.PKCS7Options.Binary])
        )


async def _acknowledged(mc: MobileConfigService, request: dict[str, Any]) -> dict[str, Any]:
    """One MCInstall request; anything but ``Acknowledged`` is the iPad refusing it."""
    reply = await mc.service.send_recv_plist(request)
    if not isinstance(reply, dict) or reply.get("Status") != "Acknowledged":
        raise pmd3.ProfileError(f"The device rejected the profile request: {reply}")
    return reply


async def _escalate(mc: MobileConfigService, supervisor: _Supervisor) -> None:
    """MCInstall's supervisor handshake (what ``MobileConfigService.escalate`` does), with
    the identity parsed once instead of read from a file and parsed at every call."""
    reply = await _acknowledged(
        mc, {"RequestType": "Escalate", "SupervisorCertificate": supervisor.certificate_der}
    )
    challenge = reply.get("Challenge")
    if not isinstance(challenge, bytes):
        raise pmd3.ProfileError(f"The device sent no escalation challenge: {reply}")
    await _acknowledged(
        mc, {"RequestType": "EscalateResponse", "SignedRequest": supervisor.sign(challenge)}
    )
    await _acknowledged(mc, {"RequestType": "ProceedWithKeybagMigration"})


@contextlib.contextmanager
def _keybag(identity: bytes) -> Iterator[Path]:
    """The identity in a 0600 temporary file, for pymobiledevice3's ``keybag_file`` arguments."""
    _identity_cert_der(identity)
    fd, name = tempfile.mkstemp(prefix="station-keybag-", suffix=".pem")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(identity)
        yield Path(name)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


def _owner_only(folder: Path) -> None:
    """pymobiledevice3 writes pair records with the umask's mode (0644): make them 0600."""
    for record in folder.glob("*.plist"):
        with contextlib.suppress(OSError):
            os.chmod(record, 0o600)


def _mc_error_text(reply: Mapping[str, Any]) -> str:
    chain = reply.get("ErrorChain")
    if isinstance(chain, list) and chain and isinstance(chain[0], dict):
        return "; ".join(
            str(item.get("LocalizedDescription") or item.get("ErrorCode"))
            for item in chain
            if isinstance(item, dict)
        )
    return str(reply.get("Status", reply))


def render_wallpaper(asset_tag: str, school: str, *, size: tuple[int, int] = (1620, 2160)) -> bytes:
    """A plain PNG lock-screen wallpaper with the asset tag large and the school below it."""
    width, height = size
    image = Image.new("RGB", size, (24, 38, 58))
    draw = ImageDraw.Draw(image)
    big = ImageFont.load_default(size=max(24, width // 9))
    small = ImageFont.load_default(size=max(16, width // 24))
    for text, font, y in ((asset_tag, big, height * 0.62), (school, small, height * 0.72)):
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        draw.text(
            ((width - (right - left)) / 2, y - (bottom - top) / 2), text, font=font, fill="white"
        )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


SESSION_IDLE = 30.0  # seconds a kept lockdown session may sit unused before it is closed


@dataclass
class _Session:
    """An iPad's lockdown client kept between calls; ``busy`` while one call uses it."""

    client: UsbmuxLockdownClient
    used: float
    busy: bool = False


# --- the driver -------------------------------------------------------------------------------


class UsbmuxIosDriver:
    """:class:`~station.drivers.base.IosDriver` over usbmuxd and pymobiledevice3.

    The handle of an iPad is its UDID as usbmuxd reports it.
    """

    platform = Platform.IOS

    def __init__(self, settings: IosSettings) -> None:
        self._settings = settings
        self._address = settings.resolved_usbmux_address()
        self._watchers: set[asyncio.Queue[DeviceEvent | BaseException]] = set()
        self._sessions: dict[str, _Session] = {}
        self._buid: str | None = None
        self._supervisors: dict[bytes, _Supervisor] = {}
        # Pairing makes two RSA keys (~0.1-0.2 s of CPU each): on threads of its own, each
        # with its own event loop, so the other tablets' uploads and steps go on meanwhile.
        self._pairing: concurrent.futures.ThreadPoolExecutor | None = None
        # Pair records hold the host's private key: owner-only (mkdir's mode obeys the umask).
        settings.pair_records.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(settings.pair_records, 0o700)

    # --- discovery ---

    async def devices(self) -> list[DeviceEvent]:
        """The iPads usbmuxd has now (one ListDevices), as ATTACHED events."""
        wire = await _MuxWire.open(self._address)
        try:
            reply = await wire.request({"MessageType": "ListDevices"})
        finally:
            await wire.close()
        records = reply.get("DeviceList")
        if not isinstance(records, list):
            raise DeviceProtocolError(msg.USBMUXD_LIST_DEVICES.fill(reply=repr(reply)))
        events = []
        for record in records:
            found = _attached(record) if isinstance(record, dict) else None
            if found is not None:
                events.append(self._event(EventKind.ATTACHED, found[1], location_id=found[2]))
        return events

    async def watch(self) -> AsyncIterator[DeviceEvent]:
        """usbmuxd's Listen stream as events; pairing results arrive as CHANGED."""
        queue: asyncio.Queue[DeviceEvent | BaseException] = asyncio.Queue()
        wire = await _MuxWire.open(self._address)
        pump: asyncio.Task[None] | None = None
        try:
            reply = await wire.request({"MessageType": "Listen"})
            if reply.get("MessageType") != "Result" or reply.get("Number") != 0:
                raise DeviceProtocolError(msg.USBMUXD_LISTEN_REFUSED.fill(reply=repr(reply)))
            self._watchers.add(queue)
            pump = asyncio.ensure_future(self._pump(wire, queue))
            while True:
                item = await queue.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self._watchers.discard(queue)
            if pump is not None:
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pump
            await wire.close()

    async def _pump(
        self, wire: _MuxWire, queue: asyncio.Queue[DeviceEvent | BaseException]
    ) -> None:
        ids: dict[int, str] = {}
        try:
            while True:
                message = await wire.read()
                kind = message.get("MessageType")
                if kind == "Attached":
                    found = _attached(message)
                    if found is not None:
                        ids[found[0]] = found[1]
                        queue.put_nowait(
                            self._event(EventKind.ATTACHED, found[1], location_id=found[2])
                        )
                elif kind == "Detached":
                    udid = ids.pop(message.get("DeviceID", -1), None)
                    if udid is not None:
                        await self._forget(udid)
                        queue.put_nowait(self._event(EventKind.DETACHED, udid, Presence.OFFLINE))
                elif kind == "Paired":
                    udid = ids.get(message.get("DeviceID", -1))
                    if udid is not None:
                        queue.put_nowait(self._event(EventKind.CHANGED, udid))
                else:
                    log.debug("usbmuxd sent %r while listening", kind)
        except (DeviceError, DeviceProtocolError) as exc:
            queue.put_nowait(exc)

    def _event(
        self,
        kind: EventKind,
        udid: str,
        presence: Presence = Presence.READY,
        *,
        location_id: int | None = None,
    ) -> DeviceEvent:
        return DeviceEvent(
            kind=kind,
            platform=Platform.IOS,
            handle=udid,
            serial=udid,
            presence=presence,
            location_id=location_id,
        )

    def _publish(self, udid: str, presence: Presence) -> None:
        for queue in self._watchers:
            queue.put_nowait(self._event(EventKind.CHANGED, udid, presence))

    async def _location(self, udid: str) -> int | None:
        for event in await self.devices():
            if event.handle == udid:
                return event.location_id
        return None

    def _supervisor(self, identity: bytes) -> _Supervisor:
        supervisor = self._supervisors.get(identity)
        if supervisor is None:
            supervisor = self._supervisors[identity] = _Supervisor.load(identity)
        return supervisor

    # --- lockdown ---

    async def _system_buid(self) -> str | None:
        """usbmuxd's SystemBUID (asked once: it belongs to the host, not to a connection)."""
        if self._buid is None:
            async with await usbmux.create_mux(usbmux_address=self._address) as mux:
                if isinstance(mux, usbmux.PlistMuxConnection):
                    self._buid = await mux.get_buid()
        return self._buid

    async def _connect(self, handle: str) -> UsbmuxLockdownClient:
        """A new lockdown client (a session is up when the iPad trusts our pair record)."""
        service = await ServiceConnection.create_using_usbmux(
            handle, LOCKDOWN_PORT, connection_type="USB", usbmux_address=self._address
        )
        try:
            buid = await self._system_buid()
            # Built through LockdownClient.create, not create_using_usbmux: its plist
            # subclass saves pair records to the usbmuxd of USBMUXD_SOCKET_ADDRESS
            # whatever address it was given; we share the record ourselves (_share).
            client: UsbmuxLockdownClient = await UsbmuxLockdownClient.create(
                service,
                identifier=handle,
                label=self._settings.label,
                autopair=False,
                local_hostname=self._settings.host_name,
                pairing_records_cache_folder=self._settings.pair_records,
                usbmux_address=self._address,
                system_buid=buid or SYSTEM_BUID,
            )
        except BaseException:
            self._buid = None  # usbmuxd may have restarted: ask again next time
            await service.close()
            raise
        return client

    async def _reusable(self, handle: str) -> _Session | None:
        """The iPad's idle session if it still answers (taken: marked busy), else None."""
        await self._drop_idle()
        session = self._sessions.get(handle)
        if session is None or session.busy:
            return None
        session.busy = True
        try:
            # One small request: a session the iPad dropped (lockdownd restarted, cable
            # wiggled) fails here and is replaced, instead of failing the step.
            await session.client.get_value(key="ProductVersion")
        except Exception:  # any failure means: not reusable
            await self._forget(handle)
            return None
        return session

    async def _drop_idle(self) -> None:
        now = asyncio.get_running_loop().time()
        for handle, session in list(self._sessions.items()):
            if not session.busy and now - session.used > SESSION_IDLE:
                await self._forget(handle)

    async def _forget(self, handle: str) -> None:
        session = self._sessions.pop(handle, None)
        if session is not None:
            with contextlib.suppress(Exception):
                await session.client.close()

    @contextlib.asynccontextmanager
    async def _lockdown(
        self, handle: str, action: str, *, paired: bool = True
    ) -> AsyncIterator[UsbmuxLockdownClient]:
        """A lockdown client for one call; with ``paired`` a session must be up.

        The iPad's kept session when it is idle, else a new connection (kept afterwards if
        none is). Any error drops the client: its connection's state is then unknown.
        Vendor exceptions raised in the ``async with`` body are mapped as well.
        """
        with map_ios_errors(handle, action):
            session = await self._reusable(handle)
            client = session.client if session is not None else await self._connect(handle)
            ok = False
            try:
                if paired and not client.paired:
                    raise UserActionRequired(
                        msg.IOS_NOT_PAIRED.fill(action=action),
                        device=handle,
                        hint=msg.PAIR_HINT,
                    )
                yield client
                ok = True
            finally:
                now = asyncio.get_running_loop().time()
                if session is not None:
                    session.busy = False
                    session.used = now
                    if not ok:
                        await self._forget(handle)
                elif ok and client.paired and handle not in self._sessions:
                    self._sessions[handle] = _Session(client, used=now)
                else:
                    await client.close()

    async def _share(self, client: UsbmuxLockdownClient, handle: str) -> None:
        """Give usbmuxd the new pair record, as Apple's tools do (libimobiledevice reads it)."""
        device = client.service.mux_device
        if device is None or client.pair_record is None:
            return
        async with await usbmux.create_mux(usbmux_address=self._address) as mux:
            if isinstance(mux, usbmux.PlistMuxConnection):
                await mux.save_pair_record(handle, device.devid, plistlib.dumps(client.pair_record))

    async def pair(self, handle: str, *, identity: bytes | None = None) -> Presence:
        """Pair if not yet paired; a person's step is returned as a presence, not raised."""
        async with self._lockdown(handle, msg.ACTION_PAIR, paired=False) as client:
            if client.paired:
                return Presence.READY
        with map_ios_errors(handle, msg.ACTION_PAIR):
            if identity is not None:
                self._supervisor(identity)  # a broken identity is the blueprint's problem
            if self._pairing is None:
                self._pairing = concurrent.futures.ThreadPoolExecutor(
                    4, thread_name_prefix="ios-pair"
                )
            loop = asyncio.get_running_loop()
            try:
                await loop.run_in_executor(
                    self._pairing, asyncio.run, self._pair_on_own_loop(handle, identity)
                )
            except pmd3.PairingDialogResponsePendingError:
                presence = Presence.NEEDS_TRUST
            except pmd3.UserDeniedPairingError:
                presence = Presence.TRUST_DENIED
            except pmd3.PasswordRequiredError:
                presence = Presence.LOCKED
            else:
                presence = Presence.READY
        log.info("%s: pairing %s", handle, presence)
        self._publish(handle, presence)
        return presence

    async def _pair_on_own_loop(self, handle: str, identity: bytes | None) -> None:
        """The pairing itself, on a pairing thread's loop with a connection of its own."""
        client = await self._connect(handle)
        try:
            if client.paired:
                return
            if identity is not None:
                with _keybag(identity) as keybag:
                    await client.pair_supervised(keybag, timeout=0)
            else:
                await client.pair(timeout=0)
            _owner_only(self._settings.pair_records)
            await self._share(client, handle)
            if not await client.validate_pairing():
                raise DeviceProtocolError(msg.IOS_PAIRING_REFUSED, device=handle)
        finally:
            await client.close()

    # --- identity ---

    async def info(self, handle: str) -> DeviceInfo:
        """Identity; the serial number needs pairing (lockdownd hides it before)."""
        async with self._lockdown(handle, msg.ACTION_INFO, paired=False) as client:
            # Asked again, not the values read when the session began (name, activation).
            values = dict(await client.get_value())
        location = await self._location(handle)
        return DeviceInfo(
            platform=Platform.IOS,
            handle=handle,
            serial=str(values.get("SerialNumber", "")),
            udid=str(values.get("UniqueDeviceID", handle)),
            model=str(values.get("ProductType", "")),
            model_name=str(values.get("DeviceClass", "")),
            os_version=str(values.get("ProductVersion", "")),
            build=str(values.get("BuildVersion", "")),
            name=str(values.get("DeviceName", "")),
            location_id=location,
            ecid=values.get("UniqueChipID")
            if isinstance(values.get("UniqueChipID"), int)
            else None,
            activation_state=str(values.get("ActivationState", "")) or None,
        )

    async def device_name(self, handle: str) -> str:
        async with self._lockdown(handle, msg.ACTION_READ_NAME, paired=False) as client:
            return str(await client.get_value(key="DeviceName"))

    async def rename(self, handle: str, name: str) -> None:
        async with self._lockdown(handle, msg.ACTION_RENAME) as client:
            await client.set_value(name, key="DeviceName")

    # --- apps ---

    async def install_app(
        self,
        handle: str,
        path: Path,
        progress: ProgressCallback | None = None,
        *,
        uploaded: Callable[[], None] | None = None,
    ) -> None:
        def report(fraction: float, detail: str) -> None:
            if progress is not None:
                progress(Progress(max(0.0, min(1.0, fraction)), detail))

        def on_percent(percent: object, *_args: object) -> None:
            if isinstance(percent, int | float):
                report(0.5 + 0.5 * float(percent) / 100.0, msg.INSTALLING.fill(file=path.name))

        source = AppFile(path)
        try:
            await source.open()
        except OSError as exc:
            await source.close()
            problem = (
                msg.NO_APP_FILE_BECAUSE.fill(path=path, reason=exc.strerror)
                if exc.strerror
                else msg.NO_APP_FILE.fill(path=path)
            )
            raise InputError(problem) from exc
        # install_from_local would read the whole app into memory and draw a progress bar on
        # stderr: stream it from disk ourselves, then ask installd to install the staged file.
        remote = f"{TEMP_REMOTE_BASEDIR}/{uuid4()}.ipa"

        def sent(done: int) -> None:
            report(0.5 * done / max(1, source.size), msg.UPLOADING.fill(file=path.name))

        try:
            async with self._lockdown(handle, msg.ACTION_INSTALL.fill(file=path.name)) as client:
                report(0.0, msg.UPLOADING.fill(file=path.name))
                async with QuietAfc(client) as afc:
                    try:
                        await afc.makedirs(TEMP_REMOTE_BASEDIR)
                        await stream_to_afc(afc, source, remote, sent)
                        if uploaded is not None:
                            uploaded()
                        async with InstallationProxyService(lockdown=client) as proxy:
                            await install_staged(proxy, remote, on_percent)
                    finally:
                        # Best effort: after an unplug the original error is the one to report.
                        with contextlib.suppress(pmd3.PyMobileDevice3Exception, OSError):
                            await afc.rm_single(remote, force=True)
        finally:
            await source.close()
        report(1.0, msg.INSTALLED.fill(file=path.name))

    async def installed_apps(self, handle: str) -> dict[str, AppVersion]:
        async with (
            self._lockdown(handle, msg.ACTION_LIST_APPS) as client,
            InstallationProxyService(lockdown=client) as proxy,
        ):
            apps = await proxy.get_apps(application_type="User")
        with map_ios_errors(handle, msg.ACTION_LIST_APPS):  # the answer is the device's: any shape
            return self._app_versions(handle, apps)

    @staticmethod
    def _app_versions(handle: str, apps: Mapping[Any, Any]) -> dict[str, AppVersion]:
        result = {}
        for bundle_id, record in apps.items():
            if not isinstance(record, dict):
                raise DeviceProtocolError(msg.IOS_BAD_APP_RECORD.fill(app=bundle_id), device=handle)
            result[str(bundle_id)] = AppVersion(
                identifier=str(bundle_id),
                version=str(record.get("CFBundleVersion", "")),
                display_version=str(record.get("CFBundleShortVersionString", "")),
                name=str(record.get("CFBundleDisplayName") or record.get("CFBundleName") or ""),
            )
        return result

    # --- profiles, supervision, erase ---

    async def supervision(self, handle: str) -> SupervisionState:
        async with (
            self._lockdown(handle, msg.ACTION_READ_SUPERVISION) as client,
            MobileConfigService(lockdown=client) as mc,
        ):
            config = await mc.get_cloud_configuration()
        if not isinstance(config, dict):
            return SupervisionState(supervised=False)
        # The answer is the device's: any shape.
        with map_ios_errors(handle, msg.ACTION_READ_SUPERVISION):
            certs = config.get("SupervisorHostCertificates") or []
            return SupervisionState(
                supervised=bool(config.get("IsSupervised")),
                organization=org
                if isinstance(org := config.get("OrganizationName"), str)
                else None,
                supervisor_cert_sha256=tuple(
                    hashlib.sha256(c).hexdigest() for c in certs if isinstance(c, bytes)
                ),
                skip_setup=tuple(str(k) for k in config.get("SkipSetup") or ()),
            )

    async def supervise(
        self, handle: str, *, organization: str, identity: bytes, skip_setup: Sequence[str]
    ) -> None:
        """Write the cloud configuration; a no-op if this organisation already supervises."""
        cert_der = _identity_cert_der(identity)
        async with (
            self._lockdown(handle, msg.ACTION_SUPERVISE) as client,
            MobileConfigService(lockdown=client) as mc,
        ):
            current = await mc.get_cloud_configuration()
            if (
                isinstance(current, dict)
                and current.get("IsSupervised")
                and current.get("OrganizationName") == organization
                and cert_der in (current.get("SupervisorHostCertificates") or [])
            ):
                return
            await mc.set_cloud_configuration(
                {
                    "AllowPairing": True,
                    "CloudConfigurationUIComplete": True,
                    "ConfigurationSource": 2,
                    "ConfigurationWasApplied": True,
                    "IsMDMUnremovable": False,
                    "IsMandatory": True,
                    "IsMultiUser": False,
                    "IsSupervised": True,
                    "OrganizationMagic": str(uuid4()),
                    "OrganizationName": organization,
                    "PostSetupProfileWasInstalled": True,
                    "SkipSetup": list(skip_setup),
                    "SupervisorHostCertificates": [cert_der],
                }
            )
        log.info("%s: supervised by %s", handle, organization)

    async def profiles(self, handle: str) -> list[ProfileSummary]:
        async with (
            self._lockdown(handle, msg.ACTION_LIST_PROFILES) as client,
            MobileConfigService(lockdown=client) as mc,
        ):
            reply = await mc.get_profile_list()
        # The answer is the device's: any shape.
        with map_ios_errors(handle, msg.ACTION_LIST_PROFILES):
            return self._profile_summaries(handle, reply)

    @staticmethod
    def _profile_summaries(handle: str, reply: Mapping[str, Any]) -> list[ProfileSummary]:
        metadata = reply.get("ProfileMetadata") or {}
        order = reply.get("OrderedIdentifiers") or list(metadata)
        result = []
        for identifier in order:
            meta = metadata.get(identifier) or {}
            if not isinstance(meta, dict):
                raise DeviceProtocolError(
                    msg.IOS_BAD_PROFILE_ENTRY.fill(identifier=identifier), device=handle
                )
            result.append(
                ProfileSummary(
                    identifier=str(identifier),
                    display_name=str(meta.get("PayloadDisplayName", "")),
                    uuid=str(meta.get("PayloadUUID", "")),
                    version=int(meta.get("PayloadVersion", 1)),
                    removal_disallowed=bool(meta.get("PayloadRemovalDisallowed", False)),
                )
            )
        return result

    async def install_profile(
        self, handle: str, payload: bytes, *, identity: bytes | None = None
    ) -> None:
        """Install a profile: silently with the supervision identity, else with a prompt."""
        async with (
            self._lockdown(handle, msg.ACTION_INSTALL_PROFILE) as client,
            MobileConfigService(lockdown=client) as mc,
        ):
            if identity is None:
                await mc.install_profile(payload)
            else:
                await _escalate(mc, self._supervisor(identity))
                await _acknowledged(mc, {"RequestType": "InstallProfileSilent", "Payload": payload})

    async def remove_profile(
        self, handle: str, identifier: str, *, identity: bytes | None = None
    ) -> None:
        async with (
            self._lockdown(handle, msg.ACTION_REMOVE_PROFILE) as client,
            MobileConfigService(lockdown=client) as mc,
        ):
            if identity is not None:
                await _escalate(mc, self._supervisor(identity))
            await mc.remove_profile(identifier)

    async def set_wallpaper(
        self,
        handle: str,
        image: bytes,
        *,
        identity: bytes,
        where: WallpaperWhere = WallpaperWhere.LOCK_SCREEN,
    ) -> None:
        """Set a wallpaper (supervised iPads: MCInstall ``Settings`` after escalation)."""
        request: dict[str, Any] = {
            "RequestType": "Settings",
            "Settings": [{"Item": "Wallpaper", "Where": int(where), "Image": image}],
        }
        async with (
            self._lockdown(handle, msg.ACTION_SET_WALLPAPER) as client,
            MobileConfigService(lockdown=client) as mc,
        ):
            await _escalate(mc, self._supervisor(identity))
            reply = await mc.service.send_recv_plist(request)
        if not isinstance(reply, dict) or reply.get("Status") != "Acknowledged":
            raise DeviceRefused(
                msg.IOS_REFUSED.fill(
                    action=msg.ACTION_SET_WALLPAPER,
                    reply=_mc_error_text(reply if isinstance(reply, dict) else {}),
                ),
                device=handle,
            )

    async def erase(self, handle: str) -> None:
        """Start Erase All Content and Settings; the iPad detaches and returns factory-fresh."""
        async with (
            self._lockdown(handle, msg.ACTION_ERASE) as client,
            MobileConfigService(lockdown=client) as mc,
        ):
            await mc.erase_device(preserve_data_plan=False, disallow_proximity_setup=False)
        await self._forget(handle)  # the iPad restarts factory-fresh: its session is gone
        log.info("%s: erase started", handle)

    # --- activation ---

    async def activation_state(self, handle: str) -> str:
        async with self._lockdown(handle, msg.ACTION_READ_ACTIVATION, paired=False) as client:
            return str(await client.get_value(key="ActivationState"))

    def _post(self, path: str, body: bytes, content_type: str) -> tuple[bytes, dict[str, str]]:
        """One blocking POST to the activation server (run in a thread)."""
        request = urllib.request.Request(
            self._settings.activation_server.rstrip("/") + path,
            data=body,
            method="POST",
            headers={
                "Content-Type": content_type,
                "Accept": "application/xml",
                "User-Agent": ACTIVATION_USER_AGENT,
            },
        )
        with urllib.request.urlopen(request, timeout=self._settings.http_timeout) as response:
            return response.read(), {k: v for k, v in response.headers.items()}

    async def _post_async(
        self, handle: str, path: str, body: bytes, content_type: str
    ) -> tuple[bytes, dict[str, str]]:
        try:
            return await asyncio.to_thread(self._post, path, body, content_type)
        except (urllib.error.URLError, OSError) as exc:
            raise DeviceError(
                msg.ACTIVATION_SERVER_SILENT.fill(error=exc),
                device=handle,
                hint=msg.ACTIVATION_NETWORK_HINT,
            ) from exc

    async def activate(self, handle: str) -> None:
        """Activate an Unactivated iPad (session flow); a no-op once activated."""
        async with self._lockdown(handle, msg.ACTION_ACTIVATE) as client:
            service = MobileActivationService(client)
            if await client.get_value(key="ActivationState") != "Unactivated":
                return
            session: Any = await service.create_activation_session_info()  # type: ignore[no-untyped-call]
            handshake, _ = await self._post_async(
                handle, DRM_HANDSHAKE_PATH, plistlib.dumps(session), "application/x-apple-plist"
            )
            info = await service.create_activation_info_with_session(handshake)
            form = urllib.parse.urlencode({"activation-info": plistlib.dumps(info)}).encode()
            record, headers = await self._post_async(
                handle, DEVICE_ACTIVATION_PATH, form, "application/x-www-form-urlencoded"
            )
            kind = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
            if kind.startswith("application/x-buddyml"):
                raise UserActionRequired(
                    msg.ACTIVATION_LOCK,
                    device=handle,
                    hint=msg.ACTIVATION_LOCK_HINT,
                )
            if not kind.startswith(("text/xml", "application/xml")):
                raise DeviceProtocolError(
                    msg.ACTIVATION_SERVER_ANSWERED.fill(kind=kind or msg.NO_CONTENT_TYPE),
                    device=handle,
                )
            reply = await service.activate_with_session(record, cast(Any, headers))
            if isinstance(reply, dict) and reply.get("Error"):
                raise DeviceRefused(
                    msg.IOS_REFUSED.fill(action=msg.ACTION_ACTIVATE, reply=reply["Error"]),
                    device=handle,
                )
            await client.set_value(True, key="ActivationStateAcknowledged")
        log.info("%s: activated", handle)

    async def close(self) -> None:
        """Close the kept sessions; watchers end when their iterators close."""
        for handle in list(self._sessions):
            await self._forget(handle)
        if self._pairing is not None:
            self._pairing.shutdown(wait=False)
            self._pairing = None
        for queue in list(self._watchers):
            queue.put_nowait(DeviceGone(msg.IOS_DRIVER_CLOSED, hint=GONE_HINT))
