"""The records store: migrations, atomic result+outbox writes, crash recovery, asset tags."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from station.errors import KnownStoreError, StoreBug, StoreError
from station.store import (
    OutboxEntry,
    OutboxState,
    RunStatus,
    StepStatus,
    Store,
)
from station.store_schema import LATEST

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Scheme:
    prefix: str
    digits: int
    start: int = 1


SEG = Scheme("SEG042-", 5)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "station.db")
    yield s
    s.close()


def _raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def test_new_database_is_wal_at_latest_version_with_a_station_id(tmp_path: Path) -> None:
    with Store(tmp_path / "db" / "station.db") as s:
        assert s.schema_version == LATEST
        assert len(s.station_id) == 36
        assert s.integrity_check() == "ok"
    conn = _raw(tmp_path / "db" / "station.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"runs", "devices", "device_results", "events", "asset_tags", "outbox"} <= tables
    conn.close()
    assert (tmp_path / "db").stat().st_mode & 0o777 == 0o700


def test_migration_from_v1_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "station.db"
    with Store(path, migrate_to=1) as old:
        assert old.schema_version == 1
        station_id = old.station_id
        run = old.start_run("Schule 2025/26", "abc")
        dev = old.upsert_device("ios", "F9FX1", "00008101-AAA")
        old.record_step_result(run.id, dev.id, "rename", StepStatus.DONE, fingerprint="n1")
        old.finish_run(run.id)
        conn = old.db.conn
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "outbox" not in names
        assert "asset_tags" not in names
    with Store(path) as new:
        assert new.schema_version == LATEST
        assert new.station_id == station_id
        assert new.step_done(dev.id, "rename", "n1")
        assert new.runs()[0].status is RunStatus.FINISHED
        assert new.allocate_asset_tag(SEG, dev.id) == "SEG042-00001"


def test_database_from_a_newer_station_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "station.db"
    Store(path).close()
    conn = _raw(path)
    conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    conn.close()
    with pytest.raises(KnownStoreError, match="newer"):
        Store(path)


def test_garbage_file_is_a_known_error(tmp_path: Path) -> None:
    path = tmp_path / "station.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(KnownStoreError, match="not a database"):
        Store(path)


def test_step_result_and_outbox_rows_are_written_together(store: Store) -> None:
    run = store.start_run("demo", "h")
    dev = store.upsert_device("android", "R52N", "R52N")
    entry = OutboxEntry("snipeit", "upsert_asset", "R52N", {"asset_tag": "SEG042-00001"})
    store.start_step(run.id, dev.id, "install_apps", "fp1")
    rec = store.record_step_result(
        run.id, dev.id, "install_apps", StepStatus.DONE, fingerprint="fp1", outbox=[entry]
    )
    assert rec.status is StepStatus.DONE
    assert rec.finished_at is not None
    assert len(store.history(device_id=dev.id)) == 1  # the start row was completed, not duplicated
    [row] = store.outbox()
    assert row.payload == {"asset_tag": "SEG042-00001"}
    assert row.state is OutboxState.PENDING
    assert row.natural_key == "R52N"
    # Recording the same outcome again queues no second message (content-derived key).
    store.record_step_result(run.id, dev.id, "install_apps", StepStatus.DONE, outbox=[entry])
    assert len(store.outbox()) == 1


class _ExplodingEntry(OutboxEntry):
    """An outbox entry that fails after the step result row was already written."""

    def key(self) -> str:
        raise RuntimeError("disk pulled")


def test_failed_outbox_write_takes_the_result_with_it(store: Store) -> None:
    run = store.start_run("demo", "h")
    dev = store.upsert_device("ios", "S1", "U1")
    store.record_step_result(
        run.id, dev.id, "a", StepStatus.DONE, outbox=[OutboxEntry("x", "op", "S1")]
    )
    store.start_step(run.id, dev.id, "b", "fp")
    good = OutboxEntry("x", "op", "S1", {"step": "b"})
    with pytest.raises(RuntimeError, match="disk pulled"):
        store.record_step_result(
            run.id, dev.id, "b", StepStatus.DONE, outbox=[good, _ExplodingEntry("x", "op", "S1")]
        )
    # Neither the 'done' nor the first outbox row of the failed transaction survived.
    assert [(r.step, r.status) for r in store.history()] == [
        ("b", StepStatus.RUNNING),
        ("a", StepStatus.DONE),
    ]
    assert len(store.outbox()) == 1
    # A database-level failure (a run that does not exist) is a StoreError and also atomic.
    with pytest.raises(StoreBug):
        store.record_step_result("no-such-run", dev.id, "c", StepStatus.DONE, outbox=[good])
    assert len(store.outbox()) == 1


def test_events_are_append_only(store: Store) -> None:
    run = store.start_run("demo", "h")
    store.record_event("note", {"text": "Wagen 3"}, run_id=run.id)
    kinds = [e.kind for e in store.events(run_id=run.id)]
    assert kinds == ["run.started", "note"]
    with pytest.raises(StoreError, match="append-only"), store._write("tamper") as db:
        db.conn.execute("UPDATE events SET kind = 'x'")
    with pytest.raises(StoreError, match="append-only"), store._write("tamper") as db:
        db.conn.execute("DELETE FROM events")
    # A second connection (any sqlite client) is refused too: the rule lives in the file.
    conn = _raw(store.path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM events")
    conn.close()
    assert [e.kind for e in store.events(run_id=run.id)] == kinds


def test_asset_tags_are_stable_unique_and_exhaustible(store: Store) -> None:
    devs = [store.upsert_device("ios", f"S{i}", f"U{i}") for i in range(3)]
    tags = [store.allocate_asset_tag(SEG, d.id) for d in devs]
    assert tags == ["SEG042-00001", "SEG042-00002", "SEG042-00003"]
    # Re-running the cart keeps every device's tag.
    assert [store.allocate_asset_tag(SEG, d.id) for d in reversed(devs)] == tags[::-1]
    assert store.asset_tags(devs[0].id) == ["SEG042-00001"]
    tiny = Scheme("T-", 1, start=8)
    assert store.allocate_asset_tag(tiny, devs[0].id) == "T-8"
    assert store.allocate_asset_tag(tiny, devs[1].id) == "T-9"
    with pytest.raises(KnownStoreError, match="exhausted"):
        store.allocate_asset_tag(tiny, devs[2].id)


def test_same_serial_on_two_ports_is_two_devices(store: Store) -> None:
    a = store.upsert_device("android", "0123456789ABCDEF", "usb:1-1.2")
    b = store.upsert_device("android", "0123456789ABCDEF", "usb:1-1.3")
    again = store.upsert_device("android", "0123456789ABCDEF", "usb:1-1.2", model="T500")
    assert a.id != b.id
    assert again.id == a.id
    assert again.model == "T500"
    assert len(store.devices_by_serial("0123456789ABCDEF")) == 2


def test_step_done_needs_same_fingerprint_and_done(store: Store) -> None:
    run = store.start_run("demo", "h")
    dev = store.upsert_device("ios", "S", "U")
    store.record_step_result(run.id, dev.id, "install", StepStatus.FAILED, fingerprint="v1")
    assert not store.step_done(dev.id, "install", "v1")
    store.record_step_result(run.id, dev.id, "install", StepStatus.DONE, fingerprint="v1")
    assert store.step_done(dev.id, "install", "v1")
    assert not store.step_done(dev.id, "install", "v2")
    with pytest.raises(StoreBug):
        store.record_step_result(run.id, dev.id, "install", StepStatus.RUNNING)


def test_outbox_retry_and_dead_letter(tmp_path: Path) -> None:
    clock = [dt.datetime(2026, 8, 1, 8, 0, tzinfo=dt.UTC)]
    with Store(tmp_path / "s.db", now=lambda: clock[0]) as s:
        run = s.start_run("demo", "h")
        dev = s.upsert_device("ios", "S", "U")
        s.record_step_result(
            run.id, dev.id, "x", StepStatus.DONE, outbox=[OutboxEntry("t", "op", "S")]
        )
        [row] = s.outbox_due()
        s.outbox_failed(row.id, "HTTP 503", retry_at=clock[0] + dt.timedelta(minutes=5))
        assert s.outbox_due() == []
        clock[0] += dt.timedelta(minutes=6)
        [row] = s.outbox_due()
        assert row.attempts == 1
        assert row.last_error == "HTTP 503"
        s.outbox_failed(row.id, "HTTP 422", retry_at=None)
        assert s.outbox(state=OutboxState.DEAD)[0].attempts == 2


def test_second_open_is_not_primary_and_does_not_interrupt(tmp_path: Path) -> None:
    path = tmp_path / "station.db"
    with Store(path) as first:
        run = first.start_run("demo", "h")
        with Store(path) as second:
            assert first.is_primary
            assert not second.is_primary
            assert second.run(run.id).status is RunStatus.RUNNING


_CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from station.store import OutboxEntry, StepStatus, Store

    store = Store(Path(sys.argv[1]))
    run = store.start_run("crash test", "h")
    dev = store.upsert_device("ios", "S", "U")
    print(run.id, flush=True)
    if sys.argv[2] == "hold":
        # Stop inside an open write transaction: result row written, outbox row not yet.
        store.start_step(run.id, dev.id, "held", "fp")
        conn = store.db.conn
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "UPDATE device_results SET status = 'done' WHERE step = 'held'"
        )
        print("holding", flush=True)
        sys.stdin.read()
    else:
        i = 0
        while True:
            step = f"step{i}"
            store.start_step(run.id, dev.id, step, "fp")
            entry = OutboxEntry("t", "op", "S", {"i": i}, idempotency_key=step)
            store.record_step_result(run.id, dev.id, step, StepStatus.DONE, outbox=[entry])
            if i == 20:
                print("busy", flush=True)
            i += 1
    """
)


def _spawn(db: Path, mode: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(db), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def _kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.stdin is not None
    assert proc.stdout is not None
    proc.stdin.close()
    proc.stdout.close()


def test_kill_mid_transaction_loses_nothing_and_keeps_nothing_half(tmp_path: Path) -> None:
    db = tmp_path / "station.db"
    proc = _spawn(db, "hold")
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    assert proc.stdout.readline().strip() == "holding"
    _kill(proc)
    with Store(db) as s:
        assert s.integrity_check() == "ok"
        assert s.run(run_id).status is RunStatus.INTERRUPTED
        assert [r.id for r in s.interrupted_runs()] == [run_id]
        [held] = s.history(run_id=run_id)
        # The uncommitted 'done' is gone; the committed start became 'interrupted'.
        assert held.status is StepStatus.INTERRUPTED
        assert s.outbox() == []
        resumed = s.resume_run(run_id)
        assert resumed.status is RunStatus.RUNNING
        assert [e.kind for e in s.events(run_id=run_id)][-2:] == ["run.interrupted", "run.resumed"]


def test_kill_during_a_stream_of_writes_keeps_results_and_outbox_paired(tmp_path: Path) -> None:
    db = tmp_path / "station.db"
    proc = _spawn(db, "stream")
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    assert proc.stdout.readline().strip() == "busy"
    _kill(proc)
    with Store(db) as s:
        assert s.integrity_check() == "ok"
        results = s.history(run_id=run_id, limit=100_000)
        done = {r.step for r in results if r.status is StepStatus.DONE}
        interrupted = [r for r in results if r.status is StepStatus.INTERRUPTED]
        keys = {row.idempotency_key for row in s.outbox()}
        assert len(done) > 20
        assert done == keys  # every done result has its outbox row, and no row lacks its result
        assert len(interrupted) <= 1  # at most the step that was under way at the kill
        assert s.run(run_id).status is RunStatus.INTERRUPTED


_ALLOCATOR = textwrap.dedent(
    """
    import sys, time, json
    from dataclasses import dataclass
    from pathlib import Path
    from station.store import Store

    @dataclass(frozen=True)
    class Scheme:
        prefix: str = "SEG042-"
        digits: int = 5
        start: int = 1

    db, go, order = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    store = Store(db)
    serials = [f"SER{i:03d}" for i in range(40)]
    if order == "reverse":
        serials.reverse()
    devices = [store.upsert_device("ios", s, "U" + s) for s in serials]
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.001)
    out = {d.serial: store.allocate_asset_tag(Scheme(), d.id) for d in devices}
    print(json.dumps(out), flush=True)
    store.close()
    """
)


def test_asset_tags_unique_under_two_concurrent_processes(tmp_path: Path) -> None:
    db = tmp_path / "station.db"
    Store(db).close()
    go = tmp_path / "go"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _ALLOCATOR, str(db), str(go), order],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for order in ("forward", "reverse")
    ]
    try:
        for p in procs:
            assert p.stdout is not None
            assert p.stdout.readline().strip() == "ready"
        go.touch()
        results = []
        for p in procs:
            out, _ = p.communicate(timeout=60)
            assert p.returncode == 0
            results.append(json.loads(out))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    # Both processes see the same tag for each device, and no two devices share one.
    assert results[0] == results[1]
    assert len(set(results[0].values())) == 40
    assert sorted(results[0].values()) == [f"SEG042-{i:05d}" for i in range(1, 41)]


async def test_calls_from_worker_threads_are_serialised(store: Store) -> None:
    """The engine calls the store through asyncio.to_thread; concurrent calls must not clash."""
    run = store.start_run("demo", "h")
    devices = [store.upsert_device("android", f"S{i}", f"U{i}") for i in range(8)]

    def work(device_id: int) -> str:
        store.record_step_result(run.id, device_id, "rename", StepStatus.DONE)
        store.record_event("progress", {"n": device_id}, run_id=run.id, device_id=device_id)
        return store.allocate_asset_tag(SEG, device_id, run_id=run.id)

    tags = await asyncio.gather(*(asyncio.to_thread(work, d.id) for d in devices))
    assert sorted(tags) == [f"SEG042-{i:05d}" for i in range(1, 9)]
    assert len(store.history(run_id=run.id)) == 8


def test_disk_full_is_a_known_error_and_writes_nothing(store: Store) -> None:
    run = store.start_run("demo", "h")
    dev = store.upsert_device("ios", "S", "U")
    pages = store.db.conn.execute("PRAGMA page_count").fetchone()[0]
    store.db.conn.execute(f"PRAGMA max_page_count = {pages + 1}")
    big = OutboxEntry("t", "op", "S", {"blob": "x" * 200_000})
    with pytest.raises(KnownStoreError, match="disk is full") as info:
        store.record_step_result(run.id, dev.id, "big", StepStatus.DONE, outbox=[big])
    assert "free disk space" in info.value.hint
    assert store.history(run_id=run.id) == []
    assert store.integrity_check() == "ok"


def test_busy_database_is_a_known_error(tmp_path: Path) -> None:
    path = tmp_path / "station.db"
    Store(path).close()
    other = _raw(path)
    other.execute("BEGIN IMMEDIATE")
    try:
        with (
            Store(path, busy_timeout=0.05, recover=False) as s,
            pytest.raises(KnownStoreError, match="busy"),
        ):
            s.record_event("note")
    finally:
        other.execute("ROLLBACK")
        other.close()
