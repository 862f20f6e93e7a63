"""What each entity type is, for every layer: one typed record per type, read from its recognizer YAML.

Aggregation, the store, policies, sinks and reports ask an `EntityTypes` (built-in and user
recognizers alike) instead of keeping their own lists, so a type defined in a user folder flows
through CSV columns, people counts, exposure and reports with no code change. No I/O here:
`dlpscan.detect.registry.entity_types()` builds the registry from the definitions.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

# 法释〔2017〕10号 Art. 5 categories a type's values belong to on their own (table and record
# categories such as lodging or health are decided from context, not by the type).
LEGAL_CATEGORIES = ("property", "trajectory", "other", "none")
MASK_STYLES = ("ends", "card", "name", "email", "address")


@dataclass(frozen=True, slots=True)
class MaskRule:
    """How a value is shown to people: `ends` keeps `keep_start` and `keep_end` characters.

    `min_hidden`: a value found already masked must hide at least this many characters to comply
    with the type's masking standard (GB/T 41833-2022: 6 digits of a phone number on a waybill).
    """

    style: str = "ends"
    keep_start: int = 1
    keep_end: int = 1
    min_hidden: int = 0

    def apply(self, value: str) -> str:
        if self.style == "card":
            middle = len(value) - 8
            return " ".join([value[:4], *["****"] * max(1, (middle + 3) // 4), value[-4:]])
        if self.style == "name":
            return value[0] + "*" * (len(value) - 1) if len(value) > 1 else "*"
        if self.style == "email":
            local, _, domain = value.partition("@")
            return (local[:1] + "***@" + domain) if domain else "***"
        if self.style == "address":
            return value[: self.keep_start] + "***"
        head, tail = self.keep_start, self.keep_end
        if len(value) <= head + tail:
            return "*" * len(value)
        return value[:head] + "*" * (len(value) - head - tail) + value[len(value) - tail :]


@dataclass(frozen=True, slots=True)
class EntityType:
    """Everything the layers above detection need to know about one entity type.

    - `fingerprint`: distinct values get keyed fingerprints (else they are only counted).
    - `direct_identifier`: a value points at one person or organisation on its own; it anchors
      companion names on its line.
    - `person_key`: one value belongs to exactly one person, so the largest distinct count among
      such types is a lower bound of the people exposed (a landline or an address is shared).
    - `personal_data`: values are personal information; `False` (organisation codes) never counts
      toward records or people.
    - `legal_category`: the 法释〔2017〕10号 Art. 5 category of the values on their own.
    - `sensitive`: the PIPL Art. 28 kind of sensitive personal information, if any.
    - `standards`: classifications in sector standards, e.g. `gbt35273:basic`, `jrt0171:C2`.
    """

    name: str
    label_en: str = ""
    label_zh: str = ""
    order: int = 1000
    fingerprint: bool = True
    direct_identifier: bool = True
    person_key: bool = False
    personal_data: bool = True
    legal_category: str = "other"
    sensitive: str | None = None
    standards: tuple[str, ...] = ()
    mask_rule: MaskRule = field(default_factory=MaskRule)

    def mask(self, value: str) -> str:
        """The masked form shown to people (`110101********123X`, `138****5678`)."""
        return self.mask_rule.apply(value)

    def label(self, lang: str = "en") -> str:
        return (self.label_zh if lang == "zh" else self.label_en) or self.label_en or self.name


@dataclass(frozen=True, slots=True)
class DataCategory:
    """A legal data category (recognizers/categories/*.yaml): what a table or record span holds.

    - `threshold`: the 法释〔2017〕10号 Art. 5 "serious" count for the category (50 or 500).
    - `sensitive`: the PIPL Art. 28 kind of sensitive personal information, if any.
    - `disputed`: why courts disagree about the category ('' when they do not).
    - `tracks`: counted as track points (consecutive identical positions dropped), not rows.
    """

    name: str
    label_en: str = ""
    label_zh: str = ""
    order: int = 1000
    threshold: int = 5000
    sensitive: str | None = None
    disputed: str = ""
    tracks: bool = False

    def label(self, lang: str = "en") -> str:
        return (self.label_zh if lang == "zh" else self.label_en) or self.label_en or self.name


class EntityTypes(Mapping[str, EntityType]):
    """The known types in report order. A name nobody defines (an old store row) gets defaults."""

    def __init__(self, types: Iterable[EntityType]) -> None:
        self._types = {t.name: t for t in sorted(types, key=lambda t: (t.order, t.name))}

    def __getitem__(self, name: str) -> EntityType:
        return self._types[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._types)

    def __len__(self) -> int:
        return len(self._types)

    def of(self, name: str) -> EntityType:
        """The type's record, or neutral defaults for a type no loaded definition names."""
        return self._types.get(name) or EntityType(name, label_en=name, direct_identifier=False)

    def names(self, **facts: object) -> tuple[str, ...]:
        """Type names in report order whose fields equal `facts`, e.g. names(person_key=True)."""
        return tuple(n for n, t in self._types.items() if all(getattr(t, k) == v for k, v in facts.items()))

    def people(self, distinct: Mapping[str, int]) -> int:
        """A lower bound of the people behind these distinct counts: the largest person-key count."""
        return max((n for t, n in distinct.items() if self.of(t).person_key), default=0)
