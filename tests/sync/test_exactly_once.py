"""Exactly-once at the hub with real processes: a writer records results while the relay runs;
the hub is taken down and brought back, the relay and the writer are SIGKILLed once each.

This is the engine-free stand-in for the issue's "provision a virtual cart" run: the writer
process plays the engine (it records results with outbox rows through Store). The full-cart
variant waits for the engine (station.jobs).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from station.hub.db import HubDB
from station.secrets import SecretStore
from station.store import OutboxState, Store
from station.sync import config
from tests.hub.servers import PostgresServer, postgres_or_skip

REPO = Path(__file__).resolve().parents[2]
WRITER = Path(__file__).with_name("writer_proc.py")
DEVICES = 60


@pytest.fixture(scope="module")
def pg_server() -> Iterator[PostgresServer]:
    with postgres_or_skip() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def hub_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hub.db'}"
    server: PostgresServer = request.getfixturevalue("pg_server")
    return server.new_database()


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO)
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    return env


def wait_for(what: str, check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Processes:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    def start(
        self, name: str, args: list[str], *, stdout: int | None = None
    ) -> subprocess.Popen[bytes]:
        log = self.tmp / f"{name}-{len(self.logs)}.log"
        self.logs.append(log)
        with open(log, "wb") as err:
            proc = subprocess.Popen(
                [sys.executable, *args],
                stdout=stdout if stdout is not None else err,
                stderr=err,
                env=_env(),
                cwd=REPO,
            )
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
            if proc.stdout is not None:
                proc.stdout.close()


def _relay_failed(db_path: Path) -> bool:
    with Store(db_path, recover=False) as s:
        return any(r.attempts and r.state is OutboxState.PENDING for r in s.outbox())


def start_hub(procs: Processes, db_url: str, port: int = 0) -> tuple[subprocess.Popen[bytes], int]:
    proc = procs.start(
        "hub",
        ["-m", "station.hub.cli", "hub", "serve", "--db", db_url, "--port", str(port)],
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, "the hub exited before it was ready"
    return proc, int(json.loads(line)["port"])


def test_exactly_once_with_hub_outage_and_sigkills(hub_db_url: str, tmp_path: Path) -> None:
    data = tmp_path / "station"
    db_path = data / "station.db"
    hub_db = HubDB(hub_db_url)
    token = hub_db.add_station("realschule-nord-cart-1")
    procs = Processes(tmp_path)
    try:
        hub, port = start_hub(procs, hub_db_url)
        with Store(db_path, recover=False) as store:
            secrets = SecretStore(data_dir=data, force_file=True)
            config.save_hub(store, secrets, f"http://127.0.0.1:{port}/", token)

        relay_args = [
            "-m",
            "station.sync.cli",
            "sync",
            "watch",
            "--data-dir",
            str(data),
            "--poll",
            "0.05",
            "--backoff-base",
            "0.05",
            "--backoff-cap",
            "0.3",
        ]
        phase2, phase3 = tmp_path / "phase2", tmp_path / "phase3"
        writer_args = [str(WRITER), str(db_path), str(DEVICES), f"20:{phase2}", f"40:{phase3}"]
        relay = procs.start("relay", relay_args)
        writer = procs.start("writer", writer_args)

        def written() -> int:
            with Store(db_path, recover=False) as s:
                return len(s.outbox())

        wait_for("the first results at the hub", lambda: hub_db.count_records() >= 10)
        hub.send_signal(signal.SIGTERM)
        hub.wait(30)
        phase2.touch()  # the writer goes on while the hub is down
        wait_for("results written while the hub is down", lambda: written() >= 30)
        relay.send_signal(signal.SIGKILL)
        relay.wait(30)
        wait_for("the writer at its second gate", lambda: written() >= 40)
        writer.send_signal(signal.SIGKILL)
        writer.wait(30)
        assert written() == 40

        relay = procs.start("relay", relay_args)
        phase3.touch()
        writer = procs.start("writer", writer_args)
        wait_for("the relay to meet the closed port", lambda: _relay_failed(db_path))
        hub, same_port = start_hub(procs, hub_db_url, port)
        assert same_port == port

        assert writer.wait(60) == 0

        def delivered() -> bool:
            with Store(db_path, recover=False) as s:
                return not s.outbox(state=OutboxState.PENDING) and len(s.outbox()) == DEVICES

        wait_for("the outbox to drain", delivered)
        with Store(db_path, recover=False) as s:
            assert not s.outbox(state=OutboxState.DEAD)
    finally:
        procs.stop_all()

    records = hub_db.records()
    hub_db.close()
    keys = [r["idempotency_key"] for r in records]
    assert len(keys) == DEVICES
    assert len(set(keys)) == DEVICES
    assert sorted(r["serial"] for r in records) == [f"DMP{i:06d}" for i in range(DEVICES)]
    for log in procs.logs:
        assert token not in log.read_text(errors="replace")
