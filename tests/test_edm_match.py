"""Exact data match of documents against a generated master list: exact high / medium row counts."""

from __future__ import annotations

import random

import pytest
from edm_people import KEY, Customer, build, customers, mobile, resident_id

from dlpscan.detect.engine import Engine
from dlpscan.edm.evidence import Evidence, EvidenceCollector
from dlpscan.edm.index import EdmIndex
from dlpscan.edm.keys import Digester
from dlpscan.edm.match import match
from dlpscan.model import Block, TableBlock, TextBlock

FILLER = "本段为说明文字，与上文记录无关。" * 25  # 400 characters: beyond the 300-character window


@pytest.fixture(scope="module")
def master(tmp_path_factory) -> tuple[list[Customer], EdmIndex]:
    folder = tmp_path_factory.mktemp("edm")
    people = _distinct_names(customers(400, seed=10))
    build(folder, people)
    return people, EdmIndex(folder / "customers.edm")


def _distinct_names(people: list[Customer]) -> list[Customer]:
    """One customer per name, so a name corroborates its own row only."""
    seen: dict[str, Customer] = {}
    for c in people:
        seen.setdefault(c.name, c)
    return list(seen.values())


def _match(index: EdmIndex, blocks: list[Block]):
    engine, digester = Engine(), Digester(KEY.encode())
    collector = EvidenceCollector(digester, index.header.types)
    for block in blocks:
        collector.add_block(engine.scan(block), block)
    evidence = collector.evidence()
    return match(evidence, index, digester), evidence


def _strangers(n: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    return [(resident_id(rng), mobile(rng)) for _ in range(n)]


def _changed_digit(value: str) -> str:
    return value[:5] + str((int(value[5]) + 1) % 10) + value[6:]


def test_table_rows_count_by_confidence(master):
    people, index = master
    assert len(people) >= 60
    full, id_only, mobile_name, both_ids, new_mobile, new_name, bad_id = (
        people[0:12],
        people[12:20],
        people[20:25],
        people[25:28],
        people[28:32],
        people[32:35],
        people[35:37],
    )
    strangers = _strangers(8, seed=11)
    rows = [(c.name, c.id, c.mobile, c.email) for c in full]
    rows += [("", c.id, "", "") for c in id_only]
    rows += [(c.name, "", c.mobile, "") for c in mobile_name]
    rows += [("", c.id, c.mobile, "") for c in both_ids]
    rows += [("", c.id, m, "") for c, (_, m) in zip(new_mobile, strangers, strict=False)]
    rows += [(other.name, c.id, "", "") for c, other in zip(new_name, people[50:53], strict=True)]
    rows += [(c.name, _changed_digit(c.id), c.mobile, "") for c in bad_id]  # ID no longer valid
    rows += [("张伟", i, m, "") for i, m in strangers]
    rows += [(c.name, c.id, c.mobile, c.email) for c in full[:3]]  # the same people again
    table = TableBlock(("姓名", "身份证号", "手机号", "邮箱"), rows)
    result, _ = _match(index, [table])
    # high: full rows, mobile + name, ID + mobile, mobile + name with a broken ID
    assert result.high == 12 + 5 + 3 + 2
    # medium: ID alone, ID with a stranger's mobile, ID with someone else's name
    assert result.medium == 8 + 4 + 3
    assert len(result.row_keys) == 8 * (result.high + result.medium)


def test_text_window_decides_between_high_and_medium(master):
    people, index = master
    near, far = people[60:66], people[66:69]
    stranger_id, _ = _strangers(1, seed=12)[0]
    text = "".join(f"姓名：{c.name}，身份证号：{c.id}\n" for c in near)
    text += FILLER + "\n"
    for c in far:
        text += f"身份证号：{c.id}\n{FILLER}\n姓名：{c.name}\n{FILLER}\n"
    text += f"姓名：{people[70].name}，身份证号：{stranger_id}\n"
    result, _ = _match(index, [TextBlock(text)])
    assert (result.high, result.medium) == (6, 3)


def test_corroboration_stays_inside_one_table_row(master):
    people, index = master
    a, b = people[80], people[81]
    rows = [("", a.id, ""), (a.name, "", "")]  # a's name on the next row only
    rows += [(b.name, b.id, "")]
    result, _ = _match(index, [TableBlock(("姓名", "身份证号", "手机号"), rows)])
    assert (result.high, result.medium) == (1, 1)
    c = people[82]  # ID and mobile in the first row of two different tables (sheets)
    sheets = [TableBlock(("身份证号",), [(c.id,)]), TableBlock(("手机号",), [(c.mobile,)])]
    result, _ = _match(index, sheets)
    assert (result.high, result.medium) == (0, 1)


def test_documents_without_customers_match_nothing(master):
    _, index = master
    rows = [("王芳", i, m) for i, m in _strangers(30, seed=13)]
    result, evidence = _match(index, [TableBlock(("姓名", "身份证号", "手机号"), rows)])
    assert len(evidence) == 90 and (result.high, result.medium, result.row_keys) == (0, 0, b"")


def test_evidence_survives_storage_and_a_rebuilt_index(master, tmp_path):
    """What the store keeps is enough to apply a rebuilt index: the same answer as reading again."""
    people, index = master
    newcomers = _distinct_names(customers(60, seed=14))
    newcomers = [c for c in newcomers if c.name not in {p.name for p in people}][:10]
    rows = [(c.name, c.id, c.mobile) for c in people[90:95] + newcomers]
    rows += [("", c.id, "") for c in newcomers[:4]]
    blocks: list[Block] = [TableBlock(("姓名", "身份证号", "手机号"), rows)]
    before, evidence = _match(index, blocks)
    assert (before.high, before.medium) == (5, 0)
    stored = Evidence.from_bytes(evidence.to_bytes())

    rebuilt = list(reversed(people[:300])) + newcomers  # rows reordered, some dropped, some added
    build(tmp_path, rebuilt)
    new_index = EdmIndex(tmp_path / "customers.edm")
    assert new_index.header.version != index.header.version
    again = match(stored, new_index, Digester(KEY.encode()))
    fresh, _ = _match(new_index, blocks)
    assert (again.high, again.medium, again.row_keys) == (fresh.high, fresh.medium, fresh.row_keys)
    assert (again.high, again.medium) == (15, 0)
    # row keys survive the rebuild: the five old customers keep theirs
    old = {before.row_keys[i : i + 8] for i in range(0, len(before.row_keys), 8)}
    new = {again.row_keys[i : i + 8] for i in range(0, len(again.row_keys), 8)}
    assert old <= new


def test_compiled_evidence_filter_keeps_what_the_python_one_keeps():
    from dlpscan.detect import compiled
    from dlpscan.detect.scoring import Finding
    from dlpscan.edm.evidence import _kept

    core = compiled.core()
    if core is None:
        pytest.skip("the compiled module is not built (or DLPSCAN_PURE_PYTHON is set)")
    rng = random.Random(4)
    types = ["CN_RESIDENT_ID", "CN_MOBILE", "CN_NAME", "CN_ADDRESS"]
    findings = [
        Finding(
            rng.choice(types), str(i), 3 * i, 3 * i + 2, 0.9,
            masked=rng.random() < 0.2, damaged=rng.random() < 0.1, record=i // 4,
        )
        for i in range(500)
    ]  # fmt: skip
    codes = {"CN_RESIDENT_ID": 0, "CN_MOBILE": 1, "CN_NAME": 2}
    for by_record in (True, False):
        python: tuple[list, list] = ([], [])
        fast: tuple[list, list] = ([], [])
        kept = _kept(findings, codes, *python, by_record)
        assert core.edm_kept(findings, codes, *fast, by_record) == kept
        assert fast == python and 200 < kept < 400
        assert {code for code, _ in python[0]} == {0, 1, 2}
