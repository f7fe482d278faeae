"""Issue 6's run with real processes: the real hub (SQLite and PostgreSQL), ``station run`` on a
virtual cart and ``station sync watch``; the station is SIGKILLed once and the hub goes down and
comes back during the run. The hub must end with exactly one record per device result.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from station.hub.db import HubDB
from station.secrets import SecretStore
from station.sim.cart import VirtualCart
from station.sim.scenario import Scenario, SlotOverride
from station.store import DB_NAME, OutboxState, StepStatus, Store
from station.sync import config
from station.sync.targets import OP_DEVICE_RESULT
from tests.hub.servers import PostgresServer, postgres_or_skip
from tests.integration.conftest import (  # noqa: F401 - fixtures used by name
    KEEP_ADB,
    blueprint_variant,
    cart_factory,
    collect_garbage,
    demo_inputs,
    quiet_env,
    station_command,
    station_dir,
)

REPO = Path(__file__).resolve().parents[2]
DEVICES = 6
FAST_FLAGS = ("--json", "--person-poll", "0.1", "--backoff-scale", "0.01")
RELAY_FLAGS = ("--poll", "0.05", "--backoff-base", "0.05", "--backoff-cap", "0.3")


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
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "PYTHONUNBUFFERED": "1",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }


async def wait_for(what: str, check: Callable[[], bool]) -> None:
    """Poll without blocking the event loop (the virtual cart lives in it); 60 s against hangs."""
    for _ in range(1200):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Processes:
    """The hub and relay processes of one test, each with its own log; all stopped at the end."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    def log(self, name: str) -> Path:
        path = self.tmp / f"{name}-{len(self.logs)}.log"
        self.logs.append(path)
        return path

    def start(self, name: str, args: list[str], *, pipe: bool = False) -> subprocess.Popen[bytes]:
        with open(self.log(name), "wb") as err:
            proc = subprocess.Popen(
                [sys.executable, *args],
                stdout=subprocess.PIPE if pipe else err,
                stderr=err,
                env=_env(),
                cwd=REPO,
            )
        self.procs.append(proc)
        return proc

    async def start_hub(self, db_url: str, port: int = 0) -> tuple[subprocess.Popen[bytes], int]:
        args = ["-m", "station.hub.cli", "hub", "serve", "--db", db_url, "--port", str(port)]
        proc = self.start("hub", args, pipe=True)
        assert proc.stdout is not None
        line = await asyncio.to_thread(proc.stdout.readline)
        assert line, "the hub exited before it was ready"
        return proc, int(json.loads(line)["port"])

    async def stop(self, proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
        if proc.poll() is None:
            proc.send_signal(sig)
        try:
            return await asyncio.to_thread(proc.wait, 30)
        except subprocess.TimeoutExpired:
            proc.kill()
            return await asyncio.to_thread(proc.wait, 10)

    async def stop_all(self) -> None:
        for proc in self.procs:
            await self.stop(proc)
            if proc.stdout is not None:
                proc.stdout.close()


async def _start_station(command: list[str], log: Path) -> asyncio.subprocess.Process:
    err = await asyncio.to_thread(log.open, "wb")
    with err:
        return await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=err, env=_env(), cwd=REPO
        )


def _hub_rows(db_path: Path) -> list[Any]:
    with Store(db_path, recover=False) as s:
        return [r for r in s.outbox() if r.op == OP_DEVICE_RESULT]


def _relay_failed(db_path: Path) -> bool:
    """The relay met the hub down: a result waits with a failed attempt."""
    return any(r.attempts and r.state is OutboxState.PENDING for r in _hub_rows(db_path))


@pytest.mark.slow
async def test_cart_run_reaches_the_hub_exactly_once(
    hub_db_url: str,
    tmp_path: Path,
    cart_factory: Callable[..., Any],  # noqa: F811
    station_dir: Path,  # noqa: F811
    blueprint_variant: Callable[..., Path],  # noqa: F811
) -> None:
    blueprint = blueprint_variant(KEEP_ADB, name="cart-exactly-once")
    # Two slow devices: still busy when the first results are in and the station is killed.
    slots = {n: SlotOverride(trust="accept") for n in (1, 2, 3)}
    slots[3] = SlotOverride(trust="accept", slow=8.0)
    slots[6] = SlotOverride(slow=8.0)
    cart: VirtualCart = await cart_factory(
        ipads=3, androids=3, scenario=Scenario(slots=slots), time_scale=0.01
    )
    command = station_command(
        cart, station_dir, "run", "--blueprint", str(blueprint), "--expect", "6", *FAST_FLAGS
    )
    db_path = station_dir / DB_NAME
    hub_db = HubDB(hub_db_url)
    token = hub_db.add_station("realschule-nord-cart-1")
    procs = Processes(tmp_path)
    try:
        hub, port = await procs.start_hub(hub_db_url)
        with Store(db_path, recover=False) as store:
            secrets = SecretStore(data_dir=station_dir, force_file=True)
            config.save_hub(store, secrets, f"http://127.0.0.1:{port}/", token)
        relay_args = ["-m", "station.sync.cli", "sync", "watch", "--data-dir", str(station_dir)]
        procs.start("relay", [*relay_args, *RELAY_FLAGS])

        # Run 1: SIGKILLed once two devices finished (their results are in the outbox).
        first = await _start_station(command, procs.log("station"))
        assert first.stdout is not None
        seen: list[dict[str, Any]] = []
        async with asyncio.timeout(120):
            while True:
                line = await first.stdout.readline()
                assert line, "station run ended before any device finished"
                event = json.loads(line)
                seen.append(event)
                done = [e for e in seen if e.get("type") == "job" and e.get("state") == "done"]
                if len(done) >= 2:
                    first.send_signal(signal.SIGKILL)
                    break
        async with asyncio.timeout(60):
            await first.communicate()
        assert first.returncode == -signal.SIGKILL
        finished = [e for e in seen if e.get("type") == "job" and e.get("state") == "done"]
        assert 2 <= len(finished) < DEVICES
        assert len(_hub_rows(db_path)) < DEVICES

        # The relay delivers what run 1 recorded; then the hub goes down.
        await wait_for("the first results at the hub", lambda: hub_db.count_records() >= 1)
        await procs.stop(hub)
        assert 1 <= hub_db.count_records() < DEVICES

        # Run 2 resumes while the hub is down; the relay meets the closed port, then the hub
        # comes back on the same port.
        second_log = procs.log("station")
        second = await _start_station(command, second_log)
        await wait_for("the relay to meet the closed port", lambda: _relay_failed(db_path))
        hub, same_port = await procs.start_hub(hub_db_url, port)
        assert same_port == port
        async with asyncio.timeout(120):
            out, _ = await second.communicate()
        assert second.returncode == 0, second_log.read_text(errors="replace")[-3000:]
        summary = json.loads(out.decode().strip().splitlines()[-1])
        assert summary["type"] == "summary"
        assert summary["resumed"] is True
        assert summary["ok"] is True
        assert len(summary["devices"]) == DEVICES

        def drained() -> bool:
            rows = _hub_rows(db_path)
            return len(rows) == DEVICES and all(r.state is not OutboxState.PENDING for r in rows)

        await wait_for("the outbox to drain", drained)
    finally:
        await procs.stop_all()

    # The station: one final result per device, each with one hub row, all sent, none dead.
    with Store(db_path, recover=False) as store:
        (run,) = store.runs()
        results = [r for r in store.history(run_id=run.id, limit=100_000) if r.step == "result"]
        assert sorted(r.status for r in results) == [StepStatus.DONE] * DEVICES
        assert len({r.device_id for r in results}) == DEVICES
        station_serials = {store.device(r.device_id).serial for r in results}
        rows = [r for r in store.outbox() if r.op == OP_DEVICE_RESULT]
        assert {r.state for r in rows} == {OutboxState.SENT}
        assert not store.outbox(state=OutboxState.DEAD)
        station_keys = {r.idempotency_key for r in rows}
    assert len(station_keys) == DEVICES

    # The hub: exactly those results, each once.
    records = hub_db.records()
    hub_db.close()
    keys = [r["idempotency_key"] for r in records]
    assert len(keys) == DEVICES
    assert set(keys) == station_keys
    serials = [r["serial"] for r in records]
    assert len(set(serials)) == DEVICES
    assert set(serials) == station_serials
    cart_serials = {
        (s.ipad.serial if s.ipad is not None else s.android.serial if s.android else "")
        for s in cart.slots.values()
    }
    assert set(serials) == cart_serials
    assert all(r["milestone"] == "provisioned" for r in records)
    for log in procs.logs:
        assert token not in log.read_text(errors="replace")
