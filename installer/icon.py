"""Draw the station's icon (a cart of tablets with a check mark) as PNG and ICO, no downloads.

installer/deb/enrollment-station.svg is the same drawing by hand, for desktops that take SVG.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image, ImageDraw

BACKGROUND = (31, 78, 121, 255)  # #1f4e79
CART = (236, 240, 244, 255)
TABLET = (255, 255, 255, 255)
SCREEN = (120, 170, 214, 255)
BADGE = (46, 160, 67, 255)
ICO_SIZES = [(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)]


def draw(size: int = 256) -> Image.Image:
    """The icon at ``size`` pixels, drawn on a 256-unit grid (the SVG's viewBox)."""
    scale = 4  # draw large, then shrink: smooth edges without an antialiasing renderer
    image = Image.new("RGBA", (256 * scale, 256 * scale), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)

    def box(x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
        return (round(x0 * scale), round(y0 * scale), round(x1 * scale), round(y1 * scale))

    pen.rounded_rectangle(box(8, 8, 248, 248), radius=48 * scale, fill=BACKGROUND)
    for x in (52, 104, 156):  # three tablets standing in the cart
        pen.rounded_rectangle(box(x, 56, x + 48, 150), radius=8 * scale, fill=TABLET)
        pen.rounded_rectangle(box(x + 6, 64, x + 42, 138), radius=3 * scale, fill=SCREEN)
    pen.rounded_rectangle(box(36, 140, 220, 176), radius=10 * scale, fill=CART)
    for x in (72, 184):  # wheels
        pen.ellipse(box(x - 14, 184, x + 14, 212), fill=CART)
    pen.ellipse(box(168, 24, 232, 88), fill=BADGE)
    check = [(182, 56), (196, 70), (220, 42)]
    points = [(x * scale, y * scale) for x, y in check]
    pen.line(points, fill=TABLET, width=9 * scale, joint="curve")
    for x, y in (check[0], check[-1]):  # round caps, as the SVG's stroke-linecap
        pen.ellipse(box(x - 4.5, y - 4.5, x + 4.5, y + 4.5), fill=TABLET)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def write_png(path: Path, size: int = 256) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    draw(size).save(path, format="PNG")
    return path


def write_ico(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    draw(256).save(path, format="ICO", sizes=ICO_SIZES)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--png", type=Path, help="write a PNG here")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--ico", type=Path, help="write a Windows .ico here")
    args = parser.parse_args()
    if args.png:
        write_png(args.png, args.size)
    if args.ico:
        write_ico(args.ico)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
