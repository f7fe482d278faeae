"""A tampered iPad answers lockdown and its services with garbage: it gets an error, nothing more.

Two iPads on a virtual cart; the second one's lockdownd GetValue answers and its MCInstall and
installation_proxy replies are replaced with hypothesis-made garbage. The station's iOS driver
(pymobiledevice3 underneath) must turn every answer into a result or a station error, never
another exception or a hang, while the other iPad keeps working.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from station.drivers.base import Presence
from station.drivers.ios import IosSettings, UsbmuxIosDriver
from station.errors import DeviceError
from station.sim.artifacts.ios import make_ipa
from station.sim.cart import CartSpec, VirtualCart, default_services
from station.sim.ios import instproxy, lockdown, mcinstall
from station.sim.ios.framing import FramingError, read_plist
from station.sim.ios.services import ServiceContext, ServiceHandler
from station.sim.scenario import Scenario, SlotOverride
from tests.security.hostile import (
    LoopRunner,
    framed,
    frames,
    keyed,
    only_station_errors,
    plist_values,
)

pytestmark = [
    pytest.mark.timeout(300),
    # An iPad that hides ProductVersion makes pymobiledevice3 pick the TLS of iOS < 5 (SSLv3,
    # which OpenSSL then refuses): a warning in the field, an exception under filterwarnings.
    pytest.mark.filterwarnings("ignore:ssl.TLSVersion.*is deprecated:DeprecationWarning"),
]

FUZZ = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
LOCKDOWN_KEYS = [
    "ProductVersion",
    "ProductType",
    "SerialNumber",
    "UniqueDeviceID",
    "DeviceName",
    "ActivationState",
    "BuildVersion",
    "UniqueChipID",
    "DeviceClass",
    "HostAttached",
    "TrustedHostAttached",
    "PasswordProtected",
]
SERVICE_KEYS = [
    "Status",
    "Error",
    "ErrorDescription",
    "CurrentList",
    "PercentComplete",
    "ProfileMetadata",
    "OrderedIdentifiers",
    "ProfileManifest",
    "CloudConfiguration",
    "ErrorChain",
    "Request",
]
STATUSES = st.sampled_from(["Acknowledged", "Complete", "BrowsingInProgress", "Error", "x"])

# Replies shaped like the real ones with wrong insides: they get past the libraries' status
# checks and reach the driver's own parsing.
NEAR_VALID = st.fixed_dictionaries(
    {"Status": STATUSES},
    optional={
        "CurrentList": st.lists(
            st.one_of(
                plist_values,
                keyed(
                    [
                        "CFBundleIdentifier",
                        "CFBundleVersion",
                        "CFBundleShortVersionString",
                        "CFBundleDisplayName",
                    ]
                ),
            ),
            max_size=3,
        ),
        "PercentComplete": plist_values,
        "ProfileMetadata": st.one_of(
            plist_values,
            st.dictionaries(
                plist_values.filter(lambda v: isinstance(v, str)) | st.text(max_size=5),
                st.one_of(
                    plist_values,
                    keyed(
                        [
                            "PayloadDisplayName",
                            "PayloadUUID",
                            "PayloadVersion",
                            "PayloadRemovalDisallowed",
                        ]
                    ),
                ),
                max_size=3,
            ),
        ),
        "OrderedIdentifiers": plist_values,
        "CloudConfiguration": st.one_of(
            plist_values,
            keyed(["IsSupervised", "OrganizationName", "SupervisorHostCertificates", "SkipSetup"]),
        ),
    },
)


class Tamper:
    """What the hostile iPad says next; ``udid`` is the iPad that lies."""

    def __init__(self) -> None:
        self.udid = ""
        self.value: Any = None
        self.merge = False
        self.values = False  # lockdownd's GetValue lies
        self.services = False  # MCInstall and installation_proxy answer with ``replies``
        self.replies: list[bytes] = []


def _hostile(real: ServiceHandler, tamper: Tamper) -> ServiceHandler:
    async def handler(ctx: ServiceContext) -> None:
        if not tamper.services or ctx.ipad.udid != tamper.udid:
            await real(ctx)
            return
        try:
            request = await read_plist(ctx.reader)
        except FramingError:
            return
        if request is None:
            return
        for reply in tamper.replies:
            ctx.writer.write(reply)
        await ctx.writer.drain()
        ctx.writer.close()

    return handler


class Env:
    def __init__(self, root: Path, tamper: Tamper) -> None:
        self.runner = LoopRunner()
        services = default_services()
        for name in (mcinstall.SERVICE_NAME, instproxy.SERVICE_NAME):
            services[name] = _hostile(services[name], tamper)
        spec = CartSpec(
            state_dir=root / "cart",
            ipads=2,
            androids=0,
            hubs=1,
            time_scale=0.002,
            scenario=Scenario(
                slots={1: SlotOverride(trust="accept"), 2: SlotOverride(trust="accept")}
            ),
        )
        self.cart = VirtualCart(spec, services=services)
        self.runner.run(self.cart.start())
        self.driver = UsbmuxIosDriver(
            IosSettings(pair_records=root / "pair", usbmux_address=self.cart.ready_info()["usbmux"])
        )
        good, bad = (self.cart.slots[n].ipad for n in (1, 2))
        assert good is not None
        assert bad is not None
        self.good, self.bad = good.udid, bad.udid
        tamper.udid = self.bad
        for udid in (self.good, self.bad):
            assert self.runner.run(self.driver.pair(udid)) is Presence.READY
        self.ipa = root / "app.ipa"
        make_ipa(self.ipa, "de.example.fuzz", "1", "1.0", "Fuzz")

    def close(self) -> None:
        try:
            self.runner.run(self.driver.close())
            self.runner.run(self.cart.stop())
        finally:
            self.runner.close()


@pytest.fixture
def tamper(monkeypatch: pytest.MonkeyPatch) -> Tamper:
    tamper = Tamper()
    real = lockdown._Connection._do_GetValue

    def get_value(self: Any, request: dict[str, Any]) -> dict[str, Any]:
        reply = real(self, request)
        if tamper.values and self.ipad.udid == tamper.udid and "Value" in reply:
            if tamper.merge and isinstance(reply["Value"], dict) and isinstance(tamper.value, dict):
                reply["Value"] = {**reply["Value"], **tamper.value}
            else:
                reply["Value"] = tamper.value
        return reply

    monkeypatch.setattr(lockdown._Connection, "_do_GetValue", get_value)
    return tamper


@pytest.fixture
def env(tmp_path: Path, quiet_env: None, tamper: Tamper) -> Iterator[Env]:
    env = Env(tmp_path, tamper)
    try:
        yield env
    finally:
        env.close()


async def _both(env: Env, hostile: Any) -> None:
    """The hostile call and a normal call on the other iPad, side by side."""
    bad, good = await asyncio.gather(
        env.runner.settle(hostile), env.runner.settle(env.driver.installed_apps(env.good))
    )
    only_station_errors(bad)
    assert isinstance(good, dict), f"the good iPad failed next to the hostile one: {good!r}"


@FUZZ
@given(
    value=st.one_of(plist_values, keyed(LOCKDOWN_KEYS)),
    merge=st.booleans(),
    op=st.sampled_from(["info", "device_name", "activation_state", "installed_apps"]),
)
def test_garbage_lockdown_values(
    env: Env, tamper: Tamper, value: Any, merge: bool, op: str
) -> None:
    tamper.value, tamper.merge, tamper.values = value, merge, True
    try:
        env.runner.run(_both(env, getattr(env.driver, op)(env.bad)))
    finally:
        tamper.values = False


@FUZZ
@given(
    replies=st.lists(
        frames(
            st.one_of(
                plist_values,
                keyed(SERVICE_KEYS),
                NEAR_VALID,
            )
        ),
        max_size=4,
    ),
    op=st.sampled_from(["installed_apps", "profiles", "supervision", "install_app", "erase"]),
)
# Found by CI: an XML plist cut short makes plistlib raise expat's ExpatError.
@example(replies=[framed({}, binary=False)[:92], framed({}, binary=False)], op="installed_apps")
def test_garbage_service_replies(env: Env, tamper: Tamper, replies: list[bytes], op: str) -> None:
    tamper.replies, tamper.services = replies, True
    try:
        call = (
            env.driver.install_app(env.bad, env.ipa)
            if op == "install_app"
            else getattr(env.driver, op)(env.bad)
        )
        env.runner.run(_both(env, call))
    finally:
        tamper.services = False
    # The hostile iPad is still answered normally afterwards: nothing in the station broke.
    assert isinstance(env.runner.run(env.driver.installed_apps(env.bad)), dict)


def test_hostile_ipad_errors_are_device_errors(env: Env, tamper: Tamper) -> None:
    """A plain example, so a regression shows one readable failure before the fuzzing."""
    tamper.value, tamper.values = {"ProductVersion": ["not", "a", "version"]}, True
    tamper.merge = True
    try:
        outcome = env.runner.run(env.runner.settle(env.driver.info(env.bad)))
    finally:
        tamper.values = False
    assert outcome is not None
    if isinstance(outcome, BaseException):
        assert isinstance(outcome, DeviceError), repr(outcome)


@pytest.mark.parametrize(
    ("op", "reply"),
    [
        ("profiles", {"Status": "Acknowledged", "ProfileMetadata": {"a": [1]}}),
        (
            "profiles",
            {"Status": "Acknowledged", "ProfileMetadata": [], "OrderedIdentifiers": [[1]]},
        ),
        ("profiles", {"Status": "Acknowledged", "ProfileMetadata": {"a": {"PayloadVersion": "x"}}}),
        ("supervision", {"Status": "Acknowledged", "CloudConfiguration": {"SkipSetup": 5}}),
        ("installed_apps", {"Status": "Complete", "CurrentList": [{"CFBundleIdentifier": []}]}),
    ],
)
def test_near_valid_replies(env: Env, tamper: Tamper, op: str, reply: dict[str, Any]) -> None:
    tamper.replies, tamper.services = [framed(reply, binary=False)], True
    try:
        outcome = env.runner.run(env.runner.settle(getattr(env.driver, op)(env.bad)))
    finally:
        tamper.services = False
    only_station_errors(outcome)
