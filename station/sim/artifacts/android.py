"""Small but real .apk files: binary AXML manifest, dex stub, v1 (JAR) signature."""

from __future__ import annotations

import base64
import datetime
import hashlib
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

ANDROID_NS = "http://schemas.android.com/apk/res/android"

# Framework attribute resource ids (android.R.attr), which is how Android finds attributes.
_ATTR_IDS = {
    "label": 0x01010001,
    "name": 0x01010003,
    "permission": 0x01010006,
    "exported": 0x01010010,
    "resource": 0x01010025,
    "versionCode": 0x0101021B,
    "versionName": 0x0101021C,
    "minSdkVersion": 0x0101020C,
    "targetSdkVersion": 0x01010270,
}

# Chunk types and value types of the Android resource format (ResourceTypes.h).
_RES_STRING_POOL = 0x0001
_RES_XML = 0x0003
_RES_XML_START_NAMESPACE = 0x0100
_RES_XML_END_NAMESPACE = 0x0101
_RES_XML_START_ELEMENT = 0x0102
_RES_XML_END_ELEMENT = 0x0103
_RES_XML_RESOURCE_MAP = 0x0180
_RES_TABLE = 0x0002
_RES_TABLE_PACKAGE = 0x0200
TYPE_REFERENCE = 0x01
TYPE_STRING = 0x03
TYPE_INT_DEC = 0x10
TYPE_INT_BOOLEAN = 0x12
_NO_INDEX = 0xFFFFFFFF
_PAD_CHUNK = 1 << 20


@dataclass(frozen=True)
class _Attr:
    name: str
    value: str | int | bool
    android: bool = True
    reference: bool = False


@dataclass(frozen=True)
class _Element:
    name: str
    attrs: tuple[_Attr, ...] = ()
    children: tuple[_Element, ...] = ()


def _utf8_len(n: int) -> bytes:
    """A UTF-8 pool length: one byte, or two with the high bit set on the first."""
    if n > 0x7FFF:
        raise ValueError("string too long for the pool")
    return bytes([n]) if n < 0x80 else bytes([0x80 | (n >> 8), n & 0xFF])


class _StringPool:
    """Strings in first-use order, with attribute names that have resource ids first."""

    def __init__(self, resource_names: list[str]) -> None:
        self.strings: list[str] = list(resource_names)
        self.index = {s: i for i, s in enumerate(self.strings)}

    def ref(self, s: str) -> int:
        if s not in self.index:
            self.index[s] = len(self.strings)
            self.strings.append(s)
        return self.index[s]

    def encode(self, *, utf8: bool = False) -> bytes:
        """The pool chunk; aapt writes UTF-16 manifests, aapt2 may write UTF-8."""
        offsets = []
        data = bytearray()
        for s in self.strings:
            offsets.append(len(data))
            units = s.encode("utf-16-le")
            n = len(units) // 2
            if n > 0x7FFF:
                raise ValueError("string too long for the pool")
            if utf8:
                raw = s.encode()
                data += _utf8_len(n) + _utf8_len(len(raw)) + raw + b"\0"
            else:
                data += struct.pack("<H", n) + units + b"\0\0"
        while len(data) % 4:
            data += b"\0"
        header_size = 28
        strings_start = header_size + 4 * len(offsets)
        body = b"".join(struct.pack("<I", o) for o in offsets) + bytes(data)
        return (
            struct.pack(
                "<HHIIIIII",
                _RES_STRING_POOL,
                header_size,
                header_size + len(body),
                len(self.strings),
                0,
                0x100 if utf8 else 0,  # UTF8_FLAG; never sorted
                strings_start,
                0,
            )
            + body
        )


def _node(kind: int, line: int, body: bytes) -> bytes:
    return struct.pack("<HHIII", kind, 16, 16 + len(body), line, _NO_INDEX) + body


def encode_axml(root: _Element, *, utf8: bool = False) -> bytes:
    """The binary XML (AXML) form of ``root``, as aapt writes it into an APK."""
    names: list[str] = []

    def collect(el: _Element) -> None:
        for a in el.attrs:
            if a.android and a.name in _ATTR_IDS and a.name not in names:
                names.append(a.name)
        for c in el.children:
            collect(c)

    collect(root)
    pool = _StringPool(names)
    prefix, uri = pool.ref("android"), pool.ref(ANDROID_NS)
    nodes: list[bytes] = []
    line = 1

    def emit(el: _Element) -> None:
        nonlocal line
        line += 1
        attrs = bytearray()
        for a in el.attrs:
            ns = uri if a.android else _NO_INDEX
            name = pool.ref(a.name)
            if isinstance(a.value, bool):
                raw, vtype, data = _NO_INDEX, TYPE_INT_BOOLEAN, 0xFFFFFFFF if a.value else 0
            elif isinstance(a.value, int):
                vtype = TYPE_REFERENCE if a.reference else TYPE_INT_DEC
                raw, data = _NO_INDEX, a.value & 0xFFFFFFFF
            else:
                raw = data = pool.ref(a.value)
                vtype = TYPE_STRING
            attrs += struct.pack("<IIIHBBI", ns, name, raw, 8, 0, vtype, data)
        head = struct.pack(
            "<IIHHHHHH", _NO_INDEX, pool.ref(el.name), 0x14, 0x14, len(el.attrs), 0, 0, 0
        )
        nodes.append(_node(_RES_XML_START_ELEMENT, line, head + bytes(attrs)))
        for c in el.children:
            emit(c)
        end = struct.pack("<II", _NO_INDEX, pool.ref(el.name))
        nodes.append(_node(_RES_XML_END_ELEMENT, line, end))

    ns_body = struct.pack("<II", prefix, uri)
    nodes.append(_node(_RES_XML_START_NAMESPACE, 1, ns_body))
    emit(root)
    nodes.append(_node(_RES_XML_END_NAMESPACE, line, ns_body))
    pool_bytes = pool.encode(utf8=utf8)
    resmap = struct.pack("<HHI", _RES_XML_RESOURCE_MAP, 8, 8 + 4 * len(names)) + b"".join(
        struct.pack("<I", _ATTR_IDS[n]) for n in names
    )
    body = pool_bytes + resmap + b"".join(nodes)
    return struct.pack("<HHI", _RES_XML, 8, 8 + len(body)) + body


def _empty_resource_table(package: str) -> bytes:
    """A resources.arsc with one package and no resources, which Android's parser accepts."""
    empty_pool = _StringPool([]).encode()
    name = package.encode("utf-16-le")[:254].ljust(256, b"\0")
    header_size = 288
    pkg_body = empty_pool + empty_pool
    pkg = (
        struct.pack("<HHII", _RES_TABLE_PACKAGE, header_size, header_size + len(pkg_body), 0x7F)
        + name
        + struct.pack("<IIIII", header_size, 0, header_size + len(empty_pool), 0, 0)
        + pkg_body
    )
    body = empty_pool + pkg
    return struct.pack("<HHII", _RES_TABLE, 12, 12 + len(body), 1) + body


def manifest_element(
    package: str,
    version_code: int,
    version_name: str,
    label: str,
    *,
    min_sdk: int,
    target_sdk: int,
    receiver: str | None,
) -> _Element:
    """The manifest tree; ``receiver`` adds a device-admin receiver (for a DPC)."""
    app_children: tuple[_Element, ...] = ()
    if receiver is not None:
        full = package + receiver if receiver.startswith(".") else receiver
        app_children = (
            _Element(
                "receiver",
                (
                    _Attr("name", full),
                    _Attr("exported", True),
                    _Attr("permission", "android.permission.BIND_DEVICE_ADMIN"),
                ),
                (
                    _Element(
                        "meta-data",
                        (
                            _Attr("name", "android.app.device_admin"),
                            _Attr("resource", 0x7F0F0000, reference=True),
                        ),
                    ),
                    _Element(
                        "intent-filter",
                        (),
                        (
                            _Element(
                                "action",
                                (_Attr("name", "android.app.action.DEVICE_ADMIN_ENABLED"),),
                            ),
                        ),
                    ),
                ),
            ),
        )
    return _Element(
        "manifest",
        (
            _Attr("versionCode", version_code),
            _Attr("versionName", version_name),
            _Attr("package", package, android=False),
        ),
        (
            _Element(
                "uses-sdk",
                (_Attr("minSdkVersion", min_sdk), _Attr("targetSdkVersion", target_sdk)),
            ),
            _Element("application", (_Attr("label", label),), app_children),
        ),
    )


@dataclass(frozen=True)
class SigningIdentity:
    """A self-signed developer certificate; reuse one to give several APKs the same signer."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @classmethod
    def new(cls, common_name: str = "Enrollment Station Test") -> SigningIdentity:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=365 * 30))
            .sign(key, hashes.SHA256())
        )
        return cls(key, cert)

    @property
    def cert_sha256(self) -> str:
        """Hex SHA-256 of the DER certificate (what the provisioning checksum is built from)."""
        return hashlib.sha256(self.cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


_V2_BLOCK_ID = 0x7109871A
_SIG_ECDSA_SHA256 = 0x0201
_CHUNK = 1 << 20


def _lp(data: bytes) -> bytes:
    """Length-prefixed (u32 LE), as everything in the APK Signing Block is."""
    return struct.pack("<I", len(data)) + data


def _chunk_digest(piece: bytes) -> bytes:
    return hashlib.sha256(b"\xa5" + struct.pack("<I", len(piece)) + piece).digest()


def _sign_v2(path: Path, signer: SigningIdentity) -> None:
    """Insert an APK Signature Scheme v2 block before the central directory of ``path``.

    The digest covers the entries, the central directory and the end record in 1 MiB
    chunks; the file is read piece by piece, so large APKs need no RAM.
    """
    with path.open("r+b") as f:
        size = f.seek(0, 2)
        f.seek(size - 22)
        eocd = f.read(22)
        if eocd[:4] != b"PK\x05\x06":
            raise ValueError("unexpected zip layout (comment or zip64): cannot add a v2 block")
        cd_size, cd_off = struct.unpack("<II", eocd[12:20])
        f.seek(cd_off)
        cd = f.read(cd_size)
        chunks: list[bytes] = []
        f.seek(0)
        left = cd_off
        while left > 0:
            piece = f.read(min(_CHUNK, left))
            chunks.append(_chunk_digest(piece))
            left -= len(piece)
        for section in (cd, eocd):
            chunks += [
                _chunk_digest(section[i : i + _CHUNK]) for i in range(0, len(section), _CHUNK)
            ]
        top = hashlib.sha256(b"\x5a" + struct.pack("<I", len(chunks)) + b"".join(chunks)).digest()
        cert_der = signer.cert.public_bytes(serialization.Encoding.DER)
        signed_data = (
            _lp(_lp(struct.pack("<I", _SIG_ECDSA_SHA256) + _lp(top)))
            + _lp(_lp(cert_der))
            + _lp(b"")
        )
        signature = signer.key.sign(signed_data, ec.ECDSA(hashes.SHA256()))
        spki = signer.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        signer_block = (
            _lp(signed_data)
            + _lp(_lp(struct.pack("<I", _SIG_ECDSA_SHA256) + _lp(signature)))
            + _lp(spki)
        )
        value = _lp(_lp(signer_block))
        pairs = struct.pack("<QI", 4 + len(value), _V2_BLOCK_ID) + value
        block_size = len(pairs) + 8 + 16
        block = (
            struct.pack("<Q", block_size)
            + pairs
            + struct.pack("<Q", block_size)
            + b"APK Sig Block 42"
        )
        f.seek(cd_off)
        f.truncate()
        f.write(block)
        f.write(cd)
        f.write(eocd[:16] + struct.pack("<I", cd_off + len(block)) + eocd[20:])


def _mf_section(name: str, digest: bytes) -> bytes:
    return f"Name: {name}\r\nSHA-256-Digest: {_b64(digest)}\r\n\r\n".encode()


def make_apk(
    path: Path,
    package: str,
    version_code: int,
    version_name: str,
    label: str,
    *,
    min_sdk: int = 24,
    target_sdk: int = 34,
    padding_bytes: int = 0,
    receiver: str | None = None,
    signer: SigningIdentity | None = None,
    v2: bool = True,
) -> Path:
    """Write a signed APK to ``path``; ``padding_bytes`` of stored filler make it large.

    It is signed with v1 (JAR) and, unless ``v2`` is False, APK Signature Scheme v2, which
    Android 11+ requires for targetSdk >= 30. The padding is written in 1 MiB pieces, so
    a large benchmark app needs no RAM for it (v2 needs it below 4 GiB: no zip64).
    """
    signer = signer or SigningIdentity.new()
    v2 = v2 and padding_bytes < 0xFFFFFFFF - (1 << 20)
    manifest = encode_axml(
        manifest_element(
            package,
            version_code,
            version_name,
            label,
            min_sdk=min_sdk,
            target_sdk=target_sdk,
            receiver=receiver,
        )
    )
    # A dex header with the right magic; the rest is not meant to run.
    dex = b"dex\n035\0" + bytes(104)
    entries: list[tuple[str, bytes]] = [
        ("AndroidManifest.xml", manifest),
        ("classes.dex", dex),
        ("resources.arsc", _empty_resource_table(package)),
    ]
    mf_sections: list[bytes] = []
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries:
            # resources.arsc is stored uncompressed in real APKs (mmap'ed by the framework).
            info = zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            if name == "resources.arsc":
                # Stored and 4-byte aligned, as Android 11+ demands for targetSdk >= 30.
                info.compress_type = zipfile.ZIP_STORED
                start = zf.fp.tell() + 30 + len(name.encode()) if zf.fp else 0
                info.extra = bytes((-start) % 4)
            zf.writestr(info, data)
            mf_sections.append(_mf_section(name, hashlib.sha256(data).digest()))
        if padding_bytes > 0:
            name = "assets/padding.bin"
            digest = hashlib.sha256()
            info = zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.file_size = padding_bytes
            with zf.open(info, "w", force_zip64=padding_bytes >= 0xFFFFFFFF) as out:
                left = padding_bytes
                block = bytes(range(256)) * (_PAD_CHUNK // 256)
                while left > 0:
                    piece = block[: min(left, _PAD_CHUNK)]
                    digest.update(piece)
                    out.write(piece)
                    left -= len(piece)
            mf_sections.append(_mf_section(name, digest.digest()))
        mf_main = b"Manifest-Version: 1.0\r\nCreated-By: 1.0 (Enrollment Station)\r\n\r\n"
        mf = mf_main + b"".join(mf_sections)
        sf = (
            b"Signature-Version: 1.0\r\nCreated-By: 1.0 (Enrollment Station)\r\n"
            # Says a v2 signature exists too, so stripping it is detected.
            + (b"X-Android-APK-Signed: 2\r\n" if v2 else b"")
            + f"SHA-256-Digest-Manifest: {_b64(hashlib.sha256(mf).digest())}\r\n".encode()
            + f"SHA-256-Digest-Manifest-Main-Attributes: {_b64(hashlib.sha256(mf_main).digest())}"
            "\r\n\r\n".encode()
        )
        for section in mf_sections:
            name_line = section.split(b"\r\n", 1)[0]
            sf += name_line + b"\r\n"
            sf += f"SHA-256-Digest: {_b64(hashlib.sha256(section).digest())}\r\n\r\n".encode()
        signature = (
            pkcs7.PKCS7SignatureBuilder()
            .set_data(sf)
            .add_signer(signer.cert, signer.key, hashes.SHA256())
            .sign(
                serialization.Encoding.DER,
                [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.NoAttributes],
            )
        )
        for name, data in (
            ("META-INF/MANIFEST.MF", mf),
            ("META-INF/CERT.SF", sf),
            ("META-INF/CERT.EC", signature),
        ):
            zf.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    if v2:
        _sign_v2(path, signer)
    return path
