"""A local server that answers as Snipe-IT's REST API documents it (v1): 200-with-error bodies,
429 with Retry-After after the per-minute limit, byserial lookups, unique asset tags."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


class FakeSnipeIt:
    def __init__(self, token: str, *, throttle: int = 1000) -> None:
        self.token = token
        self.throttle = throttle  # requests allowed before the next 429
        self.retry_after = "7"
        self.assets: dict[int, dict[str, Any]] = {}
        self.companies = {1: "Stadt Nordhafen", 2: "Landkreis Süd"}
        self.locations = {10: "Realschule Nord", 11: "Gymnasium Süd"}
        self.models = {100: "iPad (9th generation)", 101: "Galaxy Tab A8"}
        self.statuses = {2: "Ready to Deploy"}
        self.log: list[tuple[str, str]] = []
        self.count_429 = 0
        self._next_id = 1
        self.app = Starlette(
            routes=[
                Route("/api/v1/hardware/byserial/{serial:path}", self.byserial, methods=["GET"]),
                Route("/api/v1/hardware", self.create, methods=["POST"]),
                Route("/api/v1/hardware/{id:int}", self.update, methods=["PATCH", "PUT"]),
                Route("/api/v1/{kind}", self.search, methods=["GET"]),
            ]
        )

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        self.log.append((request.method, request.url.path))
        if request.headers.get("authorization") != f"Bearer {self.token}":
            response = JSONResponse({"status": "error", "messages": "Unauthorized."}, 401)
        elif self.throttle <= 0:
            self.count_429 += 1
            response = JSONResponse(
                {"status": "error", "messages": "Too Many Requests"},
                429,
                headers={"Retry-After": self.retry_after, "X-RateLimit-Remaining": "0"},
            )
        else:
            self.throttle -= 1
            await self.app(scope, receive, send)
            return
        await response(scope, receive, send)

    @staticmethod
    def error(messages: Any) -> JSONResponse:
        # Snipe-IT reports validation and lookup errors with HTTP 200.
        return JSONResponse({"status": "error", "messages": messages, "payload": None})

    def _view(self, asset: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": asset["id"],
            "asset_tag": asset["asset_tag"],
            "serial": asset["serial"],
            "name": asset.get("name", ""),
            "model": {"id": asset["model_id"], "name": self.models[asset["model_id"]]},
            "company": {"id": asset["company_id"]} if asset.get("company_id") else None,
            "rtd_location": {"id": asset["rtd_location_id"]}
            if asset.get("rtd_location_id")
            else None,
        }

    async def byserial(self, request: Request) -> JSONResponse:
        serial = request.path_params["serial"]
        rows = [self._view(a) for a in self.assets.values() if a["serial"] == serial]
        if not rows:
            return self.error("Asset does not exist.")
        return JSONResponse({"total": len(rows), "rows": rows})

    def _validate(self, data: dict[str, Any], current: int | None) -> dict[str, list[str]]:
        problems: dict[str, list[str]] = {}
        tag = data.get("asset_tag")
        if tag and any(a["asset_tag"] == tag and a["id"] != current for a in self.assets.values()):
            problems["asset_tag"] = ["The asset tag must be unique."]
        if "model_id" in data and data["model_id"] not in self.models:
            problems["model_id"] = ["The selected model id is invalid."]
        if "company_id" in data and data["company_id"] not in self.companies:
            problems["company_id"] = ["The selected company id is invalid."]
        if "rtd_location_id" in data and data["rtd_location_id"] not in self.locations:
            problems["rtd_location_id"] = ["The selected rtd location id is invalid."]
        return problems

    async def create(self, request: Request) -> JSONResponse:
        data = await request.json()
        problems = self._validate(data, None)
        for required in ("model_id", "status_id"):
            if required not in data:
                problems.setdefault(required, []).append(f"The {required} field is required.")
        if problems:
            return self.error(problems)
        asset_id = self._next_id
        self._next_id += 1
        asset = dict(data, id=asset_id)
        asset.setdefault("asset_tag", f"AUTO{asset_id:05d}")
        self.assets[asset_id] = asset
        return JSONResponse(
            {
                "status": "success",
                "messages": "Asset created successfully. :)",
                "payload": self._view(asset),
            }
        )

    async def update(self, request: Request) -> JSONResponse:
        asset_id = int(request.path_params["id"])
        if asset_id not in self.assets:
            return self.error("Asset does not exist.")
        data = await request.json()
        problems = self._validate(data, asset_id)
        if problems:
            return self.error(problems)
        self.assets[asset_id].update(data)
        return JSONResponse(
            {
                "status": "success",
                "messages": "Asset updated successfully.",
                "payload": self._view(self.assets[asset_id]),
            }
        )

    async def search(self, request: Request) -> JSONResponse:
        table = {
            "companies": self.companies,
            "locations": self.locations,
            "models": self.models,
        }.get(request.path_params["kind"])
        if table is None:
            return JSONResponse({"status": "error", "messages": "Not found"}, 404)
        term = request.query_params.get("search", "").casefold()
        rows = [{"id": k, "name": v} for k, v in table.items() if term in v.casefold()]
        return JSONResponse({"total": len(rows), "rows": rows})
