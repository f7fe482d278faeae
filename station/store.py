"""The station's local records: runs, devices, step results, events, asset tags and the outbox."""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import hashlib
import json
import logging
import os
import sqlite3
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import sqlite_utils

from station import paths
from station.errors import KnownStoreError, StoreBug, StoreError
from station.store_schema import LATEST, MIGRATIONS, Migration

if sys.platform != "win32":
    import fcntl

log = logging.getLogger("station.store")

DB_NAME = "station.db"

# Primary result codes that mean "the machine, the disk or another process", not "our bug"
# (the same split as qutebrowser's misc/sql.py). Extended codes are masked to these.
_KNOWN_CODES = {
    5: "the database is busy (another station process holds it)",  # SQLITE_BUSY
    6: "the database table is locked",  # SQLITE_LOCKED
    7: "out of memory",  # SQLITE_NOMEM
    8: "the database is read-only",  # SQLITE_READONLY
    10: "disk I/O error",  # SQLITE_IOERR
    11: "the database file is damaged",  # SQLITE_CORRUPT
    13: "the disk is full",  # SQLITE_FULL
    14: "the database file cannot be opened",  # SQLITE_CANTOPEN
    15: "database locking protocol error",  # SQLITE_PROTOCOL
    26: "the file is not a database",  # SQLITE_NOTADB
}


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"


class StepStatus(enum.StrEnum):
    RUNNING = "running"
    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class OutboxState(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


class TagScheme(Protocol):
    """An asset-tag scheme: ``prefix`` + ``number`` zero-padded to ``digits`` (from ``start``)."""

    @property
    def prefix(self) -> str: ...
    @property
    def digits(self) -> int: ...
    @property
    def start(self) -> int: ...


@dataclass(frozen=True)
class Run:
    id: str
    station_id: str
    blueprint_name: str
    blueprint_hash: str
    started_at: str
    finished_at: str | None
    status: RunStatus


@dataclass(frozen=True)
class Device:
    id: int
    platform: str
    serial: str
    udid: str
    model: str
    name: str
    first_seen: str
    last_seen: str


@dataclass(frozen=True)
class StepRecord:
    id: int
    run_id: str
    device_id: int
    step: str
    fingerprint: str
    status: StepStatus
    detail: str
    started_at: str
    finished_at: str | None


@dataclass(frozen=True)
class Event:
    id: int
    ts: str
    run_id: str | None
    device_id: int | None
    kind: str
    data: dict[str, Any]


@dataclass(frozen=True)
class OutboxEntry:
    """A message for an upstream system, written with the step result that caused it.

    Without an explicit ``idempotency_key`` the key is derived from the content, so recording
    the same result twice queues one message.
    """

    target: str
    op: str
    natural_key: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None

    def key(self) -> str:
        if self.idempotency_key:
            return self.idempotency_key
        body = json.dumps(
            [self.target, self.op, self.natural_key, self.payload], sort_keys=True, default=str
        )
        return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class OutboxRow:
    id: int
    idempotency_key: str
    target: str
    op: str
    natural_key: str
    payload: dict[str, Any]
    created_at: str
    attempts: int
    next_attempt_at: str
    last_error: str
    state: OutboxState
    sent_at: str | None


@dataclass(frozen=True)
class UnpackTime:
    """One timed app install: ``seconds`` from its last byte sent to its end, for ``bytes``."""

    platform: str
    model: str
    step: str
    bytes: int
    seconds: float


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _map_error(exc: sqlite3.Error, action: str) -> StoreError:
    """Turn a sqlite3 error into KnownStoreError (environment) or StoreBug (our fault)."""
    code = getattr(exc, "sqlite_errorcode", None)
    name = getattr(exc, "sqlite_errorname", "") or type(exc).__name__
    if code is not None and (code & 0xFF) in _KNOWN_CODES:
        return KnownStoreError(
            f"{action}: {_KNOWN_CODES[code & 0xFF]} ({name})",
            hint="check free disk space and that only one station program uses this database",
        )
    return StoreBug(f"{action}: {name}: {exc}", hint="this is a bug in the station; report it")


@contextlib.contextmanager
def _mapped(action: str) -> Iterator[None]:
    """Boundary with sqlite3: every database error leaves as a StoreError."""
    try:
        yield
    except sqlite3.Error as exc:
        raise _map_error(exc, action) from exc


class Store:
    """The one local database (sqlite, WAL). Every write is one short transaction.

    Opening the store as the station's primary process (the one that holds the writer lock)
    marks runs and steps left ``running`` by a killed process as ``interrupted``.
    """

    def __init__(
        self,
        path: Path,
        *,
        now: Callable[[], dt.datetime] = _utcnow,
        busy_timeout: float = 30.0,
        migrate_to: int = LATEST,
        recover: bool = True,
    ) -> None:
        """Open (creating and migrating) the database at ``path``.

        Args:
            path: the database file; its directory is created (0700) if missing.
            now: clock for timestamps (tests pass a fixed one).
            busy_timeout: seconds to wait for another process's write to finish.
            migrate_to: schema version to migrate to (tests use older ones).
            recover: try to become the primary process and mark interrupted work.
        """
        self.path = path
        self._now = now
        self._lock_fd: int | None = None
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise KnownStoreError(f"cannot create {path.parent}: {exc.strerror}") from exc
        with _mapped(f"opening {path}"):
            # isolation_level=None: no implicit transactions; we BEGIN IMMEDIATE ourselves.
            # check_same_thread=False: the engine may call from asyncio.to_thread workers;
            # self._lock keeps it to one call at a time on this connection.
            conn = sqlite3.connect(
                path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        try:
            with _mapped(f"opening {path}"):
                conn.execute("PRAGMA journal_mode=WAL")
                # FULL: a committed result survives power loss too, not only a killed process.
                conn.execute("PRAGMA synchronous=FULL")
                conn.execute("PRAGMA foreign_keys=ON")
            self.db = sqlite_utils.Database(conn, execute_plugins=False)
            self._migrate(migrate_to)
            if recover and self._take_writer_lock():
                self._recover()
        except BaseException:
            conn.close()
            self._release_writer_lock()
            raise

    def close(self) -> None:
        with self._lock, _mapped("closing the database"):
            self.db.conn.close()
        self._release_writer_lock()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Store {self.path}>"

    # --- plumbing ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _write(self, action: str) -> Iterator[sqlite_utils.Database]:
        """One write transaction, taken up front (IMMEDIATE) so it never fails half-way on BUSY."""
        conn = self.db.conn
        with self._lock, _mapped(action):
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _ts(self) -> str:
        return self._now().astimezone(dt.UTC).isoformat(timespec="milliseconds")

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._lock, _mapped("reading the database"):
            return list(self.db.query(sql, params))

    def _take_writer_lock(self) -> bool:
        """Hold an exclusive lock beside the database for as long as this store is open."""
        if sys.platform == "win32":
            return True
        lock_path = self.path.with_name(self.path.name + ".writer")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._lock_fd = fd
        return True

    def _release_writer_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    @property
    def is_primary(self) -> bool:
        """True when this store holds the writer lock (and so did the crash recovery)."""
        return self._lock_fd is not None or sys.platform == "win32"

    # --- schema -----------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        with self._lock, _mapped("reading the schema version"):
            value = self.db.conn.execute("PRAGMA user_version").fetchone()[0]
        return int(value)

    def _migrate(self, target: int) -> None:
        current = self.schema_version
        if current > LATEST:
            raise KnownStoreError(
                f"{self.path} has schema version {current}, newer than this station knows "
                f"({LATEST})",
                hint="update the station software, or open another database",
            )
        for migration in MIGRATIONS:
            if current < migration.version <= target:
                self._apply(migration)
                current = migration.version
        if current == 0:
            return
        if self.get_setting("station_id") is None:
            self.set_setting("station_id", str(uuid.uuid4()))

    def _apply(self, migration: Migration) -> None:
        with self._write(f"migrating to schema {migration.version}") as db:
            # Re-check inside the lock: another process may have migrated meanwhile.
            if db.conn.execute("PRAGMA user_version").fetchone()[0] >= migration.version:
                return
            for statement in migration.statements:
                db.conn.execute(statement)
            db.conn.execute(f"PRAGMA user_version = {int(migration.version)}")
        log.info(
            "database %s migrated to %d: %s", self.path, migration.version, migration.description
        )

    def integrity_check(self) -> str:
        """``ok`` when sqlite finds nothing wrong, else its first complaint."""
        rows = self._rows("PRAGMA integrity_check")
        return str(next(iter(rows[0].values()))) if rows else "no answer"

    # --- settings ---------------------------------------------------------------------------

    def get_setting(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM settings WHERE key = ?", [key])
        return str(rows[0]["value"]) if rows else None

    def set_setting(self, key: str, value: str) -> None:
        with self._write("saving a setting") as db:
            db.conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            )

    @property
    def station_id(self) -> str:
        value = self.get_setting("station_id")
        if value is None:
            raise StoreBug("the database has no station id")
        return value

    # --- runs -------------------------------------------------------------------------------

    def start_run(self, blueprint_name: str, blueprint_hash: str) -> Run:
        run_id = str(uuid.uuid4())
        with self._write("starting a run") as db:
            db.table("runs").insert(
                {
                    "id": run_id,
                    "station_id": self.station_id,
                    "blueprint_name": blueprint_name,
                    "blueprint_hash": blueprint_hash,
                    "started_at": self._ts(),
                    "finished_at": None,
                    "status": RunStatus.RUNNING.value,
                }
            )
            self._event(db, "run.started", {"blueprint": blueprint_name}, run_id, None)
        return self.run(run_id)

    def finish_run(self, run_id: str, status: RunStatus = RunStatus.FINISHED) -> Run:
        if status is RunStatus.RUNNING:
            raise StoreBug("finish_run needs a final status")
        with self._write("finishing a run") as db:
            cursor = db.conn.execute(
                "UPDATE runs SET status = ?, finished_at = ? WHERE id = ?",
                [status.value, self._ts(), run_id],
            )
            if cursor.rowcount != 1:
                raise StoreBug(f"no run {run_id}")
            self._event(db, "run.finished", {"status": status.value}, run_id, None)
        return self.run(run_id)

    def resume_run(self, run_id: str) -> Run:
        """Mark an interrupted run as running again (the engine then skips its done steps)."""
        with self._write("resuming a run") as db:
            cursor = db.conn.execute(
                "UPDATE runs SET status = 'running', finished_at = NULL "
                "WHERE id = ? AND status = 'interrupted'",
                [run_id],
            )
            if cursor.rowcount != 1:
                raise StoreBug(f"run {run_id} is not interrupted")
            self._event(db, "run.resumed", {}, run_id, None)
        return self.run(run_id)

    def run(self, run_id: str) -> Run:
        rows = self._rows("SELECT * FROM runs WHERE id = ?", [run_id])
        if not rows:
            raise StoreBug(f"no run {run_id}")
        return _run(rows[0])

    def runs(self, *, limit: int = 100) -> list[Run]:
        """Newest first."""
        rows = self._rows(
            "SELECT * FROM runs ORDER BY started_at DESC, rowid DESC LIMIT ?", [limit]
        )
        return [_run(r) for r in rows]

    def interrupted_runs(self) -> list[Run]:
        rows = self._rows("SELECT * FROM runs WHERE status = 'interrupted' ORDER BY started_at")
        return [_run(r) for r in rows]

    def _recover(self) -> None:
        """Work left ``running`` by a process that is gone becomes ``interrupted``."""
        with self._write("marking interrupted work") as db:
            ts = self._ts()
            steps = db.conn.execute(
                "UPDATE device_results SET status = 'interrupted', finished_at = ? "
                "WHERE status = 'running'",
                [ts],
            ).rowcount
            run_ids = [
                r[0] for r in db.conn.execute("SELECT id FROM runs WHERE status = 'running'")
            ]
            for run_id in run_ids:
                db.conn.execute("UPDATE runs SET status = 'interrupted' WHERE id = ?", [run_id])
                self._event(db, "run.interrupted", {"steps_interrupted": steps}, run_id, None)
        if run_ids or steps:
            log.warning("marked %d run(s) and %d step(s) interrupted", len(run_ids), steps)

    # --- devices ----------------------------------------------------------------------------

    def upsert_device(
        self, platform: str, serial: str, udid: str, *, model: str = "", name: str = ""
    ) -> Device:
        """The device row for (platform, serial, udid), created on first sight."""
        key = f"{platform}:{serial}:{udid}"
        ts = self._ts()
        with self._write("recording a device") as db:
            db.conn.execute(
                "INSERT INTO devices (key, platform, serial, udid, model, name, first_seen, "
                "last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
                "last_seen = excluded.last_seen, "
                "model = CASE WHEN excluded.model != '' THEN excluded.model ELSE model END, "
                "name = CASE WHEN excluded.name != '' THEN excluded.name ELSE name END",
                [key, platform, serial, udid, model, name, ts, ts],
            )
        rows = self._rows("SELECT * FROM devices WHERE key = ?", [key])
        return _device(rows[0])

    def device(self, device_id: int) -> Device:
        rows = self._rows("SELECT * FROM devices WHERE id = ?", [device_id])
        if not rows:
            raise StoreBug(f"no device {device_id}")
        return _device(rows[0])

    def devices_by_serial(self, serial: str) -> list[Device]:
        return [_device(r) for r in self._rows("SELECT * FROM devices WHERE serial = ?", [serial])]

    # --- events -----------------------------------------------------------------------------

    def _event(
        self,
        db: sqlite_utils.Database,
        kind: str,
        data: Mapping[str, Any],
        run_id: str | None,
        device_id: int | None,
    ) -> int:
        cursor = db.conn.execute(
            "INSERT INTO events (ts, run_id, device_id, kind, data) VALUES (?, ?, ?, ?, ?)",
            [self._ts(), run_id, device_id, kind, json.dumps(dict(data), default=str)],
        )
        return int(cursor.lastrowid or 0)

    def record_event(
        self,
        kind: str,
        data: Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
        device_id: int | None = None,
    ) -> int:
        """Append to the event log; events are never changed or deleted."""
        with self._write("recording an event") as db:
            return self._event(db, kind, data or {}, run_id, device_id)

    def events(self, *, run_id: str | None = None, device_id: int | None = None) -> list[Event]:
        where, params = _filters(run_id=run_id, device_id=device_id)
        rows = self._rows(f"SELECT * FROM events {where} ORDER BY id", params)
        return [
            Event(r["id"], r["ts"], r["run_id"], r["device_id"], r["kind"], json.loads(r["data"]))
            for r in rows
        ]

    # --- step results -----------------------------------------------------------------------

    def start_step(self, run_id: str, device_id: int, step: str, fingerprint: str = "") -> int:
        """Record that a step began; if the process dies now, recovery marks it interrupted."""
        with self._write("recording a step start") as db:
            cursor = db.conn.execute(
                "INSERT INTO device_results (run_id, device_id, step, fingerprint, status, "
                "started_at) VALUES (?, ?, ?, ?, 'running', ?)",
                [run_id, device_id, step, fingerprint, self._ts()],
            )
            self._event(db, "step.started", {"step": step}, run_id, device_id)
            return int(cursor.lastrowid or 0)

    def record_step_result(
        self,
        run_id: str,
        device_id: int,
        step: str,
        status: StepStatus,
        *,
        fingerprint: str = "",
        detail: str = "",
        outbox: Sequence[OutboxEntry] = (),
    ) -> StepRecord:
        """Record a step's outcome, its event and its outbox rows in ONE transaction.

        Completes the step's ``running`` row from :meth:`start_step` if there is one.
        """
        if status is StepStatus.RUNNING:
            raise StoreBug("record_step_result needs a final status; use start_step")
        ts = self._ts()
        with self._write("recording a step result") as db:
            open_row = db.conn.execute(
                "SELECT id FROM device_results WHERE run_id = ? AND device_id = ? AND step = ? "
                "AND status = 'running' ORDER BY id DESC LIMIT 1",
                [run_id, device_id, step],
            ).fetchone()
            if open_row is not None:
                result_id = int(open_row[0])
                db.conn.execute(
                    "UPDATE device_results SET status = ?, detail = ?, finished_at = ?, "
                    "fingerprint = CASE WHEN ? != '' THEN ? ELSE fingerprint END WHERE id = ?",
                    [status.value, detail, ts, fingerprint, fingerprint, result_id],
                )
            else:
                cursor = db.conn.execute(
                    "INSERT INTO device_results (run_id, device_id, step, fingerprint, status, "
                    "detail, started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [run_id, device_id, step, fingerprint, status.value, detail, ts, ts],
                )
                result_id = int(cursor.lastrowid or 0)
            for entry in outbox:
                db.conn.execute(
                    "INSERT INTO outbox (idempotency_key, target, op, natural_key, payload, "
                    "created_at, next_attempt_at, result_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (idempotency_key) DO NOTHING",
                    [
                        entry.key(),
                        entry.target,
                        entry.op,
                        entry.natural_key,
                        json.dumps(dict(entry.payload), sort_keys=True, default=str),
                        ts,
                        ts,
                        result_id,
                    ],
                )
            self._event(
                db, f"step.{status.value}", {"step": step, "detail": detail}, run_id, device_id
            )
        rows = self._rows("SELECT * FROM device_results WHERE id = ?", [result_id])
        return _step(rows[0])

    def step_done(self, device_id: int, step: str, fingerprint: str = "") -> bool:
        """True if this device already finished this step with this fingerprint (any run)."""
        rows = self._rows(
            "SELECT 1 FROM device_results WHERE device_id = ? AND step = ? AND fingerprint = ? "
            "AND status = 'done' LIMIT 1",
            [device_id, step, fingerprint],
        )
        return bool(rows)

    def history(
        self, *, device_id: int | None = None, run_id: str | None = None, limit: int = 500
    ) -> list[StepRecord]:
        """Step results, newest first."""
        where, params = _filters(run_id=run_id, device_id=device_id)
        rows = self._rows(
            f"SELECT * FROM device_results {where} ORDER BY id DESC LIMIT ?", [*params, limit]
        )
        return [_step(r) for r in rows]

    # --- unpack times -----------------------------------------------------------------------

    def record_unpack(
        self,
        run_id: str,
        device_id: int,
        *,
        platform: str,
        model: str,
        step: str,
        nbytes: int,
        seconds: float,
    ) -> None:
        """Remember how long a device of ``model`` took to unpack ``nbytes`` after the upload."""
        with self._write("recording an unpack time") as db:
            db.conn.execute(
                "INSERT INTO unpack_times (recorded_at, run_id, device_id, platform, model, step, "
                "bytes, seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [self._ts(), run_id, device_id, platform, model, step, nbytes, seconds],
            )

    def unpack_times(self, *, per_model: int = 20) -> list[UnpackTime]:
        """The newest ``per_model`` unpack times of each (platform, model), oldest first."""
        rows = self._rows(
            "SELECT platform, model, step, bytes, seconds FROM ("
            "SELECT *, ROW_NUMBER() OVER (PARTITION BY platform, model ORDER BY id DESC) AS n "
            "FROM unpack_times) WHERE n <= ? ORDER BY id",
            [per_model],
        )
        return [
            UnpackTime(r["platform"], r["model"], r["step"], int(r["bytes"]), float(r["seconds"]))
            for r in rows
        ]

    # --- asset tags -------------------------------------------------------------------------

    def allocate_asset_tag(
        self, scheme: TagScheme, device_id: int, *, run_id: str | None = None
    ) -> str:
        """The device's tag in ``scheme``: its existing one, else the next free number.

        BEGIN IMMEDIATE serialises allocators across processes, so two stations' processes
        on one database never hand out one tag twice.
        """
        if scheme.digits < 1 or scheme.start < 0:
            raise StoreBug(f"bad asset-tag scheme {scheme!r}")
        scheme_key = f"{scheme.prefix}#{scheme.digits}"
        limit = 10**scheme.digits
        with self._write("allocating an asset tag") as db:
            row = db.conn.execute(
                "SELECT tag FROM asset_tags WHERE scheme = ? AND device_id = ?",
                [scheme_key, device_id],
            ).fetchone()
            if row is not None:
                return str(row[0])
            highest = db.conn.execute(
                "SELECT MAX(number) FROM asset_tags WHERE scheme = ?", [scheme_key]
            ).fetchone()[0]
            number = max(scheme.start, (highest or 0) + 1)
            while True:
                if number >= limit:
                    raise KnownStoreError(
                        f"asset-tag scheme {scheme.prefix}{'#' * scheme.digits} is exhausted",
                        hint="add a digit to the blueprint's asset_tag scheme",
                    )
                tag = f"{scheme.prefix}{number:0{scheme.digits}d}"
                taken = db.conn.execute("SELECT 1 FROM asset_tags WHERE tag = ?", [tag]).fetchone()
                if taken is None:
                    break
                number += 1
            db.conn.execute(
                "INSERT INTO asset_tags (scheme, number, tag, device_id, run_id, allocated_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [scheme_key, number, tag, device_id, run_id, self._ts()],
            )
            self._event(db, "asset_tag.allocated", {"tag": tag}, run_id, device_id)
        return tag

    def asset_tags(self, device_id: int) -> list[str]:
        rows = self._rows("SELECT tag FROM asset_tags WHERE device_id = ? ORDER BY id", [device_id])
        return [str(r["tag"]) for r in rows]

    # --- outbox -----------------------------------------------------------------------------

    def outbox_due(self, *, limit: int = 50) -> list[OutboxRow]:
        """Pending messages whose next attempt is due now, oldest first."""
        rows = self._rows(
            "SELECT * FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? "
            "ORDER BY id LIMIT ?",
            [self._ts(), limit],
        )
        return [_outbox(r) for r in rows]

    def outbox(self, *, state: OutboxState | None = None) -> list[OutboxRow]:
        where, params = ("WHERE state = ?", [state.value]) if state else ("", [])
        return [_outbox(r) for r in self._rows(f"SELECT * FROM outbox {where} ORDER BY id", params)]

    def outbox_sent(self, row_id: int) -> None:
        with self._write("marking an outbox row sent") as db:
            db.conn.execute(
                "UPDATE outbox SET state = 'sent', sent_at = ?, attempts = attempts + 1 "
                "WHERE id = ?",
                [self._ts(), row_id],
            )

    def outbox_failed(
        self, row_id: int, error: str, *, retry_at: dt.datetime | None, dead: bool = False
    ) -> None:
        """Count a failed delivery; ``dead`` (or no ``retry_at``) parks it for a person."""
        state = "dead" if dead or retry_at is None else "pending"
        next_at = (retry_at or self._now()).astimezone(dt.UTC).isoformat(timespec="milliseconds")
        with self._write("recording an outbox failure") as db:
            db.conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, state = ?, "
                "next_attempt_at = ? WHERE id = ?",
                [error, state, next_at, row_id],
            )

    def outbox_resend(self, row_id: int) -> bool:
        """Queue a dead message again, due now, attempts reset; False if it is not dead."""
        with self._write("resending an outbox row") as db:
            cursor = db.conn.execute(
                "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ? "
                "WHERE id = ? AND state = 'dead'",
                [self._ts(), row_id],
            )
            return cursor.rowcount == 1


def default_db_path() -> Path:
    """The station database in the per-user data directory."""
    return paths.data_dir() / DB_NAME


def _filters(**values: object) -> tuple[str, list[object]]:
    clauses = [f"{column} = ?" for column, value in values.items() if value is not None]
    params = [value for value in values.values() if value is not None]
    return ("WHERE " + " AND ".join(clauses) if clauses else "", params)


def _run(r: Mapping[str, Any]) -> Run:
    return Run(
        id=r["id"],
        station_id=r["station_id"],
        blueprint_name=r["blueprint_name"],
        blueprint_hash=r["blueprint_hash"],
        started_at=r["started_at"],
        finished_at=r["finished_at"],
        status=RunStatus(r["status"]),
    )


def _device(r: Mapping[str, Any]) -> Device:
    return Device(
        id=r["id"],
        platform=r["platform"],
        serial=r["serial"],
        udid=r["udid"],
        model=r["model"],
        name=r["name"],
        first_seen=r["first_seen"],
        last_seen=r["last_seen"],
    )


def _step(r: Mapping[str, Any]) -> StepRecord:
    return StepRecord(
        id=r["id"],
        run_id=r["run_id"],
        device_id=r["device_id"],
        step=r["step"],
        fingerprint=r["fingerprint"],
        status=StepStatus(r["status"]),
        detail=r["detail"],
        started_at=r["started_at"],
        finished_at=r["finished_at"],
    )


def _outbox(r: Mapping[str, Any]) -> OutboxRow:
    return OutboxRow(
        id=r["id"],
        idempotency_key=r["idempotency_key"],
        target=r["target"],
        op=r["op"],
        natural_key=r["natural_key"],
        payload=json.loads(r["payload"]),
        created_at=r["created_at"],
        attempts=r["attempts"],
        next_attempt_at=r["next_attempt_at"],
        last_error=r["last_error"],
        state=OutboxState(r["state"]),
        sent_at=r["sent_at"],
    )
