"""Blueprints: one TOML file per school and year, validated completely before any device is touched.

Every problem is collected (not just the first) and reported as ``file:line key: problem,
expected ...``. Referenced apps and profiles are opened with the artifact readers; secrets are
referenced by name and must exist in the station's :class:`~station.secrets.SecretStore`.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import string
import tomllib
import urllib.parse
import zoneinfo
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from station import messages as msg
from station.artifacts.apk import ApkInfo, read_apk
from station.artifacts.ipa import IpaInfo, read_ipa
from station.artifacts.mobileconfig import ProfileInfo, read_mobileconfig
from station.errors import ArtifactError, BlueprintError, SecretError
from station.secrets import SecretStore, check_name

# Apple's Setup Assistant skip keys that apply to iOS/iPadOS, from the SkipKeys reference
# (apple/device-management, other/skipkeys.yaml). Value: the iOS version that introduced it,
# and "deprecated" where Apple marks it so. Keys for macOS/tvOS only are listed separately so
# a blueprint naming one gets a precise message.
IOS_SKIP_KEYS: Mapping[str, str] = {
    "ActionButton": "17.0",
    "Android": "9.0",
    "Appearance": "13.0",
    "AppleID": "7.0",
    "AppStore": "14.3",
    "Biometric": "8.1",
    "CameraButton": "18.0",
    "DeviceToDeviceMigration": "12.4",
    "Diagnostics": "7.0",
    "DisplayTone": "9.3.2, deprecated 15.0",
    "EnableLockdownMode": "17.1",
    "HomeButtonSensitivity": "10.0, deprecated 15.0",
    "iMessageAndFaceTime": "12.0",
    "Intelligence": "18.0",
    "Keyboard": "13.0",
    "Location": "7.0",
    "MessagingActivationUsingPhoneNumber": "10.0",
    "Multitasking": "26.0",
    "OnBoarding": "11.0, deprecated 14.0",
    "OSShowcase": "26.0",
    "Passcode": "7.0",
    "Payment": "8.1",
    "Privacy": "11.3",
    "Restore": "7.0",
    "RestoreCompleted": "14.0",
    "Safety": "16.0",
    "SafetyAndHandling": "18.4",
    "ScreenTime": "12.0",
    "SIMSetup": "12.0",
    "Siri": "7.0",
    "SoftwareUpdate": "12.0",
    "SpokenLanguage": "13.0",
    "TermsOfAddress": "16.0",
    "TOS": "7.0",
    "UpdateCompleted": "14.0",
    "WatchMigration": "11.0",
    "WebContentFiltering": "18.2",
    "Welcome": "13.0",
    "Zoom": "8.3, deprecated 17.0",
}
OTHER_OS_SKIP_KEYS = frozenset(
    {
        "Accessibility",
        "AdditionalPrivacySettings",
        "FileVault",
        "iCloudDiagnostics",
        "iCloudStorage",
        "ScreenSaver",
        "TapToSetup",
        "Tips",
        "TVHomeScreenSync",
        "TVProviderSignIn",
        "TVRoom",
        "UnlockWithWatch",
        "Wallpaper",
    }
)

PLACEHOLDERS = ("school.id", "school.name", "asset_tag", "serial", "slot", "model")
_UNIQUE_PLACEHOLDERS = ("asset_tag", "serial", "slot")
ERASE_POLICIES = ("never", "when-not-fresh", "always")
SETTINGS_NAMESPACES = ("global", "secure", "system")
DEFAULT_DEVICE_NAME = "{school.id}-{asset_tag}"

_SCHOOL_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
_JAVA_ID = r"[A-Za-z_$][A-Za-z0-9_$]*"
_PACKAGE_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)+")
_COMPONENT_RE = re.compile(rf"(?P<pkg>[^/\s]+)/(?P<cls>\.?{_JAVA_ID}(?:\.{_JAVA_ID})*)")
_SETTING_KEY_RE = re.compile(r"[A-Za-z0-9_]+(?:[.:-][A-Za-z0-9_]+)*")
_POSITION_RE = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")

InfoT = TypeVar("InfoT", IpaInfo, ApkInfo)
Key = tuple[str | int, ...]


@dataclass(frozen=True)
class School:
    id: str
    name: str
    operator: str


@dataclass(frozen=True)
class AssetTagScheme:
    """Tags are ``prefix`` + a number zero-padded to ``digits``, counting from ``start``."""

    prefix: str
    digits: int
    start: int = 1

    def format(self, number: int) -> str:
        return f"{self.prefix}{number:0{self.digits}d}"


@dataclass(frozen=True)
class AppRef(Generic[InfoT]):
    """An app file and what its reader found in it."""

    path: Path
    info: InfoT


@dataclass(frozen=True)
class ProfileRef:
    """A profile file; ``secrets`` maps payload keys (e.g. ``Password``) to secret names."""

    path: Path
    info: ProfileInfo
    sha256: str
    secrets: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FileRef:
    """A file pushed to an Android tablet."""

    src: Path
    dest: str
    sha256: str
    size: int


@dataclass(frozen=True)
class SupervisePlan:
    organization: str
    identity: str  # secret name of the PEM certificate + key


@dataclass(frozen=True)
class IosPlan:
    erase: str = "when-not-fresh"
    supervise: SupervisePlan | None = None
    skip_setup: tuple[str, ...] = tuple(IOS_SKIP_KEYS)
    profiles: tuple[ProfileRef, ...] = ()
    apps: tuple[AppRef[IpaInfo], ...] = ()
    rename: bool = True


@dataclass(frozen=True)
class AndroidFinish:
    disable_usb_debugging: bool = False
    reboot: bool = False


@dataclass(frozen=True)
class AndroidProvisioning:
    """``[android.provisioning]``: what the enrollment QR tells a tablet in its setup wizard.

    The Wi-Fi password is the name of a station secret, never the password itself.
    """

    download_url: str
    wifi_ssid: str | None = None
    wifi_security: str | None = None  # NONE, WPA or WEP; None: WPA with a password, else NONE
    wifi_password_secret: str | None = None
    wifi_hidden: bool = False
    skip_encryption: bool = False
    leave_all_system_apps_enabled: bool = False
    use_mobile_data: bool = False
    locale: str | None = None
    time_zone: str | None = None
    signature_checksum: bool = False
    admin_extras: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AndroidPlan:
    apps: tuple[AppRef[ApkInfo], ...] = ()
    device_owner: str | None = None
    settings: Mapping[str, str] = field(default_factory=dict)  # "namespace.key" -> value
    files: tuple[FileRef, ...] = ()
    rename: bool = True
    finish: AndroidFinish = AndroidFinish()
    provisioning: AndroidProvisioning | None = None


@dataclass(frozen=True)
class Timeouts:
    """Seconds."""

    step: float = 300.0
    install: float = 900.0
    erase: float = 1800.0
    reconnect: float = 600.0


@dataclass(frozen=True)
class Retries:
    attempts: int = 2
    backoff: float = 5.0


@dataclass(frozen=True)
class Blueprint:
    path: Path
    name: str
    school: School
    asset_tag: AssetTagScheme
    device_name: str
    ios: IosPlan | None
    android: AndroidPlan | None
    timeouts: Timeouts
    retries: Retries
    content_hash: str  # sha256 over the file and every referenced file, for the records

    def secret_names(self) -> tuple[str, ...]:
        names: list[str] = []
        if self.ios is not None:
            if self.ios.supervise is not None:
                names.append(self.ios.supervise.identity)
            for profile in self.ios.profiles:
                names.extend(profile.secrets.values())
        provisioning = self.android.provisioning if self.android is not None else None
        if provisioning is not None and provisioning.wifi_password_secret is not None:
            names.append(provisioning.wifi_password_secret)
        return tuple(dict.fromkeys(names))

    def render_device_name(
        self, *, asset_tag: str = "", serial: str = "", slot: str | int = "", model: str = ""
    ) -> str:
        return render_device_name(
            self.device_name,
            school=self.school,
            asset_tag=asset_tag,
            serial=serial,
            slot=slot,
            model=model,
        )


@dataclass(frozen=True)
class Issue:
    """One problem: where (file, line, key) and what was expected."""

    file: str
    line: int
    key: str
    problem: str
    expected: str = ""
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where} {self.key}: {self.problem}" if self.key else f"{where}: {self.problem}"
        if self.expected:
            text += f", expected {self.expected}"
        if self.hint:
            text += f" ({self.hint})"
        return text


class InvalidBlueprint(BlueprintError):
    """A blueprint with one or more problems; ``issues`` lists every one of them."""

    def __init__(self, path: Path, issues: Sequence[Issue]) -> None:
        self.issues = tuple(sorted(issues, key=lambda issue: issue.line))
        count = len(self.issues)
        self.summary = msg.ONE_PROBLEM if count == 1 else msg.PROBLEMS.fill(count=count)
        body = "\n".join(f"  {issue}" for issue in self.issues)
        super().__init__(
            str(path),
            f"{self.summary}:\n{body}",
            hint=msg.FIX_BLUEPRINT_HINT,
        )

    def __str__(self) -> str:
        # The hint goes in the heading: after the list it would read as the last issue's.
        body = "\n".join(f"  {issue}" for issue in self.issues)
        return f"{self.location}: {self.summary} ({self.hint}):\n{body}"


def render_device_name(
    template: str,
    *,
    school: School,
    asset_tag: str = "",
    serial: str = "",
    slot: str | int = "",
    model: str = "",
) -> str:
    """Fill a validated device-name template (``{school.id}-{asset_tag}`` and the like)."""
    values = {
        "school.id": school.id,
        "school.name": school.name,
        "asset_tag": asset_tag,
        "serial": serial,
        "slot": str(slot),
        "model": model,
    }
    out: list[str] = []
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        out.append(literal)
        if name is not None:
            if name not in values:
                raise BlueprintError("device_name", msg.UNKNOWN_PLACEHOLDER.fill(name=name))
            out.append(values[name])
    return "".join(out).strip()


def template_problems(template: str) -> list[str]:
    """What is wrong with a device-name template (empty list: nothing)."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        return [msg.TEMPLATE_SYNTAX.fill(reason=exc)]
    problems: list[str] = []
    names: list[str] = []
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            close = difflib.get_close_matches(name, PLACEHOLDERS, n=1)
            problems.append(
                msg.UNKNOWN_PLACEHOLDER_SUGGESTION.fill(name=name, suggestion=close[0])
                if close
                else msg.UNKNOWN_PLACEHOLDER.fill(name=name)
            )
        elif spec or conversion:
            problems.append(msg.PLACEHOLDER_NO_FORMAT.fill(name=name))
        names.append(name)
    if not problems and not any(n in _UNIQUE_PLACEHOLDERS for n in names):
        problems.append(msg.SAME_DEVICE_NAME)
    return problems


def _key_text(key: Key) -> str:
    out = ""
    for part in key:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            bare = re.fullmatch(r"[A-Za-z0-9_-]+", part)
            text = part if bare else f'"{part}"'
            out += f".{text}" if out else text
    return out


class _KeyLines:
    """Finds the line of a key in TOML text by scanning it (tomllib reports no positions)."""

    _KEY = r'(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|\'[^\']*\')'
    _DOTTED = rf"{_KEY}(?:\s*\.\s*{_KEY})*"

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.where: dict[tuple[str, ...], int] = {}
        prefix: tuple[str, ...] = ()
        header = re.compile(rf"^\s*\[\[?\s*({self._DOTTED})\s*\]\]?")
        assign = re.compile(rf"^\s*({self._DOTTED})\s*=")
        inner = re.compile(rf"[{{,]\s*({self._DOTTED})\s*=")
        for number, line in enumerate(self.lines, start=1):
            if m := header.match(line):
                prefix = self._split(m.group(1))
                self.where.setdefault(prefix, number)
            elif m := assign.match(line):
                path = prefix + self._split(m.group(1))
                self.where.setdefault(path, number)
                for sub in inner.finditer(line, m.end()):
                    self.where.setdefault(path + self._split(sub.group(1)), number)

    def _split(self, dotted: str) -> tuple[str, ...]:
        parts = re.findall(self._KEY, dotted)
        return tuple(p[1:-1] if p[:1] in "\"'" else p for p in parts)

    def line(self, key: Key, value: object = None) -> int:
        names = tuple(p for p in key if isinstance(p, str))
        if names in self.where and len(names) == len(key):
            return self.where[names]
        for cut in range(len(names), 0, -1):
            if names[:cut] in self.where:
                base = self.where[names[:cut]]
                break
        else:
            return 0
        if isinstance(value, str) and value:
            window = self.lines[base - 1 : base + 500]
            escaped = re.escape(value)
            # Best evidence first: the value as a quoted string, then as a key, then anywhere.
            for pattern in (
                rf'"{escaped}"',
                rf"'{escaped}'",
                rf"(?:^|[{{,\s]){escaped}\s*=",
                escaped,
            ):
                for offset, text in enumerate(window):
                    if re.search(pattern, text):
                        return base + offset
        return base


class _Checker:
    """Collects issues while the blueprint is checked; every check goes on after a failure."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.filename = str(path)
        self.lines = _KeyLines(text)
        self.issues: list[Issue] = []

    def issue(
        self, key: Key, problem: str, expected: str = "", *, value: object = None, hint: str = ""
    ) -> None:
        self.issues.append(
            Issue(
                self.filename, self.lines.line(key, value), _key_text(key), problem, expected, hint
            )
        )

    # --- generic shapes ---------------------------------------------------------------------

    def table(
        self,
        data: object,
        key: Key,
        known: Sequence[str],
        required: Sequence[str] = (),
    ) -> dict[str, Any] | None:
        if not isinstance(data, dict):
            self.issue(key, _is_kind(data), msg.KIND_TABLE)
            return None
        # An inline table inside an array has no key of its own to find: use its first string.
        anchor = next((v for v in data.values() if isinstance(v, str) and v), None)
        for name in data:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
                if close:
                    self.issue(
                        (*key, name),
                        msg.UNKNOWN_KEY_SUGGESTION.fill(suggestion=close[0]),
                        value=name,
                    )
                else:
                    self.issue(
                        (*key, name),
                        msg.UNKNOWN_KEY,
                        msg.EXPECT_ONE_OF.fill(choices=", ".join(known)),
                        value=name,
                    )
        for name in required:
            if name not in data:
                self.issue(key, msg.MISSING_KEY.fill(key=name), value=anchor)
        return data

    def text(
        self,
        data: object,
        key: Key,
        *,
        pattern: re.Pattern[str] | None = None,
        what: str = msg.EXPECT_NON_EMPTY,
    ) -> str | None:
        if not isinstance(data, str) or not data.strip():
            self.issue(key, _is_kind(data), what)
            return None
        if "\x00" in data or "\n" in data:
            self.issue(key, msg.CONTROL_CHARACTER, what)
            return None
        if pattern is not None and not pattern.fullmatch(data):
            self.issue(key, msg.WRONG_FORM.fill(value=data), what, value=data)
            return None
        return data

    def boolean(self, data: object, key: Key) -> bool | None:
        if not isinstance(data, bool):
            self.issue(key, _is_kind(data), msg.EXPECT_TRUE_FALSE)
            return None
        return data

    def integer(self, data: object, key: Key, low: int, high: int) -> int | None:
        if isinstance(data, bool) or not isinstance(data, int) or not low <= data <= high:
            self.issue(key, _is_kind(data), msg.EXPECT_WHOLE_NUMBER_RANGE.fill(low=low, high=high))
            return None
        return data

    def number(self, data: object, key: Key, low: float, high: float) -> float | None:
        if isinstance(data, bool) or not isinstance(data, int | float) or not (low <= data <= high):
            self.issue(
                key,
                _is_kind(data),
                msg.EXPECT_SECONDS_RANGE.fill(low=f"{low:g}", high=f"{high:g}"),
            )
            return None
        return float(data)

    def array(self, data: object, key: Key) -> list[Any]:
        if not isinstance(data, list):
            self.issue(key, _is_kind(data), msg.KIND_ARRAY)
            return []
        return data

    def file(self, data: object, key: Key, suffixes: Sequence[str]) -> Path | None:
        """A readable file, relative to the blueprint's folder."""
        expected = msg.EXPECT_FILE_OF_TYPE.fill(suffix=", ".join(suffixes))
        raw = self.text(data, key, what=expected)
        if raw is None:
            return None
        if not raw.lower().endswith(tuple(suffixes)):
            self.issue(key, msg.WRONG_FILE_TYPE.fill(file=raw), expected, value=raw)
            return None
        path = Path(raw)
        if not path.is_absolute():
            path = self.path.parent / path
        try:
            exists = path.is_file()
        except OSError as exc:
            problem = msg.CANNOT_OPEN.fill(file=raw, reason=exc.strerror)
            self.issue(key, problem, expected, value=raw)
            return None
        if not exists:
            problem = msg.FILE_MISSING.fill(file=raw, path=path)
            self.issue(key, problem, expected, value=raw)
            return None
        return path

    def secret(self, name: object, key: Key, secrets: SecretStore | None) -> str | None:
        expected = msg.EXPECT_SECRET_NAME
        value = self.text(name, key, what=expected)
        if value is None:
            return None
        try:
            check_name(value)
        except SecretError as exc:
            self.issue(key, exc.message, expected, value=value, hint=exc.hint)
            return None
        if secrets is not None:
            try:
                stored = secrets.has(value)
            except SecretError as exc:
                self.issue(key, exc.message, expected, value=value, hint=exc.hint)
                return value
            if not stored:
                self.issue(
                    key,
                    msg.SECRET_NOT_STORED.fill(name=value),
                    value=value,
                    hint=msg.STORE_SECRET_HINT.fill(name=value),
                )
        return value


def _kind(value: object) -> str:
    """What a value is, in words; with the value itself when it is short."""
    names: dict[type, tuple[msg.Template, msg.Template | None]] = {
        str: (msg.KIND_STRING, msg.KIND_STRING_VALUE),
        bool: (msg.KIND_BOOLEAN, msg.KIND_BOOLEAN_VALUE),
        int: (msg.KIND_WHOLE_NUMBER, msg.KIND_WHOLE_NUMBER_VALUE),
        float: (msg.KIND_NUMBER, msg.KIND_NUMBER_VALUE),
        list: (msg.KIND_ARRAY, None),
        dict: (msg.KIND_TABLE, None),
    }
    if isinstance(value, str) and not value.strip():
        return msg.KIND_EMPTY
    for kind, (name, with_value) in names.items():
        if type(value) is kind:
            if with_value is not None and len(repr(value)) < 40:
                return with_value.fill(value=repr(value))
            return name
    return msg.KIND_OTHER.fill(type=type(value).__name__)


def _is_kind(value: object) -> str:
    """The problem "is a string 'x'" for a value of the wrong kind."""
    return msg.IS_KIND.fill(kind=_kind(value))


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


TOP_KEYS = ("name", "school", "asset_tag", "device_name", "ios", "android", "timeouts", "retries")
SCHOOL_KEYS = ("id", "name", "operator")
ASSET_TAG_KEYS = ("prefix", "digits", "start")
IOS_KEYS = ("erase", "supervise", "skip_setup", "profiles", "apps", "rename")
SUPERVISE_KEYS = ("organization", "identity")
PROFILE_KEYS = ("path", "secrets")
ANDROID_KEYS = ("apps", "device_owner", "settings", "files", "rename", "finish", "provisioning")
PROVISIONING_KEYS = (
    "download_url",
    "wifi_ssid",
    "wifi_security",
    "wifi_password_secret",
    "wifi_hidden",
    "skip_encryption",
    "leave_all_system_apps_enabled",
    "use_mobile_data",
    "locale",
    "time_zone",
    "signature_checksum",
    "admin_extras",
)
# AOSP's EXTRA_PROVISIONING_WIFI_SECURITY_TYPE also knows EAP, which needs an EAP method,
# identity and certificates the QR cannot carry from here yet.
PROVISIONING_WIFI_SECURITY = ("NONE", "WPA", "WEP")
_PROVISIONING_FLAGS = (
    "wifi_hidden",
    "skip_encryption",
    "leave_all_system_apps_enabled",
    "use_mobile_data",
    "signature_checksum",
)
_LOCALE_RE = re.compile(r"[a-z]{2,3}(?:_[A-Z]{2})?")
FILE_KEYS = ("src", "dest")
FINISH_KEYS = ("disable_usb_debugging", "reboot")
TIMEOUT_KEYS = ("step", "install", "erase", "reconnect")
RETRY_KEYS = ("attempts", "backoff")


def load_blueprint(path: Path, *, secrets: SecretStore | None = None) -> Blueprint:
    """Read and check a blueprint and every file it references.

    Raises:
        InvalidBlueprint (a BlueprintError): listing every problem found.
    """
    try:
        raw = path.read_bytes()
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        issue = Issue(str(path), 0, "", msg.CANNOT_READ.fill(reason=reason))
        raise InvalidBlueprint(path, [issue]) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        issue = Issue(str(path), line, "", msg.NOT_UTF8, msg.EXPECT_UTF8)
        raise InvalidBlueprint(path, [issue]) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        m = _POSITION_RE.search(message)
        line = int(m.group(1)) if m else 0
        if m:
            message = msg.TOML_COLUMN.fill(reason=message[: m.start()], column=m.group(2))
        issue = Issue(str(path), line, "", msg.NOT_TOML.fill(reason=message))
        raise InvalidBlueprint(path, [issue]) from exc
    except RecursionError as exc:
        issue = Issue(str(path), 0, "", msg.TOML_TOO_DEEP)
        raise InvalidBlueprint(path, [issue]) from exc
    check = _Checker(path, text)
    blueprint = _build(check, data, raw, secrets)
    if check.issues or blueprint is None:
        raise InvalidBlueprint(path, check.issues)
    return blueprint


def _build(
    check: _Checker, data: dict[str, Any], raw: bytes, secrets: SecretStore | None
) -> Blueprint | None:
    check.table(data, (), TOP_KEYS, required=("name", "school", "asset_tag"))
    name = check.text(data["name"], ("name",)) if "name" in data else None
    school = _school(check, data["school"]) if "school" in data else None
    scheme = _asset_tag(check, data["asset_tag"]) if "asset_tag" in data else None
    device_name = data.get("device_name", DEFAULT_DEVICE_NAME)
    if check.text(device_name, ("device_name",), what=msg.EXPECT_NAME_TEMPLATE) is not None:
        names = ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)
        for problem in template_problems(device_name):
            check.issue(("device_name",), problem, msg.EXPECT_PLACEHOLDERS.fill(placeholders=names))
    hashes: list[tuple[str, str]] = []
    ios = _ios(check, data["ios"], secrets, hashes) if "ios" in data else None
    android = _android(check, data["android"], hashes, secrets) if "android" in data else None
    if "ios" not in data and "android" not in data:
        check.issue((), msg.NO_PLATFORM)
    timeouts = Timeouts()
    if "timeouts" in data:
        timeouts = (
            _plain(check, data["timeouts"], ("timeouts",), Timeouts, TIMEOUT_KEYS) or timeouts
        )
    retries = Retries()
    if "retries" in data:
        retries = _retries(check, data["retries"]) or retries
    if check.issues or name is None or school is None or scheme is None:
        return None
    digest = hashlib.sha256(b"blueprint\0" + raw)
    for label, file_hash in hashes:
        digest.update(f"\0{label}\0{file_hash}".encode())
    return Blueprint(
        path=check.path,
        name=name,
        school=school,
        asset_tag=scheme,
        device_name=device_name,
        ios=ios,
        android=android,
        timeouts=timeouts,
        retries=retries,
        content_hash=digest.hexdigest(),
    )


def _school(check: _Checker, data: object) -> School | None:
    table = check.table(data, ("school",), SCHOOL_KEYS, required=SCHOOL_KEYS)
    if table is None:
        return None
    school_id = (
        check.text(
            table.get("id"),
            ("school", "id"),
            pattern=_SCHOOL_ID_RE,
            what=msg.EXPECT_SCHOOL_ID,
        )
        if "id" in table
        else None
    )
    name = check.text(table["name"], ("school", "name")) if "name" in table else None
    operator = (
        check.text(table["operator"], ("school", "operator")) if "operator" in table else None
    )
    if school_id is None or name is None or operator is None:
        return None
    return School(school_id, name, operator)


def _asset_tag(check: _Checker, data: object) -> AssetTagScheme | None:
    key: Key = ("asset_tag",)
    table = check.table(data, key, ASSET_TAG_KEYS, required=("prefix", "digits"))
    if table is None:
        return None
    prefix = table.get("prefix")
    if "prefix" in table and (
        not isinstance(prefix, str) or not re.fullmatch(r"[A-Za-z0-9._/-]{0,24}", prefix)
    ):
        check.issue((*key, "prefix"), _is_kind(prefix), msg.EXPECT_TAG_PREFIX)
        prefix = None
    digits = check.integer(table["digits"], (*key, "digits"), 1, 12) if "digits" in table else None
    start: int | None = 1
    if "start" in table:
        start = check.integer(table["start"], (*key, "start"), 0, 10**12 - 1)
        if start is not None and digits is not None and start >= 10**digits:
            check.issue((*key, "start"), msg.TOO_MANY_DIGITS.fill(number=start, digits=digits))
            start = None
    if not isinstance(prefix, str) or digits is None or start is None:
        return None
    return AssetTagScheme(prefix, digits, start)


def _ios(
    check: _Checker, data: object, secrets: SecretStore | None, hashes: list[tuple[str, str]]
) -> IosPlan | None:
    key: Key = ("ios",)
    table = check.table(data, key, IOS_KEYS)
    if table is None:
        return None
    erase = table.get("erase", "when-not-fresh")
    if erase not in ERASE_POLICIES:
        choices = ", ".join(map(repr, ERASE_POLICIES))
        check.issue((*key, "erase"), _is_kind(erase), msg.EXPECT_ONE_OF.fill(choices=choices))
    supervise = None
    if "supervise" in table and table["supervise"] is not False:
        supervise = _supervise(check, table["supervise"], secrets)
    skip = _skip_setup(check, table.get("skip_setup", "all"))
    profiles: list[ProfileRef] = []
    seen_ids: dict[str, int] = {}
    for i, item in enumerate(check.array(table.get("profiles", []), (*key, "profiles"))):
        ref = _profile(check, item, (*key, "profiles", i), secrets)
        if ref is None:
            continue
        if ref.info.identifier in seen_ids:
            check.issue(
                (*key, "profiles", i),
                msg.PROFILE_LISTED_TWICE.fill(identifier=ref.info.identifier),
                value=ref.path.name,
            )
        seen_ids[ref.info.identifier] = i
        profiles.append(ref)
        hashes.append((f"profile:{ref.path.name}", ref.sha256))
    apps = _apps(check, table.get("apps", []), (*key, "apps"), ".ipa", read_ipa, hashes)
    bundle_ids = [app.info.bundle_id for app in apps]
    for i, bundle in enumerate(bundle_ids):
        if bundle in bundle_ids[:i]:
            check.issue((*key, "apps", i), msg.APP_LISTED_TWICE.fill(app=bundle))
    rename = check.boolean(table.get("rename", True), (*key, "rename"))
    if erase not in ERASE_POLICIES or skip is None or rename is None:
        return None
    return IosPlan(
        erase=str(erase),
        supervise=supervise,
        skip_setup=skip,
        profiles=tuple(profiles),
        apps=tuple(apps),
        rename=rename,
    )


def _supervise(check: _Checker, data: object, secrets: SecretStore | None) -> SupervisePlan | None:
    key: Key = ("ios", "supervise")
    table = check.table(data, key, SUPERVISE_KEYS, required=SUPERVISE_KEYS)
    if table is None:
        return None
    org = (
        check.text(table["organization"], (*key, "organization"))
        if "organization" in table
        else None
    )
    identity = (
        check.secret(table["identity"], (*key, "identity"), secrets)
        if "identity" in table
        else None
    )
    if identity is not None and secrets is not None:
        try:
            if secrets.has(identity):
                secrets.get_identity(identity)
        except SecretError as exc:
            check.issue((*key, "identity"), exc.message, msg.EXPECT_IDENTITY, hint=exc.hint)
    if org is None or identity is None:
        return None
    return SupervisePlan(org, identity)


def _skip_setup(check: _Checker, data: object) -> tuple[str, ...] | None:
    key: Key = ("ios", "skip_setup")
    expected = msg.EXPECT_SKIP_SETUP
    if data == "all":
        return tuple(IOS_SKIP_KEYS)
    if data == "none":
        return ()
    if not isinstance(data, list):
        check.issue(key, _is_kind(data), expected)
        return None
    keys: list[str] = []
    ok = True
    for i, item in enumerate(data):
        if not isinstance(item, str):
            check.issue((*key, i), _is_kind(item), msg.EXPECT_SKIP_KEY_STRING)
            ok = False
        elif item in OTHER_OS_SKIP_KEYS:
            check.issue((*key, i), msg.NOT_IOS_SKIP_KEY.fill(key=item), value=item)
            ok = False
        elif item not in IOS_SKIP_KEYS:
            close = difflib.get_close_matches(item, list(IOS_SKIP_KEYS), n=1)
            check.issue(
                (*key, i),
                msg.UNKNOWN_SKIP_KEY_SUGGESTION.fill(key=item, suggestion=close[0])
                if close
                else msg.UNKNOWN_SKIP_KEY.fill(key=item),
                msg.EXPECT_SKIP_KEY,
                value=item,
            )
            ok = False
        elif item not in keys:
            keys.append(item)
    return tuple(keys) if ok else None


def _profile(
    check: _Checker, item: object, key: Key, secrets: SecretStore | None
) -> ProfileRef | None:
    mapping: dict[str, str] = {}
    if isinstance(item, dict):
        table = check.table(item, key, PROFILE_KEYS, required=("path",))
        if table is None or "path" not in table:
            return None
        raw_path: object = table["path"]
        raw_secrets = table.get("secrets", {})
        if not isinstance(raw_secrets, dict):
            check.issue((*key, "secrets"), _is_kind(raw_secrets), msg.EXPECT_SECRETS_TABLE)
        else:
            for payload_key, secret in raw_secrets.items():
                name = check.secret(secret, (*key, "secrets", payload_key), secrets)
                if name is not None:
                    mapping[payload_key] = name
        path_key: Key = (*key, "path")
    else:
        raw_path, path_key = item, key
    path = check.file(raw_path, path_key, (".mobileconfig",))
    if path is None:
        return None
    try:
        data = path.read_bytes()
        info = read_mobileconfig(data, source=str(path))
    except OSError as exc:
        problem = msg.CANNOT_READ_FILE.fill(file=path.name, reason=exc.strerror)
        check.issue(path_key, problem, value=raw_path)
        return None
    except ArtifactError as exc:
        check.issue(path_key, exc.problem, msg.EXPECT_VALID_PROFILE, value=raw_path, hint=exc.hint)
        return None
    if mapping and info.signed:
        check.issue(
            (*key, "secrets"),
            msg.SIGNED_PROFILE_SECRETS,
            msg.EXPECT_UNSIGNED_PROFILE,
            value=raw_path,
        )
    for payload_key in mapping:
        if not any(payload_key in p.raw for p in info.payloads):
            check.issue(
                (*key, "secrets", payload_key),
                msg.NO_PAYLOAD_KEY.fill(file=path.name, key=payload_key),
                msg.EXPECT_PAYLOAD_KEY,
                value=payload_key,
            )
    return ProfileRef(path, info, hashlib.sha256(data).hexdigest(), mapping)


def _apps(
    check: _Checker,
    data: object,
    key: Key,
    suffix: str,
    reader: Callable[[Path], InfoT],
    hashes: list[tuple[str, str]],
) -> list[AppRef[InfoT]]:
    apps: list[AppRef[InfoT]] = []
    for i, item in enumerate(check.array(data, key)):
        path = check.file(item, (*key, i), (suffix,))
        if path is None:
            continue
        try:
            info = reader(path)
        except ArtifactError as exc:
            expected = msg.EXPECT_VALID_FILE.fill(suffix=suffix)
            check.issue((*key, i), exc.problem, expected, value=item, hint=exc.hint)
            continue
        except OSError as exc:
            problem = msg.CANNOT_READ_FILE.fill(file=path.name, reason=exc.strerror)
            check.issue((*key, i), problem, value=item)
            continue
        apps.append(AppRef(path, info))
        hashes.append((f"app:{path.name}", info.sha256))
    return apps


def _android(
    check: _Checker,
    data: object,
    hashes: list[tuple[str, str]],
    secrets: SecretStore | None = None,
) -> AndroidPlan | None:
    key: Key = ("android",)
    table = check.table(data, key, ANDROID_KEYS)
    if table is None:
        return None
    apps_raw = table.get("apps", [])
    issues_before = len(check.issues)
    apps = _apps(check, apps_raw, (*key, "apps"), ".apk", read_apk, hashes)
    apps_ok = len(check.issues) == issues_before
    packages = [app.info.package for app in apps]
    for i, package in enumerate(packages):
        if package in packages[:i]:
            check.issue((*key, "apps", i), msg.APP_LISTED_TWICE.fill(app=package))
    owner = None
    if "device_owner" in table:
        owner = _component(check, table["device_owner"], packages, apps_ok)
    settings = _settings(check, table.get("settings", {}))
    files = _files(check, table.get("files", []), hashes)
    rename = check.boolean(table.get("rename", True), (*key, "rename"))
    finish = _plain(check, table.get("finish", {}), (*key, "finish"), AndroidFinish, FINISH_KEYS)
    provisioning = None
    if "provisioning" in table:
        if "device_owner" not in table:
            check.issue(
                (*key, "provisioning"),
                "the enrollment QR needs a device owner",
                'device_owner = "package/.Receiver" in the [android] table',
            )
        provisioning = _provisioning(check, table["provisioning"], secrets)
        if provisioning is None:
            return None
    if settings is None or rename is None or finish is None:
        return None
    return AndroidPlan(
        apps=tuple(apps),
        device_owner=owner,
        settings=settings,
        files=tuple(files),
        rename=rename,
        finish=finish,
        provisioning=provisioning,
    )


def _provisioning(
    check: _Checker, data: object, secrets: SecretStore | None
) -> AndroidProvisioning | None:
    """``[android.provisioning]``, checked against what AOSP's provisioning extras accept."""
    key: Key = ("android", "provisioning")
    # wifi_password is known here only to say why it is refused.
    table = check.table(data, key, (*PROVISIONING_KEYS, "wifi_password"), ("download_url",))
    if table is None:
        return None
    before = len(check.issues)
    url = None
    if "download_url" in table:
        url = check.text(
            table["download_url"],
            (*key, "download_url"),
            what="the https address tablets download the device-owner APK from",
        )
        if url is not None and not _is_https_url(url):
            check.issue(
                (*key, "download_url"),
                f"{url!r} is not an https address",
                'an https URL such as "https://mdm.example.org/agent.apk"',
                value=url,
                hint="tablets refuse to download the device-owner app over plain http",
            )
    if "wifi_password" in table:
        # Never echo the value: it is a password that should not be in the file at all.
        check.issue(
            (*key, "wifi_password"),
            "a Wi-Fi password must not be written into the blueprint",
            "wifi_password_secret = the name of a secret stored on this station",
            hint="store the password with: station secrets set NAME",
        )
    text: dict[str, str | None] = {}
    for name in ("wifi_ssid", "locale", "time_zone"):
        text[name] = check.text(table[name], (*key, name)) if name in table else None
    ssid = text["wifi_ssid"]
    if ssid is not None and len(ssid.encode("utf-8")) > 32:
        check.issue((*key, "wifi_ssid"), "is longer than 32 bytes", "a Wi-Fi network name")
    locale = text["locale"]
    if locale is not None and not _LOCALE_RE.fullmatch(locale):
        check.issue(
            (*key, "locale"),
            f"{locale!r} is not a locale",
            'language_COUNTRY as Android writes it, e.g. "de_DE"',
            value=locale,
        )
    zone = text["time_zone"]
    if zone is not None and zone not in _time_zones():
        check.issue(
            (*key, "time_zone"),
            f"{zone!r} is not a time zone",
            'an IANA time zone name, e.g. "Europe/Berlin"',
            value=zone,
        )
    security = None
    if "wifi_security" in table:
        raw = table["wifi_security"]
        if isinstance(raw, str) and raw.upper() in PROVISIONING_WIFI_SECURITY:
            security = raw.upper()
        elif isinstance(raw, str) and raw.upper() == "EAP":
            check.issue(
                (*key, "wifi_security"),
                "EAP networks are not supported in the enrollment QR yet",
                "one of " + ", ".join(PROVISIONING_WIFI_SECURITY),
                value=raw,
            )
        else:
            check.issue(
                (*key, "wifi_security"),
                f"is {_kind(raw)}, not a Wi-Fi security type Android knows",
                "one of " + ", ".join(PROVISIONING_WIFI_SECURITY),
                value=raw,
            )
    password_secret = None
    if "wifi_password_secret" in table:
        raw = table["wifi_password_secret"]
        if isinstance(raw, str) and raw.strip() and "\n" not in raw:
            try:
                check_name(raw)
            except SecretError:
                # Likely the password itself: say so without writing it into any log.
                check.issue(
                    (*key, "wifi_password_secret"),
                    "is not a secret name (is it the password itself?)",
                    'the name of a secret stored on this station, e.g. "wlan-schule"',
                    hint="use 1-64 letters, digits, '.', '_' or '-'; store the password with: "
                    "station secrets set NAME",
                )
            else:
                password_secret = check.secret(raw, (*key, "wifi_password_secret"), secrets)
        else:
            check.issue(
                (*key, "wifi_password_secret"),
                f"is {_kind(raw)}",
                "the name of a secret stored on this station",
            )
    if ssid is None and ("wifi_security" in table or "wifi_password_secret" in table):
        check.issue(key, "Wi-Fi security or password given without wifi_ssid", "wifi_ssid")
    if ssid is not None and security == "NONE" and password_secret is not None:
        check.issue(
            (*key, "wifi_password_secret"),
            'a password is given for an open network (wifi_security = "NONE")',
            "no password, or wifi_security WPA or WEP",
        )
    if ssid is not None and security in ("WPA", "WEP") and "wifi_password_secret" not in table:
        check.issue(
            (*key, "wifi_security"),
            f"a {security} network needs a password",
            "wifi_password_secret = the name of the secret holding it",
        )
    flags: dict[str, bool] = {}
    for name in _PROVISIONING_FLAGS:
        if name in table:
            flag = check.boolean(table[name], (*key, name))
            flags[name] = bool(flag)
    extras = _admin_extras(check, table.get("admin_extras", {}), (*key, "admin_extras"))
    if len(check.issues) != before or url is None or extras is None:
        return None
    return AndroidProvisioning(
        download_url=url,
        wifi_ssid=ssid,
        wifi_security=security,
        wifi_password_secret=password_secret,
        locale=locale,
        time_zone=zone,
        admin_extras=extras,
        **flags,
    )


def _is_https_url(url: str) -> bool:
    parsed = urllib.parse.urlsplit(url)
    try:
        port = parsed.port  # raises for a port that is not a number
    except ValueError:
        return False
    return (
        parsed.scheme == "https"
        and bool(parsed.hostname)
        and port != 0
        and not any(c.isspace() for c in url)
    )


def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _admin_extras(check: _Checker, data: object, key: Key) -> dict[str, Any] | None:
    """A table for the device-owner app's PersistableBundle: text, numbers, true/false, tables."""
    expected = "a table of text, numbers, true/false or nested tables"
    if not isinstance(data, dict):
        check.issue(key, f"is {_kind(data)}", expected)
        return None
    out: dict[str, Any] = {}
    ok = True
    for name, value in data.items():
        if isinstance(value, dict):
            nested = _admin_extras(check, value, (*key, name))
            ok = ok and nested is not None
            out[name] = nested
        elif isinstance(value, str | int | float | bool):
            out[name] = value
        else:
            check.issue((*key, name), f"is {_kind(value)}", "text, a number, true/false or a table")
            ok = False
    return out if ok else None


def _component(check: _Checker, data: object, packages: Sequence[str], apps_ok: bool) -> str | None:
    key: Key = ("android", "device_owner")
    expected = msg.EXPECT_COMPONENT
    value = check.text(data, key, what=expected)
    if value is None:
        return None
    m = _COMPONENT_RE.fullmatch(value)
    if m is None or not _PACKAGE_RE.fullmatch(m.group("pkg")):
        check.issue(key, msg.NOT_COMPONENT.fill(value=value), expected, value=value)
        return None
    package = m.group("pkg")
    if apps_ok and package not in packages:
        found = ", ".join(packages) if packages else msg.NONE
        check.issue(
            key,
            msg.OWNER_NOT_AMONG_APPS.fill(package=package, packages=found),
            msg.EXPECT_OWNER_APP,
            value=value,
        )
        return None
    return value


def _settings(check: _Checker, data: object) -> dict[str, str] | None:
    key: Key = ("android", "settings")
    if not isinstance(data, dict):
        check.issue(key, _is_kind(data), msg.EXPECT_SETTINGS_TABLE)
        return None
    flat: list[tuple[Key, str, object]] = []
    for name, value in data.items():
        # `global.auto_time = "1"` (unquoted) arrives as a nested table: accept both spellings.
        if isinstance(value, dict):
            for sub, subvalue in value.items():
                flat.append(((*key, name, sub), f"{name}.{sub}", subvalue))
        else:
            flat.append(((*key, name), name, value))
    out: dict[str, str] = {}
    ok = True
    expected_key = msg.EXPECT_SETTING_NAME.fill(choices=", ".join(SETTINGS_NAMESPACES))
    for item_key, name, value in flat:
        namespace, _, setting = name.partition(".")
        if namespace not in SETTINGS_NAMESPACES or not _SETTING_KEY_RE.fullmatch(setting):
            close = difflib.get_close_matches(namespace, SETTINGS_NAMESPACES, n=1)
            problem = (
                msg.NOT_SETTING_NAME_SUGGESTION.fill(name=name, suggestion=close[0])
                if close and namespace not in SETTINGS_NAMESPACES
                else msg.NOT_SETTING_NAME.fill(name=name)
            )
            check.issue(item_key, problem, expected_key, value=name)
            ok = False
            continue
        if isinstance(value, bool):
            out[name] = "1" if value else "0"
        elif isinstance(value, int | str) and "\x00" not in str(value) and "\n" not in str(value):
            out[name] = str(value)
        else:
            check.issue(item_key, _is_kind(value), msg.EXPECT_SETTING_VALUE)
            ok = False
    return out if ok else None


def _files(check: _Checker, data: object, hashes: list[tuple[str, str]]) -> list[FileRef]:
    key: Key = ("android", "files")
    out: list[FileRef] = []
    for i, item in enumerate(check.array(data, key)):
        table = check.table(item, (*key, i), FILE_KEYS, required=FILE_KEYS)
        if table is None or "src" not in table or "dest" not in table:
            continue
        src = _any_file(check, table["src"], (*key, i, "src"))
        dest = check.text(
            table["dest"],
            (*key, i, "dest"),
            pattern=re.compile(r"/(?!.*(?:^|/)\.\.(?:/|$))[^\x00-\x1f]*[^/\x00-\x1f]"),
            what=msg.EXPECT_TABLET_PATH,
        )
        if src is None or dest is None:
            continue
        try:
            ref = FileRef(src, dest, _sha256_file(src), src.stat().st_size)
        except OSError as exc:
            problem = msg.CANNOT_READ_FILE.fill(file=src.name, reason=exc.strerror)
            check.issue((*key, i, "src"), problem)
            continue
        out.append(ref)
        hashes.append((f"file:{dest}", ref.sha256))
    return out


def _any_file(check: _Checker, data: object, key: Key) -> Path | None:
    expected = msg.EXPECT_FILE
    raw = check.text(data, key, what=expected)
    if raw is None:
        return None
    path = Path(raw) if Path(raw).is_absolute() else check.path.parent / raw
    try:
        if path.is_file():
            return path
    except OSError as exc:
        problem = msg.CANNOT_OPEN.fill(file=raw, reason=exc.strerror)
        check.issue(key, problem, expected, value=raw)
        return None
    check.issue(key, msg.FILE_MISSING.fill(file=raw, path=path), expected, value=raw)
    return None


_PlainT = TypeVar("_PlainT", Timeouts, AndroidFinish)


def _plain(
    check: _Checker, data: object, key: Key, kind: type[_PlainT], names: Sequence[str]
) -> _PlainT | None:
    """A table of booleans (AndroidFinish) or seconds (Timeouts) with defaults."""
    table = check.table(data, key, names)
    if table is None:
        return None
    values: dict[str, Any] = {}
    ok = True
    for name in names:
        if name not in table:
            continue
        if kind is AndroidFinish:
            value: object = check.boolean(table[name], (*key, name))
        else:
            value = check.number(table[name], (*key, name), 1, 86400)
        ok = ok and value is not None
        values[name] = value
    return kind(**values) if ok else None


def _retries(check: _Checker, data: object) -> Retries | None:
    key: Key = ("retries",)
    table = check.table(data, key, RETRY_KEYS)
    if table is None:
        return None
    attempts = check.integer(table.get("attempts", 2), (*key, "attempts"), 0, 10)
    backoff = check.number(table.get("backoff", 5.0), (*key, "backoff"), 0, 3600)
    if attempts is None or backoff is None:
        return None
    return Retries(attempts, backoff)


def iter_referenced_files(blueprint: Blueprint) -> Iterator[Path]:
    """Every file the blueprint references (for copying a blueprint with its files)."""
    if blueprint.ios is not None:
        yield from (p.path for p in blueprint.ios.profiles)
        yield from (a.path for a in blueprint.ios.apps)
    if blueprint.android is not None:
        yield from (a.path for a in blueprint.android.apps)
        yield from (f.src for f in blueprint.android.files)
