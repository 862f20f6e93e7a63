"""Policies: the shipped YAML files, validation messages, and exact decisions on hand-built results."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from dlpscan.model import CategoryStats, EntityStats, FileResult, MaskedStats, RuleHit, Status
from dlpscan.policy import (
    PolicyError,
    builtin_policies,
    check_policy_file,
    evaluate,
    evaluate_scope,
    load_policy,
)
from dlpscan.resources import data_dir

SHIPPED = ["bank", "courier", "default", "judicial-2017", "telecom"]


def result(records: int = 0, notes=None, masked=None, **distinct: int) -> FileResult:
    return FileResult(
        path="t.xlsx",
        status=Status.SCANNED,
        entities={t: EntityStats(distinct=n, total=n) for t, n in distinct.items()},
        records=records,
        notes=notes or {},
        masked=masked or {},
    )


def decide(policy: str, res: FileResult) -> tuple[bool, str, list[str]]:
    flagged, severity, hits = evaluate(load_policy(policy), res)
    assert all(h.policy == policy and h.scope == "file" for h in hits)
    return flagged, severity, [h.rule for h in hits]


def write(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(PolicyError) as info:
        check_policy_file(path)
    return str(info.value)


# --- shipped policies and loading ---


def test_builtin_policies_are_listed():
    assert builtin_policies() == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_policy_loads(name):
    policy = load_policy(name)
    source = data_dir("policies") / f"{name}.yaml"
    assert policy.name == name
    assert policy.version == hashlib.sha256(source.read_bytes()).hexdigest()[:12]
    assert policy.description
    assert policy.rules
    assert policy.file_rules


def test_load_by_path_and_from_user_folder(tmp_path):
    text = "name: mine\nrules:\n  - {name: any-record, severity: low, min_records: 1}\n"
    path = write(tmp_path, text, "mine.yaml")
    assert load_policy(str(path)).name == "mine"
    assert load_policy("mine", extra_dirs=[tmp_path]).source == path


def test_user_folder_replaces_a_shipped_policy_of_the_same_name(tmp_path):
    write(tmp_path, "name: default\nrules:\n  - {name: r, severity: low, min_records: 1}\n", "default.yaml")
    assert [r.name for r in load_policy("default", extra_dirs=[tmp_path]).rules] == ["r"]


def test_unknown_policy_name_suggests_the_closest():
    with pytest.raises(PolicyError) as info:
        load_policy("defualt")
    assert str(info.value) == (
        "unknown policy 'defualt' (did you mean 'default'?): "
        "not a file and not one of bank, courier, default, judicial-2017, telecom"
    )


def test_data_dir_finds_the_checkout_folders():
    assert (data_dir("policies") / "default.yaml").is_file()
    assert data_dir("recognizers").is_dir()
    with pytest.raises(ValueError):
        data_dir("models")


# --- validation messages ---


def test_broken_yaml(tmp_path):
    path = write(tmp_path, "name: x\nrules:\n  - name: a\n    severity: high\n   min_records: 5\n")
    assert error_of(path) == (
        f"{path}: line 5, column 4: YAML syntax error: "
        "expected <block end>, but found '<block mapping start>' (check the indentation)"
    )


def test_unknown_key(tmp_path):
    path = write(tmp_path, "name: x\nrules:\n  - name: bulk\n    severity: high\n    min_record: 50\n")
    assert error_of(path) == (
        f"{path}: rules[0] (bulk).min_record: unknown key 'min_record' (did you mean 'min_records'?)"
    )


def test_unknown_entity_type(tmp_path):
    path = write(
        tmp_path,
        "name: x\nrules:\n  - name: ids\n    severity: high\n    min_distinct: {CN_RESIDNT_ID: 50}\n",
    )
    assert error_of(path) == (
        f"{path}: rules[0] (ids).min_distinct.CN_RESIDNT_ID: "
        "unknown entity type 'CN_RESIDNT_ID' (did you mean 'CN_RESIDENT_ID'?)"
    )


def test_bad_severity(tmp_path):
    path = write(tmp_path, "name: x\nrules:\n  - name: bulk\n    severity: severe\n    min_records: 50\n")
    assert error_of(path) == (
        f"{path}: rules[0] (bulk).severity: "
        "'severe' is not allowed; use 'low', 'medium', 'high' or 'critical'"
    )


def test_several_problems_in_one_line(tmp_path):
    text = (
        "name: x\nrules:\n"
        "  - name: two\n    severity: low\n    scope: [folder, everywhere]\n    min_records: 0\n"
        "    weighted_sum: {at_least: 1, categories: {a: {threshold: 5, count: [record, note:minor]}}}\n"
    )
    message = error_of(write(tmp_path, text))
    assert "\n" not in message
    assert message.endswith(
        "4 problems: rules[0] (two).scope[1]: 'everywhere' is not allowed; use 'file', 'folder' or 'owner'; "
        "rules[0] (two).min_records: must be ≥ 1, got 0; "
        "rules[0] (two).weighted_sum.categories.a.count[0]: unknown count source 'record' "
        "(did you mean 'records'?); use 'records', 'edm_rows', an entity type, 'category:<legal category>', 'note:<code>', "
        "'records:<data category>' or 'people:<data category>'; "
        "rules[0] (two).weighted_sum.categories.a.count[1]: unknown note 'minor' (did you mean 'minors'?); "
        "known notes: minors, card_with_cvv_or_expiry, excel_float_damaged, health_records, "
        "lodging_records, call_records, transaction_records, ocr_id_cards, ocr_bank_cards"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the file is empty; a policy needs 'name' and 'rules'"),
        ("- a\n", "the top level must be a mapping with 'name' and 'rules', not a list"),
        ("name: x\n", "rules: required key is missing"),
        ("name: x\nrules: []\n", "rules: must not be empty"),
        (
            "name: x\nrules:\n  - {name: a, severity: low, min_records: 1, min_records: 2}\n",
            "line 3, column 46: YAML syntax error: key 'min_records' is given twice",
        ),
        (
            "name: x\nrules:\n  - {name: a, severity: low, min_records: 1}\n"
            "  - {name: a, severity: low, min_records: 2}\n",
            "two rules are named 'a'; rule names must be unique",
        ),
        (
            "name: x\nrules:\n  - {name: a, severity: low}\n",
            "rules[0] (a): no condition; give at least one of min_records, min_edm_rows, min_distinct, "
            "min_distinct_any, weighted_sum, min_masked_noncompliant, requires_notes, min_notes",
        ),
        (
            "name: x\nrules:\n  - {name: a, severity: low, scope: folder, requires_notes: [minors]}\n",
            "rules[0] (a): requires_notes: only for scope 'file' "
            "(folder and owner totals have no notes or masked counts)",
        ),
        (
            "name: x\nrules:\n  - {name: a, severity: low, scope: owner, flag: false, min_records: 1}\n",
            "rules[0] (a): 'flag: false' only works for scope 'file' (folder and owner hits are findings)",
        ),
        (
            "name: x\nrules:\n  - name: a\n    severity: low\n    scope: [file, folder]\n"
            "    weighted_sum: {at_least: 1, categories: {c: {threshold: 9, count: note:call_records}}}\n",
            "rules[0] (a): weighted_sum counts only notes, which are 0 in folder and owner totals; "
            "use scope 'file'",
        ),
        (
            "name: x\nrules:\n  - {name: a, severity: low, flag: 'yes', min_records: '5'}\n",
            "2 problems: rules[0] (a).flag: must be true or false, not text 'yes'; "
            "rules[0] (a).min_records: must be a whole number, not text '5'",
        ),
        (
            "name: Big Bank\nrules:\n  - {name: a, severity: low, min_records: 1}\n",
            "name: 'Big Bank' is not a valid name (lower-case letters, digits, '.', '_' and '-')",
        ),
    ],
)
def test_validation_messages(tmp_path, text, expected):
    path = write(tmp_path, text)
    assert error_of(path) == f"{path}: {expected}"


def test_anchors_and_merge_keys_may_override(tmp_path):
    text = (
        "name: x\nrules:\n"
        "  - {name: a, severity: low, min_distinct_any: &base {types: [CN_MOBILE], count: 5}}\n"
        "  - {name: b, severity: low, min_distinct_any: {<<: *base, count: 50}}\n"
    )
    policy = check_policy_file(write(tmp_path, text))
    assert [(r.name, r.min_distinct_any[0].count) for r in policy.rules] == [("a", 5), ("b", 50)]


def test_unreadable_file(tmp_path):
    path = tmp_path / "absent.yaml"
    assert error_of(path) == f"{path}: cannot read the file: No such file or directory"


# --- per-file decisions ---

BANK_LIST = dict(records=60, CN_BANK_CARD=60, CN_RESIDENT_ID=60, CN_NAME=60, CN_MOBILE=60)
CV = dict(records=1, CN_RESIDENT_ID=1, CN_MOBILE=1, EMAIL_ADDRESS=1, CN_NAME=1, CN_ADDRESS=1)


def test_bank_list_under_default():
    assert decide("default", result(**BANK_LIST)) == (
        True,
        "critical",
        [
            "some-records",
            "some-direct-identifiers",
            "bulk-records",
            "bulk-direct-identifiers",
            "tenth-of-serious",
            "serious-mixed",
        ],
    )


def test_bank_list_under_bank():
    assert decide("bank", result(**BANK_LIST)) == (
        True,
        "high",
        [
            "c2-card-holders-bulk",
            "c2-identifiers-bulk",
            "c2-records-bulk",
            "c2-some-cards",
            "c2-some-records",
        ],
    )


def test_card_with_cvv_is_c3_in_any_quantity():
    res = result(records=1, CN_BANK_CARD=1, CN_NAME=1, notes={"card_with_cvv_or_expiry": 1})
    assert decide("bank", res) == (
        True,
        "critical",
        ["c3-authentication-data", "c2-some-cards", "c2-some-records"],
    )
    assert decide("default", res) == (
        True,
        "critical",
        ["some-records", "some-direct-identifiers", "card-authentication-data"],
    )


CONTRACT = dict(records=3, CN_RESIDENT_ID=3, CN_BANK_CARD=3, CN_NAME=3, CN_MOBILE=3)


@pytest.mark.parametrize("policy", SHIPPED)
@pytest.mark.parametrize("document", [CV, CONTRACT], ids=["cv", "contract"])
def test_a_cv_or_contract_is_never_flagged(policy, document):
    flagged, severity, _ = decide(policy, result(**document))
    assert (flagged, severity) == (False, "none" if policy == "judicial-2017" else "low")


def test_cv_rules_under_default():
    assert decide("default", result(**CV)) == (False, "low", ["some-records", "some-direct-identifiers"])


def test_nothing_found_is_severity_none():
    assert decide("default", result()) == (False, "none", [])


def test_bulk_starts_at_50_distinct_of_one_direct_type():
    assert decide("default", result(CN_MOBILE=49, EMAIL_ADDRESS=49))[0] is False
    assert decide("default", result(CN_MOBILE=50)) == (
        True,
        "medium",
        ["some-direct-identifiers", "bulk-direct-identifiers"],
    )


def test_records_need_unmasked_values_behind_them():
    # 60 rows tying identifiers together, but every identifier masked: no bulk exposure.
    masked = {"CN_MOBILE": MaskedStats(total=60), "CN_RESIDENT_ID": MaskedStats(total=60)}
    assert decide("default", result(records=60, masked=masked)) == (False, "low", ["some-records"])
    assert decide("default", result(records=60, CN_NAME=55, CN_ADDRESS=60)) == (
        True,
        "medium",
        ["some-records", "bulk-records"],
    )


MASKED_WAYBILLS = {"CN_MOBILE": MaskedStats(total=200, noncompliant=200), "CN_NAME": MaskedStats(total=200)}


def test_masked_list_is_not_flagged_by_default():
    assert decide("default", result(masked=MASKED_WAYBILLS)) == (False, "none", [])


def test_courier_flags_non_compliant_masking():
    assert decide("courier", result(masked=MASKED_WAYBILLS)) == (True, "medium", ["non-compliant-masking"])
    compliant = {"CN_MOBILE": MaskedStats(total=200, noncompliant=0)}
    assert decide("courier", result(masked=compliant)) == (False, "none", [])
    few = {"CN_MOBILE": MaskedStats(total=49, noncompliant=49)}
    assert decide("courier", result(masked=few)) == (False, "none", [])


def test_courier_unmasked_waybills():
    waybills = dict(CN_MOBILE=80, CN_NAME=80, CN_ADDRESS=80)
    assert decide("courier", result(records=80, **waybills)) == (
        True,
        "high",
        ["unmasked-phones-bulk", "waybill-records-bulk", "some-waybill-data"],
    )
    big = dict(CN_MOBILE=500, CN_NAME=500, CN_ADDRESS=480)
    assert decide("courier", result(records=500, **big))[1:] == (
        "critical",
        [
            "unmasked-waybills-serious-500",
            "unmasked-phones-bulk",
            "waybill-records-bulk",
            "some-waybill-data",
        ],
    )


def test_telecom_subscriber_list_and_call_records():
    subscribers = dict(CN_MOBILE=100, CN_RESIDENT_ID=100, CN_NAME=100)
    assert decide("telecom", result(records=100, **subscribers)) == (
        True,
        "high",
        ["subscriber-list-bulk", "phone-numbers-bulk", "records-bulk", "some-subscriber-data"],
    )
    calls = result(records=600, CN_MOBILE=40)
    calls.categories = {"call_records": CategoryStats(people=40, records=600, rows=600)}
    assert decide("telecom", calls) == (
        True,
        "critical",
        ["call-records-serious-500", "serious-mixed", "call-records-bulk", "some-subscriber-data"],
    )


def test_minors_under_14():
    assert decide("default", result(records=9, CN_RESIDENT_ID=9, notes={"minors": 9}))[0] is False
    assert decide("default", result(records=10, CN_RESIDENT_ID=10, notes={"minors": 10})) == (
        True,
        "medium",
        ["some-records", "some-direct-identifiers", "minors-bulk"],
    )


# --- judicial-2017 thresholds ---


def test_judicial_50_bank_cards_is_serious():
    assert decide("judicial-2017", result(CN_BANK_CARD=50)) == (
        True,
        "high",
        ["serious-property-50", "serious-mixed", "insider-serious-half", "tenth-of-serious"],
    )


def test_judicial_49_bank_cards_is_not_serious():
    assert decide("judicial-2017", result(CN_BANK_CARD=49)) == (
        True,
        "medium",
        ["insider-serious-half", "tenth-of-serious"],
    )


def test_judicial_500_bank_cards_is_especially_serious():
    assert decide("judicial-2017", result(CN_BANK_CARD=500)) == (
        True,
        "critical",
        [
            "serious-property-50",
            "serious-mixed",
            "especially-serious-property-500",
            "especially-serious-mixed",
            "insider-serious-half",
            "insider-especially-serious-half",
            "tenth-of-serious",
        ],
    )


def test_judicial_mixed_formula():
    # 30/50 + 3000/5000 = 1.2: no single category is serious, the sum is.
    assert decide("judicial-2017", result(CN_BANK_CARD=30, CN_RESIDENT_ID=3000)) == (
        True,
        "high",
        ["serious-mixed", "insider-serious-half", "tenth-of-serious"],
    )


def test_judicial_counts_people_once_per_category_and_exactly_at_the_boundary():
    # 3,000 people with ID and mobile are 3,000 in "other": 20/50 + 3000/5000 = 1.0 exactly.
    people = dict(records=3000, CN_RESIDENT_ID=3000, CN_MOBILE=3000)
    assert "serious-mixed" in decide("judicial-2017", result(CN_BANK_CARD=20, **people))[2]
    assert "serious-mixed" not in decide("judicial-2017", result(CN_BANK_CARD=19, **people))[2]


def test_judicial_other_and_sensitive_classes():
    assert decide("judicial-2017", result(CN_MOBILE=5000))[2][:2] == ["serious-other-5000", "serious-mixed"]
    assert decide("judicial-2017", result(CN_MOBILE=4999))[:2] == (True, "medium")
    lodging = result(records=500, CN_RESIDENT_ID=500)
    lodging.categories = {"lodging": CategoryStats(people=500, records=500, rows=500)}
    assert decide("judicial-2017", lodging)[2][:2] == ["serious-lodging-500", "serious-mixed"]
    # a licence plate alone is other personal information; whereabouts need a time and a place
    assert decide("judicial-2017", result(CN_LICENSE_PLATE=50))[:2] == (False, "none")
    assert decide("judicial-2017", result(CN_NAME=9000))[:2] == (False, "none")


def test_judicial_small_file_is_not_flagged():
    assert decide("judicial-2017", result(CN_BANK_CARD=4, records=4, CN_NAME=4)) == (False, "none", [])


# --- folder and owner totals ---


def test_folder_of_many_small_files_is_caught():
    policy = load_policy("default")
    one_file = result(records=30, CN_RESIDENT_ID=30, CN_MOBILE=30, CN_NAME=30)
    assert evaluate(policy, one_file)[:2] == (False, "low")
    per_type = {"CN_RESIDENT_ID": 1200, "CN_MOBILE": 1200, "CN_NAME": 1150}
    hits = evaluate_scope(policy, "folder", "shares/hr", 1200, per_type)
    assert hits == [
        RuleHit("default", "bulk-direct-identifiers", "medium", "folder"),
        RuleHit("default", "cumulative-bulk", "medium", "folder"),
        RuleHit("default", "tenth-of-serious", "high", "folder"),
    ]


def test_owner_totals_below_bulk_are_quiet():
    assert evaluate_scope(load_policy("default"), "owner", "alice", 49, {"CN_MOBILE": 49}) == []


def test_judicial_thresholds_apply_cumulatively():
    hits = evaluate_scope(
        load_policy("judicial-2017"), "owner", "bob", 60, {"CN_BANK_CARD": 60, "CN_NAME": 60}
    )
    assert [h.rule for h in hits] == [
        "serious-property-50",
        "serious-mixed",
        "insider-serious-half",
        "tenth-of-serious",
    ]
    assert {h.scope for h in hits} == {"owner"}


def test_scope_must_be_folder_or_owner():
    with pytest.raises(ValueError):
        evaluate_scope(load_policy("default"), "file", "x", 1, {})
