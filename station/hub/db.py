"""The county hub's database: SQLite by default, PostgreSQL for a county, one code path (a URL)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from station.errors import HubError
from station.sync.targets import DeviceResult, ItemResult, StationInfo

log = logging.getLogger("station.hub.db")

metadata = sa.MetaData()

stations = sa.Table(
    "stations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    # sha256 of the token; the token itself is shown once and never stored.
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("station_uuid", sa.String(200), nullable=False, server_default=""),
    sa.Column("version", sa.String(200), nullable=False, server_default=""),
    sa.Column("last_heartbeat", sa.DateTime(timezone=True)),
    sa.Column("backlog", sa.Integer, nullable=False, server_default="0"),
    sa.Column("oldest_pending", sa.DateTime(timezone=True)),
)

# The first answer per (station, key), replayed for every later delivery of that key.
ingest_keys = sa.Table(
    "ingest_keys",
    metadata,
    sa.Column("station_id", sa.Integer, sa.ForeignKey("stations.id"), primary_key=True),
    sa.Column("idempotency_key", sa.String(128), primary_key=True),
    sa.Column("response", sa.Text, nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
)

records = sa.Table(
    "records",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("station_id", sa.Integer, sa.ForeignKey("stations.id"), nullable=False),
    sa.Column("idempotency_key", sa.String(128), nullable=False),
    sa.Column("serial", sa.String(64), nullable=False),
    sa.Column("platform", sa.String(16), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("operator", sa.String(200), nullable=False),
    sa.Column("school", sa.String(200), nullable=False),
    sa.Column("cart", sa.String(200), nullable=False),
    sa.Column("cart_size", sa.Integer),
    sa.Column("slot", sa.Integer),
    sa.Column("run_id", sa.String(200), nullable=False),
    sa.Column("step", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("milestone", sa.String(16)),
    sa.Column("asset_tag", sa.String(200), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("station_id", "idempotency_key", name="records_one_per_key"),
    sa.Index("records_serial", "serial"),
    sa.Index("records_school", "operator", "school"),
)

RECORD_COLUMNS = [c.name for c in records.columns if c.name not in ("station_id",)]


@dataclass(frozen=True)
class Station:
    id: int
    name: str


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use psycopg 3 for them."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def token_hash(token: str) -> str:
    # Tokens are 256 random bits, so a plain (unsalted) hash is enough to make a stolen
    # database useless for impersonating a station.
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; everything the hub stores is UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class HubDB:
    """All hub storage; every method is one short transaction."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        try:
            self.engine: Engine = sa.create_engine(self.url, pool_pre_ping=True)
            metadata.create_all(self.engine)
        except SQLAlchemyError as exc:
            raise HubError(
                f"cannot open the hub database: {type(exc).__name__}: {_first_line(exc)}",
                hint="check --db (e.g. sqlite:///hub.db or postgresql://user@host/dbname)",
            ) from exc

    def close(self) -> None:
        self.engine.dispose()

    # --- stations -----------------------------------------------------------------------

    def add_station(self, name: str) -> str:
        """Register a station; returns its token (shown once, stored only as a hash)."""
        token = "st_" + secrets.token_urlsafe(32)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    stations.insert().values(
                        name=name, token_hash=token_hash(token), created_at=_now()
                    )
                )
        except IntegrityError as exc:
            raise HubError(
                f"a station named {name!r} exists already",
                hint="pick another name, or use rotate-token to issue it a new token",
            ) from exc
        log.info("station %r added", name)
        return token

    def rotate_token(self, name: str) -> str:
        token = "st_" + secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            result = conn.execute(
                stations.update()
                .where(stations.c.name == name)
                .values(token_hash=token_hash(token))
            )
        if result.rowcount != 1:
            raise HubError(f"no station named {name!r}")
        log.info("station %r has a new token", name)
        return token

    def authenticate(self, token: str) -> Station | None:
        digest = token_hash(token)
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(stations.c.id, stations.c.name, stations.c.token_hash).where(
                    stations.c.token_hash == digest
                )
            ).first()
        if row is None or not hmac.compare_digest(row.token_hash, digest):
            return None
        return Station(id=int(row.id), name=str(row.name))

    def heartbeat(self, station: Station, info: StationInfo) -> None:
        with self.engine.begin() as conn:
            self._heartbeat(conn, station, info)

    @staticmethod
    def _heartbeat(conn: Connection, station: Station, info: StationInfo) -> None:
        conn.execute(
            stations.update()
            .where(stations.c.id == station.id)
            .values(
                station_uuid=info.station_id,
                version=info.version,
                backlog=info.backlog,
                oldest_pending=info.oldest_pending,
                last_heartbeat=_now(),
            )
        )

    # --- ingest -------------------------------------------------------------------------

    def ingest(
        self, station: Station, info: StationInfo, items: Sequence[tuple[str, DeviceResult | str]]
    ) -> list[ItemResult]:
        """Store a batch in one transaction; a key seen before gets its first answer back.

        ``items`` pairs each idempotency key with its validated result, or with the reason it
        did not validate (rejections are answered but not remembered, so a fixed and resent
        message can still be accepted).
        """
        answers: list[ItemResult] = []
        received = _now()
        with self.engine.begin() as conn:
            self._heartbeat(conn, station, info)
            for key, item in items:
                if isinstance(item, str):
                    answers.append(ItemResult(key=key, status="rejected", error=item))
                    continue
                accepted = ItemResult(key=key, status="accepted")
                # ON CONFLICT DO NOTHING is the same SQL on SQLite and PostgreSQL; on
                # PostgreSQL it also waits for a concurrent insert of the same key to settle.
                inserted = conn.execute(
                    sa.text(
                        "INSERT INTO ingest_keys (station_id, idempotency_key, response, "
                        "received_at) VALUES (:sid, :key, :response, :at) "
                        "ON CONFLICT (station_id, idempotency_key) DO NOTHING"
                    ),
                    {
                        "sid": station.id,
                        "key": key,
                        "response": accepted.model_dump_json(),
                        "at": received,
                    },
                )
                if inserted.rowcount == 1:
                    conn.execute(records.insert().values(**self._record(station, key, item)))
                    answers.append(accepted)
                    continue
                stored = conn.execute(
                    sa.select(ingest_keys.c.response).where(
                        ingest_keys.c.station_id == station.id,
                        ingest_keys.c.idempotency_key == key,
                    )
                ).scalar_one()
                first = ItemResult.model_validate_json(stored)
                answers.append(
                    ItemResult(key=key, status="duplicate", error=first.error)
                    if first.status == "accepted"
                    else first
                )
        return answers

    @staticmethod
    def _record(station: Station, key: str, item: DeviceResult) -> dict[str, Any]:
        values = item.model_dump()
        values.update(station_id=station.id, idempotency_key=key, received_at=_now())
        return values

    # --- reading ------------------------------------------------------------------------

    def count_records(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(records)).scalar_one())

    def records(self, *, limit: int | None = None) -> list[dict[str, Any]]:
        query = (
            sa.select(stations.c.name.label("station"), *[records.c[c] for c in RECORD_COLUMNS])
            .join(stations, stations.c.id == records.c.station_id)
            .order_by(records.c.id)
        )
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        out = []
        for row in rows:
            item = dict(row)
            item["recorded_at"] = _utc(item["recorded_at"])
            item["received_at"] = _utc(item["received_at"])
            out.append(item)
        return out

    def stations(self) -> list[dict[str, Any]]:
        query = sa.select(
            stations.c.name,
            stations.c.station_uuid,
            stations.c.version,
            stations.c.last_heartbeat,
            stations.c.backlog,
            stations.c.oldest_pending,
            stations.c.created_at,
        ).order_by(stations.c.name)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        out = []
        for row in rows:
            item = dict(row)
            for column in ("last_heartbeat", "oldest_pending", "created_at"):
                item[column] = _utc(item[column])
            out.append(item)
        return out

    def summary(self) -> dict[str, Any]:
        """Everything the dashboard shows, as plain data (also the JSON export)."""
        r = records
        serials = sa.func.count(sa.distinct(r.c.serial))
        with self.engine.connect() as conn:
            by_school: dict[tuple[str, str], dict[str, Any]] = {}
            for row in conn.execute(
                sa.select(r.c.operator, r.c.school, serials.label("devices"))
                .group_by(r.c.operator, r.c.school)
                .order_by(r.c.operator, r.c.school)
            ):
                by_school[(row.operator, row.school)] = {
                    "operator": row.operator,
                    "school": row.school,
                    "devices": int(row.devices),
                    "provisioned": 0,
                    "labelled": 0,
                    "synced": 0,
                }
            for row in conn.execute(
                sa.select(r.c.operator, r.c.school, r.c.milestone, serials.label("n"))
                .where(r.c.milestone.is_not(None), r.c.status == "done")
                .group_by(r.c.operator, r.c.school, r.c.milestone)
            ):
                by_school[(row.operator, row.school)][str(row.milestone)] = int(row.n)

            carts = [
                {
                    "operator": row.operator,
                    "school": row.school,
                    "cart": row.cart,
                    "run_id": row.run_id,
                    "provisioned": int(row.provisioned),
                    "size": int(row.size) if row.size is not None else None,
                }
                for row in conn.execute(
                    sa.select(
                        r.c.operator,
                        r.c.school,
                        r.c.cart,
                        r.c.run_id,
                        sa.func.count(
                            sa.distinct(
                                sa.case(
                                    (
                                        sa.and_(
                                            r.c.milestone == "provisioned", r.c.status == "done"
                                        ),
                                        r.c.serial,
                                    )
                                )
                            )
                        ).label("provisioned"),
                        sa.func.max(r.c.cart_size).label("size"),
                    )
                    .where(r.c.cart != "")
                    .group_by(r.c.operator, r.c.school, r.c.cart, r.c.run_id)
                    .order_by(r.c.operator, r.c.school, r.c.cart, r.c.run_id)
                )
            ]

            failures = [
                {
                    "step": row.step,
                    "error": row.error,
                    "count": int(row.n),
                    "devices": int(row.devices),
                }
                for row in conn.execute(
                    sa.select(
                        r.c.step,
                        r.c.error,
                        sa.func.count().label("n"),
                        serials.label("devices"),
                    )
                    .where(r.c.status == "failed")
                    .group_by(r.c.step, r.c.error)
                    .order_by(sa.func.count().desc(), r.c.step, r.c.error)
                )
            ]

            place = r.c.operator + "\x1f" + r.c.school  # control characters never validate
            schools_per_serial = (
                sa.select(r.c.serial)
                .group_by(r.c.serial)
                .having(sa.func.count(sa.distinct(place)) > 1)
            )
            moved: dict[str, list[str]] = {}
            for row in conn.execute(
                sa.select(r.c.serial, r.c.operator, r.c.school)
                .where(r.c.serial.in_(schools_per_serial))
                .distinct()
                .order_by(r.c.serial, r.c.operator, r.c.school)
            ):
                moved.setdefault(row.serial, []).append(f"{row.operator} / {row.school}")

        return {
            "schools": list(by_school.values()),
            "carts": carts,
            "failures": failures,
            "stations": [_jsonable(s) for s in self.stations()],
            "serials_at_several_schools": [
                {"serial": serial, "schools": places} for serial, places in moved.items()
            ],
        }


def _first_line(exc: BaseException) -> str:
    text = str(exc.args[0]) if exc.args else ""
    return text.splitlines()[0] if text else ""


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in row.items()}


def dumps(value: Any) -> str:
    return json.dumps(value, default=str, sort_keys=True)
