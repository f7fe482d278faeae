"""The Android Enterprise provisioning QR code that tablets scan in their setup wizard.

The payload is a JSON object whose keys are DevicePolicyManager's ``EXTRA_PROVISIONING_*``
constants (checked against the Android SDK's android.app.admin.DevicePolicyManager). Android 9+
reads it after six taps on the welcome screen, downloads the device-owner APK, checks its
SHA-256 against the payload and makes the admin component the device owner.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import segno

from station import messages
from station.artifacts.apk import read_apk
from station.blueprint import AndroidPlan
from station.errors import InputError
from station.secrets import SecretStore

_EXTRA = "android.app.extra.PROVISIONING_"
ADMIN_COMPONENT_NAME = _EXTRA + "DEVICE_ADMIN_COMPONENT_NAME"
PACKAGE_DOWNLOAD_LOCATION = _EXTRA + "DEVICE_ADMIN_PACKAGE_DOWNLOAD_LOCATION"
PACKAGE_CHECKSUM = _EXTRA + "DEVICE_ADMIN_PACKAGE_CHECKSUM"
SIGNATURE_CHECKSUM = _EXTRA + "DEVICE_ADMIN_SIGNATURE_CHECKSUM"
WIFI_SSID = _EXTRA + "WIFI_SSID"
WIFI_SECURITY_TYPE = _EXTRA + "WIFI_SECURITY_TYPE"
WIFI_PASSWORD = _EXTRA + "WIFI_PASSWORD"
WIFI_HIDDEN = _EXTRA + "WIFI_HIDDEN"
SKIP_ENCRYPTION = _EXTRA + "SKIP_ENCRYPTION"
LEAVE_ALL_SYSTEM_APPS_ENABLED = _EXTRA + "LEAVE_ALL_SYSTEM_APPS_ENABLED"
ADMIN_EXTRAS_BUNDLE = _EXTRA + "ADMIN_EXTRAS_BUNDLE"
LOCALE = _EXTRA + "LOCALE"
TIME_ZONE = _EXTRA + "TIME_ZONE"
USE_MOBILE_DATA = _EXTRA + "USE_MOBILE_DATA"  # Android 13 (API 33)

WIFI_SECURITY_TYPES = ("NONE", "WPA", "WEP", "EAP")
_JAVA_ID = r"[A-Za-z_$][A-Za-z0-9_$]*"
_COMPONENT_RE = re.compile(
    rf"(?P<pkg>{_JAVA_ID}(?:\.{_JAVA_ID})+)/(?P<cls>\.?{_JAVA_ID}(?:\.{_JAVA_ID})*)"
)

ExtraValue = str | int | float | bool | Mapping[str, Any]


def sha256_urlsafe(digest: bytes) -> str:
    """The checksum encoding provisioning expects: URL-safe base64 without '=' padding."""
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def package_checksum(apk_path: Path) -> str:
    """URL-safe base64 SHA-256 of the APK file, as the tablet computes it after downloading."""
    digest = hashlib.sha256()
    try:
        with apk_path.open("rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    except OSError as exc:
        problem = messages.APK_CANNOT_READ.fill(path=apk_path, reason=exc.strerror or exc)
        raise InputError(problem) from exc
    return sha256_urlsafe(digest.digest())


def _check_extras(extras: Mapping[str, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in extras.items():
        if not isinstance(key, str) or not key:
            raise InputError(f"{where}: keys must be non-empty strings, got {key!r}")
        if isinstance(value, Mapping):
            out[key] = _check_extras(value, f"{where}.{key}")
        elif isinstance(value, str | int | float | bool):
            out[key] = value
        else:
            raise InputError(
                f"{where}.{key}: {type(value).__name__} cannot go into a PersistableBundle",
                hint="use text, numbers, true/false or a nested table",
            )
    return out


def provisioning_payload(
    component: str,
    apk_path: Path,
    download_url: str,
    *,
    wifi_ssid: str | None = None,
    wifi_security: str | None = None,
    wifi_password: str | None = None,
    wifi_hidden: bool = False,
    skip_encryption: bool = False,
    leave_all_system_apps_enabled: bool = False,
    admin_extras: Mapping[str, ExtraValue] | None = None,
    locale: str | None = None,
    time_zone: str | None = None,
    use_mobile_data: bool = False,
    signature_checksum: bool = False,
) -> dict[str, Any]:
    """The provisioning JSON object for ``component`` from the APK at ``apk_path``.

    The APK is read (it must be one, and its package must be the component's) and hashed;
    ``download_url`` is where tablets fetch that same file. With ``signature_checksum`` the
    signing certificate's hash is sent instead of the file's, so the QR stays valid when a
    newer build of the same app replaces the file.

    Raises:
        InputError: naming what is wrong (component, APK, URL or Wi-Fi settings).
    """
    m = _COMPONENT_RE.fullmatch(component)
    if m is None:
        raise InputError(
            messages.OWNER_NOT_COMPONENT_NAME.fill(component=component),
            hint=messages.COMPONENT_HINT,
        )
    info = read_apk(apk_path)
    if m.group("pkg") != info.package:
        raise InputError(
            messages.OWNER_OTHER_PACKAGE.fill(
                component=component, package=m.group("pkg"), file=apk_path.name, app=info.package
            ),
            hint=messages.OWNER_PACKAGE_HINT,
        )
    url = urlparse(download_url)
    if url.scheme not in ("https", "http") or not url.hostname:
        raise InputError(
            messages.DOWNLOAD_URL_NOT_HTTP.fill(url=download_url),
            hint=messages.DOWNLOAD_URL_HINT,
        )
    payload: dict[str, Any] = {
        ADMIN_COMPONENT_NAME: component,
        PACKAGE_DOWNLOAD_LOCATION: download_url,
    }
    if signature_checksum:
        if info.signing_cert_sha256 is None:
            raise InputError(messages.APK_UNSIGNED.fill(path=apk_path))
        payload[SIGNATURE_CHECKSUM] = sha256_urlsafe(bytes.fromhex(info.signing_cert_sha256))
    else:
        payload[PACKAGE_CHECKSUM] = package_checksum(apk_path)
    if wifi_ssid:
        security = (wifi_security or ("WPA" if wifi_password else "NONE")).upper()
        if security not in WIFI_SECURITY_TYPES:
            raise InputError(
                messages.WIFI_SECURITY_UNKNOWN.fill(value=wifi_security),
                hint=messages.USE_ONE_OF_HINT.fill(choices=", ".join(WIFI_SECURITY_TYPES)),
            )
        if security == "NONE" and wifi_password:
            raise InputError(messages.WIFI_OPEN_WITH_PASSWORD.fill(name=wifi_ssid))
        if security != "NONE" and not wifi_password:
            raise InputError(messages.WIFI_NEEDS_PASSWORD.fill(name=wifi_ssid, security=security))
        payload[WIFI_SSID] = wifi_ssid
        payload[WIFI_SECURITY_TYPE] = security
        if wifi_password:
            payload[WIFI_PASSWORD] = wifi_password
        if wifi_hidden:
            payload[WIFI_HIDDEN] = True
    elif wifi_password or wifi_security:
        raise InputError(messages.WIFI_WITHOUT_AN_SSID)
    if skip_encryption:
        payload[SKIP_ENCRYPTION] = True
    if leave_all_system_apps_enabled:
        payload[LEAVE_ALL_SYSTEM_APPS_ENABLED] = True
    if locale:
        payload[LOCALE] = locale
    if time_zone:
        payload[TIME_ZONE] = time_zone
    if use_mobile_data:
        payload[USE_MOBILE_DATA] = True
    if admin_extras:
        payload[ADMIN_EXTRAS_BUNDLE] = _check_extras(admin_extras, "admin extras")
    return payload


def payload_for_plan(plan: AndroidPlan, download_url: str, **options: Any) -> dict[str, Any]:
    """The payload for a blueprint's device owner (its APK is among ``plan.apps``)."""
    if plan.device_owner is None:
        raise InputError(messages.NO_DEVICE_OWNER, hint=messages.DEVICE_OWNER_HINT)
    package = plan.device_owner.partition("/")[0]
    for app in plan.apps:
        if app.info.package == package:
            return provisioning_payload(plan.device_owner, app.path, download_url, **options)
    raise InputError(messages.OWNER_APP_NOT_LISTED.fill(package=package))


def payload_for_blueprint(plan: AndroidPlan, secrets: SecretStore) -> dict[str, Any]:
    """The payload from the blueprint's ``[android.provisioning]`` table.

    The Wi-Fi password is read from the station's secret store here, at the last moment: it
    goes into the QR and nowhere else (not the records, not the log).

    Raises:
        InputError: no such table, or its secret is not stored (SecretError says how to).
    """
    setup = plan.provisioning
    if setup is None:
        raise InputError(messages.NO_PROVISIONING, hint=messages.PROVISIONING_HINT)
    password = secrets.get(setup.wifi_password_secret) if setup.wifi_password_secret else None
    return payload_for_plan(
        plan,
        setup.download_url,
        wifi_ssid=setup.wifi_ssid,
        wifi_security=setup.wifi_security,
        wifi_password=password,
        wifi_hidden=setup.wifi_hidden,
        skip_encryption=setup.skip_encryption,
        leave_all_system_apps_enabled=setup.leave_all_system_apps_enabled,
        admin_extras=setup.admin_extras,
        locale=setup.locale,
        time_zone=setup.time_zone,
        use_mobile_data=setup.use_mobile_data,
        signature_checksum=setup.signature_checksum,
    )


def provisioning_json(payload: Mapping[str, Any]) -> str:
    """Compact ASCII JSON (non-ASCII escaped), the smallest QR that every reader parses."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True)


def provisioning_qr_png(payload: Mapping[str, Any], *, scale: int = 8) -> bytes:
    """The QR code as PNG, with the standard 4-module quiet zone, for a full-screen view."""
    qr = segno.make_qr(provisioning_json(payload), error="m")
    buf = io.BytesIO()
    qr.save(buf, kind="png", scale=scale, border=4)
    return buf.getvalue()
