"""One label model (content, size, layout in millimetres) that every output renders from."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import segno
from PIL import Image, ImageDraw, ImageFont

from station import messages
from station.errors import InputError

MM_PER_INCH = 25.4
ELLIPSIS = "…"
MIN_TEXT_MM = 1.3  # em size; about 3.7 pt, still readable from a 300 dpi printer
MIN_SIDE_MM = 8.0  # smallest QR square, and smallest text column, a label can have
MIN_MODULE_MM = 0.25  # smaller QR modules scan unreliably from office and thermal printers
QR_BORDER = 2  # quiet-zone modules inside the QR box; the label's padding adds to it
# Where the baseline sits below a line's top, and the line pitch, as fractions of the em size
# (DejaVu Sans and Bitstream Vera share these metrics).
_ASCENT = 0.76
_PITCH = 1.22

# DejaVu (Debian fonts-dejavu-core, Windows/macOS installs often have it too) covers more
# scripts; reportlab ships Bitstream Vera, which covers Latin-1 (ä ö ü ß), so a clean machine
# with only the Python dependencies still renders German school names.
_DEJAVU_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/TTF"),
    Path("/usr/share/fonts/dejavu"),
    Path("/Library/Fonts"),
    Path("C:/Windows/Fonts"),
)


@dataclass(frozen=True)
class Fonts:
    """TrueType files for the small lines and the (bold) asset tag."""

    regular: Path
    bold: Path


@functools.cache
def default_fonts() -> Fonts:
    """DejaVu Sans when installed, else the Vera fonts bundled with reportlab."""
    for folder in _DEJAVU_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            return Fonts(regular, bold)
    import reportlab  # only to find its bundled fonts folder

    folder = Path(reportlab.__file__).parent / "fonts"
    return Fonts(folder / "Vera.ttf", folder / "VeraBd.ttf")


@functools.lru_cache(maxsize=8)
def _measuring_font(path: Path) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), 1000)


def text_width_mm(text: str, font: Path, size_mm: float) -> float:
    """Advance width of ``text`` at an em size of ``size_mm``."""
    return _measuring_font(font).getlength(text) / 1000.0 * size_mm


@dataclass(frozen=True)
class LabelData:
    """What one label shows. Nothing personal: no pupil or teacher names."""

    asset_tag: str
    school_name: str
    school_id: str
    serial: str
    model: str
    cart: str
    slot: int | None
    qr_payload: str

    def small_lines(self) -> tuple[str, ...]:
        """The lines under the asset tag, empty ones left out."""
        place = " · ".join(
            part
            for part in (
                f"Cart {self.cart}" if self.cart else "",
                f"Slot {self.slot}" if self.slot is not None else "",
            )
            if part
        )
        lines = (self.school_name, f"SN {self.serial}" if self.serial else "", self.model, place)
        return tuple(line for line in lines if line)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LabelData:
        slot = data.get("slot")
        return cls(
            asset_tag=str(data["asset_tag"]),
            school_name=str(data.get("school_name", "")),
            school_id=str(data.get("school_id", "")),
            serial=str(data.get("serial", "")),
            model=str(data.get("model", "")),
            cart=str(data.get("cart", "")),
            slot=int(slot) if slot is not None else None,
            qr_payload=str(data["qr_payload"]),
        )


@dataclass(frozen=True)
class LabelSize:
    """A label's printable area in millimetres (landscape: width >= height reads best)."""

    name: str
    width_mm: float
    height_mm: float
    padding_mm: float | None = None  # blank border inside the label; None: from the size

    def pixels(self, dpi: float) -> tuple[int, int]:
        return (
            round(self.width_mm / MM_PER_INCH * dpi),
            round(self.height_mm / MM_PER_INCH * dpi),
        )

    @classmethod
    def from_pixels(cls, name: str, width_px: int, height_px: int, dpi: float) -> LabelSize:
        return cls(name, width_px * MM_PER_INCH / dpi, height_px * MM_PER_INCH / dpi)


@dataclass(frozen=True)
class Box:
    """A rectangle in millimetres from the label's top-left corner."""

    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class TextLine:
    """One line of text: left edge ``x``, ``baseline`` from the top, em ``size`` (all mm)."""

    text: str
    x: float
    baseline: float
    size: float
    bold: bool
    max_width: float


@dataclass(frozen=True)
class LabelLayout:
    """Where everything goes on one label; renderers only convert units."""

    size: LabelSize
    qr: Box  # a square including QR_BORDER quiet-zone modules
    qr_payload: str
    lines: tuple[TextLine, ...]


def _fit(text: str, font: Path, max_width: float, size: float) -> tuple[str, float]:
    """Shrink ``size`` until ``text`` fits; below the minimum, cut the text with an ellipsis."""
    width = text_width_mm(text, font, size)
    if width <= max_width:
        return text, size
    shrunk = size * max_width / width
    if shrunk >= MIN_TEXT_MM:
        return text, shrunk
    cut = text
    while cut and text_width_mm(cut + ELLIPSIS, font, MIN_TEXT_MM) > max_width:
        cut = cut[:-1]
    return (cut.rstrip() + ELLIPSIS if cut else ""), MIN_TEXT_MM


def layout_label(data: LabelData, size: LabelSize, fonts: Fonts | None = None) -> LabelLayout:
    """QR square on the left, the asset tag large beside it, the small lines below the tag."""
    fonts = fonts or default_fonts()
    w, h = size.width_mm, size.height_mm
    if w <= 0 or h <= 0:
        raise InputError(messages.LABEL_NOT_A_LABEL.fill(label=size.name, width=w, height=h))
    pad = size.padding_mm if size.padding_mm is not None else min(3.0, max(1.0, min(w, h) * 0.06))
    qr_side = min(h - 2 * pad, w * 0.45)
    text_x = pad + qr_side + pad * 0.8
    text_w = w - text_x - pad
    if qr_side < MIN_SIDE_MM or text_w < MIN_SIDE_MM:
        raise InputError(
            messages.LABEL_NO_ROOM.fill(label=size.name, width=f"{w:g}", height=f"{h:g}"),
            hint=messages.LABEL_MIN_SIZE_HINT.fill(
                width=f"{3 * MIN_SIDE_MM:g}", height=f"{MIN_SIDE_MM + 2:g}"
            ),
        )
    qr = Box(pad, (h - qr_side) / 2, qr_side, qr_side)
    module = qr_side / (len(qr_modules(data.qr_payload)) + 2 * QR_BORDER)
    if module < MIN_MODULE_MM:
        raise InputError(
            messages.LABEL_QR_TOO_DENSE.fill(
                tag=data.asset_tag,
                payload=data.qr_payload,
                width=f"{w:g}",
                height=f"{h:g}",
                module=f"{module:.2f}",
                needed=MIN_MODULE_MM,
            ),
            hint=messages.LABEL_QR_DENSE_HINT,
        )
    avail = h - 2 * pad
    small = data.small_lines()
    tag_size = min(avail * 0.34, 9.0)
    small_size = min(3.6, tag_size * 0.6)
    if small:
        small_size = min(small_size, (avail - tag_size * _PITCH) / (len(small) * _PITCH))
    small_size = max(small_size, MIN_TEXT_MM)
    tag_text, tag_size = _fit(data.asset_tag, fonts.bold, text_w, tag_size)
    # One size for all small lines (the smallest any of them needs) reads calmer than a mix.
    common = min((_fit(line, fonts.regular, text_w, small_size)[1] for line in small), default=0)
    fitted = [_fit(line, fonts.regular, text_w, common) for line in small]
    block = tag_size * _PITCH + sum(s * _PITCH for _, s in fitted)
    top = pad + max(0.0, (avail - block) / 2)
    lines = [TextLine(tag_text, text_x, top + tag_size * _ASCENT, tag_size, True, text_w)]
    y = top + tag_size * _PITCH
    for text, s in fitted:
        if not text or y + s * _ASCENT > h - pad * 0.5:
            break  # no room left on a tiny label: drop the rest rather than overprint
        lines.append(TextLine(text, text_x, y + s * _ASCENT, s, False, text_w))
        y += s * _PITCH
    return LabelLayout(size, qr, data.qr_payload, tuple(lines))


@functools.lru_cache(maxsize=256)
def qr_modules(payload: str) -> Sequence[Sequence[int]]:
    """The QR symbol's dark (1) and light (0) modules, without a quiet zone (ECC level M)."""
    if not payload:
        raise InputError(messages.QR_PAYLOAD_EMPTY)
    try:
        return segno.make_qr(payload, error="m").matrix
    except segno.DataOverflowError:
        raise InputError(
            messages.QR_PAYLOAD_TOO_LONG.fill(size=len(payload.encode())),
            hint=messages.QR_PAYLOAD_HINT,
        ) from None


def render_label_image(
    data: LabelData | LabelLayout,
    size: LabelSize | None = None,
    dpi: float = 300,
    *,
    fonts: Fonts | None = None,
) -> Image.Image:
    """The label as an 8-bit greyscale image (white background), for PNG and Brother."""
    fonts = fonts or default_fonts()
    if isinstance(data, LabelLayout):
        layout = data
    else:
        if size is None:
            raise ValueError("render_label_image needs a size for LabelData")
        layout = layout_label(data, size, fonts)
    image = Image.new("L", layout.size.pixels(dpi), 255)
    draw_layout(ImageDraw.Draw(image), layout, (0.0, 0.0), dpi, fonts)
    return image


def draw_layout(
    draw: ImageDraw.ImageDraw,
    layout: LabelLayout,
    origin_px: tuple[float, float],
    dpi: float,
    fonts: Fonts,
) -> None:
    """Draw one label onto a raster at ``origin_px`` (shared by labels and sheet pages)."""
    px = dpi / MM_PER_INCH
    ox, oy = origin_px
    matrix = qr_modules(layout.qr_payload)
    count = len(matrix) + 2 * QR_BORDER
    box_px = layout.qr.w * px
    module = max(1, math.floor(box_px / count))  # whole pixels: crisp edges for scanners
    start_x = round(ox + layout.qr.x * px + (box_px - module * count) / 2) + QR_BORDER * module
    start_y = round(oy + layout.qr.y * px + (box_px - module * count) / 2) + QR_BORDER * module
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if not row[c]:
                c += 1
                continue
            run = c
            while run < len(row) and row[run]:
                run += 1
            x0, y0 = start_x + c * module, start_y + r * module
            draw.rectangle((x0, y0, start_x + run * module - 1, y0 + module - 1), fill=0)
            c = run
    for line in layout.lines:
        font = ImageFont.truetype(str(fonts.bold if line.bold else fonts.regular), line.size * px)
        draw.text(
            (ox + line.x * px, oy + line.baseline * px), line.text, fill=0, font=font, anchor="ls"
        )
