"""The catalog of what the core says to a person: English templates the window translates.

Every message the core (blueprint checks, artifact readers, secrets, drivers, engine) shows a
person is built from one :class:`Template` below, never from ad-hoc prose. The core and the
command line stay English; the window recognises a message by matching it against the catalog
(:func:`match`) and shows the German translation of its template with the same values, so
records of older runs translate too. Values are data (file names, keys, numbers, a device's
own reply) unless they are themselves a catalog message (a kind such as "a string"), which
the window translates in turn.

Templates use ``str.format`` syntax with named fields only (``{file}``; ``{{`` is a brace);
no format specs or conversions, so a message can be parsed back into its values.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Mapping


class Template(str):
    """One English message with ``{name}`` fields; a ``str``, so it also works as a hint."""

    __slots__ = ()

    @property
    def fields(self) -> tuple[str, ...]:
        """The field names in order of first appearance."""
        names = [name for _lit, name in _parts(self) if name is not None]
        return tuple(dict.fromkeys(names))

    def fill(self, **values: object) -> str:
        """The message with ``values`` in its fields (every field must be given)."""
        missing = set(self.fields) - set(values)
        if missing:
            raise KeyError(f"{self!r} needs {sorted(missing)}")
        return fill(self, {name: str(value) for name, value in values.items()})


def _parts(text: str) -> list[tuple[str, str | None]]:
    """(literal, field name or None) pieces of a template, its braces unescaped."""
    out: list[tuple[str, str | None]] = []
    for literal, name, spec, conversion in string.Formatter().parse(text):
        if spec or conversion:
            raise ValueError(f"{text!r}: a template field takes no format or conversion")
        out.append((literal, name))
    return out


def fill(text: str, values: Mapping[str, str]) -> str:
    """Put ``values`` into the fields of ``text`` (a template or its translation).

    Unlike ``str.format`` this never reads a value as a template, and a field without a
    value is kept as it is (a translation that lost a field shows it, rather than failing).
    """
    out: list[str] = []
    for literal, name in _parts(text):
        out.append(literal)
        if name is not None:
            out.append(values.get(name, "{" + name + "}"))
    return "".join(out)


@functools.cache
def pattern(template: Template) -> re.Pattern[str]:
    """A regex matching the messages made from ``template``, one named group per field."""
    regex: list[str] = []
    seen: set[str] = set()
    for literal, name in _parts(template):
        regex.append(re.escape(literal))
        if name is None:
            continue
        if not name.isidentifier():
            raise ValueError(f"{template!r}: field {{{name}}} is not a plain name")
        regex.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
        seen.add(name)
    return re.compile("".join(regex), re.DOTALL)


@functools.cache
def _literal_size(template: Template) -> int:
    return sum(len(literal) for literal, _name in _parts(template))


@functools.cache
def _has_words(template: Template) -> bool:
    return any(c.isalpha() for literal, _name in _parts(template) for c in literal)


@functools.cache
def catalog() -> tuple[Template, ...]:
    """Every template in this module, the most specific (most literal text) first."""
    found = {value for value in globals().values() if isinstance(value, Template)}
    return tuple(sorted(found, key=lambda t: (-_literal_size(t), len(t.fields), str(t))))


# Fields whose value may itself be a catalog message (a kind, an action, the reason another
# message gives); every other field holds data (a file, a key, a number, a device's reply).
NESTED_FIELDS = frozenset(
    {
        "kind",
        "action",
        "where",
        "location",
        "reason",
        "error",
        "packages",
        "hint",
        "roll",
        "loaded",
        "thing",
    }
)
# Fields whose value is a list of catalog messages joined by ", " (a printer's error words).
LIST_FIELDS = frozenset({"problems"})


def match(text: str) -> tuple[Template, dict[str, str]] | None:
    """The template ``text`` was made from and the values in its fields, or None.

    When several templates fit, the one that explains the most of the text wins: its own
    words plus those of the catalog messages found in its nested fields. So "retrying:
    install x.apk: the tablet stopped answering" is a retry around a driver message, not a
    driver message whose action is "retrying: install x.apk".
    """
    found = _parse(text)
    return None if found is None else (found[1], dict(found[2]))


@functools.lru_cache(maxsize=8192)
def _parse(text: str) -> tuple[int, Template, tuple[tuple[str, str], ...]] | None:
    # Cached: the window asks again for the same detail on every repaint of a tile.
    best: tuple[int, Template, tuple[tuple[str, str], ...]] | None = None
    best_rank: tuple[int, bool] = (-1, False)
    for template in catalog():
        for values in _fits(template, text):
            explained = _literal_size(template)
            nested = [_parse(values[name]) for name in NESTED_FIELDS.intersection(values)]
            if not _has_words(template) and None in nested:
                continue  # a bare frame ("{error} ({hint})") only around catalog messages
            explained += sum(inner[0] for inner in nested if inner is not None)
            # On a tie, a frame that starts with its own words (``retrying: {error}``) wins.
            rank = (explained, not template.startswith("{"))
            if rank > best_rank:
                best, best_rank = (explained, template, tuple(values.items())), rank
    return best


def _fits(template: Template, text: str) -> list[dict[str, str]]:
    """The ways ``text`` fills ``template``'s fields.

    One way (the regex's) for a template with words of its own. A bare frame of two messages
    (``{error} ({hint})``) is tried at every place its middle occurs, since either message
    may hold the same punctuation ("... (column 3) (store it with ...)").
    """
    shape = _parts(template)
    if not _has_words(template) and len(shape) == 3 and shape[0][0] == "":
        (_lead, first), (middle, second), (suffix, _end) = shape
        if first is None or second is None or first == second or _end is not None:
            return _regex_fit(template, text)
        if not text.endswith(suffix):
            return []
        body = text[: len(text) - len(suffix)]
        found = []
        at = body.find(middle, 1)
        while at >= 0:
            if at + len(middle) < len(body):
                found.append({first: body[:at], second: body[at + len(middle) :]})
            at = body.find(middle, at + 1)
        return found
    return _regex_fit(template, text)


def _regex_fit(template: Template, text: str) -> list[dict[str, str]]:
    m = pattern(template).fullmatch(text)
    return [] if m is None else [m.groupdict()]


# --- words that other messages use as values ----------------------------------------------
# What a blueprint value is (``is {kind}``); with the value itself where it is short.
KIND_EMPTY = Template("empty")
KIND_STRING = Template("a string")
KIND_STRING_VALUE = Template("a string {value}")
KIND_BOOLEAN = Template("a boolean")
KIND_BOOLEAN_VALUE = Template("a boolean {value}")
KIND_WHOLE_NUMBER = Template("a whole number")
KIND_WHOLE_NUMBER_VALUE = Template("a whole number {value}")
KIND_NUMBER = Template("a number")
KIND_NUMBER_VALUE = Template("a number {value}")
KIND_ARRAY = Template("an array")
KIND_TABLE = Template("a table")
KIND_OTHER = Template("a value of type {type}")
NONE = Template("none")

# The operating system's reasons (``strerror``) that a person is likely to meet.
OS_NO_SUCH_FILE = Template("No such file or directory")
OS_PERMISSION_DENIED = Template("Permission denied")
OS_IS_A_DIRECTORY = Template("Is a directory")
OS_NOT_A_DIRECTORY = Template("Not a directory")
OS_IO_ERROR = Template("Input/output error")
OS_NAME_TOO_LONG = Template("File name too long")

# --- blueprint: what was found ------------------------------------------------------------
IS_KIND = Template("is {kind}")
UNKNOWN_KEY = Template("unknown key")
UNKNOWN_KEY_SUGGESTION = Template("unknown key, did you mean '{suggestion}'?")
MISSING_KEY = Template("missing key '{key}'")
CONTROL_CHARACTER = Template("contains a control character")
WRONG_FORM = Template("'{value}' has the wrong form")
WRONG_FILE_TYPE = Template("'{file}' has the wrong file type")
CANNOT_OPEN = Template("cannot open '{file}': {reason}")
FILE_MISSING = Template("file '{file}' does not exist (looked at {path})")
CANNOT_READ_FILE = Template("cannot read {file}: {reason}")
CANNOT_READ = Template("cannot read: {reason}")
NOT_UTF8 = Template("not UTF-8 text")
NOT_TOML = Template("not valid TOML: {reason}")
TOML_COLUMN = Template("{reason} (column {column})")
TOML_TOO_DEEP = Template("not valid TOML: nested too deeply")
NO_PLATFORM = Template("the blueprint has neither an [ios] nor an [android] section")
TOO_MANY_DIGITS = Template("{number} has more than {digits} digits")
PROFILE_LISTED_TWICE = Template("profile {identifier} is listed twice")
APP_LISTED_TWICE = Template("app {app} is listed twice")
SECRET_NOT_STORED = Template("secret '{name}' is not stored on this station")
NOT_IOS_SKIP_KEY = Template("'{key}' is not an iOS skip key")
UNKNOWN_SKIP_KEY = Template("unknown skip key '{key}'")
UNKNOWN_SKIP_KEY_SUGGESTION = Template("unknown skip key '{key}', did you mean '{suggestion}'?")
SIGNED_PROFILE_SECRETS = Template(
    "a signed profile cannot have secrets filled in (that would break its signature)"
)
NO_PAYLOAD_KEY = Template("no payload in {file} has a '{key}' key to fill in")
NOT_COMPONENT = Template("'{value}' is not a component name")
OWNER_NOT_AMONG_APPS = Template(
    "package {package} is not among android.apps (their packages: {packages})"
)
NOT_SETTING_NAME = Template("'{name}' is not a setting name")
NOT_SETTING_NAME_SUGGESTION = Template(
    "'{name}' is not a setting name, did you mean '{suggestion}'?"
)
TEMPLATE_SYNTAX = Template("{reason} (write {{ or }} for a literal brace)")
UNKNOWN_PLACEHOLDER = Template("unknown placeholder {{{name}}}")
UNKNOWN_PLACEHOLDER_SUGGESTION = Template(
    "unknown placeholder {{{name}}} (did you mean {{{suggestion}}}?)"
)
PLACEHOLDER_NO_FORMAT = Template("placeholder {{{name}}} takes no format or conversion")
SAME_DEVICE_NAME = Template("every device would get the same name")
ONE_PROBLEM = Template("1 problem")
PROBLEMS = Template("{count} problems")

# --- blueprint: what was expected ---------------------------------------------------------
EXPECT_NON_EMPTY = Template("a non-empty string")
EXPECT_TRUE_FALSE = Template("true or false")
EXPECT_WHOLE_NUMBER_RANGE = Template("a whole number from {low} to {high}")
EXPECT_SECONDS_RANGE = Template("a number of seconds from {low} to {high}")
EXPECT_FILE_OF_TYPE = Template("a path to a {suffix} file, relative to the blueprint")
EXPECT_FILE = Template("a path to a file, relative to the blueprint")
EXPECT_SECRET_NAME = Template("the name of a secret stored on this station")
EXPECT_ONE_OF = Template("one of {choices}")
EXPECT_VALID_FILE = Template("a valid {suffix} file")
EXPECT_VALID_PROFILE = Template("a valid configuration profile")
EXPECT_IDENTITY = Template("a PEM certificate and key")
EXPECT_SKIP_SETUP = Template('"all", "none" or an array of Setup Assistant skip keys')
EXPECT_SKIP_KEY_STRING = Template("a skip key string")
EXPECT_SKIP_KEY = Template("one of Apple's SkipKeys (see station.blueprint.IOS_SKIP_KEYS)")
EXPECT_SECRETS_TABLE = Template("a table of key = secret")
EXPECT_UNSIGNED_PROFILE = Template("an unsigned profile")
EXPECT_PAYLOAD_KEY = Template("a key present (as a placeholder) in one of the profile's payloads")
EXPECT_COMPONENT = Template('a component "package/.Receiver" or "package/full.class.Name"')
EXPECT_OWNER_APP = Template("the device-owner app to be installed by this blueprint")
EXPECT_SETTINGS_TABLE = Template('a table of "namespace.key" = value')
EXPECT_SETTING_NAME = Template("namespace.key with namespace {choices}")
EXPECT_SETTING_VALUE = Template("a string, whole number or boolean")
EXPECT_TABLET_PATH = Template('an absolute path on the tablet, e.g. "/sdcard/Download/info.pdf"')
EXPECT_UTF8 = Template("a TOML file saved as UTF-8")
EXPECT_NAME_TEMPLATE = Template("a name template")
EXPECT_PLACEHOLDERS = Template("placeholders from {placeholders}")
EXPECT_SCHOOL_ID = Template("1-32 letters, digits, '-' or '_' (the school number, e.g. SEG042)")
EXPECT_TAG_PREFIX = Template("up to 24 letters, digits or . _ / -")

# [android.provisioning] (the enrollment QR), in the words blueprint.py uses for it today.
EXPECT_DOWNLOAD_URL = Template("the https address tablets download the device-owner APK from")
NOT_HTTPS = Template("'{url}' is not an https address")
EXPECT_HTTPS_URL = Template('an https URL such as "https://mdm.example.org/agent.apk"')
HTTPS_HINT = Template("tablets refuse to download the device-owner app over plain http")
WIFI_PASSWORD_IN_BLUEPRINT = Template("a Wi-Fi password must not be written into the blueprint")
EXPECT_WIFI_PASSWORD_SECRET = Template(
    "wifi_password_secret = the name of a secret stored on this station"
)
STORE_WIFI_PASSWORD_HINT = Template("store the password with: station secrets set NAME")
SSID_TOO_LONG = Template("is longer than 32 bytes")
EXPECT_SSID = Template("a Wi-Fi network name")
NOT_A_LOCALE = Template("'{value}' is not a locale")
EXPECT_LOCALE = Template('language_COUNTRY as Android writes it, e.g. "de_DE"')
NOT_A_TIME_ZONE = Template("'{value}' is not a time zone")
EXPECT_TIME_ZONE = Template('an IANA time zone name, e.g. "Europe/Berlin"')
EAP_UNSUPPORTED = Template("EAP networks are not supported in the enrollment QR yet")
NOT_WIFI_SECURITY = Template("is {kind}, not a Wi-Fi security type Android knows")
NOT_A_SECRET_NAME = Template("is not a secret name (is it the password itself?)")
EXPECT_SECRET_NAME_EXAMPLE = Template(
    'the name of a secret stored on this station, e.g. "wlan-schule"'
)
SECRET_NAME_PASSWORD_HINT = Template(
    "use 1-64 letters, digits, '.', '_' or '-'; store the password with: station secrets set NAME"
)
WIFI_WITHOUT_SSID = Template("Wi-Fi security or password given without wifi_ssid")
EXPECT_WIFI_SSID = Template("wifi_ssid")
PASSWORD_FOR_OPEN_NETWORK = Template(
    'a password is given for an open network (wifi_security = "NONE")'
)
EXPECT_NO_PASSWORD = Template("no password, or wifi_security WPA or WEP")
NETWORK_NEEDS_PASSWORD = Template("a {security} network needs a password")
EXPECT_PASSWORD_SECRET = Template("wifi_password_secret = the name of the secret holding it")
EXPECT_ADMIN_EXTRAS = Template("a table of text, numbers, true/false or nested tables")
EXPECT_ADMIN_EXTRA = Template("text, a number, true/false or a table")

# --- blueprint: what to do ----------------------------------------------------------------
FIX_BLUEPRINT_HINT = Template("fix the blueprint and load it again; no device was touched")
STORE_SECRET_HINT = Template("store it with: station secrets set {name}")

# --- secrets ------------------------------------------------------------------------------
SECRET_BAD_NAME = Template("invalid secret name '{name}'")
SECRET_NAME_HINT = Template(
    "use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
)
SECRET_NOT_STORED_AT = Template("secret '{name}' is not stored on this station ({location})")
SECRET_EMPTY = Template("secret '{name}' must be a non-empty text value")
SECRETS_FILE_INVALID = Template("{file} is not a valid secrets file")
SECRETS_FILE_HINT = Template("restore it from a backup or delete it and store the secrets again")
KEYRING_READ = Template("the keyring could not read secret '{name}': {error}")
KEYRING_STORE = Template("the keyring could not store secret '{name}': {error}")
KEYRING_DELETE = Template("the keyring could not delete secret '{name}': {error}")
KEYRING_LIST_NAMES = Template("the keyring could not list the secret names: {error}")
KEYRING_STORE_NAMES = Template("the keyring could not store the secret names: {error}")
KEYRING_HINT = Template("unlock the keyring, or run the station with the file fallback")
SECRETS_IN_KEYRING = Template("keyring {backend} (service '{service}')")
SECRETS_IN_FILE = Template("file {path}")
IDENTITY_BLOCKS = Template(
    "secret '{name}' is not a supervision identity: expected one PEM certificate and one PEM "
    "private key, found {certificates} and {keys}"
)
IDENTITY_UNPARSABLE = Template("secret '{name}' holds a PEM block that does not parse")
IDENTITY_KEY_MISMATCH = Template(
    "secret '{name}': the private key does not belong to the certificate"
)
IDENTITY_HINT = Template("store a PEM file with the certificate and its unencrypted private key")

# --- app and profile files ----------------------------------------------------------------
FILE_NOT_FOUND = Template("file not found")
NOT_ZIP = Template("not a zip archive ({reason})")
UNREADABLE_ARCHIVE = Template("unreadable archive ({reason})")
IPA_HINT = Template("rebuild or re-download the .ipa")
IPA_TOO_MANY_ENTRIES = Template("{count} entries is too many for an app")
ZIP_BOMB = Template("{entry} expands suspiciously (zip bomb?)")
IPA_TOO_LARGE = Template("unpacks to {size} bytes, more than any iPad holds")
IPA_NO_APP = Template("no Payload/<Name>.app folder inside")
IPA_NO_INFO_PLIST = Template("no Payload/<Name>.app/Info.plist inside")
IPA_SEVERAL_APPS = Template("more than one app in Payload/")
INFO_PLIST_TOO_LARGE = Template("Info.plist is {size} bytes, too large")
INFO_PLIST_UNEXTRACTABLE = Template("Info.plist cannot be extracted ({reason})")
INFO_PLIST_LARGER = Template("Info.plist is larger than it claims")
INFO_PLIST_NOT_PLIST = Template("Info.plist is not a property list ({reason})")
INFO_PLIST_NOT_DICT = Template("Info.plist is not a dictionary")
INFO_PLIST_NO_BUNDLE_ID = Template("Info.plist has no CFBundleIdentifier")
APK_TOO_MANY_ENTRIES = Template("too many zip entries")
APK_NO_MANIFEST = Template("no AndroidManifest.xml: not an APK")
APK_ENTRY_TOO_LARGE = Template("{entry} is implausibly large")
APK_NOT_PKCS7 = Template("{entry} is not a PKCS#7 block")
APK_NO_CERTIFICATE = Template("{entry} holds no certificate")
APK_SIGNATURE_BLOCK = Template("signature block: {reason}")
APK_MANIFEST_DAMAGED = Template("AndroidManifest.xml: {reason}")
PROFILE_HINT = Template("check the profile in Apple Configurator or re-export it")
PROFILE_BAD_SIGNATURE = Template("looks signed but is not valid PKCS#7: {reason}")
PROFILE_DETACHED = Template("signed profile has no content (detached signature)")
PROFILE_NOT_PLIST = Template("not a property list (XML, binary) or a signed profile")
PROFILE_TOO_LARGE = Template("{size} bytes is too large for a profile")
PROFILE_EMPTY = Template("the file is empty")
PROFILE_UNREADABLE = Template("not a readable property list: {reason}")
PROFILE_NOT_DICT = Template("the property list is not a dictionary")
PROFILE_NOT_CONFIGURATION = Template("PayloadType is '{type}', not 'Configuration'")
PROFILE_NO_CONTENT = Template("profile has no PayloadContent")
PROFILE_CONTENT_NOT_LIST = Template("PayloadContent must be a list")
PROFILE_MISSING_FIELD = Template("{where} has no {field}")
PROFILE_EMPTY_FIELD = Template("{where}: {field} must be a non-empty string")
PROFILE_VERSION_NOT_INTEGER = Template("{where} PayloadVersion must be an integer")
PROFILE_VERSION_NOT_1 = Template("{where} PayloadVersion {version} is not 1")
PROFILE_MDM_SERVER = Template("{where} ServerURL must start with https://")
PROFILE_MDM_TOPIC = Template("{where} Topic must start with com.apple.mgmt.")
PROFILE_MDM_IDENTITY = Template(
    "{where} IdentityCertificateUUID {uuid} names no identity payload in the profile"
)
PROFILE_MDM_RIGHTS = Template("{where} AccessRights must be 1..8191")
PROFILE_NOT_DICT_ITEM = Template("{where} is not a dictionary")
PROFILE_REUSED_UUID = Template("{where} reuses UUID {uuid}")
PROFILE_REUSED_IDENTIFIER = Template("{where} reuses identifier {identifier}")
WHERE_PROFILE = Template("profile")
WHERE_PAYLOAD = Template("payload #{number}")
WHERE_MDM_PAYLOAD = Template("MDM payload {identifier}")

# --- devices: what the drivers were doing (the ``{action}`` of the messages below) ----------
ACTION_PAIR = Template("pair")
ACTION_INFO = Template("info")
ACTION_READ_NAME = Template("read name")
ACTION_RENAME = Template("rename")
ACTION_INSTALL = Template("install {file}")
ACTION_LIST_APPS = Template("list apps")
ACTION_READ_SUPERVISION = Template("read supervision")
ACTION_SUPERVISE = Template("supervise")
ACTION_LIST_PROFILES = Template("list profiles")
ACTION_INSTALL_PROFILE = Template("install profile")
ACTION_REMOVE_PROFILE = Template("remove profile")
ACTION_SET_WALLPAPER = Template("set wallpaper")
ACTION_ERASE = Template("erase")
ACTION_READ_ACTIVATION = Template("read activation")
ACTION_ACTIVATE = Template("activate")
ACTION_LIST_DEVICES = Template("list devices")
ACTION_TRACK_DEVICES = Template("track devices")
ACTION_READ_PROPERTIES = Template("read properties")
ACTION_PUSH = Template("push {file}")
ACTION_STAT = Template("stat {path}")
ACTION_REMOVE_STAGED = Template("remove staged APK")
ACTION_LIST_PACKAGES = Template("list packages")
ACTION_READ = Template("read {name}")
ACTION_SET = Template("set {name}")
ACTION_READ_DEVICE_OWNER = Template("read device owner")
ACTION_SET_DEVICE_OWNER = Template("set device owner")
ACTION_REBOOT = Template("reboot")
ACTION_READ_BOOT_STATE = Template("read boot state")
ACTION_DEVICE_OWNER = Template("device owner")

# --- devices: what went wrong (drivers/errors.py maps the libraries' exceptions to these) --
IOS_TRUST_PROMPT = Template("{action}: the iPad shows the Trust prompt")
IOS_TRUST_DENIED = Template("{action}: trust was denied on the iPad")
IOS_LOCKED = Template("{action}: the iPad is locked with a passcode")
IOS_NOT_PAIRED = Template("{action}: the iPad is not paired with this station")
IOS_SUPERVISED_ELSEWHERE = Template(
    "{action}: the iPad is supervised and does not allow pairing with this station"
)
IOS_CLOUD_CONFIGURATION = Template(
    "{action}: a cloud configuration is already present (MCInstall error 14002)"
)
IOS_USBMUXD_UNREACHABLE = Template("{action}: usbmuxd is not reachable")
IOS_GONE = Template("{action}: the iPad went away ({error})")
IOS_NOT_NORMAL_MODE = Template(
    "{action}: the iPad is not in normal mode (lockdownd did not answer)"
)
IOS_REFUSED = Template("{action}: the iPad said: {reply}")
IOS_FAILED = Template("{action}: the iPad reported an error: {reply}")
UNEXPECTED_ANSWER = Template("{action}: unexpected answer ({error})")
ADB_REFUSED = Template("{action}: the tablet said: {reply}")
ADB_STOPPED_ANSWERING = Template("{action}: the tablet stopped answering")
ADB_SERVER_UNREACHABLE = Template("{action}: the adb server is not reachable ({error})")
ADB_UNAUTHORIZED = Template("{action}: USB debugging is not allowed for this station")
ADB_AUTHORIZING = Template("{action}: the tablet is still authorizing")
ADB_NOT_THERE = Template("{action}: adb lost the tablet ({reply})")
ADB_SHARED_SERIAL = Template("{action}: two tablets answer to the same serial ({reply})")
ADB_GONE = Template("{action}: the tablet went away ({error})")
NOT_ENOUGH_STORAGE = Template("{action}: not enough storage on the tablet ({reply})")
OTHER_DEVICE_OWNER = Template("device owner: {owner} is already device owner")
OTHER_SUPERVISOR = Template("supervise: the iPad is supervised by another organisation")
PAIR_STATE = Template("pair: {presence}")

# Said by ios.py / android.py / usb.py / the steps in these words today (the window already
# translates them; the call sites are to build them from these constants).
USBMUXD_AT_UNREACHABLE = Template("usbmuxd at {address} is not reachable ({error})")
USBMUXD_CLOSED = Template("usbmuxd closed the connection")
USBMUXD_MESSAGE_SIZE = Template("usbmuxd sent a message of {size} bytes")
USBMUXD_MESSAGE_TYPE = Template("usbmuxd sent message type {kind_number} (version {version})")
USBMUXD_BAD_PLIST = Template("usbmuxd sent a plist that does not parse")
USBMUXD_PLIST_NOT_DICT = Template("usbmuxd sent a plist that is not a dictionary")
USBMUXD_ATTACHED_WITHOUT_ID = Template("usbmuxd sent an Attached record without an id: {record}")
USBMUXD_LIST_DEVICES = Template("usbmuxd answered ListDevices with {reply}")
USBMUXD_LISTEN_REFUSED = Template("usbmuxd refused Listen: {reply}")
IDENTITY_NO_CERTIFICATE = Template("the supervision identity holds no PEM certificate")
IDENTITY_NO_KEY = Template("the supervision identity holds no usable private key")
IOS_PAIRING_REFUSED = Template("pair: the iPad paired but refused the new pairing")
IOS_BAD_APP_RECORD = Template("list apps: bad record for {app}")
IOS_BAD_PROFILE_ENTRY = Template("list profiles: bad entry '{identifier}'")
ACTIVATION_SERVER_SILENT = Template("activate: the activation server did not answer ({error})")
ACTIVATION_LOCK = Template("activate: the iPad is locked to an Apple Account (Activation Lock)")
ACTIVATION_LOCK_HINT = Template(
    "Have the owner remove it from Find My, or release it in Apple School Manager"
)
ACTIVATION_SERVER_ANSWERED = Template("activate: the activation server answered {kind}")
NO_CONTENT_TYPE = Template("no content type")
IOS_DRIVER_CLOSED = Template("the iOS driver was closed")
NO_APP_FILE = Template("{path}: no such app file")
NO_APP_FILE_BECAUSE = Template("{path}: no such app file ({reason})")
NO_SUCH_FILE = Template("{path}: no such file")
ADB_TRACKING_ENDED = Template("the adb server ended device tracking ({error})")
GETPROP_FAILED = Template("getprop failed: {reply}")
ADB_DOES_NOT_SEE = Template("{action}: adb does not see {handle}")
SETTING_NAMESPACE = Template("setting namespace '{namespace}' is not one of {choices}")
SETTING_KEY_CHARACTERS = Template("setting key '{key}' has characters Android does not allow")
ADB_SIZE_MISMATCH = Template("{action}: {dest} has {size} bytes on the tablet, not {expected}")
OWNER_NOT_COMPONENT = Template("device owner '{component}' is not a package/.Receiver component")
SUPERVISE_NO_IDENTITY = Template("supervise: the blueprint's supervision identity is not loaded")
USB_SCAN_FAILED = Template("cannot scan USB: {error}")
COPYING = Template("Copying {file}")
INSTALLING = Template("Installing {file}")
INSTALLED = Template("Installed {file}")
UPLOADING = Template("Uploading {file}")
APP_FILE_SHRANK = Template("{path}: the app file got shorter while it was sent")

# --- devices: what a person should do -----------------------------------------------------
CABLE_HINT = Template("Check the cable; the job goes on when the tablet is back")
USBMUXD_HINT = Template(
    "Start usbmuxd on the station (systemctl start usbmuxd) and replug the iPads"
)
ADB_SERVER_HINT = Template("Start the adb server on the station (adb start-server)")
PROTOCOL_HINT = Template("Unplug the tablet and restart it; if it happens again, set it aside")
PAIR_HINT = Template("Pair the iPad first: unlock it and tap Trust")
ERASE_FOR_SUPERVISION_HINT = Template(
    "Erase the iPad first: supervision needs a device still in Setup Assistant"
)
SUPERVISED_ELSEWHERE_HINT = Template(
    "Use the organisation's supervision identity, or erase the iPad"
)
SHARED_SERIAL_HINT = Template("Two tablets share a serial: address them by port")
STORAGE_HINT = Template("Free up storage on the tablet (or erase it), then retry it")
ERASE_FIRST_HINT = Template(
    "Erase the iPad (Settings > General > Reset) or set erase in the blueprint"
)
OTHER_SUPERVISOR_HINT = Template(
    "Another organisation supervises this iPad: have it released, or erase it with its identity"
)
ACCOUNTS_HINT = Template(
    "Remove every account on the tablet (Settings > Accounts) or factory-reset it, then retry it"
)
OTHER_OWNER_HINT = Template("Another app is device owner: factory-reset the tablet, then retry it")
OWNER_ACCOUNTS_HINT = Template(
    "Remove every account (Settings > Accounts) or factory-reset the tablet"
)
OWNER_USERS_HINT = Template("Remove the extra users (Settings > System > Multiple users)")
OWNER_RESET_HINT = Template("Factory-reset the tablet to change its device owner")
OWNER_CHECK_HINT = Template("Check the device-owner app and the tablet's state")
USB_ACCESS_HINT = Template("Install libusb and check the station's USB access")
ACTIVATION_NETWORK_HINT = Template("Check the station's internet connection (albert.apple.com)")
IDENTITY_PEM_HINT = Template("Store the identity as PEM certificate + unencrypted private key")

# --- the engine: what a job is doing --------------------------------------------------------
GONE_HINT = Template("Plug the tablet back in (any slot): its job goes on where it stopped")
RETRY_HINT = Template("Check the tablet and its cable, then retry it")
REPORT_HINT = Template("Report this; retry the tablet")
INTERNAL_ERROR = Template("internal error: {error}")
STEP_TIMED_OUT = Template("{step} timed out")
RETRYING_BECAUSE = Template("retrying: {error}")
RETRY_IN = Template("retry {count} in {seconds}s")
WAITING_FOR_PERSON = Template("waiting for a person: {reason}")
STEPS_DONE = Template("{done} done, {skipped} already so")
TABLET_IS = Template("the tablet is {presence}")
STARTED_NORMALLY = Template("started normally as {job}")
IOS_RECOVERY = Template("the iPad is in recovery mode")
IOS_LEFT_RECOVERY = Template("the iPad left recovery mode")
ADB_CANNOT_SEE = Template("the tablet is on USB but adb cannot see it")
PROVISIONED_USB_OFF = Template("provisioned earlier with this blueprint; USB debugging is off")
STEP_STOPPED = Template("stopped")
JOB_CANCELLED = Template("cancelled")
JOB_RETRYING = Template("retrying")
JOB_CHECKING = Template("checking")
JOB_RESTARTING = Template("restarting")
FINISHED_BEFORE_RESTART = Template("finished before the restart")
DEVICE_LEFT = Template("the device left")
DEVICE_WENT_AWAY = Template("the device went away")
DONE_EARLIER = Template("done in an earlier attempt")
ALREADY_DONE = Template("already done on the device")
STEP_INPUT_ERROR = Template("input error")

# --- a StationError as ``str()`` words it: the message, then the hint in brackets -----------
WITH_HINT = Template("{error} ({hint})")

# --- label printers (the ``{error}`` of PRINTER_PROBLEM; errors.PrinterError words it so) ----
PRINTER_PROBLEM = Template("printer {printer}: {error}")
PRINTER_TIMED_OUT = Template("no answer (timed out)")
PRINTER_REFUSED = Template("refused the connection")
PRINTER_UNREACHABLE = Template("unreachable ({reason})")
PRINTER_CANNOT_WRITE = Template("cannot write ({reason})")
PRINTER_FAILED = Template("the printer connection failed: {reply}")
PRINTER_NO_LIBUSB = Template("USB cannot be used: libusb is not installed")
PRINTER_USB_BUS = Template("the USB bus cannot be read ({reply})")
PRINTER_EDITOR_LITE = Template(
    "is in Editor Lite mode (it shows up as a USB drive, not as a printer)"
)
PRINTER_NOT_ON_USB = Template("is not connected by USB")
PRINTER_NOT_ON_USB_OTHERS = Template("is not connected by USB (connected: {printers})")
PRINTER_NO_MEDIA = Template("has no tape or labels loaded")
PRINTER_REPORTS = Template("reports: {problems}")
PRINTER_REPORTED = Template("reported {problems}")
PRINTER_NO_STATUS = Template("did not answer the status request")
PRINTER_WRONG_ROLL = Template("has {loaded} loaded, but the labels are laid out for {roll}")
PARTLY_PRINTED = Template("{error} after {done} of {count} labels")
NO_LABELS = Template("no labels to print")
ROLL_NONE = Template("no roll")
ROLL_DIE_CUT = Template("{width} x {length} mm die-cut labels")
ROLL_ENDLESS = Template("{width} mm endless tape")
# What a Brother printer's status block says, in the words a person at the printer reads.
PRINTER_NO_MEDIA_WORDS = Template("no tape or labels are loaded")
PRINTER_ROLL_USED_UP = Template("the label roll is used up")
PRINTER_CUTTER_JAM = Template("the cutter is jammed")
PRINTER_SWITCHED_OFF = Template("it is switched off")
PRINTER_WRONG_MEDIA = Template("the loaded roll is not the one the labels are made for")
PRINTER_GARBLED = Template("it did not understand the data it received")
PRINTER_COVER_OPEN = Template("the cover is open")
PRINTER_TAPE_STUCK = Template("the tape is used up or stuck")
PRINTER_SYSTEM_ERROR = Template("it has a system error (switch it off and on)")
PRINTER_UNKNOWN_ERROR = Template("an unknown error")
PRINTER_UNREACHABLE_HINT = Template(
    "Switch the printer on and check its network cable; the labels are kept and will be "
    "printed with Retry"
)
PRINTER_USB_HINT = Template(
    "Switch the printer on, check its USB cable and turn Editor Lite off; the labels are kept "
    "and will be printed with Retry"
)
PRINTER_MEDIA_HINT = Template(
    "Load the {roll} roll, or choose the label size that is loaded; the labels are kept and "
    "will be printed with Retry"
)
PRINTER_CHECK_HINT = Template(
    "Check the tape and the cover; the labels are kept and will be printed with Retry"
)
PRINTER_LIBUSB_HINT = Template(
    "install libusb (Debian: apt install libusb-1.0-0), or connect the printer over the network"
)
PRINTER_EDITOR_LITE_HINT = Template(
    "Hold the Editor Lite button until its light goes out, then press Retry"
)

# A label printer as the station's setting names it (station/labels/printer_setting.py).
PRINTER_KIND_UNKNOWN = Template("unknown label printer kind '{value}'")
PRINTER_KINDS_HINT = Template("known kinds: {choices}")
PRINTER_NO_ADDRESS = Template("no label printer address is given")
ZPL_ADDRESS_BAD = Template("Zebra printer address '{address}' is not tcp://HOST:PORT")
ZPL_ADDRESS_HINT = Template("for example tcp://192.0.2.40:9100")
ZPL_SIZE_BAD = Template("Zebra label size '{size}' is not WIDTHxHEIGHT in mm")
ZPL_DPMM_BAD = Template("Zebra dots per mm {number} is not a Zebra print head")
ZPL_DPMM_HINT = Template("choose {choices}")
BROTHER_LABEL_UNKNOWN = Template("unknown Brother label '{label}'")
BROTHER_LABELS_HINT = Template("known labels: {choices}")
BROTHER_USB_ADDRESS_BAD = Template(
    "Brother USB address '{address}' is not usb://VENDOR:PRODUCT[/SERIAL]"
)
BROTHER_USB_ADDRESS_HINT = Template(
    "for example usb://0x04f9:0x209d (QL-820NWB) or usb://0x04f9:0x2042 (QL-700)"
)

# --- labels: layout, sheets ---------------------------------------------------------------
LABEL_NOT_A_LABEL = Template("label size {label}: {width} x {height} mm is not a label")
LABEL_NO_ROOM = Template(
    "label size {label}: {width} x {height} mm leaves no room for a QR code and the "
    "asset tag side by side"
)
LABEL_MIN_SIZE_HINT = Template("use labels of at least about {width} x {height} mm")
LABEL_QR_TOO_DENSE = Template(
    "label {tag}: the QR code for '{payload}' is too dense for a {width} x {height} mm label "
    "({module} mm per module, {needed} mm needed to scan reliably)"
)
LABEL_QR_DENSE_HINT = Template("use a shorter payload template (plain) or larger labels")
QR_PAYLOAD_EMPTY = Template("a label's QR payload is empty")
QR_PAYLOAD_TOO_LONG = Template("QR payload of {size} bytes does not fit in a QR code")
QR_PAYLOAD_HINT = Template("use a shorter payload template")
SHEET_OFFSET = Template("label sheet {sheet}: start offset {offset} is outside the sheet")
SHEET_OFFSET_HINT = Template("give 0 (a fresh sheet) to {last} (labels already used)")
UNKNOWN_SHEET = Template("unknown label sheet '{sheet}'")
UNKNOWN_SHEET_SUGGESTION = Template("unknown label sheet '{sheet}' (did you mean {suggestion}?)")
SHEETS_HINT = Template("known sheets: {sheets}; add others to {file}")
SHEETS_NOT_FOUND = Template("{path}: label sheet layouts not found")
SHEETS_UNREADABLE = Template("{path}: cannot read label sheet layouts ({reason})")

# --- the Android enrollment QR ------------------------------------------------------------
NO_BLUEPRINT_LOADED = Template("no blueprint is loaded")
CHOOSE_BLUEPRINT_HINT = Template("choose the cart's blueprint first")
BLUEPRINT_NO_ANDROID = Template("blueprint {name} has no [android] table")
ADD_ANDROID_HINT = Template("add an [android] table with device_owner and its APK")
NO_PROVISIONING = Template("the blueprint has no [android.provisioning] table")
PROVISIONING_HINT = Template(
    'add [android.provisioning] with download_url = "https://.../agent.apk", the '
    "address tablets download the device-owner app from (see docs/blueprints.md)"
)
NO_DEVICE_OWNER = Template("the blueprint names no android.device_owner")
DEVICE_OWNER_HINT = Template('add device_owner = "package/.Receiver" to the [android] table')
OWNER_APP_NOT_LISTED = Template("the device-owner app {package} is not among android.apps")
OWNER_NOT_COMPONENT_NAME = Template("device-owner component '{component}' is not a component name")
COMPONENT_HINT = Template('write "package/.Receiver" or "package/full.class.Name"')
OWNER_OTHER_PACKAGE = Template(
    "device-owner component {component}: package {package} is not the APK's ({file} is {app})"
)
OWNER_PACKAGE_HINT = Template("name the receiver of the app whose APK the tablets download")
DOWNLOAD_URL_NOT_HTTP = Template("APK download URL '{url}' is not an http(s) address")
DOWNLOAD_URL_HINT = Template("the tablets download the device-owner app from it during setup")
APK_UNSIGNED = Template("{path}: the APK is not signed, so it has no signature checksum")
APK_CANNOT_READ = Template("{path}: cannot read ({reason})")
WIFI_SECURITY_UNKNOWN = Template("Wi-Fi security type '{value}' is not one Android knows")
USE_ONE_OF_HINT = Template("use one of {choices}")
WIFI_OPEN_WITH_PASSWORD = Template("Wi-Fi '{name}': a password is set for an open network")
WIFI_NEEDS_PASSWORD = Template("Wi-Fi '{name}' ({security}) needs a password")
WIFI_WITHOUT_AN_SSID = Template("Wi-Fi security or password given without an SSID")

# --- sync: what the county hub and Snipe-IT said (the sync panel's last error) -------------
HUB_UNREACHABLE = Template("hub unreachable: {reply}")
HUB_TAKES_NO_OP = Template("the hub takes no '{op}' messages")
HUB_NOT_A_BATCH_REPLY = Template("the hub's answer is not a batch reply (a proxy in the way?)")
HUB_LEFT_OUT = Template("the hub's answer left this message out")
HUB_REJECTED = Template("hub rejected it: {reply}")
HUB_BUSY = Template("hub busy or failing: {reply}")
HUB_TOKEN_REFUSED = Template(
    "hub refused this station's token ({reply}); set it with station sync set-hub"
)
HUB_REDIRECT = Template("hub answered with a redirect to {url}; check the hub URL")
HUB_REFUSED = Template("hub refused it: {reply}")
SNIPEIT_UNREACHABLE = Template("Snipe-IT unreachable: {reply}")
SNIPEIT_RATE_LIMIT = Template("Snipe-IT rate limit: HTTP {status}")
SNIPEIT_FAILURE = Template("Snipe-IT failure: HTTP {status}")
SNIPEIT_TOKEN_REFUSED = Template("Snipe-IT refused the API token (HTTP {status})")
SNIPEIT_TOKEN_HINT = Template(
    "create a token in Snipe-IT and store it with station sync set-snipeit"
)
SNIPEIT_NO_JSON = Template(
    "Snipe-IT answered HTTP {status} without JSON (maintenance page? proxy?)"
)
SNIPEIT_REQUEST_NOT_FOUND = Template("Snipe-IT: {request}: not found")
SNIPEIT_REQUEST_REFUSED = Template("Snipe-IT: {request}: {reply}")
SNIPEIT_HTTP_REFUSED = Template("Snipe-IT: HTTP {status}: {reply}")
SNIPEIT_SERIAL_LOOKUP_FAILED = Template("Snipe-IT byserial lookup failed: {reply}")
SNIPEIT_LOOKUP_FAILED = Template("Snipe-IT {thing} lookup failed: {reply}")
SNIPEIT_NO_SUCH = Template("Snipe-IT has no {thing} named '{name}'")
# What Snipe-IT looks up by name (the ``{thing}`` above).
SNIPEIT_MODEL = Template("model")
SNIPEIT_COMPANY = Template("company")
SNIPEIT_LOCATION = Template("location")
SNIPEIT_NO_SUCH_HINT = Template(
    "create the {thing} in Snipe-IT or map it in the station's Snipe-IT settings"
)
SNIPEIT_NEW_ASSET_REFUSED = Template("Snipe-IT refused the new asset: {reply}")
SNIPEIT_UPDATE_REFUSED = Template("Snipe-IT refused the update: {reply}")
SNIPEIT_DUPLICATES = Template("Snipe-IT has {count} assets with serial {serial} (ids {ids})")
SNIPEIT_DUPLICATES_HINT = Template("merge or delete the duplicates in Snipe-IT, then resend")
SNIPEIT_TAKES_NO_OP = Template("Snipe-IT takes no '{op}' messages")
NOT_AN_ASSET_RECORD = Template("not an asset record: {count} problems")
