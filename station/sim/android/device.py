"""State of one emulated Android tablet: properties, settings, packages, files, owner.

The adb server emulator, its shell interpreter and the sync service all work on this object;
the cart persists it to the state directory so a tablet keeps its apps and device owner
across restarts, as a real one does.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

AdbState = Literal["device", "unauthorized", "offline"]


@dataclass(frozen=True)
class AndroidModel:
    """Hardware facts and device-side timings of one tablet model (timings in device seconds)."""

    manufacturer: str  # ro.product.manufacturer
    model: str  # ro.product.model
    product: str  # ro.product.name
    device: str  # ro.product.device
    usb_vendor_id: int
    usb_product_id: int
    sdk: int  # ro.build.version.sdk
    release: str  # ro.build.version.release
    build_id: str
    storage_bytes: int
    boot_seconds: float
    install_bytes_per_s: float  # dex2oat/verify rate after the bytes arrived


ANDROID_MODELS: dict[str, AndroidModel] = {
    m.model: m
    for m in (
        AndroidModel(
            "samsung",
            "SM-X200",
            "gta8wifieea",
            "gta8wifi",
            0x04E8,
            0x6860,
            34,
            "14",
            "UP1A.231005.007",
            32 * 10**9,
            35.0,
            25_000_000,
        ),
        AndroidModel(
            "LENOVO",
            "TB-X606F",
            "LenovoTB-X606F",
            "X606F",
            0x17EF,
            0x7AD3,
            30,
            "11",
            "RP1A.200720.011",
            32 * 10**9,
            40.0,
            15_000_000,
        ),
        AndroidModel(
            "Google",
            "Pixel Tablet",
            "tangorpro",
            "tangorpro",
            0x18D1,
            0x4EE7,
            35,
            "15",
            "AP4A.241205.013",
            128 * 10**9,
            25.0,
            60_000_000,
        ),
    )
}


@dataclass
class AndroidPackage:
    name: str
    version_code: int
    version_name: str
    apk_sha256: str
    size: int
    granted: list[str] = field(default_factory=list)
    system: bool = False


@dataclass
class VirtualAndroid:
    """One emulated tablet as adb sees it."""

    serial: str
    model: AndroidModel
    state: AdbState = "device"
    usb_debugging: bool = True  # off: visible on USB (MTP) but not to adb
    # This host's adb key is kept ("Always allow" ticked): adbd starts out "device", not
    # "unauthorized", when debugging comes back on.
    trusted_host: bool = True
    accounts: list[str] = field(default_factory=list)  # e.g. ["com.google:lehrer@example.org"]
    users: list[int] = field(default_factory=lambda: [0])
    device_owner: str | None = None  # "pkg/.Receiver" component
    settings: dict[str, dict[str, str]] = field(
        default_factory=lambda: {"global": {"adb_enabled": "1"}, "secure": {}, "system": {}}
    )
    props: dict[str, str] = field(default_factory=dict)  # overrides and persist.* props
    packages: dict[str, AndroidPackage] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # path -> sha256 (content in state dir)
    used_bytes: int = 6 * 10**9
    boot_count: int = 1

    @property
    def free_bytes(self) -> int:
        return max(0, self.model.storage_bytes - self.used_bytes)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["model"] = self.model.model
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VirtualAndroid:
        data = dict(data)
        data["model"] = ANDROID_MODELS[data["model"]]
        data["packages"] = {k: AndroidPackage(**v) for k, v in data["packages"].items()}
        return cls(**data)

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=1, sort_keys=True)
