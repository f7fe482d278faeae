"""Reader for iOS app packages (.ipa): the identity of the app inside, without unpacking it.

An .ipa is a zip with ``Payload/<Name>.app/Info.plist`` (XML or binary plist). Only the
Info.plist is decompressed, and only after its declared size and compression ratio look sane,
so a hostile archive cannot exhaust memory.
"""

from __future__ import annotations

import hashlib
import plistlib
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from station import messages as msg
from station.errors import ArtifactError

MAX_INFO_PLIST_BYTES = 4 * 1024 * 1024
MAX_ENTRIES = 200_000
MAX_TOTAL_BYTES = 32 * 1024**3  # larger than any app an iPad can hold
MAX_RATIO = 200  # uncompressed / compressed, for entries over 1 MiB

_INFO_PLIST = re.compile(r"^Payload/([^/]+)\.app/Info\.plist$")


@dataclass(frozen=True)
class IpaInfo:
    """What the station needs to know about one .ipa."""

    bundle_id: str
    version: str  # CFBundleVersion
    short_version: str  # CFBundleShortVersionString
    name: str
    minimum_os: str
    size: int  # bytes of the .ipa file
    installed_size: int  # bytes once unpacked on the device
    sha256: str
    executable: str = ""
    has_executable: bool = False


def _problem(path: Path, problem: str) -> ArtifactError:
    return ArtifactError(str(path), problem, hint=msg.IPA_HINT)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _text(info: dict[str, Any], key: str) -> str:
    value = info.get(key, "")
    return value if isinstance(value, str) else ""


def read_ipa(path: Path) -> IpaInfo:
    """Read the app identity from ``path``; ArtifactError naming the file if it is not an .ipa."""
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError as exc:
        raise _problem(path, msg.FILE_NOT_FOUND) from exc
    except (
        zipfile.BadZipFile,
        OSError,
        ValueError,
        EOFError,
        NotImplementedError,  # "zip file version 6.4": an entry needs a newer unzip
    ) as exc:
        raise _problem(path, msg.NOT_ZIP.fill(reason=exc)) from exc
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ENTRIES:
            raise _problem(path, msg.IPA_TOO_MANY_ENTRIES.fill(count=len(entries)))
        total = 0
        for entry in entries:
            total += entry.file_size
            if entry.file_size > 1024 * 1024 and entry.file_size > MAX_RATIO * max(
                entry.compress_size, 1
            ):
                raise _problem(path, msg.ZIP_BOMB.fill(entry=entry.filename))
        if total > MAX_TOTAL_BYTES:
            raise _problem(path, msg.IPA_TOO_LARGE.fill(size=total))
        names = [e.filename for e in entries]
        if not any(n.startswith("Payload/") and ".app/" in n for n in names):
            raise _problem(path, msg.IPA_NO_APP)
        plists = [e for e in entries if _INFO_PLIST.match(e.filename)]
        if not plists:
            raise _problem(path, msg.IPA_NO_INFO_PLIST)
        if len(plists) > 1:
            raise _problem(path, msg.IPA_SEVERAL_APPS)
        entry = plists[0]
        if entry.file_size > MAX_INFO_PLIST_BYTES:
            raise _problem(path, msg.INFO_PLIST_TOO_LARGE.fill(size=entry.file_size))
        try:
            with archive.open(entry) as handle:
                raw = handle.read(MAX_INFO_PLIST_BYTES + 1)
        except (
            zipfile.BadZipFile,
            OSError,
            RuntimeError,  # encrypted entry
            EOFError,
            ValueError,
            NotImplementedError,  # unsupported compression method
            zlib.error,
        ) as exc:
            raise _problem(path, msg.INFO_PLIST_UNEXTRACTABLE.fill(reason=exc)) from exc
        if len(raw) > MAX_INFO_PLIST_BYTES:
            raise _problem(path, msg.INFO_PLIST_LARGER)
        try:
            info = plistlib.loads(raw)
        except Exception as exc:  # boundary: plistlib raises many unrelated types on garbage
            raise _problem(path, msg.INFO_PLIST_NOT_PLIST.fill(reason=exc)) from exc
        if not isinstance(info, dict):
            raise _problem(path, msg.INFO_PLIST_NOT_DICT)
        bundle_id = _text(info, "CFBundleIdentifier")
        if not bundle_id:
            raise _problem(path, msg.INFO_PLIST_NO_BUNDLE_ID)
        match = _INFO_PLIST.match(entry.filename)
        app_dir = match.group(1) if match else ""
        executable = _text(info, "CFBundleExecutable")
        has_executable = bool(executable) and f"Payload/{app_dir}.app/{executable}" in names
        version = _text(info, "CFBundleVersion")
        return IpaInfo(
            bundle_id=bundle_id,
            version=version,
            short_version=_text(info, "CFBundleShortVersionString") or version,
            name=_text(info, "CFBundleDisplayName") or _text(info, "CFBundleName") or app_dir,
            minimum_os=_text(info, "MinimumOSVersion"),
            size=path.stat().st_size,
            installed_size=total,
            sha256=_sha256(path),
            executable=executable,
            has_executable=has_executable,
        )
