"""Vendor exceptions → the station's error tree, at the driver boundary (``raise ... from exc``).

Each mapper is a context manager around one driver operation; it names the device and what
was being done, and attaches a hint for the person at the cart. Only vendor exceptions and
the low-level errors a vanishing or babbling device causes are mapped; the station's own
errors pass through untouched.
"""

from __future__ import annotations

import asyncio
import plistlib
import ssl
import struct
import xml.parsers.expat
from collections.abc import Iterator
from contextlib import contextmanager

from adbutils.errors import (
    AdbConnectionError,
    AdbError,
    AdbInstallError,
    AdbSyncError,
    AdbTimeout,
)
from pymobiledevice3 import exceptions as pmd3

from station.drivers.base import Presence
from station.errors import (
    DeviceError,
    DeviceGone,
    DeviceProtocolError,
    DeviceRefused,
    StationError,
    UserActionRequired,
)

GONE_HINT = "Check the cable; the job goes on when the tablet is back"
USBMUXD_HINT = "Start usbmuxd on the station (systemctl start usbmuxd) and replug the iPads"
ADB_SERVER_HINT = "Start the adb server on the station (adb start-server)"
PROTOCOL_HINT = "Unplug the tablet and restart it; if it happens again, set it aside"
PAIR_HINT = "Pair the iPad first: unlock it and tap Trust"
ERASE_HINT = "Erase the iPad first: supervision needs a device still in Setup Assistant"

# What a vanishing device looks like from below the libraries.
_GONE_OS = (
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
    asyncio.IncompleteReadError,
    EOFError,
    ssl.SSLZeroReturnError,
    ssl.SSLEOFError,
)
# What garbage from a device looks like from below the libraries.
# plistlib raises expat's error (not InvalidFileException) for a truncated or broken XML plist.
_GARBAGE = (
    plistlib.InvalidFileException,
    xml.parsers.expat.ExpatError,
    struct.error,
    UnicodeDecodeError,
    ssl.SSLError,
)
# What a client library trips over when a device answers with the wrong types or shapes.
_LIBRARY_TRIPPED = (AttributeError, TypeError, KeyError, IndexError, ValueError)


@contextmanager
def map_ios_errors(device: str, action: str) -> Iterator[None]:
    """Map pymobiledevice3's exceptions raised while doing ``action`` on ``device``."""
    what = f"{action}: "
    try:
        yield
    except StationError:
        raise
    except pmd3.PairingDialogResponsePendingError as exc:
        raise UserActionRequired(
            what + "the iPad shows the Trust prompt", device=device, hint=Presence.NEEDS_TRUST.hint
        ) from exc
    except pmd3.UserDeniedPairingError as exc:
        raise UserActionRequired(
            what + "trust was denied on the iPad", device=device, hint=Presence.TRUST_DENIED.hint
        ) from exc
    except (pmd3.PasswordRequiredError, pmd3.PasscodeRequiredError) as exc:
        raise UserActionRequired(
            what + "the iPad is locked with a passcode", device=device, hint=Presence.LOCKED.hint
        ) from exc
    except (pmd3.NotPairedError, pmd3.InvalidHostIDError, pmd3.FatalPairingError) as exc:
        raise UserActionRequired(
            what + "the iPad is not paired with this station", device=device, hint=PAIR_HINT
        ) from exc
    except pmd3.MCProtectedError as exc:
        raise DeviceRefused(
            what + "the iPad is supervised and does not allow pairing with this station",
            device=device,
            hint="Use the organisation's supervision identity, or erase the iPad",
        ) from exc
    except pmd3.CloudConfigurationAlreadyPresentError as exc:
        raise DeviceRefused(
            what + "a cloud configuration is already present (MCInstall error 14002)",
            device=device,
            hint=ERASE_HINT,
        ) from exc
    except pmd3.ConnectionFailedToUsbmuxdError as exc:
        raise DeviceError(
            what + "usbmuxd is not reachable", device=device, hint=USBMUXD_HINT
        ) from exc
    except (
        pmd3.ConnectionTerminatedError,
        pmd3.NoDeviceConnectedError,
        pmd3.DeviceNotFoundError,
        pmd3.BadDevError,
        pmd3.ConnectionFailedError,
        *_GONE_OS,
    ) as exc:
        raise DeviceGone(
            what + f"the iPad went away ({exc!r})", device=device, hint=GONE_HINT
        ) from exc
    except pmd3.IncorrectModeError as exc:
        raise DeviceProtocolError(
            what + "the iPad is not in normal mode (lockdownd did not answer)",
            device=device,
            hint=Presence.RECOVERY.hint,
        ) from exc
    except (
        pmd3.ProfileError,
        pmd3.AppInstallError,
        pmd3.StartServiceError,
        pmd3.MobileActivationException,
        pmd3.LockdownError,
    ) as exc:
        raise DeviceRefused(what + (str(exc) or type(exc).__name__), device=device) from exc
    except (pmd3.MuxException, *_GARBAGE) as exc:
        raise DeviceProtocolError(
            what + f"unexpected answer ({exc!r})", device=device, hint=PROTOCOL_HINT
        ) from exc
    except pmd3.PyMobileDevice3Exception as exc:
        raise DeviceError(what + (str(exc) or type(exc).__name__), device=device) from exc
    except _LIBRARY_TRIPPED as exc:
        # Boundary: pymobiledevice3 indexes device answers without checking their types, so a
        # tampered iPad (a list where a dict belongs, a missing key) surfaces as these.
        raise DeviceProtocolError(
            what + f"unexpected answer ({exc!r})", device=device, hint=PROTOCOL_HINT
        ) from exc


def _adb_text(exc: AdbError) -> str:
    return " ".join(str(a) for a in exc.args if isinstance(a, str)) or str(exc)


@contextmanager
def map_adb_errors(device: str, action: str) -> Iterator[None]:
    """Map adbutils' exceptions (raised in its worker thread) for ``action`` on ``device``."""
    what = f"{action}: "
    try:
        yield
    except StationError:
        raise
    except AdbInstallError as exc:
        raise DeviceRefused(what + exc.output.strip(), device=device) from exc
    except AdbTimeout as exc:
        raise DeviceGone(
            what + "the tablet stopped answering", device=device, hint=GONE_HINT
        ) from exc
    except AdbConnectionError as exc:
        raise DeviceError(
            what + f"the adb server is not reachable ({exc})", device=device, hint=ADB_SERVER_HINT
        ) from exc
    except AdbSyncError as exc:
        raise DeviceRefused(what + _adb_text(exc), device=device) from exc
    except AdbError as exc:
        text = _adb_text(exc)
        low = text.lower()
        if "unauthorized" in low:
            raise UserActionRequired(
                what + "USB debugging is not allowed for this station",
                device=device,
                hint=Presence.UNAUTHORIZED.hint,
            ) from exc
        if "still authorizing" in low:
            raise UserActionRequired(
                what + "the tablet is still authorizing",
                device=device,
                hint=Presence.UNAUTHORIZED.hint,
            ) from exc
        if any(
            s in low
            for s in (
                "offline",
                "not found",
                "no device",
                "connection closed",
                "closed",
                "no devices",
            )
        ):
            raise DeviceGone(what + text, device=device, hint=GONE_HINT) from exc
        if "more than one" in low:
            raise DeviceError(
                what + text, device=device, hint="Two tablets share a serial: address them by port"
            ) from exc
        raise DeviceProtocolError(what + text, device=device, hint=PROTOCOL_HINT) from exc
    except (*_GONE_OS, ConnectionError, TimeoutError) as exc:
        raise DeviceGone(
            what + f"the tablet went away ({exc!r})", device=device, hint=GONE_HINT
        ) from exc
    except (UnicodeDecodeError, struct.error, ValueError) as exc:
        # ValueError: adbutils parses the exit status after its shell marker with int().
        raise DeviceProtocolError(
            what + f"unexpected answer ({exc!r})", device=device, hint=PROTOCOL_HINT
        ) from exc
