"""The emulated iPad's MCInstall, installation_proxy and AFC, driven by pymobiledevice3 itself.

Until lockdownd is in the loop, a small loopback rig serves each handler on its own port and
stands in for ``LockdownClient.start_lockdown_service`` (the only lockdown call the service
classes make). Everything above that is pymobiledevice3's real client code.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import plistlib
import random
import shutil
import struct
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from pymobiledevice3.exceptions import (
    AfcException,
    AfcFileNotFoundError,
    AppInstallError,
    CloudConfigurationAlreadyPresentError,
    ConnectionTerminatedError,
    ProfileError,
)
from pymobiledevice3.lockdown import create_using_usbmux
from pymobiledevice3.service_connection import ServiceConnection
from pymobiledevice3.services.afc import AfcError, AfcService
from pymobiledevice3.services.installation_proxy import InstallationProxyService
from pymobiledevice3.services.mobile_config import MobileConfigService

from station.sim.artifacts.ios import (
    make_ipa,
    make_mdm_enrollment_profile,
    make_supervision_identity,
    make_wifi_profile,
    sign_profile,
)
from station.sim.bandwidth import HubLink
from station.sim.clock import SimClock
from station.sim.ios.afc import handle_afc
from station.sim.ios.device import IPAD_MODELS, VirtualIPad, new_identity_numbers
from station.sim.ios.instproxy import handle_instproxy
from station.sim.ios.mcinstall import handle_mcinstall
from station.sim.ios.services import ServiceContext, ServiceHandler
from tests.sim import ios_fixtures

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


class FakeHost:
    """Records what a service asked of the device's host (A's usbmux side in the real cart)."""

    def __init__(self) -> None:
        self.saves = 0
        self.restarts: list[bool] = []

    def save(self) -> None:
        self.saves += 1

    def schedule_restart(self, *, erase: bool) -> None:
        self.restarts.append(erase)


def make_ipad(**changes: Any) -> VirtualIPad:
    model = IPAD_MODELS["iPad12,1"]
    udid, serial, ecid, wifi = new_identity_numbers(model, 0)
    return VirtualIPad(
        udid=udid,
        serial=serial,
        ecid=ecid,
        model=model,
        wifi_address=wifi,
        device_private_key_pem="",
        device_certificate_pem="",
        product_version=model.product_version,
        build_version=model.build_version,
        **changes,
    )


class Rig:
    """Serves the handlers on loopback; ``start_lockdown_service`` is lockdownd's stand-in."""

    def __init__(self, ipad: VirtualIPad, data_dir: Path) -> None:
        self.ipad = ipad
        self.data_dir = data_dir
        self.clock = SimClock(time_scale=0.001)
        self.link = HubLink(self.clock)
        self.host = FakeHost()
        self.handlers: dict[str, ServiceHandler] = {
            "com.apple.mobile.MCInstall": handle_mcinstall,
            "com.apple.mobile.installation_proxy": handle_instproxy,
            "com.apple.afc": handle_afc,
        }
        self.ports: dict[str, int] = {}
        self._servers: list[asyncio.Server] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        for name, handler in self.handlers.items():
            server = await asyncio.start_server(self._serve(handler), "127.0.0.1", 0)
            self._servers.append(server)
            self.ports[name] = server.sockets[0].getsockname()[1]

    def _serve(self, handler: ServiceHandler) -> Any:
        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            self._tasks.add(task)  # type: ignore[arg-type]
            ctx = ServiceContext(
                ipad=self.ipad,
                reader=reader,
                writer=writer,
                clock=self.clock,
                link=self.link,
                data_dir=self.data_dir,
                host=self.host,
            )
            try:
                await handler(ctx)
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
                self._tasks.discard(task)  # type: ignore[arg-type]

        return on_connect

    async def start_lockdown_service(
        self, name: str, include_escrow_bag: bool = False
    ) -> ServiceConnection:
        port = self.ports[name.removesuffix(".shim.remote")]
        return await ServiceConnection.create_using_tcp("127.0.0.1", port)

    async def raw(self, name: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.ports[name])

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for server in self._servers:
            await server.wait_closed()


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    station = Rig(make_ipad(), tmp_path / "device")
    await station.start()
    try:
        yield station
    finally:
        await station.close()


@pytest.fixture(scope="module")
def identity() -> tuple[Any, Any, bytes]:
    return make_supervision_identity("Springfield Schools")


@pytest.fixture
def keybag(tmp_path: Path, identity: tuple[Any, Any, bytes]) -> Path:
    path = tmp_path / "keybag.pem"
    path.write_bytes(identity[2])
    return path


async def closed_by_peer(reader: asyncio.StreamReader) -> bool:
    data = await asyncio.wait_for(reader.read(), timeout=10)
    return data == b""


# --- MCInstall ----------------------------------------------------------------------------


async def test_profiles_install_list_replace_remove(rig: Rig) -> None:
    async with MobileConfigService(rig) as mc:
        await mc.hello()
        await mc.flush()
        assert (await mc.get_profile_list())["OrderedIdentifiers"] == []
        await mc.install_profile(make_wifi_profile("School", "pw", identifier="org.school.wifi"))
        listing = await mc.get_profile_list()
        assert listing["OrderedIdentifiers"] == ["org.school.wifi"]
        meta = listing["ProfileMetadata"]["org.school.wifi"]
        assert meta["PayloadVersion"] == 1
        assert meta["PayloadRemovalDisallowed"] is False
        assert listing["ProfileManifest"]["org.school.wifi"]["IsActive"] is True
        first_uuid = meta["PayloadUUID"]
        # Same PayloadIdentifier again: replaces, does not add.
        await mc.install_profile(make_wifi_profile("School2", "pw", identifier="org.school.wifi"))
        listing = await mc.get_profile_list()
        assert listing["OrderedIdentifiers"] == ["org.school.wifi"]
        assert listing["ProfileMetadata"]["org.school.wifi"]["PayloadUUID"] != first_uuid
        assert rig.host.saves >= 2
        await mc.remove_profile("org.school.wifi")
        assert (await mc.get_profile_list())["OrderedIdentifiers"] == []
        assert rig.ipad.profiles == {}


async def test_remove_profile_by_plain_string_as_go_ios_sends(rig: Rig) -> None:
    async with MobileConfigService(rig) as mc:
        await mc.install_profile(make_wifi_profile("S", identifier="org.school.wifi"))
        reply = await mc.service.send_recv_plist(
            {"RequestType": "RemoveProfile", "ProfileIdentifier": "org.school.wifi"}
        )
        assert reply["Status"] == "Acknowledged"
        assert rig.ipad.profiles == {}


async def test_garbage_profile_is_rejected_with_an_error_chain(rig: Rig) -> None:
    async with MobileConfigService(rig) as mc:
        with pytest.raises(ProfileError, match=r"MCProfileErrorDomain|MCInstallationErrorDomain"):
            await mc.install_profile(b"this is not a profile")
        reply = await mc.service.send_recv_plist(
            {"RequestType": "InstallProfile", "Payload": plistlib.dumps({"PayloadType": "x"})}
        )
        assert reply["Status"] == "Error"
        chain = reply["ErrorChain"]
        assert {"ErrorCode", "ErrorDomain", "LocalizedDescription"} <= set(chain[0])
        await mc.hello()  # the connection is still good
        assert rig.ipad.profiles == {}


async def test_signed_profile_installs_and_tampered_one_does_not(
    rig: Rig, identity: tuple[Any, Any, bytes]
) -> None:
    cert, key, _ = identity
    signed = sign_profile(make_wifi_profile("S", identifier="org.signed"), cert, key)
    async with MobileConfigService(rig) as mc:
        await mc.install_profile(signed)
        assert "org.signed" in rig.ipad.profiles
        content = make_wifi_profile("S", identifier="org.tampered")
        tampered = bytearray(sign_profile(content, cert, key))
        spot = bytes(tampered).find(b"org.tampered")
        tampered[spot] ^= 0x01  # change the signed content, keep the structure
        with pytest.raises(ProfileError, match="1004"):
            await mc.install_profile(bytes(tampered))


async def test_mdm_profile_rules(rig: Rig) -> None:
    async with MobileConfigService(rig) as mc:
        mdm = make_mdm_enrollment_profile(
            "https://mdm.school.example/mdm", "com.apple.mgmt.External.1234", "org.school.mdm"
        )
        await mc.install_profile(mdm)
        other = make_mdm_enrollment_profile(
            "https://other.example/mdm", "com.apple.mgmt.External.99", "org.other.mdm"
        )
        with pytest.raises(ProfileError, match="MCMDMErrorDomain"):
            await mc.install_profile(other)
        broken = plistlib.loads(mdm)
        del broken["PayloadContent"][1]["Topic"]
        broken["PayloadIdentifier"] = "org.broken"
        with pytest.raises(ProfileError, match="Topic"):
            await mc.install_profile(plistlib.dumps(broken))


async def test_supervise_then_silent_install_with_escalation(rig: Rig, keybag: Path) -> None:
    async with MobileConfigService(rig) as mc:
        assert await mc.get_cloud_configuration() is None
        await mc.supervise("Springfield Schools", keybag)
        assert rig.ipad.supervised
        config = await mc.get_cloud_configuration()
        assert config is not None
        assert config["OrganizationName"] == "Springfield Schools"
        with pytest.raises(CloudConfigurationAlreadyPresentError):
            await mc.supervise("Someone Else", keybag)
        await mc.install_profile_silent(
            keybag, make_wifi_profile("S", identifier="org.school.silent")
        )
        assert rig.ipad.profiles["org.school.silent"].silent is True


async def test_escalation_is_verified(rig: Rig, keybag: Path, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger.pem"
    stranger.write_bytes(make_supervision_identity("Stranger")[2])
    async with MobileConfigService(rig) as mc:
        # Not supervised yet: even the right identity is rejected.
        with pytest.raises(ProfileError):
            await mc.escalate(keybag)
        await mc.supervise("Springfield Schools", keybag)
        with pytest.raises(ProfileError, match="CertificateRejected"):
            await mc.escalate(stranger)
        # Without a successful escalation silent installs are refused.
        reply = await mc.service.send_recv_plist(
            {
                "RequestType": "InstallProfileSilent",
                "Payload": make_wifi_profile("S", identifier="x.y"),
            }
        )
        assert reply["Status"] == "Error"
        # A signature over the wrong bytes is refused too.
        challenge = (
            await mc.service.send_recv_plist(
                {
                    "RequestType": "Escalate",
                    "SupervisorCertificate": _cert_der(keybag),
                }
            )
        )["Challenge"]
        cert, key = _load_keybag(keybag)
        wrong = sign_profile(challenge + b"x", cert, key)
        reply = await mc.service.send_recv_plist(
            {"RequestType": "EscalateResponse", "SignedRequest": wrong}
        )
        assert reply["Status"] == "Error"
        await mc.escalate(keybag)  # the real identity works


def _load_keybag(path: Path) -> tuple[Any, Any]:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    data = path.read_bytes()
    return x509.load_pem_x509_certificate(data), serialization.load_pem_private_key(data, None)


def _cert_der(path: Path) -> bytes:
    cert, _ = _load_keybag(path)
    der: bytes = cert.public_bytes(Encoding.DER)
    return der


async def test_go_ios_prepare_sequence(rig: Rig, identity: tuple[Any, Any, bytes]) -> None:
    """The requests go-ios ``prepare`` sends, in its order, with its key shapes."""
    cert, _, _ = identity
    stranger, _, _ = make_supervision_identity("go-ios unsupervised escalation")
    async with MobileConfigService(rig) as mc:

        async def send(request: dict[str, Any]) -> dict[str, Any]:
            reply: dict[str, Any] = await mc.service.send_recv_plist(request)
            return reply

        for kind in ("Flush", "GetCloudConfiguration", "HelloHostIdentifier"):
            assert (await send({"RequestType": kind}))["Status"] == "Acknowledged"
        config = {
            "AllowPairing": True,
            "SkipSetup": ["WiFi", "Location"],
            "OrganizationName": "Springfield Schools",
            "SupervisorHostCertificates": [cert.public_bytes(Encoding.DER)],
            "IsSupervised": True,
            "IsMultiUser": False,
        }
        reply = await send({"RequestType": "SetCloudConfiguration", "CloudConfiguration": config})
        assert reply["Status"] == "Acknowledged"
        got = await send({"RequestType": "GetCloudConfiguration"})
        assert got["CloudConfiguration"]["SkipSetup"] == ["WiFi", "Location"]
        # EscalateUnsupervised: go-ios expects (and ignores) a rejection here.
        challenge = await send(
            {
                "RequestType": "Escalate",
                "SupervisorCertificate": stranger.public_bytes(Encoding.DER),
            }
        )
        assert challenge["Status"] == "Acknowledged"
        assert isinstance(challenge["Challenge"], bytes)
        assert (await send({"RequestType": "EscalateResponse", "SignedRequest": b"\x30\x00"}))[
            "Status"
        ] == "Error"
        assert (await send({"RequestType": "HelloHostIdentifier"}))["Status"] == "Acknowledged"
        profile = b"\n" + make_wifi_profile("S", identifier="com.apple.configurator.x")
        assert (await send({"RequestType": "InstallProfile", "Payload": profile}))[
            "Status"
        ] == "Acknowledged"
        listing = await send({"RequestType": "GetProfileList"})
        assert listing["Status"] == "Acknowledged"
        assert listing["OrderedIdentifiers"] == ["com.apple.configurator.x"]
    assert rig.ipad.supervised


async def test_cloud_configuration_refused_after_setup(tmp_path: Path, keybag: Path) -> None:
    station = Rig(make_ipad(setup_done=True), tmp_path / "d")
    await station.start()
    try:
        async with MobileConfigService(station) as mc:
            with pytest.raises(CloudConfigurationAlreadyPresentError):
                await mc.supervise("Springfield Schools", keybag)
            reply = await mc.service.send_recv_plist(
                {"RequestType": "SetCloudConfiguration", "CloudConfiguration": {}}
            )
            assert reply["ErrorChain"][0]["ErrorCode"] == 14002
        assert station.ipad.cloud_config is None
    finally:
        await station.close()


async def test_wallpaper_needs_escalation_and_an_image(rig: Rig, keybag: Path) -> None:
    request = {
        "RequestType": "Settings",
        "Settings": [{"Item": "Wallpaper", "Where": 3, "Image": PNG}],
    }
    async with MobileConfigService(rig) as mc:
        await mc.supervise("Springfield Schools", keybag)
        assert (await mc.service.send_recv_plist(request))["Status"] == "Error"
        await mc.escalate(keybag)
        assert (await mc.service.send_recv_plist(request))["Status"] == "Acknowledged"
        assert set(rig.ipad.wallpapers) == {1, 2}
        bad = {
            "RequestType": "Settings",
            "Settings": [{"Item": "Wallpaper", "Where": 1, "Image": b"GIF89a"}],
        }
        assert (await mc.service.send_recv_plist(bad))["Status"] == "Error"


async def test_erase_acknowledges_then_restarts_and_drops(rig: Rig) -> None:
    async with MobileConfigService(rig) as mc:
        await mc.erase_device(preserve_data_plan=False, disallow_proximity_setup=True)
        for _ in range(1000):  # the reply comes first, then the device goes down
            if rig.host.restarts:
                break
            await asyncio.sleep(0.01)
        assert rig.host.restarts == [True]
        with pytest.raises(ConnectionTerminatedError):
            await mc.hello()


async def test_unknown_request_keeps_the_connection(rig: Rig) -> None:
    async with MobileConfigService(rig) as mc:
        reply = await mc.service.send_recv_plist({"RequestType": "MakeCoffee"})
        assert reply["Status"] == "Error"
        assert reply["ErrorChain"][0]["ErrorDomain"]
        reply = await mc.service.send_recv_plist({"NoRequestType": True})
        assert reply["Status"] == "Error"
        await mc.hello()


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x00\x00\x00\x05hello",  # length prefix then not a plist
        b"\xff\xff\xff\xff",  # absurd length
        b"\x00\x00\x00\x10<plist>",  # closes inside the plist
        struct.pack(">I", 12) + plistlib.dumps([1], fmt=plistlib.FMT_BINARY)[:12],
    ],
)
@pytest.mark.parametrize(
    "service", ["com.apple.mobile.MCInstall", "com.apple.mobile.installation_proxy"]
)
async def test_plist_services_survive_garbage(rig: Rig, garbage: bytes, service: str) -> None:
    reader, writer = await rig.raw(service)
    try:
        writer.write(garbage)
        await writer.drain()
        writer.write_eof()
        assert await closed_by_peer(reader)
    finally:
        writer.close()
        await writer.wait_closed()
    async with MobileConfigService(rig) as mc:
        await mc.hello()
    async with InstallationProxyService(rig) as proxy:
        assert await proxy.browse({"ApplicationType": "User"}) == []


# --- installation_proxy -------------------------------------------------------------------


async def test_install_browse_lookup_uninstall(rig: Rig, tmp_path: Path) -> None:
    ipa = make_ipa(tmp_path / "Reader.ipa", "org.school.reader", "42", "1.4", "Reader", 300_000)
    used_before = rig.ipad.used_bytes
    seen: list[float] = []
    async with InstallationProxyService(rig) as proxy:
        await proxy.install_from_local(ipa, handler=seen.append)
        assert seen == sorted(seen)
        assert len(set(seen)) >= 5
        assert seen[0] < seen[-1] <= 100
        users = await proxy.browse(
            {"ApplicationType": "User"}, ["CFBundleIdentifier", "CFBundleVersion"]
        )
        assert users == [{"CFBundleIdentifier": "org.school.reader", "CFBundleVersion": "42"}]
        found = await proxy.lookup({"BundleIDs": ["org.school.reader"]})
        assert found is not None
        assert found["org.school.reader"]["CFBundleShortVersionString"] == "1.4"
        apps = await proxy.get_apps(application_type="Any")
        assert "com.apple.mobilesafari" in apps
        assert apps["com.apple.mobilesafari"]["ApplicationType"] == "System"
        assert rig.ipad.used_bytes > used_before + 300_000
        assert rig.link.bytes_total >= ipa.stat().st_size  # the upload crossed the hub
        # The staging file was removed by the client through AFC.
        staged = rig.data_dir / "Media" / "PublicStaging" / "pymobiledevice3"
        assert list(staged.iterdir()) == []
        # Upgrade: same bundle, new version.
        newer = make_ipa(tmp_path / "Reader2.ipa", "org.school.reader", "43", "1.5", "Reader")
        await proxy.upgrade(str(newer))
        assert rig.ipad.apps["org.school.reader"].version == "43"
        done: list[float] = []
        await proxy.uninstall("org.school.reader", handler=done.append)
        assert done
        assert rig.ipad.apps == {}
        assert rig.ipad.used_bytes == used_before
        await proxy.uninstall("org.not.installed")  # installd ignores unknown ids
        assert await proxy.lookup({"BundleIDs": ["org.school.reader"]}) == {}


async def test_install_fails_when_storage_is_full(rig: Rig, tmp_path: Path) -> None:
    # A small .ipa that unpacks to 900 kB: the upload fits, the installed app does not.
    ipa = tmp_path / "Big.ipa"
    make_ipa(ipa, "org.school.big", "1", "1.0", "Big")
    with zipfile.ZipFile(ipa, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Payload/Big.app/Assets.car", bytes(900_000))
    rig.ipad.used_bytes = rig.ipad.model.storage_bytes - 500_000
    async with InstallationProxyService(rig) as proxy:
        with pytest.raises(AppInstallError, match=r"APIInternalError.*enough storage"):
            await proxy.install_from_local(ipa)
    assert rig.ipad.apps == {}


async def test_upload_fails_when_storage_is_full(rig: Rig, tmp_path: Path) -> None:
    rig.ipad.used_bytes = rig.ipad.model.storage_bytes - 1000
    async with AfcService(rig) as afc:
        with pytest.raises(AfcException) as full:
            await afc.set_file_contents("big.bin", bytes(5000))
        assert full.value.status == AfcError.NO_SPACE_LEFT


async def test_corrupt_packages_fail_like_installd(rig: Rig, tmp_path: Path) -> None:
    junk = tmp_path / "junk.ipa"
    junk.write_bytes(b"PK\x03\x04 definitely not a zip" * 10)
    no_binary = tmp_path / "nobinary.ipa"
    with zipfile.ZipFile(no_binary, "w") as archive:
        archive.writestr(
            "Payload/X.app/Info.plist",
            plistlib.dumps({"CFBundleIdentifier": "org.x", "CFBundleExecutable": "X"}),
        )
    async with InstallationProxyService(rig) as proxy:
        with pytest.raises(AppInstallError, match="PackageExtractionFailed"):
            await proxy.install_from_local(junk)
        with pytest.raises(AppInstallError, match="ApplicationVerificationFailed"):
            await proxy.install_from_local(no_binary)
        future = make_ipa(tmp_path / "F.ipa", "org.f", "1", "1", "F", minimum_os="99.0")
        with pytest.raises(AppInstallError, match="DeviceOSVersionTooLow"):
            await proxy.install_from_local(future)
        reply = await proxy.service.send_recv_plist(
            {"Command": "Install", "PackagePath": "../../../etc/passwd", "ClientOptions": {}}
        )
        assert "Error" in reply
        reply = await proxy.service.send_recv_plist({"Command": "Frobnicate"})
        assert reply["Error"] == "UnknownCommand"
    assert rig.ipad.apps == {}


# --- AFC ----------------------------------------------------------------------------------


async def test_afc_files_round_trip(rig: Rig, tmp_path: Path) -> None:
    local = tmp_path / "notes.txt"
    local.write_bytes(b"hello cart\n" * 1000)
    async with AfcService(rig) as afc:
        info = await afc.get_device_info()
        assert info["Model"] == "iPad12,1"
        assert int(info["FSFreeBytes"]) == rig.ipad.free_bytes
        await afc.makedirs("Books/Year5")
        await afc.push(str(local), "Books/Year5/notes.txt")
        assert await afc.listdir("Books/Year5") == ["notes.txt"]
        assert (rig.data_dir / "Media/Books/Year5/notes.txt").read_bytes() == local.read_bytes()
        stat = await afc.stat("/Books/Year5/notes.txt")
        assert stat["st_size"] == 11_000
        assert stat["st_ifmt"] == "S_IFREG"
        assert await afc.isdir("Books")
        back = tmp_path / "back.txt"
        await afc.pull("Books/Year5/notes.txt", str(back))
        assert back.read_bytes() == local.read_bytes()
        await afc.rename("Books/Year5/notes.txt", "Books/notes.txt")
        assert sorted(await afc.listdir("Books")) == ["Year5", "notes.txt"]
        with pytest.raises(AfcFileNotFoundError):
            await afc.stat("Books/Year5/notes.txt")
        with pytest.raises(AfcException) as not_empty:
            await afc.rm_single("Books")
        assert not_empty.value.status == AfcError.DIR_NOT_EMPTY
        assert await afc.rm("Books") == []
        assert await afc.listdir("/") == []
        assert rig.link.bytes_total >= 2 * 11_000


async def test_afc_refuses_to_leave_the_media_root(rig: Rig, tmp_path: Path) -> None:
    outside = rig.data_dir / "secret.txt"
    outside.parent.mkdir(parents=True, exist_ok=True)
    outside.write_text("device state")
    async with AfcService(rig) as afc:
        with pytest.raises(AfcException) as denied:
            await afc.listdir("../")
        assert denied.value.status == AfcError.PERM_DENIED
        with pytest.raises(AfcException):
            await afc.get_file_contents("/../secret.txt")
        with pytest.raises(AfcException):
            await afc.set_file_contents("a/../../escape.txt", b"x")
        with pytest.raises(AfcException):
            await afc.rm_single("../secret.txt")
        assert outside.read_text() == "device state"
        assert not (rig.data_dir / "escape.txt").exists()
        await afc.makedirs("ok")  # the connection is still usable


@pytest.mark.parametrize(
    "garbage",
    [
        b"NOTMAGIC" + b"\0" * 32,  # bad magic
        b"CFA6LPAA\x28",  # short header, then the client closes
        b"CFA6LPAA" + struct.pack("<QQQQ", 2**40, 40, 0, 3),  # absurd length
        b"CFA6LPAA" + struct.pack("<QQQQ", 60, 40, 0, 3) + b"short",  # vanishes mid-packet
    ],
)
async def test_afc_survives_hostile_packets(rig: Rig, garbage: bytes) -> None:
    reader, writer = await rig.raw("com.apple.afc")
    try:
        writer.write(garbage)
        await writer.drain()
        writer.write_eof()
        assert await closed_by_peer(reader)
    finally:
        writer.close()
        await writer.wait_closed()
    async with AfcService(rig) as afc:
        assert await afc.listdir("/") == []


async def test_afc_answers_every_well_framed_packet(rig: Rig) -> None:
    """Random operations and arguments: each gets a reply with its packet number."""
    rng = random.Random(1234)
    ops = [*range(0x01, 0x24), 0x99]
    names = [b"", b"/", b"a", b"a/b", b"../x", b"PublicStaging", b"\xff\xfe", b"x\0y"]
    reader, writer = await rig.raw("com.apple.afc")
    try:
        for number in range(400):
            op = rng.choice(ops)
            kind = rng.random()
            if kind < 0.4:
                payload = rng.choice(names) + b"\0"
            elif kind < 0.7:
                payload = struct.pack("<Q", rng.choice([0, 1, 2, 3, 5, 2**64 - 1]))
                payload += rng.choice(names) + b"\0"
            else:
                payload = rng.randbytes(rng.randrange(0, 40))
            length = 40 + len(payload)
            writer.write(b"CFA6LPAA" + struct.pack("<QQQQ", length, length, number, op) + payload)
            await writer.drain()
            header = await asyncio.wait_for(reader.readexactly(40), timeout=10)
            magic, entire, _, packet_num, _ = struct.unpack("<8sQQQQ", header)
            assert (magic, packet_num) == (b"CFA6LPAA", number)
            await reader.readexactly(entire - 40)
    finally:
        writer.close()
        await writer.wait_closed()
    assert rig.data_dir.joinpath("Media").is_dir()
    assert sorted(p.name for p in rig.data_dir.iterdir()) == ["Media"]


async def test_afc_unknown_operation_is_a_status_not_a_hangup(rig: Rig) -> None:
    reader, writer = await rig.raw("com.apple.afc")
    try:
        writer.write(b"CFA6LPAA" + struct.pack("<QQQQ", 40, 40, 7, 0x99))
        await writer.drain()
        header = await asyncio.wait_for(reader.readexactly(48), timeout=10)
        magic, entire, _, packet_num, op = struct.unpack("<8sQQQQ", header[:40])
        assert (magic, entire, packet_num, op) == (b"CFA6LPAA", 48, 7, 1)
        assert struct.unpack("<Q", header[40:])[0] == AfcError.UNKNOWN_PACKET_TYPE
    finally:
        writer.close()
        await writer.wait_closed()


# --- end to end: usbmuxd + lockdownd + these services ------------------------------------


SERVICES: dict[str, ServiceHandler] = {
    "com.apple.mobile.MCInstall": handle_mcinstall,
    "com.apple.mobile.installation_proxy": handle_instproxy,
    "com.apple.afc": handle_afc,
}


async def test_end_to_end_supervise_install_and_erase(
    tmp_path: Path, keybag: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ipad = ios_fixtures.make_ipad(0)
    ipa = make_ipa(tmp_path / "Atlas.ipa", "org.school.atlas", "7", "1.0", "Atlas", 100_000)
    async with ios_fixtures.running_cart(tmp_path / "cart", [ipad], SERVICES) as cart:
        first_id = cart.server.device_ids()[ipad.udid]
        # pymobiledevice3 saves the pair record through the default usbmuxd address.
        monkeypatch.setenv("USBMUXD_SOCKET_ADDRESS", cart.address)
        lockdown = await create_using_usbmux(
            serial=ipad.udid,
            usbmux_address=cart.address,
            pairing_records_cache_folder=tmp_path / "records",
        )
        try:
            async with MobileConfigService(lockdown) as mc:
                await mc.supervise("Springfield Schools", keybag)
                await mc.install_profile_silent(
                    keybag, make_wifi_profile("School", identifier="org.school.wifi")
                )
                assert (await mc.get_profile_list())["OrderedIdentifiers"] == ["org.school.wifi"]
            seen: list[float] = []
            async with InstallationProxyService(lockdown) as proxy:
                await proxy.install_from_local(ipa, handler=seen.append)
                assert "org.school.atlas" in await proxy.get_apps(application_type="User")
            assert seen == sorted(seen)
            async with AfcService(lockdown) as afc:
                assert "PublicStaging" in await afc.listdir("/")
            saved = cart.saved_state(ipad)
            assert "org.school.atlas" in saved["apps"]
            assert saved["cloud_config"]["OrganizationName"] == "Springfield Schools"
            async with MobileConfigService(lockdown) as mc:
                await mc.erase_device(preserve_data_plan=False, disallow_proximity_setup=False)
        finally:
            await lockdown.close()
        for _ in range(1000):  # the iPad reboots on the SimClock and comes back
            if cart.server.device_ids().get(ipad.udid, first_id) != first_id:
                break
            await asyncio.sleep(0.01)
        assert cart.server.device_ids()[ipad.udid] != first_id
        assert ipad.apps == {}
        assert ipad.profiles == {}
        assert ipad.cloud_config is None
        assert not (cart.data_dir(ipad) / "Media" / "PublicStaging").exists()


async def _run(*args: str, env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(errors="replace")


@pytest.mark.skipif(shutil.which("ideviceinstaller") is None, reason="needs ideviceinstaller")
async def test_ideviceinstaller_installs_lists_and_removes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """libimobiledevice's own installer (C, libusbmuxd) against the emulated iPad."""
    ipad = ios_fixtures.make_ipad(1)
    ipa = make_ipa(tmp_path / "Atlas.ipa", "org.school.atlas", "7", "1.0", "Atlas", 50_000)
    async with ios_fixtures.running_cart(tmp_path / "cart", [ipad], SERVICES) as cart:
        monkeypatch.setenv("USBMUXD_SOCKET_ADDRESS", cart.address)
        env = {**os.environ, "USBMUXD_SOCKET_ADDRESS": cart.address}
        # Pair once with pymobiledevice3; libimobiledevice reads the record from usbmuxd.
        lockdown = await create_using_usbmux(
            serial=ipad.udid,
            usbmux_address=cart.address,
            pairing_records_cache_folder=tmp_path / "records",
        )
        await lockdown.close()
        code, out = await _run("ideviceinstaller", "-u", ipad.udid, "-i", str(ipa), env=env)
        assert code == 0, out
        assert "Install: Complete" in out
        assert "org.school.atlas" in ipad.apps
        code, out = await _run("ideviceinstaller", "-u", ipad.udid, "-l", env=env)
        assert code == 0, out
        assert 'org.school.atlas, "7", "Atlas"' in out
        code, out = await _run(
            "ideviceinstaller", "-u", ipad.udid, "-U", "org.school.atlas", env=env
        )
        assert "Uninstall: Complete" in out, out
        assert ipad.apps == {}
