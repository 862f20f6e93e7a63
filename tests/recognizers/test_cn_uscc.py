"""CN_USCC: published unified social credit codes, plus the traps of the reference.

Policy (cn-pii-reference §6): 18 characters from the GB 32100 alphabet with the mod-31 check
character; codes led by A, N or Y are valid. An organisation code needs no label, so the vectors
are scored in a neutral context.
"""

from __future__ import annotations

import pytest
from _external import NONE, check, csv_rows, engine, keys, params, stale, verdict

ENTITY = "CN_USCC"
ROWS = [r for r in csv_rows("uscc.csv") if r.expected in ("valid", "invalid")]


def decide(row) -> tuple[str, str]:
    return verdict(row.value, row.value), ENTITY if row.expected == "valid" else NONE


@pytest.mark.parametrize("row", params(ROWS))
def test_external_vector(row):
    check(row, *decide(row))


def test_no_stale_disagreements():
    assert stale({"uscc.csv"}, keys(ROWS)) == []


def spans(text: str) -> list[tuple]:
    return [(f.entity_type, f.value, f.start, f.end) for f in engine().scan_text(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("91110000600037341L", [(ENTITY, "91110000600037341L", 0, 18)]),
        ("统一社会信用代码：91110000600037341L", [(ENTITY, "91110000600037341L", 9, 27)]),
        # codes are printed in upper case; a lower-case code is not matched
        ("税号 91110000600037341l", []),
        # A / N / Y registration authorities (python-stdnum rejects these)
        ("A1110000MA000001XB", [(ENTITY, "A1110000MA000001XB", 0, 18)]),
        ("N2110108MA00AB12CK", [(ENTITY, "N2110108MA00AB12CK", 0, 18)]),
        ("Y1110000MA000000XM", [(ENTITY, "Y1110000MA000000XM", 0, 18)]),
        # wrong check character, forbidden letters, inside a longer token
        ("91110000600037341N", []),
        ("9111000060003IOZSV", []),
        ("X91110000600037341L", []),
        # all digits: a trace id passes the check once in 31 times, so it needs a label or header
        ("trace=913101203509708598", []),
        ("913101203509708598", []),
        ("纳税人识别号：913101203509708598", [(ENTITY, "913101203509708598", 7, 25)]),
        # an ID number fails the USCC check and stays an ID
        ("11010519491231002X", []),
        ("身份证号：11010519491231002X", [("CN_RESIDENT_ID", "11010519491231002X", 5, 23)]),
    ],
)
def test_traps(text, expected):
    assert spans(text) == expected


def test_uscc_is_not_a_direct_identifier():
    """No companion name is taken from a line that holds only a USCC."""
    assert [f.entity_type for f in engine().scan_text("张三 91110000600037341L")] == [ENTITY]
