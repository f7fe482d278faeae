"""Fixtures for the engine tests: the demo blueprint, a store, fake drivers and a harness."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from station.commands import demo_blueprint, demo_secrets
from station.drivers.base import UsbScanner
from station.jobs.engine import Engine, EngineSettings
from station.jobs.events import EventBus
from station.jobs.runner import Prepared, prepare
from station.secrets import SecretStore
from station.store import Store
from tests.fakes import FakeAndroidDriver, FakeIosDriver, register_apps

# No stagger between uploads on a hub: the fake installs take milliseconds (transfers.py).
FAST = EngineSettings(
    person_poll=0.02, backoff_scale=0.001, restart_wait=2.0, settle=0.05, transfer_stagger=0.0
)


@pytest.fixture(scope="session")
def demo_inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(demo blueprint path, station data dir holding its secrets), made once."""
    root = tmp_path_factory.mktemp("demo")
    demo_secrets(root / "station")
    return demo_blueprint(root / "blueprints"), root / "station"


@pytest.fixture
def variant(demo_inputs: tuple[Path, Path]) -> Callable[..., Prepared]:
    """The demo blueprint with text replaced: ``variant(("a", "b"), ...)``."""
    path, data_dir = demo_inputs

    def make(*replacements: tuple[str, str], name: str = "variant") -> Prepared:
        text = path.read_text(encoding="utf-8")
        for old, new in replacements:
            assert old in text, old
            text = text.replace(old, new)
        target = path.with_name(f"{name}.toml")
        target.write_text(text, encoding="utf-8")
        return prepare(target, SecretStore(data_dir=data_dir, force_file=True))

    return make


@pytest.fixture
def prepared(variant: Callable[..., Prepared]) -> Prepared:
    """The demo blueprint, but Android tablets keep USB debugging (so a re-run sees them)."""
    return variant(("finish = { disable_usb_debugging = true }", ""), name="keep-adb")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "station.db") as s:
        yield s


@pytest.fixture
def ios() -> FakeIosDriver:
    return FakeIosDriver()


@pytest.fixture
def android() -> FakeAndroidDriver:
    return FakeAndroidDriver()


Harness = Callable[..., Any]


@pytest.fixture
def engine_for(store: Store, ios: FakeIosDriver, android: FakeAndroidDriver) -> Callable[..., Any]:
    """``async with engine_for(prepared) as engine:`` a started engine on a new run."""

    @asynccontextmanager
    async def make(
        prepared: Prepared,
        *,
        settings: EngineSettings = FAST,
        run_id: str | None = None,
        bus: EventBus | None = None,
        usb: UsbScanner | None = None,
    ) -> AsyncIterator[Engine]:
        register_apps(prepared.blueprint, ios, android)
        if run_id is None:
            run_id = store.start_run(prepared.blueprint.name, prepared.blueprint.content_hash).id
        engine = Engine(
            store=store,
            blueprint=prepared.blueprint,
            run_id=run_id,
            secrets=prepared.secrets,
            identity=prepared.identity,
            ios=ios,
            android=android,
            settings=settings,
            bus=bus,
            usb=usb,
            rng=random.Random(1),
        )
        async with engine:
            yield engine

    return make
