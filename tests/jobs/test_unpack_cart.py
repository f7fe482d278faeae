"""Unpack times learned on the virtual cart through the real drivers, and seeded the next run."""

from __future__ import annotations

from pathlib import Path

import pytest

from station.drivers.usb import PyusbScanner
from station.jobs.engine import Engine, EngineSettings
from station.jobs.runner import Prepared, provision
from station.sim.cart import CartSpec, VirtualCart
from station.sim.scenario import Scenario, SlotOverride
from station.sim.usb.backend import get_backend
from station.store import DB_NAME, Store
from tests.integration.conftest import calibration_of, drivers_for

pytestmark = pytest.mark.timeout(120)

SETTINGS = EngineSettings(person_poll=0.1, backoff_scale=0.01, settle=0.2, usb_poll=0.2)
MODELS = {1: "iPad12,1", 2: "iPad14,1", 3: "SM-X200", 4: "Pixel Tablet"}


@pytest.fixture
def quiet_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxies for loopback HTTP, no real adb binary, no stray usbmuxd address."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("all_proxy", raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("ADBUTILS_ADB_PATH", "/bin/false")
    monkeypatch.delenv("USBMUXD_SOCKET_ADDRESS", raising=False)


async def test_a_cart_run_times_each_install_per_real_model_for_the_next_run(
    tmp_path: Path, prepared: Prepared, quiet_env: None
) -> None:
    """Two iPads and two Android tablets, four models; the person at each iPad taps Trust."""
    spec = CartSpec(
        state_dir=tmp_path / "cart",
        ipads=2,
        androids=2,
        time_scale=0.002,
        scenario=Scenario(
            slots={
                n: SlotOverride(model=m, trust="accept" if n <= 2 else None)
                for n, m in MODELS.items()
            }
        ),
    )
    station = tmp_path / "station"
    async with VirtualCart(spec) as cart, drivers_for(cart, station) as (ios, android):
        with Store(station / DB_NAME) as store:
            result = await provision(
                prepared,
                store=store,
                ios=ios,
                android=android,
                usb=PyusbScanner(get_backend(cart.usb_snapshot_path)),
                calibration=calibration_of(cart),
                expect=4,
                within=90,
                settings=SETTINGS,
            )
            assert result.complete, result.jobs
            assert {j["state"] for j in result.jobs} == {"done"}
            times = store.unpack_times()
            # The next run's engine starts knowing every model's rate.
            engine = Engine(
                store=store,
                blueprint=prepared.blueprint,
                run_id=store.start_run("next week", "x").id,
            )
            seeded = engine.unpack.models
    ios_plan, android_plan = prepared.blueprint.ios, prepared.blueprint.android
    assert ios_plan is not None
    assert android_plan is not None
    apps = {("ios", f"app:{a.info.bundle_id}"): a.path for a in ios_plan.apps}
    apps |= {("android", f"app:{a.info.package}"): a.path for a in android_plan.apps}
    # One timed install per app and tablet, under the model the device itself reported
    # (ProductType through pymobiledevice3, ro.product.model through adbutils), with the
    # app's bytes.
    expected = sorted(
        (platform, MODELS[n], step, path.stat().st_size)
        for n in MODELS
        for (platform, step), path in apps.items()
        if (platform == "ios") == (n <= 2)
    )
    assert sorted((t.platform, t.model, t.step, t.bytes) for t in times) == expected, times
    assert all(t.seconds >= 0 for t in times)
    assert seeded == sorted(f"{'ios' if n <= 2 else 'android'}:{m}" for n, m in MODELS.items())
