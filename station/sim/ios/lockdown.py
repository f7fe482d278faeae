"""lockdownd of one emulated iPad (device port 62078): values, pairing, sessions, services.

The wire is the real one: 4-byte big-endian length + plist, replies echo ``Request`` and carry
``Error`` strings as lockdownd does. After StartSession the same stream switches to server-side
TLS right after the plaintext reply; a TLS close_notify from the client (libimobiledevice sends
one after StopSession) is answered and the stream falls back to plaintext. TLS runs on memory
BIOs fed one TLS record at a time, so nothing past the close_notify is swallowed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import struct
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any, Literal

from station.sim.ios.device import PairedHost, VirtualIPad
from station.sim.ios.framing import FramingError, encode_plist, read_plist_with
from station.sim.ios.pairing import (
    LockdownRefusal,
    check_pair_record,
    device_public_key_pem,
    new_escrow_bag,
    new_pairing_challenge,
    supervisor_certificates,
    verify_challenge_response,
)

log = logging.getLogger("station.sim.ios.lockdown")

LOCKDOWN_PORT = 62078
_TLS_CONTENT_TYPES = (20, 21, 22, 23)
_TLS_MAX_RECORD = 16384 + 2048

# Null-domain keys a real device answers before a session (what `ideviceinfo -s` shows).
PUBLIC_KEYS = frozenset(
    {
        "ActivationState",
        "BuildVersion",
        "CPUArchitecture",
        "DeviceClass",
        "DeviceColor",
        "DeviceName",
        "DevicePublicKey",
        "HardwareModel",
        "HardwarePlatform",
        "HostAttached",
        "HumanReadableProductVersionString",
        "PartitionType",
        "ProductName",
        "ProductType",
        "ProductVersion",
        "ProductionSOC",
        "ProtocolVersion",
        "SupportedDeviceFamilies",
        "TelephonyCapability",
        "UniqueChipID",
        "UniqueDeviceID",
        "WiFiAddress",
    }
)
# Null-domain keys a host may write (others are hardware facts: SetProhibited).
WRITABLE_KEYS = frozenset(
    {
        "DeviceName",
        "TimeZone",
        "Uses24HourClock",
        "TimeIntervalSince1970",
        "ActivationStateAcknowledged",
        "iTunesHasConnected",
    }
)


def _chip_id(ipad: VirtualIPad) -> int:
    return int(ipad.model.cpu_prefix, 16)


def _bluetooth_address(wifi: str) -> str:
    octets = [int(part, 16) for part in wifi.split(":")]
    octets[-1] = (octets[-1] + 1) & 0xFF
    return ":".join(f"{b:02x}" for b in octets)


def device_values(ipad: VirtualIPad) -> dict[str, Any]:
    """The null domain of lockdownd, derived from the iPad's state."""
    stored = ipad.lockdown_values.get("", {})
    values: dict[str, Any] = {
        "ActivationState": ipad.activation_state,
        "ActivationStateAcknowledged": ipad.activation_state == "Activated",
        "BasebandStatus": "NoTelephony",
        "BluetoothAddress": _bluetooth_address(ipad.wifi_address),
        "BoardId": 8,
        "BrickState": False,
        "BuildVersion": ipad.build_version,
        "CPUArchitecture": "arm64e",
        "ChipID": _chip_id(ipad),
        "DeviceClass": "iPad",
        "DeviceColor": "1",
        "DeviceName": ipad.device_name,
        "DevicePublicKey": device_public_key_pem(ipad),
        "EthernetAddress": ipad.wifi_address,
        "FirmwareVersion": "iBoot-10151.140.19",
        "HardwareModel": ipad.model.hardware_model,
        "HardwarePlatform": f"t{_chip_id(ipad):04x}",
        "HostAttached": True,
        "HumanReadableProductVersionString": ipad.product_version,
        "PartitionType": "GUID_partition_scheme",
        "PasswordProtected": ipad.passcode_locked,
        "ProductName": "iPhone OS",
        "ProductType": ipad.model.product_type,
        "ProductVersion": ipad.product_version,
        "ProductionSOC": True,
        "ProtocolVersion": "2",
        "RegionInfo": "LL/A",
        "SerialNumber": ipad.serial,
        "SupportedDeviceFamilies": [1, 2],
        "TelephonyCapability": False,
        "TimeIntervalSince1970": time.time(),
        "TimeZone": "America/Los_Angeles",
        "TimeZoneOffsetFromUTC": -28800.0,
        "TrustedHostAttached": bool(ipad.paired_hosts),
        "UniqueChipID": ipad.ecid,
        "UniqueDeviceID": ipad.udid,
        "Uses24HourClock": False,
        "WiFiAddress": ipad.wifi_address,
    }
    values.update(stored)
    return values


def domain_values(ipad: VirtualIPad, domain: str) -> dict[str, Any] | None:
    """A named domain, or ``None`` for one this device does not have."""
    base: dict[str, dict[str, Any]] = {
        "com.apple.international": {
            "Language": "en",
            "Locale": "en_US",
            "SupportedLanguages": ["en", "fr", "de", "es", "it", "nl"],
            "SupportedLocales": ["en_US", "en_GB", "fr_FR", "de_DE", "es_ES", "nl_NL"],
        },
        "com.apple.disk_usage": {
            "TotalDiskCapacity": ipad.model.storage_bytes,
            "TotalDataCapacity": ipad.model.storage_bytes - 12 * 10**9,
            "TotalDataAvailable": ipad.free_bytes,
            "AmountDataAvailable": ipad.free_bytes,
        },
        "com.apple.mobile.battery": {
            "BatteryCurrentCapacity": 100,
            "BatteryIsCharging": False,
            "ExternalChargeCapable": True,
            "ExternalConnected": True,
            "FullyCharged": True,
        },
        "com.apple.mobile.wireless_lockdown": {"EnableWifiConnections": False},
        "com.apple.PurpleBuddy": {"SetupDone": ipad.setup_done},
        "com.apple.mobile.iTunes": {
            "FamilyID": 0xFFFFFFFFFFFFFFFF,
            "MinITunesVersion": "12.10.10",
            "MinMacOSVersion": "10.15.4",
        },
        "com.apple.Accessibility": {},
        "com.apple.mobile.chaperone": {"DeviceIsChaperoned": ipad.supervised},
    }
    stored = ipad.lockdown_values.get(domain)
    if domain not in base and stored is None:
        return None
    values = dict(base.get(domain, {}))
    values.update(stored or {})
    return values


class TlsChannel:
    """One client stream carrying lockdown plists, in plaintext or in TLS."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._tls: ssl.SSLObject | None = None
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._plain = bytearray()

    @property
    def tls_active(self) -> bool:
        return self._tls is not None

    async def _flush(self) -> None:
        data = self._outgoing.read()
        if data:
            self._writer.write(data)
            await self._writer.drain()

    async def _feed_record(self) -> None:
        header = await self._reader.readexactly(5)
        if header[0] not in _TLS_CONTENT_TYPES or header[1] != 3:
            raise FramingError(f"not a TLS record: {header.hex()}")
        (length,) = struct.unpack(">H", header[3:])
        if length > _TLS_MAX_RECORD:
            raise FramingError("TLS record too long")
        self._incoming.write(header + await self._reader.readexactly(length))

    async def start_tls(self, context: ssl.SSLContext) -> None:
        """Server side of the handshake; the client speaks first."""
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        tls = context.wrap_bio(self._incoming, self._outgoing, server_side=True)
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                await self._flush()
                await self._feed_record()
        await self._flush()
        self._tls = tls

    async def _end_tls(self) -> None:
        """The client sent close_notify: answer it, then carry plaintext."""
        assert self._tls is not None
        try:
            self._tls.unwrap()
        except (ssl.SSLWantReadError, ssl.SSLError):
            pass
        try:
            await self._flush()
        except ConnectionError:
            pass
        self._tls = None
        if self._plain:
            raise FramingError("close_notify inside a message")

    async def _readexactly(self, size: int) -> bytes:
        while self._tls is not None and len(self._plain) < size:
            try:
                data = self._tls.read(65536)
            except ssl.SSLWantReadError:
                await self._flush()
                await self._feed_record()
                continue
            except ssl.SSLZeroReturnError:
                data = b""
            if data:
                self._plain += data
            else:  # the read that meets a close_notify returns nothing
                await self._end_tls()
        if self._tls is None and not self._plain:
            return await self._reader.readexactly(size)
        data = bytes(self._plain[:size])
        del self._plain[:size]
        return data

    async def read_message(self) -> dict[str, Any] | None:
        """The next request, or ``None`` when the client has gone."""
        return await read_plist_with(self._readexactly)

    async def write_message(self, message: dict[str, Any]) -> None:
        data = encode_plist(message)
        if self._tls is None:
            self._writer.write(data)
            await self._writer.drain()
        else:
            self._tls.write(data)
            await self._flush()


TrustState = Literal["closed", "open", "accepted", "denied"]


class Lockdownd:
    """The lockdownd of one attached iPad; :meth:`serve` runs one client connection."""

    def __init__(
        self,
        ipad: VirtualIPad,
        *,
        save: Callable[[], None],
        notify_paired: Callable[[], None],
        open_service: Callable[[str, bool], int | None],
    ) -> None:
        self.ipad = ipad
        self._save = save
        self._notify_paired = notify_paired
        self._open_service = open_service
        self._trust: TrustState = "closed"
        self._tls_context: ssl.SSLContext | None = None
        self.sessions_started = 0  # what a test reads: how often a host set up a session

    # --- the person at the trust prompt ---

    def accept_trust(self) -> None:
        """The person taps Trust (only meaningful while the prompt is showing)."""
        if self._trust == "open":
            self._trust = "accepted"

    def deny_trust(self) -> None:
        if self._trust == "open":
            self._trust = "denied"

    @property
    def trust_prompt_open(self) -> bool:
        return self._trust == "open"

    def _tls(self) -> ssl.SSLContext:
        if self._tls_context is None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.set_ciphers("ALL:@SECLEVEL=0")
            context.num_tickets = 0
            context.verify_mode = ssl.CERT_NONE  # hosts present different certs; none is checked
            fd, path = tempfile.mkstemp(suffix=".pem")
            try:
                with os.fdopen(fd, "w") as handle:
                    handle.write(self.ipad.device_certificate_pem)
                    handle.write(self.ipad.device_private_key_pem)
                context.load_cert_chain(path)
            finally:
                os.unlink(path)
            self._tls_context = context
        return self._tls_context

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer requests until the client leaves; garbage closes the connection."""
        conn = _Connection(self, TlsChannel(reader, writer))
        try:
            await conn.run()
        except (FramingError, ConnectionError, asyncio.IncompleteReadError, ssl.SSLError) as exc:
            log.info("lockdown client of %s dropped: %s", self.ipad.udid, exc)
        except Exception:  # boundary: one bad request must not take the emulator down
            log.exception("lockdownd of %s failed; connection closed", self.ipad.udid)


class _Connection:
    """State of one lockdown client connection (session, pending challenge)."""

    def __init__(self, daemon: Lockdownd, channel: TlsChannel) -> None:
        self.daemon = daemon
        self.ipad = daemon.ipad
        self.channel = channel
        self.session_id: str | None = None
        self.host_id: str | None = None
        self.challenge: bytes | None = None

    async def run(self) -> None:
        while True:
            request = await self.channel.read_message()
            if request is None:
                return
            name = request.get("Request")
            if not isinstance(name, str):
                await self.channel.write_message({"Error": "MissingRequest"})
                continue
            handler = getattr(self, f"_do_{name}", None)
            reply: dict[str, Any] = {"Request": name}
            if handler is None:
                reply["Error"] = "InvalidRequest"
            else:
                try:
                    reply.update(handler(request))
                except _ChallengeRequired as exc:
                    reply["Error"] = exc.error
                    reply["ExtendedResponse"] = {"PairingChallenge": exc.challenge}
                except LockdownRefusal as exc:
                    reply["Error"] = exc.error
            await self.channel.write_message(reply)
            if name == "StartSession" and "Error" not in reply:
                await self.channel.start_tls(self.daemon._tls())
            elif name == "Goodbye":
                return

    # --- values ---

    def _do_QueryType(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"Type": "com.apple.mobile.lockdown"}

    def _do_GetValue(self, request: dict[str, Any]) -> dict[str, Any]:
        domain = request.get("Domain") or ""
        key = request.get("Key") or None
        reply: dict[str, Any] = {}
        if domain:
            reply["Domain"] = domain
        if key:
            reply["Key"] = key
        in_session = self.session_id is not None
        if domain:
            values = domain_values(self.ipad, domain)
            if values is None:
                raise LockdownRefusal("MissingValue")
            if not in_session and domain != "com.apple.mobile.iTunes":
                raise LockdownRefusal("GetProhibited")
        else:
            values = device_values(self.ipad)
            if not in_session:
                values = {k: v for k, v in values.items() if k in PUBLIC_KEYS}
        if key is None:
            reply["Value"] = values
            return reply
        if key not in values:
            if not in_session and not domain and key in device_values(self.ipad):
                raise LockdownRefusal("GetProhibited")
            raise LockdownRefusal("MissingValue")
        reply["Value"] = values[key]
        return reply

    def _need_session(self) -> None:
        if self.session_id is None:
            raise LockdownRefusal("SessionInactive")

    def _do_SetValue(self, request: dict[str, Any]) -> dict[str, Any]:
        self._need_session()
        domain = request.get("Domain") or ""
        key = request.get("Key")
        if not isinstance(key, str) or not key:
            raise LockdownRefusal("MissingKey")
        if "Value" not in request:
            raise LockdownRefusal("MissingValue")
        value = request["Value"]
        if not domain:
            if key not in WRITABLE_KEYS:
                raise LockdownRefusal("SetProhibited")
            if key == "DeviceName":
                if not isinstance(value, str):
                    raise LockdownRefusal("InvalidValue")
                self.ipad.device_name = value
            else:
                self.ipad.lockdown_values.setdefault("", {})[key] = value
        else:
            self.ipad.lockdown_values.setdefault(domain, {})[key] = value
        self.daemon._save()
        return {"Domain": domain, "Key": key} if domain else {"Key": key}

    def _do_RemoveValue(self, request: dict[str, Any]) -> dict[str, Any]:
        self._need_session()
        domain = request.get("Domain") or ""
        key = request.get("Key")
        stored = self.ipad.lockdown_values.get(domain, {})
        if not isinstance(key, str) or key not in stored:
            raise LockdownRefusal("RemoveProhibited" if domain == "" else "MissingValue")
        del stored[key]
        self.daemon._save()
        return {"Domain": domain, "Key": key} if domain else {"Key": key}

    # --- pairing ---

    def _do_Pair(self, request: dict[str, Any]) -> dict[str, Any]:
        ipad = self.ipad
        record = check_pair_record(request.get("PairRecord"), ipad)
        options = request.get("PairingOptions") or {}
        if not isinstance(options, dict):
            options = {}
        if ipad.passcode_locked:
            raise LockdownRefusal("PasswordProtected")
        supervisors = supervisor_certificates(ipad)
        response = options.get("ChallengeResponse")
        if isinstance(response, bytes):
            challenge, self.challenge = self.challenge, None
            if challenge is None or not verify_challenge_response(response, challenge, supervisors):
                raise LockdownRefusal("MCProtected")
            return self._paired(record)
        offered = options.get("SupervisorCertificate")
        if isinstance(offered, bytes) and offered in supervisors:
            self.challenge = new_pairing_challenge()
            raise _ChallengeRequired(self.challenge)
        config = ipad.cloud_config
        if ipad.supervised and config is not None and config.get("AllowPairing") is False:
            raise LockdownRefusal("MCProtected")
        return self._trust_prompt(record)

    def _trust_prompt(self, record: Any) -> dict[str, Any]:
        daemon = self.daemon
        ipad = self.ipad
        if ipad.trust == "accept" or daemon._trust == "accepted":
            daemon._trust = "closed"
            ipad.trust_prompt_open = False
            return self._paired(record)
        if ipad.trust == "deny" or daemon._trust == "denied":
            daemon._trust = "closed"
            ipad.trust_prompt_open = False
            raise LockdownRefusal("UserDeniedPairing")
        daemon._trust = "open"
        ipad.trust_prompt_open = True
        raise LockdownRefusal("PairingDialogResponsePending")

    def _paired(self, record: Any) -> dict[str, Any]:
        ipad = self.ipad
        if not ipad.escrow_bag:
            ipad.escrow_bag = new_escrow_bag().hex()
        ipad.paired_hosts[record.host_id] = PairedHost(
            host_id=record.host_id,
            system_buid=record.system_buid,
            host_certificate_pem=record.host_certificate_pem,
            root_certificate_pem=record.root_certificate_pem,
        )
        self.daemon._save()
        self.daemon._notify_paired()
        log.info("%s paired with host %s", ipad.udid, record.host_id)
        return {"EscrowBag": bytes.fromhex(ipad.escrow_bag)}

    def _host_of(self, request: dict[str, Any]) -> str:
        record = request.get("PairRecord")
        host_id = record.get("HostID") if isinstance(record, dict) else None
        if not isinstance(host_id, str):
            raise LockdownRefusal("MissingHostID")
        if host_id not in self.ipad.paired_hosts:
            raise LockdownRefusal("InvalidHostID")
        return host_id

    def _do_ValidatePair(self, request: dict[str, Any]) -> dict[str, Any]:
        self._host_of(request)
        return {}

    def _do_Unpair(self, request: dict[str, Any]) -> dict[str, Any]:
        host_id = self._host_of(request)
        del self.ipad.paired_hosts[host_id]
        self.daemon._save()
        return {}

    # --- sessions and services ---

    def _do_StartSession(self, request: dict[str, Any]) -> dict[str, Any]:
        host_id = request.get("HostID")
        if not isinstance(host_id, str):
            raise LockdownRefusal("MissingHostID")
        if host_id not in self.ipad.paired_hosts:
            raise LockdownRefusal("InvalidHostID")
        if self.session_id is not None:
            raise LockdownRefusal("SessionActive")
        self.session_id = str(uuid.uuid4()).upper()
        self.host_id = host_id
        self.daemon.sessions_started += 1
        return {"SessionID": self.session_id, "EnableSessionSSL": True}

    def _do_StopSession(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.session_id is None:
            raise LockdownRefusal("SessionInactive")
        if request.get("SessionID") != self.session_id:
            raise LockdownRefusal("InvalidSessionID")
        self.session_id = None
        self.host_id = None
        return {"Result": "Success"}

    def _do_StartService(self, request: dict[str, Any]) -> dict[str, Any]:
        self._need_session()
        service = request.get("Service")
        if not isinstance(service, str):
            raise LockdownRefusal("MissingService")
        bag = request.get("EscrowBag")
        escrow_given = isinstance(bag, bytes) and bag.hex() == self.ipad.escrow_bag
        port = self.daemon._open_service(service, escrow_given)
        if port is None:
            raise LockdownRefusal("InvalidService")
        return {"Service": service, "Port": port, "EnableServiceSSL": False}

    def _do_Activate(self, request: dict[str, Any]) -> dict[str, Any]:
        self._need_session()
        if not isinstance(request.get("ActivationRecord"), dict | bytes):
            raise LockdownRefusal("InvalidActivationRecord")
        self.ipad.activation_state = "Activated"
        self.daemon._save()
        return {}

    def _do_Deactivate(self, request: dict[str, Any]) -> dict[str, Any]:
        self._need_session()
        self.ipad.activation_state = "Unactivated"
        self.daemon._save()
        return {}

    def _do_Goodbye(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"Result": "Success"}


class _ChallengeRequired(LockdownRefusal):
    """The supervised-pairing answer: an error that carries the challenge to sign."""

    def __init__(self, challenge: bytes) -> None:
        super().__init__("MCChallengeRequired")
        self.challenge = challenge
