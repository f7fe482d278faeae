"""Words for what the engine reports: states, steps, and the core's messages and hints.

The engine speaks English (its logs and the CLI); the window shows every known phrase
through Qt's translation system. A message from the core is recognised by its template in
:mod:`station.messages` and shown in the translated template with the same values (so the
records of older runs translate too); only the data in it (a file, a key, a device's own
reply) stays as it came.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QCoreApplication

from station import messages
from station.jobs.events import EventType, JobEvent, JobState

EMPTY = "empty"  # a slot without a tablet (not a JobState)


_CONTEXT = "Texts"
MESSAGES_CONTEXT = "Messages"  # the catalog's templates (station/messages.py)


def _t(text: str) -> str:
    return QCoreApplication.translate(_CONTEXT, text)


def message_text(text: str) -> str | None:
    """A core message in the window's language; None when it is not from the catalog."""
    found = messages.match(text)
    if found is None:
        return None
    template, values = found
    words = QCoreApplication.translate(MESSAGES_CONTEXT, template)
    return messages.fill(words, {name: _value_text(name, v) for name, v in values.items()})


def _value_text(name: str, value: str) -> str:
    """A field's value: a step or a presence in words, a nested message translated, data as is."""
    if name == "step":
        return step_label(value)
    if name == "presence":
        return detail_text(value.replace(" ", "_"))
    if name in messages.NESTED_FIELDS:
        return message_text(value) or value
    if name in messages.LIST_FIELDS:
        return ", ".join(message_text(item) or item for item in value.split(", "))
    return value


def error_text(text: str) -> str:
    """A core message (an error's ``message``, ``str()`` or a stored last error) translated,
    as given when it is not from the catalog (then it is a device's or a server's own text)."""
    return message_text(text) or text


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
    """What the drivers' presence states ask of a person (the core's hints are in the catalog)."""
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
    }


def hint_text(hint: str) -> str:
    """A person's next action in the window's language (as given when not a known phrase)."""
    if not hint:
        return ""
    return _hints().get(hint) or message_text(hint) or hint


def detail_text(detail: str) -> str:
    """The engine's status details and the core's messages, translated."""
    fixed = {
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
    }
    if detail in fixed:
        return fixed[detail]
    return message_text(detail) or detail


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
        parts = [event.state, detail_text(event.detail)]
    return " ".join([clock, *(p for p in parts if p)])
