"""Snipe-IT connector: find by serial, then update or create; operator → company, school → location.

Snipe-IT answers many errors with HTTP 200 and ``{"status": "error", "messages": …}``, so
every body's ``status`` is read. 429 and ``Retry-After`` are honoured (default limit: 120
requests a minute per user).
"""

from __future__ import annotations

import logging
import ssl
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import ValidationError

from station import messages
from station.errors import UpstreamRefused, UpstreamUnavailable
from station.store import OutboxRow
from station.sync.backoff import parse_retry_after
from station.sync.targets import (
    OP_ASSET,
    TARGET_SNIPEIT,
    AssetRecord,
    Dead,
    Delivered,
    Outcome,
    Retry,
    StationInfo,
)

log = logging.getLogger("station.sync.snipeit")

# Snipe-IT's collections the station looks names up in, and one of them in words.
_THINGS = {
    "companies": messages.SNIPEIT_COMPANY,
    "locations": messages.SNIPEIT_LOCATION,
    "models": messages.SNIPEIT_MODEL,
}


@dataclass(frozen=True)
class SnipeItSettings:
    """Where the inventory is and how station names map to Snipe-IT ids.

    Names not in a map are looked up by name (exact, case-insensitive) and remembered.
    """

    url: str
    status_id: int
    model_ids: Mapping[str, int] = field(default_factory=dict)
    company_ids: Mapping[str, int] = field(default_factory=dict)
    location_ids: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SnipeItSettings:
        return cls(
            url=str(data["url"]),
            status_id=int(data["status_id"]),
            model_ids={str(k): int(v) for k, v in dict(data.get("models", {})).items()},
            company_ids={str(k): int(v) for k, v in dict(data.get("companies", {})).items()},
            location_ids={str(k): int(v) for k, v in dict(data.get("locations", {})).items()},
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "status_id": self.status_id,
            "models": dict(self.model_ids),
            "companies": dict(self.company_ids),
            "locations": dict(self.location_ids),
        }


class SnipeItClient:
    """The few Snipe-IT API calls the station needs (``/api/v1``)."""

    def __init__(
        self,
        settings: SnipeItSettings,
        token: str,
        *,
        timeout: float = 30.0,
        verify: bool | str | ssl.SSLContext = True,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self._client = httpx.AsyncClient(
            base_url=settings.url.rstrip("/") + "/api/v1/",
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "User-Agent": "enrollment-station",
            },
            timeout=timeout,
            verify=verify,
            transport=transport,
            follow_redirects=False,
        )
        self._ids: dict[tuple[str, str], int] = {}

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One request; the body's ``status`` decides, not only the HTTP code."""
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            problem = messages.SNIPEIT_UNREACHABLE.fill(reply=f"{type(exc).__name__}: {exc}")
            raise UpstreamUnavailable(problem) from exc
        status = response.status_code
        if status == 429 or status >= 500 or status == 408:
            raise UpstreamUnavailable(
                (messages.SNIPEIT_RATE_LIMIT if status == 429 else messages.SNIPEIT_FAILURE).fill(
                    status=status
                ),
                retry_after=parse_retry_after(response.headers.get("retry-after")),
            )
        if status in (401, 403):
            raise UpstreamUnavailable(
                messages.SNIPEIT_TOKEN_REFUSED.fill(status=status),
                hint=messages.SNIPEIT_TOKEN_HINT,
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise UpstreamUnavailable(messages.SNIPEIT_NO_JSON.fill(status=status)) from exc
        if status == 404:
            reply = _messages(body)
            request = f"{method} {path}"
            raise UpstreamRefused(
                messages.SNIPEIT_REQUEST_REFUSED.fill(request=request, reply=reply)
                if reply
                else messages.SNIPEIT_REQUEST_NOT_FOUND.fill(request=request)
            )
        if status >= 400 or not isinstance(body, dict):
            raise UpstreamRefused(
                messages.SNIPEIT_HTTP_REFUSED.fill(status=status, reply=_messages(body))
            )
        if body.get("status") == "error":
            raise _BodyError(_messages(body), body.get("messages"))
        return body

    async def find_by_serial(self, serial: str) -> list[dict[str, Any]]:
        """Assets with this serial (Snipe-IT allows duplicates unless configured otherwise)."""
        try:
            body = await self._call("GET", f"hardware/byserial/{_quote(serial)}")
        except _BodyError as exc:
            if "not exist" in exc.text.lower() or "not found" in exc.text.lower():
                return []
            problem = messages.SNIPEIT_SERIAL_LOOKUP_FAILED.fill(reply=exc.text)
            raise UpstreamRefused(problem) from exc
        rows = body.get("rows", [])
        return [r for r in rows if isinstance(r, dict)]

    async def _id_by_name(self, kind: str, name: str, mapping: Mapping[str, int]) -> int:
        if name in mapping:
            return mapping[name]
        cached = self._ids.get((kind, name.casefold()))
        if cached is not None:
            return cached
        try:
            body = await self._call("GET", kind, params={"search": name, "limit": 50})
        except _BodyError as exc:
            problem = messages.SNIPEIT_LOOKUP_FAILED.fill(thing=_THINGS[kind], reply=exc.text)
            raise UpstreamRefused(problem) from exc
        for row in body.get("rows", []):
            if isinstance(row, dict) and str(row.get("name", "")).casefold() == name.casefold():
                self._ids[(kind, name.casefold())] = int(row["id"])
                return int(row["id"])
        singular = _THINGS[kind]
        raise UpstreamRefused(
            messages.SNIPEIT_NO_SUCH.fill(thing=singular, name=name),
            hint=messages.SNIPEIT_NO_SUCH_HINT.fill(thing=singular),
        )

    async def upsert(self, record: AssetRecord) -> tuple[str, int]:
        """Update the asset with this serial, else create it; returns (action, asset id)."""
        fields: dict[str, Any] = {"serial": record.serial}
        if record.name:
            fields["name"] = record.name
        if record.asset_tag:
            fields["asset_tag"] = record.asset_tag
        if record.operator:
            fields["company_id"] = await self._id_by_name(
                "companies", record.operator, self.settings.company_ids
            )
        if record.school:
            fields["rtd_location_id"] = await self._id_by_name(
                "locations", record.school, self.settings.location_ids
            )
        found = await self.find_by_serial(record.serial)
        if not found:
            create = dict(fields)
            create["model_id"] = await self._id_by_name(
                "models", record.model, self.settings.model_ids
            )
            create["status_id"] = self.settings.status_id
            try:
                body = await self._call("POST", "hardware", json=create)
            except _BodyError as exc:
                if not exc.is_unique_violation():
                    raise UpstreamRefused(
                        messages.SNIPEIT_NEW_ASSET_REFUSED.fill(reply=exc.text)
                    ) from exc
                # Another station created it meanwhile: look again and update that one.
                found = await self.find_by_serial(record.serial)
                if not found:
                    raise UpstreamRefused(
                        messages.SNIPEIT_NEW_ASSET_REFUSED.fill(reply=exc.text)
                    ) from exc
            else:
                asset_id = int((body.get("payload") or {}).get("id", 0))
                log.info("Snipe-IT asset %d created for %s", asset_id, record.serial)
                return "created", asset_id
        if len(found) > 1:
            ids = ", ".join(str(r.get("id")) for r in found)
            raise UpstreamRefused(
                messages.SNIPEIT_DUPLICATES.fill(count=len(found), serial=record.serial, ids=ids),
                hint=messages.SNIPEIT_DUPLICATES_HINT,
            )
        asset_id = int(found[0]["id"])
        try:
            await self._call("PATCH", f"hardware/{asset_id}", json=fields)
        except _BodyError as exc:
            problem = messages.SNIPEIT_UPDATE_REFUSED.fill(reply=exc.text)
            raise UpstreamRefused(problem) from exc
        log.info("Snipe-IT asset %d updated for %s", asset_id, record.serial)
        return "updated", asset_id


class SnipeItTarget:
    """The relay's ``snipeit`` target: one asset per row, stopping at the first passing error."""

    def __init__(self, client: SnipeItClient, *, batch_size: int = 20) -> None:
        self.client = client
        self._batch_size = batch_size

    @property
    def name(self) -> str:
        return TARGET_SNIPEIT

    @property
    def batch_size(self) -> int:
        return self._batch_size

    async def aclose(self) -> None:
        await self.client.aclose()

    async def deliver(
        self, rows: Sequence[OutboxRow], station: StationInfo
    ) -> Mapping[int, Outcome]:
        outcomes: dict[int, Outcome] = {}
        for row in rows:
            if row.op != OP_ASSET:
                outcomes[row.id] = Dead(messages.SNIPEIT_TAKES_NO_OP.fill(op=row.op))
                continue
            try:
                record = AssetRecord.model_validate(row.payload)
            except ValidationError as exc:
                outcomes[row.id] = Dead(messages.NOT_AN_ASSET_RECORD.fill(count=exc.error_count()))
                continue
            try:
                action, asset_id = await self.client.upsert(record)
            except UpstreamUnavailable as exc:
                outcomes[row.id] = Retry(str(exc), exc.retry_after)
                break  # down or rate limited: the rest waits
            except UpstreamRefused as exc:
                outcomes[row.id] = Dead(str(exc))
            else:
                outcomes[row.id] = Delivered(f"{action} {asset_id}")
        return outcomes


class _BodyError(Exception):
    """HTTP 200 with ``"status": "error"``."""

    def __init__(self, text: str, messages: Any) -> None:
        super().__init__(text)
        self.text = text
        self.messages = messages

    def is_unique_violation(self) -> bool:
        return "unique" in self.text.lower() or "already been taken" in self.text.lower()


def _messages(body: Any) -> str:
    """Snipe-IT's ``messages``: a string, or a dict of field → list of strings."""
    if not isinstance(body, dict):
        return str(body)[:200]
    messages = body.get("messages", body.get("error", ""))
    if isinstance(messages, dict):
        parts = []
        for key, value in messages.items():
            texts = value if isinstance(value, list) else [value]
            parts.append(f"{key}: {' '.join(map(str, texts))}")
        return "; ".join(parts)
    return str(messages)[:500]


def _quote(value: str) -> str:
    return urllib.parse.quote(value, safe="")
