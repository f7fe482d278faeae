"""Device keys, pair-record checks and the supervised-pairing challenge of an emulated iPad."""

from __future__ import annotations

import asyncio
import datetime
import functools
import hmac
import secrets
import warnings
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID

from station.sim.ios.device import IPadModel, VirtualIPad, new_identity_numbers

DEVICE_KEY_BITS = 2048
PAIR_RECORD_CERT_KEYS = ("DeviceCertificate", "HostCertificate", "RootCertificate")


class LockdownRefusal(Exception):
    """lockdownd refuses a request; ``error`` is the string a real device sends."""

    def __init__(self, error: str, detail: str = "") -> None:
        super().__init__(f"{error}: {detail}" if detail else error)
        self.error = error


@dataclass(frozen=True)
class DeviceIdentity:
    """The RSA key pair an iPad keeps for lockdown (DevicePublicKey, session TLS)."""

    private_key_pem: str
    certificate_pem: str


def generate_device_identity() -> DeviceIdentity:
    """A fresh RSA-2048 device key and a self-signed certificate for its TLS side.

    Takes ~50 ms of CPU; use :func:`generate_device_identities` for a whole cart.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=DEVICE_KEY_BITS)
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Device")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return DeviceIdentity(key_pem.decode(), cert.public_bytes(serialization.Encoding.PEM).decode())


async def generate_device_identities(count: int) -> list[DeviceIdentity]:
    """``count`` identities made in worker threads (OpenSSL drops the GIL while it searches)."""
    return list(
        await asyncio.gather(*(asyncio.to_thread(generate_device_identity) for _ in range(count)))
    )


def new_ipad(model: IPadModel, identity: DeviceIdentity, *, index: int = 0) -> VirtualIPad:
    """A factory-fresh iPad of ``model`` with random, plausible identity numbers."""
    udid, serial, ecid, wifi = new_identity_numbers(model, index)
    return VirtualIPad(
        udid=udid,
        serial=serial,
        ecid=ecid,
        model=model,
        wifi_address=wifi,
        device_private_key_pem=identity.private_key_pem,
        device_certificate_pem=identity.certificate_pem,
        product_version=model.product_version,
        build_version=model.build_version,
    )


@functools.lru_cache(maxsize=256)
def _load_private_key(pem: str) -> rsa.RSAPrivateKey:
    # Loading (and validating) an RSA key takes milliseconds; lockdownd needs it on every
    # GetValue, so each key is parsed once. The keys are our own, hence no re-validation.
    key = serialization.load_pem_private_key(
        pem.encode(), password=None, unsafe_skip_rsa_key_validation=True
    )
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError("the device key of an iPad is RSA")
    return key


def _private_key(ipad: VirtualIPad) -> rsa.RSAPrivateKey:
    return _load_private_key(ipad.device_private_key_pem)


@functools.lru_cache(maxsize=256)
def _public_key_pem(pem: str) -> bytes:
    return (
        _load_private_key(pem)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
    )


def device_public_key_pem(ipad: VirtualIPad) -> bytes:
    """DevicePublicKey as lockdownd sends it: PEM "RSA PUBLIC KEY" (PKCS#1)."""
    return _public_key_pem(ipad.device_private_key_pem)


def _load_cert(value: Any, key: str) -> x509.Certificate:
    if isinstance(value, str):
        value = value.encode()
    if not isinstance(value, bytes):
        raise LockdownRefusal("InvalidPairRecord", f"{key} is not data")
    try:
        with warnings.catch_warnings():
            # libimobiledevice issues its pairing certificates with serial number 0
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            if value.lstrip().startswith(b"-----BEGIN"):
                return x509.load_pem_x509_certificate(value)
            return x509.load_der_x509_certificate(value)
    except ValueError as exc:
        raise LockdownRefusal("InvalidPairRecord", f"{key} is not a certificate") from exc


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer``'s key signed ``cert`` (pair-record names are empty: not compared)."""
    public_key = issuer.public_key()
    algorithm = cert.signature_hash_algorithm
    try:
        if isinstance(public_key, rsa.RSAPublicKey) and algorithm is not None:
            public_key.verify(
                cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), algorithm
            )
            return True
        if isinstance(public_key, ec.EllipticCurvePublicKey) and algorithm is not None:
            public_key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(algorithm))
            return True
    except InvalidSignature:
        return False
    return False


@dataclass(frozen=True)
class CheckedPairRecord:
    host_id: str
    system_buid: str
    host_certificate_pem: str
    root_certificate_pem: str


def check_pair_record(record: Any, ipad: VirtualIPad) -> CheckedPairRecord:
    """Validate the PairRecord of a Pair request the way the device does.

    The three certificates must parse, the device certificate must carry this iPad's public
    key, and the root must have issued both leaves.

    Raises:
        LockdownRefusal: with the lockdownd error string.
    """
    if not isinstance(record, dict):
        raise LockdownRefusal("InvalidPairRecord", "PairRecord missing")
    host_id = record.get("HostID")
    if not isinstance(host_id, str) or not host_id:
        raise LockdownRefusal("MissingHostID")
    system_buid = record.get("SystemBUID")
    if not isinstance(system_buid, str):
        raise LockdownRefusal("InvalidPairRecord", "SystemBUID missing")
    certs = {key: _load_cert(record.get(key), key) for key in PAIR_RECORD_CERT_KEYS}
    device_key = _private_key(ipad).public_key().public_numbers()
    cert_key = certs["DeviceCertificate"].public_key()
    if not isinstance(cert_key, rsa.RSAPublicKey) or cert_key.public_numbers() != device_key:
        raise LockdownRefusal("InvalidPairRecord", "DeviceCertificate is not for this device")
    root = certs["RootCertificate"]
    for leaf in ("DeviceCertificate", "HostCertificate"):
        if not _issued_by(certs[leaf], root):
            raise LockdownRefusal("InvalidPairRecord", f"{leaf} not issued by RootCertificate")
    pem = serialization.Encoding.PEM
    return CheckedPairRecord(
        host_id=host_id,
        system_buid=system_buid,
        host_certificate_pem=certs["HostCertificate"].public_bytes(pem).decode(),
        root_certificate_pem=root.public_bytes(pem).decode(),
    )


def new_escrow_bag() -> bytes:
    """An opaque keybag blob, as Pair returns it (real ones are ~1 KB of keybag data)."""
    return secrets.token_bytes(1024)


def new_pairing_challenge() -> bytes:
    return secrets.token_bytes(32)


def supervisor_certificates(ipad: VirtualIPad) -> list[bytes]:
    """DER certificates of the supervising organisations (empty when not supervised)."""
    if not ipad.supervised or ipad.cloud_config is None:
        return []
    found = ipad.cloud_config.get("SupervisorHostCertificates") or []
    return [bytes(c) for c in found if isinstance(c, bytes | bytearray)]


# --- a minimal DER reader, enough to check a CMS SignedData (cryptography cannot verify one) ---


def _der_item(data: bytes, pos: int) -> tuple[int, int, int, int]:
    """(tag, start of content, end of content, end of item) of the DER item at ``pos``."""
    if pos + 2 > len(data):
        raise ValueError("truncated DER")
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise ValueError("bad DER length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    end = pos + length
    if end > len(data):
        raise ValueError("truncated DER")
    return tag, pos, end, end


def _der_children(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """Items inside a constructed value, as (tag, item start, content start, content end)."""
    items = []
    pos = start
    while pos < end:
        tag, cstart, cend, nxt = _der_item(data, pos)
        items.append((tag, pos, cstart, cend))
        pos = nxt
    return items


_OID_SIGNED_DATA = bytes.fromhex("2a864886f70d010702")
_OID_MESSAGE_DIGEST = bytes.fromhex("2a864886f70d010904")
_DIGESTS: dict[bytes, hashes.HashAlgorithm] = {
    bytes.fromhex("608648016503040201"): hashes.SHA256(),
    bytes.fromhex("608648016503040202"): hashes.SHA384(),
    bytes.fromhex("608648016503040203"): hashes.SHA512(),
    bytes.fromhex("2b0e03021a"): hashes.SHA1(),
}


@dataclass(frozen=True)
class _SignedData:
    content: bytes
    digest: hashes.HashAlgorithm
    signed_attrs: bytes | None  # DER of the attributes re-tagged as SET, what was signed
    message_digest: bytes | None
    signature: bytes


def _parse_signed_data(der: bytes) -> _SignedData:
    tag, start, end, _ = _der_item(der, 0)
    if tag != 0x30:
        raise ValueError("ContentInfo is not a SEQUENCE")
    info = _der_children(der, start, end)
    if len(info) < 2 or der[info[0][2] : info[0][3]] != _OID_SIGNED_DATA:
        raise ValueError("not a SignedData")
    _, _, explicit_start, _explicit_end = info[1]
    tag, sd_start, sd_end, _ = _der_item(der, explicit_start)
    fields = _der_children(der, sd_start, sd_end)
    # version, digestAlgorithms, encapContentInfo, [certificates], [crls], signerInfos
    encap = _der_children(der, fields[2][2], fields[2][3])
    if len(encap) < 2:
        raise ValueError("SignedData without content (detached)")
    _, octets_start, octets_end, _ = _der_item(der, encap[1][2])
    content = der[octets_start:octets_end]
    signer_infos = _der_children(der, fields[-1][2], fields[-1][3])
    if len(signer_infos) != 1:
        raise ValueError("expected exactly one signer")
    signer = _der_children(der, signer_infos[0][2], signer_infos[0][3])
    # version, sid, digestAlgorithm, [0] signedAttrs, signatureAlgorithm, signature
    digest_alg = _der_children(der, signer[2][2], signer[2][3])
    digest = _DIGESTS.get(der[digest_alg[0][2] : digest_alg[0][3]])
    if digest is None:
        raise ValueError("unknown digest algorithm")
    signed_attrs = None
    message_digest = None
    if signer[3][0] == 0xA0:
        attrs_tag_pos = signer[3][1]
        attrs_end = signer[3][3]
        signed_attrs = b"\x31" + der[attrs_tag_pos + 1 : attrs_end]
        for _, _, a_start, a_end in _der_children(der, signer[3][2], signer[3][3]):
            attr = _der_children(der, a_start, a_end)
            if der[attr[0][2] : attr[0][3]] == _OID_MESSAGE_DIGEST:
                values = _der_children(der, attr[1][2], attr[1][3])
                message_digest = der[values[0][2] : values[0][3]]
    signature_field = signer[-1]
    if signature_field[0] != 0x04:
        raise ValueError("signature is not an OCTET STRING")
    signature = der[signature_field[2] : signature_field[3]]
    return _SignedData(content, digest, signed_attrs, message_digest, signature)


def verify_challenge_response(
    response: bytes, challenge: bytes, trusted_certificates: list[bytes]
) -> bool:
    """Whether ``response`` is a PKCS#7 signature of ``challenge`` by a trusted supervisor.

    The signature is checked against the public keys of the certificates stored with the
    cloud configuration, never against certificates carried inside the message.
    """
    try:
        signed = _parse_signed_data(response)
    except (ValueError, IndexError):
        return False
    if not hmac.compare_digest(signed.content, challenge):
        return False
    if signed.signed_attrs is not None:
        if signed.message_digest is None:
            return False
        digest = hashes.Hash(signed.digest)
        digest.update(signed.content)
        if not hmac.compare_digest(digest.finalize(), signed.message_digest):
            return False
        signed_bytes = signed.signed_attrs
    else:
        signed_bytes = signed.content
    for der in trusted_certificates:
        try:
            key = x509.load_der_x509_certificate(der).public_key()
        except ValueError:
            continue
        try:
            if isinstance(key, rsa.RSAPublicKey):
                key.verify(signed.signature, signed_bytes, padding.PKCS1v15(), signed.digest)
                return True
            if isinstance(key, ec.EllipticCurvePublicKey):
                key.verify(signed.signature, signed_bytes, ec.ECDSA(signed.digest))
                return True
        except InvalidSignature:
            continue
    return False
