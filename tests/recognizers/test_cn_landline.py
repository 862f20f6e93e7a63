"""CN_LANDLINE: published fixed-line vectors under our policy, plus the traps of the reference.

Policy (cn-pii-reference §3): area code from the table (with its trunk 0, or after +86) and a
7-8 digit local number that never starts with 0 or 1; an extension is not part of the number
(the finding may stop before `-123` / `转123`). Vectors are scored with the label 电话.
"""

from __future__ import annotations

import pytest
from _external import PHONE_ROWS, check, engine, params, phone_decide

ENTITY = "CN_LANDLINE"
LANDLINE_ROWS = [r for r in PHONE_ROWS if r.get("expected_type") == "fixed_line"]


@pytest.mark.parametrize("row", params(LANDLINE_ROWS))
def test_external_vector(row):
    check(row, *phone_decide(row))


def spans(text: str) -> list[tuple]:
    return [(f.entity_type, f.value, f.start, f.end, f.masked) for f in engine().scan_text(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("010-65123456", [(ENTITY, "01065123456", 0, 12, False)]),
        ("(010)65123456", [(ENTITY, "01065123456", 0, 13, False)]),
        ("（010）6512 3456", [(ENTITY, "01065123456", 0, 14, False)]),
        ("电话0571-87654321", [(ENTITY, "057187654321", 2, 15, False)]),
        # extension dropped from the value
        ("0755-8888 8888 转 8001", [(ENTITY, "075588888888", 0, 21, False)]),
        # country code: the trunk 0 comes back
        ("+86 10 6512 3456", [(ENTITY, "01065123456", 0, 16, False)]),
        ("+86-755-8888-8888", [(ENTITY, "075588888888", 0, 17, False)]),
        # 7-digit local number in a 2-digit-area city: only with a label
        ("020-9999999", []),
        # service and business numbers, dates, postcodes
        ("400-860-8608", []),
        ("800-820-8820", []),
        ("95588", []),
        ("2023-10-10", []),
        ("邮编 310000", []),
        # masked
        ("010-6512****", [(ENTITY, "010-6512****", 0, 12, True)]),
    ],
)
def test_traps(text, expected):
    assert spans(text) == expected
