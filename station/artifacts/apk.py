"""Read what the station needs from an .apk: package, versions, SDK levels, signer, checksum."""

from __future__ import annotations

import hashlib
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from station import messages as msg
from station.errors import ArtifactError

ANDROID_NS = "http://schemas.android.com/apk/res/android"
MAX_MANIFEST_BYTES = 4 * 1024 * 1024  # real manifests are a few KiB; this stops zip bombs
MAX_SIGNATURE_BYTES = 1024 * 1024
_MAX_ZIP_ENTRIES = 200_000
_MAX_DEPTH = 64

_TYPE_REFERENCE = 0x01
_TYPE_STRING = 0x03
_TYPE_INT_DEC = 0x10
_TYPE_INT_HEX = 0x11

# android.R.attr ids: the framework matches attributes by id, not by name.
_ATTR_VERSION_CODE = 0x0101021B
_ATTR_VERSION_NAME = 0x0101021C
_ATTR_MIN_SDK = 0x0101020C
_ATTR_TARGET_SDK = 0x01010270
_ATTR_LABEL = 0x01010001


@dataclass(frozen=True)
class ApkInfo:
    """What a blueprint and an install need to know about one APK.

    ``label`` is the literal application label, or the package name when the label is a
    resource reference (resolving resources.arsc is not done here).
    ``signing_cert_sha256`` is the lowercase hex SHA-256 of the signer's DER certificate
    (from the v2/v3 APK Signing Block, else the v1 JAR signature), None when unsigned.
    The provisioning QR's signature checksum is the URL-safe base64 of these bytes.
    """

    package: str
    version_code: int
    version_name: str
    min_sdk: int
    target_sdk: int
    label: str
    size: int
    sha256: str
    signing_cert_sha256: str | None


@dataclass(frozen=True)
class _Value:
    vtype: int
    data: int
    string: str | None


class _AxmlError(Exception):
    """Internal: the binary XML is malformed (turned into ArtifactError with the file name)."""


def _u16(buf: bytes, off: int) -> int:
    if off < 0 or off + 2 > len(buf):
        raise _AxmlError(f"read past the end at offset {off}")
    return int(struct.unpack_from("<H", buf, off)[0])


def _u32(buf: bytes, off: int) -> int:
    if off < 0 or off + 4 > len(buf):
        raise _AxmlError(f"read past the end at offset {off}")
    return int(struct.unpack_from("<I", buf, off)[0])


def _parse_string_pool(buf: bytes, start: int, size: int) -> list[str]:
    header_size = _u16(buf, start + 2)
    count = _u32(buf, start + 8)
    flags = _u32(buf, start + 16)
    strings_start = _u32(buf, start + 20)
    end = start + size
    if header_size < 28 or count > (size // 4) or start + header_size + 4 * count > end:
        raise _AxmlError("string pool header is inconsistent")
    utf8 = bool(flags & 0x100)
    base = start + strings_start
    strings: list[str] = []
    # Offsets may all point at one long string: cap what decoding may cost in total.
    budget = 4 * size + 1024
    for i in range(count):
        off = base + _u32(buf, start + header_size + 4 * i)
        if off >= end:
            raise _AxmlError("string offset outside the pool")
        if utf8:
            # Two lengths (UTF-16 units, then bytes), each 1 or 2 bytes.
            off += 2 if buf[off] & 0x80 else 1
            if off >= end:
                raise _AxmlError("string outside the pool")
            n = buf[off]
            if n & 0x80:
                n = ((n & 0x7F) << 8) | buf[off + 1]
                off += 1
            off += 1
            if off + n > end:
                raise _AxmlError("string runs past the pool")
            budget -= n
            if budget < 0:
                raise _AxmlError("string pool decodes to implausibly much text")
            strings.append(buf[off : off + n].decode("utf-8", errors="replace"))
        else:
            n = _u16(buf, off)
            off += 2
            if n & 0x8000:
                n = ((n & 0x7FFF) << 16) | _u16(buf, off)
                off += 2
            if off + 2 * n > end:
                raise _AxmlError("string runs past the pool")
            budget -= 2 * n
            if budget < 0:
                raise _AxmlError("string pool decodes to implausibly much text")
            strings.append(buf[off : off + 2 * n].decode("utf-16-le", errors="replace"))
    return strings


def _string_at(strings: list[str], idx: int) -> str:
    if idx == 0xFFFFFFFF:
        return ""
    if idx >= len(strings):
        raise _AxmlError(f"string index {idx} out of range")
    return strings[idx]


def parse_axml(buf: bytes) -> list[tuple[int, str, dict[str, _Value], dict[int, _Value]]]:
    """Start elements of a binary XML document as (depth, name, attrs by name, attrs by id)."""
    if len(buf) < 8 or _u16(buf, 0) != 0x0003:
        raise _AxmlError("not binary XML (no RES_XML_TYPE header)")
    total = min(_u32(buf, 4), len(buf))
    strings: list[str] = []
    resmap: list[int] = []
    elements: list[tuple[int, str, dict[str, _Value], dict[int, _Value]]] = []
    depth = 0
    off = _u16(buf, 2)
    while off + 8 <= total:
        kind, header_size, size = _u16(buf, off), _u16(buf, off + 2), _u32(buf, off + 4)
        if size < 8 or header_size < 8 or header_size > size or off + size > total:
            raise _AxmlError(f"bad chunk size {size} at offset {off}")

        if kind == 0x0001:
            strings = _parse_string_pool(buf, off, size)
        elif kind == 0x0180:
            resmap = [_u32(buf, off + 8 + 4 * i) for i in range((size - 8) // 4)]
        elif kind == 0x0102:
            ext = off + header_size
            name = _string_at(strings, _u32(buf, ext + 4))
            attr_start, attr_size, count = (
                _u16(buf, ext + 8),
                _u16(buf, ext + 10),
                _u16(buf, ext + 12),
            )
            if attr_size < 20 or ext + attr_start + attr_size * count > off + size:
                raise _AxmlError(f"attributes of <{name}> run past their chunk")
            by_name: dict[str, _Value] = {}
            by_id: dict[int, _Value] = {}
            for i in range(count):
                a = ext + attr_start + i * attr_size
                name_idx = _u32(buf, a + 4)
                raw = _u32(buf, a + 8)
                value = _Value(
                    buf[a + 15],
                    _u32(buf, a + 16),
                    _string_at(strings, raw) if raw != 0xFFFFFFFF else None,
                )
                if value.vtype == _TYPE_STRING and value.string is None:
                    value = _Value(value.vtype, value.data, _string_at(strings, value.data))
                by_name[_string_at(strings, name_idx)] = value
                if name_idx < len(resmap):
                    by_id[resmap[name_idx]] = value
            elements.append((depth, name, by_name, by_id))
            depth += 1
            if depth > _MAX_DEPTH:
                raise _AxmlError("elements nested too deeply")
        elif kind == 0x0103:
            depth = max(0, depth - 1)
        off += size
    if not elements:
        raise _AxmlError("no elements")
    return elements


def _int_value(v: _Value | None, default: int) -> int:
    if v is None:
        return default
    if v.vtype in (_TYPE_INT_DEC, _TYPE_INT_HEX):
        return v.data - (1 << 32) if v.data & 0x80000000 else v.data
    if v.vtype == _TYPE_STRING and v.string is not None:
        try:
            return int(v.string)
        except ValueError:
            raise _AxmlError(f"{v.string!r} is not a number") from None
    return default


def _str_value(v: _Value | None) -> str | None:
    if v is None or v.vtype == _TYPE_REFERENCE:
        return None
    if v.string is not None:
        return v.string
    return str(v.data)


def _signing_cert(zf: zipfile.ZipFile, path: Path) -> str | None:
    for info in zf.infolist():
        name = info.filename.upper()
        if name.startswith("META-INF/") and name.endswith((".RSA", ".EC", ".DSA")):
            if info.file_size > MAX_SIGNATURE_BYTES:
                raise ArtifactError(str(path), msg.APK_ENTRY_TOO_LARGE.fill(entry=info.filename))
            with zf.open(info) as f:
                data = f.read(MAX_SIGNATURE_BYTES + 1)
            try:
                certs = pkcs7.load_der_pkcs7_certificates(data)
            except ValueError as exc:
                problem = msg.APK_NOT_PKCS7.fill(entry=info.filename)
                raise ArtifactError(str(path), problem) from exc
            if not certs:
                raise ArtifactError(str(path), msg.APK_NO_CERTIFICATE.fill(entry=info.filename))
            return _cert_digest(certs[0])
    return None


_SIG_BLOCK_MAGIC = b"APK Sig Block 42"
_SIG_BLOCK_IDS = (0x7109871A, 0xF05368C0)  # APK Signature Scheme v2, v3
MAX_SIG_BLOCK = 16 * 1024 * 1024


def _lp_at(buf: bytes, off: int) -> bytes:
    """The length-prefixed (u32 LE) field at ``off``, bounds-checked."""
    n = _u32(buf, off)
    if off + 4 + n > len(buf):
        raise _AxmlError("length-prefixed field runs past its block")
    return buf[off + 4 : off + 4 + n]


def _block_signing_cert(path: Path, size: int) -> str | None:
    """SHA-256 of the first signer's certificate in the APK Signing Block (v2/v3), if any."""
    with path.open("rb") as f:
        tail_len = min(size, 22 + 0xFFFF)
        f.seek(size - tail_len)
        tail = f.read(tail_len)
        i = tail.rfind(b"PK\x05\x06")
        if i < 0 or i + 22 > len(tail):
            return None
        cd_off = _u32(tail, i + 16)
        if cd_off < 32 or cd_off > size:
            return None
        f.seek(cd_off - 24)
        foot = f.read(24)
        if foot[8:] != _SIG_BLOCK_MAGIC:
            return None
        block_size = int(struct.unpack_from("<Q", foot)[0])
        if not 24 <= block_size <= min(MAX_SIG_BLOCK, cd_off - 8):
            raise _AxmlError(f"APK Signing Block size {block_size} is implausible")
        f.seek(cd_off - block_size - 8)
        block = f.read(block_size + 8)
    if struct.unpack_from("<Q", block)[0] != block_size:
        raise _AxmlError("APK Signing Block sizes disagree")
    pairs = block[8:-24]
    off = 0
    while off + 12 <= len(pairs):
        n = int(struct.unpack_from("<Q", pairs, off)[0])
        if n < 4 or off + 8 + n > len(pairs):
            raise _AxmlError("APK Signing Block entry runs past the block")
        if _u32(pairs, off + 8) in _SIG_BLOCK_IDS:
            value = pairs[off + 12 : off + 8 + n]
            signer = _lp_at(_lp_at(value, 0), 0)
            signed_data = _lp_at(signer, 0)
            digests = _lp_at(signed_data, 0)
            certs = _lp_at(signed_data, 4 + len(digests))
            der = _lp_at(certs, 0)
            try:
                return _cert_digest(x509.load_der_x509_certificate(der))
            except ValueError as exc:
                raise _AxmlError("the v2 signer's certificate does not parse") from exc
        off += 8 + n
    return None


def has_signing_block(path: Path) -> bool:
    """Whether ``path`` carries an APK Signing Block (v2+), which targetSdk >= 30 needs."""
    try:
        size = path.stat().st_size
        return _block_signing_cert(path, size) is not None
    except (OSError, _AxmlError):
        return False


def _cert_digest(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def read_apk(path: Path) -> ApkInfo:
    """Parse ``path``; raise :class:`ArtifactError` naming the file and what is wrong."""
    where = str(path)
    try:
        size = path.stat().st_size
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > _MAX_ZIP_ENTRIES:
                raise ArtifactError(where, msg.APK_TOO_MANY_ENTRIES)
            try:
                info = zf.getinfo("AndroidManifest.xml")
            except KeyError:
                raise ArtifactError(where, msg.APK_NO_MANIFEST) from None
            too_large = msg.APK_ENTRY_TOO_LARGE.fill(entry="AndroidManifest.xml")
            if info.file_size > MAX_MANIFEST_BYTES:
                raise ArtifactError(where, too_large)
            with zf.open(info) as f:
                manifest = f.read(MAX_MANIFEST_BYTES + 1)
            if len(manifest) > MAX_MANIFEST_BYTES:
                raise ArtifactError(where, too_large)
            v1_cert = _signing_cert(zf, path)
        try:
            cert = _block_signing_cert(path, size) or v1_cert
        except _AxmlError as exc:
            raise ArtifactError(where, msg.APK_SIGNATURE_BLOCK.fill(reason=exc)) from exc
    except FileNotFoundError:
        raise ArtifactError(where, msg.FILE_NOT_FOUND) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise ArtifactError(where, msg.NOT_ZIP.fill(reason=exc)) from exc
    except (OSError, RuntimeError, NotImplementedError, ValueError, zlib.error) as exc:
        # zipfile raises these for unreadable, encrypted or oddly compressed entries.
        raise ArtifactError(where, msg.UNREADABLE_ARCHIVE.fill(reason=exc)) from exc
    try:
        elements = parse_axml(manifest)
        _, root, attrs, ids = elements[0]
        if root != "manifest":
            raise _AxmlError(f"root element is <{root}>, not <manifest>")
        package = _str_value(attrs.get("package"))
        if not package:
            raise _AxmlError("<manifest> has no package attribute")
        version_code = _int_value(ids.get(_ATTR_VERSION_CODE), 1)
        version_name = _str_value(ids.get(_ATTR_VERSION_NAME)) or ""
        min_sdk, target_sdk, label = 1, 0, None
        for d, name, _, el_ids in elements[1:]:
            if d != 1:
                continue
            if name == "uses-sdk":
                min_sdk = _int_value(el_ids.get(_ATTR_MIN_SDK), 1)
                target_sdk = _int_value(el_ids.get(_ATTR_TARGET_SDK), min_sdk)
            elif name == "application":
                label = _str_value(el_ids.get(_ATTR_LABEL))
    except _AxmlError as exc:
        raise ArtifactError(where, msg.APK_MANIFEST_DAMAGED.fill(reason=exc)) from exc
    return ApkInfo(
        package=package,
        version_code=version_code,
        version_name=version_name,
        min_sdk=min_sdk,
        target_sdk=target_sdk or min_sdk,
        label=label or package,
        size=size,
        sha256=_file_sha256(path),
        signing_cert_sha256=cert,
    )
