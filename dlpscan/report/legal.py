"""The legal mapping: 法释〔2017〕10号 grading from the judicial-2017 policy, and PIPL / industry notes.

The categories and thresholds come from the policy file (its weighted sums), so the report shows
exactly what the policy tests. Notes are keys into the i18n tables, with their numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction

from dlpscan.entities import EntityTypes
from dlpscan.model import FileResult, RuleHit
from dlpscan.policy import Policy, evaluate, evaluate_scope
from dlpscan.policy.evaluate import Counts, file_counts, term_count
from dlpscan.policy.schema import Category

from .i18n import LIST_SEP, translator

JUDICIAL_POLICY = "judicial-2017"

# at_least of the matched weighted-sum rules -> level (the thresholds of Art. 5, ¶1(8) and a tenth).
LEVELS = ((10, "especially_serious"), (5, "half_especially"), (1, "serious"), (0.5, "half_serious"))
SERIOUS_LEVELS = ("serious", "half_especially", "especially_serious")

# Rule fields that are not conditions: a rule setting nothing else is a pure weighted sum.
RULE_FIELDS = {"name", "severity", "description", "scope", "flag", "weighted_sum"}
# PIPL Art. 28 sensitive kinds (entity types' `sensitive`) -> (PIPL note, GB/T 35273 data kind).
SENSITIVE_NOTES = {
    "financial_account": ("note.pipl_financial", "kind.property"),
    "specific_identity": ("note.pipl_identity", "kind.identity"),
    "whereabouts": ("note.pipl_trajectory", None),
    "medical_health": ("note.pipl_health", None),
}


@dataclass(frozen=True, slots=True)
class CategoryCount:
    """One term of the grading; `basis`: what decided a data category (header words, pattern names)."""

    name: str
    count: int
    threshold: int
    basis: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Grading:
    """Where a file, folder or owner stands against the 2017 thresholds."""

    categories: tuple[CategoryCount, ...]  # those with a count > 0
    total: Fraction  # the ¶1(6) proportional sum over all categories
    level: str  # a LEVELS name, "tenth" or "below"
    rules: tuple[str, ...]  # judicial-2017 rules matched

    @property
    def serious(self) -> bool:
        return self.level in SERIOUS_LEVELS


@dataclass(frozen=True, slots=True)
class Note:
    """One PIPL / standard note: an i18n key with its count and the i18n keys of the data kinds."""

    key: str
    n: int = 0
    kinds: tuple[str, ...] = ()

    @property
    def group(self) -> str:
        """The report column: `pipl`, `gbt` (GB/T 35273) or `sector` (JR/T 0171, GB/T 41833)."""
        return next((g for g in ("pipl", "gbt") if self.key.startswith(f"note.{g}_")), "sector")


class Grader:
    """Grades counts with the judicial-2017 policy (evaluate / evaluate_scope for the rule hits).

    When every rule is a weighted sum over these categories alone, a count whose full sum is below
    the smallest `at_least` cannot match any rule, and the policy is not evaluated (most files of a
    share; evaluating with exact fractions costs about 2 ms a file).
    """

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.categories: dict[str, Category] = {}
        self._at_least: dict[str, float] = {}
        for rule in policy.rules:
            if rule.weighted_sum is not None:
                self._at_least[rule.name] = rule.weighted_sum.at_least
                for name, category in rule.weighted_sum.categories.items():
                    self.categories.setdefault(name, category)
        only_sums = all(
            set(r.model_dump(exclude_defaults=True)) <= RULE_FIELDS
            and all(self.categories[n] == c for n, c in r.weighted_sum.categories.items())
            for r in policy.rules
        )
        self._floor = Fraction(repr(min(self._at_least.values()))) if only_sums and self._at_least else None
        self._lcm = math.lcm(*(c.threshold for c in self.categories.values()))
        self.nothing = self._grade(Counts(records=0, distinct={}), list)  # a file without findings

    def file(self, result: FileResult) -> Grading:
        if not (result.entities or result.records or result.notes or result.masked or result.categories):
            return self.nothing
        basis = {name: tuple(c.basis) for name, c in result.categories.items()}
        return self._grade(file_counts(result), lambda: evaluate(self.policy, result)[2], basis)

    def group(
        self,
        scope: str,
        key: str,
        people: int,
        per_type: dict[str, int],
        edm_rows: int = 0,
        categories: Mapping[str, int] | None = None,
        basis: Mapping[str, list[str]] | None = None,
    ) -> Grading:
        """`categories`: the group's data-category count sources, `basis` what decided each."""
        counts = Counts(records=people, distinct=per_type, edm_rows=edm_rows, categories=categories or {})
        return self._grade(
            counts,
            lambda: evaluate_scope(self.policy, scope, key, people, per_type, edm_rows, categories),
            {name: tuple(b) for name, b in (basis or {}).items()},
        )

    def _grade(
        self,
        counts: Counts,
        evaluate_hits: Callable[[], list[RuleHit]],
        basis: Mapping[str, tuple[str, ...]] | None = None,
    ) -> Grading:
        """A term named like a data category shows that category's basis (why it holds)."""
        basis = basis or {}
        cats = [
            CategoryCount(name, n, c.threshold, basis.get(name, ()))
            for name, c in self.categories.items()
            if (n := term_count(c, counts))
        ]
        # Exact sum over a common denominator: one Fraction per file instead of one per category.
        total = Fraction(sum(c.count * (self._lcm // c.threshold) for c in cats), self._lcm)
        hits = [] if self._floor is not None and total < self._floor else evaluate_hits()
        reached = max((self._at_least.get(h.rule, 0) for h in hits), default=0)
        level = next(
            (name for at_least, name in LEVELS if reached >= at_least), "tenth" if reached else "below"
        )
        return Grading(tuple(cats), total, level, tuple(h.rule for h in hits))


def notes_for(
    distinct: Mapping[str, int],
    types: EntityTypes,
    notes: Mapping[str, int] | None = None,
    noncompliant: Mapping[str, int] | None = None,
    sensitive_kinds: Iterable[str] = (),
) -> list[Note]:
    """PIPL, GB/T 35273 and sector-standard (JR/T 0171, GB/T 41833) notes for what was found.

    What each type is (PIPL sensitive kind, GB/T 35273 / JR/T 0171 class) comes from its recognizer
    definition; `sensitive_kinds` adds the PIPL kinds of the data categories found (health data is
    medical health information). The categories themselves are terms of the grading, not notes.
    """
    notes = notes or {}
    noncompliant = noncompliant or {}
    found = [types.of(name) for name, n in distinct.items() if n > 0]
    sensitive = {t.sensitive for t in found if t.sensitive} | set(sensitive_kinds)
    standards = {s for t in found for s in t.standards}
    out: list[Note] = [Note(SENSITIVE_NOTES[k][0]) for k in SENSITIVE_NOTES if k in sensitive]
    if notes.get("minors"):
        out.append(Note("note.pipl_minors", notes["minors"]))
    kinds = tuple(
        kind
        for k in ("specific_identity", "financial_account")
        if k in sensitive and (kind := SENSITIVE_NOTES[k][1])
    )
    if kinds and "gbt35273:sensitive" in standards:
        out.append(Note("note.gbt_sensitive", kinds=kinds))
    elif "gbt35273:basic" in standards:
        out.append(Note("note.gbt_basic"))
    if notes.get("card_with_cvv_or_expiry"):
        out.append(Note("note.jr_c3", notes["card_with_cvv_or_expiry"]))
    if "jrt0171:C2" in standards:
        out.append(Note("note.jr_c2"))
    weak = sum(noncompliant.values())
    if weak:
        out.append(Note("note.courier_masking", weak))
    return out


def note_text(note: Note, lang: str, *, prefixed: bool = False) -> str:
    """The note's short text in `lang`; `prefixed` names the instrument (for CSV/XLSX cells)."""
    t = translator(lang)
    text = t(note.key, n=f"{note.n:,}", kinds=LIST_SEP[lang].join(t(k) for k in note.kinds))
    return f"{t('col.' + note.group)}: {text}" if prefixed and note.group != "sector" else text
