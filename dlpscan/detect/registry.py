"""Load declarative recognizer definitions (recognizers/*.yaml) into one typed model.

A definition is written once and drives both the fast engine and the Presidio adapter.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from functools import cache, cached_property
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dlpscan.detect.text import known_normalisers
from dlpscan.detect.validators import known_validators
from dlpscan.entities import LEGAL_CATEGORIES, MASK_STYLES, EntityType, EntityTypes, MaskRule
from dlpscan.resources import data_dir
from dlpscan.yamlfile import read_yaml


class DefinitionError(ValueError):
    """A recognizer definition file is invalid; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PatternDef(_Strict):
    name: str
    regex: str
    score: float = Field(ge=0, le=1)
    masked: bool = False  # the pattern finds already-masked values (counted, never fingerprinted)
    value_group: str | None = None  # named group holding the value when the regex also matches a label
    # What the candidate scanners compile in place of `regex`: a prefix of it where they cannot
    # compile the whole pattern (Hyperscan: long bounded repeats), or the same language written in a
    # form that Hyperscan scans faster. It must match wherever `regex` matches (tests check it); the
    # exact regex still confirms every candidate.
    scanner_regex: str | None = None

    @property
    def scan_regex(self) -> str:
        return self.scanner_regex or self.regex

    @field_validator("regex", "scanner_regex")
    @classmethod
    def _compiles(cls, v: str | None) -> str | None:
        try:
            re.compile(v or "")
        except re.error as exc:
            raise ValueError(f"regex does not compile: {exc}") from None
        return v

    @cached_property
    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.regex)


class ContextDef(_Strict):
    words: tuple[str, ...] = ()
    window: int = Field(default=24, ge=1, le=200)
    boost: float = Field(default=0.35, ge=0, le=1)


class LabelDef(_Strict):
    en: str
    zh: str = ""


class MaskDef(_Strict):
    style: str = "ends"
    keep_start: int = Field(default=1, ge=0, le=20)
    keep_end: int = Field(default=1, ge=0, le=20)
    min_hidden: int = Field(default=0, ge=0, le=40)  # masking standard: characters a masked value hides

    @field_validator("style")
    @classmethod
    def _known_style(cls, v: str) -> str:
        if v not in MASK_STYLES:
            raise ValueError(f"unknown mask style {v!r}; known: {', '.join(MASK_STYLES)}")
        return v


class RecognizerDef(_Strict):
    entity: str = Field(pattern=r"^[A-Z][A-Z0-9_]+$")
    description: str
    patterns: tuple[PatternDef, ...] = ()
    validator: str | None = None
    normaliser: str
    threshold: float = Field(default=0.5, ge=0, le=1)
    context: ContextDef = ContextDef()
    negative_context: ContextDef = ContextDef()
    headers: tuple[str, ...] = ()
    negative_headers: tuple[str, ...] = ()
    header_boost: float = Field(default=0.5, ge=0, le=1)
    cell_detector: bool = False  # whole cells under a matching header are validated (names, addresses)
    fingerprint: bool = True
    priority: int = 0  # wins ties when two types claim the same span
    # What the type is, for the layers above detection (see dlpscan.entities.EntityType).
    label: LabelDef | None = None
    order: int = 1000  # report and CSV column order
    direct_identifier: bool = True
    person_key: bool = False
    personal_data: bool = True
    legal_category: str = "other"
    sensitive: str | None = None
    standards: tuple[str, ...] = ()
    mask: MaskDef = MaskDef()

    @field_validator("legal_category")
    @classmethod
    def _known_category(cls, v: str) -> str:
        if v not in LEGAL_CATEGORIES:
            raise ValueError(f"unknown legal category {v!r}; known: {', '.join(LEGAL_CATEGORIES)}")
        return v

    @field_validator("validator")
    @classmethod
    def _known_validator(cls, v: str | None) -> str | None:
        if v is not None and v not in (known := known_validators()):
            raise ValueError(f"unknown validator {v!r}; known: {', '.join(sorted(known))}")
        return v

    @field_validator("normaliser")
    @classmethod
    def _known_normaliser(cls, v: str) -> str:
        if v not in (known := known_normalisers()):
            raise ValueError(f"unknown normaliser {v!r}; known: {', '.join(sorted(known))}")
        return v

    @cached_property
    def normalise(self) -> Callable[[str], str]:
        """The normaliser function (looked up once: it runs for every candidate)."""
        return known_normalisers()[self.normaliser]

    @cached_property
    def entity_type(self) -> EntityType:
        return EntityType(
            self.entity,
            label_en=self.label.en if self.label else self.entity,
            label_zh=self.label.zh if self.label else "",
            order=self.order,
            fingerprint=self.fingerprint,
            direct_identifier=self.direct_identifier,
            person_key=self.person_key,
            personal_data=self.personal_data,
            legal_category=self.legal_category,
            sensitive=self.sensitive,
            standards=self.standards,
            mask_rule=MaskRule(**self.mask.model_dump()),
        )

    def all_label_words(self) -> Iterable[str]:
        yield from self.context.words
        yield from self.negative_context.words
        yield from self.headers
        yield from self.negative_headers


def _load_file(path: Path) -> RecognizerDef:
    data = read_yaml(path, DefinitionError)
    try:
        return RecognizerDef.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise DefinitionError(f"{path}: {where}: {first['msg']}") from None


def label_words(definitions: Iterable[RecognizerDef]) -> frozenset[str]:
    """Every context, negative-context and header word of `definitions` (names must not be labels)."""
    return frozenset(w for d in definitions for w in d.all_label_words())


def definition_files(extra_dirs: Iterable[Path] = ()) -> list[Path]:
    """The shipped definitions, then each user folder's; a user folder that is not there is an
    error (its recognizers would silently be missing from every scan)."""
    dirs = [data_dir("recognizers"), *extra_dirs]
    missing = [str(d) for d in dirs[1:] if not Path(d).is_dir()]
    if missing:
        raise DefinitionError(f"recognizer folder not found: {', '.join(missing)} (recognizer_dirs)")
    return [p for d in dirs for p in sorted(Path(d).glob("*.yaml"))]


@cache
def _load(extra_dirs: tuple[Path, ...]) -> tuple[RecognizerDef, ...]:
    defs: dict[str, RecognizerDef] = {}
    for path in definition_files(extra_dirs):
        definition = _load_file(path)
        defs[definition.entity] = definition  # a user file replaces the shipped one of the same entity
    return tuple(defs.values())


def load_definitions(extra_dirs: Iterable[Path] = ()) -> tuple[RecognizerDef, ...]:
    return _load(tuple(Path(d) for d in extra_dirs))


def entity_types(extra_dirs: Iterable[Path] = ()) -> EntityTypes:
    """The entity-type registry of the shipped definitions plus those in `extra_dirs`."""
    return EntityTypes(d.entity_type for d in load_definitions(extra_dirs))


def definitions_version(extra_dirs: Iterable[Path] = ()) -> str:
    """A digest of every definition, data table and category: a change forces rescans of unchanged files."""
    h = hashlib.sha256()
    dirs = [data_dir("recognizers"), *extra_dirs]
    categories = [p for d in dirs for p in sorted((Path(d) / "categories").glob("*.yaml"))]
    files = definition_files(extra_dirs) + sorted((data_dir("recognizers") / "data").glob("*")) + categories
    for path in files:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]
