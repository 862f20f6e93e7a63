"""Values encoded inside text (issue #13 item 3): percent-encoding, JSON escapes inside strings that
are themselves strings, and base64 where a label says so. Each is decoded, detected and reported
at the span of the original text it came from; unlabelled base64 is left alone.
"""

from __future__ import annotations

import base64
import json
import urllib.parse

import pytest

from dlpscan.detect.decoded import decoded_view
from dlpscan.detect.engine import Engine
from dlpscan.detect.validators import id_check_char
from dlpscan.model import TableBlock, TextBlock

ID = "110105198807160" + "21"
ID += id_check_char(ID)
MOBILE = "13912345678"


@pytest.fixture(scope="module", params=[False, True], ids=["pure", "compiled"])
def engine(request) -> Engine:
    if request.param:
        pytest.importorskip("dlpscan.detect._core")
    return Engine(compiled=request.param)


def found(engine: Engine, text: str) -> list[tuple[str, str, str, int]]:
    """(type, value, the original text at the finding's span, line) of every exposed finding."""
    return [
        (f.entity_type, f.value, text[f.start : f.end], f.record)
        for f in engine.scan(TextBlock(text))
        if not f.masked
    ]


def test_percent_encoded_query_strings(engine):
    query = urllib.parse.urlencode({"name": "张伟", "phone": "+86" + MOBILE, "idno": ID})
    text = f'10.0.0.1 - - "GET /api/save?{query} HTTP/1.1" 200\n'
    assert found(engine, text) == [
        ("CN_NAME", "张伟", "%E5%BC%A0%E4%BC%9F", 0),
        ("CN_MOBILE", MOBILE, "%2B86" + MOBILE, 0),
        ("CN_RESIDENT_ID", ID, ID, 0),
    ]


def test_percent_encoded_gbk_form_body(engine):
    body = "custName=" + urllib.parse.quote("王芳", encoding="gb18030") + "&mobile=" + MOBILE
    assert found(engine, "line one\nPOST body=" + body) == [
        ("CN_NAME", "王芳", "%CD%F5%B7%BC", 1),
        ("CN_MOBILE", MOBILE, MOBILE, 1),
    ]


def test_json_escapes_inside_a_json_string(engine):
    inner = json.dumps({"realName": "李娜", "idCard": ID}, ensure_ascii=True)
    text = "2024-01-02 INFO resp=" + json.dumps(inner)
    assert found(engine, text) == [
        ("CN_NAME", "李娜", "\\\\u674e\\\\u5a1c", 0),  # escaped twice: a JSON string in a JSON string
        ("CN_RESIDENT_ID", ID, ID, 0),
    ]


def test_base64_only_where_a_label_says_so(engine):
    b64_id = base64.b64encode(ID.encode()).decode()
    b64_name = base64.b64encode("刘洋".encode()).decode()
    text = f"name_base64={b64_name} idcard_b64={b64_id}\ntoken={b64_id} 证件号(base64): {b64_id}"
    assert found(engine, text) == [
        ("CN_NAME", "刘洋", b64_name, 0),
        ("CN_RESIDENT_ID", ID, b64_id, 0),
        ("CN_RESIDENT_ID", ID, b64_id, 1),
    ]


def test_encoded_cells_of_a_table(engine):
    payload = json.dumps({"name": "陈静", "mobile": MOBILE}, ensure_ascii=True)
    block = TableBlock(("seq", "payload", "url"), [("1", payload, "/q?xm=" + urllib.parse.quote("杨磊"))])
    found_ = sorted((f.entity_type, f.value, f.record, f.column) for f in engine.scan(block))
    assert found_ == [("CN_MOBILE", MOBILE, 0, 1), ("CN_NAME", "杨磊", 0, 2), ("CN_NAME", "陈静", 0, 1)]


def test_text_without_encodings_has_no_view():
    assert decoded_view("姓名：张伟 手机：" + MOBILE) is None
    assert decoded_view("100% 完成, token=abcdefghijklmnop") is None


def test_binary_base64_and_broken_escapes_are_left_as_they_are(engine):
    blob = base64.b64encode(bytes(range(40))).decode()
    text = f"file_b64={blob} name=%E5%BC bad=\\uZZZZ"
    assert found(engine, text) == []


def test_decoding_is_linear_on_hostile_text():
    """Encoded runs everywhere: one enormous percent-encoded line, escapes and base64 labels on
    every line (each stretch is decoded and scanned once, never once per hint)."""
    from fuzz import seeds
    from fuzz.ratio import MAX_RATIO, per_byte_ratio

    one_line = ("name=" + "%E5%BC%A0" * 80_000 + "&phone=%2B86" + MOBILE + "\n").encode()  # 0.7 MB, one line
    lines = "".join(f'x{i}_b64=5byg5LiJ k="\\u5f20\\"" q=%41%42 a=b64:{ID}\n' for i in range(6_000)).encode()
    refs = ("x=" + "&#24352;\\xe5\\xbc\\xa0=E5=BC=A0" * 20_000 + "\n").encode()
    # `lines` is a dense record on every line with five encodings, each decoded and scanned again:
    # 9-16x a normal file's cost per byte at any size (21x once in CI on a loaded machine); `refs` is
    # encoded from end to end, three encodings a stretch: 5-12x (11.2 once in CI). Decoding once per
    # hint, the failure this guards against, costs hundreds of times more.
    for data, bound in ((one_line, MAX_RATIO), (lines, 3 * MAX_RATIO), (refs, 2 * MAX_RATIO)):
        assert per_byte_ratio("text", data, seeds.normal("text", len(data))) < bound


def test_quoted_printable_vcard(engine):
    text = (
        "BEGIN:VCARD\nVERSION:2.1\nFN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E9=99=88=E9=9D=99\nEND:VCARD"
    )
    assert found(engine, text) == [("CN_NAME", "陈静", "=E9=99=88=E9=9D=99", 2)]


def test_bytes_printed_by_programs_and_html_character_references(engine):
    text = "user xm: &#x674E;&#x5A1C;\nINFO payload={'name': '\\xe5\\x88\\x98\\xe6\\xb4\\x8b', 'tel': '13912345678'}"
    assert found(engine, text) == [
        ("CN_NAME", "李娜", "&#x674E;&#x5A1C;", 0),
        ("CN_NAME", "刘洋", "\\xe5\\x88\\x98\\xe6\\xb4\\x8b", 1),
        ("CN_MOBILE", MOBILE, MOBILE, 1),
    ]


def test_each_hint_search_starts_with_the_literal_tested_before_it():
    """`hinted` skips a hint's search when its literal is absent: sound only if every match holds it."""
    from dlpscan.detect import decoded

    assert all(rx.pattern.startswith(literal) for literal, rx in decoded._HINTS)
    assert all(
        decoded.hinted(f"{lead}{sample}")
        for lead in ("", "客户 ")
        for sample in ("%E5", "=E5=BC", "b64=", "&#24352;")
    )
    assert not decoded.hinted("客户 张三 手机 13912345678 64 - % &")


def test_hints_found_in_the_engines_hyperscan_pass_equal_the_searches():
    """Where the compiled loop runs, the hint searches are patterns of the engine's own Hyperscan
    pass; text is hinted exactly where `decoded.hinted` says so."""
    import random

    from dlpscan.detect import decoded

    engine = Engine()
    if not engine.compiled or engine.backend != "hyperscan":
        pytest.skip("no shared Hyperscan pass (compiled loop or Hyperscan not available)")
    pieces = [
        "%E5",
        "%2",
        "=E5=BC",
        "=E5=B",
        "=e5=bc",
        "b64=",
        "base64 : '",
        "(base64)：",
        "64x",
        "&#24352;",
        "&#x5A1C;",
        "&#1;",
        "&#٢٣٤;",
        "\\u5f20",
        "\\\\u5f2",
        '\\"',
        "\\xe5\\xbc",
        "\\xe5",
        "客户 ",
        "13912345678",
        " ",
        "\n",
        "６４=",
        "％E5",
    ]
    rng = random.Random(5)
    texts = ["", *pieces, *("".join(rng.choices(pieces, k=rng.randint(1, 6))) for _ in range(400))]
    hinted = 0
    for text in texts:
        folded = engine._fold(text)
        assert engine._pass(folded).hinted == decoded.hinted(folded), text
        hinted += decoded.hinted(folded)
    assert 100 < hinted < len(texts) - 20
    assert not decoded.hinted("&#٢٣٤;")  # character references of ASCII digits only, on every path
