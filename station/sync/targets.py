"""What the relay delivers: the outbox payload formats, the wire format to the hub, outcomes.

Outbox rows (``station.store.OutboxEntry``) this package accepts:

``target="hub", op="device_result"``
    ``payload`` is a :class:`DeviceResult` as JSON (``DeviceResult.model_dump(mode="json")``):
    one step result of one device. ``natural_key`` is the serial. The hub stores exactly one
    record per idempotency key. ``milestone`` marks results the dashboard counts:
    ``provisioned`` (the device finished its blueprint), ``labelled`` (its label printed),
    ``synced`` (it is registered in the inventory / MDM).

``target="snipeit", op="asset"``
    ``payload`` is an :class:`AssetRecord`: look the serial up in Snipe-IT, then update or
    create the asset (operator → company, school → location).

Build rows with :func:`hub_entry` and :func:`asset_entry`; they validate before anything is
queued, so a bad payload fails where it is made, not hours later in the relay.

Hub wire format (``POST /api/v1/batches``, bearer token): a :class:`Batch` of
:class:`BatchItem` (``key`` = the row's idempotency key); the answer is a :class:`BatchReply`
with one :class:`ItemResult` per item, in order: ``accepted`` (stored now), ``duplicate``
(stored before; the first answer is replayed) or ``rejected`` (with the reason; nothing stored).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from station.store import OutboxEntry, OutboxRow

TARGET_HUB = "hub"
TARGET_SNIPEIT = "snipeit"
OP_DEVICE_RESULT = "device_result"
OP_ASSET = "asset"

MAX_BATCH_ITEMS = 500


def _printable(value: str) -> str:
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must not contain control characters")
    return value


Text = Annotated[str, Field(max_length=200), AfterValidator(_printable)]
Name = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_printable)]


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("needs a time zone (use UTC, e.g. 2026-01-31T12:00:00Z)")
    return value.astimezone(dt.UTC)


AwareTime = Annotated[dt.datetime, AfterValidator(_aware)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeviceResult(_Strict):
    """One device's step result, as the hub stores it."""

    serial: Name
    platform: Literal["ios", "android"]
    step: Name
    status: Literal["done", "failed", "skipped"]
    recorded_at: AwareTime
    model: Text = ""
    name: Text = ""
    operator: Text = ""
    school: Text = ""
    cart: Text = ""
    cart_size: Annotated[int, Field(ge=1, le=1000)] | None = None
    slot: Annotated[int, Field(ge=0, le=1000)] | None = None
    run_id: Text = ""
    error: Annotated[str, Field(max_length=2000)] = ""
    milestone: Literal["provisioned", "labelled", "synced"] | None = None
    asset_tag: Text = ""


class AssetRecord(_Strict):
    """A device for the Snipe-IT inventory."""

    serial: Name
    model: Name
    operator: Text = ""
    school: Text = ""
    asset_tag: Text = ""
    name: Text = ""


class StationInfo(_Strict):
    """What a station tells the hub about itself with every batch (its heartbeat)."""

    station_id: Text = ""
    version: Text = ""
    backlog: Annotated[int, Field(ge=0)] = 0
    oldest_pending: AwareTime | None = None


class BatchItem(_Strict):
    key: Annotated[str, Field(min_length=1, max_length=128), AfterValidator(_printable)]
    op: Literal["device_result"]
    # Checked per item (DeviceResult) so one bad item does not reject its neighbours.
    payload: dict[str, Any]


class Batch(_Strict):
    station: StationInfo = StationInfo()
    items: Annotated[list[BatchItem], Field(max_length=MAX_BATCH_ITEMS)]


class ItemResult(BaseModel):
    key: str
    status: Literal["accepted", "duplicate", "rejected"]
    error: str = ""


class BatchReply(BaseModel):
    results: list[ItemResult]


def hub_entry(result: DeviceResult, *, idempotency_key: str | None = None) -> OutboxEntry:
    """The outbox row that reports ``result`` to the county hub."""
    return OutboxEntry(
        target=TARGET_HUB,
        op=OP_DEVICE_RESULT,
        natural_key=result.serial,
        payload=result.model_dump(mode="json"),
        idempotency_key=idempotency_key,
    )


def asset_entry(record: AssetRecord, *, idempotency_key: str | None = None) -> OutboxEntry:
    """The outbox row that puts ``record`` into Snipe-IT."""
    return OutboxEntry(
        target=TARGET_SNIPEIT,
        op=OP_ASSET,
        natural_key=record.serial,
        payload=record.model_dump(mode="json"),
        idempotency_key=idempotency_key,
    )


# --- outcomes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivered:
    """The target has it (now or before)."""

    note: str = ""


@dataclass(frozen=True)
class Retry:
    """A passing problem (server down, 5xx, 429): try again later, no earlier than ``after``."""

    error: str
    after: float | None = None


@dataclass(frozen=True)
class Dead:
    """The target refused this message for good; a person reviews it and may resend."""

    error: str


Outcome = Delivered | Retry | Dead


class Target(Protocol):
    """An upstream system the relay delivers outbox rows to."""

    @property
    def name(self) -> str: ...

    @property
    def batch_size(self) -> int: ...

    async def deliver(
        self, rows: Sequence[OutboxRow], station: StationInfo
    ) -> Mapping[int, Outcome]:
        """Deliver ``rows``; the answer maps row ids to outcomes.

        Rows left out were not tried (the target stopped early, e.g. it is down or rate
        limited); the relay leaves them due without counting an attempt.
        """
        ...

    async def aclose(self) -> None: ...
