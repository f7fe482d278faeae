"""The label model: payload templates, sheet layouts as data, layout geometry, single labels."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import reportlab
from PIL import Image
from reportlab.pdfbase.ttfonts import TTFont

from station.errors import InputError
from station.labels.model import (
    ELLIPSIS,
    MIN_TEXT_MM,
    Fonts,
    LabelData,
    LabelSize,
    default_fonts,
    layout_label,
    render_label_image,
    text_width_mm,
)
from station.labels.png import label_png
from station.labels.sheets import get_sheet, load_sheets
from station.labels.templates import parse_template
from tests.labels.helpers import BASE_URL, decode_in_reading_order, make_labels

# --- templates --------------------------------------------------------------------------


def test_default_template_is_the_inventory_ht_url() -> None:
    t = parse_template("default")
    assert t.render(asset_tag="SEG042-00017", base_url=BASE_URL + "/") == (
        f"{BASE_URL}/ht/SEG042-00017"
    )


def test_plain_template_is_the_tag() -> None:
    assert parse_template("plain").render(asset_tag="SEG042-00017") == "SEG042-00017"


def test_custom_template_fills_every_placeholder_and_quotes_url_parts() -> None:
    t = parse_template("{base_url}/s/{school.id}/{serial}?tag={asset_tag}")
    out = t.render(asset_tag="A 1/2", serial="SN#1", school_id="SEG042", base_url="https://x.de")
    assert out == "https://x.de/s/SEG042/SN%231?tag=A%201%2F2"


def test_plain_text_template_is_not_quoted() -> None:
    t = parse_template("Tag {asset_tag} / {serial}")
    assert t.render(asset_tag="A 1", serial="S/2") == "Tag A 1 / S/2"


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{base_url}/ht/{asset_tag", "expected '}'"),
        (
            "{base_url}/ht/{asset-tag}",
            "unknown placeholder {asset-tag} (did you mean {asset_tag}?)",
        ),
        ("{base_url}/ht/}{asset_tag}", "Single '}'"),
        ("{asset_tag:>10}", "takes no format"),
        ("{asset_tag!r}", "takes no format"),
        ("https://x.de/{school.id}", "same QR code"),
        ("{owner}/{asset_tag}", "unknown placeholder {owner}"),
    ],
)
def test_malformed_template_is_refused_naming_template_and_problem(
    template: str, problem: str
) -> None:
    with pytest.raises(InputError) as info:
        parse_template(template, name="school-qr")
    message = str(info.value)
    assert "label template 'school-qr'" in message
    assert template in message
    assert problem in message


def test_url_template_without_base_url_says_what_to_set() -> None:
    with pytest.raises(InputError, match=r"\{base_url\} is empty.*--base-url"):
        parse_template("default").render(asset_tag="SEG042-00001", base_url="")


# --- sheets -----------------------------------------------------------------------------


def test_the_common_german_sheets_are_known_and_fit_a4() -> None:
    sheets = load_sheets()
    expected = {
        "L4736": (48, 45.7, 21.2),
        "L7651": (65, 38.1, 21.2),
        "3475": (24, 70.0, 36.0),
        "L7160": (21, 63.5, 38.1),
    }
    for name, (count, w, h) in expected.items():
        sheet = sheets[name]
        assert (sheet.per_page, sheet.label.width_mm, sheet.label.height_mm) == (count, w, h)
        last_x, last_y = sheet.position(sheet.per_page - 1)
        assert last_x + w <= sheet.page_w + 0.05
        assert last_y + h <= sheet.page_h + 0.05
        assert sheet.position(0) == (sheet.left, sheet.top)


def test_unknown_sheet_is_refused_listing_the_known_ones() -> None:
    with pytest.raises(InputError) as info:
        get_sheet("L4737")
    message = str(info.value)
    assert "unknown label sheet 'L4737'" in message
    assert "did you mean L4736?" in message
    for name in ("L4736", "L7651", "3475", "L7160"):
        assert name in message


def test_sheet_names_are_case_insensitive() -> None:
    assert get_sheet("l7160").name == "L7160"


def test_start_offset_skips_used_labels_then_fills_next_pages_from_the_top() -> None:
    sheet = get_sheet("L7160")  # 3 x 7 = 21
    placed = list(sheet.placements(list(range(20)), start_offset=19))
    assert [(page, item) for page, _, _, item in placed[:3]] == [(0, 0), (0, 1), (1, 2)]
    assert placed[0][1:3] == sheet.position(19)
    assert placed[2][1:3] == sheet.position(0)


@pytest.mark.parametrize("offset", [-1, 21])
def test_start_offset_outside_the_sheet_is_refused(offset: int) -> None:
    with pytest.raises(InputError, match=r"start offset .* outside the sheet.*0 \(a fresh"):
        list(get_sheet("L7160").placements([1], start_offset=offset))


def test_sheet_data_errors_name_the_file_and_sheet(tmp_path: Path) -> None:
    bad = tmp_path / "sheets.toml"
    bad.write_text(
        "[X1]\npage = [210, 297]\nlabel = [100, 50]\ncolumns = 3\nrows = 1\n"
        "left = 0\ntop = 0\nh_gap = 0\nv_gap = 0\n"
    )
    with pytest.raises(InputError, match=r"sheets.toml \[X1\]: the labels end at 300.00"):
        load_sheets(bad)
    bad.write_text("[X2]\npage = [210, 297]\nlabel = [10]\n")
    with pytest.raises(InputError, match=r"\[X2\]: label must be \[width, height\]"):
        load_sheets(bad)
    bad.write_text("[X3\n")
    with pytest.raises(InputError, match="cannot read label sheet layouts"):
        load_sheets(bad)


# --- layout -----------------------------------------------------------------------------


@pytest.mark.parametrize("sheet_name", ["L4736", "L7651", "3475", "L7160"])
def test_layout_keeps_everything_inside_the_label_and_beside_the_qr(sheet_name: str) -> None:
    size = get_sheet(sheet_name).label
    layout = layout_label(make_labels(17)[-1], size)
    qr = layout.qr
    assert qr.w == qr.h
    assert qr.x >= 0.9
    assert qr.y >= 0.9
    assert qr.y + qr.h <= size.height_mm - 0.9
    fonts = default_fonts()
    for line in layout.lines:
        width = text_width_mm(line.text, fonts.bold if line.bold else fonts.regular, line.size)
        assert line.x > qr.x + qr.w
        assert line.x + width <= size.width_mm + 1e-6
        assert line.size >= MIN_TEXT_MM - 1e-9
        assert line.baseline - line.size * 0.76 >= 0
        assert line.baseline <= size.height_mm
    tag = layout.lines[0]
    assert tag.bold
    assert tag.text == "SEG042-00017"
    assert all(tag.size > line.size for line in layout.lines[1:])


def test_overlong_text_is_cut_with_an_ellipsis_not_overprinted() -> None:
    data = LabelData(
        asset_tag="SEG042-00001",
        school_name="Sventana-Grund- und Gemeinschaftsschule mit Förderzentrum Bornhöved",
        school_id="SEG042",
        serial="X",
        model="m",
        cart="",
        slot=None,
        qr_payload="SEG042-00001",
    )
    layout = layout_label(data, get_sheet("L7651").label)
    school = layout.lines[1]
    assert school.text.endswith(ELLIPSIS)
    assert school.text.startswith("Sventana")
    assert [line.text for line in layout.lines[2:]] == ["SN X", "m"]


def test_label_data_has_no_personal_fields_and_round_trips_as_json() -> None:
    data = make_labels(3)[-1]
    assert set(data.to_json()) == {
        "asset_tag", "school_name", "school_id", "serial", "model", "cart", "slot", "qr_payload",
    }  # fmt: skip
    assert LabelData.from_json(data.to_json()) == data
    assert data.small_lines() == (
        "Grundschule Bornhöved", "SN DMPX00000003", "iPad (10th generation)", "Cart A · Slot 3",
    )  # fmt: skip


def test_single_label_png_has_the_physical_size_and_scans() -> None:
    data = make_labels(5)[-1]
    size = LabelSize("test", 50.0, 25.0)
    image = Image.open(io.BytesIO(label_png(data, size, dpi=300)))
    assert image.size == (591, 295)
    assert image.info["dpi"] == pytest.approx((300, 300), abs=0.1)
    assert decode_in_reading_order(image) == [data.qr_payload]


def test_the_bundled_vera_fallback_has_german_letters_and_renders_a_label() -> None:
    # A clean machine without fonts-dejavu-core falls back to reportlab's Vera.
    folder = Path(reportlab.__file__).parent / "fonts"
    vera = Fonts(folder / "Vera.ttf", folder / "VeraBd.ttf")
    for path in (vera.regular, vera.bold):
        glyphs = TTFont("check", str(path)).face.charToGlyph
        assert all(ord(c) in glyphs for c in "äöüÄÖÜß·…"), path
    data = make_labels(1)[0]
    image = render_label_image(data, LabelSize("t", 50, 25), 300, fonts=vera)
    assert decode_in_reading_order(image) == [data.qr_payload]


def test_a_payload_too_long_for_the_label_is_refused_clearly() -> None:
    data = make_labels(1)[0]
    long_url = LabelData(**{**data.to_json(), "qr_payload": BASE_URL + "/ht/" + "X" * 300})
    with pytest.raises(InputError, match=r"too dense for a 38\.1 x 21\.2 mm label"):
        layout_label(long_url, get_sheet("L7651").label)
    huge = LabelData(**{**data.to_json(), "qr_payload": "X" * 5000})
    with pytest.raises(InputError, match="does not fit in a QR code"):
        layout_label(huge, get_sheet("3475").label)


@pytest.mark.parametrize(("w", "h"), [(10, 10), (60, 5), (12, 30)])
def test_a_label_too_small_for_qr_and_tag_is_refused(w: float, h: float) -> None:
    with pytest.raises(InputError, match="leaves no room for a QR code and the asset tag"):
        layout_label(make_labels(1)[0], LabelSize("tiny", w, h))
