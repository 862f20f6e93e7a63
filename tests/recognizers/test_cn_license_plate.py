"""CN_LICENSE_PLATE: published plate vectors, plus the traps of the reference.

Policy (cn-pii-reference §7): province abbreviation + office letter + 5 characters, or the
8-character new-energy plates (energy letter first or last); scored in a neutral context.
"""

from __future__ import annotations

import pytest
from _external import (
    NONE,
    check,
    csv_rows,
    decide_mention,
    engine,
    keys,
    masked_output_params,
    mentions,
    params,
    stale,
    verdict,
)

ENTITY = "CN_LICENSE_PLATE"
ROWS = [r for r in csv_rows("plates.csv") if r.expected in ("valid", "invalid")]


def decide(row) -> tuple[str, str]:
    return verdict(row.value, row.value), ENTITY if row.expected == "valid" else NONE


@pytest.mark.parametrize("row", params(ROWS))
def test_external_vector(row):
    check(row, *decide(row))


def test_no_stale_disagreements():
    assert stale({"plates.csv"}, keys(ROWS)) == []


def spans(text: str) -> list[tuple]:
    return [(f.entity_type, f.value, f.start, f.end) for f in engine().scan_text(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("车牌京A12345", [(ENTITY, "京A12345", 2, 9)]),
        ("车牌号：粤B·12345", [(ENTITY, "粤B12345", 4, 12)]),
        # new-energy plates, energy letter first or last
        ("粤B·D12345", [(ENTITY, "粤BD12345", 0, 9)]),
        ("京AD12345", [(ENTITY, "京AD12345", 0, 8)]),
        ("沪A·12345D", [(ENTITY, "沪A12345D", 0, 9)]),
        # special suffixes
        ("京L1234学", [(ENTITY, "京L1234学", 0, 7)]),
        ("粤Z1234港", [(ENTITY, "粤Z1234港", 0, 7)]),
        # building names, two province characters, longer tokens
        ("京A座", []),
        ("北京A座3层", []),
        ("北京A12345", [(ENTITY, "京A12345", 1, 8)]),
        ("浙苏H6F681", [(ENTITY, "苏H6F681", 1, 8)]),
        ("京A123456", []),
        ("京I12345", []),
        # masked plates are not plates
        ("京A***45", []),
    ],
)
def test_traps(text, expected):
    assert spans(text) == expected


MENTIONS = mentions("plate", "unmasked_input")


@pytest.mark.parametrize("row", params(MENTIONS))
def test_text_case(row):
    check(row, *decide_mention(row, ENTITY))


@pytest.mark.parametrize("text", masked_output_params())
def test_masked_output_is_never_exposed(text):
    assert not [f for f in engine().scan_text(text) if f.entity_type == ENTITY and not f.masked]


def test_no_stale_text_case_disagreements():
    assert stale({"text_cases.jsonl"}, keys(MENTIONS), {"plate in text"}) == []
