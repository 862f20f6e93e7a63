"""Applying a policy: to one file's counts, or to the cumulative counts of a folder or an owner."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from dlpscan.access import at_least
from dlpscan.aggregate import KEY_BYTES
from dlpscan.model import CategoryStats, FileResult, RuleHit
from dlpscan.policy.load import Policy
from dlpscan.policy.schema import (
    ANY_CATEGORY,
    DATA_PREFIXES,
    EDM_ROWS,
    NOTE_PREFIX,
    RECORDS,
    Category,
    Rule,
    WeightedSum,
)

SEVERITY_ORDER = ("none", "low", "medium", "high", "critical")
CUMULATIVE_SCOPES = ("folder", "owner")


@dataclass(frozen=True, slots=True)
class Counts:
    """What rules can test. `records` is person records in a file, distinct people in a folder/owner."""

    records: int
    distinct: Mapping[str, int]
    notes: Mapping[str, int] = field(default_factory=dict)
    noncompliant: Mapping[str, int] = field(default_factory=dict)
    edm_rows: int = 0  # distinct master-list rows matched (high and medium)
    categories: Mapping[str, int] = field(default_factory=dict)  # 'records:<cat>', 'people:<cat>' -> n

    def source(self, name: str) -> int:
        if name == RECORDS:
            return self.records
        if name == EDM_ROWS:
            return self.edm_rows
        if name.startswith(NOTE_PREFIX):
            return self.notes.get(name.removeprefix(NOTE_PREFIX), 0)
        if name.startswith(DATA_PREFIXES):
            return self.categories.get(name, 0)
        return self.distinct.get(name, 0)


def category_counts(categories: Mapping[str, CategoryStats]) -> dict[str, int]:
    """The count sources of a file's data categories; 'people:any' unites their people by key."""
    out: dict[str, int] = {}
    everyone: set[bytes] = set()
    for name, c in categories.items():
        out[f"records:{name}"] = c.records
        out[f"people:{name}"] = c.people
        keys = c.people_keys
        everyone.update(keys[i : i + KEY_BYTES] for i in range(0, len(keys), KEY_BYTES))
    out[f"people:{ANY_CATEGORY}"] = len(everyone) or max((c.people for c in categories.values()), default=0)
    return out


def reaches(spec: WeightedSum, counts: Counts) -> bool:
    """Σ count/threshold over categories (a category counts its largest source: people, not values)
    reaches `at_least`, in exact fractions; most files count nothing, which never reaches it."""
    terms = [(term_count(cat, counts), cat.threshold) for cat in spec.categories.values()]
    if not any(count for count, _ in terms):
        return False  # at_least > 0
    total = sum((Fraction(count, threshold) for count, threshold in terms), Fraction(0))
    return total >= _exact(spec.at_least)


@functools.cache
def _exact(value: float) -> Fraction:
    """The fraction a policy author wrote (0.1 is 1/10, not the nearest binary float)."""
    return Fraction(repr(value))


def term_count(cat: Category, counts: Counts) -> int:
    """The count of one weighted-sum term: its largest source less its largest `minus`, at least 0."""
    less = max((counts.source(s) for s in cat.minus), default=0)
    return max(0, max(counts.source(s) for s in cat.count) - less)


def matches(rule: Rule, counts: Counts) -> bool:
    """True when every condition of the rule holds."""
    distinct = counts.distinct
    return (
        (rule.min_records is None or counts.records >= rule.min_records)
        and (rule.min_edm_rows is None or counts.edm_rows >= rule.min_edm_rows)
        and all(distinct.get(t, 0) >= n for t, n in rule.min_distinct.items())
        and all(max(distinct.get(t, 0) for t in g.types) >= g.count for g in rule.min_distinct_any)
        and (rule.weighted_sum is None or reaches(rule.weighted_sum, counts))
        and all(counts.noncompliant.get(t, 0) >= n for t, n in rule.min_masked_noncompliant.items())
        and all(counts.notes.get(n, 0) >= 1 for n in rule.requires_notes)
        and all(counts.notes.get(n, 0) >= k for n, k in rule.min_notes.items())
    )


def file_counts(result: FileResult) -> Counts:
    return Counts(
        records=result.records,
        distinct={t: s.distinct for t, s in result.entities.items()},
        notes=result.notes,
        noncompliant={t: m.noncompliant for t, m in result.masked.items()},
        edm_rows=result.edm.matched if result.edm is not None else 0,
        categories=category_counts(result.categories),
    )


def evaluate(policy: Policy, result: FileResult) -> tuple[bool, str, list[RuleHit]]:
    """(flagged, severity, hits) for one file: severity is the highest of all matching rules."""
    counts = file_counts(result)
    hits: list[RuleHit] = []
    flagged = False
    level = result.access.level if result.access is not None else None
    for rule in policy.file_rules:
        if rule.min_exposure is not None and not at_least(level, rule.min_exposure):
            continue
        if matches(rule, counts):
            hits.append(RuleHit(policy.name, rule.name, rule.severity, "file"))
            flagged = flagged or rule.flag
    return flagged, max_severity(hits), hits


def evaluate_scope(
    policy: Policy,
    scope: str,
    key: str,
    people: int,
    per_type: dict[str, int],
    edm_rows: int = 0,
    categories: Mapping[str, int] | None = None,
) -> list[RuleHit]:
    """Hits of the policy's cumulative rules for one folder or owner (`key`, for the caller's records).

    `people` is the number of distinct people across the files, `per_type` the distinct values per
    entity type across the files, `edm_rows` the distinct master-list rows matched across the files,
    `categories` the data-category sources ('records:<cat>', 'people:<cat>', 'people:any') across
    the files. Every hit is a finding (scope rules cannot be `flag: false`).
    """
    if scope not in CUMULATIVE_SCOPES:
        raise ValueError(f"scope must be one of {', '.join(CUMULATIVE_SCOPES)}, not {scope!r}")
    counts = Counts(records=people, distinct=per_type, edm_rows=edm_rows, categories=categories or {})
    return [
        RuleHit(policy.name, rule.name, rule.severity, scope)
        for rule in policy.scope_rules(scope)
        if matches(rule, counts)
    ]


def max_severity(hits: list[RuleHit]) -> str:
    """The highest severity among hits, 'none' when there are none."""
    return max((h.severity for h in hits), key=SEVERITY_ORDER.index, default="none")
