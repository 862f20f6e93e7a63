"""A measuring stick for exports nobody here designed: many layouts of generated people, scored.

    .venv/bin/python bench/eval_layouts.py --out /tmp/layouts            # write corpus + truth.json
    .venv/bin/python bench/eval_layouts.py --out /tmp/layouts --score    # ... then scan and score

Values come from Faker (zh_CN) and mimesis, not from dlpscan's own tables; cards are Luhn numbers
on well-known issuer BINs. Each layout writes one or more files and records, per file, the
normalised values a perfect scanner reports (`truth.json`, the format of the shared eval corpus)
and whether the file should be flagged (bulk: 50 or more people). Hard negatives (company,
product and city columns, courier status words under 签收人, unlabelled base64) carry no names.
Scoring: per type and per layout precision / recall / F1 over HMAC fingerprints, like the shared
scorer. Needs the `bench` extra (Faker, mimesis).
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import hmac
import io
import json
import random
import subprocess
import sys
import tempfile
import urllib.parse
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

CORE = ("CN_RESIDENT_ID", "CN_MOBILE", "CN_BANK_CARD")
SCORED = (*CORE, "CN_NAME")
# Issuer BINs and the card length each issues (public knowledge, not read from dlpscan's table).
BINS = {
    "622202": 19,
    "621700": 19,
    "622848": 19,
    "436742": 19,
    "622588": 16,
    "625807": 16,
    "621226": 19,
    "622262": 19,
    "621483": 16,
    "623668": 19,
}


@dataclass
class Person:
    name: str
    id: str
    mobile: str
    card: str
    city: str
    company: str
    address: str


@dataclass
class Truth:
    entities: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    flagged: bool = False

    def add(self, p: Person, *types: str) -> None:
        for t in types:
            self.entities[t].add(
                {"CN_NAME": p.name, "CN_RESIDENT_ID": p.id, "CN_MOBILE": p.mobile, "CN_BANK_CARD": p.card}[t]
            )


class People:
    def __init__(self, seed: int) -> None:
        from faker import Faker
        from mimesis import Address
        from mimesis.locales import Locale

        self.rng = random.Random(seed)
        Faker.seed(seed)
        self.fake = Faker("zh_CN")
        self.addr = Address(Locale.ZH, seed=seed)

    def card(self) -> str:
        bin_ = self.rng.choice(sorted(BINS))
        digits = [int(c) for c in bin_]
        digits += [self.rng.randint(0, 9) for _ in range(BINS[bin_] - len(bin_) - 1)]
        total = sum(
            d if i % 2 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(reversed(digits))
        )
        return "".join(map(str, digits)) + str((10 - total % 10) % 10)

    def person(self) -> Person:
        f = self.fake
        return Person(
            f.name(),
            f.ssn(min_age=18, max_age=80).upper(),
            f.phone_number(),
            self.card(),
            f.city_name(),
            f.company(),
            f.address().split(" ")[0],
        )

    def many(self, n: int) -> list[Person]:
        return [self.person() for _ in range(n)]


Layout = Callable[[People, Path], dict[str, Truth]]
LAYOUTS: dict[str, Layout] = {}


def layout(fn: Layout) -> Layout:
    LAYOUTS[fn.__name__] = fn
    return fn


def _bulk(truth: Truth, n: int) -> Truth:
    truth.flagged = n >= 50
    return truth


def _csv(
    path: Path, header: list[str] | None, rows: list[list[str]], delimiter: str = ",", enc: str = "utf-8"
) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    if header:
        w.writerow(header)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(enc))


def _table_layout(headers: list[str], fields: list[str], suffix: str = ".csv", **kw) -> Layout:
    """A delimited table of people with the given column headers (None: no header row)."""

    def make(people: People, out: Path) -> dict[str, Truth]:
        n = people.rng.randint(60, 160)
        ps = people.many(n)
        truth = _bulk(Truth(), n)
        rows = []
        for p in ps:
            rows.append([_field(p, f) for f in fields])
            truth.add(p, *[_TYPES[f] for f in fields if f in _TYPES])
        name = f"{make.__name__}{suffix}"
        _csv(out / name, headers or None, rows, **kw)
        return {name: truth}

    return make


_TYPES = {"name": "CN_NAME", "id": "CN_RESIDENT_ID", "mobile": "CN_MOBILE", "card": "CN_BANK_CARD"}


def _field(p: Person, f: str) -> str:
    return getattr(p, f) if f != "amount" else f"{random.randint(100, 99999)}.00"


def _register(name: str, headers: list[str] | None, fields: list[str], **kw) -> None:
    fn = _table_layout(headers or [], fields, **kw)
    fn.__name__ = name
    LAYOUTS[name] = fn


_register(
    "csv_zh", ["姓名", "身份证号", "手机号", "银行卡号", "地址"], ["name", "id", "mobile", "card", "address"]
)
_register("csv_pinyin_xm", ["xm", "sfzh", "sjhm", "yhkh"], ["name", "id", "mobile", "card"])
_register("csv_pinyin_khxm", ["khxm", "zjhm", "lxdh", "zh"], ["name", "id", "mobile", "card"])
_register("csv_en_cust_nm", ["cust_nm", "cert_no", "mobile_no", "acct_no"], ["name", "id", "mobile", "card"])
_register("csv_en_username", ["userName", "idCard", "phone", "city"], ["name", "id", "mobile", "city"])
_register("csv_en_name", ["name", "id_number", "tel", "company"], ["name", "id", "mobile", "company"])
_register("csv_no_header", None, ["name", "id", "mobile", "address"])
_register("csv_no_header_name_city", None, ["name", "mobile", "city", "company"])
_register(
    "csv_loan",
    ["借款人", "借款人身份证", "担保人", "担保人电话", "金额"],
    ["name", "id", "name", "mobile", "amount"],
)
_register("csv_bank_flow", ["交易日期", "对方户名", "对方账号", "金额"], ["city", "name", "card", "amount"])
_register("csv_clinic", ["接诊医生", "患者姓名", "身份证", "联系电话"], ["name", "name", "id", "mobile"])
_register("csv_invoice", ["开票人", "购买方", "联系电话"], ["name", "company", "mobile"])
_register("csv_ticket", ["处理人", "客户", "客户电话", "工单号"], ["name", "name", "mobile", "amount"])
_register(
    "csv_courier",
    ["寄件人", "寄件人电话", "收件人", "收件人电话", "收件地址"],
    ["name", "mobile", "name", "mobile", "address"],
)
_register("csv_corp", ["企业名称", "法定代表人", "联系人", "联系电话"], ["company", "name", "name", "mobile"])
_register(
    "csv_en_roles",
    ["borrower", "guarantor", "recipient", "contact_phone"],
    ["name", "name", "name", "mobile"],
)
_register("csv_en_roles2", ["customer", "payee", "sender_name", "mobile"], ["name", "name", "name", "mobile"])
_register("tsv_zh", ["客户姓名", "证件号码", "手机"], ["name", "id", "mobile"], suffix=".tsv", delimiter="\t")
_register("pipe_dat", ["XM", "SFZH", "SJH"], ["name", "id", "mobile"], suffix=".dat", delimiter="|")
_register(
    "semicolon_txt", ["姓名", "手机号", "城市"], ["name", "mobile", "city"], suffix=".txt", delimiter=";"
)
_register("caret_noext", None, ["name", "id", "mobile", "card"], suffix="", delimiter="^")
_register("unit_sep_noext", None, ["id", "name", "mobile"], suffix="", delimiter="\x1f")
_register("csv_gbk_pinyin", ["xingming", "shenfenzheng", "shouji"], ["name", "id", "mobile"], enc="gb18030")


@layout
def hive_000000_0(people: People, out: Path) -> dict[str, Truth]:
    ps = people.many(120)
    truth = _bulk(Truth(), len(ps))
    lines = []
    for i, p in enumerate(ps):
        lines.append("\x01".join([str(i), p.name, p.id, p.mobile, p.city, "\\N"]))
        truth.add(p, "CN_NAME", "CN_RESIDENT_ID", "CN_MOBILE")
    (out / "hive").mkdir(exist_ok=True)
    (out / "hive" / "000000_0").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"hive/000000_0": truth}


@layout
def fixed_width_batch(people: People, out: Path) -> dict[str, Truth]:
    ps = people.many(90)
    truth = _bulk(Truth(), len(ps))
    lines = ["H20240101BATCH0001" + " " * 40]
    for i, p in enumerate(ps):
        name = p.name + "\u3000" * (4 - len(p.name))
        lines.append(f"D{i:06d}{p.card:<19}{name}{p.id}{p.mobile}{12345 + i:012d}")
        truth.add(p, "CN_NAME", "CN_RESIDENT_ID", "CN_MOBILE", "CN_BANK_CARD")
    lines.append(f"T{len(ps):06d}")
    (out / "PAY_BATCH_20240101.dat").write_bytes(("\r\n".join(lines) + "\r\n").encode("gb18030"))
    return {"PAY_BATCH_20240101.dat": truth}


def _xlsx(path: Path, sheets: dict[str, list[list[str]]]) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    for title, rows in sheets.items():
        ws = wb.add_worksheet(title)
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                ws.write_string(r, c, v)
    wb.close()


@layout
def xlsx_transposed(people: People, out: Path) -> dict[str, Truth]:
    ps = people.many(70)
    truth = _bulk(Truth(), len(ps))
    rows = [
        ["姓名", *[p.name for p in ps]],
        ["性别", *["男"] * len(ps)],
        ["身份证号", *[p.id for p in ps]],
        ["手机号码", *[p.mobile for p in ps]],
    ]
    for p in ps:
        truth.add(p, "CN_NAME", "CN_RESIDENT_ID", "CN_MOBILE")
    _xlsx(out / "xlsx_transposed.xlsx", {"名单": rows})
    return {"xlsx_transposed.xlsx": truth}


@layout
def xlsx_form_per_sheet(people: People, out: Path) -> dict[str, Truth]:
    ps = people.many(55)
    truth = _bulk(Truth(), len(ps))
    sheets = {}
    for i, p in enumerate(ps):
        sheets[f"表{i + 1}"] = [
            ["个人信息登记表"],
            ["姓名", p.name, "性别", "女"],
            ["身份证号", p.id, "民族", "汉"],
            ["手机", p.mobile, "籍贯", p.city],
            ["住址", p.address],
        ]
        truth.add(p, "CN_NAME", "CN_RESIDENT_ID", "CN_MOBILE")
    _xlsx(out / "xlsx_forms.xlsx", sheets)
    return {"xlsx_forms.xlsx": truth}


@layout
def xlsx_no_header(people: People, out: Path) -> dict[str, Truth]:
    ps = people.many(80)
    truth = _bulk(Truth(), len(ps))
    rows = []
    for p in ps:
        rows.append([p.name, p.city, p.company, p.mobile])
        truth.add(p, "CN_NAME", "CN_MOBILE")
    _xlsx(out / "xlsx_no_header.xlsx", {"Sheet1": rows})
    return {"xlsx_no_header.xlsx": truth}


@layout
def xlsx_pinyin(people: People, out: Path) -> dict[str, Truth]:
    ps = people.many(75)
    truth = _bulk(Truth(), len(ps))
    rows = [["KHXM", "ZJHM", "SJHM", "KHMC"]]
    for p in ps:
        rows.append([p.name, p.id, p.mobile, p.company])
        truth.add(p, "CN_NAME", "CN_RESIDENT_ID", "CN_MOBILE")
    _xlsx(out / "xlsx_pinyin.xlsx", {"data": rows})
    return {"xlsx_pinyin.xlsx": truth}


def _docx(path: Path, paragraphs: list[str], tables: list[list[list[str]]]) -> None:
    import docx

    d = docx.Document()
    for t in paragraphs:
        d.add_paragraph(t)
    for rows in tables:
        table = d.add_table(rows=len(rows), cols=max(len(r) for r in rows))
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                table.cell(r, c).text = v
        d.add_paragraph("")
    d.save(str(path))


@layout
def docx_kv_tables(people: People, out: Path) -> dict[str, Truth]:
    ps = people.many(52)
    truth = _bulk(Truth(), len(ps))
    tables = []
    for p in ps:
        tables.append(
            [
                ["姓名", p.name, "性别", "男"],
                ["身份证号码", p.id, "联系电话", p.mobile],
                ["家庭住址", p.address, "", ""],
            ]
        )
        truth.add(p, "CN_NAME", "CN_RESIDENT_ID", "CN_MOBILE")
    _docx(out / "docx_kv.docx", ["员工信息登记表"], tables)
    return {"docx_kv.docx": truth}


@layout
def docx_letters(people: People, out: Path) -> dict[str, Truth]:
    ps = people.many(60)
    truth = _bulk(Truth(), len(ps))
    paras = []
    for p in ps:
        title = people.rng.choice(["先生", "女士"])
        paras += [
            f"尊敬的{p.name}{title}：",
            f"您尾号{p.card[-4:]}的账户已开通，登记手机{p.mobile}。",
            "此致 敬礼",
            "",
        ]
        truth.add(p, "CN_NAME", "CN_MOBILE")
    _docx(out / "docx_letters.docx", paras, [])
    return {"docx_letters.docx": truth}


@layout
def txt_kv_padded(people: People, out: Path) -> dict[str, Truth]:
    ps = people.many(60)
    truth = _bulk(Truth(), len(ps))
    parts = []
    for p in ps:
        parts.append(f"姓　　名：{p.name}\n身份证号：{p.id}\n电　　话：{p.mobile}\n住　　址：{p.address}\n")
        truth.add(p, "CN_NAME", "CN_RESIDENT_ID", "CN_MOBILE")
    (out / "txt_kv_padded.txt").write_text("\n".join(parts), encoding="utf-8")
    return {"txt_kv_padded.txt": truth}


@layout
def url_log(people: People, out: Path) -> dict[str, Truth]:
    ps = people.many(80)
    truth = _bulk(Truth(), len(ps))
    lines = []
    for i, p in enumerate(ps):
        q = urllib.parse.urlencode(
            {"name": p.name, "phone": "+86" + p.mobile, "idno": p.id, "ts": 1700000000 + i}
        )
        lines.append(
            f'10.0.0.{i % 250} - - [01/Jan/2024:10:00:{i % 60:02d} +0800] "GET /api/user/save?{q} HTTP/1.1" 200 512'
        )
        truth.add(p, "CN_NAME", "CN_MOBILE", "CN_RESIDENT_ID")
    (out / "access.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"access.log": truth}


@layout
def form_bodies(people: People, out: Path) -> dict[str, Truth]:
    ps = people.many(70)
    truth = _bulk(Truth(), len(ps))
    lines = []
    for p in ps:
        body = urllib.parse.urlencode(
            {"custName": p.name, "mobile": p.mobile, "cardNo": p.card}, quote_via=urllib.parse.quote
        )
        lines.append(f"2024-01-01 10:00:00 INFO POST /submit body={body}")
        truth.add(p, "CN_NAME", "CN_MOBILE", "CN_BANK_CARD")
    (out / "app_requests.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"app_requests.log": truth}


@layout
def vcards(people: People, out: Path) -> dict[str, Truth]:
    ps = people.many(60)
    truth = _bulk(Truth(), len(ps))
    cards = []
    for p in ps:
        cards.append(
            f"BEGIN:VCARD\r\nVERSION:3.0\r\nN:{p.name[0]};{p.name[1:]};;;\r\nFN:{p.name}\r\nTEL;TYPE=CELL:{p.mobile}\r\nEND:VCARD\r\n"
        )
        truth.add(p, "CN_NAME", "CN_MOBILE")
    (out / "contacts.vcf").write_text("".join(cards), encoding="utf-8")
    return {"contacts.vcf": truth}


@layout
def json_nested(people: People, out: Path) -> dict[str, Truth]:
    ps = people.many(65)
    truth = _bulk(Truth(), len(ps))
    data = {
        "code": 0,
        "data": {"list": [{"userName": p.name, "contact": {"tel": p.mobile}, "certNo": p.id} for p in ps]},
    }
    for p in ps:
        truth.add(p, "CN_NAME", "CN_MOBILE", "CN_RESIDENT_ID")
    (out / "api_dump.json").write_text(json.dumps(data, ensure_ascii=True), encoding="utf-8")
    return {"api_dump.json": truth}


@layout
def json_string_in_string(people: People, out: Path) -> dict[str, Truth]:
    ps = people.many(60)
    truth = _bulk(Truth(), len(ps))
    lines = []
    for i, p in enumerate(ps):
        inner = json.dumps({"name": p.name, "mobile": p.mobile, "idCard": p.id}, ensure_ascii=True)
        lines.append(json.dumps({"event": "register", "seq": i, "payload": inner}, ensure_ascii=True))
        truth.add(p, "CN_NAME", "CN_MOBILE", "CN_RESIDENT_ID")
    (out / "events.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"events.jsonl": truth}


@layout
def log_json_escaped(people: People, out: Path) -> dict[str, Truth]:
    ps = people.many(60)
    truth = _bulk(Truth(), len(ps))
    lines = []
    for p in ps:
        inner = json.dumps({"realName": p.name, "phone": p.mobile}, ensure_ascii=True)
        lines.append(f"2024-01-02 12:00:00 [http-nio-8080] INFO  c.x.UserService - resp={json.dumps(inner)}")
        truth.add(p, "CN_NAME", "CN_MOBILE")
    (out / "service.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"service.log": truth}


@layout
def base64_labelled(people: People, out: Path) -> dict[str, Truth]:
    ps = people.many(60)
    truth = _bulk(Truth(), len(ps))
    lines = []
    for p in ps:
        b = base64.b64encode(p.id.encode()).decode()
        n = base64.b64encode(p.name.encode()).decode()
        lines.append(
            f"uid={people.rng.randint(10**6, 10**7)} name_base64={n} idcard_b64={b} mobile={p.mobile}"
        )
        truth.add(p, "CN_NAME", "CN_RESIDENT_ID", "CN_MOBILE")
    (out / "b64_audit.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"b64_audit.log": truth}


@layout
def sql_pinyin(people: People, out: Path) -> dict[str, Truth]:
    ps = people.many(70)
    truth = _bulk(Truth(), len(ps))
    vals = ",\n".join(f"({i},'{p.name}','{p.id}','{p.mobile}')" for i, p in enumerate(ps))
    sql = f"CREATE TABLE t_kh (id int, khxm varchar(20), zjhm varchar(18), sjhm varchar(11));\nINSERT INTO t_kh (id,khxm,zjhm,sjhm) VALUES\n{vals};\n"
    for p in ps:
        truth.add(p, "CN_NAME", "CN_RESIDENT_ID", "CN_MOBILE")
    (out / "t_kh.sql").write_text(sql, encoding="utf-8")
    return {"t_kh.sql": truth}


@layout
def html_en(people: People, out: Path) -> dict[str, Truth]:
    ps = people.many(60)
    truth = _bulk(Truth(), len(ps))
    rows = "".join(f"<tr><td>{p.name}</td><td>{p.mobile}</td><td>{p.city}</td></tr>" for p in ps)
    html = f"<html><body><table><tr><th>Full Name</th><th>Mobile</th><th>City</th></tr>{rows}</table></body></html>"
    for p in ps:
        truth.add(p, "CN_NAME", "CN_MOBILE")
    (out / "members.html").write_text(html, encoding="utf-8")
    return {"members.html": truth}


@layout
def parquet_export(people: People, out: Path) -> dict[str, Truth]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    ps = people.many(100)
    truth = _bulk(Truth(), len(ps))
    table = pa.table(
        {
            "cust_id": list(range(len(ps))),
            "cust_nm": [p.name for p in ps],
            "cert_no": [p.id for p in ps],
            "mobile_no": [int(p.mobile) for p in ps],
        }
    )
    for p in ps:
        truth.add(p, "CN_NAME", "CN_RESIDENT_ID", "CN_MOBILE")
    (out / "dw").mkdir(exist_ok=True)
    pq.write_table(table, out / "dw" / "part-00000-c000.snappy.parquet")
    return {"dw/part-00000-c000.snappy.parquet": truth}


@layout
def avro_export(people: People, out: Path) -> dict[str, Truth]:
    import fastavro

    ps = people.many(90)
    truth = _bulk(Truth(), len(ps))
    schema = {
        "type": "record",
        "name": "Cust",
        "fields": [
            {"name": "xm", "type": "string"},
            {"name": "sfzh", "type": "string"},
            {"name": "card", "type": ["null", "string"]},
        ],
    }
    with open(out / "cust.avro", "wb") as f:
        fastavro.writer(f, schema, [{"xm": p.name, "sfzh": p.id, "card": p.card} for p in ps])
    for p in ps:
        truth.add(p, "CN_NAME", "CN_RESIDENT_ID", "CN_BANK_CARD")
    return {"cust.avro": truth}


@layout
def xlsx_no_header_text(people: People, out: Path) -> dict[str, Truth]:
    ps = people.many(60)
    truth = _bulk(Truth(), len(ps))
    rows = []
    for p in ps:
        rows.append([p.name, people.rng.choice(["男", "女"]), p.city, p.company, p.address])
        truth.add(p, "CN_NAME")
    _xlsx(out / "xlsx_no_header_text.xlsx", {"Sheet1": rows})
    return {"xlsx_no_header_text.xlsx": truth}


@layout
def csv_customers_mixed(people: People, out: Path) -> dict[str, Truth]:
    ps = people.many(80)
    truth = _bulk(Truth(), len(ps))
    rows = []
    for i, p in enumerate(ps):
        if i % 5 < 2:
            rows.append([p.company, p.mobile])
        else:
            rows.append([p.name, p.mobile])
            truth.add(p, "CN_NAME")
        truth.add(p, "CN_MOBILE")
    _csv(out / "customers_mixed.csv", ["客户", "联系电话"], rows)
    return {"customers_mixed.csv": truth}


@layout
def jsonl_waybills(people: People, out: Path) -> dict[str, Truth]:
    ps = people.many(120)
    truth = _bulk(Truth(), len(ps) // 2)
    lines = []
    for a, b in zip(ps[::2], ps[1::2], strict=True):
        lines.append(
            json.dumps(
                {
                    "waybillNo": f"YT{people.rng.randint(10**12, 10**13)}",
                    "senderName": a.name,
                    "senderPhone": a.mobile,
                    "receiverName": b.name,
                    "receiverMobile": b.mobile,
                    "receiverAddr": b.address,
                },
                ensure_ascii=False,
            )
        )
        truth.add(a, "CN_NAME", "CN_MOBILE")
        truth.add(b, "CN_NAME", "CN_MOBILE")
    (out / "waybills.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"waybills.jsonl": truth}


# -- probes written after the fixes above, to see whether they hold on shapes not tuned to ----------
_register(
    "probe_csv_en_title",
    ["Customer Name", "ID Number", "Mobile Phone", "Bank Account"],
    ["name", "id", "mobile", "card"],
)
_register(
    "probe_csv_zh_variants",
    ["户主姓名", "公民身份号码", "移动电话", "开户账号"],
    ["name", "id", "mobile", "card"],
)
_register(
    "probe_csv_roles",
    ["委托人", "受托人", "收款方", "经办人员", "联系手机"],
    ["name", "name", "name", "name", "mobile"],
)
_register(
    "probe_csv_emp",
    ["emp_nm", "emp_no", "mobile_phone", "dept_name"],
    ["name", "amount", "mobile", "company"],
)
_register("probe_tsv_bom", ["\ufeff姓名", "手机"], ["name", "mobile"], suffix=".tsv", delimiter="\t")


@layout
def probe_xml_records(people: People, out: Path) -> dict[str, Truth]:
    ps = people.many(60)
    truth = _bulk(Truth(), len(ps))
    recs = "".join(f"<record><xm>{p.name}</xm><sfzh>{p.id}</sfzh><sjh>{p.mobile}</sjh></record>" for p in ps)
    for p in ps:
        truth.add(p, "CN_NAME", "CN_RESIDENT_ID", "CN_MOBILE")
    (out / "export.xml").write_text(
        f'<?xml version="1.0" encoding="UTF-8"?><data>{recs}</data>', encoding="utf-8"
    )
    return {"export.xml": truth}


@layout
def probe_html_kv(people: People, out: Path) -> dict[str, Truth]:
    ps = people.many(55)
    truth = _bulk(Truth(), len(ps))
    tables = "".join(
        f"<table><tr><td>姓名</td><td>{p.name}</td><td>电话</td><td>{p.mobile}</td></tr>"
        f"<tr><td>身份证号</td><td>{p.id}</td><td>地址</td><td>{p.address}</td></tr></table>"
        for p in ps
    )
    for p in ps:
        truth.add(p, "CN_NAME", "CN_RESIDENT_ID", "CN_MOBILE")
    (out / "cards.html").write_text(f"<html><body>{tables}</body></html>", encoding="utf-8")
    return {"cards.html": truth}


@layout
def probe_docx_paragraph_fields(people: People, out: Path) -> dict[str, Truth]:
    ps = people.many(60)
    truth = _bulk(Truth(), len(ps))
    paras = [f"客户：{p.name}  手机：{p.mobile}  证件：{p.id}" for p in ps]
    for p in ps:
        truth.add(p, "CN_NAME", "CN_RESIDENT_ID", "CN_MOBILE")
    _docx(out / "visits.docx", paras, [])
    return {"visits.docx": truth}


@layout
def probe_text_tab_kv(people: People, out: Path) -> dict[str, Truth]:
    ps = people.many(60)
    truth = _bulk(Truth(), len(ps))
    blocks = [f"姓名\t{p.name}\n身份证\t{p.id}\n备注\t无\n" for p in ps]
    for p in ps:
        truth.add(p, "CN_NAME", "CN_RESIDENT_ID")
    (out / "records_kv.txt").write_text("\n".join(blocks), encoding="utf-8")
    return {"records_kv.txt": truth}


@layout
def probe_markdown_table(people: People, out: Path) -> dict[str, Truth]:
    ps = people.many(60)
    truth = _bulk(Truth(), len(ps))
    lines = ["| 序号 | 姓名 | 手机 |", "|---|---|---|"] + [
        f"| {i} | {p.name} | {p.mobile} |" for i, p in enumerate(ps)
    ]
    for p in ps:
        truth.add(p, "CN_NAME", "CN_MOBILE")
    (out / "list.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"list.md": truth}


@layout
def probe_jsonl_nested(people: People, out: Path) -> dict[str, Truth]:
    ps = people.many(60)
    truth = _bulk(Truth(), len(ps))
    lines = [
        json.dumps({"order": {"id": i, "buyer": {"name": p.name, "phone": p.mobile}}}, ensure_ascii=False)
        for i, p in enumerate(ps)
    ]
    for p in ps:
        truth.add(p, "CN_NAME", "CN_MOBILE")
    (out / "orders.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"orders.jsonl": truth}


# -- hard negatives: nothing here is a name ---------------------------------------------------------
@layout
def neg_company_product_city(people: People, out: Path) -> dict[str, Truth]:
    rows = []
    for _ in range(80):
        rows.append(
            [
                people.fake.company_prefix(),
                people.rng.choice(["王老吉", "金龙鱼", "白象方便面", "康师傅", "李宁运动鞋"]),
                people.fake.city_name(),
                str(people.rng.randint(1, 99)),
            ]
        )
    _csv(out / "neg_catalog.csv", ["供应商", "品名", "城市", "数量"], rows)
    _csv(out / "neg_catalog_noheader.csv", None, rows)
    return {"neg_catalog.csv": Truth(), "neg_catalog_noheader.csv": Truth()}


@layout
def neg_courier_status(people: People, out: Path) -> dict[str, Truth]:
    rows = []
    for i in range(60):
        rows.append(
            [
                f"SF{10**11 + i}",
                people.rng.choice(["家门口", "本人", "前台", "快递柜", "门卫", "驿站", "物业"]),
                people.rng.choice(["已签收", "派送中"]),
            ]
        )
    _csv(out / "neg_signed.csv", ["运单号", "签收人", "状态"], rows)
    return {"neg_signed.csv": Truth()}


@layout
def neg_base64_blobs(people: People, out: Path) -> dict[str, Truth]:
    lines = [
        f"token={base64.b64encode(people.rng.randbytes(24)).decode()} sig={base64.b64encode(str(people.rng.randint(10**17, 10**18)).encode()).decode()}"
        for _ in range(60)
    ]
    (out / "neg_tokens.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"neg_tokens.log": Truth()}


@layout
def neg_cities_with_phones(people: People, out: Path) -> dict[str, Truth]:
    rows = [
        [
            people.fake.city_name(),
            people.fake.company(),
            f"400-{people.rng.randint(100, 999)}-{people.rng.randint(1000, 9999)}",
        ]
        for _ in range(60)
    ]
    _csv(out / "neg_branches.csv", ["city", "org_name", "hotline"], rows)
    return {"neg_branches.csv": Truth()}


def generate(out: Path, seed: int) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    people = People(seed)
    files: dict[str, dict] = {}
    for name, make in LAYOUTS.items():
        for path, truth in make(people, out).items():
            files[path] = {
                "kind": name,
                "status": ["scanned"],
                "flagged": truth.flagged,
                "entities": {t: sorted(v) for t, v in truth.entities.items()},
            }
    truth = {
        "format": "dlpscan-eval-truth/1",
        "split": "layouts",
        "seed": seed,
        "corpus_root": ".",
        "files": files,
    }
    (out / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")
    return truth


def _fp(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def score(truth: dict, report: Path, key: bytes) -> None:
    lines = {}
    for raw in report.read_text(encoding="utf-8").splitlines():
        obj = json.loads(raw)
        lines[obj["path"]] = obj
    per_type = {t: [0, 0, 0] for t in SCORED}
    per_layout: dict[str, dict[str, list[int]]] = defaultdict(lambda: {t: [0, 0, 0] for t in SCORED})
    flags = [0, 0]
    wrong_flags = []
    for path, t in truth["files"].items():
        line = next((v for k, v in lines.items() if k.endswith("/" + path) or k == path), {})
        for typ in SCORED:
            want = {_fp(key, v) for v in t["entities"].get(typ, [])}
            got = set((line.get("entities", {}).get(typ) or {}).get("fingerprints") or [])
            counts = (len(want & got), len(got - want), len(want - got))
            for acc in (per_type[typ], per_layout[t["kind"]][typ]):
                for i in range(3):
                    acc[i] += counts[i]
        flags[0] += bool(line.get("flagged")) == t["flagged"]
        flags[1] += 1
        if bool(line.get("flagged")) != t["flagged"]:
            wrong_flags.append(
                f"{path} (want {t['flagged']}, status {line.get('status')} {line.get('reason') or ''})"
            )
    print(f"{'type':<16}{'TP':>7}{'FP':>7}{'FN':>7}{'prec':>8}{'recall':>8}{'F1':>8}")
    for typ, (tp, fp, fn) in per_type.items():
        p, r, f = prf(tp, fp, fn)
        print(f"{typ:<16}{tp:>7}{fp:>7}{fn:>7}{p:>8.4f}{r:>8.4f}{f:>8.4f}")
    core = [sum(per_type[t][i] for t in CORE) for i in range(3)]
    print(
        f"{'core (micro)':<16}{core[0]:>7}{core[1]:>7}{core[2]:>7}"
        + "".join(f"{x:>8.4f}" for x in prf(*core))
    )
    print(f"\nflag accuracy {flags[0]}/{flags[1]}")
    for w in wrong_flags:
        print(f"  wrong flag: {w}")
    print("\nlayouts below F1 1.0 (type: TP/FP/FN):")
    for kind, types in sorted(per_layout.items()):
        bad = {t: c for t, c in types.items() if c[1] or c[2]}
        if bad:
            print(f"  {kind:<28}" + "  ".join(f"{t}: {c[0]}/{c[1]}/{c[2]}" for t, c in bad.items()))
    _, _, name_f1 = prf(*per_type["CN_NAME"])
    print(
        f"\nLAYOUTS names_f1={name_f1:.4f} core_f1={prf(*core)[2]:.4f} flag_acc={flags[0] / flags[1]:.4f} files={flags[1]}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--score", action="store_true", help="scan the corpus with dlpscan and score it")
    ap.add_argument("--dlpscan", default=str(Path(sys.executable).with_name("dlpscan")))
    a = ap.parse_args()
    truth = generate(a.out, a.seed)
    print(f"{len(truth['files'])} files in {len(LAYOUTS)} layouts written to {a.out}")
    if a.score:
        with tempfile.TemporaryDirectory() as tmp:
            report = Path(tmp) / "r.jsonl"
            subprocess.run(
                [
                    a.dlpscan,
                    "scan",
                    str(a.out),
                    "--format",
                    "jsonl",
                    "--output",
                    str(report),
                    "--fingerprint-key",
                    "k",
                    "--db",
                    str(Path(tmp) / "s.sqlite"),
                    "-q",
                    "--exclude",
                    "truth.json",
                ],
                check=False,
            )
            score(truth, report, b"k")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
