"""OCR layout and confidence rules on hand-made text items (no OCR engine needed: fast and exact)."""

from __future__ import annotations

import math

from dlpscan.detect.engine import Engine
from dlpscan.detect.ocr import OcrTally
from dlpscan.extract.ocr import TextItem
from dlpscan.extract.ocr_layout import ID_HEADER, layout_blocks
from dlpscan.model import OcrText, TableBlock, TextBlock

ID = "11010519900307002" + "5"  # check digit valid (GB 11643)
CARD = "6222021234567890128"  # Luhn-valid, ICBC BIN


def item(x: float, y: float, text: str, confidence: float = 0.99, angle: float = 0.0) -> TextItem:
    """A text run whose box starts at (x, y), 20 px per character, 30 px high, rotated by `angle` degrees."""
    w, h = 20 * len(text), 30
    a = math.radians(angle)
    corners = [(0, 0), (w, 0), (w, h), (0, h)]
    box = tuple(
        (x + cx * math.cos(a) - cy * math.sin(a), y + cx * math.sin(a) + cy * math.cos(a))
        for cx, cy in corners
    )
    return TextItem(box, text, confidence)


def test_lines_keep_reading_order_and_spans():
    [block] = layout_blocks(
        [item(300, 100, "手机13912345678"), item(10, 102, "王伟"), item(10, 160, "备注")], "image"
    )
    assert block == TextBlock(
        "王伟 手机13912345678\n备注",
        "image",
        ocr=OcrText(spans=((0, 2, 0.99), (3, 16, 0.99), (17, 19, 0.99))),
    )


def test_columns_become_a_table_under_its_header_even_when_skewed():
    rows = [("姓名", "身份证号", "手机"), ("王伟", ID, "13912345678"), ("李娜", ID[:-1] + "X", "13800138000")]
    items = [item(10, 20, "客户名单", angle=2)]
    for r, row in enumerate(rows):
        for x, text in zip((10, 200, 700), row, strict=True):
            # a 2-degree skew: later columns sit lower, as in a photo taken at an angle
            items.append(item(x, 80 + 60 * r + x * math.tan(math.radians(2)), text, angle=2))
    text, table = layout_blocks(items, "page 1")
    assert text.text == "客户名单"
    assert isinstance(table, TableBlock)
    assert (table.header, table.rows, table.first_row) == (rows[0], rows[1:], 2)
    assert table.ocr.cells == ((0.99, 0.99, 0.99), (0.99, 0.99, 0.99))


def test_a_header_box_across_two_columns_is_split_between_them():
    # the engine read the header "序号 姓名" as one run; every data row has two
    items = [item(10, 20, "序号姓名"), item(200, 20, "手机")]
    for r, (name, phone) in enumerate(
        (("王伟", "13912345678"), ("李娜", "13800138000"), ("张敏", "13700137000"))
    ):
        items += [
            item(10, 80 + 60 * r, str(r + 1)),
            item(50, 80 + 60 * r, name),
            item(200, 80 + 60 * r, phone),
        ]
    [table] = layout_blocks(items, "image")
    assert table.header == ("序号", "姓名", "手机")
    assert table.rows == [
        ("1", "王伟", "13912345678"),
        ("2", "李娜", "13800138000"),
        ("3", "张敏", "13700137000"),
    ]


def test_id_card_front_is_one_row_under_the_card_labels():
    items = [
        item(40, 40, "姓名王小明"),
        item(40, 100, "性别男"),
        item(300, 100, "民族汉"),
        item(40, 160, "出生1990年3月7日"),
        item(40, 220, "住址北京市朝阳区建国路88号"),
        item(130, 262, "院5号楼101室", confidence=0.9),
        item(40, 430, f"公民身份号码{ID}"),
        item(600, 20, "某某照相馆"),
    ]
    card, rest = layout_blocks(items, "image")
    assert card == TableBlock(
        ID_HEADER,
        [("王小明", "男", "汉", "1990年3月7日", "北京市朝阳区建国路88号院5号楼101室", ID)],
        "image",
        ocr=OcrText(cells=((0.99, 0.99, 0.99, 0.99, 0.9, 0.99),), card="id_card"),
    )
    assert rest.text == "某某照相馆"


def test_bank_card_number_goes_under_a_card_header():
    grouped = " ".join(CARD[i : i + 4] for i in range(0, len(CARD), 4))
    items = [item(40, 30, "中国工商银行"), item(40, 300, grouped, 0.97), item(40, 400, "VALID THRU 09/29")]
    card, rest = layout_blocks(items, "image")
    assert card == TableBlock(
        ("卡号",), [(grouped,)], "image", ocr=OcrText(cells=((0.97,),), card="bank_card")
    )
    assert rest.text == "中国工商银行\nVALID THRU 09/29"


def test_low_confidence_digit_strings_count_only_with_a_valid_checksum():
    engine = Engine()
    text = f"手机 13912345678 身份证 {ID} 卡号 {CARD} 王伟"
    mobile_at, id_at, card_at = text.index("139"), text.index(ID), text.index(CARD)
    low = 0.6
    block = TextBlock(
        text,
        ocr=OcrText(
            spans=((0, id_at - 5, low), (id_at - 5, card_at - 4, low), (card_at - 4, len(text), 0.95))
        ),
    )
    tally = OcrTally(engine.definitions)
    found = {f.entity_type for f in tally.filter(block, engine.scan(block))}
    assert mobile_at < id_at
    assert found == {"CN_RESIDENT_ID", "CN_BANK_CARD", "CN_NAME"}  # the low-confidence mobile is dropped
    assert tally.notes() == {
        "ocr_found_cn_bank_card": 1,
        "ocr_found_cn_name": 1,
        "ocr_found_cn_resident_id": 1,
        "ocr_confidence_pct": 83,
        "ocr_confidence_min_pct": 60,
        "ocr_low_confidence_dropped": 1,
    }
    confident = TextBlock(text, ocr=OcrText(spans=((0, len(text), 0.99),)))
    assert {
        f.entity_type for f in OcrTally(engine.definitions).filter(confident, engine.scan(confident))
    } == {
        "CN_MOBILE",
        "CN_RESIDENT_ID",
        "CN_BANK_CARD",
        "CN_NAME",
    }


def test_blocks_not_read_by_ocr_pass_untouched():
    engine = Engine()
    block = TextBlock("手机 13912345678")
    tally = OcrTally(engine.definitions)
    assert tally.filter(block, engine.scan(block)) == engine.scan(block)
    assert tally.notes() == {}


def test_ocr_limits_come_from_the_config(tmp_path):
    from dlpscan.config import load_config

    conf = tmp_path / "dlpscan.toml"
    conf.write_text("[limits]\nmax_ocr_pages = 0\nmax_image_megapixels = 1.5\n", encoding="utf-8")
    limits = load_config(conf, {})[0].extract_limits()
    assert (limits.max_ocr_pages, limits.max_image_pixels) == (0, 1_500_000)
