"""The policy language: pydantic models for one YAML policy file (see docs/policies.md)."""

from __future__ import annotations

import difflib
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from dlpscan.entities import LEGAL_CATEGORIES, EntityTypes

# FileResult.notes codes a policy may test. Notes are counts; the 500-class codes count records
# (rows or spans) carrying that kind of data, when an extractor or recognizer reports them.
NOTES = {
    "minors": "IDs of people under 14 (PIPL Art. 31)",
    "card_with_cvv_or_expiry": "card numbers next to CVN2 or expiry dates (JR/T 0171 C3)",
    "excel_float_damaged": "numbers Excel stored as floats and damaged",
    "health_records": "records with health or physiological data",
    "lodging_records": "records of hotel or other lodging",
    "call_records": "call or message detail records",
    "transaction_records": "records of transactions",
    "ocr_id_cards": "photos or scans of resident ID-card fronts (docs/ocr.md)",
    "ocr_bank_cards": "photos of bank cards (docs/ocr.md)",
}

SEVERITIES = ("low", "medium", "high", "critical")
SCOPES = ("file", "folder", "owner")
RECORDS = "records"
EDM_ROWS = "edm_rows"  # distinct master-list rows an exact data match found (docs/edm.md)
NOTE_PREFIX = "note:"
CATEGORY_PREFIX = "category:"  # every entity type of that legal category (dlpscan.entities)
# Legal data categories (recognizers/categories): de-duplicated records (track points) or distinct
# people holding the category; 'people:any' counts the people of all categories together.
DATA_PREFIXES = ("records:", "people:")
ANY_CATEGORY = "any"


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """' (did you mean 'X'?)' for the closest choice, or ''."""
    by_upper = {c.upper(): c for c in choices}
    close = difflib.get_close_matches(word.upper(), list(by_upper), n=1, cutoff=0.6)
    return f" (did you mean {by_upper[close[0]]!r}?)" if close else ""


def _known_types(info: ValidationInfo) -> EntityTypes:
    """The entity types a policy may name: the loader passes them as validation context."""
    return info.context["types"]


def _entity_type(value: str, info: ValidationInfo) -> str:
    known = tuple(_known_types(info))
    if value not in known:
        raise ValueError(f"unknown entity type {value!r}{did_you_mean(value, known)}")
    return value


def _note(value: str) -> str:
    if value not in NOTES:
        known = ", ".join(NOTES)
        raise ValueError(f"unknown note {value!r}{did_you_mean(value, list(NOTES))}; known notes: {known}")
    return value


def _known_categories(info: ValidationInfo) -> tuple[str, ...]:
    """The data categories a policy may name: the loader passes them as validation context."""
    return tuple(info.context.get("categories", ()))


def _source(value: str, info: ValidationInfo) -> str:
    """A count source: 'records', 'edm_rows', an entity type (distinct values), 'note:<code>', or
    'records:<category>' / 'people:<category>' of a legal data category."""
    if value in (RECORDS, EDM_ROWS):
        return value
    if value.startswith(NOTE_PREFIX):
        _note(value.removeprefix(NOTE_PREFIX))
        return value
    prefix, _, name = value.partition(":")
    if f"{prefix}:" in DATA_PREFIXES:
        known = _known_categories(info)
        if name not in known and not (prefix == "people" and name == ANY_CATEGORY):
            raise ValueError(
                f"unknown data category {name!r}{did_you_mean(name, known)}; known: {', '.join(known)}"
                + (f", {ANY_CATEGORY} (people only)" if prefix == "people" else "")
            )
        return value
    known = tuple(_known_types(info))
    if value not in known:
        choices = [RECORDS, EDM_ROWS, *known, *(NOTE_PREFIX + n for n in NOTES)]
        raise ValueError(
            f"unknown count source {value!r}{did_you_mean(value, choices)}; "
            "use 'records', 'edm_rows', an entity type, 'category:<legal category>', 'note:<code>', "
            "'records:<data category>' or 'people:<data category>'"
        )
    return value


def _one_or_many(value: Any) -> Any:
    """Let a list-valued key also take a single item."""
    return [value] if isinstance(value, str | dict) else value


EntityType = Annotated[str, AfterValidator(_entity_type)]
Note = Annotated[str, AfterValidator(_note)]
Source = Annotated[str, AfterValidator(_source)]
Count = Annotated[int, Field(strict=True, ge=1)]
Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=80)]
Severity = Literal["low", "medium", "high", "critical"]
Scope = Literal["file", "folder", "owner"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DistinctAny(_Strict):
    """The largest distinct count among `types` reaches `count`."""

    types: Annotated[list[EntityType], Field(min_length=1)]
    count: Count


class Category(_Strict):
    """One term of a weighted sum: count / threshold, where count is the largest of its sources,
    less the largest of `minus` (people already counted in a stricter category), at least 0.

    A source `category:<name>` stands for every entity type whose legal category is <name>, so a
    user-defined type of that category is counted without editing the policy.
    """

    threshold: Count
    count: Annotated[list[Source], Field(min_length=1), BeforeValidator(_one_or_many)]
    minus: Annotated[list[Source], BeforeValidator(_one_or_many)] = Field(default_factory=list)

    @field_validator("count", mode="before")
    @classmethod
    def _expand_categories(cls, value: Any, info: ValidationInfo) -> Any:
        value = _one_or_many(value)
        if not isinstance(value, list):
            return value
        out: list[Any] = []
        for source in value:
            if isinstance(source, str) and source.startswith(CATEGORY_PREFIX):
                name = source.removeprefix(CATEGORY_PREFIX)
                if name not in LEGAL_CATEGORIES:
                    raise ValueError(
                        f"unknown legal category {name!r}{did_you_mean(name, LEGAL_CATEGORIES)}; "
                        f"known: {', '.join(LEGAL_CATEGORIES)}"
                    )
                out.extend(_known_types(info).names(legal_category=name))
            else:
                out.append(source)
        return out


class WeightedSum(_Strict):
    """Sum over categories of count / threshold reaches `at_least` (the 2017 mixed-data formula)."""

    categories: Annotated[dict[Name, Category], Field(min_length=1)]
    at_least: Annotated[float, Field(strict=True, gt=0)]


_CONDITIONS = (
    "min_records",
    "min_edm_rows",
    "min_distinct",
    "min_distinct_any",
    "weighted_sum",
    "min_masked_noncompliant",
    "requires_notes",
    "min_notes",
)


class Rule(_Strict):
    """A rule matches when all of its conditions hold."""

    name: Name
    severity: Severity
    description: str = ""
    scope: Annotated[tuple[Scope, ...], Field(min_length=1), BeforeValidator(_one_or_many)] = ("file",)
    flag: Annotated[bool, Field(strict=True)] = True
    min_records: Count | None = None
    min_edm_rows: Count | None = None  # distinct master-list rows matched (scans with --edm only)
    min_distinct: dict[EntityType, Count] = Field(default_factory=dict)
    min_distinct_any: Annotated[list[DistinctAny], BeforeValidator(_one_or_many)] = Field(
        default_factory=list
    )
    weighted_sum: WeightedSum | None = None
    min_masked_noncompliant: dict[EntityType, Count] = Field(default_factory=dict)
    requires_notes: list[Note] = Field(default_factory=list)
    min_notes: dict[Note, Count] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        if not any(getattr(self, c) for c in _CONDITIONS):
            raise ValueError(f"no condition; give at least one of {', '.join(_CONDITIONS)}")
        if len(set(self.scope)) != len(self.scope):
            raise ValueError("scope lists the same scope twice")
        if self.cumulative:
            self._check_cumulative()
        return self

    def _check_cumulative(self) -> None:
        """Folder and owner totals carry only people and distinct counts per entity type."""
        file_only = [
            c for c in ("min_masked_noncompliant", "requires_notes", "min_notes") if getattr(self, c)
        ]
        if file_only:
            raise ValueError(
                f"{', '.join(file_only)}: only for scope 'file' "
                "(folder and owner totals have no notes or masked counts)"
            )
        if self.weighted_sum and all(
            s.startswith(NOTE_PREFIX) for c in self.weighted_sum.categories.values() for s in c.count
        ):
            raise ValueError(
                "weighted_sum counts only notes, which are 0 in folder and owner totals; use scope 'file'"
            )
        if not self.flag:
            raise ValueError("'flag: false' only works for scope 'file' (folder and owner hits are findings)")

    @property
    def cumulative(self) -> bool:
        return any(s != "file" for s in self.scope)

    @property
    def uses_edm(self) -> bool:
        """Whether the rule's outcome depends on exact data match counts."""
        sums = self.weighted_sum.categories.values() if self.weighted_sum else ()
        return self.min_edm_rows is not None or any(EDM_ROWS in c.count for c in sums)


class PolicySpec(_Strict):
    """The top level of a policy file."""

    name: Name
    description: str = ""
    rules: Annotated[list[Rule], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_names(self) -> PolicySpec:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.name in seen:
                raise ValueError(f"two rules are named {rule.name!r}; rule names must be unique")
            seen.add(rule.name)
        return self


# Every key the language knows, for 'did you mean' hints on unknown keys.
KEYS = sorted({k for m in (PolicySpec, Rule, DistinctAny, Category, WeightedSum) for k in m.model_fields})
