"""Reader for configuration profiles (.mobileconfig): XML, binary or CMS-signed plists.

The required keys follow Apple's Configuration Profile Reference: the outer dictionary has
``PayloadType`` "Configuration", ``PayloadIdentifier``, ``PayloadUUID``, ``PayloadVersion`` 1
and a ``PayloadContent`` list whose items each carry their own type, identifier, UUID and
version. A signed profile is a DER (or BER, as ``openssl smime`` writes it) PKCS#7 SignedData
wrapping the plist; the reader takes the content out without verifying the signature.

The small BER reader here is also what the emulated iPad uses to check CMS signatures
(:func:`parse_signed_data`), so both sides agree on what a SignedData is.
"""

from __future__ import annotations

import plistlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from station import messages as msg
from station.errors import ArtifactError

MAX_PROFILE_BYTES = 16 * 1024 * 1024

# MCProfileErrorDomain codes a real device reports for the same problems.
MALFORMED = 1000
UNSUPPORTED_VERSION = 1001
MISSING_FIELD = 1002
BAD_TYPE = 1003
EMPTY_PROFILE = 1005
DUPLICATE_UUID = 1007
DUPLICATE_IDENTIFIER = 1008

MDM_IDENTITY_TYPES = frozenset(
    {"com.apple.security.pkcs12", "com.apple.security.scep", "com.apple.security.acme"}
)


class ProfileError(ArtifactError):
    """A profile that is not valid; ``code`` is the MCProfileErrorDomain code for it."""

    def __init__(self, path: str, problem: str, *, code: int = MALFORMED) -> None:
        super().__init__(path, problem, hint=msg.PROFILE_HINT)
        self.code = code


@dataclass(frozen=True)
class PayloadInfo:
    type: str
    identifier: str
    uuid: str
    display_name: str
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class ProfileInfo:
    identifier: str
    uuid: str
    display_name: str
    version: int
    payloads: tuple[PayloadInfo, ...]
    signed: bool
    description: str = ""
    removal_disallowed: bool = False

    def has_payload(self, payload_type: str) -> bool:
        return any(p.type == payload_type for p in self.payloads)


# --- BER/DER -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Der:
    """One BER element: its identifier byte, its content and the whole encoding."""

    tag: int
    body: bytes
    raw: bytes

    @property
    def constructed(self) -> bool:
        return bool(self.tag & 0x20)

    def children(self) -> list[Der]:
        if not self.constructed:
            raise ValueError(f"element with tag {self.tag:#x} is not constructed")
        items = []
        offset = 0
        while offset < len(self.body):
            item, offset = read_der(self.body, offset)
            items.append(item)
        return items

    def octets(self) -> bytes:
        """Content of an OCTET STRING, joining BER's constructed chunks."""
        if self.tag == 0x04:
            return self.body
        if self.tag == 0x24:
            return b"".join(child.octets() for child in self.children())
        raise ValueError(f"expected an OCTET STRING, got tag {self.tag:#x}")


def read_der(data: bytes, offset: int = 0, *, depth: int = 0) -> tuple[Der, int]:
    """Read one element at ``offset``; returns it and the offset after it."""
    if depth > 32:
        raise ValueError("ASN.1 nesting is too deep")
    if offset + 2 > len(data):
        raise ValueError("truncated ASN.1 element")
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise ValueError("multi-byte ASN.1 tags are not used in CMS")
    first = data[offset + 1]
    pos = offset + 2
    if first == 0x80:  # BER indefinite length: children until end-of-contents
        if not tag & 0x20:
            raise ValueError("indefinite length on a primitive element")
        start = pos
        while True:
            if pos + 2 > len(data):
                raise ValueError("missing end-of-contents")
            if data[pos] == 0 and data[pos + 1] == 0:
                body = data[start:pos]
                pos += 2
                return Der(tag, body, data[offset:pos]), pos
            _, pos = read_der(data, pos, depth=depth + 1)
    if first & 0x80:
        count = first & 0x7F
        if count > 4 or pos + count > len(data):
            raise ValueError("bad ASN.1 length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    else:
        length = first
    end = pos + length
    if end > len(data):
        raise ValueError("ASN.1 element runs past the end")
    return Der(tag, data[pos:end], data[offset:end]), end


def decode_oid(element: Der) -> str:
    if element.tag != 0x06 or not element.body:
        raise ValueError("expected an OBJECT IDENTIFIER")
    body = element.body
    arcs: list[int] = []
    value = 0
    for byte in body:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(n) for n in [first, arcs[0] - 40 * first, *arcs[1:]])


OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"


@dataclass(frozen=True)
class SignerInfo:
    """One signer of a SignedData, as far as verifying it needs."""

    issuer: bytes | None  # DER Name, when identified by issuer and serial
    serial: int | None
    subject_key_id: bytes | None
    digest_oid: str
    signed_attrs: bytes | None  # DER of the attributes re-tagged as SET, what was signed
    message_digest: bytes | None
    signature_oid: str
    signature: bytes


@dataclass(frozen=True)
class SignedData:
    content_type: str
    content: bytes | None  # None when detached
    certificates: tuple[bytes, ...]
    signers: tuple[SignerInfo, ...]


def _signer(element: Der) -> SignerInfo:
    parts = element.children()
    if len(parts) < 5:
        raise ValueError("SignerInfo is too short")
    sid = parts[1]
    issuer = serial = ski = None
    if sid.tag == 0x30:
        issuer_el, serial_el = sid.children()[:2]
        issuer = issuer_el.raw
        serial = int.from_bytes(serial_el.body, "big", signed=True)
    elif sid.tag == 0x80:
        ski = sid.body
    else:
        raise ValueError("unknown signer identifier")
    digest_oid = decode_oid(parts[2].children()[0])
    index = 3
    signed_attrs = message_digest = None
    if parts[index].tag == 0xA0:
        attrs = parts[index]
        signed_attrs = b"\x31" + attrs.raw[1:] if attrs.raw[1] != 0x80 else None
        if signed_attrs is None:
            raise ValueError("signed attributes must be DER")
        for attr in attrs.children():
            oid_el, values = attr.children()[:2]
            if decode_oid(oid_el) == OID_MESSAGE_DIGEST:
                message_digest = values.children()[0].octets()
        index += 1
    signature_oid = decode_oid(parts[index].children()[0])
    signature = parts[index + 1].octets()
    return SignerInfo(
        issuer, serial, ski, digest_oid, signed_attrs, message_digest, signature_oid, signature
    )


def parse_signed_data(data: bytes) -> SignedData:
    """Parse a PKCS#7/CMS ContentInfo holding SignedData; ValueError when it is not one."""
    try:
        info, _ = read_der(data)
        if info.tag != 0x30:
            raise ValueError("not an ASN.1 SEQUENCE")
        content_type, wrapped = info.children()[:2]
        if decode_oid(content_type) != OID_SIGNED_DATA or wrapped.tag != 0xA0:
            raise ValueError("not a CMS SignedData")
        signed = wrapped.children()[0]
        parts = signed.children()
        encap = parts[2].children()
        econtent_type = decode_oid(encap[0])
        content = None
        if len(encap) > 1:
            if encap[1].tag != 0xA0:
                raise ValueError("bad encapsulated content")
            content = encap[1].children()[0].octets()
        certificates: list[bytes] = []
        index = 3
        while index < len(parts) and parts[index].tag in (0xA0, 0xA1):
            if parts[index].tag == 0xA0:
                certificates.extend(c.raw for c in parts[index].children() if c.tag == 0x30)
            index += 1
        if index >= len(parts) or parts[index].tag != 0x31:
            raise ValueError("SignedData has no signer infos")
        signers = tuple(_signer(s) for s in parts[index].children())
    except (IndexError, ValueError, RecursionError) as exc:
        raise ValueError(f"not a valid CMS SignedData: {exc}") from exc
    return SignedData(econtent_type, content, tuple(certificates), signers)


# --- profiles ------------------------------------------------------------------------------


def _unwrap(data: bytes, source: str) -> tuple[bytes, bool]:
    """The plist bytes and whether they came out of a CMS signature."""
    stripped = data.lstrip()
    if stripped.startswith((b"<?xml", b"<plist", b"<!DOCTYPE", b"bplist00")):
        # Leading whitespace is common in hand-written profiles (go-ios embeds one so).
        return stripped, False
    if data[:1] == b"\x30":
        try:
            signed = parse_signed_data(data)
        except ValueError as exc:
            raise ProfileError(source, msg.PROFILE_BAD_SIGNATURE.fill(reason=exc)) from exc
        if signed.content is None:
            raise ProfileError(source, msg.PROFILE_DETACHED)
        return signed.content, True
    raise ProfileError(source, msg.PROFILE_NOT_PLIST)


def _text(item: Mapping[str, Any], key: str, source: str, where: str) -> str:
    value = item.get(key)
    if value is None:
        problem = msg.PROFILE_MISSING_FIELD.fill(where=where, field=key)
        raise ProfileError(source, problem, code=MISSING_FIELD)
    if not isinstance(value, str) or not value:
        problem = msg.PROFILE_EMPTY_FIELD.fill(where=where, field=key)
        raise ProfileError(source, problem, code=BAD_TYPE)
    return value


def _version(item: Mapping[str, Any], source: str, where: str) -> int:
    value = item.get("PayloadVersion")
    if value is None:
        problem = msg.PROFILE_MISSING_FIELD.fill(where=where, field="PayloadVersion")
        raise ProfileError(source, problem, code=MISSING_FIELD)
    if not isinstance(value, int) or isinstance(value, bool):
        problem = msg.PROFILE_VERSION_NOT_INTEGER.fill(where=where)
        raise ProfileError(source, problem, code=BAD_TYPE)
    if value != 1:
        problem = msg.PROFILE_VERSION_NOT_1.fill(where=where, version=value)
        raise ProfileError(source, problem, code=UNSUPPORTED_VERSION)
    return value


def _check_mdm(payload: PayloadInfo, uuids: dict[str, str], source: str) -> None:
    """The MDM payload's required keys (MDM protocol reference)."""
    raw = payload.raw
    where = msg.WHERE_MDM_PAYLOAD.fill(identifier=payload.identifier)
    server = _text(raw, "ServerURL", source, where)
    if not server.startswith("https://"):
        raise ProfileError(source, msg.PROFILE_MDM_SERVER.fill(where=where), code=BAD_TYPE)
    topic = _text(raw, "Topic", source, where)
    if not topic.startswith("com.apple.mgmt."):
        raise ProfileError(source, msg.PROFILE_MDM_TOPIC.fill(where=where), code=BAD_TYPE)
    identity = _text(raw, "IdentityCertificateUUID", source, where)
    if uuids.get(identity) not in MDM_IDENTITY_TYPES:
        raise ProfileError(
            source,
            msg.PROFILE_MDM_IDENTITY.fill(where=where, uuid=identity),
            code=MISSING_FIELD,
        )
    rights = raw.get("AccessRights")
    if rights is None:
        problem = msg.PROFILE_MISSING_FIELD.fill(where=where, field="AccessRights")
        raise ProfileError(source, problem, code=MISSING_FIELD)
    if not isinstance(rights, int) or isinstance(rights, bool) or not 1 <= rights <= 8191:
        raise ProfileError(source, msg.PROFILE_MDM_RIGHTS.fill(where=where), code=BAD_TYPE)


def read_mobileconfig(data: bytes, *, source: str) -> ProfileInfo:
    """Parse and check a configuration profile; ProfileError (an ArtifactError) if invalid.

    Args:
        data: the file's bytes (XML, binary plist or DER/BER PKCS#7 around either).
        source: the file name or a description, used in error messages.
    """
    if len(data) > MAX_PROFILE_BYTES:
        raise ProfileError(source, msg.PROFILE_TOO_LARGE.fill(size=len(data)))
    if not data.strip():
        raise ProfileError(source, msg.PROFILE_EMPTY, code=EMPTY_PROFILE)
    body, signed = _unwrap(data, source)
    try:
        top = plistlib.loads(body)
    except Exception as exc:  # boundary: plistlib raises many unrelated types on garbage
        raise ProfileError(source, msg.PROFILE_UNREADABLE.fill(reason=exc)) from exc
    if not isinstance(top, dict):
        raise ProfileError(source, msg.PROFILE_NOT_DICT)
    kind = _text(top, "PayloadType", source, msg.WHERE_PROFILE)
    if kind != "Configuration":
        problem = msg.PROFILE_NOT_CONFIGURATION.fill(type=kind)
        raise ProfileError(source, problem, code=BAD_TYPE)
    identifier = _text(top, "PayloadIdentifier", source, msg.WHERE_PROFILE)
    profile_uuid = _text(top, "PayloadUUID", source, msg.WHERE_PROFILE)
    version = _version(top, source, msg.WHERE_PROFILE)
    content = top.get("PayloadContent")
    if content is None:
        raise ProfileError(source, msg.PROFILE_NO_CONTENT, code=MISSING_FIELD)
    if not isinstance(content, list):
        raise ProfileError(source, msg.PROFILE_CONTENT_NOT_LIST, code=BAD_TYPE)
    payloads: list[PayloadInfo] = []
    seen_uuids: dict[str, str] = {profile_uuid: "Configuration"}
    seen_ids: set[str] = set()
    for index, item in enumerate(content):
        where = msg.WHERE_PAYLOAD.fill(number=index + 1)
        if not isinstance(item, dict):
            raise ProfileError(source, msg.PROFILE_NOT_DICT_ITEM.fill(where=where), code=BAD_TYPE)
        info = PayloadInfo(
            type=_text(item, "PayloadType", source, where),
            identifier=_text(item, "PayloadIdentifier", source, where),
            uuid=_text(item, "PayloadUUID", source, where),
            display_name=str(item.get("PayloadDisplayName", "")),
            raw=item,
        )
        _version(item, source, where)
        if info.uuid in seen_uuids:
            problem = msg.PROFILE_REUSED_UUID.fill(where=where, uuid=info.uuid)
            raise ProfileError(source, problem, code=DUPLICATE_UUID)
        if info.identifier in seen_ids:
            raise ProfileError(
                source,
                msg.PROFILE_REUSED_IDENTIFIER.fill(where=where, identifier=info.identifier),
                code=DUPLICATE_IDENTIFIER,
            )
        seen_uuids[info.uuid] = info.type
        seen_ids.add(info.identifier)
        payloads.append(info)
    for info in payloads:
        if info.type == "com.apple.mdm":
            _check_mdm(info, seen_uuids, source)
    display = top.get("PayloadDisplayName", identifier)
    return ProfileInfo(
        identifier=identifier,
        uuid=profile_uuid,
        display_name=display if isinstance(display, str) else identifier,
        version=version,
        payloads=tuple(payloads),
        signed=signed,
        description=str(top.get("PayloadDescription", "")),
        removal_disallowed=top.get("PayloadRemovalDisallowed") is True,
    )
