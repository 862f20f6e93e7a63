#!/usr/bin/env python3
"""Merge maintained third-party sources into recognizers/data (for maintainers; not run by tests).

    python scripts/update_tables.py bins --bankcardinfo node_modules/bankcardinfo/index.js
    python scripts/update_tables.py phones          # needs `pip install phonenumbers`

Rows are only ever added (never replaced), each source appended after the rows it lacks; the
merge is idempotent. Record the source version in recognizers/data/LICENSES.md after a run.

- bins: the npm package bankcardinfo (ISC) lists BINs as `^(bin|bin|...)\\d{n}$` per issuer and
  card type, so each BIN comes with its card length. A BIN no shorter table row covers is added;
  a covered BIN whose length the table does not know for it gets that length as an extra row.
- phones: phonenumbers' CN metadata (libphonenumber, Apache-2.0). An 11-digit mobile block or a
  fixed-line area code it accepts and the tables lack is added: for acceptance, libphonenumber
  wins over a table that lacks a block (it is updated monthly from the numbering plan); a block
  only the tables have is kept (old records still carry retired codes).
"""

from __future__ import annotations

import argparse
import csv
import random
import re
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "recognizers" / "data"
_BANK = re.compile(r'bankName:\s*"([^"]*)",\s*bankCode:\s*"([^"]*)",\s*patterns:\s*\[(.*?)\]\s*\}', re.S)
_PATTERN = re.compile(r'reg:\s*/\^\(([0-9|]+)\)\\d\{(\d+)\}\$/g?,\s*cardType:\s*"(\w+)"')


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _append(name: str, fields: list[str], rows: list[dict[str, str]]) -> None:
    with (DATA / name).open("a", encoding="utf-8", newline="") as f:
        csv.DictWriter(f, fields, lineterminator="\n").writerows(rows)
    print(f"{name}: {len(rows)} rows added")


def merge_bins(index_js: Path) -> None:
    table = _rows("bank_bins.csv")
    lengths: dict[str, set[str]] = {}
    for r in table:
        lengths.setdefault(r["bin"], set()).add(r["length"])

    def covering(b: str) -> str | None:
        return next(
            (b[:n] for n in range(len(b), 2, -1) if b[:n] in lengths), None
        )  # longest, as the validator

    added: list[dict[str, str]] = []
    for _, code, patterns in _BANK.findall(index_js.read_text(encoding="utf-8")):
        for alternatives, rest, card_type in _PATTERN.findall(patterns):
            for b in alternatives.split("|"):
                length = str(len(b) + int(rest))
                if not 15 <= int(length) <= 19:  # ISO/IEC 7812 card numbers (a few 20-digit entries are not)
                    continue
                known = covering(b)
                if known is None or (lengths[known] != {""} and length not in lengths[known]):
                    row = {"bin": known or b, "bank": code, "type": card_type, "length": length}
                    added.append(row)
                    lengths.setdefault(row["bin"], set()).add(length)
    _append("bank_bins.csv", ["bin", "bank", "type", "length"], added)


def merge_phones() -> None:
    from phonenumbers.data import region_CN

    metadata = region_CN.PHONE_METADATA_CN
    mobile = re.compile(metadata.mobile.national_number_pattern)
    fixed = re.compile(metadata.fixed_line.national_number_pattern)

    prefixes = {r["prefix"]: r for r in _rows("mobile_prefixes.csv")}

    def table_has(number: str) -> bool:
        return any(number[:n] in prefixes for n in (5, 4, 3))

    blocks = [f"{p:04d}" for p in range(1000, 2000)]
    new_mobiles = [
        {"prefix": b, "category": "手机号段 (libphonenumber)", "carrier": "", "number_length": "11"}
        for b in blocks
        if all(mobile.fullmatch(f"{b}{d}000000") for d in range(10)) and not table_has(b + "0000000")
    ]
    _append("mobile_prefixes.csv", ["prefix", "category", "carrier", "number_length"], new_mobiles)

    codes = {r["area_code"] for r in _rows("area_codes.csv")}
    rng = random.Random(0)
    new_codes = []
    for code in [*map(str, range(10, 30)), *map(str, range(300, 1000))]:
        if "0" + code in codes:
            continue
        locals_ = (
            str(rng.randint(2, 8)) + str(rng.randrange(10 ** (n - 1))).zfill(n - 1) for n in (7, 8) * 40
        )
        if any(fixed.fullmatch(code + local) for local in locals_):
            new_codes.append({"area_code": "0" + code, "location": "(libphonenumber)"})
    _append("area_codes.csv", ["area_code", "location"], new_codes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    bins = sub.add_parser("bins", help="merge BINs and card lengths from bankcardinfo's index.js")
    bins.add_argument("--bankcardinfo", type=Path, required=True)
    sub.add_parser("phones", help="merge mobile blocks and area codes from phonenumbers' metadata")
    args = parser.parse_args()
    if args.what == "bins":
        merge_bins(args.bankcardinfo)
    else:
        merge_phones()


if __name__ == "__main__":
    main()
