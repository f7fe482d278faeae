"""A tampered Android tablet answers adb with garbage: it gets an error, the station goes on.

Two tablets on a virtual cart's adb server; whatever the second one's adbd "prints" for a shell
command (getprop, pm list, dumpsys, dpm, settings) is replaced with hypothesis-made bytes, and
``host:devices-l`` gets garbage lines. The station's Android driver (adbutils underneath) must
turn every answer into a result or a station error, while the other tablet keeps working.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from station.drivers.android import AdbAndroidDriver, AndroidSettings
from station.sim.android import adb_server
from station.sim.android.adb_server import AdbServer
from station.sim.artifacts.android import make_apk
from station.sim.cart import CartSpec, VirtualCart
from station.sim.scenario import Scenario
from tests.security.hostile import LoopRunner, only_station_errors

pytestmark = pytest.mark.timeout(300)

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
MAGIC = b"X4EXIT:"  # adbutils' exit-status marker on shell v1

_words = st.text(max_size=30)
_lines = st.one_of(
    _words,
    st.builds(lambda k, v: f"[{k}]: [{v}]", _words, _words),
    st.builds(lambda n, c: f"package:{n} versionCode:{c}", _words, _words),
    st.builds(lambda c: f"Device Owner: admin=ComponentInfo{{{c}}}", _words),
    st.builds(lambda v: f"versionName={v} versionCode={v}", _words),
    st.sampled_from(["Success", "Failure [INSTALL_FAILED]", "null", "1", "0", ""]),
)
_body = st.one_of(
    st.binary(max_size=200),
    st.lists(_lines, max_size=8).map(lambda ls: "\n".join(ls).encode("utf-8", "surrogatepass")),
)
_status = st.one_of(
    st.integers(min_value=-5, max_value=300).map(lambda n: str(n).encode()),
    st.binary(max_size=12),
)
SHELL_OUTPUT = st.one_of(
    _body,
    st.builds(lambda b, s, nl: b + MAGIC + s + nl, _body, _status, st.sampled_from([b"", b"\n"])),
)


class Tamper:
    def __init__(self) -> None:
        self.serial = ""
        self.shell: bytes | None = None
        self.listing: list[str] = []


@pytest.fixture
def tamper(monkeypatch: pytest.MonkeyPatch) -> Tamper:
    tamper = Tamper()
    real_shell, real_listing = AdbServer._shell_raw, AdbServer._listing

    async def shell_raw(self: AdbServer, t: Any, command: str, reader: Any, writer: Any) -> None:
        if tamper.shell is not None and t.tablet.serial == tamper.serial:
            writer.write(tamper.shell)
            return
        await real_shell(self, t, command, reader, writer)

    def listing(self: AdbServer, long: bool) -> str:
        extra = "".join(f"{line}\n" for line in tamper.listing)
        return real_listing(self, long) + extra

    monkeypatch.setattr(AdbServer, "_shell_raw", shell_raw)
    monkeypatch.setattr(AdbServer, "_listing", listing)
    return tamper


class Env:
    def __init__(self, root: Path, tamper: Tamper) -> None:
        self.runner = LoopRunner()
        spec = CartSpec(
            state_dir=root / "cart",
            ipads=0,
            androids=2,
            hubs=1,
            time_scale=0.002,
            scenario=Scenario(slots={}),
        )
        self.cart = VirtualCart(spec)
        self.runner.run(self.cart.start())
        host, _, port = self.cart.ready_info()["adb"].rpartition(":")
        self.driver = AdbAndroidDriver(AndroidSettings(host=host, port=int(port)))
        good, bad = (self.cart.slots[n] for n in (1, 2))
        assert good.android is not None
        assert bad.android is not None
        self.good, self.bad = f"usb:{good.port.path}", f"usb:{bad.port.path}"
        tamper.serial = bad.android.serial
        self.apk = root / "app.apk"
        make_apk(self.apk, "de.example.fuzz", 1, "1.0", "Fuzz")

    def close(self) -> None:
        try:
            self.runner.run(self.driver.close())
            self.runner.run(self.cart.stop())
        finally:
            self.runner.close()


@pytest.fixture
def env(tmp_path: Path, quiet_env: None, tamper: Tamper) -> Iterator[Env]:
    env = Env(tmp_path, tamper)
    try:
        yield env
    finally:
        env.close()


OPS = {
    "info": lambda d, h, apk: d.info(h),
    "installed_apps": lambda d, h, apk: d.installed_apps(h),
    "device_owner": lambda d, h, apk: d.device_owner(h),
    "set_device_owner": lambda d, h, apk: d.set_device_owner(h, "de.example.fuzz/.Admin"),
    "get_setting": lambda d, h, apk: d.get_setting(h, "global", "device_name"),
    "rename": lambda d, h, apk: d.rename(h, "Tablet 1"),
    "install_app": lambda d, h, apk: d.install_app(h, apk),
    "disable_usb_debugging": lambda d, h, apk: d.disable_usb_debugging(h),
}


async def _both(env: Env, op: str) -> None:
    bad, good = await asyncio.gather(
        env.runner.settle(OPS[op](env.driver, env.bad, env.apk)),
        env.runner.settle(env.driver.info(env.good)),
    )
    only_station_errors(bad)
    assert not isinstance(good, BaseException), f"the good tablet failed: {good!r}"
    assert good.handle == env.good


@FUZZ
@given(output=SHELL_OUTPUT, op=st.sampled_from(sorted(OPS)))
def test_garbage_shell_output(env: Env, tamper: Tamper, output: bytes, op: str) -> None:
    tamper.shell = output
    try:
        env.runner.run(_both(env, op))
    finally:
        tamper.shell = None


@FUZZ
@given(
    lines=st.lists(st.text(st.characters(blacklist_categories=("Cs",)), max_size=60), max_size=5)
)
def test_garbage_device_listing(env: Env, tamper: Tamper, lines: list[str]) -> None:
    tamper.listing = lines
    try:
        listed = env.runner.run(env.runner.settle(env.driver.devices()))
        only_station_errors(listed)
        # The real tablets are still there, whatever else the server listed.
        if not isinstance(listed, BaseException):
            assert {env.good, env.bad} <= {e.handle for e in listed}
        env.runner.run(_both(env, "info"))
    finally:
        tamper.listing = []


@pytest.mark.parametrize(
    "output",
    [b"", b"garbage", b"X4EXIT:", b"X4EXIT:abc", b"X4EXIT:1.5\n", b"\xff\xfe" + MAGIC + b"0"],
)
def test_exit_status_garbage_is_a_device_error(env: Env, tamper: Tamper, output: bytes) -> None:
    tamper.shell = output
    try:
        outcome = env.runner.run(env.runner.settle(env.driver.get_setting(env.bad, "global", "x")))
    finally:
        tamper.shell = None
    only_station_errors(outcome)


REAL_SERVE_SYNC = adb_server.serve_sync
SYNC_REPLY = st.one_of(
    st.binary(max_size=40),
    st.builds(
        lambda tag, rest: tag + rest,
        st.sampled_from([b"STAT", b"DATA", b"DONE", b"FAIL", b"OKAY"]),
        st.binary(max_size=20),
    ),
)


@FUZZ
@given(reply=SYNC_REPLY, op=st.sampled_from(["file_size", "push_file"]))
def test_garbage_sync_replies(
    env: Env, monkeypatch: pytest.MonkeyPatch, reply: bytes, op: str
) -> None:
    """The sync service's answers (stat, push) replaced with garbage, or cut short as when
    the adb server restarts mid-answer: a station error for that tablet, never a crash
    (adbutils checks reply ids with ``assert``)."""
    real = REAL_SERVE_SYNC
    bad_files = env.cart.slots[2].android

    async def serve_sync(reader: Any, writer: Any, files: Any, link: Any, save: Any) -> None:
        if bad_files is not None and files.tablet is bad_files:
            await reader.read(64)
            writer.write(reply)
            return
        await real(reader, writer, files, link, save)

    monkeypatch.setattr(adb_server, "serve_sync", serve_sync)
    calls = {
        "file_size": lambda h: env.driver.file_size(h, "/sdcard/Documents/x.txt"),
        "push_file": lambda h: env.driver.push_file(h, env.apk, "/sdcard/Documents/x.apk"),
    }

    async def both() -> list[Any]:
        return await asyncio.gather(
            env.runner.settle(calls[op](env.bad)), env.runner.settle(env.driver.info(env.good))
        )

    bad, good = env.runner.run(both())
    only_station_errors(bad)
    assert not isinstance(good, BaseException), f"the good tablet failed: {good!r}"
