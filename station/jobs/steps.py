"""Steps are data plus one async function: check before acting, safe to run again."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

from PIL import Image, ImageDraw, ImageFont

from station.blueprint import Blueprint
from station.drivers.base import DeviceInfo, Progress, TabletDriver
from station.errors import DeviceError
from station.secrets import SupervisionIdentity

D = TypeVar("D", bound=TabletDriver)

STORAGE_HINT = "Free up storage on the tablet (or erase it), then retry it"


def _nothing() -> None:
    """The default ``transfer_done``: a step that holds no transfer slot has nothing to free."""


@dataclass(frozen=True, kw_only=True)
class StepContext(Generic[D]):
    """What a step may use. Built per attempt: the handle changes when a tablet comes back."""

    driver: D
    handle: str
    info: DeviceInfo
    blueprint: Blueprint
    run_id: str
    device_id: int
    asset_tag: str
    slot: int | None
    hub: str
    identity: SupervisionIdentity | None
    secrets: Mapping[str, str]  # secret name -> value, resolved before the run
    progress: Callable[[Progress], None]
    # Large steps: call when the last byte has left the station, to free the hub's transfer
    # slot for the next tablet (the engine frees it anyway when the step ends).
    transfer_done: Callable[[], None] = _nothing

    @property
    def identity_pem(self) -> bytes | None:
        return self.identity.to_pem().encode() if self.identity is not None else None

    @property
    def device_name(self) -> str:
        return self.blueprint.render_device_name(
            asset_tag=self.asset_tag,
            serial=self.info.serial,
            slot=self.slot if self.slot is not None else "",
            model=self.info.model,
        )


@dataclass(frozen=True)
class Step(Generic[D]):
    """One idempotent thing to do to a device.

    Class attributes:
        once: must never happen twice (erase, supervise, device owner): the engine also
            consults the records before acting, and the step's ``check`` asks the device.
        gate: re-run whenever the job (re)starts (pairing, waiting for adb) and not recorded.
        large: a big transfer; the engine runs it under the per-hub transfer limit. The
            slot is held until the step ends or calls ``ctx.transfer_done`` (app installs
            do when their upload is done, so the hub serves the next tablet meanwhile).
        timeout_kind: which blueprint timeout bounds one attempt (step, install, erase).
        restarts: the device leaves and comes back after this step (erase).
        trust_records: the device cannot be asked (a wallpaper), so a done record with the
            same fingerprint counts as done.
        leaves: after this step the station can no longer see the device (USB debugging
            off): it must be last, and the device's going is the end, not a pause.
        busy: mostly the station's own CPU work (pairing keys, TLS, signing): the engine
            runs such steps a few tablets at a time, in the order the tablets came.
    """

    name: ClassVar[str] = "step"
    once: ClassVar[bool] = False
    gate: ClassVar[bool] = False
    large: ClassVar[bool] = False
    timeout_kind: ClassVar[str] = "step"
    restarts: ClassVar[bool] = False
    trust_records: ClassVar[bool] = False
    leaves: ClassVar[bool] = False
    busy: ClassVar[bool] = False

    @property
    def key(self) -> str:
        """Name as recorded: unique within a plan (e.g. ``app:de.example.app``)."""
        return self.name

    def fingerprint(self, ctx: StepContext[D]) -> str:
        """What the step will do; a change (new app version) makes it run again."""
        return ""

    async def check(self, ctx: StepContext[D]) -> bool:
        """True when the device already is as this step would leave it (then: skipped)."""
        return False

    async def run(self, ctx: StepContext[D]) -> None:
        raise NotImplementedError

    def hint_for(self, error: DeviceError) -> str:
        """What a person should do when this step failed with ``error``."""
        if _storage_full(error):
            return STORAGE_HINT
        return error.hint

    def permanent(self, error: DeviceError) -> bool:
        """An error that trying again cannot fix (a full disk), even if not a refusal."""
        return _storage_full(error)


def _storage_full(error: DeviceError) -> bool:
    text = str(error).lower()
    return any(s in text for s in ("storage", "no space", "no_space", "enospc"))


def render_wallpaper(asset_tag: str, school: str, *, size: tuple[int, int] = (810, 1080)) -> bytes:
    """A plain PNG lock-screen wallpaper: the asset tag large, the school's name below."""
    width, height = size
    image = Image.new("RGB", size, (20, 52, 84))
    draw = ImageDraw.Draw(image)
    lines = ((asset_tag, width // 9, 0.6), (school, width // 28, 0.7))
    for text, font_size, y in lines:
        font = ImageFont.load_default(size=max(12, font_size))
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        x = (width - (right - left)) / 2
        draw.text((x, height * y - (bottom - top) / 2), text, font=font, fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
