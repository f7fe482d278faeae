"""Activation of an emulated iPad: mobileactivationd on the device and a stand-in albert server.

The device side (``com.apple.mobileactivationd``) speaks the session flow pymobiledevice3's
``MobileActivationService.activate()`` uses: GetActivationStateRequest,
CreateTunnel1SessionInfoRequest, CreateTunnel1ActivationInfoRequest (with the drmHandshake
answer), HandleActivationInfoWithSessionRequest (with the activation record), and
DeactivateRequest. Apple's server cannot be emulated faithfully; :class:`ActivationServer`
answers ``drmHandshake`` and ``deviceActivation`` in the shape the client expects, and the
device only accepts a handshake answer and a record made for it.

The server runs in its own thread: pymobiledevice3 posts with blocking ``requests`` from inside
its coroutine, so a server on the caller's event loop could never answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import plistlib
import secrets
import threading
import uuid
from collections.abc import Container
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from station.sim.ios.framing import FramingError, read_plist, write_plist
from station.sim.ios.services import ServiceContext

log = logging.getLogger("station.sim.ios.activation")

SERVICE_NAME = "com.apple.mobileactivationd"
DRM_HANDSHAKE_PATH = "/deviceservices/drmHandshake"
DEVICE_ACTIVATION_PATH = "/deviceservices/deviceActivation"


def handshake_response_for(request_message: bytes) -> bytes:
    """What the stand-in server answers to a HandshakeRequestMessage (and the device expects)."""
    return hashlib.sha256(b"albert-drm-handshake" + request_message).digest()


def _account_token(udid: str, serial: str) -> bytes:
    return (
        "{\n"
        f'\t"ActivationRandomness" = "{uuid.uuid4()}";\n'
        f'\t"UniqueDeviceID" = "{udid}";\n'
        f'\t"SerialNumber" = "{serial}";\n'
        '\t"ActivityURL" = "https://albert.apple.com/deviceservices/activity";\n'
        "}"
    ).encode()


class MobileActivationd:
    """The mobileactivationd of the cart; one instance serves every iPad.

    The open handshake is the iPad's state (saved with it), because the client opens a new
    service connection for every command, and a host-side restart between two of them (the
    cart's emulators restarting) must not make the iPad forget it.
    """

    async def handle(self, ctx: ServiceContext) -> None:
        """A :data:`~station.sim.ios.services.ServiceHandler`."""
        while True:
            try:
                request = await read_plist(ctx.reader)
            except FramingError as exc:
                log.info("mobileactivationd of %s: %s", ctx.ipad.udid, exc)
                return
            if request is None:
                return
            await write_plist(ctx.writer, self._answer(ctx, request))

    def _answer(self, ctx: ServiceContext, request: dict[str, Any]) -> dict[str, Any]:
        ipad = ctx.ipad
        command = request.get("Command")
        if command == "GetActivationStateRequest":
            return {"Value": ipad.activation_state}
        if command == "CreateTunnel1SessionInfoRequest":
            message = secrets.token_bytes(64)
            ipad.activation_handshake = message.hex()
            ctx.host.save()
            return {"Value": {"HandshakeRequestMessage": message, "UniqueDeviceID": ipad.udid}}
        if command == "CreateTunnel1ActivationInfoRequest":
            return self._activation_info(ctx, request.get("Value"))
        if command == "HandleActivationInfoWithSessionRequest":
            return self._handle_record(ctx, request.get("Value"))
        if command == "DeactivateRequest":
            ipad.activation_state = "Unactivated"
            ctx.host.save()
            return {}
        return {"Error": f"Unknown command: {command!r}"}

    def _activation_info(self, ctx: ServiceContext, value: Any) -> dict[str, Any]:
        ipad = ctx.ipad
        sent = bytes.fromhex(ipad.activation_handshake) if ipad.activation_handshake else None
        try:
            answer = plistlib.loads(value) if isinstance(value, bytes) else None
        except Exception:  # boundary: plistlib raises several unrelated types on garbage
            answer = None
        if (
            sent is None
            or not isinstance(answer, dict)
            or answer.get("HandshakeResponseMessage") != handshake_response_for(sent)
        ):
            return {"Error": "Failed to process the drmHandshake response (session mismatch)."}
        info = {
            "ActivationRequestInfo": {
                "ActivationRandomness": str(uuid.uuid4()).upper(),
                "ActivationState": ipad.activation_state,
                "FMiPAccountExists": False,
            },
            "DeviceCertRequest": secrets.token_bytes(256),
            "DeviceID": {"SerialNumber": ipad.serial, "UniqueDeviceID": ipad.udid},
            "DeviceInfo": {
                "BuildVersion": ipad.build_version,
                "DeviceClass": "iPad",
                "DeviceVariant": "A",
                "ModelNumber": ipad.model.hardware_model.removesuffix("AP"),
                "OSType": "iPhone OS",
                "ProductType": ipad.model.product_type,
                "ProductVersion": ipad.product_version,
                "UniqueChipID": ipad.ecid,
            },
        }
        return {
            "Value": {
                "ActivationInfoXML": plistlib.dumps(info),
                "FairPlayCertChain": secrets.token_bytes(512),
                "FairPlaySignature": secrets.token_bytes(128),
                "RKCertification": secrets.token_bytes(256),
                "RKSignature": secrets.token_bytes(64),
                "serverKP": answer.get("serverKP", b""),
                "signActRequest": secrets.token_bytes(64),
            }
        }

    def _handle_record(self, ctx: ServiceContext, value: Any) -> dict[str, Any]:
        ipad = ctx.ipad
        try:
            reply = plistlib.loads(value) if isinstance(value, bytes) else None
        except Exception:  # boundary: plistlib raises several unrelated types on garbage
            reply = None
        record = reply.get("ActivationRecord") if isinstance(reply, dict) else None
        token = record.get("AccountToken") if isinstance(record, dict) else None
        if (
            not isinstance(token, bytes)
            or f'"UniqueDeviceID" = "{ipad.udid}";'.encode() not in token
        ):
            return {"Error": "The activation record is not valid for this device."}
        ipad.activation_state = "Activated"
        ipad.activation_handshake = ""
        ctx.host.save()
        log.info("%s activated", ipad.udid)
        return {}


class _Handler(BaseHTTPRequestHandler):
    server: _AlbertHTTPServer
    timeout = 10  # an idle client cannot hold stop() up for longer

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("albert: " + format, *args)

    def _reply(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.path == DRM_HANDSHAKE_PATH:
            self._drm_handshake(body)
        elif self.path == DEVICE_ACTIVATION_PATH:
            self._device_activation(body)
        else:
            self._reply(404, "text/plain", b"not found")

    def _drm_handshake(self, body: bytes) -> None:
        try:
            blob = plistlib.loads(body)
            message = blob["HandshakeRequestMessage"]
            if not isinstance(message, bytes):
                raise TypeError("HandshakeRequestMessage is not data")
        except Exception:  # boundary: whatever the client posted, answer 400
            self._reply(400, "text/plain", b"bad handshake request")
            return
        answer = {
            "HandshakeResponseMessage": handshake_response_for(message),
            "serverKP": secrets.token_bytes(32),
            "FDRBlob": secrets.token_bytes(128),
            "SUInfo": secrets.token_bytes(64),
        }
        self._reply(200, "application/xml", plistlib.dumps(answer))

    def _device_activation(self, body: bytes) -> None:
        try:
            form = parse_qs(body.decode(), strict_parsing=True)
            info = plistlib.loads(form["activation-info"][0].encode())
            xml = plistlib.loads(info["ActivationInfoXML"])
            udid = xml["DeviceID"]["UniqueDeviceID"]
            serial = xml["DeviceID"]["SerialNumber"]
        except Exception:  # boundary: whatever the client posted, answer 400
            self._reply(400, "text/plain", b"bad activation request")
            return
        self.server.owner._record(udid)
        if udid in self.server.owner.locked:
            self._reply(200, "application/x-buddyml", _LOCKED_PAGE)
            return
        record = {
            "ActivationRecord": {
                "unbrick": True,
                "AccountToken": _account_token(udid, serial),
                "AccountTokenCertificate": secrets.token_bytes(512),
                "AccountTokenSignature": secrets.token_bytes(128),
                "DeviceCertificate": secrets.token_bytes(512),
                "FairPlayKeyData": secrets.token_bytes(256),
                "RegulatoryInfo": b'{"elabel":{"bis":{"regulatory":"R-41094897"}}}',
                "UniqueDeviceCertificate": secrets.token_bytes(512),
            }
        }
        self._reply(200, "text/xml", plistlib.dumps(record))


_LOCKED_PAGE = b"""<xmlui><page><navigationBar title="Activation Lock"/>
<tableView><section><footer>This iPad is linked to an Apple Account.</footer>
<editableTextRow id="login" label="Apple Account" placeholder="example@icloud.com"/>
<editableTextRow id="password" label="Password" secure="true"/></section></tableView></page>
<serverInfo isAuthRequired="true" activation-info-base64="" /></xmlui>"""


class _AlbertHTTPServer(ThreadingHTTPServer):
    def __init__(self, owner: ActivationServer, address: tuple[str, int]) -> None:
        super().__init__(address, _Handler)
        self.owner = owner


class ActivationServer:
    """A stand-in for Apple's activation server on loopback.

    ``locked`` holds UDIDs that get the Activation Lock page instead of a record.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, locked: Container[str] = ()):
        self._address = (host, port)
        self.locked = locked
        self.requests: list[str] = []  # UDIDs that asked for activation, in order
        self._lock = threading.Lock()
        self._server: _AlbertHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _record(self, udid: str) -> None:
        with self._lock:
            self.requests.append(udid)

    async def start(self) -> None:
        self._server = _AlbertHTTPServer(self, self._address)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="albert-standin",
        )
        self._thread.start()

    async def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None or thread is None:
            return
        await asyncio.to_thread(server.shutdown)
        await asyncio.to_thread(server.server_close)
        await asyncio.to_thread(thread.join)

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:PORT``."""
        if self._server is None:
            raise RuntimeError("activation server is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def drm_handshake_url(self) -> str:
        return self.url + DRM_HANDSHAKE_PATH

    @property
    def activation_url(self) -> str:
        return self.url + DEVICE_ACTIVATION_PATH
