"""The county hub's HTTP service: batch ingest per station token, the dashboard, exports."""

from __future__ import annotations

import csv
import io
import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from station import __version__
from station.hub.dashboard import render_dashboard
from station.hub.db import HubDB, Station
from station.sync.targets import Batch, BatchReply, DeviceResult, StationInfo

log = logging.getLogger("station.hub.app")

MAX_BODY = 8 * 1024 * 1024


def _problem(status: int, error: str, details: list[str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": error}
    if details:
        body["details"] = details
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def _validation_details(exc: ValidationError, *, limit: int = 20) -> list[str]:
    out = []
    for err in exc.errors(include_url=False, include_input=False)[:limit]:
        where = ".".join(str(p) for p in err["loc"]) or "(body)"
        out.append(f"{where}: {err['msg']}")
    return out


def _csv(rows: list[dict[str, Any]], columns: list[str], filename: str) -> Response:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k)) for k in columns})
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    text = str(value)
    # Spreadsheet formula injection: a cell starting with = + - @ would be run by Excel.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def create_app(db: HubDB) -> FastAPI:
    """The hub application over ``db`` (which the caller opens and closes)."""
    app = FastAPI(
        title="Enrollment Station county hub",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    async def authenticate(request: Request) -> Station | JSONResponse:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _problem(401, "missing bearer token")
        station = await run_in_threadpool(db.authenticate, token.strip())
        if station is None:
            # The token is never logged; the client address is enough to find the culprit.
            log.warning("refused a request with an unknown token from %s", _client(request))
            return _problem(401, "unknown token")
        return station

    async def read_json(request: Request) -> Any:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
            raise _BodyError(413, f"body larger than {MAX_BODY} bytes")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                raise _BodyError(413, f"body larger than {MAX_BODY} bytes")
        try:
            return json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _BodyError(400, f"body is not JSON: {exc}") from exc

    @app.post("/api/v1/batches")
    async def post_batch(request: Request) -> Response:
        station = await authenticate(request)
        if isinstance(station, JSONResponse):
            return station
        try:
            batch = Batch.model_validate(await read_json(request))
        except _BodyError as exc:
            return _problem(exc.status, exc.message)
        except ValidationError as exc:
            log.info("station %r sent a malformed batch", station.name)
            return _problem(422, "malformed batch", _validation_details(exc))
        items: list[tuple[str, DeviceResult | str]] = []
        for item in batch.items:
            try:
                items.append((item.key, DeviceResult.model_validate(item.payload)))
            except ValidationError as exc:
                items.append((item.key, "; ".join(_validation_details(exc, limit=5))))
        results = await run_in_threadpool(db.ingest, station, batch.station, items)
        counts = {s: sum(r.status == s for r in results) for s in ("accepted", "duplicate")}
        log.info(
            "station %r: %d items, %d new, %d replayed, %d rejected",
            station.name,
            len(results),
            counts["accepted"],
            counts["duplicate"],
            len(results) - sum(counts.values()),
        )
        return JSONResponse(BatchReply(results=results).model_dump(mode="json"))

    @app.post("/api/v1/heartbeat")
    async def post_heartbeat(request: Request) -> Response:
        station = await authenticate(request)
        if isinstance(station, JSONResponse):
            return station
        try:
            info = StationInfo.model_validate(await read_json(request))
        except _BodyError as exc:
            return _problem(exc.status, exc.message)
        except ValidationError as exc:
            return _problem(422, "malformed heartbeat", _validation_details(exc))
        await run_in_threadpool(db.heartbeat, station, info)
        return JSONResponse({"station": station.name})

    @app.get("/healthz")
    async def healthz() -> Response:
        return JSONResponse({"ok": True, "version": __version__})

    @app.get("/", response_class=HTMLResponse)
    async def dashboard() -> Response:
        summary = await run_in_threadpool(db.summary)
        total = await run_in_threadpool(db.count_records)
        return HTMLResponse(render_dashboard(summary, total_records=total, version=__version__))

    @app.get("/export/summary.json")
    async def export_summary() -> Response:
        return JSONResponse(await run_in_threadpool(db.summary))

    @app.get("/export/records.json")
    async def export_records_json() -> Response:
        rows = await run_in_threadpool(db.records)
        return Response(
            json.dumps(rows, default=_cell, ensure_ascii=False),
            media_type="application/json",
        )

    @app.get("/export/records.csv")
    async def export_records_csv() -> Response:
        rows = await run_in_threadpool(db.records)
        columns = ["station", *[c for c in _RECORD_EXPORT if c != "station"]]
        return _csv(rows, columns, "records.csv")

    @app.get("/export/{table}.csv")
    async def export_table_csv(table: str) -> Response:
        summary = await run_in_threadpool(db.summary)
        if table == "schools":
            return _csv(summary["schools"], _SCHOOL_COLUMNS, "schools.csv")
        if table == "carts":
            return _csv(summary["carts"], _CART_COLUMNS, "carts.csv")
        if table == "failures":
            return _csv(summary["failures"], ["step", "error", "count", "devices"], "failures.csv")
        if table == "stations":
            return _csv(summary["stations"], _STATION_COLUMNS, "stations.csv")
        if table == "moved":
            rows = [
                {"serial": m["serial"], "schools": " | ".join(m["schools"])}
                for m in summary["serials_at_several_schools"]
            ]
            return _csv(rows, ["serial", "schools"], "moved.csv")
        return _problem(404, f"no export named {table!r}")

    return app


class _BodyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _client(request: Request) -> str:
    return f"{request.client.host}:{request.client.port}" if request.client else "unknown"


_RECORD_EXPORT = [
    "station",
    "idempotency_key",
    "serial",
    "platform",
    "model",
    "name",
    "operator",
    "school",
    "cart",
    "cart_size",
    "slot",
    "run_id",
    "step",
    "status",
    "error",
    "milestone",
    "asset_tag",
    "recorded_at",
    "received_at",
]
_SCHOOL_COLUMNS = ["operator", "school", "devices", "provisioned", "labelled", "synced"]
_CART_COLUMNS = ["operator", "school", "cart", "run_id", "provisioned", "size"]
_STATION_COLUMNS = [
    "name",
    "version",
    "last_heartbeat",
    "backlog",
    "oldest_pending",
    "station_uuid",
    "created_at",
]
