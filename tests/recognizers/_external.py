"""Shared helpers for the per-recognizer tests: external test vectors and how we decide them.

The vectors are vendored in tests/data/external (published test numbers from other projects, not
personal data; tests/data/external/PROVENANCE.md says where each comes from and under which licence). Each test module checks its rows against our policy and reads the rows where we
knowingly decide otherwise from known_disagreements.csv: such a row must still get exactly the
verdict written there, so the list can neither go stale nor hide a change.

A verdict is the entity type of an exposed finding (not masked, not damaged) whose span is exactly
the value, or "none".
"""

from __future__ import annotations

import csv
import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

from dlpscan.detect.engine import Engine

EXTERNAL = Path(__file__).resolve().parents[1] / "data" / "external"
DISAGREEMENTS = Path(__file__).with_name("known_disagreements.csv")
NONE = "none"


@functools.cache
def engine() -> Engine:
    return Engine(backend="re")


@dataclass(frozen=True)
class Row:
    file: str
    index: int  # 1-based data row in the file
    value: str
    expected: str  # the peer's verdict as written in the file
    fields: tuple[tuple[str, str], ...]

    def get(self, key: str) -> str:
        return dict(self.fields).get(key, "")


def csv_rows(name: str) -> list[Row]:
    with (EXTERNAL / name).open(encoding="utf-8", newline="") as f:
        return [
            Row(name, i, r["value"], r.get("expected") or r.get("expected_valid", ""), tuple(r.items()))
            for i, r in enumerate(csv.DictReader(f), start=1)
        ]


def text_cases(*tasks: str) -> list[tuple[int, dict]]:
    """(line number, case) of text_cases.jsonl for the given tasks."""
    with (EXTERNAL / "text_cases.jsonl").open(encoding="utf-8") as f:
        cases = [(i, json.loads(line)) for i, line in enumerate(f, start=1) if line.strip()]
    return [(i, c) for i, c in cases if c["task"] in tasks]


def mentions(kind: str, *tasks: str) -> list[Row]:
    """Each entity of `kind` labelled in text_cases.jsonl, keyed by its value and "<kind> in text"."""
    return [
        Row(
            "text_cases.jsonl",
            i,
            e["value"],
            f"{kind} in text",
            (("text", c["text"]), ("start", str(e["start"])), ("end", str(e["end"]))),
        )
        for i, c in text_cases(*tasks)
        for e in c["entities"]
        if e["type"] == kind
    ]


def whole_texts(kind: str, *tasks: str) -> list[Row]:
    """Whole texts of the given tasks: expected `kind` when the peer labels the whole text so."""
    out = []
    for i, c in text_cases(*tasks):
        whole = any(
            e["type"] == kind and e["start"] == 0 and e["end"] == len(c["text"]) for e in c["entities"]
        )
        out.append(Row("text_cases.jsonl", i, c["text"], kind if whole else f"not {kind}", ()))
    return out


def decide_mention(row: Row, entity: str) -> tuple[str, str]:
    """Neutral context: the labelled span itself must be found, exposed, with its exact offsets."""
    return verdict_at(row.get("text"), int(row.get("start")), int(row.get("end"))), entity


def masked_output_params() -> list:
    """hutool's desensitised strings (must never give an exposed finding), as pytest params."""
    return [pytest.param(c["text"], id=f"text_cases.jsonl:{i}") for i, c in text_cases("masked_output")]


def params(rows: Iterable[Row]) -> list:
    """pytest params named file:row (values stay out of test ids)."""
    return [pytest.param(r, id=f"{r.file}:{r.index}") for r in rows]


@functools.cache
def known() -> dict[tuple[str, str, str], dict[str, str]]:
    with DISAGREEMENTS.open(encoding="utf-8", newline="") as f:
        return {(r["file"], r["value_fingerprint_or_value"], r["expected"]): r for r in csv.DictReader(f)}


def verdict(text: str, value: str, *, allow_tail: str | None = None) -> str:
    """Entity type of the exposed finding spanning exactly `value` inside `text`.

    `allow_tail` (a regex) lets the finding stop early when the rest of the value matches it,
    e.g. a landline extension, which is not part of the normalised number.
    """
    start = text.index(value)
    return verdict_at(text, start, start + len(value), allow_tail=allow_tail)


def verdict_at(text: str, start: int, end: int, *, allow_tail: str | None = None) -> str:
    for f in engine().scan_text(text):
        if f.masked or f.damaged or f.start != start:
            continue
        if f.end == end or (allow_tail and f.end < end and re.fullmatch(allow_tail, text[f.end : end])):
            return f.entity_type
    return NONE


def check(row: Row, ours: str, expected: str) -> None:
    """Our verdict must match the policy's expectation, or exactly the listed disagreement."""
    listed = known().get((row.file, row.value, row.expected))
    if listed is not None:
        assert ours == listed["our_verdict"], f"{row.file}:{row.index} listed disagreement changed"
        assert ours != expected, f"{row.file}:{row.index} now agrees: remove it from known_disagreements.csv"
    else:
        assert ours == expected, f"{row.file}:{row.index}: expected {expected}, got {ours}"


def stale(files: set[str], tested: Iterable[tuple[str, str, str]], kinds: set[str] | None = None) -> list:
    """Listed disagreements for `files` (and, for text cases, expected `kinds`) no tested row refers to."""
    seen = set(tested)
    return [k for k in known() if k[0] in files and (kinds is None or k[2] in kinds) and k not in seen]


def keys(rows: Iterable[Row]) -> list[tuple[str, str, str]]:
    return [(r.file, r.value, r.expected) for r in rows]


# phones.csv holds mobiles and landlines; both modules share this policy.
PHONE_ROWS = [r for r in csv_rows("phones.csv") if r.expected in ("valid", "invalid")]
MOBILE_TYPES = {"mobile", "mobile_mvno", "mobile_data_card"}


def phone_expected(row: Row) -> str:
    """CN_MOBILE for a valid mainland mobile/MVNO/data-card number, CN_LANDLINE for a valid mainland
    fixed line, else none (IoT, 400/800/168 and short numbers, HK/Macao/Taiwan, invalid)."""
    if row.get("region") != "CN" or row.expected != "valid":
        return NONE
    kind = row.get("expected_type")
    return "CN_MOBILE" if kind in MOBILE_TYPES else "CN_LANDLINE" if kind == "fixed_line" else NONE


def phone_decide(row: Row) -> tuple[str, str]:
    """Scored with the label 电话; a landline finding may stop before an extension."""
    value = row.value
    return verdict("电话：" + value, value, allow_tail=r"(?:-|转|分机)\d{1,6}"), phone_expected(row)
