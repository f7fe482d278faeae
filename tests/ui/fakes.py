"""A hand-written StationBackend for window tests: real blueprints, scripted engine events."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from station import messages as msg
from station.blueprint import Blueprint, load_blueprint
from station.errors import InputError
from station.jobs.events import EventBus, EventType, JobEvent, JobState
from station.labels.model import LabelData
from station.secrets import SecretStore
from station.store import Store
from station.sync.status import SyncStatus, sync_status
from station.ui.backend import EngineControl

Script = Callable[[EventBus], Awaitable[None]]


class MemorySettings:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get_setting(self, key: str) -> str | None:
        return self.values.get(key)

    def set_setting(self, key: str, value: str) -> None:
        self.values[key] = value


class FakeEngine:
    """Records commands (on the loop thread) and answers like the engine: a JOB event."""

    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self.commands: list[tuple[str, str]] = []

    def cancel(self, key: str) -> None:
        self.commands.append(("cancel", key))
        self.bus.publish(JobEvent(type=EventType.JOB, job=key, state=JobState.CANCELLED.value))

    def retry(self, key: str) -> None:
        self.commands.append(("retry", key))
        self.bus.publish(JobEvent(type=EventType.JOB, job=key, state=JobState.WAITING.value))


class FakeBackend:
    """Blueprints are checked for real; ``run`` plays ``script`` then waits for ``finish``."""

    def __init__(self, folder: Path, *, slots: int = 12) -> None:
        self.folder = folder
        self.settings = MemorySettings()
        self.secrets = SecretStore(data_dir=folder / "secrets", force_file=True)
        self.paths: list[Path] = []
        self.slots = slots
        self.script: Script | None = None
        self.engine: FakeEngine | None = None
        self.finish: asyncio.Event | None = None
        self.bus: EventBus | None = None
        self.opened = self.closed = False
        self.saved_calibration: dict[str, int] | None = None
        self.secrets_set: dict[str, str] = {}
        self.label_requests: list[list[Mapping[str, Any]]] = []
        self.android_payload: dict[str, Any] | None = None
        self.store: Store | None = None
        self.status_reads = 0

    def blueprints(self) -> Sequence[Path]:
        return self.paths

    def slot_count(self) -> int:
        return self.slots

    async def open(self) -> None:
        self.opened = True
        self.finish = asyncio.Event()

    async def close(self) -> None:
        self.closed = True

    async def load_blueprint(self, path: Path) -> Blueprint:
        return await asyncio.to_thread(load_blueprint, path, secrets=self.secrets)

    async def run(
        self, path: Path, bus: EventBus, on_engine: Callable[[EngineControl], None]
    ) -> object:
        assert self.finish is not None
        self.bus = bus
        bus.publish(JobEvent(type=EventType.RUN, state="started", detail=path.name))
        self.engine = FakeEngine(bus)
        on_engine(self.engine)
        if self.script is not None:
            await self.script(bus)
        await self.finish.wait()
        bus.publish(JobEvent(type=EventType.RUN, state="finished", data={"done": 1, "devices": 1}))
        return "result"

    async def watch_devices(self, bus: EventBus) -> None:
        self.bus = bus
        await asyncio.Event().wait()

    async def save_calibration(self, slots: Mapping[str, int]) -> None:
        self.saved_calibration = dict(slots)

    async def set_secret(self, name: str, value: str) -> None:
        self.secrets_set[name] = value

    async def label_data(self, jobs: Sequence[Mapping[str, Any]]) -> Sequence[LabelData]:
        """What the tiles know, in slot order, with a URL payload like the default template."""
        self.label_requests.append(list(jobs))
        ordered = sorted(jobs, key=lambda j: (j.get("slot") is None, j.get("slot") or 0))
        return [
            LabelData(
                asset_tag=str(j["asset_tag"]),
                school_name="Realschule Nord",
                school_id="SEG042",
                serial=str(j["serial"]),
                model="",
                cart="A",
                slot=j.get("slot"),
                qr_payload=f"https://inventar.example/a/{j['asset_tag']}",
            )
            for j in ordered
            if j.get("asset_tag")
        ]

    async def android_enrollment(self) -> Mapping[str, Any]:
        if self.android_payload is None:
            raise InputError(msg.NO_PROVISIONING, hint=msg.PROVISIONING_HINT)
        return self.android_payload

    async def sync_status(self) -> SyncStatus:
        self.status_reads += 1
        if self.store is None:
            return SyncStatus(0, 0, 0, None, None, "", None)
        return await asyncio.to_thread(sync_status, self.store)


def job(
    key: str,
    state: JobState | str,
    *,
    slot: int | None,
    platform: str = "ios",
    step: str = "",
    hint: str = "",
    detail: str = "",
    tag: str = "",
) -> JobEvent:
    return JobEvent(
        type=EventType.JOB,
        job=key,
        platform=platform,
        serial=key.upper(),
        slot=slot,
        port=f"1-1.{slot}" if slot else None,
        state=str(state),
        step=step,
        hint=hint,
        detail=detail,
        data={"asset_tag": tag} if tag else {},
    )


def device(
    key: str, slot: int | None, presence: str = "ready", *, platform: str = "ios", hint: str = ""
) -> JobEvent:
    return JobEvent(
        type=EventType.DEVICE,
        job=key,
        platform=platform,
        serial=key.upper(),
        slot=slot,
        port=f"1-1.{slot}" if slot else None,
        state="attached",
        detail=presence,
        hint=hint,
    )


def progress(key: str, slot: int, fraction: float, step: str = "app:de.x.lern") -> JobEvent:
    return JobEvent(
        type=EventType.PROGRESS, job=key, slot=slot, step=step, fraction=fraction, platform="ios"
    )
