"""QR payload templates: what a label's QR code says, e.g. the inventory's /ht/{asset_tag} page."""

from __future__ import annotations

import difflib
import string
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from station.errors import InputError

PLACEHOLDERS = ("asset_tag", "serial", "school.id", "base_url")

# Snipe-IT resolves /ht/<tag> to the asset even before it has an id (research note, Labels).
DEFAULT_TEMPLATE = "{base_url}/ht/{asset_tag}"
PLAIN_TEMPLATE = "{asset_tag}"
NAMED_TEMPLATES: Mapping[str, str] = {"default": DEFAULT_TEMPLATE, "plain": PLAIN_TEMPLATE}


@dataclass(frozen=True)
class QrTemplate:
    """A checked payload template; build it with :func:`parse_template`.

    In a URL template (one that contains ``://`` or starts with ``{base_url}``) every value
    except ``base_url`` is percent-encoded, so a tag with a space or a slash stays one path part.
    """

    name: str
    text: str
    fields: tuple[str, ...]
    is_url: bool

    def render(
        self, *, asset_tag: str, serial: str = "", school_id: str = "", base_url: str = ""
    ) -> str:
        values = {
            "asset_tag": asset_tag,
            "serial": serial,
            "school.id": school_id,
            "base_url": base_url.rstrip("/"),
        }
        for field in self.fields:
            if not values[field]:
                hint = (
                    "set the inventory's address (station labels --base-url, or the "
                    "inventory.base_url setting), or use the plain template"
                    if field == "base_url"
                    else "the station has not recorded it for this device"
                )
                raise InputError(
                    f"label template {self.name!r} ({self.text}): {{{field}}} is empty", hint=hint
                )
        out: list[str] = []
        for literal, name, _spec, _conv in string.Formatter().parse(self.text):
            out.append(literal)
            if name is not None:
                value = values[name]
                if self.is_url and name != "base_url":
                    value = quote(value, safe="")
                out.append(value)
        return "".join(out)


def parse_template(text: str, *, name: str = "") -> QrTemplate:
    """Check a template (or a name from :data:`NAMED_TEMPLATES`); raise :class:`InputError`.

    The message names the template and the problem (unknown placeholder with a suggestion,
    an unmatched brace, a format spec), so a person can fix the setting.
    """
    if text in NAMED_TEMPLATES:
        name, text = name or text, NAMED_TEMPLATES[text]
    label = f"label template {name!r} ({text!r})" if name else f"label template {text!r}"
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise InputError(
            f"{label}: {exc}",
            hint="write {{ or }} for a literal brace; placeholders: "
            + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS),
        ) from None
    fields: list[str] = []
    for _literal, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in PLACEHOLDERS:
            close = difflib.get_close_matches(field, PLACEHOLDERS, n=1)
            extra = f" (did you mean {{{close[0]}}}?)" if close else ""
            raise InputError(
                f"{label}: unknown placeholder {{{field}}}{extra}",
                hint="placeholders: " + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS),
            )
        if spec or conversion:
            raise InputError(f"{label}: placeholder {{{field}}} takes no format or conversion")
        fields.append(field)
    if "asset_tag" not in fields and "serial" not in fields:
        raise InputError(
            f"{label}: every label would get the same QR code",
            hint="include {asset_tag} (or {serial})",
        )
    is_url = "://" in text or text.startswith("{base_url}")
    return QrTemplate(name or text, text, tuple(dict.fromkeys(fields)), is_url)
