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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

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
class AndroidPlan:
    apps: tuple[AppRef[ApkInfo], ...] = ()
    device_owner: str | None = None
    settings: Mapping[str, str] = field(default_factory=dict)  # "namespace.key" -> value
    files: tuple[FileRef, ...] = ()
    rename: bool = True
    finish: AndroidFinish = AndroidFinish()


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
        self.summary = "1 problem" if count == 1 else f"{count} problems"
        body = "\n".join(f"  {issue}" for issue in self.issues)
        super().__init__(
            str(path),
            f"{self.summary}:\n{body}",
            hint="fix the blueprint and load it again; no device was touched",
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
                raise BlueprintError("device_name", f"unknown placeholder {{{name}}}")
            out.append(values[name])
    return "".join(out).strip()


def template_problems(template: str) -> list[str]:
    """What is wrong with a device-name template (empty list: nothing)."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        return [f"{exc} (write {{{{ or }}}} for a literal brace)"]
    problems: list[str] = []
    names: list[str] = []
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            close = difflib.get_close_matches(name, PLACEHOLDERS, n=1)
            extra = f" (did you mean {{{close[0]}}}?)" if close else ""
            problems.append(f"unknown placeholder {{{name}}}{extra}")
        elif spec or conversion:
            problems.append(f"placeholder {{{name}}} takes no format or conversion")
        names.append(name)
    if not problems and not any(n in _UNIQUE_PLACEHOLDERS for n in names):
        problems.append("every device would get the same name")
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
            self.issue(key, f"is {_kind(data)}", "a table")
            return None
        # An inline table inside an array has no key of its own to find: use its first string.
        anchor = next((v for v in data.values() if isinstance(v, str) and v), None)
        for name in data:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
                if close:
                    self.issue((*key, name), f"unknown key, did you mean {close[0]!r}?", value=name)
                else:
                    self.issue(
                        (*key, name), "unknown key", f"one of {', '.join(known)}", value=name
                    )
        for name in required:
            if name not in data:
                self.issue(key, f"missing key {name!r}", value=anchor)
        return data

    def text(
        self,
        data: object,
        key: Key,
        *,
        pattern: re.Pattern[str] | None = None,
        what: str = "a non-empty string",
    ) -> str | None:
        if not isinstance(data, str) or not data.strip():
            self.issue(key, f"is {_kind(data)}", what)
            return None
        if "\x00" in data or "\n" in data:
            self.issue(key, "contains a control character", what)
            return None
        if pattern is not None and not pattern.fullmatch(data):
            self.issue(key, f"{data!r} has the wrong form", what, value=data)
            return None
        return data

    def boolean(self, data: object, key: Key) -> bool | None:
        if not isinstance(data, bool):
            self.issue(key, f"is {_kind(data)}", "true or false")
            return None
        return data

    def integer(self, data: object, key: Key, low: int, high: int) -> int | None:
        if isinstance(data, bool) or not isinstance(data, int) or not low <= data <= high:
            self.issue(key, f"is {_kind(data)}", f"a whole number from {low} to {high}")
            return None
        return data

    def number(self, data: object, key: Key, low: float, high: float) -> float | None:
        if isinstance(data, bool) or not isinstance(data, int | float) or not (low <= data <= high):
            self.issue(key, f"is {_kind(data)}", f"a number of seconds from {low:g} to {high:g}")
            return None
        return float(data)

    def array(self, data: object, key: Key) -> list[Any]:
        if not isinstance(data, list):
            self.issue(key, f"is {_kind(data)}", "an array")
            return []
        return data

    def file(self, data: object, key: Key, suffixes: Sequence[str]) -> Path | None:
        """A readable file, relative to the blueprint's folder."""
        expected = f"a path to a {' or '.join(suffixes)} file, relative to the blueprint"
        raw = self.text(data, key, what=expected)
        if raw is None:
            return None
        if not raw.lower().endswith(tuple(suffixes)):
            self.issue(key, f"{raw!r} has the wrong file type", expected, value=raw)
            return None
        path = Path(raw)
        if not path.is_absolute():
            path = self.path.parent / path
        try:
            exists = path.is_file()
        except OSError as exc:
            self.issue(key, f"cannot open {raw!r}: {exc.strerror}", expected, value=raw)
            return None
        if not exists:
            self.issue(key, f"file {raw!r} does not exist (looked at {path})", expected, value=raw)
            return None
        return path

    def secret(self, name: object, key: Key, secrets: SecretStore | None) -> str | None:
        expected = "the name of a secret stored on this station"
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
                    f"secret {value!r} is not stored on this station",
                    value=value,
                    hint=f"store it with: station secrets set {value}",
                )
        return value


def _kind(value: object) -> str:
    names: dict[type, str] = {
        str: "a string",
        bool: "a boolean",
        int: "a whole number",
        float: "a number",
        list: "an array",
        dict: "a table",
    }
    if isinstance(value, str) and not value.strip():
        return "empty"
    for kind, name in names.items():
        if type(value) is kind:
            shown = (
                f" {value!r}" if kind in (str, int, float, bool) and len(repr(value)) < 40 else ""
            )
            return name + shown
    return f"a {type(value).__name__}"


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
ANDROID_KEYS = ("apps", "device_owner", "settings", "files", "rename", "finish")
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
        raise InvalidBlueprint(path, [Issue(str(path), 0, "", f"cannot read: {reason}")]) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        issue = Issue(str(path), line, "", "not UTF-8 text", "a TOML file saved as UTF-8")
        raise InvalidBlueprint(path, [issue]) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        m = _POSITION_RE.search(message)
        line = int(m.group(1)) if m else 0
        if m:
            message = f"{message[: m.start()]} (column {m.group(2)})"
        issue = Issue(str(path), line, "", f"not valid TOML: {message}")
        raise InvalidBlueprint(path, [issue]) from exc
    except RecursionError as exc:
        issue = Issue(str(path), 0, "", "not valid TOML: nested too deeply")
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
    if check.text(device_name, ("device_name",), what="a name template") is not None:
        for problem in template_problems(device_name):
            check.issue(
                ("device_name",), problem, f"placeholders from {{{'}, {'.join(PLACEHOLDERS)}}}"
            )
    hashes: list[tuple[str, str]] = []
    ios = _ios(check, data["ios"], secrets, hashes) if "ios" in data else None
    android = _android(check, data["android"], hashes) if "android" in data else None
    if "ios" not in data and "android" not in data:
        check.issue((), "the blueprint has neither an [ios] nor an [android] section")
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
            what="1-32 letters, digits, '-' or '_' (the school number, e.g. SEG042)",
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
        check.issue((*key, "prefix"), f"is {_kind(prefix)}", "up to 24 letters, digits or . _ / -")
        prefix = None
    digits = check.integer(table["digits"], (*key, "digits"), 1, 12) if "digits" in table else None
    start: int | None = 1
    if "start" in table:
        start = check.integer(table["start"], (*key, "start"), 0, 10**12 - 1)
        if start is not None and digits is not None and start >= 10**digits:
            check.issue((*key, "start"), f"{start} has more than {digits} digits")
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
        check.issue((*key, "erase"), f"is {_kind(erase)}", " or ".join(map(repr, ERASE_POLICIES)))
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
                f"profile {ref.info.identifier} is listed twice",
                value=ref.path.name,
            )
        seen_ids[ref.info.identifier] = i
        profiles.append(ref)
        hashes.append((f"profile:{ref.path.name}", ref.sha256))
    apps = _apps(check, table.get("apps", []), (*key, "apps"), ".ipa", read_ipa, hashes)
    bundle_ids = [app.info.bundle_id for app in apps]
    for i, bundle in enumerate(bundle_ids):
        if bundle in bundle_ids[:i]:
            check.issue((*key, "apps", i), f"app {bundle} is listed twice")
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
            check.issue((*key, "identity"), exc.message, "a PEM certificate and key", hint=exc.hint)
    if org is None or identity is None:
        return None
    return SupervisePlan(org, identity)


def _skip_setup(check: _Checker, data: object) -> tuple[str, ...] | None:
    key: Key = ("ios", "skip_setup")
    expected = '"all", "none" or an array of Setup Assistant skip keys'
    if data == "all":
        return tuple(IOS_SKIP_KEYS)
    if data == "none":
        return ()
    if not isinstance(data, list):
        check.issue(key, f"is {_kind(data)}", expected)
        return None
    keys: list[str] = []
    ok = True
    for i, item in enumerate(data):
        if not isinstance(item, str):
            check.issue((*key, i), f"is {_kind(item)}", "a skip key string")
            ok = False
        elif item in OTHER_OS_SKIP_KEYS:
            check.issue((*key, i), f"{item!r} is not an iOS skip key", value=item)
            ok = False
        elif item not in IOS_SKIP_KEYS:
            close = difflib.get_close_matches(item, list(IOS_SKIP_KEYS), n=1)
            extra = f", did you mean {close[0]!r}?" if close else ""
            check.issue(
                (*key, i),
                f"unknown skip key {item!r}{extra}",
                "one of Apple's SkipKeys (see station.blueprint.IOS_SKIP_KEYS)",
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
            check.issue((*key, "secrets"), f"is {_kind(raw_secrets)}", "a table of key = secret")
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
        check.issue(path_key, f"cannot read {path.name}: {exc.strerror}", value=raw_path)
        return None
    except ArtifactError as exc:
        check.issue(
            path_key, exc.problem, "a valid configuration profile", value=raw_path, hint=exc.hint
        )
        return None
    if mapping and info.signed:
        check.issue(
            (*key, "secrets"),
            "a signed profile cannot have secrets filled in (that would break its signature)",
            "an unsigned profile",
            value=raw_path,
        )
    for payload_key in mapping:
        if not any(payload_key in p.raw for p in info.payloads):
            check.issue(
                (*key, "secrets", payload_key),
                f"no payload in {path.name} has a {payload_key!r} key to fill in",
                "a key present (as a placeholder) in one of the profile's payloads",
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
            check.issue((*key, i), exc.problem, f"a valid {suffix} file", value=item, hint=exc.hint)
            continue
        except OSError as exc:
            check.issue((*key, i), f"cannot read {path.name}: {exc.strerror}", value=item)
            continue
        apps.append(AppRef(path, info))
        hashes.append((f"app:{path.name}", info.sha256))
    return apps


def _android(check: _Checker, data: object, hashes: list[tuple[str, str]]) -> AndroidPlan | None:
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
            check.issue((*key, "apps", i), f"app {package} is listed twice")
    owner = None
    if "device_owner" in table:
        owner = _component(check, table["device_owner"], packages, apps_ok)
    settings = _settings(check, table.get("settings", {}))
    files = _files(check, table.get("files", []), hashes)
    rename = check.boolean(table.get("rename", True), (*key, "rename"))
    finish = _plain(check, table.get("finish", {}), (*key, "finish"), AndroidFinish, FINISH_KEYS)
    if settings is None or rename is None or finish is None:
        return None
    return AndroidPlan(
        apps=tuple(apps),
        device_owner=owner,
        settings=settings,
        files=tuple(files),
        rename=rename,
        finish=finish,
    )


def _component(check: _Checker, data: object, packages: Sequence[str], apps_ok: bool) -> str | None:
    key: Key = ("android", "device_owner")
    expected = 'a component "package/.Receiver" or "package/full.class.Name"'
    value = check.text(data, key, what=expected)
    if value is None:
        return None
    m = _COMPONENT_RE.fullmatch(value)
    if m is None or not _PACKAGE_RE.fullmatch(m.group("pkg")):
        check.issue(key, f"{value!r} is not a component name", expected, value=value)
        return None
    package = m.group("pkg")
    if apps_ok and package not in packages:
        found = ", ".join(packages) if packages else "none"
        check.issue(
            key,
            f"package {package} is not among android.apps (their packages: {found})",
            "the device-owner app to be installed by this blueprint",
            value=value,
        )
        return None
    return value


def _settings(check: _Checker, data: object) -> dict[str, str] | None:
    key: Key = ("android", "settings")
    if not isinstance(data, dict):
        check.issue(key, f"is {_kind(data)}", 'a table of "namespace.key" = value')
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
    expected_key = f"namespace.key with namespace {', '.join(SETTINGS_NAMESPACES)}"
    for item_key, name, value in flat:
        namespace, _, setting = name.partition(".")
        if namespace not in SETTINGS_NAMESPACES or not _SETTING_KEY_RE.fullmatch(setting):
            close = difflib.get_close_matches(namespace, SETTINGS_NAMESPACES, n=1)
            extra = (
                f", did you mean {close[0]!r}?"
                if close and namespace not in SETTINGS_NAMESPACES
                else ""
            )
            check.issue(
                item_key, f"{name!r} is not a setting name{extra}", expected_key, value=name
            )
            ok = False
            continue
        if isinstance(value, bool):
            out[name] = "1" if value else "0"
        elif isinstance(value, int | str) and "\x00" not in str(value) and "\n" not in str(value):
            out[name] = str(value)
        else:
            check.issue(item_key, f"is {_kind(value)}", "a string, whole number or boolean")
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
            what='an absolute path on the tablet, e.g. "/sdcard/Download/info.pdf"',
        )
        if src is None or dest is None:
            continue
        try:
            ref = FileRef(src, dest, _sha256_file(src), src.stat().st_size)
        except OSError as exc:
            check.issue((*key, i, "src"), f"cannot read {src.name}: {exc.strerror}")
            continue
        out.append(ref)
        hashes.append((f"file:{dest}", ref.sha256))
    return out


def _any_file(check: _Checker, data: object, key: Key) -> Path | None:
    expected = "a path to a file, relative to the blueprint"
    raw = check.text(data, key, what=expected)
    if raw is None:
        return None
    path = Path(raw) if Path(raw).is_absolute() else check.path.parent / raw
    try:
        if path.is_file():
            return path
    except OSError as exc:
        check.issue(key, f"cannot open {raw!r}: {exc.strerror}", expected, value=raw)
        return None
    check.issue(key, f"file {raw!r} does not exist (looked at {path})", expected, value=raw)
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
