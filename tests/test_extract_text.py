"""Functional tests of text extraction on generated files, with exact expected blocks."""

from __future__ import annotations

import codecs
import io
import itertools
import json
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dlpscan.extract import Limits, open_documents
from dlpscan.extract.context import Context
from dlpscan.extract.errors import ExtractError
from dlpscan.extract.plain import byte_blocks, text_blocks
from dlpscan.model import Status, TableBlock, TextBlock


def read(path: Path, limits: Limits = Limits()):  # noqa: B008
    """(document, effective status, reason, blocks) of a single-document file."""
    docs = list(open_documents(path, path.name, limits))
    assert len(docs) == 1
    doc = docs[0]
    blocks, status, reason = [], doc.status, doc.reason
    try:
        blocks.extend(doc.blocks)
    except ExtractError as e:
        status, reason = e.status, str(e)
    return doc, status, reason, blocks


def test_gbk_csv_with_title_line_before_header(tmp_path):
    rows = "# 客户清单 共2条\n客户姓名,证件号码,手机号码\n张三,110101199003077777,13800138000\n李四,,13900139000\n"
    path = tmp_path / "客户.csv"
    path.write_bytes(rows.encode("gbk"))
    doc, status, _, blocks = read(path)
    assert (doc.media_type, status) == ("text/csv", Status.SCANNED)
    assert blocks == [
        TextBlock("# 客户清单 共2条", "rows 1-1"),
        TableBlock(
            header=("客户姓名", "证件号码", "手机号码"),
            rows=[("张三", "110101199003077777", "13800138000"), ("李四", "", "13900139000")],
            location="",
            first_row=3,
        ),
    ]


def test_quoted_fields_semicolon_delimiter(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text('name;address;phone\n"Wang; Li";"Room 1\nBuilding 2";138\nZhao;x;139\n', encoding="utf-8")
    _, _, _, blocks = read(path)
    assert blocks == [
        TableBlock(
            ("name", "address", "phone"),
            [("Wang; Li", "Room 1\nBuilding 2", "138"), ("Zhao", "x", "139")],
            "",
            2,
        )
    ]


def test_utf16_bom_text(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes("联系人：王五 电话：13700137000\n地址：北京市".encode("utf-16"))
    doc, status, _, blocks = read(path)
    assert (doc.media_type, status) == ("text/plain", Status.SCANNED)
    assert blocks == [TextBlock("联系人：王五 电话：13700137000\n地址：北京市", "lines 1-2")]


def test_big5_text(tmp_path):
    text = "客戶姓名：陳大文，身分證字號 A123456789，聯絡電話 0912345678。\n" * 12
    path = tmp_path / "big5.txt"
    path.write_bytes(text.encode("big5"))
    _, _, _, blocks = read(path)
    assert [b.text for b in blocks] == [text]


def test_broken_bytes_in_utf8_never_lose_the_rest(tmp_path):
    path = tmp_path / "mixed.log"
    good = "用户 13800138000 登录\n" * 3000
    path.write_bytes(good.encode() + b"\xff\xfe\xc0 broken \x81\n" + good.encode())
    _, status, _, blocks = read(path)
    text = "".join(b.text for b in blocks)
    assert status == Status.SCANNED
    assert text.count("13800138000") == 6000
    assert "broken" in text


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_large_text_is_streamed_in_blocks_on_line_boundaries(tmp_path, encoding):
    path = tmp_path / "big.txt"
    line = "第{:05d}行 手机 13800138000\n"  # 31 bytes in UTF-8, 27 in GB18030
    path.write_text("".join(line.format(i) for i in range(1000)), encoding=encoding)
    _, _, _, blocks = read(path, Limits(text_block_chars=1000))
    assert len(blocks) > 20
    assert all(b.text.endswith("\n") and len(b.text) <= 1000 for b in blocks)
    assert "".join(b.text for b in blocks) == "".join(line.format(i) for i in range(1000))
    per_block = 1000 // (31 if encoding == "utf-8" else 27)  # blocks of bytes
    assert blocks[0].location == f"lines 1-{per_block}"
    assert blocks[1].location == f"lines {per_block + 1}-{2 * per_block}"


def test_utf8_text_with_broken_bytes_crlf_and_a_bom_is_read_as_a_text_stream_reads_it(tmp_path):
    path = tmp_path / "mixed.log"
    good = "用户 13800138000 登录\r\n" * 100
    path.write_bytes(codecs.BOM_UTF8 + good.encode() + b"\xff broken\rlast" + good.encode())
    _, _, _, blocks = read(path, Limits(text_block_chars=1000))
    text = "".join(b.text for b in blocks)
    assert text == good.replace("\r\n", "\n") + "\ufffd broken\nlast" + good.replace("\r\n", "\n")
    assert len(blocks) > 5
    spans = [tuple(map(int, b.location.removeprefix("lines ").split("-"))) for b in blocks]
    assert spans[0][0] == 1 and all(a[1] + 1 == b[0] for a, b in itertools.pairwise(spans))
    assert spans[-1][1] == 201  # a lone CR is a line break, as in a text stream


_PIECES = ["号", "a", " ", "\n", "\r", "\r\n", "：", "\U0001f600", b"\xff", b"\xe5\x8f", b"\x81", b"\x80"]


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030", "utf-8-sig"])
@settings(max_examples=200, deadline=None, database=None)
@given(pieces=st.lists(st.sampled_from(_PIECES), max_size=120), size=st.integers(min_value=4, max_value=64))
def test_byte_blocks_read_what_a_text_stream_reads(encoding, pieces, size):
    """Any bytes (broken sequences and CR, LF, CR LF included), any block size: the blocks hold the
    text a stream with universal newlines and U+FFFD reads (blocks of white space alone are left
    out; broken bytes of a CJK codec may be replaced otherwise where a block is cut), about `size` characters at most, and their locations number the lines in order (a line cut
    between blocks keeps its number)."""
    data = b"".join(p if isinstance(p, bytes) else p.encode(encoding) for p in pieces)
    stream = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, errors="replace").read()
    blocks = list(byte_blocks(io.BytesIO(data), encoding, Context(Limits(text_block_chars=size))))
    if encoding.startswith("utf-8") or "\ufffd" not in stream:
        assert "".join("".join(b.text for b in blocks).split()) == "".join(stream.split())
    assert all(len(b.text) <= size + 3 for b in blocks)  # + the first bytes of a character cut in two
    expected = 1
    for b in blocks:
        first, last = map(int, b.location.removeprefix("lines ").split("-"))
        assert first >= expected and last - first == max(b.text.count("\n") - b.text.endswith("\n"), 0)
        expected = last + b.text.endswith("\n")


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030", "utf-16"])
def test_json_too_large_for_a_tree_is_read_as_text_in_its_encoding(tmp_path, encoding):
    """Beyond `max_tree_bytes` a JSON document that is not JSON Lines is read as free text, as bytes
    where the encoding allows it and as a text stream where it does not (UTF-16)."""
    people = [{"姓名": f"客户{i}", "手机": f"139{i:08d}"} for i in range(300)]
    path = tmp_path / "big.json"
    path.write_text(json.dumps(people, ensure_ascii=False, indent=2), encoding=encoding)
    _, status, _, blocks = read(path, Limits(max_tree_bytes=1000, text_block_chars=2000))
    assert status is Status.SCANNED and len(blocks) > 5
    assert all(isinstance(b, TextBlock) and b.location.startswith("lines ") for b in blocks)
    text = "".join(b.text for b in blocks)
    assert text.lstrip("\ufeff") == json.dumps(people, ensure_ascii=False, indent=2)


@settings(max_examples=200, deadline=None, database=None)
@given(
    pieces=st.lists(st.sampled_from(["号", "a", " ", "\n", "\r\n", "\U0001f600"]), max_size=150),
    size=st.integers(4, 40),
)
@example(pieces=list("\naaaa\naaaaa"), size=4)  # cut early twice: the last block was the whole carry
def test_text_stream_blocks_hold_the_stream_in_blocks_of_at_most_size_characters(pieces, size):
    """UTF-16 and single-byte codecs are read as a text stream: its text, in blocks of at most
    `size` characters, the last one too, with the lines numbered in order."""
    text = "".join(pieces)
    stream = io.TextIOWrapper(io.BytesIO(text.encode("utf-16")), encoding="utf-16")
    blocks = list(text_blocks(stream, Context(Limits(text_block_chars=size))))
    assert "".join("".join(b.text for b in blocks).split()) == "".join(text.split())
    assert all(len(b.text) <= size for b in blocks)
    expected = 1
    for b in blocks:
        first, last = map(int, b.location.removeprefix("lines ").split("-"))
        assert first >= expected and last - first == max(b.text.count("\n") - b.text.endswith("\n"), 0)
        expected = last + b.text.endswith("\n")


def test_text_blocks_are_cut_at_carriage_returns_too(tmp_path):
    """A file with CR line ends only (as classic Mac OS wrote them) is cut at its line ends, as a
    text stream with universal newlines reads it."""
    path = tmp_path / "mac.txt"
    path.write_bytes("".join(f"第{i:03d}行 手机 13800138000\r" for i in range(100)).encode("utf-8"))
    _, _, _, blocks = read(path, Limits(text_block_chars=200))
    assert all(b.text.endswith("\n") for b in blocks)
    assert "".join(b.text for b in blocks) == "".join(f"第{i:03d}行 手机 13800138000\n" for i in range(100))


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_one_enormous_line_is_cut_and_no_character_is_lost(tmp_path, encoding):
    """Cut inside a character, the block's decoder keeps its first bytes for the next block."""
    path = tmp_path / "oneline.txt"
    path.write_text("号" * 2000 + "\r\n" + "号" * 10, encoding=encoding)
    _, _, _, blocks = read(path, Limits(text_block_chars=1000))
    assert len(blocks) > 2 and all(len(b.text) <= 1000 for b in blocks)
    assert "".join(b.text for b in blocks) == "号" * 2000 + "\n" + "号" * 10


def test_one_enormous_line_is_cut(tmp_path):
    path = tmp_path / "oneline.txt"
    path.write_text("x" * 10_000, encoding="ascii")
    _, _, _, blocks = read(path, Limits(text_block_chars=1000))
    assert [len(b.text) for b in blocks] == [1000] * 10


def test_txt_that_is_not_a_table_stays_text(tmp_path):
    path = tmp_path / "leads.txt"
    content = (
        "# 待回访 共3条\n测试甲,13800138000\n2. 测试乙 13900139000 已联系\n姓名：王测试 电话：13700137000\n"
    )
    path.write_text(content, encoding="utf-8")
    _, _, _, blocks = read(path)
    assert blocks == [TextBlock(content, "lines 1-4")]


def test_tab_separated_txt_with_header_is_a_table(tmp_path):
    path = tmp_path / "batches.txt"
    path.write_text("箱号\t封签号\t件数\nX1\t700000000000000011\t12\nX2\t700000000000000022\t345\n", "utf-8")
    _, _, _, blocks = read(path)
    assert blocks == [
        TableBlock(
            ("箱号", "封签号", "件数"),
            [("X1", "700000000000000011", "12"), ("X2", "700000000000000022", "345")],
            "",
            2,
        )
    ]


def test_json_list_of_objects_anywhere_becomes_a_table(tmp_path):
    data = {
        "status": "ok",
        "result": {
            "count": 2,
            "rows": [
                {"who": "测试甲", "certNo": "11010519491231002X", "contact": {"tel": "13800138000"}},
                {"who": "测试乙", "email": None, "tags": ["a", "b"], "ok": True},
            ],
        },
    }
    path = tmp_path / "dump.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    doc, _, _, blocks = read(path)
    assert doc.media_type == "application/json"
    assert blocks == [
        TextBlock("status: ok\nresult.count: 2", "fields"),
        TableBlock(
            header=("who", "certNo", "contact.tel", "email", "tags", "ok"),
            rows=[
                ("测试甲", "11010519491231002X", "13800138000", "", "", ""),
                ("测试乙", "", "", "", '["a","b"]', "true"),
            ],
            location="result.rows",
            first_row=1,
        ),
    ]


def test_json_lines(tmp_path):
    path = tmp_path / "users.jsonl"
    path.write_text('{"name": "张三", "phone": "13800138000"}\n{"name": "李四", "id": 7}\n', encoding="utf-8")
    _, _, _, blocks = read(path)
    assert blocks == [
        TableBlock(("name", "phone", "id"), [("张三", "13800138000", ""), ("李四", "", "7")], "lines", 1)
    ]


def test_json_too_deep_to_parse_is_read_as_text(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + '"13912345678"' + "]" * 100_000, encoding="ascii")
    doc, status, _, blocks = read(path)
    assert status == Status.SCANNED and doc.notes == {"json_too_deep_read_as_text": 1}
    assert sum("13912345678" in b.text for b in blocks) == 1


SQL = """-- MySQL dump 10.13
CREATE TABLE `demo_people` (
  `pid` int NOT NULL,
  `nm` varchar(40) NULL,
  `tel` varchar(16) NULL,
  PRIMARY KEY (`pid`)
) ENGINE=InnoDB;
INSERT INTO `demo_people` VALUES (1,'张三','13800138000'),(2,'O\\'Brien, \\"Jr\\"',NULL);
INSERT INTO orders (order_no, mobile) VALUES ('A;1', '139 0013 9000'),
('A(2)', 'it''s');
"""


def test_sql_insert_dump(tmp_path):
    path = tmp_path / "dump.sql"
    path.write_text(SQL, encoding="utf-8")
    doc, _, _, blocks = read(path)
    assert doc.media_type == "text/plain"
    tables = [b for b in blocks if isinstance(b, TableBlock)]
    assert tables == [
        TableBlock(
            ("pid", "nm", "tel"),
            [("1", "张三", "13800138000"), ("2", 'O\'Brien, "Jr"', "")],
            "table demo_people",
            1,
        ),
        TableBlock(("order_no", "mobile"), [("A;1", "139 0013 9000"), ("A(2)", "it's")], "table orders", 1),
    ]
    texts = [b for b in blocks if isinstance(b, TextBlock)]
    assert len(texts) == 1 and texts[0].text.startswith("-- MySQL dump") and "INSERT" not in texts[0].text


def test_postgres_copy(tmp_path):
    path = tmp_path / "pg.sql"
    path.write_text(
        "COPY public.users (name, mobile) FROM stdin;\n张三\t13800138000\n李四\t\\N\n\\.\n", "utf-8"
    )
    _, _, _, blocks = read(path)
    assert blocks == [
        TableBlock(("name", "mobile"), [("张三", "13800138000"), ("李四", "")], "table public.users", 1)
    ]


def test_xml_records_become_a_table(tmp_path):
    path = tmp_path / "users.xml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<export date="2024-03-01"><title>客户</title>'
        '<user id="1"><name>张三</name><mobile>13800138000</mobile></user>'
        '<user id="2"><name>李四</name><mobile>13900139000</mobile></user></export>',
        encoding="utf-8",
    )
    doc, _, _, blocks = read(path)
    assert doc.media_type == "text/xml"
    assert blocks == [
        TableBlock(
            ("@id", "name", "mobile"),
            [("1", "张三", "13800138000"), ("2", "李四", "13900139000")],
            "export/user",
            1,
        ),
        TextBlock("export@date: 2024-03-01\nexport/title: 客户", "elements"),
    ]


def test_gbk_declared_xml(tmp_path):
    path = tmp_path / "gbk.xml"
    path.write_bytes('<?xml version="1.0" encoding="GBK"?><r><a>张三</a><b>李四</b></r>'.encode("gbk"))
    _, status, _, blocks = read(path)
    assert status == Status.SCANNED
    assert blocks == [TableBlock(("a", "b"), [("张三", "李四")], "r", 1)]


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<lolz>&lol9;</lolz>
"""


def test_billion_laughs_is_a_status(tmp_path):
    path = tmp_path / "lol.xml"
    path.write_text(BILLION_LAUGHS, encoding="ascii")
    _, status, reason, blocks = read(path)
    assert (status, blocks) == (Status.SKIPPED, [])
    assert "entity" in reason


def test_external_entity_is_never_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET", encoding="ascii")
    path = tmp_path / "xxe.xml"
    path.write_text(
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]><r>&x;</r>', "ascii"
    )
    _, status, _, blocks = read(path)
    assert status == Status.SKIPPED
    assert not any("TOPSECRET" in getattr(b, "text", "") for b in blocks)


def test_malformed_xml_is_an_error(tmp_path):
    path = tmp_path / "bad.xml"
    path.write_text('<?xml version="1.0"?><r><a>1</a><b>', encoding="ascii")
    _, status, reason, _ = read(path)
    assert (status, reason) == (Status.ERROR, "ParseError: malformed XML")


def test_html_table_with_th_header_and_text(tmp_path):
    path = tmp_path / "export.html"
    path.write_text(
        "<html><head><style>td{}</style><script>var x=1;</script></head><body><h1>客户名单</h1>"
        "<table><tr><th>姓名</th><th>手机</th></tr><tr><td>张三</td><td>138 0013 8000</td></tr>"
        "<tr><td>李&amp;四</td><td>139</td></tr></table><p>共2条</p></body></html>",
        encoding="utf-8",
    )
    doc, _, _, blocks = read(path)
    assert doc.media_type == "text/html"
    assert blocks == [
        TableBlock(("姓名", "手机"), [("张三", "138 0013 8000"), ("李&四", "139")], "table 1", 2),
        TextBlock("客户名单\n共2条", "text"),
    ]


def test_markdown_and_logs_are_text(tmp_path):
    path = tmp_path / "app.log"
    content = "2024-03-15 00:00:01 INFO [svc,abc] login ok\n2024-03-15 00:00:02 INFO [svc,def] login ok\n" * 3
    path.write_text(content, encoding="utf-8")
    _, _, _, blocks = read(path)
    assert blocks == [TextBlock(content, "lines 1-6")]


@pytest.mark.parametrize("name", ["empty.txt", "empty.csv", "empty.xlsx", "empty.pdf"])
def test_empty_file_is_scanned_with_no_blocks(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"")
    doc, status, reason, blocks = read(path)
    assert (doc.media_type, status, reason, blocks, doc.size) == (
        "application/x-empty",
        Status.SCANNED,
        None,
        [],
        0,
    )


def test_file_size_limit(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("a,b\n1,2\n", encoding="ascii")
    _, status, reason, _ = read(path, Limits(max_file_bytes=4))
    assert (status, reason) == (Status.SKIPPED, "file larger than limit")


def test_decode_deadline(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("line\n" * 100_000, encoding="ascii")
    _, status, reason, _ = read(path, Limits(max_decode_seconds=0.0, text_block_chars=1000))
    assert status == Status.SKIPPED and reason.startswith("decode time limit")


def test_rtf_with_chinese_codepage(tmp_path):
    path = tmp_path / "memo.rtf"
    body = "".join(f"\\'{b:02x}" for b in "张三".encode("gbk"))
    path.write_bytes(
        ("{\\rtf1\\ansi\\ansicpg936 {\\fonttbl\\f0 SimSun;}\\f0 " + body + " 13800138000\\par}").encode()
    )
    doc, _, _, blocks = read(path)
    assert doc.media_type == "text/rtf"
    assert [b.text.strip() for b in blocks] == ["张三 13800138000"]


def test_sql_one_line_create_table_gives_the_header(tmp_path):
    path = tmp_path / "t.sql"
    path.write_text(
        "CREATE TABLE users (name text, mobile varchar(20), amount decimal(10,2));\n"
        "LOCK TABLES users WRITE;\nINSERT INTO users VALUES ('张三','13800138000',1.5);\n",
        encoding="utf-8",
    )
    _, _, _, blocks = read(path)
    assert [b for b in blocks if isinstance(b, TableBlock)] == [
        TableBlock(("name", "mobile", "amount"), [("张三", "13800138000", "1.5")], "table users", 1)
    ]


def test_undeclared_gbk_xml(tmp_path):
    path = tmp_path / "nodecl.xml"
    path.write_bytes("<r><a>张三</a><b>广东省深圳市南山区</b></r>".encode("gbk"))
    _, status, _, blocks = read(path)
    assert (status, blocks) == (
        Status.SCANNED,
        [TableBlock(("a", "b"), [("张三", "广东省深圳市南山区")], "r", 1)],
    )


def test_routing_follows_content_and_uses_the_name_only_as_a_hint():
    from dlpscan.extract.text import text_kind

    dump = "-- dump\nINSERT INTO users (name) VALUES ('x');\n"
    assert text_kind("text/plain", ".sql", dump) == "sql"
    assert text_kind("text/plain", ".txt", dump) == "sql"  # content alone
    # a .sql name on prose is not a dump: it is read as text (or a table) by its content
    assert text_kind("text/plain", ".sql", "客户 王伟 手机 13912345678\n") == "table?"
    assert text_kind("text/plain", ".json", "not json at all\n") == "table?"
