"""Reference tables shipped in recognizers/data/ (division codes, BINs, area codes, prefixes, surnames)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from dlpscan.resources import data_dir


def _data_file(name: str) -> Path:
    return data_dir("recognizers") / "data" / name


def _rows(name: str) -> list[dict[str, str]]:
    """The rows of a CSV table as dicts (as csv.DictReader gives them, read at several times its speed)."""
    with _data_file(name).open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, [])
        return [dict(zip(header, row, strict=True)) for row in reader if row]


@dataclass(frozen=True, slots=True)
class Division:
    name: str
    first_year: int | None
    last_year: int | None


@cache
def divisions() -> dict[str, Division]:
    """Current and historical 6-digit division codes (GB/T 2260)."""

    def year(text: str) -> int | None:
        return int(text) if text.strip() else None

    return {
        r["code"]: Division(r["name"], year(r.get("first_year", "")), year(r.get("last_year", "")))
        for r in _rows("division_codes.csv")
    }


@dataclass(frozen=True, slots=True)
class Bin:
    bank: str
    card_type: str
    lengths: frozenset[int]


@cache
def bank_bins() -> dict[str, Bin]:
    """Chinese issuer BINs (3-10 digits) -> issuer and the card lengths recorded for it."""
    merged: dict[str, tuple[str, str, set[int]]] = {}
    for r in _rows("bank_bins.csv"):
        entry = merged.setdefault(r["bin"], (r["bank"], r.get("type", ""), set()))
        if r.get("length", "").strip():
            entry[2].add(int(r["length"]))
    return {b: Bin(bank, t, frozenset(lens)) for b, (bank, t, lens) in merged.items()}


@cache
def bin_lengths() -> tuple[int, ...]:
    return tuple(sorted({len(b) for b in bank_bins()}, reverse=True))


@cache
def area_codes() -> frozenset[str]:
    """Mainland area codes with their leading 0 (010, 0571 ...)."""
    return frozenset(r["area_code"] for r in _rows("area_codes.csv"))


@cache
def mobile_prefixes() -> dict[str, int]:
    """Assigned mobile prefixes (3-5 digits) -> number length (11, or 13 for IoT)."""
    return {r["prefix"]: int(r.get("number_length") or 11) for r in _rows("mobile_prefixes.csv")}


@cache
def surnames() -> tuple[frozenset[str], frozenset[str]]:
    """(single-character surnames, compound surnames)."""
    single: set[str] = set()
    compound: set[str] = set()
    for line in _data_file("surnames.txt").read_text(encoding="utf-8").splitlines():
        name = line.split("#", 1)[0].strip()
        if not name:
            continue
        (single if len(name) == 1 else compound).add(name)
    return frozenset(single), frozenset(compound)


@cache
def name_stopwords() -> frozenset[str]:
    """Words shaped like surname + given name that are not names (place names, labels, common words)."""
    lines = _data_file("name_stopwords.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip() for w in lines if w.strip() and not w.startswith("#"))


def read_all() -> None:
    """Read every table now (a process that forks workers reads them once for all of them)."""
    for table in (divisions, bank_bins, bin_lengths, area_codes, mobile_prefixes, surnames, name_stopwords):
        table()
