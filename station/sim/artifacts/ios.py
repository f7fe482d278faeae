"""Generators of valid iOS artefacts for tests and demos: .ipa, profiles, supervision identity."""

from __future__ import annotations

import datetime
import plistlib
import uuid
import zipfile
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12
from cryptography.x509.oid import NameOID

# Start of a 64-bit arm64 Mach-O header: magic, CPU_TYPE_ARM64, subtype, MH_EXECUTE.
_MACHO_STUB = bytes.fromhex("cffaedfe0c000001000000000200000000000000") + b"\0" * 44

_CHUNK = 1024 * 1024


def make_ipa(
    path: Path,
    bundle_id: str,
    version: str,
    short_version: str,
    name: str,
    payload_size: int = 0,
    *,
    minimum_os: str = "15.0",
) -> Path:
    """Write a real-shaped .ipa; ``payload_size`` bytes of padding make it large.

    The padding is stored (not deflated) and written in chunks, so a multi-GB benchmark app
    costs disk but not memory, and it does not look like a zip bomb to the reader.
    """
    app = f"Payload/{name}.app"
    executable = name.replace(" ", "")
    info = {
        "CFBundleIdentifier": bundle_id,
        "CFBundleVersion": version,
        "CFBundleShortVersionString": short_version,
        "CFBundleName": name,
        "CFBundleDisplayName": name,
        "CFBundleExecutable": executable,
        "CFBundlePackageType": "APPL",
        "CFBundleSupportedPlatforms": ["iPhoneOS"],
        "MinimumOSVersion": minimum_os,
        "UIDeviceFamily": [1, 2],
        "DTPlatformName": "iphoneos",
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{app}/Info.plist", plistlib.dumps(info, fmt=plistlib.FMT_BINARY))
        archive.writestr(f"{app}/{executable}", _MACHO_STUB)
        archive.writestr(f"{app}/_CodeSignature/CodeResources", plistlib.dumps({"files": {}}))
        if payload_size > 0:
            entry = zipfile.ZipInfo(f"{app}/Assets.car")
            entry.compress_type = zipfile.ZIP_STORED
            chunk = bytes(range(256)) * (_CHUNK // 256)
            with archive.open(entry, "w", force_zip64=payload_size > 2**31) as handle:
                remaining = payload_size
                while remaining > 0:
                    piece = chunk[: min(remaining, _CHUNK)]
                    handle.write(piece)
                    remaining -= len(piece)
    return path


def _profile(
    identifier: str, display_name: str, payloads: list[dict[str, Any]], description: str = ""
) -> bytes:
    top: dict[str, Any] = {
        "PayloadContent": payloads,
        "PayloadDisplayName": display_name,
        "PayloadIdentifier": identifier,
        "PayloadRemovalDisallowed": False,
        "PayloadType": "Configuration",
        "PayloadUUID": str(uuid.uuid4()).upper(),
        "PayloadVersion": 1,
    }
    if description:
        top["PayloadDescription"] = description
    return plistlib.dumps(top)


def make_wifi_profile(
    ssid: str,
    password_placeholder: str = "",
    *,
    identifier: str,
    encryption: str = "WPA2",
    auto_join: bool = True,
    display_name: str = "",
) -> bytes:
    """A com.apple.wifi.managed profile (XML); the password may be a placeholder to fill in."""
    payload: dict[str, Any] = {
        "AutoJoin": auto_join,
        "EncryptionType": encryption,
        "HIDDEN_NETWORK": False,
        "PayloadDisplayName": "Wi-Fi",
        "PayloadIdentifier": f"{identifier}.wifi",
        "PayloadType": "com.apple.wifi.managed",
        "PayloadUUID": str(uuid.uuid4()).upper(),
        "PayloadVersion": 1,
        "ProxyType": "None",
        "SSID_STR": ssid,
    }
    if password_placeholder:
        payload["Password"] = password_placeholder
    return _profile(identifier, display_name or f"Wi-Fi {ssid}", [payload])


def make_identity_p12(common_name: str, password: str) -> bytes:
    """A PKCS#12 device identity (EC key, self-signed), as an MDM profile embeds."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _self_signed(common_name, key)
    return pkcs12.serialize_key_and_certificates(
        common_name.encode(),
        key,
        cert,
        None,
        serialization.BestAvailableEncryption(password.encode()),
    )


def make_mdm_enrollment_profile(
    server_url: str,
    topic: str,
    identifier: str,
    *,
    identity_p12: bytes | None = None,
    identity_password: str = "station",
    check_in_url: str = "",
    access_rights: int = 8191,
    display_name: str = "MDM Enrollment",
) -> bytes:
    """An MDM enrollment profile (XML): a com.apple.mdm payload and the identity it names."""
    identity_uuid = str(uuid.uuid4()).upper()
    identity = {
        "Password": identity_password,
        "PayloadContent": identity_p12
        or make_identity_p12("Station MDM identity", identity_password),
        "PayloadDisplayName": "Device identity",
        "PayloadIdentifier": f"{identifier}.identity",
        "PayloadType": "com.apple.security.pkcs12",
        "PayloadUUID": identity_uuid,
        "PayloadVersion": 1,
    }
    mdm: dict[str, Any] = {
        "AccessRights": access_rights,
        "CheckOutWhenRemoved": True,
        "IdentityCertificateUUID": identity_uuid,
        "PayloadDisplayName": "Mobile Device Management",
        "PayloadIdentifier": f"{identifier}.mdm",
        "PayloadType": "com.apple.mdm",
        "PayloadUUID": str(uuid.uuid4()).upper(),
        "PayloadVersion": 1,
        "ServerCapabilities": ["com.apple.mdm.per-user-connections"],
        "ServerURL": server_url,
        "SignMessage": True,
        "Topic": topic,
    }
    if check_in_url:
        mdm["CheckInURL"] = check_in_url
    return _profile(identifier, display_name, [identity, mdm])


def _self_signed(
    common_name: str, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )


def make_supervision_identity(
    organization: str,
) -> tuple[x509.Certificate, rsa.RSAPrivateKey, bytes]:
    """A supervision identity like pymobiledevice3's: RSA-2048, self-signed, CN=org.

    Returns the certificate, the key and the "keybag" (PEM key + PEM certificate in one
    file) that ``MobileConfigService.supervise/escalate`` read.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _self_signed(organization, key)
    keybag = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ) + cert.public_bytes(serialization.Encoding.PEM)
    return cert, key, keybag


def sign_profile(
    profile: bytes, cert: x509.Certificate, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
) -> bytes:
    """A CMS-signed (DER PKCS#7, content attached) copy of ``profile``."""
    return (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(profile)
        .add_signer(cert, key, hashes.SHA256())
        .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])
    )
