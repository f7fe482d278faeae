"""The emulated iPad's com.apple.mobile.MCInstall: profiles, supervision, escalation, erase.

One plist request per message (``RequestType``); success is ``{Status: "Acknowledged"}``,
failure ``{Status: "Error", ErrorChain: [...]}`` with the error domains and codes of
ManagedConfiguration. Escalation is checked for real: the host signs the challenge with the
supervision identity (CMS SignedData) and the certificate must be one the cloud configuration
named as a supervisor.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import plistlib
import secrets
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from station.artifacts.mobileconfig import (
    ProfileError,
    ProfileInfo,
    SignedData,
    parse_signed_data,
    read_mobileconfig,
)
from station.sim.ios.afc import media_root
from station.sim.ios.device import InstalledProfile
from station.sim.ios.framing import FramingError, read_plist, write_plist
from station.sim.ios.services import ServiceContext

SERVICE_NAME = "com.apple.mobile.MCInstall"

log = logging.getLogger("station.sim.ios.mcinstall")

CLOUD_CONFIG_PRESENT = 14002

_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "1.3.14.3.2.26": hashes.SHA1,
    "2.16.840.1.101.3.4.2.1": hashes.SHA256,
    "2.16.840.1.101.3.4.2.2": hashes.SHA384,
    "2.16.840.1.101.3.4.2.3": hashes.SHA512,
}


class SignatureError(Exception):
    """A CMS signature that does not verify (or is not one)."""


def verify_cms(
    signed: bytes,
    *,
    detached_content: bytes | None = None,
    certificate: x509.Certificate | None = None,
) -> tuple[bytes, x509.Certificate]:
    """Verify a PKCS#7/CMS SignedData; returns the content and the signer's certificate.

    The signer's certificate is ``certificate`` or one carried in the SignedData, matched
    by issuer and serial (or subject key id). Both "signed attributes" and plain signatures
    are accepted, with RSA PKCS#1 v1.5 or ECDSA keys. Trust chains are not checked: callers
    decide which certificate they trust.
    """
    try:
        data: SignedData = parse_signed_data(signed)
    except ValueError as exc:
        raise SignatureError(str(exc)) from exc
    content = data.content if data.content is not None else detached_content
    if content is None:
        raise SignatureError("detached signature without content")
    candidates: list[x509.Certificate] = [certificate] if certificate is not None else []
    for der in data.certificates:
        with contextlib.suppress(ValueError):
            candidates.append(x509.load_der_x509_certificate(der))
    if not data.signers:
        raise SignatureError("no signer")
    for signer in data.signers:
        for cert in candidates:
            if signer.issuer is not None:
                if (
                    cert.issuer.public_bytes() != signer.issuer
                    or cert.serial_number != signer.serial
                ):
                    continue
            elif signer.subject_key_id is not None:
                try:
                    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
                except x509.ExtensionNotFound:
                    continue
                if ski.value.digest != signer.subject_key_id:
                    continue
            _verify_signer(
                signer.digest_oid,
                signer.signed_attrs,
                signer.message_digest,
                signer.signature,
                content,
                cert,
            )
            return content, cert
    raise SignatureError("no certificate matches the signer")


def _verify_signer(
    digest_oid: str,
    signed_attrs: bytes | None,
    message_digest: bytes | None,
    signature: bytes,
    content: bytes,
    cert: x509.Certificate,
) -> None:
    make_hash = _HASHES.get(digest_oid)
    if make_hash is None:
        raise SignatureError(f"unsupported digest {digest_oid}")
    algorithm = make_hash()
    if signed_attrs is not None:
        digest = hashes.Hash(make_hash())
        digest.update(content)
        if message_digest != digest.finalize():
            raise SignatureError("message digest does not match the content")
        to_verify = signed_attrs
    else:
        to_verify = content
    key = cert.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, to_verify, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, to_verify, ec.ECDSA(algorithm))
        else:
            raise SignatureError(f"unsupported key type {type(key).__name__}")
    except InvalidSignature as exc:
        raise SignatureError("signature does not verify") from exc


# --- replies -------------------------------------------------------------------------------


def _ack(**extra: Any) -> dict[str, Any]:
    return {"Status": "Acknowledged", **extra}


def _error(*chain: tuple[int, str, str]) -> dict[str, Any]:
    return {
        "Status": "Error",
        "ErrorChain": [
            {
                "ErrorCode": code,
                "ErrorDomain": domain,
                "LocalizedDescription": text,
                "USEnglishDescription": text,
            }
            for code, domain, text in chain
        ],
    }


def _install_failed(name: str, *cause: tuple[int, str, str]) -> dict[str, Any]:
    return _error(
        (4001, "MCInstallationErrorDomain", f"Profile Installation Failed: “{name}”"), *cause
    )


@dataclass
class _Session:
    """Per-connection state: escalation lives only as long as the connection."""

    challenge: bytes | None = None
    candidate: x509.Certificate | None = None
    escalated: bool = False


Handler = Callable[[ServiceContext, _Session, dict[str, Any]], Awaitable[dict[str, Any]]]


async def handle_mcinstall(ctx: ServiceContext) -> None:
    """Serve MCInstall requests until the client closes; garbage closes this connection."""
    session = _Session()
    try:
        while True:
            try:
                request = await read_plist(ctx.reader)
            except FramingError as exc:
                log.warning("%s: MCInstall closing on bad frame: %s", ctx.ipad.udid, exc)
                return
            if request is None:
                return
            kind = request.get("RequestType")
            handler = _HANDLERS.get(kind) if isinstance(kind, str) else None
            if handler is None:
                reply = _error(
                    (
                        4000,
                        "MCInstallationErrorDomain",
                        f"The request “{kind}” is not supported.",
                    )
                )
            else:
                reply = await handler(ctx, session, request)
            await write_plist(ctx.writer, reply)
            if kind == "EraseDevice" and reply.get("Status") == "Acknowledged":
                # The media partition goes with everything else; the host wipes the rest.
                await asyncio.to_thread(shutil.rmtree, media_root(ctx), True)
                ctx.host.schedule_restart(erase=True)
                return  # the device goes away: the connection drops, as on a real iPad
    except (ConnectionError, OSError) as exc:
        log.info("%s: MCInstall client went away: %s", ctx.ipad.udid, exc)
    finally:
        ctx.writer.close()


async def _hello(ctx: ServiceContext, session: _Session, request: dict[str, Any]) -> dict[str, Any]:
    return _ack()


async def _get_profile_list(
    ctx: ServiceContext, session: _Session, request: dict[str, Any]
) -> dict[str, Any]:
    manifest: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    for ident, prof in ctx.ipad.profiles.items():
        description = ""
        with contextlib.suppress(ProfileError):
            description = read_mobileconfig(prof.payload, source=ident).description
        manifest[ident] = {"Description": description or prof.display_name, "IsActive": True}
        metadata[ident] = {
            "PayloadDisplayName": prof.display_name,
            "PayloadRemovalDisallowed": prof.removal_disallowed,
            "PayloadUUID": prof.uuid,
            "PayloadVersion": prof.version,
        }
        if description:
            metadata[ident]["PayloadDescription"] = description
    return _ack(
        OrderedIdentifiers=list(ctx.ipad.profiles),
        ProfileManifest=manifest,
        ProfileMetadata=metadata,
    )


def _check_profile(ctx: ServiceContext, payload: Any) -> ProfileInfo | dict[str, Any]:
    """The parsed profile, or the error reply a device gives for it."""
    if not isinstance(payload, bytes):
        return _error((4000, "MCInstallationErrorDomain", "The profile could not be read."))
    try:
        info = read_mobileconfig(payload, source="profile")
    except ProfileError as exc:
        return _error(
            (4000, "MCInstallationErrorDomain", "The profile could not be read."),
            (exc.code, "MCProfileErrorDomain", f"The profile is invalid: {exc.problem}."),
        )
    if info.signed:
        try:
            verify_cms(payload)
        except SignatureError as exc:
            return _install_failed(
                info.display_name,
                (1004, "MCProfileErrorDomain", f"The profile signature is invalid: {exc}."),
            )
    if info.has_payload("com.apple.mdm"):
        for other in ctx.ipad.profiles.values():
            if other.identifier == info.identifier:
                continue
            with contextlib.suppress(ProfileError):
                if read_mobileconfig(other.payload, source=other.identifier).has_payload(
                    "com.apple.mdm"
                ):
                    return _install_failed(
                        info.display_name,
                        (
                            12002,
                            "MCMDMErrorDomain",
                            "An MDM profile is already installed on this device.",
                        ),
                    )
    return info


def _store_profile(ctx: ServiceContext, info: ProfileInfo, payload: bytes, *, silent: bool) -> None:
    # Same PayloadIdentifier replaces the installed profile, as on iOS.
    ctx.ipad.profiles[info.identifier] = InstalledProfile(
        identifier=info.identifier,
        uuid=info.uuid,
        display_name=info.display_name,
        version=info.version,
        payload=payload,
        removal_disallowed=info.removal_disallowed,
        silent=silent,
    )
    ctx.host.save()
    log.info("%s: installed profile %s", ctx.ipad.udid, info.identifier)


async def _install_profile(
    ctx: ServiceContext, session: _Session, request: dict[str, Any]
) -> dict[str, Any]:
    payload = request.get("Payload")
    checked = _check_profile(ctx, payload)
    if isinstance(checked, dict):
        return checked
    assert isinstance(payload, bytes)
    _store_profile(ctx, checked, payload, silent=False)
    return _ack()


async def _install_profile_silent(
    ctx: ServiceContext, session: _Session, request: dict[str, Any]
) -> dict[str, Any]:
    if not ctx.ipad.supervised:
        return _error(
            (
                4030,
                "MCInstallationErrorDomain",
                "Profiles can be installed silently only on supervised devices.",
            )
        )
    if not session.escalated:
        return _error(
            (
                4031,
                "MCInstallationErrorDomain",
                "The host is not authorized to install profiles silently.",
            )
        )
    payload = request.get("Payload")
    checked = _check_profile(ctx, payload)
    if isinstance(checked, dict):
        return checked
    assert isinstance(payload, bytes)
    _store_profile(ctx, checked, payload, silent=True)
    return _ack()


async def _remove_profile(
    ctx: ServiceContext, session: _Session, request: dict[str, Any]
) -> dict[str, Any]:
    raw = request.get("ProfileIdentifier")
    identifier: str | None = None
    if isinstance(raw, str):
        identifier = raw
    elif isinstance(raw, bytes):
        try:
            described = plistlib.loads(raw)
        except Exception:  # boundary: plistlib raises many unrelated types on garbage
            described = None
        if isinstance(described, dict) and isinstance(described.get("PayloadIdentifier"), str):
            identifier = described["PayloadIdentifier"]
    if identifier is None:
        return _error((4000, "MCInstallationErrorDomain", "The profile identifier is invalid."))
    profile = ctx.ipad.profiles.get(identifier)
    if profile is None:
        # iOS treats removing a profile that is not there as done.
        return _ack()
    if profile.removal_disallowed and not session.escalated:
        return _error(
            (
                4012,
                "MCInstallationErrorDomain",
                f"The profile “{profile.display_name}” cannot be removed.",
            )
        )
    del ctx.ipad.profiles[identifier]
    ctx.host.save()
    return _ack()


async def _get_cloud_configuration(
    ctx: ServiceContext, session: _Session, request: dict[str, Any]
) -> dict[str, Any]:
    if ctx.ipad.cloud_config is None:
        return _ack()
    return _ack(CloudConfiguration=ctx.ipad.cloud_config)


async def _set_cloud_configuration(
    ctx: ServiceContext, session: _Session, request: dict[str, Any]
) -> dict[str, Any]:
    if ctx.ipad.setup_done or ctx.ipad.cloud_config is not None:
        return _error(
            (
                CLOUD_CONFIG_PRESENT,
                "MCCloudConfigErrorDomain",
                "A cloud configuration is already present.",
            )
        )
    config = request.get("CloudConfiguration")
    if not isinstance(config, dict):
        return _error((4000, "MCInstallationErrorDomain", "The cloud configuration is invalid."))
    certs = config.get("SupervisorHostCertificates", [])
    if not isinstance(certs, list) or not all(isinstance(c, bytes) for c in certs):
        return _error(
            (
                4000,
                "MCInstallationErrorDomain",
                "SupervisorHostCertificates must be a list of data.",
            )
        )
    for der in certs:
        try:
            x509.load_der_x509_certificate(der)
        except ValueError:
            return _error(
                (4000, "MCInstallationErrorDomain", "A supervisor host certificate is invalid.")
            )
    ctx.ipad.cloud_config = config
    ctx.host.save()
    log.info("%s: cloud configuration set (supervised=%s)", ctx.ipad.udid, ctx.ipad.supervised)
    return _ack()


def _rejected() -> dict[str, Any]:
    return _error(
        (
            4026,
            "MCInstallationErrorDomain",
            "CertificateRejected: the supervisor certificate is not trusted by this device.",
        )
    )


async def _escalate(
    ctx: ServiceContext, session: _Session, request: dict[str, Any]
) -> dict[str, Any]:
    der = request.get("SupervisorCertificate")
    session.escalated = False
    session.challenge = None
    if not isinstance(der, bytes):
        return _rejected()
    try:
        session.candidate = x509.load_der_x509_certificate(der)
    except ValueError:
        return _rejected()
    session.challenge = secrets.token_bytes(32)
    return _ack(Challenge=session.challenge)


async def _escalate_response(
    ctx: ServiceContext, session: _Session, request: dict[str, Any]
) -> dict[str, Any]:
    signed = request.get("SignedRequest")
    challenge, cert = session.challenge, session.candidate
    session.challenge = None  # one attempt per challenge
    if challenge is None or cert is None or not isinstance(signed, bytes):
        return _error((4000, "MCInstallationErrorDomain", "No escalation is in progress."))
    try:
        content, _ = verify_cms(signed, detached_content=challenge, certificate=cert)
    except SignatureError as exc:
        log.info("%s: escalation signature rejected: %s", ctx.ipad.udid, exc)
        return _rejected()
    if content != challenge:
        return _rejected()
    trusted = (ctx.ipad.cloud_config or {}).get("SupervisorHostCertificates", [])
    if not ctx.ipad.supervised or cert.public_bytes(Encoding.DER) not in trusted:
        return _rejected()
    session.escalated = True
    return _ack()


async def _proceed(
    ctx: ServiceContext, session: _Session, request: dict[str, Any]
) -> dict[str, Any]:
    return _ack()


_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"


async def _settings(
    ctx: ServiceContext, session: _Session, request: dict[str, Any]
) -> dict[str, Any]:
    if not (session.escalated and ctx.ipad.supervised):
        return _error(
            (4031, "MCInstallationErrorDomain", "The host is not authorized to change settings.")
        )
    items = request.get("Settings")
    if not isinstance(items, list) or not items:
        return _error((4000, "MCInstallationErrorDomain", "The settings request is invalid."))
    changes: dict[int, str] = {}
    for item in items:
        if not isinstance(item, dict) or item.get("Item") != "Wallpaper":
            return _error((4000, "MCInstallationErrorDomain", "Unsupported settings item."))
        where, image = item.get("Where"), item.get("Image")
        if where not in (1, 2, 3) or isinstance(where, bool):
            return _error(
                (4000, "MCInstallationErrorDomain", "Wallpaper location must be 1, 2 or 3.")
            )
        if not isinstance(image, bytes) or not image.startswith((_PNG, _JPEG)):
            return _error(
                (4000, "MCInstallationErrorDomain", "The wallpaper is not a PNG or JPEG image.")
            )
        digest = hashlib.sha256(image).hexdigest()
        for spot in (1, 2) if where == 3 else (where,):
            changes[spot] = digest
    ctx.ipad.wallpapers.update(changes)
    ctx.host.save()
    return _ack()


async def _erase(ctx: ServiceContext, session: _Session, request: dict[str, Any]) -> dict[str, Any]:
    log.info(
        "%s: EraseDevice (PreserveDataPlan=%s)", ctx.ipad.udid, request.get("PreserveDataPlan")
    )
    return _ack()


_HANDLERS: dict[str, Handler] = {
    "HelloHostIdentifier": _hello,
    "Flush": _hello,
    "GetProfileList": _get_profile_list,
    "InstallProfile": _install_profile,
    "InstallProfileSilent": _install_profile_silent,
    "RemoveProfile": _remove_profile,
    "GetCloudConfiguration": _get_cloud_configuration,
    "SetCloudConfiguration": _set_cloud_configuration,
    "Escalate": _escalate,
    "EscalateResponse": _escalate_response,
    "ProceedWithKeybagMigration": _proceed,
    "Settings": _settings,
    "EraseDevice": _erase,
}
