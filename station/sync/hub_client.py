"""The relay's county-hub target: batches over HTTPS with the station's bearer token."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Mapping, Sequence

import httpx
from pydantic import ValidationError

from station import messages
from station.store import OutboxRow
from station.sync.backoff import parse_retry_after
from station.sync.targets import (
    OP_DEVICE_RESULT,
    TARGET_HUB,
    BatchReply,
    Dead,
    Delivered,
    Outcome,
    Retry,
    StationInfo,
)

log = logging.getLogger("station.sync.hub")

# Statuses that say "not now" rather than "never": retry, keep the rows.
_PASSING = {408, 425, 429, 500, 502, 503, 504}


class HubTarget:
    """Delivers ``hub`` outbox rows to ``POST /api/v1/batches``.

    A batch the hub calls malformed is split in halves and resent, so one bad row ends up in
    the dead letters alone instead of blocking the rows queued behind it.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        batch_size: int = 100,
        timeout: float = 30.0,
        verify: bool | str | ssl.SSLContext = True,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """Args:
        base_url: the hub's address (``https://hub.county.example/``).
        token: the station's token from ``station hub add-station`` (never logged).
        verify: TLS verification: True (system CAs), a CA bundle path, or a context.
        transport: an httpx transport (tests pass ``httpx.MockTransport``).
        """
        self._batch_size = batch_size
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            headers={"Authorization": f"Bearer {token}", "User-Agent": "enrollment-station"},
            timeout=timeout,
            verify=verify,
            transport=transport,
            follow_redirects=False,
        )

    @property
    def name(self) -> str:
        return TARGET_HUB

    @property
    def batch_size(self) -> int:
        return self._batch_size

    async def aclose(self) -> None:
        await self._client.aclose()

    async def heartbeat(self, station: StationInfo) -> Outcome:
        """Tell the hub this station is alive (its version and backlog)."""
        try:
            response = await self._client.post(
                "api/v1/heartbeat", json=station.model_dump(mode="json")
            )
        except httpx.TransportError as exc:
            return Retry(messages.HUB_UNREACHABLE.fill(reply=_transport_error(exc)))
        if response.status_code == 200:
            return Delivered()
        return _http_problem(response)

    async def deliver(
        self, rows: Sequence[OutboxRow], station: StationInfo
    ) -> Mapping[int, Outcome]:
        outcomes: dict[int, Outcome] = {}
        sendable = []
        for row in rows:
            if row.op != OP_DEVICE_RESULT:
                outcomes[row.id] = Dead(messages.HUB_TAKES_NO_OP.fill(op=row.op))
            else:
                sendable.append(row)
        if sendable:
            outcomes.update(await self._send(sendable, station))
        return outcomes

    async def _send(self, rows: Sequence[OutboxRow], station: StationInfo) -> dict[int, Outcome]:
        body = {
            "station": station.model_dump(mode="json"),
            "items": [{"key": r.idempotency_key, "op": r.op, "payload": r.payload} for r in rows],
        }
        try:
            response = await self._client.post("api/v1/batches", json=body)
        except httpx.TransportError as exc:
            problem = Retry(messages.HUB_UNREACHABLE.fill(reply=_transport_error(exc)))
            return dict.fromkeys((r.id for r in rows), problem)
        status = response.status_code
        if status in (400, 413, 422) and len(rows) > 1:
            log.info("hub refused a batch of %d (HTTP %d); splitting it", len(rows), status)
            half = len(rows) // 2
            first = await self._send(rows[:half], station)
            if any(isinstance(o, Retry) for o in first.values()):
                return first  # the hub went away meanwhile; the rest stays due
            return first | await self._send(rows[half:], station)
        if status != 200:
            outcome = _http_problem(response)
            return dict.fromkeys((r.id for r in rows), outcome)
        try:
            reply = BatchReply.model_validate_json(response.content)
        except ValidationError:
            problem = Retry(messages.HUB_NOT_A_BATCH_REPLY)
            return dict.fromkeys((r.id for r in rows), problem)
        by_key = {item.key: item for item in reply.results}
        outcomes: dict[int, Outcome] = {}
        for row in rows:
            item = by_key.get(row.idempotency_key)
            if item is None:
                outcomes[row.id] = Retry(messages.HUB_LEFT_OUT)
            elif item.status == "rejected":
                outcomes[row.id] = Dead(messages.HUB_REJECTED.fill(reply=item.error))
            else:
                outcomes[row.id] = Delivered(item.status)
        return outcomes


def _transport_error(exc: httpx.TransportError) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict) and "error" in body:
        details = body.get("details")
        suffix = f" ({'; '.join(map(str, details))})" if isinstance(details, list) else ""
        return f"{body['error']}{suffix}"
    return str(body)[:200]


def _http_problem(response: httpx.Response) -> Outcome:
    status = response.status_code
    text = f"HTTP {status}: {_error_text(response)}"
    if status in _PASSING or status >= 500:
        after = parse_retry_after(response.headers.get("retry-after"))
        return Retry(messages.HUB_BUSY.fill(reply=text), after)
    if status in (401, 403):
        # A wrong token is the station's setup, not the message: keep the rows and say so.
        return Retry(messages.HUB_TOKEN_REFUSED.fill(reply=text))
    if 300 <= status < 400:
        where = response.headers.get("location", "?")
        return Retry(messages.HUB_REDIRECT.fill(url=where))
    return Dead(messages.HUB_REFUSED.fill(reply=text))
