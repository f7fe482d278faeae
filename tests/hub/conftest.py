"""Hub fixtures: the real hub on loopback over SQLite and over a private PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from station.hub.app import create_app
from station.hub.db import HubDB
from tests.hub.servers import PostgresServer, ThreadedServer, postgres_or_skip


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    with postgres_or_skip() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def hub_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hub.db'}"
    server: PostgresServer = request.getfixturevalue("pg_server")
    return server.new_database()


@dataclass
class RunningHub:
    db: HubDB
    url: str
    db_url: str
    client: httpx.Client


@pytest.fixture
def hub(hub_url: str) -> Iterator[RunningHub]:
    db = HubDB(hub_url)
    try:
        with (
            ThreadedServer(create_app(db)) as server,
            httpx.Client(base_url=server.url, timeout=30) as client,
        ):
            yield RunningHub(db=db, url=server.url, db_url=hub_url, client=client)
    finally:
        db.close()
