"""A4 label-sheet layouts as data (resources/label_sheets.toml) and the label positions on them."""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from station import messages
from station.errors import InputError
from station.labels.model import LabelSize

SHEETS_FILE = Path(__file__).resolve().parents[2] / "resources" / "label_sheets.toml"
_EPSILON = 0.05  # mm of rounding slack when checking that labels fit on the page

T = TypeVar("T")


@dataclass(frozen=True)
class SheetLayout:
    """One sheet type: a grid of equal labels on a page."""

    name: str
    title: str
    page_w: float
    page_h: float
    label: LabelSize
    columns: int
    rows: int
    left: float
    top: float
    h_gap: float
    v_gap: float

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    def position(self, index: int) -> tuple[float, float]:
        """Top-left corner (mm from the page's top-left) of label ``index`` (0-based, row-major)."""
        row, col = divmod(index % self.per_page, self.columns)
        return (
            self.left + col * (self.label.width_mm + self.h_gap),
            self.top + row * (self.label.height_mm + self.v_gap),
        )

    def placements(
        self, items: Sequence[T], *, start_offset: int = 0
    ) -> Iterator[tuple[int, float, float, T]]:
        """``(page, x, y, item)`` for each item, skipping ``start_offset`` used labels.

        ``start_offset`` is how many labels of the first sheet are already gone (a half-used
        sheet); the next pages start at the top again.
        """
        if not 0 <= start_offset < self.per_page:
            raise InputError(
                messages.SHEET_OFFSET.fill(sheet=self.name, offset=start_offset),
                hint=messages.SHEET_OFFSET_HINT.fill(last=self.per_page - 1),
            )
        for i, item in enumerate(items):
            slot = start_offset + i
            x, y = self.position(slot)
            yield slot // self.per_page, x, y, item


def _number(table: Mapping[str, Any], key: str, where: str) -> float:
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise InputError(f"{where}: {key} must be a number >= 0, got {value!r}")
    return float(value)


def _pair(table: Mapping[str, Any], key: str, where: str) -> tuple[float, float]:
    value = table.get(key)
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in value)
    ):
        raise InputError(f"{where}: {key} must be [width, height] in mm, got {value!r}")
    return float(value[0]), float(value[1])


def _count(table: Mapping[str, Any], key: str, where: str) -> int:
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{where}: {key} must be a whole number >= 1, got {value!r}")
    return value


def _sheet(name: str, table: object, source: str) -> SheetLayout:
    where = f"{source} [{name}]"
    if not isinstance(table, dict):
        raise InputError(f"{where}: is not a table")
    page_w, page_h = _pair(table, "page", where)
    label_w, label_h = _pair(table, "label", where)
    padding = _number(table, "padding", where) if "padding" in table else None
    sheet = SheetLayout(
        name=name,
        title=str(table.get("title", name)),
        page_w=page_w,
        page_h=page_h,
        label=LabelSize(name, label_w, label_h, padding),
        columns=_count(table, "columns", where),
        rows=_count(table, "rows", where),
        left=_number(table, "left", where),
        top=_number(table, "top", where),
        h_gap=_number(table, "h_gap", where),
        v_gap=_number(table, "v_gap", where),
    )
    right = sheet.left + sheet.columns * label_w + (sheet.columns - 1) * sheet.h_gap
    bottom = sheet.top + sheet.rows * label_h + (sheet.rows - 1) * sheet.v_gap
    if right > page_w + _EPSILON or bottom > page_h + _EPSILON:
        raise InputError(
            f"{where}: the labels end at {right:.2f} x {bottom:.2f} mm, "
            f"outside the {page_w:g} x {page_h:g} mm page"
        )
    return sheet


def load_sheets(path: Path = SHEETS_FILE) -> dict[str, SheetLayout]:
    """Every sheet layout in ``path``, checked; raise :class:`InputError` naming the problem."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(messages.SHEETS_NOT_FOUND.fill(path=path)) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(messages.SHEETS_UNREADABLE.fill(path=path, reason=exc)) from exc
    return {name: _sheet(name, table, str(path)) for name, table in data.items()}


def get_sheet(name: str, sheets: Mapping[str, SheetLayout] | None = None) -> SheetLayout:
    """The sheet called ``name``; an unknown name is refused with the list of known ones."""
    known = sheets if sheets is not None else load_sheets()
    if name in known:
        return known[name]
    by_upper = {key.upper(): key for key in known}
    if name.upper() in by_upper:
        return known[by_upper[name.upper()]]
    close = difflib.get_close_matches(name, list(known), n=1)
    problem = (
        messages.UNKNOWN_SHEET_SUGGESTION.fill(sheet=name, suggestion=close[0])
        if close
        else messages.UNKNOWN_SHEET.fill(sheet=name)
    )
    listing = "; ".join(f"{key}: {sheet.title}" for key, sheet in known.items())
    raise InputError(problem, hint=messages.SHEETS_HINT.fill(sheets=listing, file=SHEETS_FILE.name))
