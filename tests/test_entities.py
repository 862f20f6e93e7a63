"""The entity-type model: facts read from the recognizer YAML, and a user-defined type that flows
through every layer (CSV columns, people counts, exposure, policies, reports) with no code change."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dlpscan.detect.registry import DefinitionError, entity_types, load_definitions
from dlpscan.entities import EntityType, EntityTypes, MaskRule
from dlpscan.policy import PolicyError, check_policy_file

ROOT = Path(__file__).resolve().parents[1]

EMPLOYEE_TYPE = """\
entity: ACME_EMPLOYEE_NO
description: ACME's employee number, GH- and six digits.
label: {en: Employee no., zh: 工号}
order: 25
person_key: true
mask: {style: ends, keep_start: 3, keep_end: 1}
normaliser: upper_alnum
patterns:
  - name: employee_no
    regex: '(?<![0-9A-Za-z])GH-\\d{6}(?![0-9A-Za-z])'
    score: 0.9
headers: [工号, employee]
"""

EMPLOYEE_POLICY = """\
name: acme
rules:
  - name: staff-list
    severity: high
    scope: [file, folder]
    min_distinct: {ACME_EMPLOYEE_NO: 20}
"""


@pytest.mark.parametrize(
    ("entity", "value", "masked"),
    [
        ("CN_RESIDENT_ID", "11010119900307123X", "110101********123X"),
        ("CN_MOBILE", "13812345678", "138****5678"),
        ("CN_BANK_CARD", "6222021234561234", "6222 **** **** 1234"),
        ("CN_BANK_CARD", "6222021234567890123", "6222 **** **** **** 0123"),
        ("CN_LANDLINE", "01065123456", "0106*****56"),
        ("CN_NAME", "张三丰", "张**"),
        ("EMAIL_ADDRESS", "wang@example.com", "w***@example.com"),
        ("CN_ADDRESS", "北京市朝阳区建国路88号", "北京市朝阳区***"),
        ("CN_USCC", "91110000600037341L", "9111************1L"),
        ("UNKNOWN", "abcdef", "a****f"),
    ],
)
def test_mask_comes_from_the_type(entity: str, value: str, masked: str) -> None:
    assert entity_types().of(entity).mask(value) == masked


def test_shipped_types_say_what_they_are() -> None:
    types = entity_types()
    assert list(types)[:4] == ["CN_RESIDENT_ID", "CN_MOBILE", "CN_LANDLINE", "CN_BANK_CARD"]
    assert set(types.names(person_key=True)) == {
        "CN_RESIDENT_ID",
        "CN_MOBILE",
        "CN_BANK_CARD",
        "CN_PASSPORT",
        "CN_HK_MACAU_PERMIT",
        "EMAIL_ADDRESS",
    }
    assert types.names(personal_data=False) == ("CN_USCC",)
    assert types.names(legal_category="property") == ("CN_BANK_CARD",)
    assert types.names(fingerprint=False) == ("CN_ADDRESS",)
    assert types["CN_MOBILE"].mask_rule.min_hidden == 6
    assert types["CN_BANK_CARD"].label("zh") == "银行卡号"
    # a landline is shared by a household, a name by namesakes: neither counts people
    assert types.people({"CN_LANDLINE": 900, "CN_NAME": 800, "CN_MOBILE": 40}) == 40


def test_unknown_type_gets_neutral_defaults() -> None:
    t = EntityTypes([]).of("OLD_TYPE")
    assert (t.label(), t.person_key, t.direct_identifier, t.mask("abcdef")) == (
        "OLD_TYPE",
        False,
        False,
        "a****f",
    )


def test_types_are_in_declared_order() -> None:
    types = EntityTypes([EntityType("B", order=2), EntityType("A", order=2), EntityType("C", order=1)])
    assert list(types) == ["C", "A", "B"]
    assert MaskRule("card").apply("6222021234561234") == "6222 **** **** 1234"


def test_a_bad_type_field_names_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text(EMPLOYEE_TYPE.replace("order: 25", "legal_category: gossip"), "utf-8")
    with pytest.raises(DefinitionError, match=r"x\.yaml: legal_category: .*unknown legal category 'gossip'"):
        load_definitions([tmp_path])


def test_policy_may_name_a_user_type_only_when_it_is_defined(tmp_path: Path) -> None:
    (tmp_path / "types").mkdir()
    (tmp_path / "types" / "employee.yaml").write_text(EMPLOYEE_TYPE, "utf-8")
    policy = tmp_path / "acme.yaml"
    policy.write_text(EMPLOYEE_POLICY, "utf-8")
    with pytest.raises(PolicyError, match="unknown entity type 'ACME_EMPLOYEE_NO'"):
        check_policy_file(policy)
    assert check_policy_file(policy, entity_types([tmp_path / "types"])).name == "acme"


def test_category_source_counts_every_type_of_that_legal_category(tmp_path: Path) -> None:
    (tmp_path / "types").mkdir()
    (tmp_path / "types" / "employee.yaml").write_text(
        EMPLOYEE_TYPE.replace("order: 25", "legal_category: property"), "utf-8"
    )
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "name: p\nrules:\n  - name: r\n    severity: high\n"
        "    weighted_sum: {at_least: 1, categories: {property: {threshold: 50, count: ['category:property']}}}\n",
        "utf-8",
    )
    rule = check_policy_file(policy, entity_types([tmp_path / "types"])).rules[0]
    assert rule.weighted_sum.categories["property"].count == ["CN_BANK_CARD", "ACME_EMPLOYEE_NO"]
    policy.write_text(policy.read_text("utf-8").replace("category:property", "category:wealth"), "utf-8")
    with pytest.raises(PolicyError, match="unknown legal category 'wealth'"):
        check_policy_file(policy)


def test_a_type_defined_only_in_a_user_folder_flows_through_every_layer(tmp_path: Path) -> None:
    """CSV column, people count and folder exposure, a policy rule, and the report's label."""
    types_dir, policy_dir, share = tmp_path / "types", tmp_path / "policies", tmp_path / "share" / "hr"
    for d in (types_dir, policy_dir, share):
        d.mkdir(parents=True)
    (types_dir / "employee.yaml").write_text(EMPLOYEE_TYPE, "utf-8")
    (policy_dir / "acme.yaml").write_text(EMPLOYEE_POLICY, "utf-8")
    with (share / "staff.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["序号", "工号", "部门"])
        w.writerows([i, f"GH-{100000 + 7 * i}", "仓储部"] for i in range(30))
    config = tmp_path / "dlpscan.toml"
    db = tmp_path / "s.sqlite"
    config.write_text(
        f'db = "{db}"\npolicy = "acme"\nrecognizer_dirs = ["{types_dir}"]\npolicy_dirs = ["{policy_dir}"]\n',
        "utf-8",
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "DLPSCAN_KEY_FILE": str(tmp_path / "key")}
        proc = subprocess.run(
            [sys.executable, "-m", "dlpscan.cli", "--config", str(config), *args],
            capture_output=True, text=True, cwd=ROOT, env=env, timeout=240,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-2000:]
        return proc

    rows = list(
        csv.DictReader(
            run("scan", str(tmp_path / "share"), "--format", "csv", "-q", "-o", "-").stdout.splitlines()
        )
    )
    assert rows[0]["ACME_EMPLOYEE_NO"] == "30"
    assert rows[0]["flagged"] == "true" and rows[0]["rules"] == "staff-list"
    header = run(
        "scan", str(tmp_path / "share"), "--format", "csv", "-q", "-o", "-", "--full"
    ).stdout.splitlines()[0]
    assert (
        header.split(",").index("ACME_EMPLOYEE_NO") == header.split(",").index("CN_LANDLINE") - 1
    )  # order 25

    exposure = json.loads(run("db", "exposure", "--by", "folder", "--json").stdout)
    assert exposure[0]["people"] == 30 and exposure[0]["per_type"] == {"ACME_EMPLOYEE_NO": 30}
    assert exposure[0]["rules"] == ["staff-list"]

    html = tmp_path / "audit.html"
    run("report", "--format", "html", "--output", str(html))
    page = html.read_text("utf-8")
    assert "Employee no." in page and "GH-100007" not in page
