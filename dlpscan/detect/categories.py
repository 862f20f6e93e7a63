"""Legal data categories as data: recognizers/categories/*.yaml (and `categories/` in user folders).

One file per category of 法释〔2017〕10号 Art. 5 (whereabouts, credit, lodging, call records …):
the column headers and cell contents that make a table one of its kind, and the labels and
patterns that make a span of free text one. `categorise` applies them; docs/categories.md
describes the language.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache, cached_property
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dlpscan.detect.registry import DefinitionError, LabelDef
from dlpscan.entities import DataCategory
from dlpscan.resources import data_dir
from dlpscan.yamlfile import read_yaml

FOLDER = "categories"
# PIPL Art. 28 kinds of sensitive personal information (and Art. 31: minors under 14).
SENSITIVE_KINDS = (
    "biometrics",
    "religious_belief",
    "specific_identity",
    "medical_health",
    "financial_account",
    "whereabouts",
    "minors",
)


class CategoryError(DefinitionError):
    """A category definition file is invalid; the message names the file and the field."""


def _compiles(v: str | None) -> str | None:
    if v is not None:
        try:
            re.compile(v)
        except re.error as exc:
            raise ValueError(f"regex does not compile: {exc}") from None
    return v


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Words = Annotated[tuple[Annotated[str, Field(min_length=1)], ...], Field(default=())]


class FieldDef(_Strict):
    """One kind of column: known by its header, or (`by_content`) by what its cells hold.

    `values`: a regex most sampled cells of the column must match in full; for a column found by
    its header it confirms the header (a 经度 column of words is not coordinates).
    """

    headers: Words = ()
    values: str | None = None
    by_content: bool = False

    _check = field_validator("values")(_compiles)

    @model_validator(mode="after")
    def _consistent(self) -> FieldDef:
        if self.by_content and self.values is None:
            raise ValueError("by_content needs a 'values' regex")
        if not self.headers and not self.by_content:
            raise ValueError("give 'headers' or 'values' with 'by_content: true'")
        return self

    @cached_property
    def compiled(self) -> re.Pattern[str] | None:
        return re.compile(self.values) if self.values is not None else None


class TextPattern(_Strict):
    name: str = Field(pattern=r"^[a-z0-9_]+$")
    regex: str

    _check = field_validator("regex")(_compiles)


class TextDef(_Strict):
    """Free text: a span holding a person's identifier holds the category when it shows at least
    `min_evidence` different labels or patterns."""

    labels: Words = ()
    patterns: tuple[TextPattern, ...] = ()
    min_evidence: int = Field(default=1, ge=1, le=10)

    @model_validator(mode="after")
    def _some(self) -> TextDef:
        if not self.labels and not self.patterns:
            raise ValueError("give 'labels' or 'patterns'")
        return self


class CategoryDef(_Strict):
    category: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)
    description: str
    label: LabelDef
    order: int = 1000
    threshold: int = Field(ge=1)  # 法释〔2017〕10号 Art. 5 "serious": 50 or 500
    sensitive: str | None = None
    disputed: str = ""
    fields: Annotated[dict[str, FieldDef], Field(min_length=1)]
    requires: Annotated[tuple[Annotated[tuple[str, ...], Field(min_length=1)], ...], Field(min_length=1)]
    track: tuple[str, ...] = ()  # position fields: rows count as track points
    text: TextDef | None = None

    @field_validator("category")
    @classmethod
    def _not_reserved(cls, v: str) -> str:
        if v == "any":
            raise ValueError("'any' is reserved (policies count the people of all categories as people:any)")
        return v

    @field_validator("sensitive")
    @classmethod
    def _known_kind(cls, v: str | None) -> str | None:
        if v is not None and v not in SENSITIVE_KINDS:
            raise ValueError(f"unknown sensitive kind {v!r}; known: {', '.join(SENSITIVE_KINDS)}")
        return v

    @model_validator(mode="after")
    def _known_fields(self) -> CategoryDef:
        named = [f for group in self.requires for f in group] + list(self.track)
        unknown = sorted({f for f in named if f not in self.fields})
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(unknown)}; fields: {', '.join(self.fields)}")
        return self

    @cached_property
    def data_category(self) -> DataCategory:
        return DataCategory(
            self.category,
            label_en=self.label.en,
            label_zh=self.label.zh,
            order=self.order,
            threshold=self.threshold,
            sensitive=self.sensitive,
            disputed=self.disputed.strip(),
            tracks=bool(self.track),
        )


def _load_file(path: Path) -> CategoryDef:
    data = read_yaml(path, CategoryError)
    try:
        return CategoryDef.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "".join(
            f"{p}: " if i == len(first["loc"]) - 1 else f"{p}." for i, p in enumerate(first["loc"])
        )
        message = str((first.get("ctx") or {}).get("error", first["msg"]))
        raise CategoryError(f"{path}: {where}{message}") from None


def category_files(extra_dirs: Iterable[Path] = ()) -> list[Path]:
    dirs = [data_dir("recognizers"), *extra_dirs]
    return [p for d in dirs for p in sorted((Path(d) / FOLDER).glob("*.yaml"))]


@cache
def _load(extra_dirs: tuple[Path, ...]) -> tuple[CategoryDef, ...]:
    defs: dict[str, CategoryDef] = {}
    for path in category_files(extra_dirs):
        definition = _load_file(path)
        defs[definition.category] = definition  # a user file replaces the shipped one of that name
    return tuple(sorted(defs.values(), key=lambda d: (d.order, d.category)))


def load_categories(extra_dirs: Iterable[Path] = ()) -> tuple[CategoryDef, ...]:
    """The shipped category definitions plus those in `<dir>/categories/` of each extra folder."""
    return _load(tuple(Path(d) for d in extra_dirs))


def data_categories(extra_dirs: Iterable[Path] = ()) -> dict[str, DataCategory]:
    """Category name -> what the layers above detection need to know, in report order."""
    return {d.category: d.data_category for d in load_categories(extra_dirs)}
