"""The records database's schema as ordered migrations; ``PRAGMA user_version`` is the version."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    """One step from ``version - 1`` to ``version``; statements run in one transaction."""

    version: int
    description: str
    statements: tuple[str, ...]


_V1 = (
    """CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    """CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        station_id TEXT NOT NULL,
        blueprint_name TEXT NOT NULL,
        blueprint_hash TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL
            CHECK (status IN ('running', 'finished', 'failed', 'cancelled', 'interrupted'))
    )""",
    "CREATE INDEX runs_status ON runs (status)",
    """CREATE TABLE devices (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        platform TEXT NOT NULL CHECK (platform IN ('ios', 'android')),
        serial TEXT NOT NULL,
        udid TEXT NOT NULL,
        model TEXT NOT NULL DEFAULT '',
        name TEXT NOT NULL DEFAULT '',
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL
    )""",
    "CREATE INDEX devices_serial ON devices (serial)",
    """CREATE TABLE device_results (
        id INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL REFERENCES runs (id),
        device_id INTEGER NOT NULL REFERENCES devices (id),
        step TEXT NOT NULL,
        fingerprint TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL
            CHECK (status IN ('running', 'done', 'skipped', 'failed', 'interrupted')),
        detail TEXT NOT NULL DEFAULT '',
        started_at TEXT NOT NULL,
        finished_at TEXT
    )""",
    "CREATE INDEX device_results_device_step ON device_results (device_id, step, status)",
    "CREATE INDEX device_results_run ON device_results (run_id)",
    """CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts TEXT NOT NULL,
        run_id TEXT REFERENCES runs (id),
        device_id INTEGER REFERENCES devices (id),
        kind TEXT NOT NULL,
        data TEXT NOT NULL DEFAULT '{}'
    )""",
    "CREATE INDEX events_run ON events (run_id)",
    # The event log is evidence: the database itself refuses to change or drop an event.
    """CREATE TRIGGER events_no_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END""",
    """CREATE TRIGGER events_no_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END""",
)

_V2 = (
    """CREATE TABLE asset_tags (
        id INTEGER PRIMARY KEY,
        scheme TEXT NOT NULL,
        number INTEGER NOT NULL,
        tag TEXT NOT NULL UNIQUE,
        device_id INTEGER NOT NULL REFERENCES devices (id),
        run_id TEXT REFERENCES runs (id),
        allocated_at TEXT NOT NULL,
        UNIQUE (scheme, device_id),
        UNIQUE (scheme, number)
    )""",
    """CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        idempotency_key TEXT NOT NULL UNIQUE,
        target TEXT NOT NULL,
        op TEXT NOT NULL,
        natural_key TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'dead')),
        sent_at TEXT,
        result_id INTEGER REFERENCES device_results (id)
    )""",
    "CREATE INDEX outbox_due ON outbox (state, next_attempt_at)",
)

# The hub's line serves the tablets expected to unpack longest first; these are the timings
# it learns from (seconds from an app's last byte sent to its install's end), kept across runs.
_V3 = (
    """CREATE TABLE unpack_times (
        id INTEGER PRIMARY KEY,
        recorded_at TEXT NOT NULL,
        run_id TEXT REFERENCES runs (id),
        device_id INTEGER REFERENCES devices (id),
        platform TEXT NOT NULL CHECK (platform IN ('ios', 'android')),
        model TEXT NOT NULL,
        step TEXT NOT NULL,
        bytes INTEGER NOT NULL CHECK (bytes > 0),
        seconds REAL NOT NULL CHECK (seconds >= 0)
    )""",
    "CREATE INDEX unpack_times_model ON unpack_times (platform, model, id)",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "runs, devices, step results, append-only events, settings", _V1),
    Migration(2, "asset tags and the upstream outbox", _V2),
    Migration(3, "app unpack times per device model", _V3),
)

LATEST = MIGRATIONS[-1].version
