"""The station's one error tree; vendor exceptions are mapped into it at the driver boundary.

::

    StationError
    ├── InputError                 something a person gave us is wrong (file, setting)
    │   ├── ArtifactError          an .ipa / .apk / .mobileconfig that does not parse
    │   ├── BlueprintError         a blueprint that does not validate
    │   └── SecretError            a secret that is referenced but not stored
    ├── DeviceError                a tablet did not do what we asked
    │   ├── DeviceGone             unplugged, rebooting, vanished mid-call
    │   ├── UserActionRequired     a person must act (tap Trust, unlock, enable USB debugging)
    │   ├── DeviceRefused          the device said no (real error text kept)
    │   └── DeviceProtocolError    garbage from the device (tampered, buggy)
    ├── StoreError                 the local database
    │   ├── KnownStoreError        the machine's fault: disk full, I/O error, locked, damaged
    │   └── StoreBug               our fault: bad SQL, a broken invariant
    ├── SyncError                  the upstream connection
    │   ├── SyncConfigError        sync is not set up (no hub URL, no token)
    │   ├── UpstreamUnavailable    down, overloaded, rate limited: retry later
    │   ├── UpstreamRefused        the upstream said no for good: a person reviews it
    │   └── HubError               the county hub service: its database or an admin request
    └── PrinterError               a label printer that is off, unreachable or refuses the job

Every error carries a ``hint``: what a person should do next, in plain words. Messages and
hints meant for a person are built from the templates in :mod:`station.messages` (English,
which the window recognises and translates), never from ad-hoc prose.
"""

from __future__ import annotations


class StationError(Exception):
    """Base of everything the station raises on purpose."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class InputError(StationError):
    """A file or setting a person gave the station is wrong; nothing was touched."""


class ArtifactError(InputError):
    """An app or profile file that is missing, corrupt or not what it claims to be."""

    def __init__(self, path: str, problem: str, *, hint: str = "") -> None:
        super().__init__(f"{path}: {problem}", hint=hint)
        self.path = path
        self.problem = problem


class BlueprintError(InputError):
    """A blueprint that does not validate; ``location`` is the file and key or line."""

    def __init__(self, location: str, problem: str, *, hint: str = "") -> None:
        super().__init__(f"{location}: {problem}", hint=hint)
        self.location = location
        self.problem = problem


class SecretError(InputError):
    """A secret referenced by name that is not stored on this station."""


class DeviceError(StationError):
    """A tablet did not do what we asked."""

    def __init__(self, message: str, *, device: str = "", hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.device = device


class DeviceGone(DeviceError):
    """The device went away (unplugged, rebooting); the job pauses until it is back."""


class UserActionRequired(DeviceError):
    """A person has to do something at the tablet; not a failure."""


class ServiceUnavailable(DeviceError):
    """The station's own device service (usbmuxd, the adb server) is not answering.

    No fault of the tablet: its job waits for the service without using up its attempts.
    """


class DeviceRefused(DeviceError):
    """The device refused the request; the device's own error text is in the message."""


class DeviceProtocolError(DeviceError):
    """The device sent something we cannot parse; it may be tampered with or broken."""


class StoreError(StationError):
    """The local database failed."""


class KnownStoreError(StoreError):
    """The database failed for an environmental reason (disk full, I/O, locked, damaged file)."""


class StoreBug(StoreError):
    """The database refused what we asked: a bug in the station, not the machine."""


class SyncError(StationError):
    """Upstream delivery failed."""


class SyncConfigError(SyncError):
    """Sync is not set up: a hub URL, a token or a Snipe-IT mapping is missing."""


class UpstreamUnavailable(SyncError):
    """The upstream system is down, overloaded or rate limiting; ``retry_after`` in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


class UpstreamRefused(SyncError):
    """The upstream system refused a message for good; its own error text is in the message."""


class HubError(SyncError):
    """The county hub could not open its database or refused an admin request."""


class PrinterError(StationError):
    """A label printer did not take the job; the labels stay queued for a retry."""

    def __init__(self, printer: str, problem: str, *, hint: str = "") -> None:
        super().__init__(f"printer {printer}: {problem}", hint=hint)
        self.printer = printer
        self.problem = problem
