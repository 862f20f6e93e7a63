"""`dlpscan edm build`: the index holds keyed digests only, bad rows are counted, schemas checked."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from edm_people import KEY, SCHEMA, Customer, build, customers, write_master

from dlpscan.cli import main
from dlpscan.detect.registry import load_definitions
from dlpscan.edm import EdmError
from dlpscan.edm.build import build_index
from dlpscan.edm.index import EdmIndex, read_header
from dlpscan.edm.keys import Digester, key_id
from dlpscan.edm.schema import load_schema


def test_index_counts_rows_and_holds_no_value(tmp_path):
    people = customers(300, seed=1)
    report = build(tmp_path, people)
    assert (report.rows_read, report.rows_indexed, report.bad_rows) == (300, 300, 0)
    index = EdmIndex(tmp_path / "customers.edm")
    assert index.header.rows == 300 and index.header.key_id == key_id(KEY.encode())
    assert len(index.primary_digest) == 600  # ID and mobile of every row
    assert np.all(np.diff(index.primary_digest.astype(np.uint64)) > 0)  # sorted, no two alike
    assert index.corr.shape == (300, 2)  # name and e-mail, bound to each row

    data = (tmp_path / "customers.edm").read_bytes()
    for c in people:
        for value in (c.id, c.mobile, c.name, c.email, c.email.lower()):
            raw = value.encode()
            plain = hashlib.sha256(raw).digest()
            for needle in (raw, plain, plain[:8], plain[:4], plain.hex().encode(), plain.hex()[:16].encode()):
                assert needle not in data
    # nor the values' digests under the fingerprint-style HMAC of the same key (keys are apart)
    assert b"customers" in data  # the header is there: the check above reads the right file


def test_the_same_data_and_key_give_the_same_version(tmp_path):
    people = customers(50, seed=2)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "c").mkdir()
    first = build(tmp_path / "a", people).header
    again = build(tmp_path / "b", people).header
    other_key = build(tmp_path / "c", people, key="another-edm-key-0123456789").header
    assert first.version == again.version
    assert other_key.version != first.version and other_key.key_id != first.key_id


def test_equal_names_in_two_rows_do_not_look_alike(tmp_path):
    """Corroborating fields are bound to their row: the index shows no name frequencies."""
    people = customers(40, seed=3)
    same = [Customer(c.number, "王伟", c.id, c.mobile, c.email) for c in people]
    build(tmp_path, same)
    names = EdmIndex(tmp_path / "customers.edm").corr[:, 0]
    assert len(set(names.tolist())) == 40


def test_bad_rows_are_counted_with_their_row_numbers_and_skipped(tmp_path):
    people = customers(20, seed=4)
    path = tmp_path / "customers.csv"
    write_master(path, people)
    broken_id = people[3].id[:-1] + ("0" if people[3].id[-1] != "0" else "1")
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[4] = f"C9,张三,{broken_id},,x@example.com"  # row 5: invalid ID, no mobile
    lines[7] = "C10,李四"  # row 8: too short
    lines.insert(10, "")  # a blank line: skipped, not bad
    lines[12] = f"C11,王五,{broken_id},{people[11].mobile},y@example.com"  # invalid ID, valid mobile
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "edm.yaml").write_text(SCHEMA, encoding="utf-8")
    schema = load_schema(tmp_path / "edm.yaml", load_definitions())
    report = build_index(schema, path, tmp_path / "c.edm", KEY.encode())
    assert (report.rows_read, report.empty_rows, report.rows_indexed, report.bad_rows) == (21, 1, 18, 2)
    assert dict(report.bad_reasons) == {"no_primary_value": 1, "short_row": 1}
    assert report.first_bad_rows == [5, 8]
    assert report.columns["身份证号"].invalid == 2
    assert read_header(tmp_path / "c.edm").bad_rows == 2
    assert broken_id not in report.summary() and "张三" not in str(report.describe())


def test_gbk_csv_and_xlsx_inputs(tmp_path):
    xlsxwriter = pytest.importorskip("xlsxwriter")
    people = customers(30, seed=5)
    build(tmp_path, people)
    expected = EdmIndex(tmp_path / "customers.edm").header.version
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes((tmp_path / "customers.csv").read_text(encoding="utf-8").encode("gbk"))
    book = xlsxwriter.Workbook(str(tmp_path / "customers.xlsx"))
    sheet = book.add_worksheet("客户")
    sheet.write_row(0, 0, ("客户号", "姓名", "身份证号", "手机号", "邮箱"))
    for r, c in enumerate(people, 1):
        sheet.write_row(r, 0, (c.number, c.name, c.id))
        sheet.write_number(r, 3, int(c.mobile))  # a mobile typed as a number
        sheet.write_string(r, 4, c.email)
    book.close()
    schema = load_schema(tmp_path / "edm.yaml", load_definitions())
    for source in (gbk, tmp_path / "customers.xlsx"):
        report = build_index(schema, source, tmp_path / "x.edm", KEY.encode())
        assert report.rows_indexed == 30 and report.header.version == expected


def test_parallel_build_gives_the_same_index(tmp_path):
    people = customers(120, seed=6)
    report = build(tmp_path, people, jobs=2)
    (tmp_path / "one").mkdir()
    assert build(tmp_path / "one", people, jobs=1).header.version == report.header.version


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ("name: c\ncolumns:\n  - {header: 姓名, type: CN_NAME}\n", "no primary column"),
        (
            "name: c\ncolumns:\n  - {header: 姓名, type: CN_NAME, primary: true}\n",
            "CN_NAME cannot be primary",
        ),
        (
            "name: c\ncolumns:\n  - {header: 证, type: CN_RESIDENT_IDX, primary: true}\n",
            "unknown entity type",
        ),
        ("name: c\ncolumns:\n  - {type: CN_MOBILE, primary: true}\n", "header or its position"),
        (
            "name: c\ncolumns:\n  - {header: 手机, type: CN_MOBILE, primary: true}\nfoo: 1\n",
            "unknown setting",
        ),
    ],
)
def test_schema_errors_are_one_clear_line(tmp_path, schema, message):
    (tmp_path / "edm.yaml").write_text(schema, encoding="utf-8")
    with pytest.raises(EdmError, match=message):
        load_schema(tmp_path / "edm.yaml", load_definitions())


def test_missing_column_is_named(tmp_path):
    schema = SCHEMA + "  - {header: 电话, type: CN_LANDLINE}\n"
    with pytest.raises(EdmError, match="no column headed '电话'"):
        build(tmp_path, customers(5, seed=7), schema=schema)


def test_cli_keygen_build_and_info(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("DLPSCAN_EDM_KEY", "DLPSCAN_EDM_KEY_FILE", "DLPSCAN_FINGERPRINT_KEY"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    result = runner.invoke(main, ["edm", "keygen", "--out", "edm.key"])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat("edm.key").st_mode) == 0o600
    assert runner.invoke(main, ["edm", "keygen", "--out", "edm.key"]).exit_code == 2  # never overwritten

    write_master(Path("customers.csv"), customers(10, seed=8))
    Path("edm.yaml").write_text(SCHEMA, encoding="utf-8")
    args = ["edm", "build", "--schema", "edm.yaml", "--input", "customers.csv", "--out", "c.edm"]
    result = runner.invoke(main, args)
    assert result.exit_code == 2 and "no EDM key" in result.output
    result = runner.invoke(main, [*args, "--edm-key-file", "edm.key"])
    assert result.exit_code == 0, result.output
    assert "10 rows indexed of 10 read" in result.output
    info = runner.invoke(main, ["edm", "info", "c.edm"])
    assert info.exit_code == 0 and "customers" in info.output and "CN_RESIDENT_ID (primary)" in info.output

    key = Path("edm.key").read_text().strip()
    monkeypatch.setenv("DLPSCAN_FINGERPRINT_KEY", key)
    result = runner.invoke(main, [*args, "--edm-key-file", "edm.key"])
    assert result.exit_code == 2 and "must not be the fingerprint key" in result.output
    monkeypatch.delenv("DLPSCAN_FINGERPRINT_KEY")
    monkeypatch.setenv("DLPSCAN_EDM_KEY", "short")
    result = runner.invoke(main, args)
    assert result.exit_code == 2 and "too short" in result.output
    bad = runner.invoke(main, ["edm", "info", "customers.csv"])
    assert bad.exit_code == 2 and "not a dlpscan EDM index" in bad.output


def test_digests_are_keyed_and_separated_by_type():
    one, two = Digester(b"k" * 20), Digester(b"j" * 20)
    assert one.value_digest("CN_MOBILE", "13800138000") != two.value_digest("CN_MOBILE", "13800138000")
    assert one.value_digest("CN_MOBILE", "13800138000") != one.value_digest("CN_LANDLINE", "13800138000")
    assert one.value_digests("CN_MOBILE", ["13800138000"]) == [one.value_digest("CN_MOBILE", "13800138000")]


def test_compiled_and_python_digests_are_the_documented_hmacs():
    """keys.py: value = HMAC(key, "dlpscan-edm/v" 0 type 0 value)[:8], row = HMAC(key, "dlpscan-edm/r" 0
    primary digests)[:8], corroboration = HMAC(key, "dlpscan-edm/c" 0 row key, value digest)[:4]."""
    pytest.importorskip("dlpscan.detect._native", reason="the compiled module is not built")
    key = b"k" * 32
    fast, python = Digester(key, native=True), Digester(key, native=False)
    values = ["13800138000", "张三", "", "é" * 40, "x" * 200]
    expected = [hmac.digest(key, b"dlpscan-edm/v\0CN_NAME\0" + v.encode(), "sha256")[:8] for v in values]
    assert fast.value_digests("CN_NAME", values) == python.value_digests("CN_NAME", values) == expected
    primary = b"".join(expected[:4])
    rows = [hmac.digest(key, b"dlpscan-edm/r\0" + primary[i : i + 16], "sha256")[:8] for i in (0, 16)]
    assert fast.row_keys(primary, 16) == python.row_keys(primary, 16) == b"".join(rows)
    pairs = rows[0] + expected[0] + rows[1] + expected[1]
    corr = [
        int.from_bytes(hmac.digest(key, b"dlpscan-edm/c\0" + pairs[i : i + 16], "sha256")[:4], "little") or 1
        for i in (0, 16)
    ]
    assert fast.corroborations(pairs).tolist() == python.corroborations(pairs).tolist() == corr
    assert fast.corroboration(rows[1], expected[1]) == corr[1]
    for digester in (fast, python):
        with pytest.raises(ValueError, match="whole number of chunks"):
            digester.row_keys(primary[:-1], 16)
