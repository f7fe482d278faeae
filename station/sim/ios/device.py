"""State of one emulated iPad: identity, pairing, supervision and what is installed on it.

This is the device's "disk". lockdownd, MCInstall, installation_proxy, AFC and mobile
activation all read and change it; the cart persists it to the state directory so an iPad
keeps its pairing, supervision and apps across a restart of the emulator (as a real one does).
Changing fields is done by the protocol handlers; :meth:`VirtualIPad.erase` is the one
operation that wipes it back to factory state while keeping the hardware identity.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

TrustBehaviour = Literal["accept", "prompt", "deny"]


@dataclass(frozen=True)
class IPadModel:
    """Hardware facts and device-side timings of one iPad model (timings in device seconds)."""

    product_type: str  # e.g. "iPad12,1"
    marketing_name: str
    hardware_model: str  # e.g. "J181AP"
    usb_product_id: int  # Apple PID in USB mode (0x12ab for iPads)
    cpu_prefix: str  # first 8 hex digits of the dashed UDID, e.g. "00008030"
    storage_bytes: int
    product_version: str  # iOS version shipped
    build_version: str
    erase_seconds: float  # EraseDevice until the device detaches
    boot_seconds: float  # detached until it re-attaches after erase or reboot
    install_bytes_per_s: float  # installd's unpack/verify rate after the upload


IPAD_MODELS: dict[str, IPadModel] = {
    m.product_type: m
    for m in (
        IPadModel(
            "iPad12,1",
            "iPad (9th generation)",
            "J181AP",
            0x12AB,
            "00008030",
            64 * 10**9,
            "17.6.1",
            "21G93",
            25.0,
            60.0,
            40_000_000,
        ),
        IPadModel(
            "iPad13,18",
            "iPad (10th generation)",
            "J271AP",
            0x12AB,
            "00008101",
            64 * 10**9,
            "18.1",
            "22B83",
            20.0,
            45.0,
            60_000_000,
        ),
        IPadModel(
            "iPad14,1",
            "iPad mini (6th generation)",
            "J310AP",
            0x12AB,
            "00008110",
            64 * 10**9,
            "18.1",
            "22B83",
            20.0,
            40.0,
            70_000_000,
        ),
        IPadModel(
            "iPad13,16",
            "iPad Air (5th generation)",
            "J407AP",
            0x12AB,
            "00008103",
            64 * 10**9,
            "18.0.1",
            "22A3370",
            18.0,
            40.0,
            80_000_000,
        ),
    )
}


@dataclass
class PairedHost:
    """A host this iPad trusts (what the device keeps of a completed Pair)."""

    host_id: str
    system_buid: str
    host_certificate_pem: str
    root_certificate_pem: str


@dataclass
class InstalledProfile:
    identifier: str
    uuid: str
    display_name: str
    version: int
    payload: bytes  # the .mobileconfig as installed
    removal_disallowed: bool = False
    silent: bool = False


@dataclass
class InstalledApp:
    bundle_id: str
    version: str  # CFBundleVersion
    short_version: str  # CFBundleShortVersionString
    name: str
    size: int


@dataclass
class VirtualIPad:
    """One emulated iPad. Identity fields survive erase; everything else does not."""

    udid: str
    serial: str
    ecid: int
    model: IPadModel
    wifi_address: str
    device_private_key_pem: str
    device_certificate_pem: str
    product_version: str
    build_version: str
    device_name: str = "iPad"
    activation_state: str = "Unactivated"
    setup_done: bool = False  # Setup Assistant finished (then SetCloudConfiguration gives 14002)
    passcode_locked: bool = False
    trust: TrustBehaviour = "prompt"  # what the person does when the trust prompt shows
    trust_prompt_open: bool = False
    paired_hosts: dict[str, PairedHost] = field(default_factory=dict)
    escrow_bag: str = ""  # hex; returned by Pair
    # hex; mobileactivationd's open drmHandshake (the iPad keeps it when the host's usbmuxd
    # restarts: the activation client opens a new connection for every command)
    activation_handshake: str = ""
    cloud_config: dict[str, Any] | None = None  # set by SetCloudConfiguration (supervision)
    profiles: dict[str, InstalledProfile] = field(default_factory=dict)
    apps: dict[str, InstalledApp] = field(default_factory=dict)
    wallpapers: dict[int, str] = field(default_factory=dict)  # Where (1 lock, 2 home) -> sha256
    lockdown_values: dict[str, dict[str, Any]] = field(default_factory=dict)  # SetValue by domain
    used_bytes: int = 8 * 10**9
    boot_count: int = 1

    @property
    def supervised(self) -> bool:
        return bool(self.cloud_config and self.cloud_config.get("IsSupervised"))

    @property
    def free_bytes(self) -> int:
        return max(0, self.model.storage_bytes - self.used_bytes)

    def erase(self) -> None:
        """Factory state: what EraseDevice (or a restore) leaves behind."""
        self.device_name = "iPad"
        self.activation_state = "Unactivated"
        self.setup_done = False
        self.passcode_locked = False
        self.trust_prompt_open = False
        self.paired_hosts.clear()
        self.escrow_bag = ""
        self.activation_handshake = ""
        self.cloud_config = None
        self.profiles.clear()
        self.apps.clear()
        self.wallpapers.clear()
        self.lockdown_values.clear()
        self.used_bytes = 8 * 10**9
        self.boot_count += 1

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["model"] = self.model.product_type
        # Plist values (certificates in the cloud configuration) may be bytes.
        data["cloud_config"] = _plist_to_json(data["cloud_config"])
        data["lockdown_values"] = _plist_to_json(data["lockdown_values"])
        for prof in data["profiles"].values():
            prof["payload"] = prof["payload"].hex()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VirtualIPad:
        data = dict(data)
        data["model"] = IPAD_MODELS[data["model"]]
        data["cloud_config"] = _plist_from_json(data["cloud_config"])
        data["lockdown_values"] = _plist_from_json(data["lockdown_values"])
        data["paired_hosts"] = {k: PairedHost(**v) for k, v in data["paired_hosts"].items()}
        data["profiles"] = {
            k: InstalledProfile(**{**v, "payload": bytes.fromhex(v["payload"])})
            for k, v in data["profiles"].items()
        }
        data["apps"] = {k: InstalledApp(**v) for k, v in data["apps"].items()}
        data["wallpapers"] = {int(k): v for k, v in data["wallpapers"].items()}
        return cls(**data)

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=1, sort_keys=True)


def _plist_to_json(value: Any) -> Any:
    """Plist data as JSON: bytes become ``{"$data": hex}``."""
    if isinstance(value, bytes):
        return {"$data": value.hex()}
    if isinstance(value, dict):
        return {k: _plist_to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plist_to_json(v) for v in value]
    return value


def _plist_from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$data"} and isinstance(value["$data"], str):
            return bytes.fromhex(value["$data"])
        return {k: _plist_from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plist_from_json(v) for v in value]
    return value


def new_identity_numbers(model: IPadModel, index: int) -> tuple[str, str, int, str]:
    """A modern dashed UDID, a 10-character serial, an ECID and a Wi-Fi MAC, all plausible.

    UDIDs of A12+ iPads are ``<8 hex chip id>-<16 hex ECID>``; serials since 2021 are ten
    random-looking characters without vowels.
    """
    ecid = int.from_bytes(secrets.token_bytes(7), "big")
    udid = f"{model.cpu_prefix}-{ecid:016X}"
    alphabet = "BCDFGHJKLMNPQRSTVWXYZ0123456789"
    serial = "".join(secrets.choice(alphabet) for _ in range(10))
    mac_tail = uuid.uuid4().bytes[:3]
    wifi = "f0:18:98:" + ":".join(f"{b:02x}" for b in mac_tail)
    del index
    return udid, serial, ecid, wifi
