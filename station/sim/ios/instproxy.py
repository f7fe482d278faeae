"""The emulated iPad's com.apple.mobile.installation_proxy: install, browse, look up, uninstall.

Install takes an .ipa the host staged over AFC (``PackagePath`` is relative to the media
root), checks it as installd does, then streams installd's real progress stages paced by the
model's unpack rate on the SimClock and ends with ``{Status: "Complete"}``; failures are
``{Error, ErrorDescription}`` with installd's error names.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable
from typing import Any

from station.artifacts.ipa import IpaInfo, read_ipa
from station.errors import ArtifactError
from station.sim.ios.afc import AfcFailure, media_root, resolve_media_path
from station.sim.ios.device import InstalledApp
from station.sim.ios.framing import FramingError, read_plist, write_plist
from station.sim.ios.services import ServiceContext

SERVICE_NAME = "com.apple.mobile.installation_proxy"

log = logging.getLogger("station.sim.ios.instproxy")

# installd's stages and the PercentComplete it reports with each (iOS 15-18).
INSTALL_STAGES: tuple[tuple[str, int], ...] = (
    ("CreatingStagingDirectory", 5),
    ("ExtractingPackage", 15),
    ("InspectingPackage", 20),
    ("TakingInstallLock", 20),
    ("PreflightingApplication", 30),
    ("InstallingEmbeddedProfile", 30),
    ("VerifyingApplication", 40),
    ("CreatingContainer", 50),
    ("InstallingApplication", 60),
    ("PostflightingApplication", 70),
    ("SandboxingApplication", 80),
    ("GeneratingApplicationMap", 90),
)
UNINSTALL_STAGES: tuple[tuple[str, int], ...] = (
    ("RemovingApplication", 50),
    ("GeneratingApplicationMap", 90),
)
BROWSE_CHUNK = 20

# A few of the system apps every iPad lists (bundle id, name, version).
SYSTEM_APPS: tuple[tuple[str, str], ...] = (
    ("com.apple.mobilesafari", "Safari"),
    ("com.apple.Preferences", "Settings"),
    ("com.apple.camera", "Camera"),
    ("com.apple.mobileslideshow", "Photos"),
    ("com.apple.AppStore", "App Store"),
    ("com.apple.DocumentsApp", "Files"),
)


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for part in text.split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def _app_record(ctx: ServiceContext, app: InstalledApp) -> dict[str, Any]:
    container = f"/private/var/containers/Bundle/Application/{_uuid_for(ctx, app.bundle_id)}"
    data = (
        f"/private/var/mobile/Containers/Data/Application/{_uuid_for(ctx, app.bundle_id + '/data')}"
    )
    return {
        "ApplicationType": "User",
        "CFBundleIdentifier": app.bundle_id,
        "CFBundleVersion": app.version,
        "CFBundleShortVersionString": app.short_version,
        "CFBundleDisplayName": app.name,
        "CFBundleName": app.name,
        "CFBundleExecutable": app.name.replace(" ", ""),
        "CFBundlePackageType": "APPL",
        "Path": f"{container}/{app.name}.app",
        "Container": data,
        "StaticDiskUsage": app.size,
        "DynamicDiskUsage": 0,
        "IsAppClip": False,
        "UIDeviceFamily": [1, 2],
        "SignerIdentity": "Apple iPhone OS Application Signing",
    }


def _system_record(ctx: ServiceContext, bundle_id: str, name: str) -> dict[str, Any]:
    return {
        "ApplicationType": "System",
        "CFBundleIdentifier": bundle_id,
        "CFBundleVersion": ctx.ipad.build_version,
        "CFBundleShortVersionString": ctx.ipad.product_version,
        "CFBundleDisplayName": name,
        "CFBundleName": name,
        "CFBundleExecutable": name.replace(" ", ""),
        "CFBundlePackageType": "APPL",
        "Path": f"/Applications/{name.replace(' ', '')}.app",
        "StaticDiskUsage": 0,
        "DynamicDiskUsage": 0,
        "IsAppClip": False,
        "UIDeviceFamily": [1, 2],
    }


def _uuid_for(ctx: ServiceContext, seed: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ctx.ipad.udid}/{seed}")).upper()


def _records(ctx: ServiceContext, app_type: Any) -> list[dict[str, Any]]:
    kind = app_type if isinstance(app_type, str) else "Any"
    records: list[dict[str, Any]] = []
    if kind in ("System", "Any"):
        records.extend(_system_record(ctx, bid, name) for bid, name in SYSTEM_APPS)
    if kind in ("User", "Any"):
        records.extend(_app_record(ctx, app) for app in ctx.ipad.apps.values())
    return records


def _filter(record: dict[str, Any], attributes: Any) -> dict[str, Any]:
    if not isinstance(attributes, list) or not attributes:
        return record
    keep: Iterable[str] = [a for a in attributes if isinstance(a, str)]
    return {k: record[k] for k in keep if k in record}


def _error(name: str, description: str, detail: int | None = None) -> dict[str, Any]:
    reply: dict[str, Any] = {"Error": name, "ErrorDescription": description}
    if detail is not None:
        reply["ErrorDetail"] = detail
    return reply


def _options(request: dict[str, Any]) -> dict[str, Any]:
    options = request.get("ClientOptions")
    return options if isinstance(options, dict) else {}


async def _browse(ctx: ServiceContext, request: dict[str, Any]) -> None:
    options = _options(request)
    records = [
        _filter(r, options.get("ReturnAttributes"))
        for r in _records(ctx, options.get("ApplicationType"))
    ]
    bundle_ids = options.get("BundleIDs")
    if isinstance(bundle_ids, list):
        records = [r for r in records if r.get("CFBundleIdentifier") in bundle_ids]
    total = len(records)
    for start in range(0, total, BROWSE_CHUNK):
        chunk = records[start : start + BROWSE_CHUNK]
        await write_plist(
            ctx.writer,
            {
                "CurrentIndex": start,
                "CurrentAmount": len(chunk),
                "Total": total,
                "CurrentList": chunk,
                "Status": "BrowsingApplications",
            },
        )
    await write_plist(ctx.writer, {"Status": "Complete"})


async def _lookup(ctx: ServiceContext, request: dict[str, Any]) -> None:
    options = _options(request)
    bundle_ids = options.get("BundleIDs")
    result: dict[str, Any] = {}
    for record in _records(ctx, options.get("ApplicationType")):
        bid = record["CFBundleIdentifier"]
        if isinstance(bundle_ids, list) and bid not in bundle_ids:
            continue
        result[bid] = _filter(record, options.get("ReturnAttributes"))
    await write_plist(ctx.writer, {"LookupResult": result, "Status": "Complete"})


async def _progress(ctx: ServiceContext, stages: Iterable[tuple[str, int]], seconds: float) -> None:
    stages = list(stages)
    for status, percent in stages:
        await write_plist(ctx.writer, {"PercentComplete": percent, "Status": status})
        await ctx.clock.sleep(seconds / len(stages))


async def _install(ctx: ServiceContext, request: dict[str, Any]) -> None:
    command = request.get("Command")
    package = request.get("PackagePath")
    if not isinstance(package, str) or not package:
        await write_plist(ctx.writer, _error("MissingPackagePath", "No PackagePath was given."))
        return
    try:
        path = resolve_media_path(media_root(ctx), package)
    except AfcFailure:
        await write_plist(ctx.writer, _error("InvalidPackagePath", f"Invalid path: {package}"))
        return
    if not path.is_file():
        await write_plist(
            ctx.writer,
            _error(
                "PackageExtractionFailed",
                f"Could not open package at path /var/mobile/Media/{package.lstrip('/')}: "
                "No such file or directory",
            ),
        )
        return
    await write_plist(ctx.writer, {"PercentComplete": 5, "Status": "CreatingStagingDirectory"})
    try:
        info: IpaInfo = await asyncio.to_thread(read_ipa, path)
    except ArtifactError as exc:
        name = (
            "PackageInspectionFailed" if "Info.plist" in exc.problem else "PackageExtractionFailed"
        )
        await write_plist(ctx.writer, _error(name, f"Failed to inspect package: {exc.problem}"))
        return
    old = ctx.ipad.apps.get(info.bundle_id)
    needed = info.installed_size - (old.size if old else 0)
    if needed > ctx.ipad.free_bytes:
        await write_plist(
            ctx.writer,
            _error(
                "APIInternalError",
                f'Error Domain=IXUserPresentableErrorDomain Code=11 "Unable to Install '
                f'“{info.name}”" UserInfo={{NSLocalizedFailureReason=This app can’t be '
                f"installed because there isn’t enough storage. Delete one or more apps, or "
                f"manage your storage in Settings. ({needed} bytes needed, "
                f"{ctx.ipad.free_bytes} free)}}",
                28,
            ),
        )
        return
    if info.minimum_os and _version_tuple(info.minimum_os) > _version_tuple(
        ctx.ipad.product_version
    ):
        await write_plist(
            ctx.writer,
            _error(
                "DeviceOSVersionTooLow",
                f"The system version is lower than the minimum OS version specified for "
                f"bundle at path {info.name}.app. ({ctx.ipad.product_version} < {info.minimum_os})",
            ),
        )
        return
    seconds = info.installed_size / ctx.ipad.model.install_bytes_per_s
    stages = INSTALL_STAGES[1:]
    await _progress(ctx, stages[:5], seconds * 0.5)
    if not info.has_executable:
        await write_plist(
            ctx.writer,
            _error(
                "ApplicationVerificationFailed",
                f"Failed to verify code signature of {info.name}.app : 0xe8008001 "
                "(An unknown error has occurred.)",
                -402620415,
            ),
        )
        return
    await _progress(ctx, stages[5:], seconds * 0.5)
    # Checked again now: another install may have used the space meanwhile (no await below).
    old = ctx.ipad.apps.get(info.bundle_id)
    needed = info.installed_size - (old.size if old else 0)
    if needed > ctx.ipad.free_bytes:
        await write_plist(
            ctx.writer,
            _error("APIInternalError", "copyfile failed: No space left on device", 28),
        )
        return
    ctx.ipad.apps[info.bundle_id] = InstalledApp(
        bundle_id=info.bundle_id,
        version=info.version,
        short_version=info.short_version,
        name=info.name,
        size=info.installed_size,
    )
    ctx.ipad.used_bytes += needed
    ctx.host.save()
    log.info("%s: %s %s %s", ctx.ipad.udid, command, info.bundle_id, info.version)
    await write_plist(ctx.writer, {"Status": "Complete"})


async def _uninstall(ctx: ServiceContext, request: dict[str, Any]) -> None:
    bundle_id = request.get("ApplicationIdentifier")
    if not isinstance(bundle_id, str) or not bundle_id:
        await write_plist(
            ctx.writer, _error("MissingBundleIdentifier", "No ApplicationIdentifier was given.")
        )
        return
    app = ctx.ipad.apps.get(bundle_id)
    await _progress(ctx, UNINSTALL_STAGES, 1.0)
    if app is not None:
        # installd logs "not found in user apps, ignoring" and completes for an unknown id.
        del ctx.ipad.apps[bundle_id]
        ctx.ipad.used_bytes = max(0, ctx.ipad.used_bytes - app.size)
        ctx.host.save()
    await write_plist(ctx.writer, {"Status": "Complete"})


async def handle_instproxy(ctx: ServiceContext) -> None:
    """Serve installation_proxy commands until the client closes."""
    try:
        while True:
            try:
                request = await read_plist(ctx.reader)
            except FramingError as exc:
                log.warning("%s: installation_proxy closing on bad frame: %s", ctx.ipad.udid, exc)
                return
            if request is None:
                return
            command = request.get("Command")
            if command in ("Install", "Upgrade"):
                await _install(ctx, request)
            elif command == "Browse":
                await _browse(ctx, request)
            elif command == "Lookup":
                await _lookup(ctx, request)
            elif command == "Uninstall":
                await _uninstall(ctx, request)
            else:
                await write_plist(
                    ctx.writer, _error("UnknownCommand", f"Unknown command: {command!r}")
                )
    except (ConnectionError, OSError) as exc:
        log.info("%s: installation_proxy client went away: %s", ctx.ipad.udid, exc)
    finally:
        ctx.writer.close()
