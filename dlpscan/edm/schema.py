"""The EDM schema (edm.yaml): which master-table columns are indexed, as which entity type.

    name: customers
    columns:
      - {header: 身份证号, type: CN_RESIDENT_ID, primary: true}
      - {header: 手机号, type: CN_MOBILE, primary: true}
      - {header: 姓名, type: CN_NAME}
      - {header: 邮箱, type: EMAIL_ADDRESS}
    window: 300

Primary columns are searchable: a value the recognizers find is looked up among them. The other
columns only corroborate a hit. Each value is normalised by its type's own recognizer normaliser,
so the index and the scanner agree on `138 0013 8000` and `+86 13800138000`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from dlpscan.detect.registry import RecognizerDef
from dlpscan.edm.errors import EdmError

DEFAULT_WINDOW = 300  # characters between a primary value and a corroborating one in text (Purview: 300)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Column(_Strict):
    """One indexed column: found by its header text, or by its 1-based position."""

    header: str | None = None
    position: Annotated[int, Field(strict=True, ge=1)] | None = None
    type: str
    primary: bool = False

    @model_validator(mode="after")
    def _located(self) -> Column:
        if self.header is None and self.position is None:
            raise ValueError("give the column's header or its position")
        return self

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str, info: ValidationInfo) -> str:
        definitions: dict[str, RecognizerDef] = info.context["definitions"]
        if value not in definitions:
            raise ValueError(f"unknown entity type {value!r}; known: {', '.join(sorted(definitions))}")
        return value

    @property
    def label(self) -> str:
        return self.header if self.header is not None else f"column {self.position}"


class EdmSchema(_Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=80)]
    columns: Annotated[list[Column], Field(min_length=1)]
    window: Annotated[int, Field(strict=True, ge=0, le=10_000)] = DEFAULT_WINDOW
    header_row: bool = True  # the input's first row names the columns

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> EdmSchema:
        definitions: dict[str, RecognizerDef] = info.context["definitions"]
        if not any(c.primary for c in self.columns):
            raise ValueError("no primary column; mark at least one searchable column 'primary: true'")
        for c in self.columns:
            if c.primary and not definitions[c.type].person_key:
                raise ValueError(
                    f"{c.label}: {c.type} cannot be primary: one value may belong to many people "
                    "(its recognizer is not a person_key type); keep it as a corroborating column"
                )
            if not self.header_row and c.position is None:
                raise ValueError(f"{c.label}: 'header_row: false' needs a position for every column")
        labels = [c.label for c in self.columns]
        if len(set(labels)) != len(labels):
            raise ValueError("two columns name the same header or position")
        return self

    @property
    def primary(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.primary)

    @property
    def corroborating(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if not c.primary)

    @property
    def types(self) -> tuple[str, ...]:
        """Every entity type the schema indexes, sorted (the scanner collects evidence of these)."""
        return tuple(sorted({c.type for c in self.columns}))

    def canonical(self, definitions: dict[str, RecognizerDef]) -> dict:
        """What decides the index's digests and matching (not where the columns are in the input)."""
        return {
            "name": self.name,
            "window": self.window,
            "columns": [
                {"type": c.type, "primary": c.primary, "normaliser": definitions[c.type].normaliser}
                for c in self.columns
            ],
        }


def schema_hash(canonical: dict) -> str:
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()[:16]


def load_schema(path: Path, definitions: Sequence[RecognizerDef]) -> EdmSchema:
    """Read and check an edm.yaml against the loaded recognizer definitions (built-in and user)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise EdmError(f"{path}: cannot read the EDM schema: {type(exc).__name__}") from None
    try:
        return EdmSchema.model_validate(data, context={"definitions": {d.entity: d for d in definitions}})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        msg = "unknown setting" if first["type"] == "extra_forbidden" else first["msg"]
        raise EdmError(f"{path}: {where}: {msg}") from None
