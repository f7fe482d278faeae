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

from station import messages as msg
from station.drivers.base import Presence
from station.errors import (
    DeviceError,
    DeviceGone,
    DeviceProtocolError,
    DeviceRefused,
    ServiceUnavailable,
    StationError,
    UserActionRequired,
)

GONE_HINT = msg.CABLE_HINT
USBMUXD_HINT = msg.USBMUXD_HINT
ADB_SERVER_HINT = msg.ADB_SERVER_HINT
PROTOCOL_HINT = msg.PROTOCOL_HINT
PAIR_HINT = msg.PAIR_HINT
ERASE_HINT = msg.ERASE_FOR_SUPERVISION_HINT

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
    try:
        yield
    except StationError:
        raise
    except pmd3.PairingDialogResponsePendingError as exc:
        raise UserActionRequired(
            msg.IOS_TRUST_PROMPT.fill(action=action),
            device=device,
            hint=Presence.NEEDS_TRUST.hint,
        ) from exc
    except pmd3.UserDeniedPairingError as exc:
        raise UserActionRequired(
            msg.IOS_TRUST_DENIED.fill(action=action),
            device=device,
            hint=Presence.TRUST_DENIED.hint,
        ) from exc
    except (pmd3.PasswordRequiredError, pmd3.PasscodeRequiredError) as exc:
        raise UserActionRequired(
            msg.IOS_LOCKED.fill(action=action), device=device, hint=Presence.LOCKED.hint
        ) from exc
    except (pmd3.NotPairedError, pmd3.InvalidHostIDError, pmd3.FatalPairingError) as exc:
        raise UserActionRequired(
            msg.IOS_NOT_PAIRED.fill(action=action), device=device, hint=PAIR_HINT
        ) from exc
    except pmd3.MCProtectedError as exc:
        raise DeviceRefused(
            msg.IOS_SUPERVISED_ELSEWHERE.fill(action=action),
            device=device,
            hint=msg.SUPERVISED_ELSEWHERE_HINT,
        ) from exc
    except pmd3.CloudConfigurationAlreadyPresentError as exc:
        raise DeviceRefused(
            msg.IOS_CLOUD_CONFIGURATION.fill(action=action),
            device=device,
            hint=ERASE_HINT,
        ) from exc
    except pmd3.ConnectionFailedToUsbmuxdError as exc:
        raise ServiceUnavailable(
            msg.IOS_USBMUXD_UNREACHABLE.fill(action=action), device=device, hint=USBMUXD_HINT
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
            msg.IOS_GONE.fill(action=action, error=repr(exc)), device=device, hint=GONE_HINT
        ) from exc
    except pmd3.IncorrectModeError as exc:
        raise DeviceProtocolError(
            msg.IOS_NOT_NORMAL_MODE.fill(action=action),
            device=device,
            hint=Presence.RECOVERY.hint,
        ) from exc
    except pmd3.SessionActiveError as exc:
        # pymobiledevice3 reconnects after a dropped StartSession (usbmuxd restarting) and
        # sends it again on a connection that already has a session: try again, not a refusal.
        raise DeviceError(
            msg.IOS_FAILED.fill(action=action, reply=str(exc) or type(exc).__name__),
            device=device,
        ) from exc
    except (
        pmd3.ProfileError,
        pmd3.AppInstallError,
        pmd3.StartServiceError,
        pmd3.MobileActivationException,
        pmd3.LockdownError,
    ) as exc:
        reply = str(exc) or type(exc).__name__
        raise DeviceRefused(
            msg.IOS_REFUSED.fill(action=action, reply=reply), device=device
        ) from exc
    except (pmd3.MuxException, *_GARBAGE) as exc:
        raise DeviceProtocolError(
            msg.UNEXPECTED_ANSWER.fill(action=action, error=repr(exc)),
            device=device,
            hint=PROTOCOL_HINT,
        ) from exc
    except pmd3.PyMobileDevice3Exception as exc:
        reply = str(exc) or type(exc).__name__
        raise DeviceError(msg.IOS_FAILED.fill(action=action, reply=reply), device=device) from exc
    except _LIBRARY_TRIPPED as exc:
        # Boundary: pymobiledevice3 indexes device answers without checking their types, so a
        # tampered iPad (a list where a dict belongs, a missing key) surfaces as these.
        raise DeviceProtocolError(
            msg.UNEXPECTED_ANSWER.fill(action=action, error=repr(exc)),
            device=device,
            hint=PROTOCOL_HINT,
        ) from exc


def _adb_text(exc: AdbError) -> str:
    return " ".join(str(a) for a in exc.args if isinstance(a, str)) or str(exc)


@contextmanager
def map_adb_errors(device: str, action: str) -> Iterator[None]:
    """Map adbutils' exceptions (raised in its worker thread) for ``action`` on ``device``."""
    try:
        yield
    except StationError:
        raise
    except AdbInstallError as exc:
        refused = msg.ADB_REFUSED.fill(action=action, reply=exc.output.strip())
        raise DeviceRefused(refused, device=device) from exc
    except AdbTimeout as exc:
        raise DeviceGone(
            msg.ADB_STOPPED_ANSWERING.fill(action=action), device=device, hint=GONE_HINT
        ) from exc
    except AdbConnectionError as exc:
        raise ServiceUnavailable(
            msg.ADB_SERVER_UNREACHABLE.fill(action=action, error=exc),
            device=device,
            hint=ADB_SERVER_HINT,
        ) from exc
    except AdbSyncError as exc:
        refused = msg.ADB_REFUSED.fill(action=action, reply=_adb_text(exc))
        raise DeviceRefused(refused, device=device) from exc
    except AdbError as exc:
        text = _adb_text(exc)
        low = text.lower()
        if "unauthorized" in low:
            raise UserActionRequired(
                msg.ADB_UNAUTHORIZED.fill(action=action),
                device=device,
                hint=Presence.UNAUTHORIZED.hint,
            ) from exc
        if "still authorizing" in low:
            raise UserActionRequired(
                msg.ADB_AUTHORIZING.fill(action=action),
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
            gone = msg.ADB_NOT_THERE.fill(action=action, reply=text)
            raise DeviceGone(gone, device=device, hint=GONE_HINT) from exc
        if "more than one" in low:
            raise DeviceError(
                msg.ADB_SHARED_SERIAL.fill(action=action, reply=text),
                device=device,
                hint=msg.SHARED_SERIAL_HINT,
            ) from exc
        raise DeviceProtocolError(
            msg.UNEXPECTED_ANSWER.fill(action=action, error=text), device=device, hint=PROTOCOL_HINT
        ) from exc
    except (*_GONE_OS, ConnectionError, TimeoutError) as exc:
        raise DeviceGone(
            msg.ADB_GONE.fill(action=action, error=repr(exc)), device=device, hint=GONE_HINT
        ) from exc
    except (UnicodeDecodeError, struct.error, ValueError, AssertionError) as exc:
        # ValueError: adbutils parses the exit status after its shell marker with int().
        # AssertionError: adbutils checks sync replies' ids with assert (``"STAT" ==
        # read_string(4)``); a reply cut short (the adb server restarting mid-answer) or
        # garbled fails one. Only vendor calls run inside this block.
        raise DeviceProtocolError(
            msg.UNEXPECTED_ANSWER.fill(action=action, error=repr(exc)),
            device=device,
            hint=PROTOCOL_HINT,
        ) from exc
