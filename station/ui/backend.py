"""What the window needs from the station, as Protocols: the wiring point builds the real thing.

The window never imports a driver or the virtual cart (import-linter contract): the engine,
its drivers and (for the demo) the virtual cart are built by ``station.commands`` and handed
in as a :class:`StationBackend`. Every coroutine here runs on the runtime's loop thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from station.blueprint import Blueprint
from station.jobs.events import EventBus
from station.labels.model import LabelData
from station.labels.printer_setting import PrinterSetting
from station.labels.queue import PrintQueue
from station.sync.status import SyncStatus


class EngineControl(Protocol):
    """The engine's commands the window may send (``station.jobs.engine.Engine`` has them)."""

    def cancel(self, key: str) -> None: ...

    def retry(self, key: str) -> None: ...


class SettingsStore(Protocol):
    """Station settings (``station.store.Store`` has these; thread-safe, local and quick)."""

    def get_setting(self, key: str) -> str | None: ...

    def set_setting(self, key: str, value: str) -> None: ...


@dataclass(frozen=True)
class CartLayout:
    """How the cart's slots are arranged: slot 1 top left, numbered row by row."""

    rows: int
    columns: int

    @property
    def slots(self) -> int:
        return self.rows * self.columns

    def position(self, slot: int) -> tuple[int, int]:
        """(row, column) of a slot, both from 0."""
        return divmod(slot - 1, self.columns)

    @classmethod
    def for_slots(cls, count: int, columns: int = 6) -> CartLayout:
        """A layout just big enough for ``count`` slots."""
        columns = max(1, min(columns, count or 1))
        return cls(rows=max(1, -(-count // columns)), columns=columns)


class StationBackend(Protocol):
    """The station as the window sees it; built by the wiring point.

    ``run`` must publish on ``bus`` as ``station.jobs.runner.provision`` does (RUN started,
    then every engine event, then RUN finished) and call ``on_engine`` once the engine exists.
    """

    @property
    def settings(self) -> SettingsStore: ...

    def blueprints(self) -> Sequence[Path]:
        """Blueprint files offered in the chooser."""
        ...

    def slot_count(self) -> int:
        """How many slots the cart has (the calibration's size; 0 when not calibrated)."""
        ...

    async def open(self) -> None:
        """Start what the station needs (for the demo: the virtual cart)."""
        ...

    async def close(self) -> None: ...

    async def load_blueprint(self, path: Path) -> Blueprint:
        """Validate a blueprint; raises ``station.errors.StationError`` (InvalidBlueprint)."""
        ...

    async def run(
        self, path: Path, bus: EventBus, on_engine: Callable[[EngineControl], None]
    ) -> object:
        """Provision the cart with the blueprint at ``path`` until every device is final."""
        ...

    async def watch_devices(self, bus: EventBus) -> None:
        """Publish DEVICE events (with ``port``) until cancelled: for slot calibration."""
        ...

    async def save_calibration(self, slots: Mapping[str, int]) -> None:
        """Store hub port -> slot number."""
        ...

    async def set_secret(self, name: str, value: str) -> None:
        """Store a secret (the hub token) in the station's secret store."""
        ...

    async def label_data(self, jobs: Sequence[Mapping[str, Any]]) -> Sequence[LabelData]:
        """What the labels of these finished jobs show, in slot order (the window paints them)."""
        ...

    def label_queue(self, setting: PrinterSetting) -> PrintQueue:
        """The print queue (jobs kept on disk) for the label printer ``setting`` names.

        Quick, no I/O on the printer: the window sends on a worker thread. Raises
        ``station.errors.InputError`` when the setting names no printer (the window's check).
        """
        ...

    async def android_enrollment(self) -> Mapping[str, Any]:
        """The Android provisioning payload of the loaded blueprint's device owner.

        Raises ``station.errors.StationError`` naming what the technician must set (no Android
        plan, no device owner, no [android.provisioning] table, its Wi-Fi secret not stored).
        """
        ...

    async def sync_status(self) -> SyncStatus:
        """The outbox at a glance (read from the store; quick)."""
        ...
