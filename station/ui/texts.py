"""Words for what the engine reports: states, steps, and the hints it gives in English.

The engine speaks English (its logs and the CLI); the window shows every known phrase
through Qt's translation system. Text the engine does not know in advance (a device's
error message) is shown as it came.
"""

from __future__ import annotations

import datetime as dt
import re

from PySide6.QtCore import QCoreApplication

from station.jobs.events import EventType, JobEvent, JobState

EMPTY = "empty"  # a slot without a tablet (not a JobState)


_CONTEXT = "Texts"


def _t(text: str) -> str:
    return QCoreApplication.translate(_CONTEXT, text)


def state_word(state: str) -> str:
    """The state in one word (never colour alone)."""
    words = {
        EMPTY: _t("Empty"),
        JobState.WAITING: _t("Waiting"),
        JobState.RUNNING: _t("Working"),
        JobState.NEEDS_PERSON: _t("Needs you"),
        JobState.PAUSED: _t("Unplugged"),
        JobState.DONE: _t("Done"),
        JobState.FAILED: _t("Failed"),
        JobState.CANCELLED: _t("Cancelled"),
    }
    return words.get(state, state)


STATE_GLYPHS = {
    EMPTY: "·",
    JobState.WAITING: "◷",
    JobState.RUNNING: "▶",
    JobState.NEEDS_PERSON: "⚠",
    JobState.PAUSED: "‖",
    JobState.DONE: "✔",
    JobState.FAILED: "✖",
    JobState.CANCELLED: "⊘",
}


def state_glyph(state: str) -> str:
    """An icon-like symbol per state, distinct in shape (for colour-blind helpers); all of
    them are in DejaVu Sans, the usual Linux fallback font."""
    return STATE_GLYPHS.get(state, "?")


def platform_word(platform: str) -> str:
    return {"ios": _t("iPad"), "android": _t("Android")}.get(platform, platform)


def step_label(step: str) -> str:
    """A step key (``app:de.example.app``) in words."""
    if not step:
        return ""
    name, _, arg = step.partition(":")
    words = {
        "pair": _t("Pairing"),
        "erase": _t("Erasing"),
        "activate": _t("Activating"),
        "supervise": _t("Supervising"),
        "profile": _t("Profile"),
        "app": _t("App"),
        "rename": _t("Naming"),
        "wallpaper": _t("Wallpaper"),
        "ready": _t("Waiting for USB debugging"),
        "device_owner": _t("Device owner"),
        "settings": _t("Settings"),
        "file": _t("File"),
        "reboot": _t("Restarting"),
        "usb_debugging_off": _t("USB debugging off"),
        "identify": _t("Identifying"),
        "result": _t("Result"),
    }
    word = words.get(name, name)
    return f"{word} {arg.rsplit('.', 1)[-1]}" if arg else word


def _hints() -> dict[str, str]:
    return {
        "Unlock the iPad and tap Trust": _t("Unlock the iPad and tap Trust"),
        "Trust was denied: unplug and plug the iPad back, then tap Trust": _t(
            "Trust was denied: unplug and plug the iPad back, then tap Trust"
        ),
        "Unlock the iPad": _t("Unlock the iPad"),
        "Unlock the tablet and tap Allow on the USB debugging prompt (tick 'Always allow')": _t(
            "Unlock the tablet and tap Allow on the USB debugging prompt (tick 'Always allow')"
        ),
        "Wait: the tablet is going away or restarting; if it stays, replug it": _t(
            "Wait: the tablet is going away or restarting; if it stays, replug it"
        ),
        "Wait: the tablet is connecting": _t("Wait: the tablet is connecting"),
        "Turn on USB debugging: Settings > About > tap Build number 7 times, "
        "then Developer options > USB debugging": _t(
            "Turn on USB debugging: Settings > About > tap Build number 7 times, "
            "then Developer options > USB debugging"
        ),
        "The iPad is in recovery mode: restore it (Apple Configurator or idevicerestore), "
        "or hold the power button to restart it": _t(
            "The iPad is in recovery mode: restore it (Apple Configurator or idevicerestore), "
            "or hold the power button to restart it"
        ),
        "The tablet is in bootloader or recovery mode: choose 'Reboot system now' on it": _t(
            "The tablet is in bootloader or recovery mode: choose 'Reboot system now' on it"
        ),
        "The station may not open this USB device: check its udev rules": _t(
            "The station may not open this USB device: check its udev rules"
        ),
        "The tablet is on USB but its service does not see it: replug the cable, "
        "or try another port": _t(
            "The tablet is on USB but its service does not see it: replug the cable, "
            "or try another port"
        ),
        "Plug the tablet back in (any slot): its job goes on where it stopped": _t(
            "Plug the tablet back in (any slot): its job goes on where it stopped"
        ),
        "Check the tablet and its cable, then retry it": _t(
            "Check the tablet and its cable, then retry it"
        ),
        "Check the cable; the job goes on when the tablet is back": _t(
            "Check the cable; the job goes on when the tablet is back"
        ),
        "Free up storage on the tablet (or erase it), then retry it": _t(
            "Free up storage on the tablet (or erase it), then retry it"
        ),
        "Erase the iPad (Settings > General > Reset) or set erase in the blueprint": _t(
            "Erase the iPad (Settings > General > Reset) or set erase in the blueprint"
        ),
        "Another app is device owner: factory-reset the tablet, then retry it": _t(
            "Another app is device owner: factory-reset the tablet, then retry it"
        ),
        "Pair the iPad first: unlock it and tap Trust": _t(
            "Pair the iPad first: unlock it and tap Trust"
        ),
        "Unplug the tablet and restart it; if it happens again, set it aside": _t(
            "Unplug the tablet and restart it; if it happens again, set it aside"
        ),
        "Start usbmuxd on the station (systemctl start usbmuxd) and replug the iPads": _t(
            "Start usbmuxd on the station (systemctl start usbmuxd) and replug the iPads"
        ),
        "Start the adb server on the station (adb start-server)": _t(
            "Start the adb server on the station (adb start-server)"
        ),
        "fix the blueprint and load it again; no device was touched": _t(
            "fix the blueprint and load it again; no device was touched"
        ),
    }


def hint_text(hint: str) -> str:
    """A person's next action in the window's language (as given when not a known phrase)."""
    if not hint:
        return ""
    return _hints().get(hint, hint)


_DONE_RE = re.compile(r"(\d+) done, (\d+) already so")
_RETRY_RE = re.compile(r"retry (\d+) in ([\d.]+)s")


def detail_text(detail: str) -> str:
    """The engine's short status details that recur, translated."""
    fixed = {
        "cancelled": _t("cancelled"),
        "retrying": _t("retrying"),
        "checking": _t("checking"),
        "restarting": _t("restarting"),
        "finished before the restart": _t("finished before the restart"),
        "ready": _t("ready"),
        "needs_trust": _t("waiting for Trust"),
        "unauthorized": _t("waiting for USB debugging permission"),
        "usb_debugging_off": _t("USB debugging is off"),
        "connecting": _t("connecting"),
        "offline": _t("offline"),
        "locked": _t("locked"),
        "trust_denied": _t("Trust denied"),
        "recovery": _t("in recovery mode"),
        "bootloader": _t("in bootloader mode"),
        "no_permission": _t("no USB permission"),
        "not_visible": _t("not seen by its service"),
        "the device left": _t("the tablet left"),
        "the device went away": _t("the tablet went away"),
        "done in an earlier attempt": _t("done in an earlier attempt"),
        "already done on the device": _t("already done on the device"),
    }
    if detail in fixed:
        return fixed[detail]
    prefixes = {
        "waiting for a person: ": _t("waiting for a person: "),
        "retrying: ": _t("retrying: "),
    }
    for prefix, words in prefixes.items():
        if detail.startswith(prefix):
            # The rest is the device's own message, shown as it came.
            return words + detail.removeprefix(prefix)
    if m := _DONE_RE.fullmatch(detail):
        return _t("%1 steps done, %2 already so").replace("%1", m[1]).replace("%2", m[2])
    if m := _RETRY_RE.fullmatch(detail):
        return _t("retry %1 in %2 s").replace("%1", m[1]).replace("%2", m[2])
    return detail


def status_word(status: str) -> str:
    """A step's result (the store's StepStatus) in words."""
    return {
        "running": _t("running"),
        "done": _t("done"),
        "skipped": _t("already so"),
        "failed": _t("failed"),
        "interrupted": _t("interrupted"),
    }.get(status, status)


def event_line(event: JobEvent) -> str:
    """One log line for a device's event, in the window's language."""
    try:
        clock = dt.datetime.fromisoformat(event.ts).astimezone().strftime("%H:%M:%S")
    except ValueError:
        clock = event.ts
    if event.type is EventType.DEVICE:
        words = {"attached": _t("plugged in"), "detached": _t("unplugged"), "error": _t("error")}
        parts = [words.get(event.state, event.state), detail_text(event.detail)]
    elif event.type is EventType.JOB:
        parts = [state_word(event.state), step_label(event.step), detail_text(event.detail)]
    elif event.type is EventType.STEP:
        parts = [step_label(event.step), status_word(event.state), detail_text(event.detail)]
    else:
        parts = [event.state, event.detail]
    return " ".join([clock, *(p for p in parts if p)])
