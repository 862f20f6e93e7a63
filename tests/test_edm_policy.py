"""Policies on exact data match counts: `min_edm_rows` and the `edm_rows` count source."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlpscan.model import EdmMatch, EntityStats, FileResult, Status
from dlpscan.policy import PolicyError, check_policy_file, evaluate, evaluate_scope, load_policy

POLICY = """\
name: customers
rules:
  - name: some-customers
    severity: medium
    min_edm_rows: 5
  - name: many-customers
    severity: high
    scope: [file, folder]
    min_edm_rows: 50
  - name: other-5000
    severity: critical
    weighted_sum:
      at_least: 1
      categories:
        other: {threshold: 100, count: [records, CN_RESIDENT_ID, edm_rows]}
"""


def _result(ids: int, high: int, medium: int | None) -> FileResult:
    edm = None if medium is None else EdmMatch("customers", "v1", "k1", high=high, medium=medium)
    entities = {"CN_RESIDENT_ID": EntityStats(distinct=ids, total=ids)} if ids else {}
    return FileResult("t.csv", Status.SCANNED, entities=entities, edm=edm)


@pytest.fixture
def policy(tmp_path: Path):
    path = tmp_path / "customers.yaml"
    path.write_text(POLICY, encoding="utf-8")
    return check_policy_file(path)


@pytest.mark.parametrize(
    ("ids", "high", "medium", "rules"),
    [
        (40, 0, None, []),  # scanned without an index: no EDM rows
        (40, 2, 2, []),
        (40, 3, 2, ["some-customers"]),
        (40, 50, 0, ["some-customers", "many-customers"]),
        (10, 60, 40, ["some-customers", "many-customers", "other-5000"]),  # EDM rows count as people
        (100, 0, 0, ["other-5000"]),
    ],
)
def test_min_edm_rows_and_the_edm_rows_source(policy, ids, high, medium, rules):
    flagged, _, hits = evaluate(policy, _result(ids, high, medium))
    assert [h.rule for h in hits] == rules and flagged is bool(rules)


def test_cumulative_edm_rows(policy):
    assert [h.rule for h in evaluate_scope(policy, "folder", "/share", 10, {}, edm_rows=49)] == []
    assert [h.rule for h in evaluate_scope(policy, "folder", "/share", 10, {}, edm_rows=50)] == [
        "many-customers"
    ]


def test_which_policies_depend_on_edm(policy):
    assert policy.uses_edm
    assert not any(load_policy(name).uses_edm for name in ("default", "judicial-2017", "bank"))


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("min_edm_rows: 0", "min_edm_rows: must be ≥ 1, got 0"),
        ("min_edm_rows: many", "min_edm_rows: must be a whole number, not text 'many'"),
        (
            "weighted_sum: {at_least: 1, categories: {a: {threshold: 5, count: [edm_row]}}}",
            "weighted_sum.categories.a.count[0]: unknown count source 'edm_row' (did you mean 'edm_rows'?)",
        ),
    ],
)
def test_min_edm_rows_is_validated(tmp_path, rule, expected):
    path = tmp_path / "p.yaml"
    path.write_text(f"name: x\nrules:\n  - name: a\n    severity: low\n    {rule}\n", encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        check_policy_file(path)
    assert f"rules[0] (a).{expected}" in str(info.value)
