"""lockdownd of the emulated iPad, driven by pymobiledevice3 and libimobiledevice unchanged."""

from __future__ import annotations

import asyncio
import os
import plistlib
import shutil
import socket
import struct
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pymobiledevice3 import ca, usbmux
from pymobiledevice3.exceptions import (
    ConnectionFailedError,
    GetProhibitedError,
    InvalidServiceError,
    MCProtectedError,
    PairingDialogResponsePendingError,
    PasswordRequiredError,
    SetProhibitedError,
    UserDeniedPairingError,
)
from pymobiledevice3.lockdown import create_using_usbmux

from station.sim.ios.framing import read_plist, write_plist
from station.sim.ios.services import ServiceContext
from station.sim.ios.usbmux import UsbmuxServer
from tests.sim.ios_fixtures import Cart, make_ipad, running_cart

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    # pymobiledevice3 saves pair records to usbmuxd through create_mux() without an address,
    # so it reads USBMUXD_SOCKET_ADDRESS; each test points it at its own server.
    monkeypatch.delenv("USBMUXD_SOCKET_ADDRESS", raising=False)


def _use(cart: Cart, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("USBMUXD_SOCKET_ADDRESS", cart.address)
    return cart.address


async def test_pair_session_and_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ipad = make_ipad(0, trust="accept")
    async with running_cart(tmp_path / "cart", [ipad]) as cart:
        address = _use(cart, monkeypatch)
        async with await create_using_usbmux(
            ipad.udid, usbmux_address=address, pairing_records_cache_folder=tmp_path / "records"
        ) as lockdown:
            assert lockdown.paired
            assert lockdown.udid == ipad.udid
            assert lockdown.all_values["SerialNumber"] == ipad.serial  # read inside TLS session
            assert lockdown.all_values["DeviceClass"] == "iPad"
            assert lockdown.all_values["ProductName"] == "iPhone OS"
            assert lockdown.all_values["UniqueChipID"] == ipad.ecid
            key = serialization.load_pem_public_key(lockdown.all_values["DevicePublicKey"])
            assert isinstance(key, rsa.RSAPublicKey)
            assert b"BEGIN RSA PUBLIC KEY" in lockdown.all_values["DevicePublicKey"]
            assert await lockdown.get_value("com.apple.international", "Language") == "en"
            await lockdown.set_value("Cart A - 01", key="DeviceName")
            assert await lockdown.get_value(key="DeviceName") == "Cart A - 01"
            await lockdown.set_value("fr", "com.apple.international", "Language")
            assert await lockdown.get_value("com.apple.international", "Language") == "fr"
            with pytest.raises(SetProhibitedError):
                await lockdown.set_value("X", key="UniqueDeviceID")
            await lockdown.stop_session()
        assert cart.saved_state(ipad)["device_name"] == "Cart A - 01"
        assert len(ipad.paired_hosts) == 1
        record = plistlib.loads((cart.data_dir(ipad) / "usbmuxd-pair-record.plist").read_bytes())
        assert record["HostID"] in ipad.paired_hosts

    # a new usbmuxd (emulator restart) still has the pair record and the device its name
    async with running_cart(tmp_path / "cart", [ipad]) as cart:
        address = _use(cart, monkeypatch)
        shutil.rmtree(tmp_path / "records")
        async with await create_using_usbmux(
            ipad.udid,
            usbmux_address=address,
            autopair=False,
            pairing_records_cache_folder=tmp_path / "records",
        ) as lockdown:
            assert lockdown.paired
            assert lockdown.all_values["DeviceName"] == "Cart A - 01"


async def test_values_before_session_are_limited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ipad = make_ipad(1, trust="prompt")
    async with (
        running_cart(tmp_path, [ipad]) as cart,
        await create_using_usbmux(
            ipad.udid,
            usbmux_address=_use(cart, monkeypatch),
            autopair=False,
            pairing_records_cache_folder=tmp_path / "records",
        ) as lockdown,
    ):
        assert not lockdown.paired
        values = lockdown.all_values
        assert values["UniqueDeviceID"] == ipad.udid
        assert values["ProductVersion"] == ipad.product_version
        assert "DevicePublicKey" in values
        assert "SerialNumber" not in values
        with pytest.raises(GetProhibitedError):
            await lockdown.get_value(key="SerialNumber")
        assert not ipad.trust_prompt_open  # nobody asked to pair


async def test_trust_prompt_then_accept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ipad = make_ipad(2, trust="prompt")
    async with running_cart(tmp_path, [ipad]) as cart:
        address = _use(cart, monkeypatch)

        async def person_taps_trust() -> None:
            # the person looks at the screen every few ms until the prompt shows
            for _ in range(2000):
                if cart.server.trust_prompt_open(ipad.udid):
                    break
                await asyncio.sleep(0.01)
            cart.server.accept_trust(ipad.udid)

        person = asyncio.create_task(person_taps_trust())
        lockdown = await create_using_usbmux(
            ipad.udid, usbmux_address=address, pairing_records_cache_folder=tmp_path / "r"
        )
        await person
        async with lockdown:
            assert lockdown.paired
            assert await lockdown.get_value(key="SerialNumber") == ipad.serial
        assert not ipad.trust_prompt_open


async def test_trust_prompt_pending_then_denied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ipad = make_ipad(3, trust="prompt")
    async with running_cart(tmp_path, [ipad]) as cart:
        address = _use(cart, monkeypatch)
        with pytest.raises(PairingDialogResponsePendingError):
            await create_using_usbmux(
                ipad.udid,
                usbmux_address=address,
                pair_timeout=0,
                pairing_records_cache_folder=tmp_path / "r",
            )
        assert ipad.trust_prompt_open
        cart.server.deny_trust(ipad.udid)
        with pytest.raises(UserDeniedPairingError):
            await create_using_usbmux(
                ipad.udid, usbmux_address=address, pairing_records_cache_folder=tmp_path / "r"
            )
        assert ipad.paired_hosts == {}


async def test_deny_and_locked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    denier = make_ipad(0, trust="deny")
    locked = make_ipad(1, trust="accept")
    locked.passcode_locked = True
    async with running_cart(tmp_path, [denier, locked]) as cart:
        address = _use(cart, monkeypatch)
        with pytest.raises(UserDeniedPairingError):
            await create_using_usbmux(
                denier.udid, usbmux_address=address, pairing_records_cache_folder=tmp_path / "r"
            )
        with pytest.raises(PasswordRequiredError):
            await create_using_usbmux(
                locked.udid, usbmux_address=address, pairing_records_cache_folder=tmp_path / "r"
            )
        assert denier.paired_hosts == {}
        assert locked.paired_hosts == {}


def _keybag(path: Path, name: str) -> bytes:
    """A supervision identity as pymobiledevice3 makes one; returns its certificate (DER)."""
    ca.create_keybag_file(path, name)
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return cert.public_bytes(serialization.Encoding.DER)


async def test_supervised_pairing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keybag = tmp_path / "org.pem"
    supervisor_der = _keybag(keybag, "School District")
    ipad = make_ipad(0, trust="prompt")
    ipad.cloud_config = {
        "IsSupervised": True,
        "AllowPairing": False,
        "SupervisorHostCertificates": [supervisor_der],
        "OrganizationName": "School District",
    }
    async with running_cart(tmp_path / "cart", [ipad]) as cart:
        address = _use(cart, monkeypatch)
        async with await create_using_usbmux(
            ipad.udid,
            usbmux_address=address,
            autopair=False,
            pairing_records_cache_folder=tmp_path / "r",
        ) as lockdown:
            # an ordinary host may not pair with this supervised device
            with pytest.raises(MCProtectedError):
                await lockdown.pair(timeout=0)
            await lockdown.pair_supervised(keybag, timeout=0)
            assert not ipad.trust_prompt_open
            assert await lockdown.validate_pairing()
            assert await lockdown.get_value(key="SerialNumber") == ipad.serial

        # the supervisor's certificate offered, but the challenge signed by another key
        impostor = tmp_path / "impostor.pem"
        _keybag(impostor, "Impostor")
        key_pem = impostor.read_bytes().split(b"-----BEGIN CERTIFICATE-----")[0]
        cert_pem = keybag.read_bytes()[keybag.read_bytes().index(b"-----BEGIN CERTIFICATE-----") :]
        impostor.write_bytes(key_pem + cert_pem)
        hosts_before = set(ipad.paired_hosts)
        async with await create_using_usbmux(
            ipad.udid,
            usbmux_address=address,
            autopair=False,
            local_hostname="impostor",
            pairing_records_cache_folder=tmp_path / "r2",
        ) as lockdown:
            with pytest.raises(MCProtectedError):
                await lockdown.pair_supervised(impostor, timeout=0)
        assert set(ipad.paired_hosts) == hosts_before


async def _echo_service(ctx: ServiceContext) -> None:
    while (request := await read_plist(ctx.reader)) is not None:
        await write_plist(
            ctx.writer, {"Echo": request, "EscrowBag": ctx.escrow_bag_given, "Name": ctx.ipad.udid}
        )


async def test_start_service_and_stale_pairing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ipad = make_ipad(1, trust="accept")
    services = {"com.example.echo": _echo_service}
    async with running_cart(tmp_path, [ipad], services) as cart:
        address = _use(cart, monkeypatch)
        records = tmp_path / "r"
        async with await create_using_usbmux(
            ipad.udid, usbmux_address=address, pairing_records_cache_folder=records
        ) as lockdown:
            service = await lockdown.start_lockdown_service(
                "com.example.echo", include_escrow_bag=True
            )
            async with service:
                reply = await service.send_recv_plist({"Ping": 1})
            assert reply == {"Echo": {"Ping": 1}, "EscrowBag": True, "Name": ipad.udid}
            with pytest.raises(InvalidServiceError):
                await lockdown.start_lockdown_service("com.apple.afc")
            attrs = await lockdown.get_service_connection_attributes("com.example.echo")
            assert attrs["EnableServiceSSL"] is False
            # a port is served once; lockdownd's port is reachable, random ones are refused
            device = await usbmux.select_device(ipad.udid, usbmux_address=address)
            assert device is not None
            sock = await device.connect(attrs["Port"], usbmux_address=address)
            sock.close()
            with pytest.raises(ConnectionFailedError):
                await device.connect(attrs["Port"], usbmux_address=address)

        # the device forgets its hosts (as after an erase): the host's record is stale
        ipad.paired_hosts.clear()
        async with await create_using_usbmux(
            ipad.udid, usbmux_address=address, pairing_records_cache_folder=records
        ) as lockdown:
            assert lockdown.paired  # InvalidHostID, then a fresh Pair
            assert len(ipad.paired_hosts) == 1
            await lockdown.unpair()
        assert ipad.paired_hosts == {}


async def _run(*args: str, address: str) -> tuple[int, str, str]:
    env = {**os.environ, "USBMUXD_SOCKET_ADDRESS": address}
    proc = await asyncio.create_subprocess_exec(
        *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


needs_libimobiledevice = pytest.mark.skipif(
    shutil.which("ideviceinfo") is None, reason="libimobiledevice-utils not installed"
)


@needs_libimobiledevice
async def test_libimobiledevice_reads_values_with_pymobiledevice3_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ipad = make_ipad(2, trust="accept")
    async with running_cart(tmp_path, [ipad]) as cart:
        address = _use(cart, monkeypatch)
        async with await create_using_usbmux(
            ipad.udid, usbmux_address=address, pairing_records_cache_folder=tmp_path / "r"
        ) as lockdown:
            await lockdown.set_value("Library iPad", key="DeviceName")
        code, out, err = await _run(
            "ideviceinfo", "-u", ipad.udid, "-k", "ProductType", address=address
        )
        assert (code, out.strip()) == (0, ipad.model.product_type), err
        # a full session read (TLS with libimobiledevice's root certificate, then StopSession)
        code, out, err = await _run("ideviceinfo", "-u", ipad.udid, address=address)
        assert code == 0, err
        assert f"SerialNumber: {ipad.serial}" in out
        assert "DeviceName: Library iPad" in out


@needs_libimobiledevice
async def test_idevicepair_pairs_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ipad = make_ipad(3, trust="prompt")
    async with running_cart(tmp_path, [ipad]) as cart:
        address = _use(cart, monkeypatch)
        code, out, err = await _run("idevicepair", "-u", ipad.udid, "pair", address=address)
        assert code != 0
        assert "accept the trust dialog" in out + err
        cart.server.accept_trust(ipad.udid)
        code, out, err = await _run("idevicepair", "-u", ipad.udid, "pair", address=address)
        assert code == 0, out + err
        assert "SUCCESS" in out
        assert len(ipad.paired_hosts) == 1
        code, out, err = await _run("idevicepair", "-u", ipad.udid, "validate", address=address)
        assert code == 0, out + err
        code, out, err = await _run(
            "ideviceinfo", "-u", ipad.udid, "-q", "com.apple.international", address=address
        )
        assert code == 0, err
        assert "Language: en" in out
        code, out, err = await _run("idevicename", "-u", ipad.udid, "Art Room 3", address=address)
        assert code == 0, out + err
        assert ipad.device_name == "Art Room 3"
        # pymobiledevice3 uses libimobiledevice's record from usbmuxd without pairing again
        async with await create_using_usbmux(
            ipad.udid,
            usbmux_address=address,
            autopair=False,
            pairing_records_cache_folder=tmp_path / "r",
        ) as lockdown:
            assert lockdown.paired
        assert len(ipad.paired_hosts) == 1


async def test_lockdown_garbage_closes_only_that_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ipad = make_ipad(0, trust="accept")
    async with running_cart(tmp_path, [ipad]) as cart:
        address = _use(cart, monkeypatch)
        device_id = cart.server.device_ids()[ipad.udid]
        for junk in (b"\x00\x00\x00\x05hello", b"\xff\xff\xff\xff", b"\x00\x00\x00\x03abc"):
            sock = await _mux_connect(cart.server, device_id, 62078)
            loop = asyncio.get_running_loop()
            await loop.sock_sendall(sock, junk)
            assert await asyncio.wait_for(loop.sock_recv(sock, 100), 5) == b""
            sock.close()
        async with await create_using_usbmux(
            ipad.udid, usbmux_address=address, pairing_records_cache_folder=tmp_path / "r"
        ) as lockdown:
            assert lockdown.paired


async def _mux_connect(server: UsbmuxServer, device_id: int, port: int) -> socket.socket:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    await loop.sock_connect(sock, server.address)
    body = plistlib.dumps(
        {"MessageType": "Connect", "DeviceID": device_id, "PortNumber": socket.htons(port)}
    )
    await loop.sock_sendall(sock, struct.pack("<IIII", 16 + len(body), 1, 8, 7) + body)
    header = await loop.sock_recv(sock, 16)
    length = struct.unpack("<I", header[:4])[0]
    payload = b""
    while len(payload) < length - 16:
        payload += await loop.sock_recv(sock, length - 16 - len(payload))
    assert plistlib.loads(payload) == {"MessageType": "Result", "Number": 0}
    return sock


@pytest.mark.slow
async def test_thirty_ipads_thirty_clients(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ipads = [make_ipad(i, trust="accept") for i in range(30)]
    async with running_cart(tmp_path, ipads) as cart:
        address = _use(cart, monkeypatch)

        async def provision(index: int) -> str:
            ipad = ipads[index]
            async with await create_using_usbmux(
                ipad.udid,
                usbmux_address=address,
                pairing_records_cache_folder=tmp_path / "r",
            ) as lockdown:
                await lockdown.set_value(f"Cart 1 - {index:02}", key="DeviceName")
                name: str = await lockdown.get_value(key="DeviceName")
                return name

        names = await asyncio.gather(*(provision(i) for i in range(30)))
        assert names == [f"Cart 1 - {i:02}" for i in range(30)]
        assert all(len(ipad.paired_hosts) == 1 for ipad in ipads)
        assert len(await usbmux.list_devices(usbmux_address=address)) == 30
